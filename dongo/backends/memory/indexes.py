"""Secondary indexes of the memory engine: specs, key generation, maintenance.

A collection (``storage.Namespace``) owns one :class:`IndexSet`. It holds the
``_id_`` index and every secondary index, keeps them in step with the
records, enforces unique constraints and plans queries (``planner.py``).

How the storage layer uses it (``owner`` is the namespace: it has
``full_name`` ("db.coll") and ``records``, a dict ``rid -> (doc, raw)`` or
``rid -> doc`` in natural order; record ids are increasing ints)::

    indexes = IndexSet(owner)
    indexes.add(rid, doc)               # before storing a new record
    indexes.replace(rid, old, new)      # before an in-place update
    indexes.remove(rid, doc)            # after deleting a record
    indexes.create_indexes([{"key": {"a": 1}, "name": "a_1", "unique": True}])
    indexes.drop_index("a_1")           # "*" drops all but _id_
    indexes.index_documents()           # listIndexes documents
    plan = indexes.plan(filter_spec, sort, hint, collation=c, limit=n)  # planner.py
    plan.record_ids / plan.candidates() / plan.provides_sort / plan.exact / plan.explain()
    indexes.modify("a_1", hidden=True)    # collMod's index option
    indexes.check_add(doc)              # what add() would raise, changing nothing

Guarantees:

* ``add``/``replace`` compute every index's keys and check every unique
  constraint **before** changing anything; on failure they raise
  ``ServerError`` (11000 ``E11000 duplicate key error collection: db.c index:
  a_1 dup key: { a: 5 }`` with ``keyPattern``/``keyValue``, or 171 ``cannot
  index parallel arrays [b] [a]``) and every index is unchanged.
* ``create_indexes`` validates like ``createIndexes`` (codes 67, 85, 86, 197,
  14 ...), builds over the existing records and creates nothing when the data
  violates a unique constraint. Creating an identical index is a no-op.
* ``_check()`` verifies every invariant against the records (tests use it).

Index semantics follow the server's btree key generation: one key per
distinct array element (multikey; an empty array is keyed ``undefined``, a
missing field ``null``, and so is an array element that is not a document
where the path goes on), fields below the same array expanded element by
element, at most one array per compound key otherwise (171), sparse indexes
skip keys whose fields are all missing, partial indexes keep only documents
matching ``partialFilterExpression``. Keys are tuples of
:func:`bsontypes.sort_key` values (descending fields wrapped so the tuple
order is the index order) in a ``sortedcontainers.SortedList`` of
``key + (rid,)``, plus hash buckets ``key -> rids``, so ``_id`` lookups,
equality scans and duplicate checks are O(1).

Accepted but not enforced: ``expireAfterSeconds`` (TTL: documents never
expire), ``background``, ``storageEngine``. Hashed indexes are kept like
btree indexes on the value (only equality queries use them). An index
collation keys strings with ``collation.sort_key_for`` (so a unique index
with ``strength: 2`` is case-insensitive). ``text``, ``2d``, ``2dsphere``
and wildcard indexes raise ``NotImplementedError``.

Complexity: maintenance is O(k log n) per write for k keys; identical key
sets (an update that does not touch indexed fields) cost one key
computation and no index change.
"""

from __future__ import annotations

import datetime
import itertools
import math
import uuid
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator

from bson import SON, Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from sortedcontainers import SortedList

from .bsontypes import MISSING, is_number, sort_key, type_name
from .errors import (
    BAD_VALUE,
    CANNOT_CREATE_INDEX,
    DUPLICATE_KEY,
    INDEX_KEY_SPECS_CONFLICT,
    INDEX_NOT_FOUND,
    INDEX_OPTIONS_CONFLICT,
    INVALID_INDEX_SPEC_OPTION,
    INVALID_OPTIONS,
    TYPE_MISMATCH,
    ServerError,
)

__all__ = ["Index", "IndexSet", "IndexSpec", "format_value", "parse_index_spec"]

CANNOT_INDEX_PARALLEL_ARRAYS = 171
ID_INDEX_NAME = "_id_"

# --------------------------------------------------------------------------
# Key building blocks
# --------------------------------------------------------------------------

#: Key of a missing field (and of a null value): the server indexes both as null.
NULL_KEY = sort_key(None)
#: Key of an empty array: the server indexes it as ``undefined`` (rank 0).
UNDEFINED_KEY = sort_key(MISSING)

# Marker for "an empty array ended the path" during key generation.
_EMPTY_ARRAY = object()


class _Top:
    """Compares greater than every key component (bounds for bisecting)."""

    __slots__ = ()

    def __lt__(self, other: Any) -> bool:
        return False

    def __le__(self, other: Any) -> bool:
        return other is self

    def __gt__(self, other: Any) -> bool:
        return other is not self

    def __ge__(self, other: Any) -> bool:
        return True

    def __eq__(self, other: Any) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 0x70F

    def __repr__(self) -> str:
        return "TOP"


class _Bottom:
    """Compares less than every key component."""

    __slots__ = ()

    def __lt__(self, other: Any) -> bool:
        return other is not self

    def __le__(self, other: Any) -> bool:
        return True

    def __gt__(self, other: Any) -> bool:
        return False

    def __ge__(self, other: Any) -> bool:
        return other is self

    def __eq__(self, other: Any) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 0xB07

    def __repr__(self) -> str:
        return "BOTTOM"


TOP = _Top()
BOTTOM = _Bottom()


class Desc:
    """A key component of a descending index field: order reversed.

    A Desc only ever meets another Desc or the TOP/BOTTOM sentinels at its
    position of a key; the sentinels carry ``k`` (each other) so that the
    reversed comparison keeps their meaning without a type check.
    """

    __slots__ = ("k",)

    def __init__(self, k: Any) -> None:
        self.k = k

    def __lt__(self, other: Any) -> bool:
        return other.k < self.k

    def __gt__(self, other: Any) -> bool:
        return other.k > self.k

    def __le__(self, other: Any) -> bool:
        return other.k <= self.k

    def __ge__(self, other: Any) -> bool:
        return other.k >= self.k

    def __eq__(self, other: Any) -> bool:
        return type(other) is Desc and other.k == self.k

    def __hash__(self) -> int:
        return hash(self.k) ^ 0x5A5A

    def __repr__(self) -> str:
        return f"Desc({self.k!r})"


# Desc(x) < TOP must hold: Desc compares other.k (here BOTTOM) < x.
_Top.k = BOTTOM  # type: ignore[attr-defined]
_Bottom.k = TOP  # type: ignore[attr-defined]

_PLAIN_TYPES = frozenset({int, float, str, bool, type(None), ObjectId, Int64, Decimal128})


def _is_doc(v: Any) -> bool:
    return type(v) is dict or isinstance(v, Mapping)


def _is_array(v: Any) -> bool:
    t = type(v)
    return t is list or (t not in _PLAIN_TYPES and isinstance(v, (list, tuple)))


# --------------------------------------------------------------------------
# Value formatting (the server's BSONObj::toString), for error messages and
# explain bounds.
# --------------------------------------------------------------------------


def _double_nice(x: float) -> str:
    # StringBuilder::appendDoubleNice: "%.16g", plus ".0" unless the text
    # already has '.', 'E' or 'N' (so 1e+20 prints as "1e+20.0", like the server).
    text = "%.16g" % x
    if "." not in text and "E" not in text and "N" not in text:
        text += ".0"
    return text


def _date_millis(value: Any) -> int:
    from .bsontypes import _datetime_micros  # one definition of the epoch arithmetic

    return _datetime_micros(value) // 1000


