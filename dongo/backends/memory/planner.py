"""The query planner: which index (if any) narrows a query, and in what order.

:func:`plan` turns a filter (plus sort, hint, collation) into a :class:`Plan`:

* ``plan.candidates()`` yields record ids to examine, in order. It is
  **always a superset** of the matching documents (the collection applies
  the compiled filter to every candidate), so correctness never depends on
  an index; an index only avoids touching unrelated documents. It is lazy:
  materialise it (``plan.record_ids``) before writing to the collection.
* ``plan.provides_sort`` — the candidates already come in the requested sort
  order, so the caller can stop after ``skip + limit`` matches.
* ``plan.exact`` — the candidates are exactly the matches (a conjunction
  of equality, ``$in`` and range predicates on plain scalars, all bounded
  by a non-multikey index; ``_id`` equality; an empty filter), so the
  caller may skip the matcher;
* ``plan.count()`` — how many candidates, without touching a document
  (O(log n) for a scan of a non-multikey index): with ``exact``, what
  ``count_documents`` returns.
* ``plan.explain()`` — the ``queryPlanner`` document (``winningPlan`` with
  ``IDHACK``, ``FETCH``/``IXSCAN`` with ``indexBounds``,
  ``SUBPLAN``/``FETCH``/``OR``, or ``COLLSCAN``; ``SORT`` on top when the
  order is not provided); ``plan.winning_plan`` is its ``winningPlan``.

Which predicates use an index (as the server's bounds builder): top-level
and ``$and`` conjuncts on indexed paths — equality (``{a: 5}``, ``$eq``),
``$in``, ``$all`` and the ranges ``$gt/$gte/$lt/$lte`` restricted to the
operand's type bracket (``{$gt: 5}`` scans numbers only). ``{a: null}``
scans ``null`` (missing fields are indexed as null); an array operand scans
its first element and the array itself. A regex scans the string bracket
plus the regex value itself, narrowed to ``["abc", "abd")`` for an anchored
literal prefix ``/^abc/`` without ``i``/``m``/``x`` flags. ``$elemMatch``
contributes its sub-conditions (value form: one intersected interval list;
object form: conditions on ``path.sub``). A top-level ``$or`` whose every
clause can use an index becomes an index union (``OR`` stage). Bounds of
several predicates on one field are intersected unless the field is
multikey (then one predicate's bounds are used, as the server does), and
two fields that lie below the same array are never both bounded.
Negations, ``$exists``, ``$type``, ``$expr`` and friends leave a field
unconstrained (the matcher still applies them).

Choosing: ``_id`` equality (``IDHACK``), else the usable index with the
fewest entries inside its bounds (counted in O(1) per point key from the
index's hash buckets, O(log n) per interval by bisection), ties going to
more constrained fields then to an index that provides the sort; the
estimate is skipped when only one index is usable. With a sort and a
limit, a full scan of an index that yields the sort order beats an
unselective filter index when ``limit * n / estimate < estimate``. With a
sort and no filter index, such an index is scanned in full. A
``{$natural: ±1}`` sort is a collection scan in that direction. Sparse
indexes are used only when the bounds exclude null; partial indexes only
when the query implies the filter expression (a conservative check: each
conjunct of the partial filter must follow from one conjunct of the query);
hidden indexes never; string bounds only when the query's collation is the
index's (a collated index keys strings by collation key; regex bounds need
a binary index). ``hint`` (an index name or key pattern) forces an index —
a sparse one then returns only indexed documents, exactly like the server;
a partial one the query does not imply is an error — and ``{$natural:
±1}`` forces a collection scan forwards or backwards.

A plan resolves its bounds when it runs, against the indexes' multikey
state at that moment, so it stays a superset even if a write made an index
multikey after planning.

Complexity: planning is O(#indexes * #intervals * log n); an equality scan
is O(log n + k) for k matching entries.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Mapping
from typing import Any, Iterator

from bson import SON, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex

from .bsontypes import (
    MISSING,
    NUMBER_TYPES,
    is_regex,
    RANK_BOOL,
    RANK_DATE,
    RANK_NUMBER,
    RANK_OBJECT,
    RANK_OBJECTID,
    RANK_STRING,
    RANK_TIMESTAMP,
    bson_equal,
    bson_type_number,
    is_number,
    resolve_type,
    sort_key,
)
from .errors import BAD_VALUE, ServerError
from .indexes import (
    BOTTOM,
    NULL_KEY,
    TOP,
    UNDEFINED_KEY,
    Desc,
    Index,
    _canonical,
    _normalize_keys,
    _truthy,
    format_value,
)

__all__ = ["Plan", "exact_lookup", "plan"]

# A limit on the number of bound combinations of a compound scan; beyond
# it, later fields are left unconstrained (still a superset).
_MAX_COMBINATIONS = 4096

# --------------------------------------------------------------------------
# Bounds: a Bound is (key, inclusive, text, text_inclusive); an Interval is
# (low Bound, high Bound) in value order. ``text`` is how explain shows it.
# --------------------------------------------------------------------------

# The index key of every NaN (float or Decimal128, either sign): one value,
# below -inf (see bsontypes.sort_key).
_NAN_KEY = sort_key(float("nan"))

_FULL = ((BOTTOM, True, "MinKey", True), (TOP, True, "MaxKey", True))

# How the server prints the ends of a type bracket: (low, low incl., high, high incl.).
_BRACKET_TEXT = {
    RANK_NUMBER: ("-inf.0", True, "inf.0", True),
    RANK_STRING: ('""', True, "{}", False),
    RANK_OBJECT: ("{}", True, "[]", False),
    RANK_OBJECTID: ("ObjectId('000000000000000000000000')", True,
                    "ObjectId('ffffffffffffffffffffffff')", True),
    RANK_BOOL: ("false", True, "true", True),
    RANK_DATE: ("new Date(-9223372036854775808)", True, "new Date(9223372036854775807)", True),
    RANK_TIMESTAMP: ("Timestamp(0, 0)", True, "Timestamp(4294967295, 4294967295)", True),
}


class _Shown:
    """A bound's value, formatted only when explain asks (planning stays cheap)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return format_value(self.value)


def _point(key: Any, text: Any) -> tuple:
    bound = (key, True, text, True)
    return (bound, bound)


_SCALAR_TYPES = frozenset({int, float, str, bool, type(None), bytes})


def _is_operator_doc(v: Any) -> bool:
    t = type(v)
    if t in _SCALAR_TYPES:
        return False
    return (t is dict or isinstance(v, Mapping)) and bool(v) and next(iter(v)).startswith("$")


