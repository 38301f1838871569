"""The update language: operator documents, replacements, pipelines, upsert seeds.

An update is compiled once into an :class:`Updater` whose ``apply`` mutates a
document in place and reports whether it changed (what ``nModified`` counts):

    >>> up = compile_update({"$inc": {"n": 1}, "$set": {"tags.1": "x"}})
    >>> doc = {"_id": 1, "n": 1, "tags": ["a"]}
    >>> up.apply(doc), doc
    (True, {'_id': 1, 'n': 2, 'tags': ['a', 'x']})
    >>> compile_update({"$set": {"n": 2}}).apply(doc)   # same value: no-op
    False

How it mirrors the server (``src/mongo/db/update`` in mongodb/mongo):

* An operator document is parsed into a **prefix tree** of paths, exactly
  like the server's ``UpdateObjectNode``/``UpdateArrayNode`` tree.  Building
  the tree is what detects conflicting paths (``{$set: {a: 1}, $inc:
  {"a.b": 1}}`` → code 40) and it is where every operand is validated, so
  all parse errors surface at compile time, before any document is touched.
* Applying walks the tree and the document together.  Children of a node
  are applied in the server's field order (lexicographic, except that
  unpadded numeric names compare numerically, 5.0+), which is why new fields
  are appended in that order: ``{$set: {z: 1, a: 1}}`` on ``{_id: 1}`` gives
  ``{_id: 1, a: 1, z: 1}``.  Existing fields keep their position; a created
  field is appended to its parent; ``a.5`` on a 2-element array pads with
  nulls.
* ``$`` uses the array position the caller got from
  ``Matcher.match_position``; ``$[]`` and ``$[<id>]`` (with ``arrayFilters``)
  fan out over array elements, merging the sub-updates that reach the same
  element (a clash there is ``Update created a conflict at 'a.0.b'``).
* Error codes and messages are the server's, including its ``toString``
  rendering of values (``{a: [ 1, 2 ]}``, ``1.0`` for doubles).

Failure contract: ``apply`` may raise :class:`~.errors.ServerError` after it
has already changed part of ``doc`` (the server also fails mid-way through its
mutable copy).  The caller hands ``apply`` a private copy and discards it on
error, so a failed write changes nothing.

Replacement documents (:func:`compile_replacement`), pipeline-style updates
(a list of stages, delegated to ``aggregate.run_pipeline``) and the document
an upsert starts from (:func:`upsert_seed`) live here too.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import threading
import time
import uuid
from collections.abc import Mapping
from functools import cmp_to_key
from typing import Any, Callable

import bson
from bson import Regex
from bson.binary import Binary, UuidRepresentation
from bson.code import Code
from bson.codec_options import CodecOptions
from bson.dbref import DBRef
from bson.decimal128 import Decimal128, create_decimal128_context
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.timestamp import Timestamp

from . import bsontypes
from .bsontypes import MISSING, is_regex
from .errors import (
    BAD_VALUE,
    CONFLICTING_UPDATE_OPERATORS,
    DOLLAR_PREFIXED_FIELD_NAME,
    EMPTY_FIELD_NAME,
    FAILED_TO_PARSE,
    IMMUTABLE_FIELD,
    PATH_NOT_VIABLE,
    TYPE_MISMATCH,
    ServerError,
)

__all__ = [
    "Updater",
    "compile_replacement",
    "compile_update",
    "next_timestamp",
    "upsert_seed",
]

# Server codes raised here that errors.py has no constant for.
_CANNOT_BACKFILL_ARRAY = 34
_INVALID_ID_FIELD = 53
_NOT_SINGLE_VALUE_FIELD = 54
_INVALID_DBREF = 55
_NOT_EXACT_VALUE_FIELD = 111

_MAX_PADDING = 1_500_000
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_DEC_CTX = create_decimal128_context()

# bson round trips (normalising spec values, copying containers) use a codec
# that accepts native UUIDs; everything else is pymongo's default.
_CODEC = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)


def _fail(code: int, msg: str) -> ServerError:
    return ServerError(code, msg)


# ===========================================================================
# Rendering values the way the server's BSONElement::toString does, for
# error messages: {a: 1} at the top of an element, { a: 1 } nested,
# [ 1, 2 ] for arrays, "x" for strings, 1.0 for whole doubles.
# ===========================================================================


def _fmt_double(x: float) -> str:
    s = "%.16g" % x
    # The server appends ".0" unless the text has '.', 'E' or 'N' (sic: the
    # lowercase 'e' of an exponent does not count).
    if "." not in s and "E" not in s and "N" not in s:
        s += ".0"
    return s


def _fmt(v: Any) -> str:
    """The server's rendering of a BSON value (no field name)."""
    t = type(v)
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int or t is Int64:
        return str(int(v))
    if t is float:
        return _fmt_double(v)
    if t is str:
        if len(v) > 160:
            return '"' + v[:150] + '..."'
        return '"' + v + '"'
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        return "[ " + ", ".join(_fmt(x) for x in v) + " ]"
    if t is ObjectId:
        return f"ObjectId('{v}')"
    if isinstance(v, _dt.datetime):
        return f"new Date({_datetime_ms(v)})"
    if t is Decimal128:
        return str(v)
    if t is Timestamp:
        return f"Timestamp({v.time}, {v.inc})"
    if isinstance(v, (Regex, re.Pattern)):
        return f"/{bsontypes._regex_pattern(v)}/{bsontypes.regex_flags_string(v)}"
    if t is MinKey:
        return "MinKey"
    if t is MaxKey:
        return "MaxKey"
    if isinstance(v, uuid.UUID):
        return f'UUID("{v}")'
    if isinstance(v, Binary) and v.subtype == 4 and len(v) == 16:
        return f'UUID("{uuid.UUID(bytes=bytes(v))}")'
    if isinstance(v, bytes):
        subtype = v.subtype if isinstance(v, Binary) else 0
        data = bytes(v)
        if len(data) > 80:
            return f"BinData({subtype}, {data[:70].hex().upper()}...)"
        return f"BinData({subtype}, {data.hex().upper()})"
    if isinstance(v, DBRef):
        return _fmt(v.as_doc())
    if isinstance(v, Code):
        code = str(v)
        text = code[:70] + "..." if len(code) > 79 else code
        return text if v.scope is None else f"CodeWScope( {code}, {_fmt(v.scope)})"
    if v is MISSING:
        return "EOO"
    return repr(v)


def _fmt_elem(name: str, v: Any) -> str:
    """``name: value`` as the server renders one element."""
    return f"{name}: {_fmt(v)}"


def _fmt_obj(doc: Mapping) -> str:
    """A whole document, as BSONObj::toString renders it."""
    return _fmt(doc)


def _id_elem(doc: Mapping, missing: str = "INVALID-MUTABLE-ELEMENT") -> str:
    """``_id: <value>`` of ``doc`` for messages naming the document."""
    if "_id" in doc:
        return _fmt_elem("_id", doc["_id"])
    return missing


def _datetime_ms(v: _dt.datetime) -> int:
    return bsontypes._datetime_micros(v) // 1000


# ===========================================================================
# Values: normalising spec values once, copying containers per use, exact
# ("binary") equality, numeric arithmetic with the server's typing.
# ===========================================================================


def _normalize(value: Any) -> Any:
    """``value`` as a server would receive it (tuples → lists, ms datetimes).

    Raises bson's ``InvalidDocument`` for values BSON cannot hold, which is
    what pymongo raises before sending such an update.
    """
    t = type(value)
    if t is str or t is bool or value is None or t is float or t is ObjectId:
        return value
    if t is int:
        if _I64_MIN <= value <= _I64_MAX:
            return value
    return bson.decode(bson.encode({"v": value}, codec_options=_CODEC), codec_options=_CODEC)["v"]


class _Value:
    """A normalised spec value; ``get()`` returns a private copy of containers.

    Scalars are immutable and shared; a flat container of scalars is copied
    shallowly; anything nested is copied by a (C-speed) BSON round trip.
    """

    __slots__ = ("value", "_raw", "_flat")

    def __init__(self, value: Any) -> None:
        self.value = _normalize(value)
        self._raw = None
        self._flat = False
        v = self.value
        if isinstance(v, (dict, list)):
            items = v.values() if isinstance(v, dict) else v
            if all(not isinstance(x, (dict, list)) for x in items):
                self._flat = True
            else:
                self._raw = bson.encode({"v": v}, codec_options=_CODEC)

    def get(self) -> Any:
        if self._flat:
            return self.value.copy()
        if self._raw is None:
            return self.value
        return bson.decode(self._raw, codec_options=_CODEC)["v"]


_EXACT_SCALARS = (str, type(None), bool, ObjectId)


def _identical(a: Any, b: Any) -> bool:
    """Binary equality of two BSON values: same types, same bytes, same order.

    What the server's ``binaryEqualValues`` decides for ``$set`` no-ops:
    ``1`` and ``1.0`` differ, ``{a: 1, b: 2}`` and ``{b: 2, a: 1}`` differ.
    """
    ta = type(a)
    tb = type(b)
    if ta is tb:
        if ta in _EXACT_SCALARS:
            return a == b
        if ta is int:
            return a == b  # equal Python ints always encode to the same type
        if ta is float:
            if a != a:
                return b != b
            return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)  # 0.0 vs -0.0 differ
    elif a is None or b is None or ta is bool or tb is bool:
        return False
    try:
        return bson.encode({"": a}, codec_options=_CODEC) == bson.encode({"": b}, codec_options=_CODEC)
    except Exception:  # noqa: BLE001 - not BSON-encodable: treat as different
        return False


