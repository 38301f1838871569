"""dongo: a Django-ORM inspired MongoDB ODM, with an in-process MongoDB engine.

    >>> from dongo import connect, DongoCollection
    >>> _ = connect("init_doctest", uri="memory://")
    >>> class Person(DongoCollection):
    ...     collection = "init_doctest_persons"
    >>> p = Person.new(name="joe", age=21)
    >>> Person.filter(age__gte=21).count()
    1
    >>> Person.get_collection().drop()
"""

from .backends import Backend, register_backend
from .bulk import DongoBulk, DongoLazyUpdater
from .collection import DongoCollection
from .connection import DongoClient, connect, disconnect, get_client
from .errors import (
    DongoCollectionError,
    DongoConnectError,
    DongoDerefError,
    DongoError,
    DongoLookupError,
    DongoResultError,
)
from .queryset import QuerySet
from .refs import deref

__version__ = "1.0.0.dev0"


def __getattr__(name: str):
    """``dongo.CLIENT`` and ``dongo.DATABASE_NAME``: dongo 0.4's globals, set by ``connect()``."""
    if name in ("CLIENT", "DATABASE_NAME"):
        from . import connection

        return getattr(connection, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "connect",
    "disconnect",
    "get_client",
    "DongoClient",
    "DongoCollection",
    "QuerySet",
    "DongoBulk",
    "DongoLazyUpdater",
    "deref",
    "Backend",
    "register_backend",
    "DongoError",
    "DongoConnectError",
    "DongoResultError",
    "DongoCollectionError",
    "DongoDerefError",
    "DongoLookupError",
]
