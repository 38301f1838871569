"""Dongo references and the class registry.

A reference is the 0.4 shape ``{"_dref": <_uuid if the document has one, else
_id>, "_coll": <collection name>}``; :func:`deref` turns references back into
instances of the class registered for that collection::

    >>> from dongo import connect, DongoCollection
    >>> _ = connect("refs_doctest", uri="memory://")
    >>> class Band(DongoCollection):
    ...     collection = "refs_doctest_bands"
    >>> queen = Band.new(name="queen")
    >>> deref(queen.ref()) == queen
    True
    >>> Band.get_collection().drop()

Every concrete ``DongoCollection`` subclass that names a ``collection``
registers itself when its class statement runs; when two classes name the
same collection, the one defined last wins while it exists. The registry
holds classes weakly: a class defined inside a function (a test, say) and
garbage-collected since gives the collection back to the class defined
before it. A subclass that merely inherits its parent's collection does not
replace the parent.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Tuple

from bson import ObjectId
from bson.binary import Binary

from .errors import DongoDerefError

__all__ = ["deref", "is_ref", "register", "class_for", "registered_classes"]

_lock = threading.Lock()
# collection name → classes, and (database, collection) → classes; weak
# references in definition order, the last one alive is the answer.
_Classes = List["weakref.ReferenceType[type]"]
_by_collection: Dict[str, _Classes] = {}
_by_database: Dict[Tuple[Optional[str], str], _Classes] = {}


def _push(table: Dict[Any, _Classes], key: Any, cls: type) -> None:
    alive = [ref for ref in table.get(key, ()) if ref() is not None and ref() is not cls]
    alive.append(weakref.ref(cls))
    table[key] = alive


def _latest(table: Dict[Any, _Classes], key: Any) -> Optional[type]:
    for ref in reversed(table.get(key, ())):
        cls = ref()
        if cls is not None:
            return cls
    return None


def register(cls: type) -> None:
    """Record ``cls`` as the class for its ``collection`` (and ``database``)."""
    with _lock:
        _push(_by_collection, cls.collection, cls)  # type: ignore[attr-defined]
        _push(_by_database, (cls.database, cls.collection), cls)  # type: ignore[attr-defined]


def class_for(collection: str, database: Optional[str] = None) -> type:
    """The class registered for ``collection`` (in ``database`` if given).

    Raises :class:`DongoDerefError` if no class maps that collection.
    """
    with _lock:
        cls = _latest(_by_database, (database, collection)) if database is not None else None
        cls = cls or _latest(_by_collection, collection)
    if cls is None:
        raise DongoDerefError(
            f"no DongoCollection class is registered for collection {collection!r}; "
            f"define (import) a class with collection = {collection!r} before dereferencing"
        )
    return cls


def registered_classes() -> Dict[str, type]:
    """A copy of the collection name → class map."""
    with _lock:
        latest = {name: _latest(_by_collection, name) for name in _by_collection}
    return {name: cls for name, cls in latest.items() if cls is not None}


def is_ref(value: Any) -> bool:
    """Whether ``value`` has the shape of a dongo reference."""
    return isinstance(value, Mapping) and set(value) == {"_dref", "_coll"}


def _ref_field(target: Any) -> Tuple[str, Any]:
    """Which field a reference's ``_dref`` value is matched against, and the value."""
    if isinstance(target, uuid.UUID) or (
        isinstance(target, Binary) and target.subtype in (3, 4) and len(target) == 16
    ):
        return "_uuid", target
    if isinstance(target, str):
        if ObjectId.is_valid(target):
            return "_id", ObjectId(target)
        try:
            return "_uuid", uuid.UUID(target)
        except ValueError:
            pass
    return "_id", target


def _parse(ref: Any) -> Tuple[type, str, Any]:
    if not is_ref(ref):
        raise DongoDerefError(
            f"not a dongo reference: {ref!r}; a reference is "
            "{'_dref': <_uuid or _id>, '_coll': <collection>} as made by instance.ref()"
        )
    if not isinstance(ref["_coll"], str) or ref["_dref"] is None:
        raise DongoDerefError(f"malformed dongo reference {ref!r}")
    field, value = _ref_field(ref["_dref"])
    return class_for(ref["_coll"]), field, value


def _key(value: Any) -> Any:
    # UUIDs come back from the database as uuid.UUID or Binary depending on the
    # uuid representation; compare them by bytes so either matches.
    if isinstance(value, uuid.UUID):
        return ("uuid", value.bytes)
    if isinstance(value, Binary) and value.subtype in (3, 4):
        return ("uuid", bytes(value))
    return ("value", value)


def deref(data: Any) -> Any:
    """Dereference one reference (→ instance or ``None``) or a list of them (→ list).

    A list is fetched with one query per collection, in the order given;
    references to documents that no longer exist come back as ``None``.

    Raises :class:`DongoDerefError` for malformed references and for
    collections no class is registered for.
    """
    if isinstance(data, Mapping):
        cls, field, value = _parse(data)
        return cls.filter_raw({field: value}).first()
    if not isinstance(data, (list, tuple)):
        raise DongoDerefError(
            f"deref() takes a dongo reference or a list of them, got {type(data).__name__}"
        )
    parsed = [_parse(ref) for ref in data]
    # One query per (class, field): group the wanted values.
    groups: "OrderedDict[Tuple[type, str], List[Any]]" = OrderedDict()
    for cls, field, value in parsed:
        groups.setdefault((cls, field), []).append(value)
    found: Dict[Tuple[type, str, Any], Any] = {}
    for (cls, field), values in groups.items():
        for instance in cls.filter_raw({field: {"$in": values}}):
            found[(cls, field, _key(instance.get(field)))] = instance
    return [found.get((cls, field, _key(value))) for cls, field, value in parsed]