def format_value(value: Any) -> str:
    """``value`` as the server prints it in messages (``BSONElement::toString``).

        >>> format_value({"a": "x", "b": [1, 2.0]})
        '{ a: "x", b: [ 1, 2.0 ] }'
    """
    if value is None:
        return "null"
    if value is MISSING or value is _EMPTY_ARRAY:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return _double_nice(value)
    if isinstance(value, int):  # int, Int64
        return str(int(value))
    if isinstance(value, Decimal128):
        return str(value)
    if isinstance(value, Code):
        if value.scope is not None:
            return f"CodeWScope( {value}, {format_value(value.scope)})"
        raw = str(value).encode("utf-8", "surrogatepass")
        return str(value) if len(raw) + 1 <= 80 else raw[:70].decode("utf-8", "ignore") + "..."
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        if len(raw) + 1 > 160:
            return '"' + raw[:150].decode("utf-8", "ignore") + '..."'
        return '"' + value + '"'
    if isinstance(value, ObjectId):
        return f"ObjectId('{value}')"
    if isinstance(value, DBRef):
        return format_value(value.as_doc())
    if _is_doc(value):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + " }"
    if _is_array(value):
        if not value:
            return "[]"
        return "[ " + ", ".join(format_value(v) for v in value) + " ]"
    if isinstance(value, uuid.UUID):
        return f'UUID("{value}")'
    if isinstance(value, (bytes, Binary)):
        subtype = value.subtype if isinstance(value, Binary) else 0
        data = bytes(value)
        if subtype == 4 and len(data) == 16:
            return f'UUID("{uuid.UUID(bytes=data)}")'
        if len(data) > 80:  # the server abbreviates long binaries (and strings, codes)
            return f"BinData({subtype}, {data[:70].hex().upper()}...)"
        return f"BinData({subtype}, {data.hex().upper()})"
    if isinstance(value, Timestamp):
        return f"Timestamp({value.time}, {value.inc})"
    if isinstance(value, MinKey):
        return "MinKey"
    if isinstance(value, MaxKey):
        return "MaxKey"
    if isinstance(value, (Regex,)) or hasattr(value, "pattern"):
        from .bsontypes import regex_flags_string

        pattern = value.pattern.decode() if isinstance(value.pattern, bytes) else value.pattern
        return f"/{pattern}/{regex_flags_string(value)}"
    if hasattr(value, "utcoffset"):  # datetime
        return f"new Date({_date_millis(value)})"
    try:
        from bson.datetime_ms import DatetimeMS

        if isinstance(value, DatetimeMS):
            return f"new Date({int(value)})"
    except ImportError:  # pragma: no cover - pymongo < 4.3
        pass
    return repr(value)


# --------------------------------------------------------------------------
# Index specifications
# --------------------------------------------------------------------------

# Options createIndexes accepts (anything else is code 197).
_ALLOWED_OPTIONS = frozenset({
    "key", "name", "v", "unique", "sparse", "partialFilterExpression", "expireAfterSeconds",
    "hidden", "collation", "background", "storageEngine", "weights", "default_language",
    "language_override", "textIndexVersion", "2dsphereIndexVersion", "bits", "min", "max",
    "bucketSize", "wildcardProjection", "dropDups", "ns", "prepareUnique", "clustered",
    "coarsestIndexedLevel", "finestIndexedLevel", "originalSpec", "columnstoreProjection",
    "columnstoreCompressor",
})
_BOOL_OPTIONS = ("background", "unique", "sparse", "dropDups", "prepareUnique", "clustered")
_KNOWN_PLUGINS = frozenset({"2d", "2dsphere", "text", "hashed", "geoHaystack", "columnstore"})
_UNSUPPORTED_PLUGINS = {
    "2d": "2d indexes",
    "2dsphere": "2dsphere indexes",
    "text": "text indexes",
    "geoHaystack": "geoHaystack indexes",
    "columnstore": "columnstore indexes",
}
# Options that make two indexes on the same key pattern different indexes
# (the index "signature", SERVER-47657).
_SIGNATURE_OPTIONS = ("unique", "sparse", "partialFilterExpression", "collation")


def _normalize_keys(keys: Any) -> list[tuple[str, Any]]:
    """``create_index`` key input as a list of ``(field, direction)`` pairs."""
    if isinstance(keys, str):
        return [(keys, 1)]
    if _is_doc(keys):
        return list(keys.items())
    if isinstance(keys, (list, tuple)):
        pairs = []
        for item in keys:
            if isinstance(item, str):
                pairs.append((item, 1))
            else:
                field, direction = item
                pairs.append((field, direction))
        return pairs
    raise TypeError(f"index keys must be a str, list of pairs or mapping, not {type(keys).__name__}")


def default_index_name(pairs: Iterable[tuple[str, Any]]) -> str:
    """The name pymongo (and the shell) give an index: ``"a_1_b_-1"``."""
    return "_".join(f"{field}_{direction}" for field, direction in pairs)


def _spec_error(spec_doc: Mapping, code: int, reason: str) -> ServerError:
    return ServerError(code, f"Error in specification {format_value(spec_doc)} :: caused by :: {reason}")


def _plugin_name(pairs: list[tuple[str, Any]]) -> str:
    for _, direction in pairs:
        if isinstance(direction, str):
            return direction
    return ""


def _validate_key_pattern(pairs: list[tuple[str, Any]], spec_doc: Mapping) -> str:
    """Validate the key pattern as the server does; returns the plugin name."""

    def fail(reason: str) -> ServerError:
        return _spec_error(spec_doc, CANNOT_CREATE_INDEX, reason)

    if not pairs:
        raise fail("Index keys cannot be empty.")
    seen = set()
    for field, _ in pairs:
        if field in seen:
            raise ServerError(BAD_VALUE, f"The field '{field}' appears multiple times in the "
                              f"index key pattern {format_value(SON(pairs))}")
        seen.add(field)
    if len(pairs) > 32:
        raise ServerError(13103, "too many compound keys")
    plugin = _plugin_name(pairs)
    if plugin == "geoHaystack":
        raise fail("GeoHaystack indexes cannot be created in version 5.0 and above")
    if plugin and plugin not in _KNOWN_PLUGINS:
        raise fail(f"Unknown index plugin '{plugin}'")
    for field, direction in pairs:
        if is_number(direction):
            value = float(direction.to_decimal()) if isinstance(direction, Decimal128) else float(direction)
            if math.isnan(value):
                raise fail("Values in the index key pattern cannot be NaN.")
            if value == 0.0:
                raise fail("Values in the index key pattern cannot be 0.")
        elif not isinstance(direction, str):
            raise fail(f"Values in v:2 index key pattern cannot be of type {type_name(direction)}. "
                       "Only numbers > 0, numbers < 0, and strings are allowed.")
        if isinstance(direction, str) and direction != plugin:
            raise fail("Can't use more than one index plugin for a single index.")
        if field == "$**" or field.endswith(".$**"):
            if plugin in ("text", "columnstore") or not plugin:
                raise NotImplementedError("wildcard indexes are not supported by the memory engine")
        parts = field.split(".")
        if field == "":
            raise fail("Index keys cannot be an empty field.")
        for i, part in enumerate(parts):
            if part == "":
                raise fail("Index keys cannot contain an empty field.")
            if part.startswith("$") and not (i > 0 and part in ("$db", "$id", "$ref")):
                raise fail("Index key contains an illegal field name: field name starts with '$'.")
    return plugin