# Numeric kinds, ordered by the server's promotion order.
_INT32, _INT64, _DOUBLE, _DECIMAL = 1, 2, 3, 4


def _num_kind(v: Any) -> int:
    """The numeric BSON type of ``v`` (0 when ``v`` is not a number)."""
    t = type(v)
    if t is int:
        return _INT32 if _I32_MIN <= v <= _I32_MAX else _INT64
    if t is float:
        return _DOUBLE
    if t is Int64:
        return _INT64
    if t is Decimal128:
        return _DECIMAL
    if t is bool:
        return 0
    if isinstance(v, Int64):
        return _INT64
    if isinstance(v, int) and not isinstance(v, bool):
        return _INT32 if _I32_MIN <= v <= _I32_MAX else _INT64
    if isinstance(v, float):
        return _DOUBLE
    if isinstance(v, Decimal128):
        return _DECIMAL
    return 0


def _to_decimal(v: Any, kind: int):
    if kind == _DECIMAL:
        return v.to_decimal()
    if kind == _DOUBLE:
        # The server converts a double to decimal rounded to 15 digits.
        if v != v:
            return _DEC_CTX.create_decimal("NaN")
        if v in (float("inf"), float("-inf")):
            return _DEC_CTX.create_decimal("Infinity" if v > 0 else "-Infinity")
        return _DEC_CTX.create_decimal(format(v, ".14e"))
    return _DEC_CTX.create_decimal(int(v))


_INVALID = object()  # an arithmetic result that overflowed a long


def _arith(op: str, a: Any, b: Any) -> Any:
    """``a + b`` or ``a * b`` with the server's SafeNum typing.

    int32 op int32 overflowing becomes a long; long overflow is invalid
    (``_INVALID``); any double makes a double; any decimal makes a decimal.
    """
    ka = _num_kind(a)
    kb = _num_kind(b)
    kind = ka if ka > kb else kb
    if kind == _DECIMAL:
        da = _to_decimal(a, ka)
        db = _to_decimal(b, kb)
        r = _DEC_CTX.add(da, db) if op == "+" else _DEC_CTX.multiply(da, db)
        return Decimal128(r)
    if kind == _DOUBLE:
        fa = float(a)
        fb = float(b)
        return fa + fb if op == "+" else fa * fb
    r = int(a) + int(b) if op == "+" else int(a) * int(b)
    if kind == _INT32:
        if _I32_MIN <= r <= _I32_MAX:
            return r
        return Int64(r)
    if _I64_MIN <= r <= _I64_MAX:
        return Int64(r)
    return _INVALID


def _num_identical(a: Any, b: Any) -> bool:
    """SafeNum::isIdentical: same numeric type and equal value."""
    ka = _num_kind(a)
    if ka != _num_kind(b):
        return False
    if ka == _DECIMAL:
        return a.bid == b.bid
    if ka == _DOUBLE:
        return a == b
    return int(a) == int(b)


def _num_debug(v: Any) -> str:
    names = {_INT32: "NumberInt", _INT64: "NumberLong", _DOUBLE: "NumberDouble", _DECIMAL: "NumberDecimal"}
    kind = _num_kind(v)
    text = _fmt_double(v) if kind == _DOUBLE else str(v if kind == _DECIMAL else int(v))
    return f"({names[kind]}){text}"


# ---------------------------------------------------------------------------
# Current time for $currentDate and zero timestamps.
# ---------------------------------------------------------------------------

_ts_lock = threading.Lock()
_ts_last = [0, 0]


def next_timestamp() -> Timestamp:
    """A fresh, strictly increasing ``Timestamp`` (the server's logical clock).

        >>> next_timestamp() < next_timestamp()
        True
    """
    with _ts_lock:
        secs = int(time.time())
        if secs > _ts_last[0]:
            _ts_last[0], _ts_last[1] = secs, 1
        else:
            _ts_last[1] += 1
        return Timestamp(_ts_last[0], _ts_last[1])


def _now_ms() -> _dt.datetime:
    """The current time as the server stores a date: UTC, millisecond precision."""
    now = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# ===========================================================================
# Comparison with an optional collation.
# ===========================================================================


def _make_key(collation: Any) -> Callable[[Any], tuple]:
    """The comparison key for values under ``collation`` (a spec or parsed)."""
    if collation is None:
        return bsontypes.sort_key
    from . import collation as _coll

    parsed = _coll.parse_collation(collation) if isinstance(collation, Mapping) else collation
    return _coll.sort_key_for(parsed)


def _cmp(key: Callable[[Any], tuple], a: Any, b: Any) -> int:
    ka = key(a)
    kb = key(b)
    if ka == kb:
        return 0
    return -1 if ka < kb else 1


# ===========================================================================
# Paths.
# ===========================================================================


def _cmp_field_names(a: str, b: str) -> int:
    """The server's order of update paths (``cmpPathsAndArrayIndexes``).

    Names that both start with a digit and are not zero-padded compare by
    length first (so "2" < "10"); everything else compares as strings.
    """
    if (
        a
        and b
        and "0" <= a[0] <= "9"
        and "0" <= b[0] <= "9"
        and not (a[0] == "0" and len(a) > 1)
        and not (b[0] == "0" and len(b) > 1)
        and len(a) != len(b)
    ):
        return -1 if len(a) < len(b) else 1
    if a == b:
        return 0
    return -1 if a < b else 1


_FIELD_ORDER = cmp_to_key(_cmp_field_names)


def _parse_index(field: str) -> int | None:
    """An array index from a path component (parseUnsignedBase10Integer)."""
    if field and field.isdigit() and field.isascii():
        n = int(field)
        if n <= 0xFFFFFFFF:
            return n
    return None


def _split_update_path(path: str) -> list[str]:
    """Split an update path, with the server's EmptyFieldName errors."""
    if path == "":
        raise _fail(EMPTY_FIELD_NAME, "An empty update path is not valid.")
    parts = path.split(".")
    if "" in parts:
        raise _fail(
            EMPTY_FIELD_NAME,
            f"The update path '{path}' contains an empty field name, which is not allowed.",
        )
    return parts


def _is_array_filter_id(part: str) -> bool:
    return len(part) >= 3 and part[0] == "$" and part[1] == "[" and part[-1] == "]"


def _get_child(element: Any, field: str) -> tuple[Any, Any] | None:
    """``(container, key)`` of ``element``'s child ``field``, or None if absent."""
    if type(element) is dict:
        if field in element:
            return element, field
        return None
    if isinstance(element, list):
        index = _parse_index(field)
        if index is not None and index < len(element):
            return element, index
        return None
    if isinstance(element, Mapping) and field in element:
        return element, field
    return None


def _dotted(parts: tuple | list) -> str:
    return ".".join(parts)


# ===========================================================================
# The apply context and the update tree.
# ===========================================================================


class _Ctx:
    """State of one ``apply`` call."""

    __slots__ = ("doc", "matched", "is_insert", "changed", "validate", "now")

    def __init__(self, doc: dict, matched: str | None, is_insert: bool) -> None:
        self.doc = doc
        self.matched = matched
        self.is_insert = is_insert
        self.changed = False
        # Storage validation of created fields happens for updates of stored
        # documents; an upsert's new document is validated as a whole later.
        self.validate = not is_insert
        self.now = None

    def current_date(self) -> _dt.datetime:
        if self.now is None:
            self.now = _now_ms()
        return self.now


class _Node:
    """Base of the update tree: internal (object/array) nodes and leaves."""

    __slots__ = ()
    kind = ""

    def apply(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple, to_create: tuple) -> None:
        raise NotImplementedError


class _ObjectNode(_Node):
    """Updates below a document (or an array element addressed by name)."""

    __slots__ = ("children", "positional", "ordered", "_merged")
    kind = "object"

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.positional: _Node | None = None
        self.ordered: list[tuple[str, _Node]] = []
        self._merged: dict[int, _Node] = {}

    def get(self, name: str) -> _Node | None:
        if name == "$":
            return self.positional
        return self.children.get(name)

    def set(self, name: str, node: _Node) -> None:
        if name == "$":
            self.positional = node
        else:
            self.children[name] = node

    def freeze(self) -> None:
        self.ordered = sorted(self.children.items(), key=lambda kv: _FIELD_ORDER(kv[0]))
        for _, child in self.ordered:
            if isinstance(child, (_ObjectNode, _ArrayNode)):
                child.freeze()
        if isinstance(self.positional, (_ObjectNode, _ArrayNode)):
            self.positional.freeze()

    def apply(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple, to_create: tuple) -> None:
        positional = self.positional
        matched = ""
        if positional is not None:
            if ctx.matched is None:
                raise _fail(BAD_VALUE, "The positional operator did not find the match needed from the query.")
            matched = ctx.matched
        state = [holder, key, taken, to_create]
        for name, child in self.ordered:
            if positional is not None:
                if name == matched:
                    merged = self._merged.get(id(child))
                    if merged is None:
                        merged = _merge(positional, child, state[2] + state[3] + (matched,))
                        self._merged[id(child)] = merged
                    _apply_child(ctx, merged, name, state)
                    positional = None
                    continue
                if matched < name:
                    _apply_child(ctx, positional, matched, state)
                    positional = None
            _apply_child(ctx, child, name, state)
        if positional is not None:
            _apply_child(ctx, positional, matched, state)


