"""Sort specifications: normalise pymongo's forms, compile to key functions.

    >>> docs = [{"a": [3, 9]}, {"a": 5}, {}, {"a": []}]
    >>> compile_sort({"a": 1}).sorted(docs)
    [{'a': []}, {}, {'a': [3, 9]}, {'a': 5}]
    >>> compile_sort([("a", -1)]).sorted(docs)
    [{'a': [3, 9]}, {'a': 5}, {}, {'a': []}]

The server's rules (docs, "Comparison/Sort Order"):

* an ascending sort on an array field uses its *smallest* element, a
  descending sort its *largest* (elements are compared as BSON values, so a
  nested array is one value);
* a missing field sorts as ``null``; an *empty array* sorts below ``null``
  (as ``undefined``) in both directions;
* ties keep the input (natural) order: sorting is stable.
"""

from __future__ import annotations

import decimal
import heapq
from collections.abc import Mapping
from typing import Any, Callable, Iterable

from . import bsontypes as _bt
from .bsontypes import MISSING
from .collation import parse_collation, sort_key_for
from .errors import ServerError
from .paths import is_array_index, split_path_lenient

__all__ = ["Sorter", "compile_sort", "normalize_sort"]

_NULL_KEY = (_bt.RANK_NULL,)
_EMPTY_ARRAY_KEY = (_bt.RANK_MISSING,)  # an empty array sorts as undefined


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + " }"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _direction(field: str, value: Any) -> int:
    """1 or -1 from a sort value, with the server's errors (15974, 15975)."""
    if isinstance(value, Mapping) and "$meta" in value:
        raise NotImplementedError(
            f"sorting by {{$meta: {_fmt(value['$meta'])}}} is not supported by the memory engine"
        )
    if not _bt.is_number(value):
        raise ServerError(15974, f"Illegal key in $sort specification: {field}: {_fmt(value)}")
    number = _bt.to_python_number(value)
    try:
        order = int(number)  # the server reads numberInt(): 1.5 → 1
    except (ValueError, OverflowError):
        order = 0
    if order not in (1, -1):
        raise ServerError(15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)")
    return order


def normalize_sort(spec: Any) -> list[tuple[str, int]]:
    """The sort as a list of ``(path, 1 or -1)`` pairs.

    Accepts what pymongo accepts: a key name, a list of ``(key, direction)``
    pairs (or bare key names, ascending), a dict/SON, or ``None``.

        >>> normalize_sort("a"), normalize_sort([("a", -1), "b"]), normalize_sort({"x": 1.0})
        ([('a', 1)], [('a', -1), ('b', 1)], [('x', 1)])
    """
    if spec is None:
        return []
    if isinstance(spec, str):
        return [(spec, 1)]
    if isinstance(spec, Mapping):
        items: Iterable = spec.items()
    elif isinstance(spec, (list, tuple)):
        items = []
        for entry in spec:
            if isinstance(entry, str):
                items.append((entry, 1))
            elif isinstance(entry, (list, tuple)) and len(entry) == 2:
                items.append((entry[0], entry[1]))
            else:
                raise TypeError(f"sort items must be (key, direction) pairs, not {entry!r}")
    else:
        raise TypeError(f"sort must be a key, a list of (key, direction) pairs or a mapping, not {spec!r}")
    result = []
    for field, value in items:
        if not isinstance(field, str):
            raise TypeError(f"sort keys must be strings, not {field!r}")
        result.append((field, _direction(field, value)))
    return result


def _collect(value: Any, parts: tuple[str, ...], i: int, out: list) -> None:
    """The values a sort path reaches (index-key style: arrays fan out)."""
    if i == len(parts):
        if type(value) is list or type(value) is tuple:
            if value:
                out.extend(value)
            else:
                out.append(_EMPTY)
        else:
            out.append(value)
        return
    if isinstance(value, _bt.DBRef):
        value = value.as_doc()
    if isinstance(value, Mapping):
        child = value.get(parts[i], MISSING)
        if child is MISSING:
            out.append(None)
        else:
            _collect(child, parts, i + 1, out)
    elif type(value) is list or type(value) is tuple:
        part = parts[i]
        if is_array_index(part):
            index = int(part)
            if index < len(value):
                _collect(value[index], parts, i + 1, out)
            else:
                out.append(None)
            return
        if not value:
            out.append(None)
        for element in value:
            if isinstance(element, Mapping):
                _collect(element, parts, i, out)
            else:
                out.append(None)
    else:
        out.append(None)


