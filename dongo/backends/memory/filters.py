"""The query language: compile a filter document once, match many documents.

    >>> m = compile_filter({"qty": {"$gte": 20}, "tags": "red"})
    >>> m({"qty": 25, "tags": ["blue", "red"]}), m({"qty": 25, "tags": "blue"})
    (True, False)
    >>> compile_filter({"a.b": 5}).match_position({"a": [{"b": 1}, {"b": 5}]})
    (True, 1)

Compilation has two phases kept apart:

1. **parse** (``_parse_*``): validate the spec exactly where and how the
   server's ``MatchExpressionParser`` does (same codes and messages), and
   build a small tree of *operators* per path (:class:`_Leaf`, :class:`_Not`,
   :class:`_All`);
2. **build** (``_node_*``): turn that tree into closures. A path node pairs
   a single-value predicate (the server's ``matchesSingleElement``) with the
   array fan-out of :mod:`paths`.

Semantics follow the server's classic matcher:

* a predicate on ``"a.b"`` holds when it holds for *any* value the path
  reaches (implicit array traversal; a terminal array is tested element by
  element and as a whole), so ``$ne``/``$nin``/``$not`` are negations of the
  whole path predicate;
* comparisons only match values in the same canonical type bracket
  (numbers with numbers, strings with strings ...), except that ``null``
  also matches a missing field (for ``$eq``, ``$lte``, ``$gte``, ``$in``) and
  ``MinKey``/``MaxKey`` compare with everything;
* every value a matcher sees is a BSON value as decoded by ``bson``.

Every node also knows the *position* the positional ``$`` operator refers
to: the index, in the first array traversed, of the element that made the
predicate true (the server's ``MatchDetails::elemMatchKey``).
"""

from __future__ import annotations

import datetime
import math
import operator
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Callable, Iterable

from bson import Binary, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex

from . import bsontypes as _bt
from .bsontypes import MISSING, bson_type_number, is_number, is_regex, resolve_type
from .collation import Collation, parse_collation, sort_key_for
from .pcre import compile_pcre
from .errors import BAD_VALUE, FAILED_TO_PARSE, TYPE_MISMATCH, ServerError
from .paths import iter_path_positions, split_path_lenient

__all__ = ["Matcher", "compile_filter", "truthy"]

Pred = Callable[[Any], bool]
DocFn = Callable[[Any], bool]
PosFn = Callable[[Any], "tuple[bool, int | None]"]

_TOP_LEVEL_SUFFIX = (
    ". If you have a field name that starts with a '$' symbol, consider using $getField or $setField."
)

# Operators that take no path (the server's "pathless" parsers): at the top
# of a filter, or as the first key inside $elemMatch they select the
# object form.
_PATHLESS = frozenset(
    {
        "$and", "$or", "$nor", "$expr", "$where", "$text", "$comment", "$jsonSchema",
        "$alwaysTrue", "$alwaysFalse", "$sampleRate", "$atomic", "$isolated",
    }
)

_GEO = frozenset(
    {"$near", "$nearSphere", "$geoWithin", "$geoIntersects", "$within", "$geoNear"}
)

_PATH_OPERATORS = frozenset(
    {
        "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$not", "$exists",
        "$type", "$mod", "$regex", "$options", "$all", "$elemMatch", "$size",
        "$bitsAllSet", "$bitsAnySet", "$bitsAllClear", "$bitsAnyClear",
    }
) | _GEO

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


# ==========================================================================
# Small helpers
# ==========================================================================


def _err(msg: str, code: int = BAD_VALUE) -> ServerError:
    return ServerError(code, msg)


def _fmt(value: Any) -> str:
    """A value printed roughly as the server prints a BSON element value."""
    if isinstance(value, str) and not isinstance(value, _bt.Code):
        return '"' + value + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "nan.0"
        if value in (math.inf, -math.inf):
            return "inf.0" if value > 0 else "-inf.0"
        return repr(value)
    if isinstance(value, Decimal128):
        return f'NumberDecimal("{value}")'
    if isinstance(value, Int64):
        return f"{int(value)}"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[ " + ", ".join(_fmt(v) for v in value) + " ]"
    return str(value)


def truthy(value: Any) -> bool:
    """Aggregation truthiness: false, null, missing and numeric zero are false.

        >>> truthy(0.0), truthy(""), truthy([]), truthy(MISSING)
        (False, True, True, False)
    """
    if value is None or value is MISSING or value is False:
        return False
    if value is True:
        return True
    t = type(value)
    if t is int or t is float or t is Int64:
        return value != 0
    if t is Decimal128:
        return value.to_decimal() != 0
    return True


def _true_value(value: Any) -> bool:
    """BSONElement::trueValue, as ``$exists`` reads its argument."""
    return truthy(value)


def _is_array(v: Any) -> bool:
    t = type(v)
    return t is list or t is tuple


_SCALAR_TYPES = frozenset({int, str, float, bool, type(None), ObjectId, datetime.datetime, list})


def _is_expression_doc(value: Any, allow_incomplete_dbref: bool) -> bool:
    """The server's isExpressionDocument: a non-empty object whose first key is $-prefixed."""
    if type(value) is not dict and (type(value) in _SCALAR_TYPES
                                    or not isinstance(value, Mapping)):
        return False  # (scalars skip the abc check: this runs once per filter field)
    if not value:
        return False
    first = next(iter(value))
    if not isinstance(first, str) or not first.startswith("$"):
        return False
    keys = set(value)
    if allow_incomplete_dbref:
        is_dbref = bool(keys & {"$ref", "$id", "$db"})
    else:
        is_dbref = "$ref" in keys and "$id" in keys
    return not is_dbref


# ==========================================================================
# Regular expressions (PCRE spelled for Python's re)
# ==========================================================================

# MongoDB compiles patterns with PCRE2 (UTF, no UCP): ``pcre.compile_pcre``
# translates them for Python's ``re`` and raises the server's errors.


def _regex_pred(pattern: str, flags: str) -> Pred:
    """Matches strings by search, and stored regexes equal to this one."""
    compiled = compile_pcre(pattern, flags)
    search = compiled.search
    canonical_flags = "".join(sorted(set(flags)))

    def pred(v: Any) -> bool:
        if type(v) is str:
            return search(v) is not None
        if isinstance(v, (Regex, re.Pattern)):
            stored = _bt.sort_key(v)
            return stored[1] == pattern and "".join(sorted(stored[2])) == canonical_flags
        return False

    return pred


def _regex_value_parts(value: Any) -> tuple[str, str]:
    key = _bt.sort_key(value)  # (rank, pattern, flags) normalised by bsontypes
    return key[1], key[2]


# ==========================================================================
# Parsed operators (phase 1 output)
# ==========================================================================


class _Leaf:
    """A predicate on single values, with how the path's arrays feed it.

    ``traverse``: a terminal array is tested element by element and as a
    whole (most operators); otherwise only as a whole ($size, $elemMatch).
    ``pred_pos`` (optional) also returns the array index that matched
    ($elemMatch), for the positional operator.
    """

    __slots__ = ("pred", "traverse", "pred_pos", "bound")

    def __init__(self, pred: Pred, traverse: bool = True, pred_pos: Callable | None = None,
                 bound: tuple | None = None):
        self.pred = pred
        self.traverse = traverse
        self.pred_pos = pred_pos
        # (operator, number) for a plain numeric comparison, enabling range fast paths
        self.bound = bound


class _Not:
    """Negation of the conjunction of ``ops`` on the same path."""

    __slots__ = ("ops",)

    def __init__(self, ops: list):
        self.ops = ops