def _apply_child(ctx: _Ctx, child: _Node, field: str, state: list) -> None:
    """Apply ``child`` at ``field`` below the element ``state`` points at.

    ``state`` is ``[holder, key, taken, to_create]``: ``holder[key]`` is the
    deepest existing element, ``taken`` its path, ``to_create`` the path
    components below it that do not exist (yet).  When ``to_create`` was not
    empty and the child created it, the state advances onto the new element
    so that the following siblings find it (the server's applyChild).
    """
    holder, key, taken, to_create = state
    if not to_create:
        found = _get_child(holder[key], field)
        if found is not None:
            child.apply(ctx, found[0], found[1], taken + (field,), ())
        else:
            child.apply(ctx, holder, key, taken, (field,))
        return
    child.apply(ctx, holder, key, taken, to_create + (field,))
    found = _get_child(holder[key], to_create[0])
    if found is None:
        return
    for part in to_create[1:]:  # either all of it was created or none
        found = _get_child(found[0][found[1]], part)
        if found is None:
            return
    state[0], state[1] = found
    state[2] = taken + to_create
    state[3] = ()


class _ArrayNode(_Node):
    """``$[]`` / ``$[<id>]``: updates applied to matching array elements."""

    __slots__ = ("children", "ordered", "filters", "_merged")
    kind = "array"

    def __init__(self, filters: dict) -> None:
        self.children: dict[str, _Node] = {}  # identifier ("" for $[]) -> node
        self.ordered: list[tuple[str, _Node]] = []
        self.filters = filters
        self._merged: dict[tuple, _Node] = {}

    def get(self, name: str) -> _Node | None:
        return self.children.get(name)

    def set(self, name: str, node: _Node) -> None:
        self.children[name] = node

    def freeze(self) -> None:
        self.ordered = sorted(self.children.items(), key=lambda kv: _FIELD_ORDER(kv[0]))
        for _, child in self.ordered:
            if isinstance(child, (_ObjectNode, _ArrayNode)):
                child.freeze()

    def apply(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple, to_create: tuple) -> None:
        if to_create:
            raise _fail(
                BAD_VALUE,
                f"The path '{_dotted(taken + to_create)}' must exist in the document in order to apply array updates.",
            )
        array = holder[key]
        if not isinstance(array, list):
            raise _fail(BAD_VALUE, f"Cannot apply array updates to non-array element {_fmt_elem(taken[-1], array)}")
        # Decide every element's updates before changing any element.
        plan: list[tuple[int, list[tuple[str, _Node]]]] = []
        for index, element in enumerate(array):
            matching = [
                (ident, node) for ident, node in self.ordered if ident == "" or self.filters[ident](element)
            ]
            if matching:
                plan.append((index, matching))
        for index, matching in plan:
            field = str(index)
            node = matching[0][1]
            if len(matching) > 1:
                cache_key = tuple(id(n) for _, n in matching)
                merged = self._merged.get(cache_key)
                if merged is None:
                    merged = node
                    for _, other in matching[1:]:
                        merged = _merge(merged, other, taken + (field,))
                    self._merged[cache_key] = merged
                node = merged
            node.apply(ctx, array, index, taken + (field,), ())


def _merge(left: _Node, right: _Node, path: tuple) -> _Node:
    """Merge two subtrees reaching the same element (createUpdateNodeByMerging)."""
    if isinstance(left, _ObjectNode) and isinstance(right, _ObjectNode):
        merged: _Node = _ObjectNode()
        for name in set(left.children) | set(right.children):
            merged.children[name] = _copy_or_merge(left.children.get(name), right.children.get(name), path + (name,))
        merged.positional = _copy_or_merge(left.positional, right.positional, path + ("$",))
        merged.freeze()
        return merged
    if isinstance(left, _ArrayNode) and isinstance(right, _ArrayNode):
        merged = _ArrayNode(left.filters)
        for name in set(left.children) | set(right.children):
            merged.children[name] = _copy_or_merge(
                left.children.get(name), right.children.get(name), path + (f"$[{name}]",)
            )
        merged.freeze()
        return merged
    raise _fail(CONFLICTING_UPDATE_OPERATORS, f"Update created a conflict at '{_dotted(path)}'")


def _copy_or_merge(left: _Node | None, right: _Node | None, path: tuple) -> _Node | None:
    if left is None:
        return right
    if right is None:
        return left
    return _merge(left, right, path)


# ===========================================================================
# Leaves: one class per operator.  ModifierNode semantics: an existing
# element is updated in place (or not, reporting a no-op); a missing one is
# created (creating intermediate documents) or, for removing operators, the
# update is a no-op unless the path could never exist.
# ===========================================================================


class _Leaf(_Node):
    __slots__ = ("op",)
    kind = "leaf"
    creates = True  # allowCreation()
    nonviable_ok = False  # allowNonViablePath()
    insert_only = False

    def apply(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple, to_create: tuple) -> None:
        if self.insert_only and not ctx.is_insert:
            return
        if to_create:
            self._apply_missing(ctx, holder, key, taken, to_create)
        elif self.update_existing(ctx, holder, key, taken):
            _changed_existing(ctx, taken)

    def _apply_missing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple, to_create: tuple) -> None:
        parent = holder[key]
        if not self.creates:
            if not self.nonviable_ok:
                _check_viability(parent, to_create, taken)
            return
        _create_path(parent, taken, to_create, self.new_value(ctx))
        _created(ctx, parent, taken, to_create)

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        """Update ``holder[key]``; return whether it changed."""
        raise NotImplementedError

    def new_value(self, ctx: _Ctx) -> Any:
        """The value of a newly created element."""
        raise NotImplementedError


def _changed_existing(ctx: _Ctx, taken: tuple) -> None:
    """Record a change of the existing element at ``taken``; ``_id`` is immutable."""
    ctx.changed = True
    if taken[0] == "_id":
        raise _fail(
            IMMUTABLE_FIELD,
            f"Performing an update on the path '{_dotted(taken)}' would modify the immutable field '_id'",
        )


def _created(ctx: _Ctx, parent: Any, taken: tuple, to_create: tuple) -> None:
    """Record the creation of ``to_create`` below ``parent`` (at ``taken``).

    Creating inside an existing ``_id`` modifies it; a created top-level
    field may not be ``$``-prefixed (storage validation of updates).
    """
    ctx.changed = True
    if taken and taken[0] == "_id":
        raise _fail(
            IMMUTABLE_FIELD,
            f"Updating the path '{_dotted(taken)}' to {_fmt_elem(taken[-1], parent)} "
            "would modify the immutable field '_id'",
        )
    if ctx.validate and not taken and to_create[0][:1] == "$":
        _validate_dollar_field(list(parent.items()), list(parent).index(to_create[0]))


def _check_viability(parent: Any, to_create: tuple, taken: tuple) -> None:
    """PathNotViable for a removing operator whose path could never exist."""
    if isinstance(parent, Mapping):
        return
    if isinstance(parent, list) and _parse_index(to_create[0]) is not None:
        return
    raise _fail(
        PATH_NOT_VIABLE,
        f"Cannot use the part ({to_create[0]}) of ({_dotted(taken)}.{_dotted(to_create)}) "
        f"to traverse the element ({{{_fmt_elem(taken[-1] if taken else '', parent)}}})",
    )


def _create_path(parent: Any, taken: tuple, to_create: tuple, value: Any) -> None:
    """Create ``to_create`` below ``parent`` ending in ``value`` (createPathAt)."""
    first = to_create[0]
    for part in reversed(to_create[1:]):
        value = {part: value}
    if isinstance(parent, list):
        if not (first.isdigit() and first.isascii()):
            raise _not_viable(first, taken, parent)
        missing = int(first) - len(parent)
        if missing > 0:
            if missing > _MAX_PADDING:
                raise _fail(_CANNOT_BACKFILL_ARRAY, f"can't backfill more than {_MAX_PADDING} elements")
            parent.extend([None] * missing)
        parent.append(value)
    elif isinstance(parent, Mapping):
        parent[first] = value  # type: ignore[index]
    else:
        raise _not_viable(first, taken, parent)


def _not_viable(first: str, taken: tuple, parent: Any) -> ServerError:
    return _fail(
        PATH_NOT_VIABLE,
        f"Cannot create field '{first}' in element {{{_fmt_elem(taken[-1] if taken else '', parent)}}}",
    )


class _SetLeaf(_Leaf):
    __slots__ = ("value",)

    def __init__(self, op: str, name: str, arg: Any) -> None:
        self.op = op
        self.value = _Value(arg)

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        if _identical(holder[key], self.value.value):
            return False
        holder[key] = self.value.get()
        return True

    def new_value(self, ctx: _Ctx) -> Any:
        return self.value.get()