class _EmptyArray:
    __slots__ = ()


_EMPTY = _EmptyArray()


class _Desc:
    """Inverts the order of a key component (for descending fields)."""

    __slots__ = ("k",)

    def __init__(self, k: Any):
        self.k = k

    def __lt__(self, other: _Desc) -> bool:
        return other.k < self.k

    def __gt__(self, other: _Desc) -> bool:
        return other.k > self.k

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.k == other.k

    def __hash__(self) -> int:
        return hash(self.k)

    def __repr__(self) -> str:
        return f"_Desc({self.k!r})"


def _field_key(path: str, direction: int, skey: Callable[[Any], tuple]) -> Callable[[Any], tuple]:
    """Key of one sort field: min (asc) or max (desc) over the values reached."""
    parts = split_path_lenient(path)
    pick = min if direction == 1 else max

    def key_of(v: Any) -> tuple:
        if v is _EMPTY:
            return _EMPTY_ARRAY_KEY
        if v is None or v is MISSING:
            return _NULL_KEY
        return skey(v)

    def slow(doc: Any) -> tuple:
        out: list = []
        _collect(doc, parts, 0, out)
        if len(out) == 1:
            return key_of(out[0])
        return pick([key_of(v) for v in out])

    if len(parts) == 1:
        field = parts[0]

        def key(doc: Any) -> tuple:
            v = doc.get(field, MISSING)
            t = type(v)
            if t is list or t is tuple:
                if not v:
                    return _EMPTY_ARRAY_KEY
                return pick([skey(e) for e in v])
            if v is MISSING or v is None:
                return _NULL_KEY
            return skey(v)

        return key
    return slow


class Sorter:
    """A compiled sort: ``key(doc)`` for ``sorted``/``heapq``, ``sorted(docs, limit)``."""

    __slots__ = ("spec", "key", "natural", "_reverse", "_keys", "_top_field", "_strings_plain")

    def __init__(self, spec: list[tuple[str, int]], collation: Any = None):
        # {$natural: ±1}: storage order, forwards or backwards. Only
        # :meth:`sorted` can honour -1 (a key cannot express "reverse of input").
        self.natural: int | None = None
        if any(path == "$natural" for path, _ in spec):
            if len(spec) != 1:
                raise NotImplementedError(
                    "sorting by $natural together with other fields is not supported by the memory engine")
            self.natural = spec[0][1]
            spec = []
        self.spec = spec
        skey = sort_key_for(collation)
        # A single top-level field can often be sorted on its raw values.
        self._top_field = spec[0][0] if len(spec) == 1 and "." not in spec[0][0] else None
        self._strings_plain = collation is None
        keys = [_field_key(path, direction, skey) for path, direction in spec]
        self._keys = keys
        directions = {d for _, d in spec}
        # All fields descending: plain keys and reverse=True (still stable).
        self._reverse = directions == {-1}
        if not spec:
            self.key = lambda doc: ()
        elif len(keys) == 1:
            self.key = keys[0]
        elif self._reverse or directions == {1}:
            k = tuple(keys)
            self.key = lambda doc: tuple([f(doc) for f in k])
        else:
            pairs = tuple(zip(keys, [d for _, d in spec]))
            self.key = lambda doc: tuple([f(doc) if d == 1 else _Desc(f(doc)) for f, d in pairs])

    def _plain_top_level(self, items: list, get: Callable[[Any], Any] | None) -> list | None:
        field = self._top_field
        if get is None:
            values = [d.get(field, MISSING) for d in items]
        else:
            values = [get(it).get(field, MISSING) for it in items]
        return _plain_values(values, self._strings_plain)

    @property
    def reverse(self) -> bool:
        """Whether ``key`` must be used with ``reverse=True`` (all fields descending)."""
        return self._reverse

    def sort_key(self, doc: Any) -> Any:
        """A key that sorts ascending in every case (wraps descending keys)."""
        k = self.key(doc)
        return _Desc(k) if self._reverse else k

    def sorted(self, docs: Iterable[Any], limit: int | None = None, *,
               doc_of: Callable[[Any], Any] | None = None) -> list[Any]:
        """The items in sort order (stable); only the first ``limit`` if given.

        ``doc_of`` extracts the document from each item (default: the item is
        the document), e.g. ``lambda item: item[1]`` for ``(id, doc)`` pairs.
        Keys are computed once per item; homogeneous numbers or strings are
        compared as plain Python values, and mixed directions sort in stable
        passes (least significant field first) instead of wrapping keys.

        Cost: O(n log n), or O(n log limit) with a small ``limit``.
        """
        items = docs if isinstance(docs, list) else list(docs)
        n = len(items)
        if self.natural == -1:
            items = items[::-1]
        if not self.spec or n < 2:
            return items[:limit] if limit else list(items)
        get = doc_of
        if len(self._keys) == 1 or self._reverse or {d for _, d in self.spec} == {1}:
            keys = None
            if self._top_field is not None:
                keys = self._plain_top_level(items, get)
            if keys is None:
                key = self.key
                keys = [key(it) for it in items] if get is None else [key(get(it)) for it in items]
                if len(self._keys) == 1:
                    keys = _plain(keys)
            if limit and limit < n // 4:
                pick = heapq.nlargest if self._reverse else heapq.nsmallest
                order = pick(limit, range(n), key=keys.__getitem__)
            else:
                order = sorted(range(n), key=keys.__getitem__, reverse=self._reverse)
                if limit:
                    order = order[:limit]
            return [items[i] for i in order]
        docs_ = items if get is None else [get(it) for it in items]
        columns = []
        for field_key, (path, direction) in zip(self._keys, self.spec):
            column = None
            if "." not in path:  # plain values need no key at all
                column = _plain_values([d.get(path, MISSING) for d in docs_],
                                       self._strings_plain)
            if column is None:
                keys = [field_key(d) for d in docs_]
                column = _plain(keys)
                if column is keys:
                    columns.append((column, direction, False))
                    continue
            columns.append((column, direction, _is_number(column[0])))
        if all(numeric or direction == 1 for _, direction, numeric in columns):
            # Descending fields are all plain numbers: negate them and sort once
            # on tuples (a heap for a small limit), still stable.
            rows = list(zip(*[[-v for v in column] if direction == -1 else column
                              for column, direction, _ in columns]))
            if limit and limit < n // 4:
                order = heapq.nsmallest(limit, range(n), key=rows.__getitem__)
            else:
                order = sorted(range(n), key=rows.__getitem__)
        else:
            # Stable passes, least significant field first.
            order = list(range(n))
            for column, direction, _ in reversed(columns):
                order.sort(key=column.__getitem__, reverse=direction == -1)
        if limit:
            order = order[:limit]
        return [items[i] for i in order]


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) or isinstance(value, decimal.Decimal)