class _All:
    """Conjunction of ``ops`` on the same path ($all); empty never matches."""

    __slots__ = ("ops",)

    def __init__(self, ops: list):
        self.ops = ops


def _single(op: Any) -> Pred:
    """The op as a predicate on one value (``matchesSingleElement``)."""
    if isinstance(op, _Leaf):
        return op.pred
    preds = [_single(o) for o in op.ops]
    if isinstance(op, _Not):
        return lambda v: not all(p(v) for p in preds)
    if not preds:
        return lambda v: False
    return lambda v: all(p(v) for p in preds)


# ==========================================================================
# Phase 2: closures over documents
# ==========================================================================


class _Node:
    """A compiled predicate on a whole document and its positional variant."""

    __slots__ = ("fn", "pos")

    def __init__(self, fn: DocFn, pos: PosFn):
        self.fn = fn
        self.pos = pos


def _const(result: bool) -> _Node:
    answer = (result, None)
    return _Node(lambda doc: result, lambda doc: answer)


def _and(nodes: list[_Node]) -> _Node:
    if not nodes:
        return _const(True)
    if len(nodes) == 1:
        return nodes[0]
    fns = tuple(n.fn for n in nodes)
    poss = tuple(n.pos for n in nodes)
    if len(fns) == 2:
        f1, f2 = fns

        def fn(doc: Any) -> bool:
            return f1(doc) and f2(doc)

    else:

        def fn(doc: Any) -> bool:
            for f in fns:
                if not f(doc):
                    return False
            return True

    def pos(doc: Any) -> tuple[bool, int | None]:
        # The server keeps the array position recorded last.
        found = None
        for p in poss:
            ok, index = p(doc)
            if not ok:
                return False, None
            if index is not None:
                found = index
        return True, found

    return _Node(fn, pos)


def _or(nodes: list[_Node]) -> _Node:
    if len(nodes) == 1:
        return nodes[0]
    fns = tuple(n.fn for n in nodes)
    poss = tuple(n.pos for n in nodes)

    def fn(doc: Any) -> bool:
        for f in fns:
            if f(doc):
                return True
        return False

    def pos(doc: Any) -> tuple[bool, int | None]:
        for p in poss:
            ok, index = p(doc)
            if ok:
                return True, index
        return False, None

    return _Node(fn, pos)


def _not(node: _Node) -> _Node:
    f = node.fn

    def fn(doc: Any) -> bool:
        return not f(doc)

    return _Node(fn, lambda doc: (not f(doc), None))


def _path_node(parts: tuple[str, ...], leaf: _Leaf) -> _Node:
    """Apply a single-value predicate along a path with the query fan-out."""
    pred = leaf.pred
    traverse = leaf.traverse
    pred_pos = leaf.pred_pos

    def generic(doc: Any) -> bool:
        for value, _ in iter_path_positions(doc, parts, expand_arrays=traverse, fill_missing=False):
            if pred(value):
                return True
        return False

    if len(parts) == 1:
        field = parts[0]
        if traverse:

            def fn(doc: Any) -> bool:
                v = doc.get(field, MISSING)
                t = type(v)
                if t is list or t is tuple:
                    for e in v:
                        if pred(e):
                            return True
                return pred(v)

        else:

            def fn(doc: Any) -> bool:
                return pred(doc.get(field, MISSING))

    else:
        head = parts[:-1]
        last = parts[-1]

        def fn(doc: Any) -> bool:
            # Fast path while the path runs through plain sub-documents.
            cur = doc
            for p in head:
                if type(cur) is not dict:
                    return generic(doc)
                cur = cur.get(p, MISSING)
            if type(cur) is not dict:
                return generic(doc)
            v = cur.get(last, MISSING)
            if traverse:
                t = type(v)
                if t is list or t is tuple:
                    for e in v:
                        if pred(e):
                            return True
            return pred(v)

    def pos(doc: Any) -> tuple[bool, int | None]:
        for value, index in iter_path_positions(doc, parts, expand_arrays=traverse, fill_missing=False):
            if pred_pos is not None:
                ok, inner = pred_pos(value)
            else:
                ok, inner = pred(value), None
            if ok:
                return True, index if index is not None else inner
        return False, None

    return _Node(fn, pos)


def _op_node(parts: tuple[str, ...], op: Any) -> _Node:
    if isinstance(op, _Leaf):
        return _path_node(parts, op)
    if isinstance(op, _Not):
        return _not(_and([_op_node(parts, o) for o in op.ops]))
    if not op.ops:
        return _const(False)
    return _and([_op_node(parts, o) for o in op.ops])


# ==========================================================================
# Value predicates (matchesSingleElement) for each operator
# ==========================================================================

_FAST_EQ_TYPES = (int, str, bool, ObjectId)


class _Ctx:
    """What parsing needs besides the spec: collation key, variables, nesting."""

    __slots__ = ("key", "collation", "variables", "sub")

    def __init__(self, collation: Collation | None, variables: Mapping | None, sub: bool = False):
        self.collation = collation
        self.key = sort_key_for(collation)
        self.variables = variables
        self.sub = sub

    def nested(self) -> _Ctx:
        ctx = _Ctx.__new__(_Ctx)
        ctx.collation = self.collation
        ctx.key = self.key
        ctx.variables = self.variables
        ctx.sub = True
        return ctx


def _is_nan_key(k: tuple) -> bool:
    return k[0] == _bt.RANK_NUMBER and len(k) == 2


def _eq_pred(rhs: Any, ctx: _Ctx) -> Pred:
    """{$eq: rhs}: same canonical type and equal; null also matches missing."""
    if rhs is None:
        return lambda v: v is None or v is MISSING
    key = ctx.key
    rk = key(rhs)
    rank = rk[0]
    rt = type(rhs)
    if rt in _FAST_EQ_TYPES and (rt is not str or ctx.collation is None):

        def pred(v: Any) -> bool:
            t = type(v)
            if t is rt:
                return v == rhs
            if t is list:
                return False  # a scalar never equals a whole array (no key to build)
            return key(v) == rk

        return pred
    if rt is float and rhs == rhs:

        def pred(v: Any) -> bool:
            t = type(v)
            if t is float or t is int:
                return v == rhs
            if t is list:
                return False
            return key(v) == rk

        return pred
    rank_of = _bt.canonical_rank

    def pred(v: Any) -> bool:
        return rank_of(v) == rank and key(v) == rk

    return pred


_CMP_OPERATORS = {"$lt": operator.lt, "$lte": operator.le, "$gt": operator.gt, "$gte": operator.ge}



def _cmp_pred(op: str, rhs: Any, ctx: _Ctx) -> Pred:
    """$lt/$lte/$gt/$gte within the canonical type bracket of ``rhs``."""
    inclusive = op in ("$lte", "$gte")
    if rhs is None:
        # null only equals null (and missing); nothing is less or greater.
        if inclusive:
            return lambda v: v is None or v is MISSING
        return lambda v: False
    if isinstance(rhs, (MinKey, MaxKey)):
        rhs_is_max = isinstance(rhs, MaxKey)
        other_types = rhs_is_max if op in ("$lt", "$lte") else not rhs_is_max
        same_type = MaxKey if rhs_is_max else MinKey

        def pred(v: Any) -> bool:
            if isinstance(v, same_type):
                return inclusive
            return other_types

        return pred
    key = ctx.key
    rk = key(rhs)
    rank = rk[0]
    if _is_nan_key(rk):
        # NaN is only equal to NaN and never less or greater than anything.
        if inclusive:
            return lambda v: _bt.canonical_rank(v) == rank and _is_nan_key(key(v))
        return lambda v: False
    compare = _CMP_OPERATORS[op]  # C-level comparison of numbers, strings or key tuples
    if type(rhs) in (int, float, Int64):
        number = rhs

        def pred(v: Any) -> bool:
            t = type(v)
            if t is int or t is float:
                return compare(v, number)  # NaN compares false, as on the server
            k = key(v)
            if k[0] != rank or _is_nan_key(k):
                return False
            return compare(k, rk)

        return pred
    if type(rhs) is str and ctx.collation is None:
        text = rhs

        def pred(v: Any) -> bool:
            if type(v) is str:
                return compare(v, text)
            k = key(v)
            return k[0] == rank and compare(k, rk)

        return pred
    if type(rhs) is datetime.datetime and rhs.tzinfo is None:
        when = rhs  # naive = UTC, like the datetimes bson decodes by default

        def pred(v: Any) -> bool:
            if type(v) is datetime.datetime and v.tzinfo is None:
                return compare(v, when)
            k = key(v)
            return k[0] == rank and compare(k, rk)

        return pred

    def pred(v: Any) -> bool:
        k = key(v)
        if k[0] != rank or _is_nan_key(k):
            return False
        return compare(k, rk)

    return pred