class _SetOnInsertLeaf(_SetLeaf):
    __slots__ = ()
    insert_only = True


class _UnsetLeaf(_Leaf):
    __slots__ = ()
    creates = False
    nonviable_ok = True

    def __init__(self, op: str, name: str, arg: Any) -> None:
        self.op = op

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        if isinstance(holder, list):
            holder[key] = None  # an array element is nulled, not removed
        else:
            del holder[key]
        return True


class _ArithmeticLeaf(_Leaf):
    """$inc and $mul."""

    __slots__ = ("value", "symbol")

    def __init__(self, op: str, name: str, arg: Any) -> None:
        self.op = op
        self.symbol = "+" if op == "$inc" else "*"
        if not _num_kind(arg):
            verb = "increment" if op == "$inc" else "multiply"
            raise _fail(TYPE_MISMATCH, f"Cannot {verb} with non-numeric argument: {{{_fmt_elem(name, arg)}}}")
        self.value = arg

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        current = holder[key]
        if not _num_kind(current):
            raise _fail(
                TYPE_MISMATCH,
                f"Cannot apply {self.op} to a value of non-numeric type. {{{_id_elem(ctx.doc)}}} has the field "
                f"'{taken[-1]}' of non-numeric type {bsontypes.type_name(current)}",
            )
        result = _arith(self.symbol, self.value, current)
        if result is _INVALID:
            raise _fail(
                BAD_VALUE,
                f"Failed to apply {self.op} operations to current value ({_num_debug(current)}) "
                f"for document {{{_id_elem(ctx.doc)}}}",
            )
        if _num_identical(result, current):
            return False
        holder[key] = result
        return True

    def new_value(self, ctx: _Ctx) -> Any:
        if self.symbol == "+":
            return self.value
        return _arith("*", self.value, 0)  # zero of the operand's type


class _CompareLeaf(_Leaf):
    """$min and $max."""

    __slots__ = ("value", "want", "key")

    def __init__(self, op: str, name: str, arg: Any, key: Callable) -> None:
        self.op = op
        self.value = _Value(arg)
        self.want = -1 if op == "$min" else 1
        self.key = key

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        if _cmp(self.key, self.value.value, holder[key]) != self.want:
            return False
        holder[key] = self.value.get()
        return True

    def new_value(self, ctx: _Ctx) -> Any:
        return self.value.get()


class _CurrentDateLeaf(_Leaf):
    __slots__ = ("is_date",)

    def __init__(self, op: str, name: str, arg: Any) -> None:
        self.op = op
        if type(arg) is bool:
            self.is_date = True
        elif isinstance(arg, Mapping):
            found = False
            self.is_date = True
            for k, v in arg.items():
                if k != "$type":
                    raise _fail(BAD_VALUE, f"Unrecognized $currentDate option: {k}")
                if v == "date" and type(v) is str:
                    self.is_date, found = True, True
                elif v == "timestamp" and type(v) is str:
                    self.is_date, found = False, True
            if not found:
                raise _fail(
                    BAD_VALUE,
                    "The '$type' string field is required to be 'date' or 'timestamp': "
                    "{$currentDate: {field : {$type: 'date'}}}",
                )
        else:
            raise _fail(
                BAD_VALUE,
                f"{bsontypes.type_name(arg)} is not valid type for $currentDate. Please use a boolean ('true') "
                "or a $type expression ({$type: 'timestamp/date'}).",
            )

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        holder[key] = self.new_value(ctx)
        return True

    def new_value(self, ctx: _Ctx) -> Any:
        return ctx.current_date() if self.is_date else next_timestamp()


def _parse_integer(value: Any, name: str) -> int | None:
    """MatchExpressionParser::parseIntegerElementToLong; None when not integral."""
    kind = _num_kind(value)
    if not kind:
        return None
    if kind == _DOUBLE:
        if value != value or value >= 2.0**63 or value < -(2.0**63) or value != int(value):
            return None
        return int(value)
    if kind == _DECIMAL:
        d = value.to_decimal()
        if not d.is_finite() or d != d.to_integral_value():
            return None
        n = int(d)
        return n if _I64_MIN <= n <= _I64_MAX else None
    return int(value)


_PUSH_CLAUSES = ("$each", "$slice", "$sort", "$position")


class _PushLeaf(_Leaf):
    __slots__ = ("values", "position", "slice", "sort_key", "sort_desc")

    def __init__(self, op: str, name: str, arg: Any, key: Callable) -> None:
        self.op = op
        self.position: int | None = None
        self.slice: int | None = None
        self.sort_key: Callable | None = None
        self.sort_desc = False
        if isinstance(arg, Mapping) and "$each" in arg:
            for clause in arg:
                if clause not in _PUSH_CLAUSES:
                    raise _fail(BAD_VALUE, f"Unrecognized clause in $push: {clause}")
            each = arg["$each"]
            if not isinstance(each, (list, tuple)):
                raise _fail(
                    BAD_VALUE,
                    f"The argument to $each in $push must be an array but it was of type: {bsontypes.type_name(each)}",
                )
            self.values = _Value(list(each))
            if "$slice" in arg:
                n = _parse_integer(arg["$slice"], "$slice")
                if n is None:
                    raise _fail(
                        BAD_VALUE,
                        "The value for $slice must be an integer value but was given type: "
                        f"{bsontypes.type_name(arg['$slice'])}",
                    )
                self.slice = n
            if "$sort" in arg:
                self.sort_key, self.sort_desc = _parse_push_sort(arg["$sort"], key)
            if "$position" in arg:
                n = _parse_integer(arg["$position"], "$position")
                if n is None:
                    raise _fail(
                        BAD_VALUE,
                        "The value for $position must be an integer value, not of type: "
                        f"{bsontypes.type_name(arg['$position'])}",
                    )
                self.position = n
        else:
            self.values = _Value([arg])

    def _push(self, array: list) -> bool:
        """Insert, sort and slice ``array`` in place; whether it changed."""
        values = self.values.get()
        changed = bool(values)
        if values:
            size = len(array)
            pos = self.position
            if pos is None or size == 0 or pos > size:
                array.extend(values)
            else:
                if pos < 0:
                    pos = size + pos if -pos < size else 0
                array[pos:pos] = values
        if self.sort_key is not None:
            before = list(array) if not changed else None
            array.sort(key=self.sort_key, reverse=self.sort_desc)
            if before is not None and not _identical(before, array):
                changed = True
        if self.slice is not None and len(array) > abs(self.slice):
            changed = True
            if self.slice >= 0:
                del array[self.slice:]
            else:
                del array[: len(array) + self.slice]
        return changed

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        array = holder[key]
        if not isinstance(array, list):
            raise _fail(
                BAD_VALUE,
                f"The field '{_dotted(taken)}' must be an array but is of type {bsontypes.type_name(array)} "
                f"in document {{{_id_elem(ctx.doc, 'no id')}}}",
            )
        return self._push(array)

    def new_value(self, ctx: _Ctx) -> Any:
        array: list = []
        self._push(array)
        return array


def _parse_push_sort(spec: Any, key: Callable) -> tuple[Callable, bool]:
    """A ``$push`` ``$sort`` clause as a (stable) sort key and direction."""
    if isinstance(spec, Mapping):
        if not spec:
            raise _fail(BAD_VALUE, "The $sort pattern is empty when it should be a set of fields.")
        fields: list[tuple[tuple[str, ...], int]] = []
        for name, direction in spec.items():
            order = float(direction.to_decimal()) if type(direction) is Decimal128 else direction
            if not _num_kind(direction) or order not in (1, -1):
                raise _fail(BAD_VALUE, "The $sort element value must be either 1 or -1")
            if name == "":
                raise _fail(BAD_VALUE, "The $sort field cannot be empty")
            parts = tuple(name.split("."))
            if "" in parts:
                raise _fail(BAD_VALUE, f"The $sort field is a dotted field but has an empty part: {name}")
            fields.append((parts, 1 if order == 1 else -1))

        def field_key(element: Any) -> Any:
            doc = element if isinstance(element, Mapping) else {"": element}
            out = []
            for parts, direction in fields:
                value = _dotted_lookup(doc, parts)
                k = key(None if value is MISSING else value)
                out.append(k if direction == 1 else _Reversed(k))
            return tuple(out)

        return field_key, False
    if _num_kind(spec):
        order = float(spec.to_decimal()) if type(spec) is Decimal128 else spec
        if order not in (1, -1):
            raise _fail(BAD_VALUE, "The $sort element value must be either 1 or -1")
        return key, order == -1
    raise _fail(
        BAD_VALUE,
        "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields",
    )


class _Reversed:
    """Inverts the order of a key (a descending field in a compound sort)."""

    __slots__ = ("k",)

    def __init__(self, k: Any) -> None:
        self.k = k

    def __lt__(self, other: _Reversed) -> bool:
        return other.k < self.k

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.k == other.k


def _dotted_lookup(doc: Any, parts: tuple[str, ...]) -> Any:
    """BSONObj::getFieldDotted: documents by name, arrays by index, no fan-out."""
    cur = doc
    for part in parts:
        if isinstance(cur, Mapping):
            cur = cur.get(part, MISSING)
        elif isinstance(cur, list):
            index = _parse_index(part)
            cur = cur[index] if index is not None and index < len(cur) else MISSING
        else:
            return MISSING
        if cur is MISSING:
            return MISSING
    return cur


