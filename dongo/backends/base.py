"""The Backend protocol and the registry that picks a backend by URI scheme.

A backend turns a URI into a *pymongo-shaped client*: an object with
``client[database][collection]`` returning collections that speak pymongo's
API (``find``, ``insert_one``, ``bulk_write`` …, results from
``pymongo.results``, errors from ``pymongo.errors``). The ODM talks to nothing
else, so it never branches on which backend is in use.

Registering a backend is one call::

    >>> class EchoBackend:
    ...     def open(self, uri, **options):
    ...         return {"opened": uri}
    ...     def close(self):
    ...         pass
    >>> register_backend("echo", EchoBackend)
    >>> backend_for("echo://anything").open("echo://anything")
    {'opened': 'echo://anything'}
    >>> unregister_backend("echo")
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional, Protocol, runtime_checkable

from ..errors import DongoConnectError

__all__ = [
    "Backend",
    "BackendFactory",
    "register_backend",
    "unregister_backend",
    "backend_for",
    "uri_scheme",
    "registered_schemes",
]


@runtime_checkable
class Backend(Protocol):
    """What a storage backend provides: open a client for a URI, and close it."""

    def open(self, uri: str, **options: Any) -> Any:
        """Return a pymongo-shaped client (``client[db][coll]``) for ``uri``.

        ``options`` are MongoClient keyword options (``uuidRepresentation``,
        ``tls``, ``w``, ``readPreference`` …); a backend uses what applies.
        """
        ...

    def close(self) -> None:
        """Release what :meth:`open` acquired (sockets, threads, memory)."""
        ...


#: A zero-argument callable returning a new :class:`Backend` (usually its class).
BackendFactory = Callable[[], Backend]

_registry: Dict[str, BackendFactory] = {}
_lock = threading.Lock()


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make URIs starting with ``scheme://`` open through ``factory()``."""
    with _lock:
        _registry[scheme.lower()] = factory


def unregister_backend(scheme: str) -> None:
    """Forget the backend for ``scheme`` (no error if none was registered)."""
    with _lock:
        _registry.pop(scheme.lower(), None)


def registered_schemes() -> list:
    """The URI schemes a backend is registered for, sorted."""
    with _lock:
        return sorted(_registry)


def uri_scheme(uri: str) -> str:
    """The scheme of ``uri``, lower-cased.

        >>> uri_scheme("mongodb+srv://cluster0.example.net/")
        'mongodb+srv'
    """
    scheme, sep, _ = uri.partition("://")
    if not sep or not scheme:
        raise DongoConnectError(
            f"cannot tell which backend to use for {uri!r}: a URI must start with a scheme "
            f"such as mongodb:// or memory://"
        )
    return scheme.lower()


def backend_for(uri: str) -> Backend:
    """A new backend instance for ``uri``'s scheme.

    Raises :class:`DongoConnectError` naming the known schemes when none matches.
    """
    scheme = uri_scheme(uri)
    with _lock:
        factory: Optional[BackendFactory] = _registry.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in registered_schemes())
        raise DongoConnectError(
            f"no dongo backend for {scheme}:// URIs (from {uri!r}); use one of {known} "
            f"or register one with dongo.backends.register_backend()"
        )
    return factory()
