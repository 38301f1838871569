"""The production backend: a real MongoDB through pymongo 4.

Every keyword option of :class:`pymongo.MongoClient` passes through untouched
(replica sets, read preferences, TLS, write concerns, timeouts), so dongo can
use anything pymongo can reach: a single server, a replica set, a sharded
cluster or Atlas (``mongodb+srv://``).

    >>> backend = PymongoBackend()
    >>> client = backend.open("mongodb://localhost:27017/", connect=False)
    >>> type(client).__name__
    'MongoClient'
    >>> backend.close()
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["PymongoBackend"]


class PymongoBackend:
    """Opens a :class:`pymongo.MongoClient` for ``mongodb://`` and ``mongodb+srv://`` URIs."""

    def __init__(self) -> None:
        self._client: Optional[Any] = None

    def open(self, uri: str, **options: Any) -> Any:
        """Return a new MongoClient for ``uri`` (it connects lazily, in the background)."""
        import pymongo  # imported here so `import dongo` stays cheap for memory-only users

        self._client = pymongo.MongoClient(uri, **options)
        return self._client

    def close(self) -> None:
        """Close the client's sockets and monitor threads."""
        if self._client is not None:
            self._client.close()
            self._client = None