class _AddToSetLeaf(_Leaf):
    __slots__ = ("values", "key")

    def __init__(self, op: str, name: str, arg: Any, key: Callable) -> None:
        self.op = op
        self.key = key
        items = [arg]
        if isinstance(arg, Mapping) and arg and next(iter(arg)) == "$each":
            each = arg["$each"]
            if not isinstance(each, (list, tuple)):
                raise _fail(
                    TYPE_MISMATCH,
                    f"The argument to $each in $addToSet must be an array but it was of type {bsontypes.type_name(each)}",
                )
            if len(arg) > 1:
                raise _fail(BAD_VALUE, f"Found unexpected fields after $each in $addToSet: {_fmt_obj(arg)}")
            items = list(each)
        normalized = _normalize(items)
        unique: list = []
        seen: set = set()
        for item in normalized:  # dedupe, keeping the first of equal values
            k = key(item)
            if k not in seen:
                seen.add(k)
                unique.append(item)
        self.values = _Value(unique)

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        array = holder[key]
        if not isinstance(array, list):
            raise _fail(
                BAD_VALUE,
                f"Cannot apply $addToSet to non-array field. Field named '{taken[-1]}' has non-array type "
                f"{bsontypes.type_name(array)}",
            )
        present = {self.key(e) for e in array}
        fresh = [v for v in self.values.value if self.key(v) not in present]
        if not fresh:
            return False
        copies = self.values.get()
        keys = {self.key(v) for v in fresh}
        array.extend(v for v in copies if self.key(v) in keys)
        return True

    def new_value(self, ctx: _Ctx) -> Any:
        return self.values.get()


class _PopLeaf(_Leaf):
    __slots__ = ("front",)
    creates = False

    def __init__(self, op: str, name: str, arg: Any) -> None:
        self.op = op
        n = _parse_integer(arg, "$pop")
        if n is None:
            kind = _num_kind(arg)
            if not kind:
                msg = f"Expected a number in: {_fmt_elem(name, arg)}"
            elif kind == _DOUBLE and arg != arg:
                msg = f"Expected an integer, but found NaN in: {_fmt_elem(name, arg)}"
            elif kind == _DOUBLE and -(2.0**63) <= arg < 2.0**63:
                msg = f"Expected an integer: {_fmt_elem(name, arg)}"
            else:
                msg = f"Cannot represent as a 64-bit integer: {_fmt_elem(name, arg)}"
            raise _fail(FAILED_TO_PARSE, msg)
        if n not in (1, -1):
            raise _fail(FAILED_TO_PARSE, f"$pop expects 1 or -1, found: {n}")
        self.front = n == -1

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        array = holder[key]
        if not isinstance(array, list):
            raise _fail(
                TYPE_MISMATCH,
                f"Path '{_dotted(taken)}' contains an element of non-array type '{bsontypes.type_name(array)}'",
            )
        if not array:
            return False
        del array[0 if self.front else -1]
        return True


# Query operators that take a path (MatchExpressionParser::parsePathAcceptingKeyword):
# a $pull condition starting with one of them applies to the element itself.
_PATH_OPERATORS = frozenset(
    [
        "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$type", "$mod",
        "$regex", "$options", "$all", "$size", "$elemMatch", "$not", "$geoWithin", "$geoIntersects",
        "$near", "$nearSphere", "$within", "$maxDistance", "$minDistance", "$geoNear",
        "$bitsAllSet", "$bitsAllClear", "$bitsAnySet", "$bitsAnyClear",
    ]
)


class _CullLeaf(_Leaf):
    """$pull and $pullAll: remove the array elements a matcher accepts."""

    __slots__ = ("match",)
    creates = False

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        array = holder[key]
        if not isinstance(array, list):
            raise _fail(BAD_VALUE, "Cannot apply $pull to a non-array value")
        match = self.match
        kept = [e for e in array if not match(e)]
        if len(kept) == len(array):
            return False
        array[:] = kept
        return True


class _PullLeaf(_CullLeaf):
    __slots__ = ()

    def __init__(self, op: str, name: str, arg: Any, key: Callable, collation: Any, variables: Any) -> None:
        self.op = op
        if isinstance(arg, Mapping) and next(iter(arg), "") not in _PATH_OPERATORS:
            # A query on each element that is a document.
            matcher = _compile_filter(dict(arg), collation, variables)

            def match(element: Any) -> bool:
                return isinstance(element, Mapping) and bool(matcher(element))

        elif isinstance(arg, (Mapping, Regex, re.Pattern)):
            # An operator condition (or a regex) on the element itself.
            matcher = _compile_filter({"x": arg}, collation, variables)

            def match(element: Any) -> bool:
                return bool(matcher({"x": element}))

        else:
            target = key(_normalize(arg))

            def match(element: Any) -> bool:
                return key(element) == target

        self.match = match


class _PullAllLeaf(_CullLeaf):
    __slots__ = ()

    def __init__(self, op: str, name: str, arg: Any, key: Callable) -> None:
        self.op = op
        if not isinstance(arg, (list, tuple)):
            raise _fail(BAD_VALUE, f"$pullAll requires an array argument but was given a {bsontypes.type_name(arg)}")
        targets = {key(v) for v in _normalize(list(arg))}

        def match(element: Any) -> bool:
            return key(element) in targets

        self.match = match


class _BitLeaf(_Leaf):
    __slots__ = ("ops",)

    def __init__(self, op: str, name: str, arg: Any) -> None:
        self.op = op
        if not isinstance(arg, Mapping):
            raise _fail(
                BAD_VALUE,
                f"The $bit modifier is not compatible with a {bsontypes.type_name(arg)}. "
                "You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}",
            )
        self.ops: list[tuple[str, Any]] = []
        for bit_op, operand in arg.items():
            if bit_op not in ("and", "or", "xor"):
                raise _fail(
                    BAD_VALUE,
                    f"The $bit modifier only supports 'and', 'or', and 'xor', not '{bit_op}' which is an unknown "
                    f"operator: {{{_fmt_elem(bit_op, operand)}}}",
                )
            if _num_kind(operand) not in (_INT32, _INT64):
                raise _fail(
                    BAD_VALUE,
                    f"The $bit modifier field must be an Integer(32/64 bit); a '{bsontypes.type_name(operand)}' "
                    f"is not supported here: {{{_fmt_elem(bit_op, operand)}}}",
                )
            self.ops.append((bit_op, operand))
        if not self.ops:
            raise _fail(
                BAD_VALUE,
                "You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}",
            )

    def _compute(self, value: Any) -> Any:
        kind = _num_kind(value)
        n = int(value)
        for bit_op, operand in self.ops:
            if _num_kind(operand) == _INT64:
                kind = _INT64
            m = int(operand)
            n = n & m if bit_op == "and" else n | m if bit_op == "or" else n ^ m
        return n if kind == _INT32 else Int64(n)

    def update_existing(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple) -> bool:
        current = holder[key]
        if _num_kind(current) not in (_INT32, _INT64):
            raise _fail(
                BAD_VALUE,
                f"Cannot apply $bit to a value of non-integral type.{_id_elem(ctx.doc)} has the field "
                f"{taken[-1]} of non-integer type {bsontypes.type_name(current)}",
            )
        result = self._compute(current)
        if _num_identical(result, current):
            return False
        holder[key] = result
        return True

    def new_value(self, ctx: _Ctx) -> Any:
        return self._compute(0)