def _eq_intervals(value: Any, key: Any = sort_key) -> list | None:
    """Point intervals that contain every index key of a document matching ``{f: value}``."""
    if value is MISSING:
        return None
    if isinstance(value, (list, tuple)):
        # {a: [1, 2]} matches a == [1, 2] (keyed by its first element, or
        # undefined when empty) and arrays holding [1, 2] as an element.
        first = _point(key(value[0]), _Shown(value[0])) if value else \
            _point(UNDEFINED_KEY, "undefined")
        return sorted([first, _point(key(value), _Shown(value))], key=lambda i: i[0][0])
    if value is None:
        return [_point(NULL_KEY, "null")]  # missing fields are keyed null too
    return [_point(key(value), _Shown(value))]


def _range_interval(op: str, value: Any, key_fn: Any = sort_key) -> list | None:
    """The interval of one range operator within its type bracket, or None."""
    if value is None or value is MISSING or isinstance(value, (list, tuple, MinKey, MaxKey)) \
            or is_regex(value):
        return None
    key = key_fn(value)
    if key == _NAN_KEY:
        # As the server's bounds builder: only NaN is <= or >= NaN, and
        # nothing is < or > it (NaN sorts below every other number).
        return [_point(key, "nan.0")] if op in ("$gte", "$lte") else []
    rank = key[0]
    low_text, low_inc, high_text, high_inc = _BRACKET_TEXT.get(rank, ("MinKey", True, "MaxKey", True))
    # Numbers start at -inf: NaN sorts below it and no range matches NaN.
    low_bracket = ((rank, 1, float("-inf")) if rank == RANK_NUMBER else (rank,), True, low_text, low_inc)
    high_bracket = ((rank, TOP), True, high_text, high_inc)
    text = _Shown(value)
    if op == "$gt":
        return [((key, False, text, False), high_bracket)]
    if op == "$gte":
        return [((key, True, text, True), high_bracket)]
    if op == "$lt":
        return [(low_bracket, (key, False, text, False))]
    return [(low_bracket, (key, True, text, True))]  # $lte


_EXACT_OPS = frozenset({"$eq", "$in", "$gt", "$gte", "$lt", "$lte"})


def _plain_scalar(v: Any) -> bool:
    """A value whose index key equality/order is exactly the matcher's."""
    t = type(v)
    if t is float:
        return v == v  # not NaN
    if t is Decimal128:
        return not v.to_decimal().is_nan()
    return t in (int, str, bool, Int64, ObjectId, _dt.datetime)


# The commonest plain scalars (see _plain_scalar), checked by type alone.
_POINT_TYPES = frozenset({int, str, bool, Int64, ObjectId, _dt.datetime})


def _exact_conjuncts(spec: Mapping) -> list | None:
    """The predicate paths of a filter made only of plain conjuncts, else None."""
    paths: list = []
    for key, value in spec.items():
        if key == "$and":
            if not isinstance(value, (list, tuple)):
                return None
            for clause in value:
                inner = _exact_conjuncts(clause) if isinstance(clause, Mapping) else None
                if inner is None:
                    return None
                paths.extend(inner)
            continue
        if key.startswith("$"):
            return None
        if _is_operator_doc(value):
            for op, operand in value.items():
                if op not in _EXACT_OPS:
                    return None
                items = operand if op == "$in" else [operand]
                if op == "$in" and not isinstance(operand, (list, tuple)):
                    return None
                if not all(_plain_scalar(item) for item in items):
                    return None
                paths.append(key)
        elif _plain_scalar(value):
            paths.append(key)
        else:
            return None
    return paths


def _union(intervals: list) -> list:
    """Sorted, disjoint intervals covering ``intervals`` (overlaps merged)."""
    ordered = sorted(intervals, key=lambda i: (i[0][0], not i[0][1]))
    merged: list = []
    for lo, hi in ordered:
        if merged:
            last_lo, last_hi = merged[-1]
            if lo[0] < last_hi[0] or (lo[0] == last_hi[0] and (lo[1] or last_hi[1])):
                if _high_before(last_hi, hi):
                    merged[-1] = (last_lo, hi)
                continue
        merged.append((lo, hi))
    return merged


def _in_intervals(values: Any, key: Any = sort_key) -> list | None:
    if not isinstance(values, (list, tuple)):
        return None
    found_all: list = []
    for v in values:
        if is_regex(v):
            if key is not sort_key:
                return None  # regex bounds are binary string ranges
            found = _regex_intervals(_regex_parts(v))
        else:
            found = _eq_intervals(v, key)
        if found is None:
            return None
        found_all.extend(found)
    return _union(found_all)


# -- regexes ---------------------------------------------------------------

_REGEX_SPECIAL = frozenset(".[]()*+?{}|^$")


def _regex_parts(value: Any) -> tuple[str, str]:
    """``(pattern, flags)`` of a Regex / re.Pattern, flags in bson's letter order."""
    from .bsontypes import regex_flags_string

    pattern = value.pattern.decode() if isinstance(value.pattern, bytes) else value.pattern
    return pattern, regex_flags_string(value)


def _literal_prefix(pattern: str, flags: str) -> str | None:
    """The literal text every match of an anchored regex starts with, or None."""
    if "i" in flags or "m" in flags or "x" in flags or "|" in pattern:
        return None
    if pattern.startswith("^"):
        rest = pattern[1:]
    elif pattern.startswith("\\A"):
        rest = pattern[2:]
    else:
        return None
    prefix: list = []
    i = 0
    while i < len(rest):
        c = rest[i]
        if c == "\\":
            if i + 1 < len(rest) and not rest[i + 1].isalnum() and rest[i + 1].isascii():
                prefix.append(rest[i + 1])
                i += 2
                continue
            break
        if c in _REGEX_SPECIAL:
            if c in "*?{" and prefix:
                prefix.pop()  # the last literal is optional or repeated zero times
            break
        prefix.append(c)
        i += 1
    return "".join(prefix)


def _regex_intervals(parts: tuple[str, str]) -> list:
    """A regex matches strings only (plus an equal stored regex): the string
    bracket, narrowed to a literal prefix when the pattern is anchored."""
    from .bsontypes import RANK_STRING

    pattern, flags = parts
    regex_value = Regex(pattern, flags)
    own = _point(sort_key(regex_value), _Shown(regex_value))
    prefix = _literal_prefix(pattern, flags)
    if prefix:
        low = (sort_key(prefix), True, _Shown(prefix), True)
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            after = prefix[:-1] + chr(last + 1)
            high = (sort_key(after), False, _Shown(after), False)
        else:
            high = ((RANK_STRING, TOP), True, "{}", False)
        return [(low, high), own]
    return [(((RANK_STRING,), True, '""', True), ((RANK_STRING, TOP), True, "{}", False)), own]


