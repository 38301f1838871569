"""BSON values: type numbers, the server's canonical type order, comparison.

Every part of the engine that compares, sorts, hashes or groups values goes
through this module, so that ``find``, ``sort``, indexes, ``$group`` and
``distinct`` agree with each other and with a real server.

The central function is :func:`sort_key`: it maps any BSON value to a plain,
hashable Python tuple such that

* tuple order is the server's BSON comparison order (``woCompare`` without a
  collation), across types by the *canonical type rank*, and
* two keys are equal exactly when the server considers the values equal
  (``1 == 1.0 == Int64(1) == Decimal128("1")``, ``NaN == NaN``,
  ``-0.0 == 0``, but ``True != 1`` and ``{a: 1, b: 2} != {b: 2, a: 1}``).

So ``sort_key`` serves as a sort key, a dict key (``_id`` lookups, hash
indexes, ``$group``) and an equality test.

    >>> sort_key(1) == sort_key(1.0)
    True
    >>> compare(None, 0), compare("a", 5), compare([1, 2], [1])
    (-1, 1, 1)
    >>> bson_type_number(2**40), type_name(MISSING)
    (18, 'missing')

Canonical type ranks (``canonicalizeBSONType`` in the server)::

    MinKey -1 < missing/undefined 0 < null 5 < numbers 10 < string/symbol 15
    < object 20 < array 25 < binData 30 < ObjectId 35 < bool 40 < date 45
    < timestamp 47 < regex 50 < dbPointer 55 < code 60 < code w/ scope 65
    < MaxKey 127
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Callable

from bson import SON, Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.datetime_ms import DatetimeMS

__all__ = [
    "MISSING",
    "NUMBER_TYPES",
    "TYPE_ALIASES",
    "TYPE_NAMES",
    "bson_equal",
    "bson_type_number",
    "canonical_rank",
    "compare",
    "is_number",
    "regex_flags_string",
    "resolve_type",
    "sort_key",
    "type_name",
]


class _Missing:
    """The sentinel for an absent field (the server's EOO element)."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


#: The value of a field that does not exist. Falsy, a singleton: test with ``is``.
MISSING: Any = _Missing()

# --------------------------------------------------------------------------
# Canonical ranks
# --------------------------------------------------------------------------

RANK_MINKEY = -1
RANK_MISSING = 0
RANK_NULL = 5
RANK_NUMBER = 10
RANK_STRING = 15
RANK_OBJECT = 20
RANK_ARRAY = 25
RANK_BINARY = 30
RANK_OBJECTID = 35
RANK_BOOL = 40
RANK_DATE = 45
RANK_TIMESTAMP = 47
RANK_REGEX = 50
RANK_CODE = 60
RANK_CODE_W_SCOPE = 65
RANK_MAXKEY = 127

_EPOCH_NAIVE = _dt.datetime(1970, 1, 1)
_ONE_MICRO = _dt.timedelta(microseconds=1)
_UUID_SUBTYPE = 4

# Order of the flag letters as bson encodes them (``bson._encode_regex``).
_FLAG_LETTERS = (
    (re.IGNORECASE, "i"),
    (re.LOCALE, "l"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.UNICODE, "u"),
    (re.VERBOSE, "x"),
)


def regex_flags_string(value: Any) -> str:
    """The flag letters a regex value is stored with (``"imsux"`` subset).

    Accepts ``bson.Regex`` and ``re.Pattern``; the letters and their order are
    those ``bson.encode`` writes, so they match what a server stores.

        >>> regex_flags_string(Regex("a", "mi"))
        'im'
    """
    flags = value.flags
    if isinstance(flags, str):  # defensive: bson.Regex normalises to int
        return "".join(sorted(flags))
    flags = int(flags)
    return "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit)


def _regex_pattern(value: Any) -> str:
    pattern = value.pattern
    if isinstance(pattern, bytes):
        pattern = pattern.decode("utf-8")
    return pattern


def _datetime_micros(value: _dt.datetime) -> int:
    """Microseconds since the epoch; naive datetimes are UTC (as bson assumes)."""
    if value.tzinfo is not None:
        offset = value.utcoffset()
        if offset is not None:
            value = value.replace(tzinfo=None) - offset
        else:
            value = value.replace(tzinfo=None)
    return (value - _EPOCH_NAIVE) // _ONE_MICRO


# --------------------------------------------------------------------------
# sort_key: per-type key builders.  Each returns a tuple starting with the
# canonical rank; within a rank all tuples have comparable shapes.
# --------------------------------------------------------------------------


def _key_int(v: int) -> tuple:
    return (RANK_NUMBER, 1, v)


def _key_float(v: float) -> tuple:
    if v != v:  # NaN: equal to itself, below every other number
        return (RANK_NUMBER, 0)
    return (RANK_NUMBER, 1, v)


def _key_decimal128(v: Decimal128) -> tuple:
    d = v.to_decimal()
    if d.is_nan():
        return (RANK_NUMBER, 0)
    # Python compares and hashes Decimal, int and float exactly and
    # consistently, so Decimal128("1") == 1 == 1.0 as keys.
    return (RANK_NUMBER, 1, d)


def _key_str(v: str) -> tuple:
    return (RANK_STRING, v)


def _key_none(v: None) -> tuple:
    return (RANK_NULL,)


def _key_bool(v: bool) -> tuple:
    return (RANK_BOOL, v)


def _key_objectid(v: ObjectId) -> tuple:
    return (RANK_OBJECTID, v.binary)


def _key_datetime(v: _dt.datetime) -> tuple:
    return (RANK_DATE, _datetime_micros(v))


def _key_datetime_ms(v: DatetimeMS) -> tuple:
    return (RANK_DATE, int(v) * 1000)


def _key_mapping(v: Mapping) -> tuple:
    # Server order per element: canonical type, field name, value.
    elements = []
    for name, value in v.items():
        k = sort_key(value)
        elements.append((k[0], name) + k[1:])
    return (RANK_OBJECT, tuple(elements))


def _key_dbref(v: DBRef) -> tuple:
    return _key_mapping(v.as_doc())


def _key_list(v: list | tuple) -> tuple:
    return (RANK_ARRAY, tuple([sort_key(e) for e in v]))


def _key_bytes(v: bytes) -> tuple:
    # bytes decode from BSON subtype 0; Binary carries its subtype.
    subtype = v.subtype if isinstance(v, Binary) else 0
    return (RANK_BINARY, len(v), subtype, bytes(v))


def _key_uuid(v: uuid.UUID) -> tuple:
    return (RANK_BINARY, 16, _UUID_SUBTYPE, v.bytes)


def _key_timestamp(v: Timestamp) -> tuple:
    return (RANK_TIMESTAMP, v.time, v.inc)


def _key_regex(v: Any) -> tuple:
    return (RANK_REGEX, _regex_pattern(v), regex_flags_string(v))


def _key_code(v: Code) -> tuple:
    if v.scope is None:
        return (RANK_CODE, str(v))
    return (RANK_CODE_W_SCOPE, str(v), _key_mapping(v.scope))


def _key_minkey(v: Any) -> tuple:
    return (RANK_MINKEY,)


def _key_maxkey(v: Any) -> tuple:
    return (RANK_MAXKEY,)


def _key_missing(v: Any) -> tuple:
    return (RANK_MISSING,)


# Exact-type dispatch: one dict lookup for the common cases.
_KEY_BY_TYPE: dict[type, Callable[[Any], tuple]] = {
    int: _key_int,
    Int64: _key_int,
    float: _key_float,
    str: _key_str,
    type(None): _key_none,
    bool: _key_bool,
    ObjectId: _key_objectid,
    _dt.datetime: _key_datetime,
    dict: _key_mapping,
    SON: _key_mapping,
    list: _key_list,
    tuple: _key_list,
    Decimal128: _key_decimal128,
    bytes: _key_bytes,
    Binary: _key_bytes,
    uuid.UUID: _key_uuid,
    DatetimeMS: _key_datetime_ms,
    Timestamp: _key_timestamp,
    Regex: _key_regex,
    re.Pattern: _key_regex,
    Code: _key_code,
    DBRef: _key_dbref,
    MinKey: _key_minkey,
    MaxKey: _key_maxkey,
    _Missing: _key_missing,
}

# Subclass fallback, most specific first (Code is a str, bool and Int64 are
# ints, Binary is bytes, SON/DBRef-like mappings are Mappings).
_KEY_BY_BASE: tuple[tuple[type, Callable[[Any], tuple]], ...] = (
    (bool, _key_bool),
    (Code, _key_code),
    (Binary, _key_bytes),
    (int, _key_int),
    (float, _key_float),
    (str, _key_str),
    (bytes, _key_bytes),
    (_dt.datetime, _key_datetime),
    (DBRef, _key_dbref),
    (Mapping, _key_mapping),
    (list, _key_list),
    (tuple, _key_list),
    (Regex, _key_regex),
    (re.Pattern, _key_regex),
    (uuid.UUID, _key_uuid),
)


def _key_fallback(v: Any) -> tuple:
    for base, fn in _KEY_BY_BASE:
        if isinstance(v, base):
            return fn(v)
    raise TypeError(f"not a BSON value: {type(v).__name__}")


def sort_key(v: Any) -> tuple:
    """A hashable tuple ordering ``v`` as the server's BSON comparison does.

    ``sort_key(a) == sort_key(b)`` exactly when ``bson_equal(a, b)``; ``<`` on
    keys is the server's order (no collation). Arrays compare element by
    element as whole values (sorting by an array field's min/max element is
    the sorter's job, not this function's).

        >>> sorted([True, "x", 2.5, None, 1], key=sort_key)
        [None, 1, 2.5, 'x', True]

    Cost: O(size of v); O(1) for scalars.
    """
    fn = _KEY_BY_TYPE.get(type(v))
    if fn is not None:
        return fn(v)
    return _key_fallback(v)


def canonical_rank(v: Any) -> int:
    """The server's canonical type rank of ``v`` (see the module docstring).

        >>> canonical_rank(None) < canonical_rank(0) < canonical_rank("") < canonical_rank({})
        True
    """
    rank = _SCALAR_RANKS.get(type(v))
    return rank if rank is not None else sort_key(v)[0]


_SCALAR_RANKS: dict[type, int] = {
    int: RANK_NUMBER,
    Int64: RANK_NUMBER,
    float: RANK_NUMBER,
    Decimal128: RANK_NUMBER,
    str: RANK_STRING,
    type(None): RANK_NULL,
    bool: RANK_BOOL,
    dict: RANK_OBJECT,
    SON: RANK_OBJECT,
    list: RANK_ARRAY,
    tuple: RANK_ARRAY,
    ObjectId: RANK_OBJECTID,
    _dt.datetime: RANK_DATE,
    _Missing: RANK_MISSING,
}


def compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 as the server's BSON comparison of ``a`` and ``b``.

        >>> compare(1, 1.0), compare("b", "a"), compare(MinKey(), None)
        (0, 1, -1)
    """
    ka = sort_key(a)
    kb = sort_key(b)
    if ka == kb:
        return 0
    return -1 if ka < kb else 1


def bson_equal(a: Any, b: Any) -> bool:
    """Whether the server considers ``a`` and ``b`` equal (binary, no collation).

        >>> bson_equal({"a": 1}, {"a": 1.0}), bson_equal(True, 1)
        (True, False)
    """
    return sort_key(a) == sort_key(b)


# --------------------------------------------------------------------------
# Type numbers and names
# --------------------------------------------------------------------------

#: $type aliases → BSON type numbers ("number" is the set NUMBER_TYPES).
TYPE_NAMES: dict[int, str] = {
    1: "double",
    2: "string",
    3: "object",
    4: "array",
    5: "binData",
    6: "undefined",
    7: "objectId",
    8: "bool",
    9: "date",
    10: "null",
    11: "regex",
    12: "dbPointer",
    13: "javascript",
    14: "symbol",
    15: "javascriptWithScope",
    16: "int",
    17: "timestamp",
    18: "long",
    19: "decimal",
    -1: "minKey",
    127: "maxKey",
}

#: The numeric BSON types, what the ``"number"`` alias stands for.
NUMBER_TYPES: frozenset[int] = frozenset({1, 16, 18, 19})

#: Alias → BSON type number, as ``$type`` accepts them. ``"number"`` maps to
#: the frozenset :data:`NUMBER_TYPES` (it names several types); use
#: :func:`resolve_type` to get a uniform frozenset for any alias or number.
TYPE_ALIASES: dict[str, Any] = {name: number for number, name in TYPE_NAMES.items()}
TYPE_ALIASES["number"] = NUMBER_TYPES

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1

_TYPE_NUMBER_BY_TYPE: dict[type, int] = {
    float: 1,
    str: 2,
    dict: 3,
    SON: 3,
    list: 4,
    tuple: 4,
    bytes: 5,
    uuid.UUID: 5,
    ObjectId: 7,
    bool: 8,
    _dt.datetime: 9,
    DatetimeMS: 9,
    type(None): 10,
    Regex: 11,
    re.Pattern: 11,
    Timestamp: 17,
    Int64: 18,
    Decimal128: 19,
    MinKey: -1,
    MaxKey: 127,
    DBRef: 3,
}


def bson_type_number(v: Any) -> int | None:
    """The BSON type number ``v`` is stored as; ``None`` for :data:`MISSING`.

    A Python ``int`` is an int32 (16) when it fits, otherwise a long (18),
    as ``bson.encode`` writes it.

        >>> bson_type_number(5), bson_type_number(2**31), bson_type_number(Int64(5))
        (16, 18, 18)
    """
    t = type(v)
    if t is int:
        return 16 if _INT32_MIN <= v <= _INT32_MAX else 18
    number = _TYPE_NUMBER_BY_TYPE.get(t)
    if number is not None:
        return number
    if v is MISSING:
        return None
    if isinstance(v, bool):
        return 8
    if isinstance(v, Int64):
        return 18
    if isinstance(v, int):
        return 16 if _INT32_MIN <= v <= _INT32_MAX else 18
    if isinstance(v, Code):
        return 13 if v.scope is None else 15
    if isinstance(v, (Binary, bytes)):
        return 5
    if isinstance(v, float):
        return 1
    if isinstance(v, str):
        return 2
    if isinstance(v, _dt.datetime):
        return 9
    if isinstance(v, (DBRef, Mapping)):
        return 3
    if isinstance(v, (list, tuple)):
        return 4
    if isinstance(v, (Regex, re.Pattern)):
        return 11
    if isinstance(v, uuid.UUID):
        return 5
    raise TypeError(f"not a BSON value: {type(v).__name__}")


def type_name(v: Any) -> str:
    """The ``$type`` aggregation name of ``v`` (``"missing"`` for MISSING).

        >>> type_name(1.5), type_name([]), type_name(MISSING)
        ('double', 'array', 'missing')
    """
    number = bson_type_number(v)
    if number is None:
        return "missing"
    return TYPE_NAMES[number]


def resolve_type(spec: Any) -> frozenset[int] | None:
    """The BSON type numbers a ``$type`` argument (alias or number) names.

    Returns ``None`` when ``spec`` names no type, so each caller raises its own
    error (the query and the aggregation ``$type`` word it differently).

        >>> sorted(resolve_type("number")), resolve_type(2.0), resolve_type("nope")
        ([1, 16, 18, 19], frozenset({2}), None)
    """
    if isinstance(spec, str):
        found = TYPE_ALIASES.get(spec)
        if found is None:
            return None
        return found if isinstance(found, frozenset) else frozenset({found})
    if is_number(spec):
        if isinstance(spec, Decimal128):
            d = spec.to_decimal()
            if not d.is_finite() or d != d.to_integral_value():
                return None
            number = int(d)
        elif isinstance(spec, float):
            if spec != spec or spec in (float("inf"), float("-inf")) or spec != int(spec):
                return None
            number = int(spec)
        else:
            number = int(spec)
        if number in TYPE_NAMES:
            return frozenset({number})
    return None


def is_regex(v: Any) -> bool:
    """Whether ``v`` is a BSON regular expression (``bson.Regex`` or a compiled
    ``re.Pattern``, which bson encodes as one).

        >>> is_regex(Regex("^a")), is_regex(re.compile("a")), is_regex("^a")
        (True, True, False)
    """
    return isinstance(v, (Regex, re.Pattern))


def is_number(v: Any) -> bool:
    """Whether ``v`` is a BSON number (int, long, double, decimal; not bool).

        >>> is_number(1), is_number(True), is_number(Decimal128("1.5"))
        (True, False, True)
    """
    t = type(v)
    if t is int or t is float or t is Int64 or t is Decimal128:
        return True
    if t is bool:
        return False
    return isinstance(v, (int, float, Decimal128)) and not isinstance(v, bool)


def to_python_number(v: Any) -> int | float | Decimal:
    """A BSON number as a plain Python number (Decimal128 → decimal.Decimal)."""
    if isinstance(v, Decimal128):
        return v.to_decimal()
    if isinstance(v, Int64):
        return int(v)
    return v
