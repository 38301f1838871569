"""dongo's exceptions.

Every exception dongo raises on its own account is a :class:`DongoError`, so
``except DongoError`` catches them all. Errors reported by the database itself
(duplicate keys, bad operators, network failures) stay ``pymongo.errors.*`` on
every backend, so code written against pymongo keeps working.

    >>> try:
    ...     raise DongoResultError("no Person matched {'name': 'joe'}")
    ... except DongoError as exc:
    ...     print(exc)
    no Person matched {'name': 'joe'}
"""

from __future__ import annotations

__all__ = [
    "DongoError",
    "DongoConnectError",
    "DongoResultError",
    "DongoCollectionError",
    "DongoDerefError",
    "DongoLookupError",
]


class DongoError(Exception):
    """Base class of every error dongo raises itself."""


class DongoConnectError(DongoError):
    """No usable connection: ``connect()`` was not called, or the URI is unusable."""


class DongoResultError(DongoError):
    """A query returned no document, or several where exactly one was required."""


class DongoCollectionError(DongoError):
    """A ``DongoCollection`` class is declared or used incorrectly."""


class DongoDerefError(DongoError):
    """A dongo reference is malformed or names a collection no class is registered for."""


class DongoLookupError(DongoError, ValueError):
    """A keyword lookup such as ``age__gtt=3`` cannot be understood."""