class _RenameLeaf(_Leaf):
    """$rename, at the destination path; the source holds a placeholder."""

    __slots__ = ("source", "source_parts", "dest", "spec")

    def __init__(self, op: str, name: str, arg: Any) -> None:
        self.op = op
        self.source = name
        self.source_parts = tuple(name.split("."))
        self.dest = arg
        self.spec = _fmt_elem(name, arg)
        dest_parts = tuple(arg.split("."))
        if "\0" in arg:
            raise _fail(BAD_VALUE, "The 'to' field for $rename cannot contain an embedded null byte")
        if self.source_parts == dest_parts:
            raise _fail(BAD_VALUE, f"The source and target field for $rename must differ: {self.spec}")
        shorter = min(len(self.source_parts), len(dest_parts))
        if self.source_parts[:shorter] == dest_parts[:shorter]:
            raise _fail(BAD_VALUE, f"The source and target field for $rename must not be on the same path: {self.spec}")
        if any(p == "$" or _is_array_filter_id(p) for p in self.source_parts):
            raise _fail(BAD_VALUE, f"The source field for $rename may not be dynamic: {name}")
        if any(p == "$" or _is_array_filter_id(p) for p in dest_parts):
            raise _fail(BAD_VALUE, f"The destination field for $rename may not be dynamic: {arg}")

    def apply(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple, to_create: tuple) -> None:
        found = self._find_source(ctx.doc)
        if found is None:
            return  # renaming a missing field is a no-op
        src_holder, src_key, src_chain = found
        for name, value in reversed(src_chain):  # nearest ancestor first
            if isinstance(value, list):
                raise _fail(
                    BAD_VALUE,
                    f"The source field cannot be an array element, '{self.source}' in doc with "
                    f"{_id_elem(ctx.doc, 'no id')} has an array field called '{name}'",
                )
        # The destination's existing ancestors must not be arrays either.
        chain = _ancestors(ctx.doc, taken if to_create else taken[:-1])
        for name, value in reversed(chain):
            if isinstance(value, list):
                raise _fail(
                    BAD_VALUE,
                    f"The destination field cannot be an array element, '{self.dest}' in doc with "
                    f"{_id_elem(ctx.doc, 'no id')} has an array field called '{name}'",
                )
        value = src_holder[src_key]
        # $set of the destination (always a change), then $unset of the source.
        if to_create:
            parent = holder[key]
            _create_path(parent, taken, to_create, value)
            _created(ctx, parent, taken, to_create)
        else:
            holder[key] = value
            _changed_existing(ctx, taken)
        _changed_existing(ctx, self.source_parts)
        del src_holder[src_key]

    def _find_source(self, doc: dict) -> tuple[Any, Any, list] | None:
        """Locate the source (findLongestPrefix); PathNotViable through scalars/arrays."""
        parts = self.source_parts
        cur: Any = doc
        chain: list[tuple[str, Any]] = []  # (name, value) of the source's ancestors
        prev_name = ""
        for i, part in enumerate(parts):
            if isinstance(cur, Mapping):
                if part not in cur:
                    return None
                holder, k = cur, part
            elif isinstance(cur, list):
                if not (part.isdigit() and part.isascii()):
                    raise self._not_viable(i, prev_name, cur)
                index = int(part)
                if index >= len(cur):
                    return None
                holder, k = cur, index
            else:
                raise self._not_viable(i, prev_name, cur)
            if i:
                chain.append((prev_name, cur))
            prev_name = part
            cur = holder[k]
        return holder, k, chain

    def _not_viable(self, i: int, prev_name: str, element: Any) -> ServerError:
        return _fail(
            PATH_NOT_VIABLE,
            f"cannot use the part ({self.source_parts[i - 1]} of {self.source}) to traverse the element "
            f"({{{_fmt_elem(prev_name, element)}}})",
        )


def _ancestors(doc: dict, parts: tuple) -> list[tuple[str, Any]]:
    """(name, value) of each existing element along ``parts`` (strict lookup)."""
    out = []
    cur: Any = doc
    for part in parts:
        found = _get_child(cur, part)
        if found is None:
            break
        cur = found[0][found[1]]
        out.append((part, cur))
    return out


class _PlaceholderLeaf(_Leaf):
    """The source path of a $rename: only reserves the path in the tree."""

    __slots__ = ()

    def __init__(self, op: str) -> None:
        self.op = op

    def apply(self, ctx: _Ctx, holder: Any, key: Any, taken: tuple, to_create: tuple) -> None:
        return None


# ===========================================================================
# Storage validation (storage_validation.cpp): top-level '$' fields.
# ===========================================================================


def _validate_dollar_field(items: list[tuple[str, Any]], i: int) -> None:
    """Reject a top-level ``$``-prefixed field unless it is part of a DBRef."""
    name = items[i][0]
    cur = i
    cur_name = name
    if cur_name == "$db":
        if type(items[cur][1]) is not str:
            raise _fail(_INVALID_DBREF, f"The DBRef $db field must be a String, not a {bsontypes.type_name(items[cur][1])}")
        cur -= 1
        if cur < 0 or items[cur][0] != "$id":
            raise _fail(_INVALID_DBREF, "Found $db field without a $id before it, which is invalid.")
        cur_name = "$id"
    if cur_name == "$id":
        cur -= 1
        if cur < 0 or items[cur][0] != "$ref":
            raise _fail(_INVALID_DBREF, "Found $id field without a $ref before it, which is invalid.")
        cur_name = "$ref"
    if cur_name == "$ref":
        if type(items[cur][1]) is not str:
            raise _fail(_INVALID_DBREF, f"The DBRef $ref field must be a String, not a {bsontypes.type_name(items[cur][1])}")
        if cur + 1 >= len(items) or items[cur + 1][0] != "$id":
            raise _fail(_INVALID_DBREF, "The DBRef $ref field must be followed by a $id field")
        return
    raise _fail(
        DOLLAR_PREFIXED_FIELD_NAME,
        f"The dollar ($) prefixed field '{name}' in '{name}' is not allowed in the context of an update's "
        "replacement document. Consider using an aggregation pipeline with $replaceWith.",
    )


def _validate_storage(doc: dict, allow_top_level_dollars: bool) -> None:
    """storage_validation::scanDocument for a whole new document."""
    items = None
    for name, value in doc.items():
        if name == "_id":
            _validate_id_value(value)
        elif name[:1] == "$" and not allow_top_level_dollars:
            if items is None:
                items = list(doc.items())
            _validate_dollar_field(items, [n for n, _ in items].index(name))


def _validate_id_value(value: Any) -> None:
    if isinstance(value, (list, tuple, Regex, re.Pattern)) or type(value).__name__ == "Undefined":
        raise _fail(_INVALID_ID_FIELD, f"The '_id' value cannot be of type {bsontypes.type_name(value)}")
    if isinstance(value, Mapping):
        for name in value:
            if name[:1] == "$" and name not in ("$ref", "$id", "$db"):
                raise _fail(
                    DOLLAR_PREFIXED_FIELD_NAME,
                    f"_id fields may not contain '$'-prefixed fields: {name} is not valid for storage.",
                )


def _id_first(doc: dict) -> None:
    """Move ``_id`` to the front (ensureIdFieldIsFirst)."""
    if "_id" in doc and next(iter(doc)) != "_id":
        rest = [(k, v) for k, v in doc.items() if k != "_id"]
        id_value = doc["_id"]
        doc.clear()
        doc["_id"] = id_value
        doc.update(rest)


def _finish_insert(doc: dict) -> None:
    """An upsert's new document: ``_id`` first (generated if absent), then validated."""
    if "_id" not in doc:
        rest = list(doc.items())
        doc.clear()
        doc["_id"] = ObjectId()
        doc.update(rest)
    else:
        _id_first(doc)
    _validate_storage(doc, allow_top_level_dollars=True)


# ===========================================================================
# Compiling operator documents.
# ===========================================================================

_SIMPLE_OPS: dict[str, type] = {
    "$set": _SetLeaf,
    "$setOnInsert": _SetOnInsertLeaf,
    "$unset": _UnsetLeaf,
    "$inc": _ArithmeticLeaf,
    "$mul": _ArithmeticLeaf,
    "$currentDate": _CurrentDateLeaf,
    "$pop": _PopLeaf,
    "$bit": _BitLeaf,
    "$rename": _RenameLeaf,
}
_KEYED_OPS: dict[str, type] = {
    "$min": _CompareLeaf,
    "$max": _CompareLeaf,
    "$push": _PushLeaf,
    "$addToSet": _AddToSetLeaf,
    "$pullAll": _PullAllLeaf,
}
_ALL_OPS = frozenset(_SIMPLE_OPS) | frozenset(_KEYED_OPS) | {"$pull"}


def _compile_filter(spec: dict, collation: Any, variables: Any) -> Callable[[Any], bool]:
    from . import filters  # lazily: filters imports the value layers below us

    kwargs: dict[str, Any] = {"collation": collation}
    if variables is not None:
        kwargs["variables"] = variables
    return filters.compile_filter(spec, **kwargs)


class _Compiler:
    """Builds the update tree of one operator document (UpdateObjectNode::parseAndMerge)."""

    def __init__(self, array_filters: dict, key: Callable, collation: Any, variables: Any) -> None:
        self.root = _ObjectNode()
        self.filters = array_filters
        self.key = key
        self.collation = collation
        self.variables = variables
        self.found_ids: set[str] = set()
        self.positional = False

    def make_leaf(self, op: str, name: str, arg: Any) -> _Leaf:
        cls = _SIMPLE_OPS.get(op)
        if cls is not None:
            return cls(op, name, arg)
        if op == "$pull":
            return _PullLeaf(op, name, arg, self.key, self.collation, self.variables)
        return _KEYED_OPS[op](op, name, arg, self.key)

    def add(self, op: str, name: str, arg: Any) -> None:
        if op == "$rename":
            self._merge_path(name, lambda: _PlaceholderLeaf("$rename"))
            if type(arg) is not str:
                raise _fail(BAD_VALUE, f"The 'to' field for $rename must be a string: {_fmt_elem(name, arg)}")
            self._merge_path(arg, lambda: self.make_leaf(op, name, arg))
        else:
            self._merge_path(name, lambda: self.make_leaf(op, name, arg))

    def _merge_path(self, path: str, make_leaf: Callable[[], _Leaf]) -> None:
        parts = _split_update_path(path)
        dollars = [i for i, p in enumerate(parts) if p == "$"]
        if len(dollars) > 1:
            raise _fail(BAD_VALUE, f"Too many positional (i.e. '$') elements found in path '{path}'")
        if dollars and dollars[0] == 0:
            raise _fail(BAD_VALUE, f"Cannot have positional (i.e. '$') element in the first position in path '{path}'")
        if dollars:
            self.positional = True
        leaf = make_leaf()  # operand validation precedes conflict detection
        current: Any = self.root
        last = len(parts) - 1
        for i, part in enumerate(parts):
            name = self._child_name(part, i, parts, path)
            child = current.get(name)
            if i == last:
                if child is not None:
                    raise _fail(
                        CONFLICTING_UPDATE_OPERATORS,
                        f"Updating the path '{path}' would create a conflict at '{path}'",
                    )
                current.set(name, leaf)
                return
            want_array = _is_array_filter_id(parts[i + 1])
            if child is None:
                child = _ArrayNode(self.filters) if want_array else _ObjectNode()
                current.set(name, child)
            elif (want_array and not isinstance(child, _ArrayNode)) or (
                not want_array and not isinstance(child, _ObjectNode)
            ):
                raise _fail(
                    CONFLICTING_UPDATE_OPERATORS,
                    f"Updating the path '{path}' would create a conflict at '{_dotted(parts[: i + 1])}'",
                )
            current = child

    def _child_name(self, part: str, i: int, parts: list, path: str) -> str:
        if not _is_array_filter_id(part):
            return part
        if i == 0:
            raise _fail(
                BAD_VALUE,
                f"Cannot have array filter identifier (i.e. '$[<id>]') element in the first position in path '{path}'",
            )
        identifier = part[2:-1]
        if identifier:
            if identifier not in self.filters:
                raise _fail(BAD_VALUE, f"No array filter found for identifier '{identifier}' in path '{path}'")
            self.found_ids.add(identifier)
        return identifier