def _collect_conjuncts(spec: Mapping, out: list, prefix: str = "") -> None:
    """Append ``(path, op, value)`` for each top-level (and ``$and``) conjunct.

    Regexes become ``(path, "$regex", (pattern, flags))``; ``$all`` becomes
    one conjunct per element; ``$elemMatch`` on documents contributes its
    sub-conditions under ``path.``; on values, one ``"$intervals"`` conjunct
    (its operators hold for one element, so their bounds intersect even on
    a multikey field).
    """
    for key, value in spec.items():
        if key == "$and":
            if isinstance(value, (list, tuple)):
                for clause in value:
                    if isinstance(clause, Mapping):
                        _collect_conjuncts(clause, out, prefix)
            continue
        if key.startswith("$"):
            continue  # $or, $nor, $expr, $comment ... only narrow further
        path = prefix + key
        if _is_operator_doc(value):
            for op, operand in value.items():
                if op == "$regex":
                    _collect_regex(path, value, out)
                elif op == "$options":
                    continue
                elif op == "$all" and isinstance(operand, (list, tuple)):
                    for item in operand:
                        if is_regex(item):
                            out.append((path, "$regex", _regex_parts(item)))
                        elif not _is_operator_doc(item):
                            out.append((path, "$eq", item))
                elif op == "$elemMatch" and isinstance(operand, Mapping):
                    _collect_elem_match(path, operand, out)
                else:
                    out.append((path, op, operand))
        elif is_regex(value):
            out.append((path, "$regex", _regex_parts(value)))
        else:
            out.append((path, "$eq", value))


def _collect_regex(path: str, ops: Mapping, out: list) -> None:
    pattern = ops["$regex"]
    options = ops.get("$options", "")
    if is_regex(pattern):
        pattern, flags = _regex_parts(pattern)
        options = flags + (options if isinstance(options, str) else "")
    if not isinstance(pattern, str) or not isinstance(options, str):
        return
    try:
        flags = _regex_parts(Regex(pattern, options))[1]
    except (ValueError, TypeError):
        return
    out.append((path, "$regex", (pattern, flags)))


class _Group:
    """The conditions of one ``$elemMatch`` object: all hold for one element of ``path``."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class _Grouped(tuple):
    """A ``(path, op, value)`` conjunct from inside an ``$elemMatch`` (``.group``)."""

    group: _Group


def _collect_elem_match(path: str, operand: Mapping, out: list) -> None:
    if not operand:
        return
    if not next(iter(operand)).startswith("$") or any(k in ("$and", "$or", "$nor", "$expr", "$where")
                                                       for k in operand):
        # Object form: conditions on one element, so they may bound together
        # fields below that array (see _Scan.field_intervals).
        inner: list = []
        _collect_conjuncts(operand, inner, path + ".")
        group = _Group(path)
        for conjunct in inner:
            tagged = _Grouped(conjunct)
            tagged.group = getattr(conjunct, "group", None) or group  # the innermost wins
            out.append(tagged)
        return
    merged = None
    for op, value in operand.items():
        intervals = _conjunct_intervals(op, value) if op in ("$eq", "$in", "$gt", "$gte", "$lt", "$lte") \
            else None
        if intervals is None:
            continue
        merged = intervals if merged is None else _intersect(merged, intervals)
    if merged is not None:
        out.append((path, "$intervals", (merged, _contains_string(list(operand.values())))))


def _conjunct_intervals(op: str, value: Any, key: Any = sort_key) -> list | None:
    if op == "$eq":
        return _eq_intervals(value, key)
    if op == "$in":
        return _in_intervals(value, key)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return _range_interval(op, value, key)
    if op == "$regex":
        return _regex_intervals(value)
    if op == "$intervals":
        return value[0]
    return None


def _contains_string(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, Mapping):
        return any(_contains_string(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_string(v) for v in value)
    return False


# -- interval algebra (value order) ------------------------------------------


def _max_low(a: tuple, b: tuple) -> tuple:
    if a[0] > b[0]:
        return a
    if b[0] > a[0]:
        return b
    return a if not a[1] else b


def _min_high(a: tuple, b: tuple) -> tuple:
    if a[0] < b[0]:
        return a
    if b[0] < a[0]:
        return b
    return a if not a[1] else b


def _high_before(a: tuple, b: tuple) -> bool:
    return a[0] < b[0] or (a[0] == b[0] and not a[1] and b[1])


def _intersect(left: list, right: list) -> list:
    """Intersection of two sorted lists of disjoint intervals."""
    result = []
    i = j = 0
    while i < len(left) and j < len(right):
        low = _max_low(left[i][0], right[j][0])
        high = _min_high(left[i][1], right[j][1])
        if low[0] < high[0] or (low[0] == high[0] and low[1] and high[1]):
            result.append((low, high))
        if _high_before(left[i][1], right[j][1]):
            i += 1
        else:
            j += 1
    return result


def _is_points(intervals: list) -> bool:
    return all(lo is hi or (lo[0] == hi[0] and lo[1] and hi[1]) for lo, hi in intervals)


def _contains_key(intervals: list, key: Any) -> bool:
    for (lo, lo_inc, _, _), (hi, hi_inc, _, _) in intervals:
        if (lo < key or (lo_inc and lo == key)) and (key < hi or (hi_inc and hi == key)):
            return True
    return False


def _to_index_order(intervals: list, descending: bool) -> list:
    """Intervals in the index's key order (descending fields wrap keys in Desc)."""
    if not descending:
        return intervals
    flipped = []
    for lo, hi in reversed(intervals):
        new_lo = (_desc(hi[0]), hi[1], hi[2], hi[3])
        new_hi = (_desc(lo[0]), lo[1], lo[2], lo[3])
        flipped.append((new_lo, new_hi))
    return flipped


def _desc(key: Any) -> Any:
    if key is TOP:
        return BOTTOM
    if key is BOTTOM:
        return TOP
    return Desc(key)


def _interval_text(interval: tuple) -> str:
    lo, hi = interval
    return f"{'[' if lo[3] else '('}{lo[2]}, {hi[2]}{']' if hi[3] else ')'}"


# --------------------------------------------------------------------------
# Partial filter implication
# --------------------------------------------------------------------------


