"""Adapter from ``memory://`` URIs to the in-process engine.

All ``memory://`` connections in one process share ONE in-process server (a
single :class:`dongo.backends.memory.MemoryClient`), the way every
``mongodb://localhost`` connection reaches the same mongod: data written
through one ``connect('memory://')`` is visible through the next.

    >>> a = EmbeddedBackend().open("memory://")
    >>> a is EmbeddedBackend().open("memory://")
    True
"""

from __future__ import annotations

import threading
from typing import Any, Optional

__all__ = ["EmbeddedBackend", "shared_memory_client", "reset_shared_memory_client"]

_shared: Optional[Any] = None
_lock = threading.Lock()


def shared_memory_client() -> Any:
    """The process-wide MemoryClient, created on first use."""
    global _shared
    with _lock:
        if _shared is None:
            from .memory import MemoryClient  # the engine loads only when asked for

            _shared = MemoryClient()
        return _shared


def reset_shared_memory_client() -> None:
    """Throw the in-process server away (all its data) — for test isolation."""
    global _shared
    with _lock:
        _shared = None


class EmbeddedBackend:
    """Hands out the shared in-process server for ``memory://`` URIs.

    Client options that only make sense for a network (TLS, replica sets,
    timeouts) do not apply and are ignored; codec options such as the uuid
    representation are applied per database by :class:`dongo.DongoClient`.
    """

    def open(self, uri: str, **options: Any) -> Any:
        """Return the process-wide MemoryClient."""
        return shared_memory_client()

    def close(self) -> None:
        """Nothing to release: the shared server lives as long as the process."""