class IndexSpec:
    """A validated index definition (what ``listIndexes`` reports).

    ``fields`` is a tuple of ``(path_parts, descending)``; ``document()`` is
    the ``{v, key, name, ...options}`` listIndexes document.
    """

    __slots__ = ("name", "key", "fields", "unique", "sparse", "partial", "hidden",
                 "hashed", "options", "version", "collation")

    def __init__(self, name: str, key: list[tuple[str, Any]], *, options: dict | None = None,
                 version: Any = 2) -> None:
        self.name = name
        self.key = key
        self.hashed = _plugin_name(key) == "hashed"
        self.fields = tuple(
            (tuple(field.split(".")), (not isinstance(d, str)) and float(
                d.to_decimal() if isinstance(d, Decimal128) else d) < 0)
            for field, d in key
        )
        self.options = dict(options or {})
        self.unique = bool(_truthy(self.options.get("unique")))
        self.sparse = bool(_truthy(self.options.get("sparse")))
        self.partial = self.options.get("partialFilterExpression")
        self.hidden = bool(self.options.get("hidden", False))
        self.version = version
        collation = self.options.get("collation")
        if collation is not None:
            from .collation import parse_collation

            collation = parse_collation(collation)
        #: The parsed index collation (``collation.Collation``), None when simple.
        self.collation = collation

    @property
    def is_id(self) -> bool:
        return self.name == ID_INDEX_NAME

    def key_document(self) -> SON:
        return SON(self.key)

    def document(self) -> dict:
        """The ``listIndexes`` document: ``{v, key, name, ...options}``."""
        doc: dict = {"v": self.version, "key": SON(self.key), "name": self.name}
        doc.update(self.options)
        return doc

    def signature(self) -> tuple:
        """What identifies the index apart from its name (SERVER-47657).

        An index on exactly ``{_id: 1}`` is the ``_id`` index, unique whatever
        its options say.
        """
        options = dict(self.options)
        if _is_id_pattern(self.key):
            options["unique"] = True
        return (_canonical(SON(self.key)),) + tuple(
            _canonical(_signature_value(opt, options.get(opt))) for opt in _SIGNATURE_OPTIONS)


def _is_id_pattern(pairs: list) -> bool:
    if len(pairs) != 1 or pairs[0][0] != "_id" or not is_number(pairs[0][1]):
        return False
    direction = pairs[0][1]
    return float(direction.to_decimal() if isinstance(direction, Decimal128) else direction) == 1.0


def _truthy(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, (bool, int, float)):
        return bool(v)
    if isinstance(v, Decimal128):
        return v.to_decimal() != 0
    return True


def _signature_value(option: str, value: Any) -> Any:
    if option in ("unique", "sparse"):
        return _truthy(value)
    return value


def _canonical(v: Any) -> Any:
    """A hashable, BSON-equality-respecting form (keeps field order)."""
    if v is None:
        return None
    return sort_key(v)


def parse_index_spec(spec_doc: Mapping, *, id_index: bool = False) -> IndexSpec:
    """Validate a ``createIndexes`` index document and return its :class:`IndexSpec`.

    ``spec_doc`` is what pymongo's ``IndexModel.document`` holds:
    ``{"key": {...}, "name": "...", ...options}`` (the name defaults to
    ``default_index_name``). Raises ``ServerError`` with the server's codes and
    messages, ``NotImplementedError`` for index types the engine lacks.

        >>> parse_index_spec({"key": {"a": 1, "b": -1}}).name
        'a_1_b_-1'
    """
    spec_doc = dict(spec_doc)
    if "key" not in spec_doc:
        raise ServerError(9, "The 'key' field is a required property of an index specification")
    raw_key = spec_doc["key"]
    if isinstance(raw_key, (str, list, tuple)):
        pairs = _normalize_keys(raw_key)
        spec_doc["key"] = SON(pairs)
    elif _is_doc(raw_key):
        pairs = list(raw_key.items())
    else:
        raise ServerError(TYPE_MISMATCH, f"The field 'key' must be an object, but got {type_name(raw_key)}")
    if "name" not in spec_doc:
        spec_doc["name"] = default_index_name(pairs)
    for option in spec_doc:
        if option not in _ALLOWED_OPTIONS:
            raise ServerError(INVALID_INDEX_SPEC_OPTION,
                              f"The field '{option}' is not valid for an index specification. "
                              f"Specification: {format_value(spec_doc)}")
    plugin = _validate_key_pattern(pairs, spec_doc)
    name = spec_doc["name"]
    if not isinstance(name, str):
        raise ServerError(TYPE_MISMATCH, f"The field 'name' must be a string, but got {type_name(name)}")
    if name == "":
        raise ServerError(CANNOT_CREATE_INDEX, "index name cannot be empty")
    if "\x00" in name:
        raise ServerError(CANNOT_CREATE_INDEX, "index name cannot contain NUL bytes")
    for option in _BOOL_OPTIONS:
        if option in spec_doc:
            value = spec_doc[option]
            if not (is_number(value) or isinstance(value, bool)):
                raise ServerError(TYPE_MISMATCH,
                                  f"The field '{option} has value {option}: {format_value(value)}, "
                                  "which is not convertible to bool")
    if "hidden" in spec_doc and not isinstance(spec_doc["hidden"], bool):
        # The server's message names 'name' here (sic).
        raise ServerError(TYPE_MISMATCH,
                          f"The field 'name' must be a bool, but got {type_name(spec_doc['hidden'])}")
    version = spec_doc.get("v", 2)
    if "v" in spec_doc:
        if not is_number(version):
            raise ServerError(TYPE_MISMATCH, f"The field 'v' must be a number, but got {type_name(version)}")
        if version not in (1, 2):
            raise ServerError(CANNOT_CREATE_INDEX,
                              f"Invalid index specification {format_value(spec_doc)}; "
                              f"cannot create an index with v={int(version)}")
    if "weights" in spec_doc and plugin != "text":
        raise ServerError(CANNOT_CREATE_INDEX,
                          f"Invalid index specification {format_value(spec_doc)}; the field "
                          "'weights' can only be specified with text indexes")
    if plugin in _UNSUPPORTED_PLUGINS:
        raise NotImplementedError(f"{_UNSUPPORTED_PLUGINS[plugin]} are not supported by the memory engine")

    options = {k: v for k, v in spec_doc.items() if k not in ("key", "name", "v", "ns")}
    _validate_collation(options)
    _validate_ttl(options, pairs)
    _validate_partial(options)
    if _is_id_pattern(pairs):
        if "unique" in options and not _truthy(options["unique"]):
            raise ServerError(CANNOT_CREATE_INDEX, "_id index cannot be non-unique")
        if "partialFilterExpression" in options:
            raise ServerError(CANNOT_CREATE_INDEX, "_id index cannot be a partial index")
        if _truthy(options.get("sparse")):
            raise ServerError(CANNOT_CREATE_INDEX, "_id index cannot be sparse")
        if name == ID_INDEX_NAME and options.get("hidden") is not None:
            raise ServerError(BAD_VALUE, "can't hide _id index")
    if plugin == "hashed":
        _validate_hashed(pairs, options)
    return IndexSpec(name, pairs, options=options, version=version)


# How listIndexes shows an index collation: every option, defaults filled in
# (the locale's own defaults first, see collation.locale_defaults; ICU 57.1 is
# what 7.x servers report as the version).
_COLLATION_DEFAULTS = (
    ("caseLevel", False), ("caseFirst", "off"), ("strength", 3), ("numericOrdering", False),
    ("alternate", "non-ignorable"), ("maxVariable", "punct"), ("normalization", False),
    ("backwards", False), ("version", "57.1"),
)


def _validate_collation(options: dict) -> None:
    """Validate ``collation``; store the full spec, or drop it when simple."""
    if "collation" not in options:
        return
    collation = options["collation"]
    if hasattr(collation, "document"):  # pymongo.collation.Collation
        collation = collation.document
    if not _is_doc(collation):
        raise ServerError(TYPE_MISMATCH, f"The field 'collation' must be an object, but got {type_name(collation)}")
    if not collation:
        raise ServerError(BAD_VALUE, "The field 'collation' cannot be an empty object.")
    from .collation import locale_defaults, parse_collation

    if parse_collation(collation) is None:
        del options["collation"]  # the simple collation is stored as no collation
        return
    full = {"locale": collation["locale"]}
    own = locale_defaults(collation["locale"])  # fr_CA: backwards true
    for name, default in _COLLATION_DEFAULTS:
        value = collation.get(name, own.get(name, default))
        full[name] = int(value) if name == "strength" else value
    options["collation"] = full