def _implies_one(qop: str, qv: Any, op: str, v: Any) -> bool:
    """Whether the query conjunct ``{path: {qop: qv}}`` implies ``{path: {op: v}}``."""
    if op == "$exists":
        if qop == "$exists":
            return _truthy(qv)
        if qop == "$eq":
            return qv is not None
        if qop in ("$gt", "$gte", "$lt", "$lte"):
            return qv is not None and not isinstance(qv, (MinKey, MaxKey))
        if qop == "$in":
            return isinstance(qv, (list, tuple)) and bool(qv) and all(
                x is not None and not is_regex(x) for x in qv)
        if qop == "$type":
            types = resolve_type(qv)
            return types is not None and not (types & {6, 10})
        return False
    if qop == "$in" and isinstance(qv, (list, tuple)) and qv and not any(is_regex(x) for x in qv):
        return all(_implies_one("$eq", x, op, v) for x in qv)
    if op == "$eq":
        return qop == "$eq" and bson_equal(qv, v)
    if op == "$in":
        return qop == "$eq" and isinstance(v, (list, tuple)) and any(bson_equal(qv, x) for x in v)
    if op == "$type":
        if qop == "$type":
            return resolve_type(qv) is not None and resolve_type(qv) == resolve_type(v)
        if qop == "$eq" and not isinstance(qv, (list, tuple)) and qv is not MISSING and qv is not None:
            types = resolve_type(v)
            if types is None:
                return False
            if is_number(qv):  # {a: 5} also matches 5.0, Int64(5), Decimal128("5")
                return NUMBER_TYPES <= types
            return bson_type_number(qv) in types
        return False
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if isinstance(qv, (list, tuple)) or qv is None or isinstance(v, (list, tuple)) or v is None:
            return False
        kq, kv = sort_key(qv), sort_key(v)
        if kq[0] != kv[0]:
            return False
        if op in ("$gt", "$gte"):
            if qop == "$eq":
                return kq > kv or (op == "$gte" and kq == kv)
            if qop == "$gt":
                return kq >= kv
            if qop == "$gte":
                return kq > kv or (op == "$gte" and kq == kv)
            return False
        if qop == "$eq":
            return kq < kv or (op == "$lte" and kq == kv)
        if qop == "$lt":
            return kq <= kv
        if qop == "$lte":
            return kq < kv or (op == "$lte" and kq == kv)
    return False


def _query_implies(conjuncts: list, partial: Mapping, same_collation: bool = True) -> bool:
    """Conservative: every conjunct of ``partial`` follows from some query conjunct.

    String comparisons are only trusted when the query's collation is the
    index's (the filter was evaluated with the index collation).
    """
    needed: list = []
    for key, value in partial.items():
        if key == "$and":
            for clause in value:
                needed_part: list = []
                _collect_conjuncts(clause, needed_part)
                needed.extend(needed_part)
        elif key.startswith("$"):
            return False  # $or in a partial filter: not attempted
        else:
            _collect_conjuncts({key: value}, needed)
    for path, op, v in needed:
        if not any(qpath == path and (same_collation or not (_contains_string(qv) or _contains_string(v)))
                   and _implies_one(qop, qv, op, v) for qpath, qop, qv in conjuncts):
            return False
    return True


# --------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------


class _Scan:
    """A planned scan of one index.

    ``constraints[i]`` lists, for index field ``i``, the interval lists of the
    predicates on it ([] when unconstrained). They are resolved into bounds
    (:meth:`ranges`) against the index's current multikey state, so a plan
    stays a superset even if the index became multikey after planning.
    """

    def __init__(self, index: Index, constraints: list) -> None:
        self.index = index
        self.constraints = constraints
        self._cache: tuple | None = None

    def field_intervals(self) -> list[list | None]:
        """Per field: the intervals to scan (value order) or None (unconstrained)."""
        result: list[list | None] = []
        all_groups = getattr(self.constraints, "groups", None) or [[None] * len(p) for p in self.constraints]
        chosen_groups: list = []
        for i, (preds, groups) in enumerate(zip(self.constraints, all_groups)):
            if not preds:
                result.append(None)
                chosen_groups.append(None)
                continue
            if self.index.field_is_multikey(i):
                # Several predicates may be satisfied by different elements:
                # only one predicate's bounds are valid. Prefer points.
                n = next((n for n, p in enumerate(preds) if _is_points(p)), 0)
                result.append(preds[n])
                chosen_groups.append(groups[n])
            else:
                merged = preds[0]
                for other in preds[1:]:
                    merged = _intersect(merged, other)
                result.append(merged)
                chosen_groups.append(groups[0] if len(set(map(id, groups))) == 1 else None)
        # Fields below one array are keyed element by element, so two of them
        # are only bounded together when one $elemMatch on that very array
        # constrains both (its conditions hold for the same element).
        taken: dict = {}
        for i, paths in enumerate(self.index.multikey_paths):
            if result[i] is None or not paths:
                continue
            shared = [p for p in paths if p in taken]
            group = chosen_groups[i]
            if shared and not (group is not None
                               and all(taken[p] is group and p == group.path for p in shared)):
                result[i] = None
                continue
            for p in paths:
                taken.setdefault(p, group)
        return result

    def ranges(self) -> tuple[list | None, list, list]:
        """``(keys, probes, per-field intervals)`` of the scan, in index order.

        ``keys`` lists full index keys when every field is pinned to points
        (answered from the index's hash buckets), else None; ``probes`` are
        ``(low, high)`` bisection bounds over the SortedList entries
        (``key + (rid,)``): a point prefix, then one field's intervals.
        """
        state = tuple(map(bool, self.index.multikey_paths))
        if self._cache is not None and self._cache[0] == state:
            return self._cache[1]
        fields = self.index.fields
        per_field = [
            _to_index_order(iv, desc) if iv is not None else None
            for iv, (_, desc) in zip(self.field_intervals(), fields)
        ]
        prefix: list = []
        combos = 1
        j = 0
        while j < len(per_field) and per_field[j] is not None and _is_points(per_field[j]):
            if j and combos * len(per_field[j]) > _MAX_COMBINATIONS:
                break  # the first field's points are always used (a big $in)
            combos *= len(per_field[j])
            prefix.append([lo[0] for lo, _ in per_field[j]])
            j += 1
        keys = None
        probes = []
        tail = None
        if j == len(per_field):
            keys = list(itertools.product(*prefix))
        else:
            tail = per_field[j]
            if tail is not None and j and combos * len(tail) > _MAX_COMBINATIONS:
                tail = None
            for points in itertools.product(*prefix):
                if tail is None:
                    probes.append((points, points + (TOP,)))
                    continue
                for lo, hi in tail:
                    low = points + (lo[0],) if lo[1] else points + (lo[0], TOP)
                    high = points + (hi[0], TOP) if hi[1] else points + (hi[0],)
                    probes.append((low, high))
        result = (keys, probes, per_field)
        applied = j + (1 if j < len(per_field) and tail is not None else 0)
        self._cache = (state, result, applied)
        return result

    def applied_fields(self) -> int:
        """How many leading index fields the scan's bounds actually restrict."""
        self.ranges()
        return self._cache[2]

    def estimate(self) -> int:
        """Entries inside the bounds: O(1) per point key, O(log n) per interval."""
        keys, probes, _ = self.ranges()
        index = self.index
        if keys is not None:
            return sum(index.count(k) for k in keys)
        entries = index.entries
        return sum(max(0, entries.bisect_left(hi) - entries.bisect_left(lo)) for lo, hi in probes)

    def record_ids(self, backward: bool) -> Iterator[int]:
        """The scan's record ids in index order (reversed when ``backward``)."""
        index = self.index
        keys, probes, _ = self.ranges()
        seen: set | None = set() if index.multikey else None
        if keys is not None:
            for key in (reversed(keys) if backward else keys):
                rids = index.lookup(key)
                for rid in (reversed(rids) if backward else rids):
                    if seen is not None:
                        if rid in seen:
                            continue
                        seen.add(rid)
                    yield rid
            return
        entries = index.entries
        for lo, hi in (reversed(probes) if backward else probes):
            start = entries.bisect_left(lo)
            stop = entries.bisect_left(hi)
            if start >= stop:
                continue
            for entry in entries.islice(start, stop, reverse=backward):
                rid = entry[-1]
                if seen is not None:
                    if rid in seen:
                        continue
                    seen.add(rid)
                yield rid

    def single_point_prefix(self) -> int:
        """How many leading fields are pinned to exactly one point."""
        count = 0
        for iv in self.field_intervals():
            if iv is None or len(iv) != 1 or not _is_points(iv):
                break
            count += 1
        return count