def _in_pred(values: Iterable, ctx: _Ctx) -> Pred:
    """$in: equal to any listed value, or matching any listed regex."""
    key = ctx.key
    keys = set()
    regexes = []
    for value in values:
        if _is_expression_doc(value, False):
            raise _err("cannot nest $ under $in")
        if is_regex(value):
            regexes.append(_regex_pred(*_regex_value_parts(value)))
            continue
        keys.add(key(value))
        if value is None:
            keys.add(key(MISSING))
    if ctx.collation is None:
        return _plain_in_pred(keys, regexes, key)
    if not regexes:
        return lambda v: key(v) in keys

    def pred(v: Any) -> bool:
        if key(v) in keys:
            return True
        for r in regexes:
            if r(v):
                return True
        return False

    return pred


def _plain_in_pred(keys: set, regexes: list, key: Callable[[Any], tuple]) -> Pred:
    """$in without a collation: strings and non-NaN numbers are looked up as
    themselves (no key tuple built), and a whole array is only keyed when an
    array was listed.

    Exact because without a collation a string's key is ``(rank, s)`` and a
    non-NaN number's key is ``(rank, 1, n)`` with Python's exact cross-type
    numeric equality; bools are kept out of ``plain`` (``True == 1`` in
    Python, not in BSON).
    """
    plain = set()
    for k in keys:
        if (k[0] == _bt.RANK_NUMBER and len(k) == 3) or k[0] == _bt.RANK_STRING:
            plain.add(k[-1])
    arrays_listed = any(k[0] == _bt.RANK_ARRAY for k in keys)

    def pred(v: Any) -> bool:
        t = type(v)
        if t is str or t is int or (t is float and v == v):
            if v in plain:
                return True
            if t is not str:
                return False  # regexes only match strings (and symbols)
        elif t is list and not arrays_listed:
            return False  # neither a listed value nor a regex can match a whole array
        elif key(v) in keys:
            return True
        for r in regexes:
            if r(v):
                return True
        return False

    return pred


def _type_pred(spec: Any) -> Pred:
    numbers: set[int] = set()
    specs = spec if isinstance(spec, (list, tuple)) else [spec]
    if isinstance(spec, (list, tuple)) and not spec:
        raise _err("$type must match at least one type", FAILED_TO_PARSE)
    for item in specs:
        if isinstance(item, str):
            found = resolve_type(item)
            if found is None:
                raise _err(f"Unknown type name alias: {item}")
        elif is_number(item):
            found = resolve_type(item)
            if found is None:
                raise _err(f"Invalid numerical type code: {_fmt(item)}")
        else:
            raise _err("type must be represented as a number or a string", TYPE_MISMATCH)
        numbers |= found
    frozen = frozenset(numbers)

    def pred(v: Any) -> bool:
        if v is MISSING:
            return False
        return bson_type_number(v) in frozen

    return pred