def _validate_ttl(options: dict, pairs: list) -> None:
    if "expireAfterSeconds" not in options:
        return
    value = options["expireAfterSeconds"]
    if not is_number(value):
        raise ServerError(CANNOT_CREATE_INDEX,
                          "TTL index 'expireAfterSeconds' option must be numeric, but received a type "
                          f"of '{type_name(value)}'")
    number = float(value.to_decimal()) if isinstance(value, Decimal128) else float(value)
    if math.isnan(number):
        raise ServerError(CANNOT_CREATE_INDEX, "TTL index 'expireAfterSeconds' option must not be NaN")
    if number < 0:
        raise ServerError(INVALID_OPTIONS, "TTL index 'expireAfterSeconds' option cannot be less than 0")
    if number > 2**31 - 1:
        raise ServerError(CANNOT_CREATE_INDEX,
                          "TTL index 'expireAfterSeconds' must be within the range of a 32-bit integer")
    if len(pairs) > 1:
        raise ServerError(CANNOT_CREATE_INDEX,
                          "TTL indexes are single-field indexes, compound indexes do not support TTL.")


# Operators a partialFilterExpression may use (7.x: $in and $or included).
_PARTIAL_FIELD_OPS = frozenset({"$eq", "$gt", "$gte", "$lt", "$lte", "$type", "$exists", "$in"})


def _partial_debug(path: str, op: str, value: Any) -> str:
    if op == "$ne":
        return f"$not\n    {path} $eq {format_value(value)}\n"
    if op == "$nin":
        return f"$not\n    {path} $in {format_value(value)}\n"
    if op == "$exists":
        return f"$not\n    {path} exists\n"
    if op == "$regex":
        return f"{path} regex /{value}/\n"
    if op == "$not":
        return "$not\n"
    return f"{path} {op} {format_value(value)}\n"


def _check_partial_ops(spec: Mapping, depth: int = 0) -> None:
    def unsupported(text: str) -> ServerError:
        return ServerError(CANNOT_CREATE_INDEX, f"Expression not supported in partial index: {text}")

    for key, value in spec.items():
        if key in ("$and", "$or"):
            for clause in value:
                _check_partial_ops(clause, depth + 1)
        elif key.startswith("$"):
            raise unsupported(f"{key}\n")
        elif _is_doc(value) and value and next(iter(value)).startswith("$"):
            for op, operand in value.items():
                if op not in _PARTIAL_FIELD_OPS or (op == "$exists" and not _truthy(operand)):
                    raise unsupported(_partial_debug(key, op, operand))
        elif isinstance(value, (Regex,)) or hasattr(value, "pattern"):
            raise unsupported(_partial_debug(key, "$regex", getattr(value, "pattern", value)))


def _validate_partial(options: dict) -> None:
    if "partialFilterExpression" not in options:
        return
    spec = options["partialFilterExpression"]
    if not _is_doc(spec):
        raise ServerError(TYPE_MISMATCH, "The field 'partialFilterExpression' must be an object, "
                          f"but got {type_name(spec)}")
    from .filters import compile_filter  # lazily: filters sits above this module

    compile_filter(spec)  # raises the parser's errors
    if _truthy(options.get("sparse")):
        raise ServerError(CANNOT_CREATE_INDEX, 'cannot mix "partialFilterExpression" and "sparse" options')
    _check_partial_ops(spec)


def _validate_hashed(pairs: list, options: dict) -> None:
    if sum(1 for _, d in pairs if d == "hashed") > 1:
        raise ServerError(31303, "A maximum of one index field is allowed to be hashed but found 2 for "
                          f"'key' {format_value(SON(pairs))}")
    if len(pairs) > 1:
        raise NotImplementedError("compound hashed indexes are not supported by the memory engine")
    if _truthy(options.get("unique")):
        raise ServerError(16764, "Currently hashed indexes cannot guarantee uniqueness. Use a regular index.")


# --------------------------------------------------------------------------
# Key generation
# --------------------------------------------------------------------------


def _walk_doc(obj: Any, parts: tuple, i: int, out: list, arrays: set, met: set) -> None:
    """Collect the values at ``parts[i:]`` below document ``obj`` (one field's fan-out).

    For index paths with numeric (positional) components; other paths use
    ``Index._expand``. As the server's key generator: a numeric component
    that names an existing element of an array selects that element only
    (the array does not make the index multikey there); otherwise every
    element is expanded, a document element continuing the path and any
    other element giving a missing value (null). ``arrays`` receives the
    depths of the arrays that were expanded (multikey), ``met`` the depths
    of every array met (for the parallel-arrays check).

    One deviation, to keep the index a superset of what the matcher
    matches: where the selected element is itself an array ending the
    path, the server indexes that array whole (``{a: [[1, 2]]}`` under
    ``a.0`` has the one key ``[1, 2]``, so an index scan for ``{"a.0": 1}``
    would miss it), while here it is expanded (keys ``1`` and ``2``) and the
    path counts as multikey; and where the array holds documents, a null
    key is added (the query ``{"a.0": null}`` also reads their missing field
    ``0``), the array then counting as multikey.
    """
    n = len(parts)
    cur = obj
    while True:
        value = cur.get(parts[i], MISSING)
        if value is MISSING:
            out.append(MISSING)
            return
        if _is_array(value):
            _walk_array(value, parts, i + 1, out, arrays, met)
            return
        if i == n - 1:
            out.append(value)
            return
        if not _is_doc(value):
            out.append(MISSING)
            return
        cur = value
        i += 1


def _walk_array(arr: Any, parts: tuple, rest: int, out: list, arrays: set, met: set) -> None:
    """The values at ``parts[rest:]`` below array ``arr`` (met at depth ``rest``)."""
    n = len(parts)
    met.add(rest)
    if rest == n:  # a terminal array is expanded: one key per element
        arrays.add(rest)
        if arr:
            out.extend(arr)
        else:
            out.append(_EMPTY_ARRAY)
        return
    nxt = parts[rest]
    offset = int(nxt) if nxt.isdigit() and nxt.isascii() and str(int(nxt)) == nxt else -1
    if 0 <= offset < len(arr):
        # The path selects one element by position.
        if any(_is_doc(e) and nxt in e for e in arr):
            _ambiguous_field(nxt, arr)
        element = arr[offset]
        if any(_is_doc(e) for e in arr):
            # The matcher also reads field ``nxt`` of each document element
            # (missing there, so ``{"a.0": null}`` matches): a null key too.
            arrays.add(rest)
            out.append(MISSING)
        if _is_array(element):
            _walk_array(element, parts, rest + 1, out, arrays, met)
        elif rest + 1 == n:
            out.append(element)
        elif _is_doc(element):
            _walk_doc(element, parts, rest + 1, out, arrays, met)
        else:
            out.append(MISSING)
        return
    arrays.add(rest)
    if not arr:
        out.append(MISSING)  # the path goes on below an empty array: null
        return
    for element in arr:
        if _is_doc(element):
            _walk_doc(element, parts, rest, out, arrays, met)
        else:
            out.append(MISSING)  # a non-document element where the path goes on


def _ambiguous_field(field: str, arr: Any) -> None:
    """16746: a positional path component names both an array element and a
    field of one of its embedded documents (the server's key generator
    refuses to choose; the array prints as a document, ``{ 0: ..., 1: ... }``)."""
    shown = format_value({str(i): v for i, v in enumerate(arr)})
    if len(shown) >= 1024:
        shown = shown[:341] + " .......... " + shown[-341:]
    raise ServerError(16746, "Ambiguous field name found in array (do not use numeric field names in "
                      f"embedded elements in an array), field: '{field}' for array: {shown}")


def _value_key(v: Any, key: Any = sort_key) -> Any:
    if v is MISSING:
        return NULL_KEY
    if v is _EMPTY_ARRAY:
        return UNDEFINED_KEY
    return key(v)