class _PointScan(_Scan):
    """The scan of ``{field: scalar}`` over an index led by ``field``.

    The common indexed lookup: the bounds are one point on the first field,
    so the scan is a hash-bucket lookup (single-field index) or one
    bisection probe (compound index), with no interval algebra. The general
    form (``constraints``, :meth:`ranges`) is built only when something asks
    for it (explain, ``exact``), and is what :func:`_constraints_for` would
    have produced, so plans and explain output are the general planner's.
    """

    def __init__(self, index: Index, value: Any) -> None:
        self.index = index
        self._value = value
        self._cache = None
        self._constraints: _Constraints | None = None
        k = index.key_fn(value)
        self._key = (Desc(k),) if index.fields[0][1] else (k,)

    @property
    def constraints(self) -> list:  # type: ignore[override]
        if self._constraints is None:
            constraints = _Constraints()
            constraints.append([_eq_intervals(self._value, self.index.key_fn)])
            constraints.groups.append([None])
            for _ in self.index.fields[1:]:
                constraints.append([])
                constraints.groups.append([])
            self._constraints = constraints
        return self._constraints

    def single_point_prefix(self) -> int:
        return 1

    def estimate(self) -> int:
        if len(self.index.fields) == 1:
            return self.index.count(self._key)
        return super().estimate()

    def record_ids(self, backward: bool) -> Iterator[int]:
        if len(self.index.fields) == 1:
            # One key: its bucket holds each record once, even when multikey.
            rids = self.index.lookup(self._key)
            return iter(reversed(rids) if backward else rids)
        return super().record_ids(backward)