def _placeholder_of(spec: Mapping) -> str | None:
    """The single top-level field name an array filter uses (its identifier)."""
    found: str | None = None
    for key, value in spec.items():
        if key in ("$and", "$or", "$nor") and isinstance(value, (list, tuple)):
            names = [_placeholder_of(v) for v in value if isinstance(v, Mapping)]
        elif key.startswith("$"):
            names = []
        else:
            names = [key.split(".", 1)[0]]
        for name in names:
            if name is None:
                continue
            if found is None:
                found = name
            elif found != name:
                raise _fail(
                    FAILED_TO_PARSE,
                    f"Error parsing array filter :: caused by :: Expected a single top-level field name, "
                    f"found '{found}' and '{name}'",
                )
    return found


_IDENTIFIER = re.compile(r"[a-z][a-zA-Z0-9]*\Z")


def _compile_array_filters(array_filters: Any, collation: Any, variables: Any) -> dict[str, Callable]:
    """Parse ``arrayFilters`` into identifier → element predicate."""
    out: dict[str, Callable] = {}
    for i, spec in enumerate(array_filters):
        if not isinstance(spec, Mapping):
            raise _fail(
                TYPE_MISMATCH,
                f"BSON field 'arrayFilters.{i}' is the wrong type '{bsontypes.type_name(spec)}', expected type 'object'",
            )
        try:
            matcher = _compile_filter(dict(spec), collation, variables)
        except ServerError as exc:
            raise ServerError(exc.code, f"Error parsing array filter :: caused by :: {exc.errmsg}") from None
        name = _placeholder_of(spec)
        if name is not None and not _IDENTIFIER.match(name):
            raise _fail(
                BAD_VALUE,
                "Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric "
                f"string beginning with a lowercase letter, found '{name}'",
            )
        if name is None:
            raise _fail(FAILED_TO_PARSE, "Cannot use an expression without a top-level field name in arrayFilters")
        if name in out:
            raise _fail(FAILED_TO_PARSE, f"Found multiple array filters with the same top-level field name {name}")

        def predicate(element: Any, _m: Callable = matcher, _name: str = name) -> bool:
            return bool(_m({_name: element}))

        out[name] = predicate
    return out


# ===========================================================================
# Updaters.
# ===========================================================================


class Updater:
    """A compiled update: ``apply(doc, position=None, is_insert=False) -> bool``.

    Attributes:
        spec: the update as given.
        needs_position: the update uses the positional ``$`` operator, so the
            caller must pass the matched array index (``Matcher.match_position``).
        is_pipeline / is_replacement: the update's style (the caller rejects
            ``multi`` replacements, as the server does).
    """

    __slots__ = ("spec", "needs_position", "is_pipeline", "is_replacement")

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.needs_position = False
        self.is_pipeline = False
        self.is_replacement = False

    def apply(self, doc: dict, *, position: int | None = None, is_insert: bool = False) -> bool:
        """Update ``doc`` in place; return whether it changed.

        ``doc`` must be a private copy: on :class:`ServerError` it may be left
        half-updated and the caller discards it.  With ``is_insert`` (the
        insert half of an upsert, ``doc`` being :func:`upsert_seed`'s result),
        ``$setOnInsert`` applies, ``_id`` is generated when absent and moved
        first, and the new document is validated for storage.
        """
        raise NotImplementedError


class _ModifierUpdater(Updater):
    __slots__ = ("_root", "_flat")

    def __init__(self, spec: Any, root: _ObjectNode, positional: bool) -> None:
        super().__init__(spec)
        self._root = root
        self.needs_position = positional
        # Fast path for the common case: only top-level fields, no positional
        # operator, so every leaf hangs directly off the document.
        if root.positional is None and all(isinstance(node, _Leaf) for _, node in root.ordered):
            self._flat: list | None = [(name, (name,), node) for name, node in root.ordered]
        else:
            self._flat = None

    def apply(self, doc: dict, *, position: int | None = None, is_insert: bool = False) -> bool:
        ctx = _Ctx(doc, None if position is None else str(position), is_insert)
        flat = self._flat
        if flat is not None:
            holder = (doc,)
            for name, path, leaf in flat:
                if name in doc:
                    leaf.apply(ctx, doc, name, path, ())
                else:
                    leaf.apply(ctx, holder, 0, (), path)
        else:
            self._root.apply(ctx, (doc,), 0, (), ())
        if is_insert:
            _finish_insert(doc)
            return True
        if ctx.changed:
            _id_first(doc)
        return ctx.changed


class _ReplacementUpdater(Updater):
    __slots__ = ("_raw", "_replacement")

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.is_replacement = True
        # Encoded as a top-level document, so a DBRef-shaped replacement
        # ({$ref, $id, ...}) stays a document when decoded.
        self._raw = bson.encode(spec, codec_options=_CODEC)
        self._replacement = bson.decode(self._raw, codec_options=_CODEC)

    def apply(self, doc: dict, *, position: int | None = None, is_insert: bool = False) -> bool:
        if not is_insert and _identical(doc, self._replacement):
            return False
        new = bson.decode(self._raw, codec_options=_CODEC)
        # Zero timestamps become the current time (except in _id).
        for name, value in new.items():
            if type(value) is Timestamp and value.time == 0 and value.inc == 0 and name != "_id":
                new[name] = next_timestamp()
        _replace_contents(doc, new, is_insert, allow_top_level_dollars=False)
        return True


def _replace_contents(doc: dict, new: dict, is_insert: bool, allow_top_level_dollars: bool) -> None:
    """Replace ``doc``'s fields by ``new``'s, keeping ``_id`` (ObjectReplaceExecutor).

    The old ``_id`` stays (first) when ``new`` has none; a different one is
    ImmutableField.  A stored document is validated here, an upsert's new
    document by :func:`_finish_insert`.
    """
    original_id = doc.get("_id", MISSING)
    doc.clear()
    if "_id" not in new and original_id is not MISSING:
        doc["_id"] = original_id
    doc.update(new)
    if not is_insert:
        _validate_storage(doc, allow_top_level_dollars)
    new_id = doc.get("_id", MISSING)
    if isinstance(new_id, list):
        raise _fail(
            _NOT_SINGLE_VALUE_FIELD,
            "After applying the update to the document, the (immutable) field '_id' was found to be an "
            "array or array descendant.",
        )
    if original_id is not MISSING and new_id is not MISSING and bsontypes.compare(new_id, original_id) != 0:
        raise _fail(
            IMMUTABLE_FIELD,
            "After applying the update, the (immutable) field '_id' was found to have been altered to "
            f"{_fmt_elem('_id', new_id)}",
        )
    if is_insert:
        _finish_insert(doc)
    else:
        _id_first(doc)


class _PipelineUpdater(Updater):
    """A pipeline-style update, run by the aggregation engine on one document."""

    __slots__ = ("_pipeline", "_collation", "_variables", "_aggregate")

    def __init__(self, spec: list, collation: Any, variables: Any) -> None:
        super().__init__(spec)
        self.is_pipeline = True
        from . import aggregate  # imported here: aggregate imports this module's neighbours

        self._aggregate = aggregate
        if collation is not None and isinstance(collation, Mapping):
            from .collation import parse_collation

            collation = parse_collation(collation)
        self._collation = collation
        self._variables = dict(variables or {})
        # Validates the stages (only $addFields/$set/$project/$unset/
        # $replaceRoot/$replaceWith) and every expression now.
        self._pipeline = aggregate.compile_pipeline(
            [dict(stage) if isinstance(stage, Mapping) else stage for stage in spec],
            variables=frozenset(self._variables),
            collation=collation,
            allowed=aggregate.UPDATE_STAGES,
        )

    def apply(self, doc: dict, *, position: int | None = None, is_insert: bool = False) -> bool:
        context = self._aggregate.PipelineContext(collation=self._collation, variables=self._variables)
        results = list(self._pipeline.run([bson.decode(bson.encode(doc, codec_options=_CODEC), codec_options=_CODEC)],
                                          context))
        result = results[0] if results else {}
        if not is_insert and _identical(doc, result):
            return False
        # The result replaces the document; top-level '$' names are allowed.
        _replace_contents(doc, result, is_insert, allow_top_level_dollars=True)
        return True