class Index:
    """One index: its spec and its entries.

    * ``entries`` — a SortedList of ``key + (rid,)`` tuples (``key`` is the
      tuple of per-field key components), in index order then record id;
    * ``buckets`` — ``key -> rid`` (one record) or ``key -> set of rids``:
      O(1) equality lookups, counts and unique checks;
    * ``keys_by_rid`` — each indexed record's tuple of distinct keys (so a
      record is unindexed without recomputing anything);
    * ``multikey_paths[i]`` — the dotted prefixes of field ``i`` where an
      array was ever met (sticky, like the server's multikey metadata).
    """

    def __init__(self, spec: IndexSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.fields = spec.fields
        #: The first key field's path ("a.b"): what an equality must name to use the index.
        self.leading = spec.key[0][0]
        #: The top-level fields the keys are read from (an update touching
        #: none of them leaves the keys as they are; see IndexSet.replace).
        self.roots = frozenset(parts[0] for parts, _ in spec.fields)
        self.unique = spec.unique or spec.is_id
        self.entries: SortedList = SortedList()
        self.buckets: dict[tuple, Any] = {}
        self.keys_by_rid: dict[int, tuple] = {}
        self.multikey_paths: list[set[str]] = [set() for _ in spec.fields]
        self._partial_matcher = None
        if spec.partial is not None:
            from .filters import compile_filter

            self._partial_matcher = compile_filter(spec.partial, collation=spec.collation)
        #: sort_key, or its collation-aware replacement for a collated index.
        self.key_fn = sort_key
        if spec.collation is not None:
            from .collation import sort_key_for

            self.key_fn = sort_key_for(spec.collation)
        parts0, _ = spec.fields[0]
        # Fast path: one top-level field (the common case).
        self._simple_field = parts0[0] if len(spec.fields) == 1 and len(parts0) == 1 else None
        self._desc = tuple(d for _, d in spec.fields)
        self._any_desc = any(self._desc)
        # Paths with numeric components use the independent fan-out.
        self._positional = any(p.isdigit() for parts, _ in spec.fields for p in parts)

    # -- what the planner reads -------------------------------------------------

    @property
    def multikey(self) -> bool:
        return any(self.multikey_paths)

    def field_is_multikey(self, i: int) -> bool:
        return bool(self.multikey_paths[i])

    def lookup(self, key: tuple) -> tuple:
        """Record ids whose key is exactly ``key``, ascending. O(1) (+ sort of the bucket)."""
        found = self.buckets.get(key)
        if found is None:
            return ()
        if type(found) is int:
            return (found,)
        return tuple(sorted(found))

    def count(self, key: tuple) -> int:
        found = self.buckets.get(key)
        if found is None:
            return 0
        return 1 if type(found) is int else len(found)

    def __len__(self) -> int:
        return len(self.entries)

    # -- key generation ---------------------------------------------------------

    def keys_for(self, doc: Mapping) -> tuple[tuple | None, list | None]:
        """``(keys, array_depths)`` for ``doc``; keys is None when not indexed.

        Raises 171 for parallel arrays, 16766 for arrays in a hashed index.
        O(size of the indexed values).
        """
        if self._partial_matcher is not None and not self._partial_matcher(doc):
            return None, None
        field = self._simple_field
        if field is not None:
            value = doc.get(field, MISSING)
            if value is MISSING:
                if self.spec.sparse:
                    return None, None
                k = NULL_KEY
            elif _is_array(value):
                return self._general_keys(doc)
            else:
                k = self.key_fn(value)
            return ((Desc(k),) if self._any_desc else (k,),), None
        # Compound or dotted: follow each path strictly; any array (or a
        # non-dict document) takes the general fan-out.
        components = []
        all_missing = True
        for (parts, desc) in self.fields:
            cur: Any = doc
            for part in parts:
                if type(cur) is dict:
                    cur = cur.get(part, MISSING)
                    if cur is MISSING:
                        break
                elif _is_array(cur) or _is_doc(cur):
                    return self._general_keys(doc)
                else:
                    cur = MISSING
                    break
            if cur is MISSING:
                k = NULL_KEY
            elif _is_array(cur):
                return self._general_keys(doc)
            else:
                all_missing = False
                k = self.key_fn(cur)
            components.append(Desc(k) if desc else k)
        if all_missing and self.spec.sparse:
            return None, None
        return (tuple(components),), None

    def _field_values(self, doc: Mapping) -> tuple[list[list], list[set]]:
        """Per field, every value the path reaches, and its multikey depths
        (positional paths; 171 when fields meet different arrays)."""
        values, depths, met = [], [], []
        for parts, _ in self.fields:
            out: list = []
            arrays: set = set()
            seen: set = set()
            _walk_doc(doc, parts, 0, out, arrays, seen)
            values.append(out)
            depths.append(arrays)
            met.append(seen)
        self._check_parallel(met)
        return values, depths

    def _raw_tuples(self, doc: Mapping) -> tuple[list[tuple], list[set]]:
        """The value tuples the server indexes ``doc`` under, and array depths.

        Follows the server's btree key generator: fields whose paths meet the
        same array are expanded together, element by element (not as a
        cartesian product); an array element that is not a document ends the
        rest of its path as missing; a different array met by another field
        is 171 (parallel arrays). Paths with numeric (positional) components
        keep the independent fan-out of :func:`_walk_doc`, combined as a
        cartesian product: a superset of the server's keys.
        """
        depths: list[set] = [set() for _ in self.fields]
        if self._positional:
            values, depths = self._field_values(doc)
            return list(itertools.product(*values)), depths
        out: list[tuple] = []
        self._expand(doc, [parts for parts, _ in self.fields], [0] * len(self.fields),
                     [MISSING] * len(self.fields), out, depths)
        return out, depths

    def _expand(self, obj: Any, rests: list, offsets: list, fixed: list, out: list,
                depths: list[set]) -> None:
        """Resolve each unresolved field's path ``rests[i]`` below ``obj``.

        ``offsets[i]`` is how many components of field ``i`` were consumed
        above ``obj``; resolved fields have ``rests[i] is None``.
        """
        rests = list(rests)
        fixed = list(fixed)
        array: Any = None
        array_path: tuple | None = None
        at_array = []  # (field, remaining parts after the array, depth)
        for i, rest in enumerate(rests):
            if rest is None:
                continue
            cur = obj
            k = 0
            while True:
                if k == len(rest):
                    fixed[i] = cur
                    rests[i] = None
                    break
                if not _is_doc(cur):
                    fixed[i] = MISSING  # a scalar in the middle of the path
                    rests[i] = None
                    break
                value = cur.get(rest[k], MISSING)
                k += 1
                if value is MISSING:
                    fixed[i] = MISSING
                    rests[i] = None
                    break
                if _is_array(value):
                    depth = offsets[i] + k
                    path = self.fields[i][0][:depth]
                    if array is None:
                        array, array_path = value, path
                    elif path != array_path:
                        raise ServerError(CANNOT_INDEX_PARALLEL_ARRAYS,
                                          f"cannot index parallel arrays [{path[-1]}] [{array_path[-1]}]")
                    at_array.append((i, rest[k:], depth))
                    depths[i].add(depth)
                    break
                cur = value
        if array is None:
            out.append(tuple(fixed))
            return
        if not array:
            for i, rest, _ in at_array:
                fixed[i] = _EMPTY_ARRAY if not rest else MISSING
                rests[i] = None
            out.append(tuple(fixed))
            return
        for element in array:
            for i, rest, depth in at_array:
                if rest:
                    rests[i] = rest
                    offsets = offsets[:i] + [depth] + offsets[i + 1:]
                else:
                    fixed[i] = element  # a nested array is indexed whole
                    rests[i] = None
            self._expand(element, rests, offsets, fixed, out, depths)

    def _general_keys(self, doc: Mapping) -> tuple[tuple | None, list | None]:
        tuples, depths = self._raw_tuples(doc)
        if self.spec.hashed and depths[0]:
            raise ServerError(16766, "hashed indexes do not currently support array values. "
                              f"Found array at path: {'.'.join(self.fields[0][0][:min(depths[0])])}")
        if self.spec.sparse:
            # A sparse index skips each key whose fields are all missing.
            tuples = [t for t in tuples if not all(v is MISSING for v in t)]
            if not tuples:
                return None, None
        key_fn = self.key_fn
        keys = {
            tuple(Desc(_value_key(v, key_fn)) if desc else _value_key(v, key_fn)
                  for v, desc in zip(t, self._desc))
            for t in tuples
        }
        return tuple(keys), depths

    def _check_parallel(self, depths: list[set]) -> None:
        """171 when two fields meet arrays that are not a shared path prefix."""
        if len(depths) < 2:
            return
        prefix_sets = [{parts[:d] for d in ds} for (parts, _), ds in zip(self.fields, depths)]
        first = None
        for i, prefixes in enumerate(prefix_sets):
            if not prefixes:
                continue
            if first is None:
                first = i
                continue
            mine = prefixes - prefix_sets[first]
            theirs = prefix_sets[first] - prefixes
            if mine and theirs:
                a = min(mine, key=len)[-1]
                b = min(theirs, key=len)[-1]
                raise ServerError(CANNOT_INDEX_PARALLEL_ARRAYS, f"cannot index parallel arrays [{a}] [{b}]")

    def key_values(self, doc: Mapping, key: tuple) -> dict:
        """The field values of ``doc`` that produce ``key`` (for E11000 ``keyValue``).

        A missing field is ``None`` (indexed as null); an empty array is the
        marker ``_EMPTY_ARRAY`` (indexed as ``undefined``, which
        :func:`format_value` prints as the server does; ``keyValue`` shows it
        as ``None``, as pymongo decodes BSON undefined).
        """
        key_fn = self.key_fn
        tuples, _ = self._raw_tuples(doc)
        for t in tuples:
            candidate = tuple(Desc(_value_key(v, key_fn)) if desc else _value_key(v, key_fn)
                              for v, desc in zip(t, self._desc))
            if candidate == key:
                return {field: (None if v is MISSING else v)
                        for (field, _), v in zip(self.spec.key, t)}
        return {field: None for field, _ in self.spec.key}

    # -- maintenance ------------------------------------------------------------

    def find_conflict(self, keys: tuple, rid: int | None) -> tuple | None:
        """For a unique index: the first key (index order) another record owns."""
        if not self.unique or not keys:
            return None
        buckets = self.buckets
        for key in sorted(keys) if len(keys) > 1 else keys:
            owner = buckets.get(key)
            if owner is not None and owner != rid:
                return key
        return None

    def insert(self, rid: int, keys: tuple | None, depths: list | None) -> None:
        if keys is None:
            return
        self.keys_by_rid[rid] = keys
        buckets = self.buckets
        if len(keys) == 1:
            key = keys[0]
            self.entries.add(key + (rid,))
            found = buckets.get(key)
            if found is None:
                buckets[key] = rid
            else:
                self._bucket_add(buckets, key, rid)
        else:
            self.entries.update([k + (rid,) for k in keys])
            for key in keys:
                self._bucket_add(buckets, key, rid)
        if depths:
            self._note_arrays(depths)

    @staticmethod
    def _bucket_add(buckets: dict, key: tuple, rid: int) -> None:
        found = buckets.get(key)
        if found is None:
            buckets[key] = rid
        elif type(found) is int:
            buckets[key] = {found, rid}
        else:
            found.add(rid)

    def update(self, rid: int, keys: tuple | None, depths: list | None) -> None:
        """Re-key record ``rid``; nothing moves when its keys are unchanged."""
        old = self.keys_by_rid.get(rid)
        if old is not None and keys is not None and (
                old == keys or (len(old) == len(keys) and set(old) == set(keys))):
            self._note_arrays(depths)  # a: 1 -> a: [1] keeps the keys but is multikey
            return
        self.delete(rid)
        self.insert(rid, keys, depths)

    def _note_arrays(self, depths: list | None) -> None:
        if depths:
            for (parts, _), ds, paths in zip(self.fields, depths, self.multikey_paths):
                for d in ds:
                    paths.add(".".join(parts[:d]))

    def delete(self, rid: int) -> None:
        keys = self.keys_by_rid.pop(rid, None)
        if keys is None:
            return
        entries = self.entries
        buckets = self.buckets
        for key in keys:
            entries.remove(key + (rid,))
            found = buckets[key]
            if type(found) is int:
                del buckets[key]
            else:
                found.discard(rid)
                if len(found) == 1:
                    buckets[key] = next(iter(found))

    def _check(self, records: Mapping) -> None:
        """Assert this index's invariants against ``records`` (rid -> doc or (doc, raw))."""
        self.entries._check()
        expected_by_rid = {}
        expected_entries = []
        expected_buckets: dict = {}
        for rid, record in records.items():
            keys, _ = self.keys_for(_record_doc(record))
            if keys is None:
                continue
            expected_by_rid[rid] = set(keys)
            for key in keys:
                expected_entries.append(key + (rid,))
                expected_buckets.setdefault(key, set()).add(rid)
        actual_by_rid = {rid: set(keys) for rid, keys in self.keys_by_rid.items()}
        assert actual_by_rid == expected_by_rid, f"{self.name}: keys_by_rid out of date"
        assert sorted(expected_entries) == list(self.entries), f"{self.name}: entries out of date"
        actual_buckets = {k: ({v} if type(v) is int else set(v)) for k, v in self.buckets.items()}
        assert actual_buckets == expected_buckets, f"{self.name}: buckets out of date"
        assert all(type(v) is int or len(v) > 1 for v in self.buckets.values()), f"{self.name}: bucket shape"
        if self.unique:
            for key, rids in expected_buckets.items():
                assert len(rids) == 1, f"{self.name}: duplicate key {key}"



# --------------------------------------------------------------------------
# The set of indexes of one collection
# --------------------------------------------------------------------------


def _keeps_keys(index: Index, old_doc: Mapping, new_doc: Mapping, changed: Any) -> bool:
    """Whether ``index``'s keys for ``new_doc`` are surely those of ``old_doc``."""
    if index._partial_matcher is not None:
        return False
    roots = index.roots
    if changed is not None and roots.isdisjoint(changed):
        return True
    for root in roots:
        if not _same_value(old_doc.get(root, MISSING), new_doc.get(root, MISSING)):
            return False
    return True


# Types whose ``==`` between two values of the same type means "same BSON
# value" (so the same index key); other types are conservatively "changed".
_SAME_BY_EQ = frozenset({str, int, float, bool, type(None), Int64, ObjectId, datetime.datetime,
                         Decimal128, bytes, Binary, Regex, Timestamp, MinKey, MaxKey})


def _same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same BSON value: same types all the way
    down, same field order (``1 == 1.0 == True`` and dicts in another order
    are different values, indexed under different keys). False is always safe.
    """
    if a is b:
        return True
    t = type(a)
    if t is not type(b):
        return False
    if t is dict:
        if len(a) != len(b):
            return False
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            if ka != kb or not _same_value(va, vb):
                return False
        return True
    if t is list:
        return len(a) == len(b) and all(map(_same_value, a, b))
    return t in _SAME_BY_EQ and a == b


def _record_doc(record: Any) -> Mapping:
    """The document of a record: owners keep rid -> doc or rid -> ``(doc, raw)``."""
    return record[0] if type(record) is tuple else record


class IndexSet:
    """All indexes of one collection (see the module docstring for the API).

    ``owner`` provides ``full_name`` ("db.coll") and ``records`` (rid ->
    doc or rid -> ``(doc, raw)``, in natural order); a plain string is
    accepted as the namespace when no records are needed (tests). An owner
    that keeps its documents another way passes ``documents``: a callable
    returning such a mapping (read when an index is built, for a collection
    scan's candidates and by ``_check``).
    """

    def __init__(self, owner: Any, documents: Callable[[], Mapping] | None = None) -> None:
        self._owner = owner
        self._documents = documents
        self.indexes: dict[str, Index] = {}
        self._led_by: dict | None = None  # see led_by(); None: to be rebuilt
        self.uuid = uuid.uuid4()
        id_options: dict = {}
        if self.default_collation() is not None:
            id_options["collation"] = self.default_collation()
        id_spec = IndexSpec(ID_INDEX_NAME, [("_id", 1)], options=id_options)
        self.indexes[ID_INDEX_NAME] = Index(id_spec)

    def default_collation(self) -> dict | None:
        """The collection's default collation (``owner.options["collation"]``),
        as a full index collation document, or None when simple."""
        options = getattr(self._owner, "options", None)
        collation = options.get("collation") if isinstance(options, Mapping) else None
        if collation is None:
            return None
        holder = {"collation": collation}
        _validate_collation(holder)
        return holder.get("collation")

    # -- owner access -----------------------------------------------------------

    @property
    def namespace(self) -> str:
        owner = self._owner
        return owner if isinstance(owner, str) else owner.full_name

    def _records(self) -> Mapping:
        """rid -> doc (or ``(doc, raw)``) in natural order; read docs with :func:`_record_doc`."""
        if self._documents is not None:
            return self._documents()
        records = getattr(self._owner, "records", None)
        return {} if records is None else records

    @property
    def id_index(self) -> Index:
        return self.indexes[ID_INDEX_NAME]

    def __iter__(self) -> Iterator[Index]:
        return iter(self.indexes.values())

    def get(self, name: str) -> Index | None:
        return self.indexes.get(name)

    def led_by(self, field: str) -> Index | None:
        """The one visible index whose first key field is ``field``; None when
        there is none or several (the planner's point-lookup fast path).

        O(1): a table rebuilt after any index is created, dropped, hidden or
        unhidden.
        """
        table = self._led_by
        if table is None:
            table = {}
            for index in self.indexes.values():
                if not index.spec.hidden:
                    table[index.leading] = None if index.leading in table else index
            self._led_by = table
        found = table.get(field)
        if found is not None and self.indexes.get(found.name) is not found:
            self._led_by = None  # the definitions changed behind our back
            return self.led_by(field)
        return found

    # -- writes -------------------------------------------------------------------

    def _compute(self, rid: int | None, doc: Mapping,
                 indexes: Iterable[Index] | None = None) -> list[tuple[Index, tuple | None, list | None]]:
        """Keys of ``doc`` for every index (or those of ``indexes``), checking
        uniqueness; changes nothing."""
        computed = []
        for index in self.indexes.values() if indexes is None else indexes:
            keys, depths = index.keys_for(doc)
            if keys is not None and index.unique:
                conflict = index.find_conflict(keys, rid)
                if conflict is not None:
                    raise self._duplicate_error(index, doc, conflict)
            computed.append((index, keys, depths))
        return computed

    def _duplicate_error(self, index: Index, doc: Mapping, key: tuple) -> ServerError:
        values = index.key_values(doc, key)
        collation = index.spec.options.get("collation")
        if collation is None:
            shown = ", ".join(f"{field}: {format_value(v)}" for field, v in values.items())
            where = ""
        else:
            # The server shows collated strings as hex of their ICU sort key;
            # the engine has no ICU keys, so it shows the hex of the UTF-8 text.
            shown = ", ".join(
                f"{field}: " + (f'"0x{v.encode().hex()}"' if isinstance(v, str) else format_value(v))
                for field, v in values.items())
            where = f" collation: {format_value(collation)}"
        return ServerError(
            DUPLICATE_KEY,
            f"E11000 duplicate key error collection: {self.namespace} index: {index.name}{where} "
            f"dup key: {{ {shown} }}",
            keyPattern=dict(index.spec.key),
            keyValue={field: (None if v is _EMPTY_ARRAY else v) for field, v in values.items()},
        )

    def check_add(self, doc: Mapping, rid: int | None = None) -> None:
        """Raise what :meth:`add` would raise for ``doc``, changing nothing."""
        self._compute(rid, doc)

    def add(self, rid: int, doc: Mapping) -> None:
        """Index a new record; raises (changing nothing) on a constraint violation.

        O(sum of keys * log n).
        """
        for index, keys, depths in self._compute(None, doc):
            index.insert(rid, keys, depths)

    def remove(self, rid: int, doc: Mapping | None = None) -> None:
        """Unindex record ``rid`` (its keys are remembered; ``doc`` is optional)."""
        for index in self.indexes.values():
            index.delete(rid)

    def replace(self, rid: int, old_doc: Mapping | None, new_doc: Mapping,
                changed: Iterable[str] | None = None) -> None:
        """Re-index record ``rid`` for ``new_doc``; raises (changing nothing) on violation.

        Only indexes whose keys may differ are recomputed: with ``old_doc``
        (the document ``rid`` is indexed under), an index whose top-level
        fields hold the same values in both documents keeps its keys (a
        partial index is always recomputed: its filter may read other
        fields). ``changed``, when given, is the set of top-level fields the
        write may have modified (a caller's hint, e.g. the update's target
        fields, both sides of a ``$rename``); indexes reading none of them
        are skipped without comparing values. O(indexes re-keyed * keys * log n).

            >>> s = IndexSet("db.c"); _ = s.create("a")
            >>> s.add(1, {"_id": 1, "a": 1, "b": 1})
            >>> s.replace(1, {"_id": 1, "a": 1, "b": 1}, {"_id": 1, "a": 1, "b": 2})  # nothing re-keyed
        """
        if old_doc is None:
            todo = None
        else:
            changed = changed if changed is None or isinstance(changed, (set, frozenset)) else set(changed)
            todo = [index for index in self.indexes.values()
                    if not _keeps_keys(index, old_doc, new_doc, changed)]
            if not todo:
                return
        for index, keys, depths in self._compute(rid, new_doc, todo):
            index.update(rid, keys, depths)

    def clear(self) -> None:
        """Drop every entry (the collection was emptied); keeps the definitions."""
        for name, index in list(self.indexes.items()):
            self.indexes[name] = Index(index.spec)
        self._led_by = None

    # -- index management ------------------------------------------------------------

    def create_indexes(self, specs: list[Mapping]) -> list[str]:
        """``createIndexes``: validate all, then build each over the records.

        All or nothing: when one build fails (duplicate key, parallel arrays),
        the indexes this call built are dropped again. Identical existing
        indexes are skipped. Returns the names.
        """
        default = self.default_collation()
        if default is not None:
            # Indexes without a collation inherit the collection's default.
            specs = [s if "collation" in s else {**s, "collation": default} for s in specs]
        parsed = [parse_index_spec(s) for s in specs]
        todo = []
        for spec in parsed:
            if self._conflict_check(spec, [t.spec for t in todo]):
                todo.append(Index(spec))
        built = []
        try:
            for index in todo:
                self._build(index)
                self.indexes[index.name] = index
                built.append(index.name)
        except Exception:
            for name in built:
                del self.indexes[name]
            raise
        finally:
            self._led_by = None
        return [spec.name for spec in parsed]

    def create(self, keys: Any, **options: Any) -> str:
        """``create_index(keys, **options)``; returns the index name.

            >>> s = IndexSet("db.c"); s.create([("a", 1), ("b", -1)], unique=True)
            'a_1_b_-1'
        """
        pairs = _normalize_keys(keys)
        doc = {"key": SON(pairs)}
        doc["name"] = options.pop("name") if "name" in options else default_index_name(pairs)
        doc.update(options)
        return self.create_indexes([doc])[0]

    def _conflict_check(self, spec: IndexSpec, pending: list[IndexSpec]) -> bool:
        """False when an identical index exists (no-op); raises 85/86 on conflicts."""
        existing = {i.name: i.spec for i in self.indexes.values()}
        for p in pending:
            existing.setdefault(p.name, p)
        requested = format_value(_request_doc(spec))
        same_name = existing.get(spec.name)
        if same_name is not None:
            if same_name.signature() != spec.signature():
                raise ServerError(
                    INDEX_KEY_SPECS_CONFLICT,
                    "An existing index has the same name as the requested index. When index names "
                    "are not specified, they are auto generated and can cause conflicts. Please refer "
                    f"to our documentation. Requested index: {requested}, existing index: "
                    f"{format_value(same_name.document())}")
            if _other_options(same_name) != _other_options(spec):
                raise ServerError(
                    INDEX_OPTIONS_CONFLICT,
                    "An equivalent index already exists with the same name but different options. "
                    f"Requested index: {requested}, existing index: {format_value(same_name.document())}")
            return False
        for other in existing.values():
            if other.signature() == spec.signature():
                if _other_options(other) != _other_options(spec):
                    raise ServerError(
                        INDEX_OPTIONS_CONFLICT,
                        "An equivalent index already exists with a different name and options. "
                        f"Requested index: {requested}, existing index: {format_value(other.document())}")
                raise ServerError(INDEX_OPTIONS_CONFLICT,
                                  f"Index already exists with a different name: {other.name}")
        if len(existing) >= 64:
            raise ServerError(CANNOT_CREATE_INDEX, f"add index fails, too many indexes for "
                              f"{self.namespace} key:{format_value(spec.key_document())}")
        return True

    def _build(self, index: Index) -> None:
        """Fill ``index`` from the records; raises the server's build errors."""
        prepared = []
        for rid, record in self._records().items():
            doc = _record_doc(record)
            try:
                keys, depths = index.keys_for(doc)
            except ServerError as err:
                raise self._build_failed(err) from None
            prepared.append((rid, doc, keys, depths))
        if index.unique:
            owners: dict = {}
            dups = []
            for rid, doc, keys, _ in prepared:
                for k in keys or ():
                    if k in owners and owners[k][0] != rid:
                        dups.append((k, doc))
                    else:
                        owners[k] = (rid, doc)
            if dups:
                key, doc = min(dups, key=lambda d: d[0])
                raise self._build_failed(self._duplicate_error(index, doc, key))
        for rid, _, keys, depths in prepared:
            index.insert(rid, keys, depths)

    def _build_failed(self, err: ServerError) -> ServerError:
        return ServerError(err.code, f"Index build failed: {uuid.uuid4()}: Collection {self.namespace} "
                           f"( {self.uuid} ) :: caused by :: {err.errmsg}", **err.details)

    def drop_index(self, name_or_keys: Any) -> None:
        """``dropIndexes`` for one index (by name or key pattern); ``"*"`` drops all but ``_id_``."""
        self._led_by = None
        if name_or_keys == "*":
            for name in [n for n in self.indexes if n != ID_INDEX_NAME]:
                del self.indexes[name]
            return
        if isinstance(name_or_keys, str):
            if name_or_keys not in self.indexes:
                raise ServerError(INDEX_NOT_FOUND, f"index not found with name [{name_or_keys}]")
            name = name_or_keys
        else:
            pattern = _canonical(SON(_normalize_keys(name_or_keys)))
            found = [i.name for i in self.indexes.values() if _canonical(i.spec.key_document()) == pattern]
            if not found:
                raise ServerError(INDEX_NOT_FOUND,
                                  f"can't find index with key: {format_value(SON(_normalize_keys(name_or_keys)))}")
            if len(found) > 1:
                raise ServerError(INDEX_NOT_FOUND, f"{len(found)} indexes found for key: "
                                  f"{format_value(SON(_normalize_keys(name_or_keys)))}, identify by name instead."
                                  f" Conflicting indexes: " + ", ".join(found))
            name = found[0]
        if name == ID_INDEX_NAME:
            raise ServerError(INVALID_OPTIONS, "cannot drop _id index")
        del self.indexes[name]

    drop = drop_index

    def find(self, name_or_keys: Any) -> Index | None:
        """The index named ``name_or_keys`` or with that key pattern (first match)."""
        if isinstance(name_or_keys, str):
            return self.indexes.get(name_or_keys)
        pattern = _canonical(SON(_normalize_keys(name_or_keys)))
        for index in self.indexes.values():
            if _canonical(index.spec.key_document()) == pattern:
                return index
        return None

    def modify(self, name_or_keys: Any, *, hidden: bool | None = None,
               expire_after_seconds: Any = None) -> dict:
        """``collMod``'s ``index`` option: change ``hidden`` / ``expireAfterSeconds``.

        Returns what the server reports (``{"hidden_old": .., "hidden_new": ..}``,
        ``expireAfterSeconds_old/_new``); the entries are untouched.
        """
        index = self.find(name_or_keys)
        if index is None:
            raise ServerError(INDEX_NOT_FOUND, f"cannot find index {format_value(name_or_keys)} "
                              f"for ns {self.namespace}")
        options = index.spec.options
        result: dict = {}
        if hidden is not None:
            if index.spec.is_id:
                raise ServerError(BAD_VALUE, "can't hide _id index")
            result["hidden_old"] = bool(options.get("hidden", False))
            result["hidden_new"] = bool(hidden)
            if hidden:
                options["hidden"] = True
            else:
                options.pop("hidden", None)
            index.spec.hidden = bool(hidden)
            self._led_by = None
        if expire_after_seconds is not None:
            if "expireAfterSeconds" not in options:
                raise ServerError(INVALID_OPTIONS, "no expireAfterSeconds field to update")
            _validate_ttl({"expireAfterSeconds": expire_after_seconds}, index.spec.key)
            result["expireAfterSeconds_old"] = options["expireAfterSeconds"]
            result["expireAfterSeconds_new"] = expire_after_seconds
            options["expireAfterSeconds"] = expire_after_seconds
        return result

    def index_documents(self) -> list[dict]:
        """The ``listIndexes`` documents, ``_id_`` first, then creation order."""
        return [index.spec.document() for index in self.indexes.values()]

    def information(self) -> dict:
        """``index_information()``: ``{name: {"v": 2, "key": [(field, dir)], ...}}``."""
        info = {}
        for doc in self.index_documents():
            doc = dict(doc)
            doc["key"] = list(doc["key"].items())
            info[doc.pop("name")] = doc
        return info

    # -- planning -------------------------------------------------------------------

    def plan(self, filter_spec: Mapping | None, sort: Any = None, hint: Any = None, *,
             collation: Any = None, limit: int | None = None) -> Any:
        """Plan a query (see :func:`planner.plan`)."""
        return _planner().plan(self, filter_spec or {}, sort=sort, hint=hint, collation=collation,
                               limit=limit)

    def exact_lookup(self, filter_spec: Mapping, collation: Any = None) -> tuple | list | None:
        """The matching record ids of a point-lookup filter, or None (see
        :func:`planner.exact_lookup`)."""
        return _planner().exact_lookup(self, filter_spec, collation)

    # -- invariants -------------------------------------------------------------------

    def _check(self, records: Mapping | None = None) -> None:
        """Assert every invariant against ``records`` (default: the owner's).

        Entries, buckets and remembered keys equal what the documents produce
        now, the sorted lists are sorted, unique constraints hold.
        """
        records = self._records() if records is None else records
        for index in self.indexes.values():
            index._check(records)


_PLANNER: Any = None


def _planner() -> Any:
    """The planner module (imported on first use: it imports this module)."""
    global _PLANNER
    if _PLANNER is None:
        from . import planner

        _PLANNER = planner
    return _PLANNER


def _request_doc(spec: IndexSpec) -> dict:
    doc: dict = {"key": SON(spec.key), "name": spec.name}
    doc.update(spec.options)
    return doc


def _other_options(spec: IndexSpec) -> dict:
    """Options outside the signature that must match for an identical index."""
    ignored = set(_SIGNATURE_OPTIONS) | {"background", "v", "ns"}
    return {k: _canonical(v) for k, v in spec.options.items() if k not in ignored}