class Plan:
    """A chosen way to run a query (see the module docstring).

    Attributes: ``stage`` ("COLLSCAN", "IDHACK" or "IXSCAN"), ``index`` (the
    :class:`indexes.Index` or None), ``direction`` (1 / -1),
    ``provides_sort``.
    """

    def __init__(self, index_set: Any, stage: str, *, filter_spec: Mapping, sort: list | None,
                 index: Index | None = None, scan: _Scan | None = None, direction: int = 1,
                 provides_sort: bool = False, id_key: Any = None, limit: int | None = None,
                 branches: list | None = None) -> None:
        self._index_set = index_set
        self.stage = stage
        self.filter_spec = filter_spec
        self.sort = sort
        self.index = index
        self._scan = scan
        self.direction = direction
        self.provides_sort = provides_sort
        self._id_key = id_key
        self._limit = limit
        self._branches = branches or []
        self._record_ids: list | None = None

    @property
    def exact(self) -> bool:
        """Whether the candidates are exactly the matching documents.

        When True the caller may skip the matcher, and ``count()`` is the
        number of matches. True for: ``IDHACK`` on a plain scalar ``_id``;
        a ``COLLSCAN`` with an empty filter; an ``IXSCAN`` when the filter is
        a conjunction of equality / ``$in`` / ``$gt``-family predicates on
        plain scalars (not null, NaN, arrays, documents or regexes), every
        one of them turned into bounds on a field the scan restricts, over
        an index that is not multikey, hashed or partial (so each record has
        one key, and a key inside the bounds is a match). False is always
        safe: the caller then applies the matcher. Evaluated against the
        index's current state, so evaluate it (and count) under the same
        lock as the read.

            >>> from dongo.backends.memory.indexes import IndexSet
            >>> s = IndexSet("db.c"); _ = s.create("a")
            >>> plan(s, {"a": {"$in": [1, 2]}}).exact, plan(s, {"a": {"$ne": 1}}).exact
            (True, False)
        """
        if self.stage == "IDHACK":
            return _exact_conjuncts(self.filter_spec) is not None
        if self.stage == "COLLSCAN":
            return not self.filter_spec
        if self.stage != "IXSCAN":
            return False
        index = self.index
        if index.multikey or index.spec.hashed or index.spec.partial is not None:
            return False
        if type(self._scan) is _PointScan:
            return True  # {field: plain scalar} bounded on the index's first field: O(1)
        conjuncts = _exact_conjuncts(self.filter_spec)
        if not conjuncts:
            return False
        fields = [field for field, _ in index.spec.key]
        applied = self._scan.applied_fields()
        for path in conjuncts:
            if path not in fields or fields.index(path) >= applied:
                return False
        # every predicate became bounds (a collation mismatch drops some)
        return sum(len(preds) for preds in self._scan.constraints) == len(conjuncts)

    def count(self) -> int:
        """How many distinct record ids :meth:`candidates` yields, touching no
        document; when :attr:`exact`, the number of matching documents.

            >>> from dongo.backends.memory.indexes import IndexSet
            >>> s = IndexSet("db.c"); _ = s.create("a")
            >>> plan(s, {"a": {"$gte": 5}}).count()
            0

        Complexity: O(1) for ``IDHACK`` and ``COLLSCAN`` (the record count);
        for an ``IXSCAN`` of an index that is not multikey (one entry per
        record), O(1) per point key (hash buckets) plus O(log n) per
        interval (bisection); otherwise (multikey, ``OR``) O(k) over the k
        candidates.
        """
        if self._record_ids is not None:
            return len(self._record_ids)
        if self.stage == "IDHACK":
            return self.index.count(self._id_key)
        if self.stage == "COLLSCAN":
            return len(self._index_set._records())
        if self.stage == "IXSCAN" and not self.index.multikey:
            return self._scan.estimate()
        return len(self.record_ids)

    @property
    def index_name(self) -> str | None:
        return self.index.name if self.index is not None else None

    # -- candidates ----------------------------------------------------------------

    def candidates(self, records: Mapping | None = None) -> Iterator[int]:
        """Record ids to examine, in order (a superset of the matches). Lazy."""
        if self.stage == "IDHACK":
            return iter(self.index.lookup(self._id_key))
        if self.stage == "OR":
            return self._union()
        if self.stage == "COLLSCAN":
            if records is None:
                records = self._index_set._records()
            return iter(records) if self.direction > 0 else reversed(records)
        return self._scan.record_ids(self.direction < 0)

    def _union(self) -> Iterator[int]:
        """Each ``$or`` branch's candidates in turn, each record once (the OR stage)."""
        seen: set = set()
        for branch in self._branches:
            for rid in branch.candidates():
                if rid not in seen:
                    seen.add(rid)
                    yield rid

    @property
    def record_ids(self) -> list[int]:
        """The candidates as a list (computed once)."""
        if self._record_ids is None:
            self._record_ids = list(self.candidates())
        return self._record_ids

    # -- explain --------------------------------------------------------------------

    @property
    def winning_plan(self) -> dict:
        if self.stage == "IDHACK":
            return {"stage": "IDHACK"}
        parsed = _parsed_query(self.filter_spec)
        if self.stage == "OR":
            inputs = []
            for branch in self._branches:
                stage = branch.winning_plan
                if stage["stage"] == "FETCH" and "filter" not in stage:
                    stage = stage["inputStage"]
                inputs.append(stage)
            stage = {"stage": "SUBPLAN", "inputStage": {
                "stage": "FETCH", "filter": parsed, "inputStage": {"stage": "OR", "inputStages": inputs}}}
        elif self.stage == "COLLSCAN":
            stage = {"stage": "COLLSCAN"}
            if parsed:
                stage["filter"] = parsed
            stage["direction"] = "forward" if self.direction > 0 else "backward"
        else:
            stage = {"stage": "FETCH"}
            residual = {k: v for k, v in self.filter_spec.items()
                        if k not in {f for f, _ in self.index.spec.key}}
            if residual:
                stage["filter"] = _parsed_query(residual)
            stage["inputStage"] = self._ixscan_stage()
        if self.sort and not self.provides_sort:
            sort_stage = {"stage": "SORT", "sortPattern": dict(self.sort), "memLimit": 104857600}
            if self._limit:
                sort_stage["limitAmount"] = self._limit
            sort_stage["type"] = "simple"
            sort_stage["inputStage"] = stage
            stage = sort_stage
        return stage

    def _ixscan_stage(self) -> dict:
        index = self.index
        spec = index.spec
        _, _, per_field = self._scan.ranges()
        bounds = {}
        for (field, _), (_, desc), iv in zip(spec.key, index.fields, per_field):
            intervals = iv if iv is not None else [_to_index_order([_FULL], desc)[0]]
            bounds[field] = [_interval_text(i) for i in intervals]
        if self.direction < 0:
            bounds = {f: [_reverse_text(t) for t in reversed(ts)] for f, ts in bounds.items()}
        return {
            "stage": "IXSCAN",
            "keyPattern": dict(spec.key),
            "indexName": spec.name,
            "isMultiKey": index.multikey,
            "multiKeyPaths": {f: sorted(paths) for (f, _), paths in zip(spec.key, index.multikey_paths)},
            "isUnique": spec.unique or spec.is_id,
            "isSparse": spec.sparse,
            "isPartial": spec.partial is not None,
            "indexVersion": spec.version,
            "direction": "forward" if self.direction > 0 else "backward",
            "indexBounds": bounds,
        }

    def explain(self) -> dict:
        """The ``queryPlanner`` section of ``explain`` output."""
        return {
            "namespace": self._index_set.namespace,
            "indexFilterSet": False,
            "parsedQuery": _parsed_query(self.filter_spec),
            "winningPlan": self.winning_plan,
            "rejectedPlans": [],
        }


def _reverse_text(text: str) -> str:
    # "[a, b)" scanned backwards is shown "(b, a]".
    open_, close = text[0], text[-1]
    lo, hi = text[1:-1].split(", ", 1) if text.count(", ") == 1 else (text[1:-1], "")
    return ("[" if close == "]" else "(") + f"{hi}, {lo}" + ("]" if open_ == "[" else ")")


def _parsed_query(spec: Mapping) -> dict:
    """The filter with implicit equalities made explicit (``{a: {$eq: 5}}``)."""
    clauses = []
    for key, value in spec.items():
        if key.startswith("$"):
            clauses.append({key: value})
        elif _is_operator_doc(value):
            for op, operand in value.items():
                clauses.append({key: {op: operand}})
        elif is_regex(value):
            clauses.append({key: {"$regex": value}})
        else:
            clauses.append({key: {"$eq": value}})
    if not clauses:
        return {}
    if len(clauses) == 1:
        return clauses[0]
    return {"$and": clauses}


# --------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------


def _normalize_sort(sort: Any) -> list | None:
    if not sort:
        return None
    pairs = list(sort.items()) if isinstance(sort, Mapping) else _normalize_keys(sort)
    return pairs


def _parse_collation(collation: Any) -> Any:
    """The query collation as a ``collation.Collation``, None when simple/absent."""
    if collation is None:
        return None
    if hasattr(collation, "document"):  # pymongo.collation.Collation
        collation = collation.document
    from .collation import parse_collation

    return parse_collation(collation)