# ===========================================================================
# Public entry points.
# ===========================================================================

_CACHE: dict[Any, Updater] = {}
_CACHE_MAX = 1024
_cache_lock = threading.Lock()


_FREEZABLE = (str, int, float, bool, type(None))


def _freeze(value: Any) -> Any:
    """A hashable, type-exact image of a plain JSON-like value (fast path)."""
    t = type(value)
    if t is dict:
        return (dict, tuple((k, _freeze(v)) for k, v in value.items()))
    if t is list:
        return (list, tuple(_freeze(v) for v in value))
    if t in _FREEZABLE:
        return (t, value)
    raise TypeError  # anything else is keyed by its BSON bytes


def _cache_key(update: Any, array_filters: Any, collation: Any, variables: Any) -> Any:
    """An exact, hashable image of the arguments (None: do not cache)."""
    try:
        if collation is None or isinstance(collation, Mapping):
            coll = _freeze_or_encode(collation)
        else:
            hash(collation)  # a parsed (frozen) collation is its own key
            coll = collation
        return (
            _freeze_or_encode(update),
            _freeze_or_encode(array_filters),
            _freeze_or_encode(variables),
            coll,
        )
    except Exception:  # noqa: BLE001 - unencodable or unhashable: compile without caching
        return None


def _freeze_or_encode(value: Any) -> Any:
    try:
        return _freeze(value)
    except TypeError:
        return bson.encode({"v": value}, codec_options=_CODEC)


def compile_update(
    update: Any,
    *,
    array_filters: Any = None,
    collation: Any = None,
    variables: Any = None,
) -> Updater:
    """Compile an update document (operators), a replacement, or a pipeline.

    ``array_filters`` are the ``arrayFilters`` documents; ``collation`` a
    collation spec (or parsed collation) for string comparisons in ``$min``,
    ``$max``, ``$addToSet``, ``$pull``, ``$pullAll``, ``$push $sort`` and the
    array filters; ``variables`` the ``let`` constants (pipelines, filters).
    Every parse error is raised here as the server's ``ServerError``.
    Compiled updaters are cached by the exact (BSON-encoded) spec.

        >>> up = compile_update({"$push": {"s": {"$each": [3, 1], "$sort": 1}}})
        >>> d = {"_id": 1, "s": [2]}; up.apply(d); d
        True
        {'_id': 1, 's': [1, 2, 3]}

    Cost: O(size of the spec); ``apply`` is O(size of the touched paths).
    """
    key = _cache_key(update, array_filters, collation, variables)
    if key is not None:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
    updater = _compile_update(update, array_filters, collation, variables)
    if key is not None:
        with _cache_lock:
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.clear()
            _CACHE[key] = updater
    return updater


def _compile_update(update: Any, array_filters: Any, collation: Any, variables: Any) -> Updater:
    if isinstance(update, (list, tuple)):
        if array_filters is not None:
            raise _fail(FAILED_TO_PARSE, "arrayFilters may not be specified for pipeline-style updates")
        return _PipelineUpdater(list(update), collation, variables)
    if not isinstance(update, Mapping):
        raise _fail(FAILED_TO_PARSE, "Update argument must be either an object or an array")
    # Like the server, the first field decides: '$' means operators,
    # anything else (including an empty document) is a replacement.
    if not update or not next(iter(update)).startswith("$"):
        return _ReplacementUpdater(update)
    filters = _compile_array_filters(array_filters or [], collation, variables)
    compiler = _Compiler(filters, _make_key(collation), collation, variables)
    for op, operand in update.items():
        if op not in _ALL_OPS:
            raise _fail(
                FAILED_TO_PARSE,
                f"Unknown modifier: {op}. Expected a valid update modifier or pipeline-style update specified as an array",
            )
        if not isinstance(operand, Mapping):
            raise _fail(
                FAILED_TO_PARSE,
                f"Modifiers operate on fields but we found type {bsontypes.type_name(operand)} instead. "
                f"For example: {{$mod: {{<field>: ...}}}} not {{{_fmt_elem(op, operand)}}}",
            )
        for name, arg in operand.items():
            compiler.add(op, name, arg)
    for identifier in sorted(filters):
        if identifier not in compiler.found_ids:
            raise _fail(
                FAILED_TO_PARSE,
                f"The array filter for identifier '{identifier}' was not used in the update {_fmt_obj(update)}",
            )
    compiler.root.freeze()
    return _ModifierUpdater(update, compiler.root, compiler.positional)


def compile_replacement(doc: Mapping) -> Updater:
    """Compile a replacement document (the ``u`` of ``replaceOne``).

    The result's ``apply`` replaces the document's content, keeping ``_id``
    (first) when the replacement has none; a different ``_id`` is error 66.
    Top-level ``$`` fields are rejected when applied (code 52), as on a
    server; pymongo itself rejects a leading ``$`` key before sending.

        >>> d = {"_id": 7, "a": 1}
        >>> compile_replacement({"b": 2}).apply(d), d
        (True, {'_id': 7, 'b': 2})
    """
    if not isinstance(doc, Mapping):
        raise _fail(FAILED_TO_PARSE, "Update argument must be either an object or an array")
    return _ReplacementUpdater(doc)


def upsert_seed(filter_spec: Mapping, *, replacement: bool = False) -> dict:
    """The document an upsert starts from: the filter's equality fields.

    Equalities are ``{a: 1}``, ``{a: {$eq: 1}}``, a one-element ``$in``, each
    element of ``$all``, inside ``$and`` and one-branch ``$or``; dotted paths
    create embedded documents; other operators are ignored.  Paths are set in
    sorted order (the server's canonical order) and ``_id`` comes first.
    With ``replacement`` (a replacement-style upsert) only ``_id`` is taken.

        >>> upsert_seed({"b": 1, "a.x": {"$eq": 2}, "c": {"$gt": 3}, "_id": 9})
        {'_id': 9, 'a': {'x': 2}, 'b': 1}

    Errors: ``NotSingleValueField`` (54) when a path is matched twice or a
    path and its prefix are both matched; ``NotExactValueField`` (111) for a
    dotted ``_id`` path with ``replacement``.
    """
    found: list[tuple[str, Any]] = []
    _collect_equalities(filter_spec, found)
    if replacement:
        for path, _ in found:
            if path != "_id" and path.split(".", 1)[0] == "_id":
                raise _fail(
                    _NOT_EXACT_VALUE_FIELD,
                    f"field at '_id' must be exactly specified, field at sub-path '{path}'found",
                )
        found = [(path, value) for path, value in found if path == "_id"]
    found.sort(key=lambda pv: pv[0])
    seen: set[str] = set()
    for path, _ in found:
        parts = path.split(".")
        for i in range(len(parts), 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in seen:
                if i == len(parts):
                    msg = f"cannot infer query fields to set, path '{path}' is matched twice"
                else:
                    msg = f"cannot infer query fields to set, both paths '{path}' and '{prefix}' are matched"
                raise _fail(_NOT_SINGLE_VALUE_FIELD, msg)
        seen.add(path)
    doc: dict = {}
    for path, value in found:
        parts = path.split(".")
        cur = doc
        for part in parts[:-1]:
            nxt = cur.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                cur[part] = nxt
            cur = nxt
        cur[parts[-1]] = _Value(value).get()
    _id_first(doc)
    return doc


def _collect_equalities(spec: Any, out: list[tuple[str, Any]]) -> None:
    """Append the (path, value) equality predicates of a filter, like the server's
    ``extractEqualityMatches`` over the canonicalized query."""
    if not isinstance(spec, Mapping):
        return
    for key, value in spec.items():
        if key == "$and":
            if isinstance(value, (list, tuple)):
                for sub in value:
                    _collect_equalities(sub, out)
        elif key == "$or":
            # A one-branch $or is its branch; any other $or says nothing.
            if isinstance(value, (list, tuple)) and len(value) == 1:
                _collect_equalities(value[0], out)
        elif key.startswith("$"):
            continue
        elif isinstance(value, Mapping) and value and next(iter(value)).startswith("$") and next(iter(value)) not in (
            "$ref",
            "$id",
            "$db",
        ):
            for op, arg in value.items():
                if op == "$eq":
                    out.append((key, arg))
                elif op == "$in" and isinstance(arg, (list, tuple)) and len(arg) == 1 and not is_regex(arg[0]):
                    out.append((key, arg[0]))
                elif op == "$all" and isinstance(arg, (list, tuple)):
                    for item in arg:
                        if is_regex(item) or (
                            isinstance(item, Mapping) and item and next(iter(item)) == "$elemMatch"
                        ):
                            continue
                        out.append((key, item))
        elif is_regex(value):
            continue
        else:
            out.append((key, value))