def _to_int64_trunc(value: Any, what: str) -> int:
    """Truncate a numeric $mod argument the way the server coerces it."""
    if isinstance(value, Decimal128):
        d = value.to_decimal()
        if not d.is_finite():
            raise _err(f"malformed mod, {what} value is invalid :: caused by :: "
                       "Unable to coerce NaN/Inf to integral type")
        number = int(d)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _err(f"malformed mod, {what} value is invalid :: caused by :: "
                       "Unable to coerce NaN/Inf to integral type")
        number = int(value)
    else:
        number = int(value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise _err(f"malformed mod, {what} value is invalid :: caused by :: "
                   "Out of bounds coercing to integral value")
    return number


def _c_mod(a: int, d: int) -> int:
    """C++ ``%`` (sign follows the dividend)."""
    r = abs(a) % abs(d)
    return -r if a < 0 else r


def _mod_pred(spec: Any) -> Pred:
    if not isinstance(spec, (list, tuple)):
        raise _err("malformed mod, needs to be an array")
    if len(spec) < 2:
        raise _err("malformed mod, not enough elements")
    if len(spec) > 2:
        raise _err("malformed mod, too many elements")
    if not is_number(spec[0]):
        raise _err("malformed mod, divisor not a number")
    if not is_number(spec[1]):
        raise _err("malformed mod, remainder not a number")
    divisor = _to_int64_trunc(spec[0], "divisor")
    remainder = _to_int64_trunc(spec[1], "remainder")
    if divisor == 0:
        raise _err("divisor cannot be 0")

    def pred(v: Any) -> bool:
        t = type(v)
        if t is int or t is Int64:
            dividend = int(v)
        elif t is float:
            if not math.isfinite(v):
                return False
            dividend = int(v)
            if not _INT64_MIN <= dividend <= _INT64_MAX:
                return False
        elif t is Decimal128:
            d = v.to_decimal()
            if not d.is_finite():
                return False
            dividend = int(d)
            if not _INT64_MIN <= dividend <= _INT64_MAX:
                return False
        elif is_number(v):
            dividend = int(v)
        else:
            return False
        return _c_mod(dividend, divisor) == remainder

    return pred


def _size_pred(spec: Any) -> Pred:
    if isinstance(spec, bool) or not is_number(spec) or isinstance(spec, Decimal128):
        raise _err("$size needs a number")
    if isinstance(spec, float):
        if not math.isfinite(spec) or spec != int(spec):
            raise _err("$size must be a whole number")
        size = int(spec)
    else:
        size = int(spec)
        if not -(2**31) <= size < 2**31:
            raise _err("$size must be representable as a 32-bit integer")
    if size < 0:
        raise _err("$size may not be negative")
    return lambda v: _is_array(v) and len(v) == size


# --- bit tests --------------------------------------------------------------


def _parse_integer_arg(op: str, value: Any) -> int:
    """parseIntegerElementToNonNegativeLong (FailedToParse messages)."""
    elem = f"{op}: {_fmt(value)}"
    if isinstance(value, float):
        if value != value:
            raise _err(f"Expected an integer, but found NaN in: {elem}", FAILED_TO_PARSE)
        if value >= 2.0**63 or value < -(2.0**63):
            raise _err(f"Cannot represent as a 64-bit integer: {elem}", FAILED_TO_PARSE)
        if value != int(value):
            raise _err(f"Expected an integer: {elem}", FAILED_TO_PARSE)
        number = int(value)
    elif isinstance(value, Decimal128):
        d = value.to_decimal()
        if not d.is_finite() or d != d.to_integral_value() or not _INT64_MIN <= int(d) <= _INT64_MAX:
            raise _err(f"Cannot represent as a 64-bit integer: {elem}", FAILED_TO_PARSE)
        number = int(d)
    else:
        number = int(value)
    if number < 0:
        raise _err(f"Expected a positive number in: {elem}", FAILED_TO_PARSE)
    return number


def _bit_positions(op: str, path: str, spec: Any) -> list[int]:
    if isinstance(spec, (list, tuple)):
        positions = []
        for item in spec:
            elem = _fmt(item)
            if not is_number(item):
                raise _err(f"bit positions must be an integer but got: {elem}")
            if isinstance(item, float):
                if item != item:
                    raise _err(f"bit positions cannot take a NaN: {elem}")
                if item > 2**31 - 1 or item < -(2**31):
                    raise _err(f"bit positions cannot be represented as a 32-bit signed integer: {elem}")
                if item != int(item):
                    raise _err(f"bit positions must be an integer but got: {elem}")
            number = int(item.to_decimal()) if isinstance(item, Decimal128) else int(item)
            if not -(2**31) <= number < 2**31:
                raise _err(f"bit positions cannot be represented as a 32-bit signed integer: {elem}")
            if number < 0:
                raise _err(f"bit positions must be >= 0 but got: {elem}")
            positions.append(number)
        return positions
    if is_number(spec):
        mask = _parse_integer_arg(op, spec)
        return [i for i in range(mask.bit_length()) if mask >> i & 1]
    if isinstance(spec, (bytes, Binary)):
        data = bytes(spec)
        return [i for i in range(len(data) * 8) if data[i // 8] >> (i % 8) & 1]
    raise _err(f"{path} takes an Array, a number, or a BinData but received: {op}: {_fmt(spec)}")


def _bits_pred(op: str, path: str, spec: Any) -> Pred:
    positions = _bit_positions(op, path, spec)
    want_set = op in ("$bitsAllSet", "$bitsAnySet")
    need_all = op in ("$bitsAllSet", "$bitsAllClear")

    def bit_getter(v: Any) -> Callable[[int], bool] | None:
        t = type(v)
        if t is bool:
            return None
        if t is int or t is Int64:
            n = int(v)
        elif t is float:
            if not math.isfinite(v) or v != int(v):
                return None
            n = int(v)
        elif t is Decimal128:
            d = v.to_decimal()
            if not d.is_finite() or d != d.to_integral_value():
                return None
            n = int(d)
        elif isinstance(v, (bytes, Binary)):
            data = bytes(v)
            return lambda p: p < len(data) * 8 and bool(data[p // 8] >> (p % 8) & 1)
        else:
            return None
        if not _INT64_MIN <= n <= _INT64_MAX:
            return None
        # Two's complement, sign-extended beyond bit 63.
        return lambda p: bool(n >> p & 1) if p < 64 else n < 0

    def pred(v: Any) -> bool:
        bit = bit_getter(v)
        if bit is None:
            return False
        if need_all:
            return all(bit(p) == want_set for p in positions)
        return any(bit(p) == want_set for p in positions)

    return pred


# ==========================================================================
# Parsing (phase 1)
# ==========================================================================


def _parse_regex_operator(sub: Mapping) -> _Leaf:
    regex = sub.get("$regex")
    options = sub.get("$options", MISSING)
    if options is not MISSING and not isinstance(options, str):
        raise _err("$options has to be a string")
    if isinstance(regex, str) and not isinstance(regex, _bt.Code):
        pattern, flags = regex, ""
    elif is_regex(regex):
        pattern, flags = _regex_value_parts(regex)
        if options is not MISSING and flags.replace("u", ""):
            raise _err("options set in both $regex and $options", 51075)
    else:
        raise _err("$regex has to be a string")
    if options is not MISSING:
        flags = options
    return _Leaf(_regex_pred(pattern, flags))


def _parse_elem_match(path: str, spec: Any, ctx: _Ctx) -> _Leaf:
    if not isinstance(spec, Mapping):
        raise _err("$elemMatch needs an Object")
    nested = ctx.nested()
    if _is_expression_doc(spec, True) and next(iter(spec)) not in _PATHLESS:
        # Value form: every operator holds for one and the same element.
        preds = [_single(op) for op in _parse_operators(path, spec, nested)]

        def pred_pos(v: Any) -> tuple[bool, int | None]:
            if not _is_array(v):
                return False, None
            for index, element in enumerate(v):
                for p in preds:
                    if not p(element):
                        break
                else:
                    return True, index
            return False, None

    else:
        # Object form: a sub-filter over each document (or array) element.
        if "$where" in spec:
            raise _err("$elemMatch cannot contain $where expression")
        sub = _parse_document(spec, nested).fn

        def pred_pos(v: Any) -> tuple[bool, int | None]:
            if not _is_array(v):
                return False, None
            for index, element in enumerate(v):
                if isinstance(element, Mapping):
                    if sub(element):
                        return True, index
                elif _is_array(element):
                    if sub({str(i): e for i, e in enumerate(element)}):
                        return True, index
            return False, None

    return _Leaf(lambda v: pred_pos(v)[0], traverse=False, pred_pos=pred_pos)


def _parse_all(path: str, spec: Any, ctx: _Ctx) -> _All:
    if not isinstance(spec, (list, tuple)):
        raise _err("$all needs an array")
    first = spec[0] if spec else None
    if isinstance(first, Mapping) and first and next(iter(first)) == "$elemMatch":
        ops = []
        for item in spec:
            if not isinstance(item, Mapping) or not item or next(iter(item)) != "$elemMatch":
                raise _err("$all/$elemMatch has to be consistent")
            ops.append(_parse_elem_match(path, item["$elemMatch"], ctx))
        return _All(ops)
    ops = []
    for item in spec:
        if is_regex(item):
            ops.append(_Leaf(_regex_pred(*_regex_value_parts(item))))
        elif isinstance(item, Mapping) and item and next(iter(item)) in _PATH_OPERATORS:
            raise _err("no $ expressions in $all")
        else:
            ops.append(_Leaf(_eq_pred(item, ctx)))
    return _All(ops)


def _parse_not(path: str, spec: Any, ctx: _Ctx) -> _Not:
    if is_regex(spec):
        return _Not([_Leaf(_regex_pred(*_regex_value_parts(spec)))])
    if not isinstance(spec, Mapping):
        raise _err("$not needs a regex or a document")
    if not spec:
        raise _err("$not cannot be empty")
    return _Not(_parse_operators(path, spec, ctx))


def _parse_operators(path: str, sub: Mapping, ctx: _Ctx) -> list:
    """Parse ``{$gt: 1, $lt: 5, ...}`` applying to one path into operators."""
    ops: list = []
    regex_done = False
    if "$near" in sub or "$nearSphere" in sub or "$geoNear" in sub:
        raise NotImplementedError("geospatial query operators ($near) are not supported by the memory engine")
    for name, value in sub.items():
        if name == "$eq":
            ops.append(_Leaf(_eq_pred(value, ctx)))
        elif name in _CMP_OPERATORS:
            if is_regex(value):
                raise _err(f"Can't have RegEx as arg to predicate over field '{path}'.")
            numeric = type(value) in (int, float) and value == value
            ops.append(_Leaf(_cmp_pred(name, value, ctx), bound=(name, value) if numeric else None))
        elif name == "$ne":
            if is_regex(value):
                raise _err("Can't have regex as arg to $ne.")
            ops.append(_Not([_Leaf(_eq_pred(value, ctx))]))
        elif name == "$in" or name == "$nin":
            if not isinstance(value, (list, tuple)):
                raise _err(f"{name} needs an array")
            leaf = _Leaf(_in_pred(value, ctx))
            ops.append(leaf if name == "$in" else _Not([leaf]))
        elif name == "$not":
            ops.append(_parse_not(path, value, ctx))
        elif name == "$exists":
            leaf = _Leaf(lambda v: v is not MISSING, traverse=False)
            ops.append(leaf if _true_value(value) else _Not([leaf]))
        elif name == "$type":
            ops.append(_Leaf(_type_pred(value)))
        elif name == "$mod":
            ops.append(_Leaf(_mod_pred(value)))
        elif name == "$regex" or name == "$options":
            if "$regex" not in sub:
                raise _err("$options needs a $regex")
            if not regex_done:
                ops.append(_parse_regex_operator(sub))
                regex_done = True
        elif name == "$size":
            ops.append(_Leaf(_size_pred(value), traverse=False))
        elif name == "$all":
            ops.append(_parse_all(path, value, ctx))
        elif name == "$elemMatch":
            ops.append(_parse_elem_match(path, value, ctx))
        elif name in ("$bitsAllSet", "$bitsAnySet", "$bitsAllClear", "$bitsAnyClear"):
            ops.append(_Leaf(_bits_pred(name, path, value)))
        elif name in _GEO:
            raise NotImplementedError(
                f"geospatial query operators ({name}) are not supported by the memory engine"
            )
        elif name == "$where":
            raise _err("$where cannot be applied to a field")
        else:
            raise _err(f"unknown operator: {name}")
    return ops


def _parse_field(path: str, value: Any, ctx: _Ctx) -> _Node:
    parts = split_path_lenient(path)
    if _is_expression_doc(value, False):
        ops = _parse_operators(path, value, ctx)
        node = _and([_op_node(parts, op) for op in ops])
        if len(parts) == 1 and len(value) == 1 and ctx.collation is None:
            listed = value.get("$in")
            if type(listed) is list and listed and all(map(_is_plain_in_value, listed)):
                return _Node(_top_level_plain_in(parts[0], set(listed), ops[0].pred), node.pos)
        if len(parts) == 1 and len(ops) > 1 and all(isinstance(o, _Leaf) and o.traverse for o in ops):
            node = _Node(_same_field_conjunction(parts[0], ops), node.pos)
        return node
    if is_regex(value):
        return _path_node(parts, _Leaf(_regex_pred(*_regex_value_parts(value))))
    if len(parts) == 1 and type(value) in _FAST_EQ_TYPES and (type(value) is not str or ctx.collation is None):
        return _top_level_scalar_eq(parts[0], value, ctx)
    return _path_node(parts, _Leaf(_eq_pred(value, ctx)))


def _is_plain_in_value(value: Any) -> bool:
    """A ``$in`` value that Python's ``in`` over a set compares as BSON does: a
    string, an int (not a bool: ``True == 1`` in Python only) or a non-NaN float."""
    t = type(value)
    return t is str or t is int or (t is float and value == value)


def _top_level_plain_in(field: str, plain: set, pred: Pred) -> DocFn:
    """``{field: {$in: [strings and numbers]}}``: one dict lookup and set
    membership, element by element for an array, with no call per element
    unless an element has another type (``Int64``, ``Decimal128``, a bool,
    a document...: the general ``$in`` predicate decides those).

    Exact for the same reason as :func:`_plain_in_pred`; no listed value is an
    array, null or a regex, so neither a whole array nor a missing field matches.
    """
    def any_element(v: Any) -> bool:
        for e in v:
            te = type(e)
            if te is str or te is int or te is float:
                if e in plain:
                    return True
            elif pred(e):
                return True
        return False

    def fn(doc: Any) -> bool:
        v = doc.get(field, MISSING)
        t = type(v)
        if t is str or t is int or t is float:
            return v in plain  # a NaN is in no set of non-NaN values
        if t is list or t is tuple:
            return any_element(v)
        return pred(v)

    if not all(type(x) is str for x in plain):
        return fn
    isdisjoint = plain.isdisjoint

    def strings_fn(doc: Any) -> bool:
        # Only strings listed: an array sharing no hashable element with them
        # (``isdisjoint``, a C loop) cannot match -- only a str (or a str
        # subclass such as ``Code``, which the careful loop then rejects) equals
        # a str.  An unhashable element (a document) makes ``isdisjoint`` raise.
        v = doc.get(field, MISSING)
        t = type(v)
        if t is list:
            try:
                if isdisjoint(v):
                    return False
            except TypeError:
                pass
            return any_element(v)
        if t is str:
            return v in plain
        return fn(doc)

    return strings_fn


def _top_level_scalar_eq(field: str, rhs: Any, ctx: _Ctx) -> _Node:
    """``{field: scalar}``: one dict lookup and a same-type ``==`` in the common case."""
    pred = _eq_pred(rhs, ctx)
    rt = type(rhs)

    def fn(doc: Any) -> bool:
        v = doc.get(field, MISSING)
        t = type(v)
        if t is rt:
            return v == rhs
        if t is list or t is tuple:
            # a scalar never equals the whole array, only an element
            for e in v:
                if pred(e):
                    return True
            return False
        return pred(v)

    def pos(doc: Any) -> tuple[bool, int | None]:
        # What the general path node computes for a one-component path.
        v = doc.get(field, MISSING)
        if type(v) is list or type(v) is tuple:
            for i, e in enumerate(v):
                if pred(e):
                    return True, i
            return False, None
        return pred(v), None

    return _Node(fn, pos)


_RANGE_CHECKS: dict[tuple[str, ...], Callable[..., Callable[[Any], bool]]] = {
    ("$gt",): lambda lo: lambda v: v > lo,
    ("$gte",): lambda lo: lambda v: v >= lo,
    ("$lt",): lambda hi: lambda v: v < hi,
    ("$lte",): lambda hi: lambda v: v <= hi,
    ("$gt", "$lt"): lambda lo, hi: lambda v: lo < v < hi,
    ("$gt", "$lte"): lambda lo, hi: lambda v: lo < v <= hi,
    ("$gte", "$lt"): lambda lo, hi: lambda v: lo <= v < hi,
    ("$gte", "$lte"): lambda lo, hi: lambda v: lo <= v <= hi,
}


def _inline_range(field: str, pair: tuple, lo: Any, hi: Any, general: Pred) -> DocFn:
    """A two-sided numeric range on a top-level field with the comparison
    written inline (no predicate call per number); anything else: ``general``."""
    if pair == ("$gte", "$lt"):
        def fn(doc: Any) -> bool:
            v = doc.get(field, MISSING)
            t = type(v)
            return lo <= v < hi if t is int or t is float else general(v)
    elif pair == ("$gte", "$lte"):
        def fn(doc: Any) -> bool:
            v = doc.get(field, MISSING)
            t = type(v)
            return lo <= v <= hi if t is int or t is float else general(v)
    elif pair == ("$gt", "$lt"):
        def fn(doc: Any) -> bool:
            v = doc.get(field, MISSING)
            t = type(v)
            return lo < v < hi if t is int or t is float else general(v)
    else:
        def fn(doc: Any) -> bool:
            v = doc.get(field, MISSING)
            t = type(v)
            return lo < v <= hi if t is int or t is float else general(v)
    return fn


def _same_field_conjunction(field: str, leaves: list[_Leaf]) -> DocFn:
    """Several operators on one top-level field: one lookup for a non-array value.

    For an array each operator may be satisfied by a different element (the
    server evaluates them independently), so arrays take the general route.
    """
    preds = [leaf.pred for leaf in leaves]
    number_check = pair = None
    bounds = [leaf.bound for leaf in leaves]
    if all(b is not None for b in bounds) and len(bounds) == 2:
        lower = [b for b in bounds if b[0] in ("$gt", "$gte")]
        upper = [b for b in bounds if b[0] in ("$lt", "$lte")]
        if len(lower) == 1 and len(upper) == 1:
            pair = (lower[0][0], upper[0][0])
            make = _RANGE_CHECKS[pair]
            number_check = make(lower[0][1], upper[0][1])

    def general(v: Any) -> bool:
        t = type(v)
        if t is list or t is tuple:
            for p in preds:
                if not p(v) and not any(p(e) for e in v):
                    return False
            return True
        for p in preds:
            if not p(v):
                return False
        return True

    if number_check is None:
        return lambda doc: general(doc.get(field, MISSING))
    if pair is not None:
        return _inline_range(field, pair, lower[0][1], upper[0][1], general)

    def fn(doc: Any) -> bool:
        v = doc.get(field, MISSING)
        t = type(v)
        if t is int or t is float:
            return number_check(v)  # NaN fails every comparison, as on the server
        return general(v)

    return fn


def _parse_logical(name: str, value: Any, ctx: _Ctx) -> _Node:
    if not isinstance(value, (list, tuple)):
        raise _err(f"{name} must be an array")
    if not value:
        raise _err("$and/$or/$nor must be a nonempty array")
    children = []
    for entry in value:
        if not isinstance(entry, Mapping):
            raise _err("$or/$and/$nor entries need to be full objects")
        children.append(_parse_document(entry, ctx))
    if name == "$and":
        return _and(children)
    if name == "$or":
        return _or(children)
    return _not(_or(children))


def _parse_always(name: str, value: Any) -> _Node:
    if not is_number(value):
        raise _err(f"Expected a number in: {name}: {_fmt(value)}", FAILED_TO_PARSE)
    if _parse_integer_arg(name, value) != 1:
        raise _err(f"{name} must be an integer value of 1", FAILED_TO_PARSE)
    return _const(name == "$alwaysTrue")


def _parse_expr(value: Any, ctx: _Ctx) -> _Node:
    if ctx.sub:
        raise _err("$expr can only be applied to the top-level document")
    from .expressions import compile_expression  # lazy: owned by the aggregation module

    variables = dict(ctx.variables or {})
    # The operation's collation governs every string comparison the
    # expression makes, exactly as in the rest of the filter.
    evaluate = compile_expression(value, variables=frozenset(variables), collation=ctx.collation)

    def fn(doc: Any) -> bool:
        return truthy(evaluate(doc, variables))

    return _Node(fn, lambda doc: (fn(doc), None))


def _parse_pathless(name: str, value: Any, ctx: _Ctx) -> _Node | None:
    if name in ("$and", "$or", "$nor"):
        return _parse_logical(name, value, ctx)
    if name == "$comment":
        return None
    if name == "$expr":
        return _parse_expr(value, ctx)
    if name == "$jsonSchema":
        if not isinstance(value, Mapping):
            raise _err("$jsonSchema must be an object", TYPE_MISMATCH)
        check = _compile_schema(value)
        return _Node(check, lambda doc: (check(doc), None))
    if name in ("$alwaysTrue", "$alwaysFalse"):
        return _parse_always(name, value)
    if name == "$where":
        # What a mongod with JavaScript disabled answers (BadValue; 7.x servers
        # report it under code 6108304), plus what to do instead: never run JS.
        raise _err("no globalScriptEngine in $where parsing: the memory engine never runs "
                   "server-side JavaScript (like a mongod with JavaScript disabled); "
                   "use $expr instead")
    if name == "$text":
        if ctx.sub:
            raise _err("$text can only be applied to the top-level document")
        raise NotImplementedError("$text queries are not supported by the memory engine")
    if name == "$sampleRate":
        raise NotImplementedError("$sampleRate is not supported by the memory engine")
    if name == "$not":
        raise _err("unknown top level operator: $not. If you are trying to negate an entire "
                   "expression, use $nor.")
    raise _err(f"unknown top level operator: {name}{_TOP_LEVEL_SUFFIX}")


def _parse_document(spec: Mapping, ctx: _Ctx) -> _Node:
    nodes = []
    for name, value in spec.items():
        if isinstance(name, str) and name.startswith("$"):
            node = _parse_pathless(name, value, ctx)
            if node is not None:
                nodes.append(node)
        else:
            nodes.append(_parse_field(name, value, ctx))
    return _and(nodes)


# ==========================================================================
# $jsonSchema
# ==========================================================================

_JSON_TYPES = {
    "object": frozenset({3}),
    "array": frozenset({4}),
    "number": _bt.NUMBER_TYPES,
    "boolean": frozenset({8}),
    "string": frozenset({2}),
    "null": frozenset({10}),
}

_SCHEMA_IGNORED = frozenset({"title", "description", "$comment"})
_SCHEMA_UNSUPPORTED = frozenset({"$ref", "$schema", "default", "definitions", "format", "id"})


def _schema_err(msg: str) -> ServerError:
    return ServerError(FAILED_TO_PARSE, msg)


def _schema_types(keyword: str, spec: Any, bson: bool) -> frozenset[int]:
    items = spec if isinstance(spec, (list, tuple)) else [spec]
    if isinstance(spec, (list, tuple)) and not spec:
        raise _schema_err(f"$jsonSchema keyword '{keyword}' must name at least one type")
    numbers: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            raise _schema_err(f"$jsonSchema keyword '{keyword}' must be either a string or an array of strings")
        if bson:
            found = resolve_type(item)
            if found is None:
                raise _schema_err(f"Unknown type name alias: {item}")
        else:
            if item == "integer":
                raise _schema_err("$jsonSchema type 'integer' is not currently supported.")
            found = _JSON_TYPES.get(item)
            if found is None:
                raise _schema_err(f"Unknown type name alias: {item}")
        numbers |= found
    return frozenset(numbers)


def _schema_number(keyword: str, value: Any) -> Any:
    if not is_number(value):
        raise _schema_err(f"$jsonSchema keyword '{keyword}' must be a number")
    return value


def _schema_count(keyword: str, value: Any) -> int:
    if not is_number(value):
        raise _schema_err(f"$jsonSchema keyword '{keyword}' must be a number")
    number = _bt.to_python_number(value)
    if number != int(number) or number < 0:
        raise _schema_err(f"$jsonSchema keyword '{keyword}' must be a non-negative integer")
    return int(number)


def _schema_list(keyword: str, value: Any) -> list:
    if not isinstance(value, (list, tuple)) or not value:
        raise _schema_err(f"$jsonSchema keyword '{keyword}' must be a nonempty array")
    for item in value:
        if not isinstance(item, Mapping):
            raise _schema_err(f"$jsonSchema keyword '{keyword}' must be an array of objects")
    return list(value)


def _unordered_key(value: Any) -> tuple:
    """A sort key in which documents compare with their fields in name order."""

    def normalise(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {k: normalise(v[k]) for k in sorted(v)}
        if _is_array(v):
            return [normalise(e) for e in v]
        return v

    return _bt.sort_key(normalise(value))


def _compile_schema(schema: Mapping) -> Callable[[Any], bool]:
    """Compile one (sub)schema into a predicate on a value (documents included)."""
    if not isinstance(schema, Mapping):
        raise _schema_err("$jsonSchema must be an object")
    checks: list[Callable[[Any], bool]] = []
    if "type" in schema and "bsonType" in schema:
        raise _schema_err("Cannot specify both $jsonSchema keywords 'type' and 'bsonType'")
    key = _bt.sort_key
    for keyword, value in schema.items():
        if keyword in _SCHEMA_IGNORED:
            continue
        if keyword in _SCHEMA_UNSUPPORTED:
            raise _schema_err(f"$jsonSchema keyword '{keyword}' is not currently supported")
        if keyword in ("type", "bsonType"):
            types = _schema_types(keyword, value, keyword == "bsonType")
            checks.append(lambda v, types=types: bson_type_number(v) in types)
        elif keyword == "properties":
            if not isinstance(value, Mapping):
                raise _schema_err("$jsonSchema keyword 'properties' must be an object")
            props = [(name, _compile_schema(sub)) for name, sub in value.items()]

            def check(v: Any, props=props) -> bool:
                if not isinstance(v, Mapping):
                    return True
                for name, sub in props:
                    if name in v and not sub(v[name]):
                        return False
                return True

            checks.append(check)
        elif keyword == "required":
            if not isinstance(value, (list, tuple)) or not value:
                raise _schema_err("$jsonSchema keyword 'required' must be a nonempty array")
            if not all(isinstance(n, str) for n in value):
                raise _schema_err("$jsonSchema keyword 'required' must be an array of strings")
            if len(set(value)) != len(value):
                raise _schema_err("$jsonSchema keyword 'required' array must not contain duplicate values")
            names = tuple(value)
            checks.append(lambda v, names=names: not isinstance(v, Mapping) or all(n in v for n in names))
        elif keyword in ("minimum", "maximum"):
            bound = key(_schema_number(keyword, value))
            exclusive = bool(schema.get("exclusiveMinimum" if keyword == "minimum" else "exclusiveMaximum"))
            low = keyword == "minimum"

            def check(v: Any, bound=bound, exclusive=exclusive, low=low) -> bool:
                if not is_number(v):
                    return True
                k = key(v)
                if _is_nan_key(k) or _is_nan_key(bound):
                    return False
                if low:
                    return k > bound if exclusive else k >= bound
                return k < bound if exclusive else k <= bound

            checks.append(check)
        elif keyword in ("exclusiveMinimum", "exclusiveMaximum"):
            if not isinstance(value, bool):
                raise _schema_err(f"$jsonSchema keyword '{keyword}' must be a boolean")
            partner = "minimum" if keyword == "exclusiveMinimum" else "maximum"
            if partner not in schema:
                raise _schema_err(f"$jsonSchema keyword '{partner}' must be a present if {keyword} is present")
        elif keyword == "multipleOf":
            divisor = _bt.to_python_number(_schema_number(keyword, value))
            if divisor <= 0:
                raise _schema_err("$jsonSchema keyword 'multipleOf' must have a positive value")
            divisor = Decimal(str(divisor)) if isinstance(divisor, float) else Decimal(divisor)

            def check(v: Any, divisor=divisor) -> bool:
                if not is_number(v):
                    return True
                number = _bt.to_python_number(v)
                if isinstance(number, float):
                    if not math.isfinite(number):
                        return False
                    number = Decimal(str(number))
                return Decimal(number) % divisor == 0

            checks.append(check)
        elif keyword in ("minLength", "maxLength"):
            n = _schema_count(keyword, value)
            low = keyword == "minLength"
            checks.append(
                lambda v, n=n, low=low: type(v) is not str or (len(v) >= n if low else len(v) <= n)
            )
        elif keyword == "pattern":
            if not isinstance(value, str):
                raise _schema_err("$jsonSchema keyword 'pattern' must be a string")
            search = compile_pcre(value, "").search
            checks.append(lambda v, search=search: type(v) is not str or search(v) is not None)
        elif keyword == "enum":
            if not isinstance(value, (list, tuple)) or not value:
                raise _schema_err("$jsonSchema keyword 'enum' must be a nonempty array")
            # the server compares enum members ignoring the order of object fields
            allowed = {_unordered_key(x) for x in value}
            checks.append(lambda v, allowed=allowed: _unordered_key(v) in allowed)
        elif keyword == "items":
            if isinstance(value, Mapping):
                each = _compile_schema(value)
                checks.append(lambda v, each=each: not _is_array(v) or all(each(e) for e in v))
            elif isinstance(value, (list, tuple)):
                positional = [_compile_schema(s) for s in _schema_list(keyword, value)]
                extra = schema.get("additionalItems", True)
                if isinstance(extra, bool):
                    extra_check: Callable[[Any], bool] = (lambda e: True) if extra else (lambda e: False)
                elif isinstance(extra, Mapping):
                    extra_check = _compile_schema(extra)
                else:
                    raise _schema_err("$jsonSchema keyword 'additionalItems' must be either an object or a boolean")

                def check(v: Any, positional=positional, extra_check=extra_check) -> bool:
                    if not _is_array(v):
                        return True
                    for i, element in enumerate(v):
                        if i < len(positional):
                            if not positional[i](element):
                                return False
                        elif not extra_check(element):
                            return False
                    return True

                checks.append(check)
            else:
                raise _schema_err("$jsonSchema keyword 'items' must be an array or an object")
        elif keyword == "additionalItems":
            continue  # handled with items (ignored without an items array)
        elif keyword in ("minItems", "maxItems"):
            n = _schema_count(keyword, value)
            low = keyword == "minItems"
            checks.append(lambda v, n=n, low=low: not _is_array(v) or (len(v) >= n if low else len(v) <= n))
        elif keyword == "uniqueItems":
            if not isinstance(value, bool):
                raise _schema_err("$jsonSchema keyword 'uniqueItems' must be a boolean")
            if value:
                checks.append(lambda v: not _is_array(v) or len({key(e) for e in v}) == len(v))
        elif keyword in ("minProperties", "maxProperties"):
            n = _schema_count(keyword, value)
            low = keyword == "minProperties"
            checks.append(
                lambda v, n=n, low=low: not isinstance(v, Mapping) or (len(v) >= n if low else len(v) <= n)
            )
        elif keyword == "additionalProperties":
            declared = set(schema.get("properties", {}) or {})
            patterns = [
                (compile_pcre(p, "").search, _compile_schema(s))
                for p, s in (schema.get("patternProperties") or {}).items()
            ]
            if isinstance(value, bool):
                other: Callable[[Any], bool] = (lambda e: True) if value else (lambda e: False)
            elif isinstance(value, Mapping):
                other = _compile_schema(value)
            else:
                raise _schema_err(
                    "$jsonSchema keyword 'additionalProperties' must be either an object or a boolean"
                )

            def check(v: Any, declared=declared, patterns=patterns, other=other) -> bool:
                if not isinstance(v, Mapping):
                    return True
                for name, item in v.items():
                    if name in declared:
                        continue
                    matched = False
                    for search, _ in patterns:
                        if search(name):
                            matched = True
                    if not matched and not other(item):
                        return False
                return True

            checks.append(check)
        elif keyword == "patternProperties":
            if not isinstance(value, Mapping):
                raise _schema_err("$jsonSchema keyword 'patternProperties' must be an object")
            patterns = [(compile_pcre(p, "").search, _compile_schema(s)) for p, s in value.items()]

            def check(v: Any, patterns=patterns) -> bool:
                if not isinstance(v, Mapping):
                    return True
                for name, item in v.items():
                    for search, sub in patterns:
                        if search(name) and not sub(item):
                            return False
                return True

            checks.append(check)
        elif keyword == "dependencies":
            if not isinstance(value, Mapping):
                raise _schema_err("$jsonSchema keyword 'dependencies' must be an object")
            deps = []
            for name, dep in value.items():
                if isinstance(dep, Mapping):
                    deps.append((name, _compile_schema(dep), None))
                elif isinstance(dep, (list, tuple)) and dep and all(isinstance(d, str) for d in dep):
                    deps.append((name, None, tuple(dep)))
                else:
                    raise _schema_err(
                        "property '" + name + "' in $jsonSchema keyword 'dependencies' "
                        "must be either an object or an array of strings"
                    )

            def check(v: Any, deps=deps) -> bool:
                if not isinstance(v, Mapping):
                    return True
                for name, sub, names in deps:
                    if name not in v:
                        continue
                    if sub is not None and not sub(v):
                        return False
                    if names is not None and not all(n in v for n in names):
                        return False
                return True

            checks.append(check)
        elif keyword in ("allOf", "anyOf", "oneOf"):
            subs = [_compile_schema(s) for s in _schema_list(keyword, value)]
            if keyword == "allOf":
                checks.append(lambda v, subs=subs: all(s(v) for s in subs))
            elif keyword == "anyOf":
                checks.append(lambda v, subs=subs: any(s(v) for s in subs))
            else:
                checks.append(lambda v, subs=subs: sum(1 for s in subs if s(v)) == 1)
        elif keyword == "not":
            if not isinstance(value, Mapping):
                raise _schema_err("$jsonSchema keyword 'not' must be an object")
            sub = _compile_schema(value)
            checks.append(lambda v, sub=sub: not sub(v))
        elif keyword in ("encrypt", "encryptMetadata"):
            raise NotImplementedError(f"$jsonSchema keyword '{keyword}' is not supported by the memory engine")
        else:
            raise _schema_err(f"Unknown $jsonSchema keyword: {keyword}")

    if not checks:
        return lambda v: True

    def validate(v: Any) -> bool:
        for c in checks:
            if not c(v):
                return False
        return True

    return validate


# ==========================================================================
# Public API
# ==========================================================================


class Matcher:
    """A compiled filter: ``matcher(doc) -> bool``.

    ``match_position(doc)`` also returns the index of the array element that
    made the match (what ``$`` refers to in updates and projections), or
    ``None`` when no array was traversed.  ``fn`` is the bare predicate
    closure: loops over many documents should call it (``filter(matcher.fn,
    docs)``) rather than the matcher, which may add a Python frame per call.
    ``collation`` is the parsed collation the filter was compiled with (None
    for binary comparison): the rest of the query (a find projection's
    expressions, say) follows the same one.

    ``eq`` is ``(field, value)`` when the whole filter is ``{field: value}``
    on a top-level field with an int, str, bool or ObjectId value compared
    binarily, else None. A scan may then inline the test: a stored value of
    exactly ``type(value)`` matches iff it ``== value``; any other value is
    decided by ``fn`` (arrays, other numeric types...).
    """

    __slots__ = ("spec", "fn", "_pos", "is_empty", "collation", "eq")

    def __init__(self, spec: Mapping, node: _Node, collation: Collation | None = None):
        self.spec = spec
        self.fn = node.fn
        self._pos = node.pos
        self.is_empty = not spec
        self.collation = collation
        self.eq = _scalar_equality(spec, collation)

    def __call__(self, doc: Any) -> bool:
        return self.fn(doc)

    def match_position(self, doc: Any) -> tuple[bool, int | None]:
        """``(matches, position)`` — see the class docstring."""
        return self._pos(doc)

    def __repr__(self) -> str:
        return f"Matcher({self.spec!r})"


def _scalar_equality(spec: Mapping, collation: Collation | None) -> tuple | None:
    """``Matcher.eq``: the filter's ``(field, value)`` when it is one top-level
    equality that :func:`_top_level_scalar_eq` compiles, else None."""
    if type(spec) is not dict or len(spec) != 1:
        return None
    (field, value), = spec.items()
    t = type(value)
    if "." in field or field.startswith("$") or t not in _FAST_EQ_TYPES \
            or (t is str and collation is not None):
        return None
    return field, value


def _make_matcher(spec: Mapping, node: _Node, collation: Collation | None) -> Matcher:
    """A Matcher whose ``__call__`` *is* the compiled closure.

    Python looks special methods up on the type, so a per-matcher subclass
    with ``__call__ = staticmethod(fn)`` saves the extra frame of
    ``Matcher.__call__`` on every document (about 20% of a simple scan).
    """
    cls = type("Matcher", (Matcher,), {"__slots__": (), "__call__": staticmethod(node.fn)})
    return cls(spec, node, collation)


class _Unfreezable(Exception):
    pass


_FREEZE_LIMIT = 2000


def _freeze(value: Any, budget: list[int]) -> Any:
    """A hashable, type-exact image of a spec for the compile cache."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _Unfreezable
    t = type(value)
    if t is dict or isinstance(value, Mapping):
        return ("d", tuple((k, _freeze(v, budget)) for k, v in value.items()))
    if t is list or t is tuple:
        return ("l", tuple(_freeze(v, budget) for v in value))
    if t is float and value != value:
        raise _Unfreezable
    if isinstance(value, (Regex, re.Pattern)):
        return (t, _bt.sort_key(value))
    try:
        hash(value)
    except TypeError:
        raise _Unfreezable from None
    return (t, value)


_CACHE: dict = {}
_CACHE_MAX = 1024

# Filters of these shapes are cheap to parse, so they skip the cache (whose
# key costs about as much as the parse) and the per-matcher class of
# :func:`_make_matcher`: a lookup by a value never seen before -- the
# commonest query -- then costs a few microseconds.  Everything is parsed
# (and validated) by the same code as any other filter.
_SIMPLE_OPERATORS = frozenset({"$eq", "$gt", "$gte", "$lt", "$lte", "$ne", "$in", "$nin"})
_SIMPLE_VALUES = frozenset({int, str, float, bool, type(None), ObjectId, datetime.datetime})
_PLAIN_CTX = _Ctx(None, None)


def _is_simple(spec: Any) -> bool:
    """A few fields, each ``{path: scalar}`` or ``{path: {$cmp/$in...: scalar(s)}}``."""
    if type(spec) is not dict or len(spec) > 4:
        return False
    for key, value in spec.items():
        if type(key) is not str or key[:1] == "$":
            return False
        kind = type(value)
        if kind in _SIMPLE_VALUES:
            continue
        if kind is not dict or not value:
            return False
        for name, arg in value.items():
            if name not in _SIMPLE_OPERATORS:
                return False
            if type(arg) is list:
                if len(arg) > 16 or not all(type(a) in _SIMPLE_VALUES for a in arg):
                    return False
            elif type(arg) not in _SIMPLE_VALUES:
                return False
    return True


def compile_filter(spec: Any, *, collation: Any = None, variables: Mapping | None = None) -> Matcher:
    """Compile a query filter into a :class:`Matcher`, validating it now.

        >>> compile_filter({"a": {"$in": [1, None]}})({})
        True
        >>> compile_filter({"a": {"$foo": 1}})
        Traceback (most recent call last):
        ...
        dongo.backends.memory.errors.ServerError: unknown operator: $foo (BadValue, code 2)

    ``collation`` (a spec or a parsed :class:`Collation`) applies to string
    comparisons; ``variables`` are the ``let`` values ``$expr`` sees.
    Compiled matchers are cached by a frozen image of the spec.
    Cost: O(size of spec); matching costs O(size of the paths touched).
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise _err("filter must be an object", TYPE_MISMATCH)
    if collation is None and variables is None and _is_simple(spec):
        return Matcher(spec, _parse_document(spec, _PLAIN_CTX))
    parsed_collation = parse_collation(collation)
    cache_key = None
    if variables is None:
        try:
            cache_key = (_freeze(spec, [_FREEZE_LIMIT]), parsed_collation)
        except _Unfreezable:
            cache_key = None
        if cache_key is not None:
            cached = _CACHE.get(cache_key)
            if cached is not None:
                return cached
    node = _parse_document(spec, _Ctx(parsed_collation, variables))
    matcher = _make_matcher(spec, node, parsed_collation)
    if cache_key is not None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[cache_key] = matcher
    return matcher