def _constraints_for(index: Index, conjuncts: list, collation: Any) -> list:
    """Per index field: the interval lists of the conjuncts on that path.

    Bounds on strings need the query's collation to be the index's (keys are
    collation keys); regex bounds need a binary (simple) index.
    """
    same_collation = index.spec.collation == collation
    collated_index = index.spec.collation is not None
    key = index.key_fn
    constraints = _Constraints()
    for field, _ in index.spec.key:
        preds = []
        groups = []
        for conjunct in conjuncts:
            path, op, value = conjunct
            if path != field:
                continue
            if op == "$regex":
                if collated_index:
                    continue
            elif not same_collation or (collated_index and op == "$intervals"):
                if value[1] if op == "$intervals" else _contains_string(value):
                    continue
            if index.spec.hashed and op not in ("$eq", "$in"):  # equality only
                continue
            intervals = _conjunct_intervals(op, value, key)
            if intervals is not None:
                preds.append(intervals)
                groups.append(getattr(conjunct, "group", None))
        constraints.append(preds)
        constraints.groups.append(groups)
    return constraints


class _Constraints(list):
    """Per index field, the predicates' interval lists; ``groups`` runs
    parallel: the ``$elemMatch`` group of each predicate, or None."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: list = []


def _sort_direction(index: Index, scan: _Scan, sort: list | None, collation: Any) -> int:
    """1 or -1 when scanning ``index`` yields ``sort`` order; 0 when it cannot."""
    if not sort or index.spec.collation != collation or index.spec.hashed:
        return 0
    start = scan.single_point_prefix()
    fields = index.spec.key
    if start + len(sort) > len(fields):
        return 0
    direction = 0
    for offset, (path, want) in enumerate(sort):
        field, _ = fields[start + offset]
        desc = index.fields[start + offset][1]
        if field != path or not is_number(want) or isinstance(want, bool):
            return 0
        want_desc = float(want.to_decimal() if isinstance(want, Decimal128) else want) < 0
        d = -1 if want_desc != desc else 1
        if direction and d != direction:
            return 0
        direction = d
    if any(index.field_is_multikey(i) for i in range(start + len(sort))):
        return 0
    return direction


def _find_hinted(index_set: Any, hint: Any) -> Index | None:
    if isinstance(hint, str):
        index = index_set.get(hint)
        return index if index is not None and not index.spec.hidden else None
    pattern = _canonical(SON(_normalize_keys(hint)))
    for index in index_set:
        if not index.spec.hidden and _canonical(index.spec.key_document()) == pattern:
            return index
    return None


def _debug_tree(filter_spec: Mapping) -> str:
    """The filter as the server's MatchExpression debugString prints it (roughly)."""
    clauses = []
    for clause in (_parsed_query(filter_spec).get("$and") or [_parsed_query(filter_spec)]):
        for path, cond in clause.items():
            if path.startswith("$") or not isinstance(cond, Mapping):
                clauses.append(f"{path} {format_value(cond)}")
            else:
                for op, operand in cond.items():
                    clauses.append(f"{path} {op} {format_value(operand)}")
    clauses = [c for c in clauses if c]
    if len(clauses) == 1:
        return clauses[0] + "\n"
    return "$and\n" + "".join(f"    {c}\n" for c in clauses)


def _hint_error(index_set: Any, filter_spec: Mapping, sort: list | None,
                limit: int | None = None) -> ServerError:
    limit_text = f" limit={limit}" if limit else ""
    return ServerError(
        BAD_VALUE,
        f"error processing query: ns={index_set.namespace}{limit_text}Tree: {_debug_tree(filter_spec)}"
        f"Sort: {format_value(dict(sort or {}))}\nProj: {{}}\n planner returned error :: caused by :: "
        "hint provided does not correspond to an existing index")


def _id_hack_key(filter_spec: Mapping, collation: Any, id_index: Index) -> Any:
    """The ``_id`` index key of ``{_id: value}`` (IDHACK), or None."""
    if len(filter_spec) != 1 or "_id" not in filter_spec:
        return None
    value = filter_spec["_id"]
    if _is_operator_doc(value) and list(value) == ["$eq"]:
        value = value["$eq"]
    if _is_operator_doc(value) or is_regex(value) or isinstance(value, (list, tuple)) or value is MISSING:
        return None
    if id_index.spec.collation != collation and _contains_string(value):
        return None  # strings compare by another collation than the index keys
    return (id_index.key_fn(value),)


def _point_lookup(index_set: Any, filter_spec: Mapping, collation: Any) -> _PointScan | None:
    """The fast path of :func:`plan` for ``{field: scalar}`` / ``{field: {$eq: scalar}}``.

    Taken only when the general planner would certainly choose the same
    scan: exactly one visible index is led by ``field``, and it is neither
    sparse, partial nor hashed (those need the implication/null checks or
    other keys); a string value also needs the index's collation to be the
    query's. Anything else (None here) goes through the general planner.
    O(#indexes).
    """
    for field, value in filter_spec.items():
        break
    else:
        return None
    if len(filter_spec) != 1 or field[:1] == "$":
        return None
    if type(value) is dict and len(value) == 1 and "$eq" in value:
        value = value["$eq"]
    if type(value) not in _POINT_TYPES and not _plain_scalar(value):
        return None
    found = index_set.led_by(field)  # None too when several indexes compete
    if found is None:
        return None
    spec = found.spec
    if spec.sparse or spec.partial is not None or spec.hashed:
        return None
    if type(value) is str and spec.collation != collation:
        return None
    return _PointScan(found, value)


def exact_lookup(index_set: Any, filter_spec: Mapping, collation: Any = None) -> tuple | list | None:
    """The record ids of exactly the documents matching ``filter_spec``, in
    the order ``plan(...).candidates()`` yields them, when the filter is a
    point lookup (``{field: plain scalar}``, see :func:`_point_lookup`) on a
    non-multikey index; None otherwise (plan and match as usual).

    A caller may skip compiling the filter: nothing in such a filter can
    fail validation, and every returned record matches. ``collation`` is as
    for :func:`plan`. O(1) for a single-field index (a hash bucket), O(log n
    + k) for a compound one. Call it under the collection lock.

        >>> from dongo.backends.memory.indexes import IndexSet
        >>> s = IndexSet("db.c"); _ = s.create("a"); s.add(7, {"_id": 1, "a": 5})
        >>> exact_lookup(s, {"a": 5}), exact_lookup(s, {"a": {"$gt": 5}})
        ((7,), None)
    """
    scan = _point_lookup(index_set, filter_spec,
                         _parse_collation(collation) if collation is not None else None)
    if scan is None or scan.index.multikey:
        return None
    if len(scan.index.fields) == 1:
        return scan.index.lookup(scan._key)
    return list(scan.record_ids(False))


