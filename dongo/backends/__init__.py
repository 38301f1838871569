"""dongo's storage backends: the Backend protocol, its registry and implementations.

=================  ==============================================  ============
URI scheme         backend                                         module
=================  ==============================================  ============
``mongodb://``     pymongo.MongoClient (real server, replica set)  ``pymongo``
``mongodb+srv://`` pymongo.MongoClient (Atlas, DNS seed list)      ``pymongo``
``memory://``      the in-process engine, one per process          ``embedded``
=================  ==============================================  ============
"""

from __future__ import annotations

from .base import (
    Backend,
    BackendFactory,
    backend_for,
    register_backend,
    registered_schemes,
    unregister_backend,
    uri_scheme,
)
from .embedded import EmbeddedBackend
from .pymongo import PymongoBackend

__all__ = [
    "Backend",
    "BackendFactory",
    "backend_for",
    "register_backend",
    "registered_schemes",
    "unregister_backend",
    "uri_scheme",
    "PymongoBackend",
    "EmbeddedBackend",
]

register_backend("mongodb", PymongoBackend)
register_backend("mongodb+srv", PymongoBackend)
register_backend("memory", EmbeddedBackend)