def _plain_values(values: list, strings: bool) -> list | None:
    """``values`` themselves when they order like their keys (all numbers, no NaN
    and no bool; or all str without a collation), else None."""
    t0 = type(values[0])
    if t0 is int or t0 is float:
        for v in values:
            t = type(v)
            if t is not int and (t is not float or v != v):
                return None
        return values
    if t0 is str and strings:
        for v in values:
            if type(v) is not str:
                return None
        return values
    return None


def _plain(keys: list) -> list:
    """Keys as plain values when they are all non-NaN numbers or all strings.

    Comparing ints/floats/strings is much cheaper than comparing key tuples,
    and orders them identically.
    """
    first = keys[0]
    rank = first[0]
    if rank == _bt.RANK_NUMBER:
        for k in keys:
            if k[0] != rank or len(k) != 3:
                return keys
        return [k[2] for k in keys]
    if rank == _bt.RANK_STRING:
        for k in keys:
            if k[0] != rank:
                return keys
        return [k[1] for k in keys]
    return keys


def compile_sort(spec: Any, *, collation: Any = None) -> Sorter:
    """Compile a sort spec (any form :func:`normalize_sort` accepts).

        >>> s = compile_sort([("a", 1), ("b", -1)])
        >>> [d["b"] for d in s.sorted([{"a": 1, "b": 1}, {"a": 1, "b": 2}, {"a": 0, "b": 0}])]
        [0, 2, 1]
    """
    pairs = spec if _is_normalized(spec) else normalize_sort(spec)
    return Sorter(list(pairs), parse_collation(collation))


def _is_normalized(spec: Any) -> bool:
    return isinstance(spec, list) and all(
        isinstance(p, tuple) and len(p) == 2 and p[1] in (1, -1) and type(p[1]) is int for p in spec
    )