def plan(index_set: Any, filter_spec: Mapping, *, sort: Any = None, hint: Any = None,
         collation: Any = None, limit: int | None = None, _id_hack: bool = True) -> Plan:
    """Choose how to run ``filter_spec`` over the collection of ``index_set``.

        >>> from dongo.backends.memory.indexes import IndexSet
        >>> s = IndexSet("db.c"); _ = s.create("a")
        >>> plan(s, {"a": 5}).explain()["winningPlan"]["inputStage"]["indexBounds"]
        {'a': ['[5, 5]']}

    ``collation`` is the collation the query's string comparisons use,
    exactly as the matcher gets it: the operation's ``collation`` option,
    or, when the operation has none, **the collection's default
    collation** (the caller passes it; ``None`` here means the simple,
    binary collation, not "the collection default"). It decides which
    indexes may bound strings: an index keys strings under its own
    collation, so string bounds (and ``IDHACK`` on a string ``_id``) are
    used only when the index's collation is this one; other bounds are
    used either way. ``sort``/``hint``/``limit`` are as for ``find``.

    Raises ``ServerError(2)`` for a hint naming no index (or a partial
    index the query does not imply).
    """
    sort_pairs = _normalize_sort(sort)
    query_collation = _parse_collation(collation) if collation is not None else None
    no_hint = hint is None or hint == {} or hint == ""
    if _id_hack and no_hint:
        # find_one({_id: x}): one dict lookup, decided before any other analysis.
        id_key = _id_hack_key(filter_spec, query_collation, index_set.id_index)
        if id_key is not None:
            return Plan(index_set, "IDHACK", filter_spec=filter_spec, sort=sort_pairs, limit=limit,
                        index=index_set.id_index, id_key=id_key, provides_sort=True)
    if sort_pairs is None and no_hint:
        point = _point_lookup(index_set, filter_spec, query_collation)
        if point is not None:
            return Plan(index_set, "IXSCAN", filter_spec=filter_spec, sort=None, limit=limit,
                        index=point.index, scan=point)
    conjuncts: list = []
    _collect_conjuncts(filter_spec, conjuncts)

    def make(stage: str, **kwargs: Any) -> Plan:
        return Plan(index_set, stage, filter_spec=filter_spec, sort=sort_pairs, limit=limit, **kwargs)

    def index_plan(index: Index, scan: _Scan) -> Plan:
        direction = _sort_direction(index, scan, sort_pairs, query_collation)
        return make("IXSCAN", index=index, scan=scan, direction=direction or 1,
                    provides_sort=bool(direction))

    if sort_pairs and sort_pairs[0][0] == "$natural":
        # A $natural sort is a collection scan in that direction (no index).
        natural = sort_pairs[0][1]
        direction = -1 if is_number(natural) and natural < 0 else 1
        return make("COLLSCAN", direction=direction, provides_sort=len(sort_pairs) == 1)
    if hint is not None and hint != {} and hint != "":
        if isinstance(hint, Mapping) and "$natural" in hint:
            natural = hint["$natural"]
            direction = -1 if is_number(natural) and natural < 0 else 1
            return make("COLLSCAN", direction=direction)
        index = _find_hinted(index_set, hint)
        if index is None or (index.spec.partial is not None
                             and not _query_implies(conjuncts, index.spec.partial,
                                                    index.spec.collation == query_collation)):
            raise _hint_error(index_set, filter_spec, sort_pairs, limit)
        # Without bounds on the first field the scan covers the whole index.
        return index_plan(index, _Scan(index, _constraints_for(index, conjuncts, query_collation)))

    usable = []  # (index, scan, constrained field count, provides sort)
    for index in index_set:
        spec = index.spec
        if spec.hidden:
            continue
        if spec.partial is not None and not _query_implies(conjuncts, spec.partial,
                                                           spec.collation == query_collation):
            continue
        constraints = _constraints_for(index, conjuncts, query_collation)
        if not constraints[0]:
            continue
        scan = _Scan(index, constraints)
        if spec.sparse:
            intervals = [iv for iv in scan.field_intervals() if iv is not None]
            if all(_contains_key(iv, NULL_KEY) or _contains_key(iv, UNDEFINED_KEY) for iv in intervals):
                continue
        sorted_ = bool(_sort_direction(index, scan, sort_pairs, query_collation))
        usable.append((index, scan, sum(1 for c in constraints if c), sorted_))

    sort_index = None
    if sort_pairs:
        for index in index_set:
            spec = index.spec
            if spec.hidden or spec.sparse or spec.partial is not None:
                continue
            scan = _Scan(index, [[] for _ in spec.key])
            if _sort_direction(index, scan, sort_pairs, query_collation):
                sort_index = (index, scan)
                break

    if not usable:
        branches = _or_branches(index_set, filter_spec, collation)
        if branches is not None:
            return make("OR", branches=branches)
        return index_plan(*sort_index) if sort_index is not None else make("COLLSCAN")
    if len(usable) == 1 and (usable[0][3] or sort_index is None or not limit):
        return index_plan(usable[0][0], usable[0][1])  # nothing to compare: skip the estimate
    # Fewest entries in bounds wins; then more constrained fields; then sorted.
    scored = [((scan.estimate(), -fields, not sorted_), n, index, scan)
              for n, (index, scan, fields, sorted_) in enumerate(usable)]
    (estimate, _, unsorted), _, index, scan = min(scored, key=lambda s: (s[0], s[1]))
    if unsorted and sort_index is not None and limit:
        # A sorted full scan stops after about limit / selectivity entries.
        total = max(1, len(index_set.id_index))
        if estimate and abs(limit) * total / estimate < estimate:
            return index_plan(*sort_index)
    return index_plan(index, scan)


def _or_branches(index_set: Any, filter_spec: Mapping, collation: Any) -> list | None:
    """Index plans for every clause of a top-level ``$or``, or None.

    Each clause planned alone is a superset of the documents matching it,
    so their union is a superset of the whole filter's matches; one clause
    without a usable index means a collection scan anyway.
    """
    clauses = filter_spec.get("$or")
    if not isinstance(clauses, (list, tuple)) or not clauses:
        return None
    branches = []
    for clause in clauses:
        if not isinstance(clause, Mapping):
            return None
        branch = plan(index_set, clause, collation=collation, _id_hack=False)
        if branch.stage not in ("IXSCAN", "OR"):
            return None
        branches.append(branch)
    return branches
