"""Dotted field paths: splitting, strict lookup, and the query's array fan-out.

Two ways of following ``"a.b.c"`` through a document exist in MongoDB:

* **strict** (:func:`get_path`) — what updates and ``$``-free projections use:
  each component names a field of a document, or (when it is all digits) an
  index of an array. Arrays are never fanned out.

      >>> get_path({"a": [{"b": 1}, {"b": 2}]}, ("a", "1", "b"))
      2
      >>> get_path({"a": [{"b": 1}]}, ("a", "b"))
      MISSING

* **query fan-out** (:func:`iter_path_values`) — what filters, multikey index
  keys and ``distinct`` use: an array met in the middle of a path is
  traversed implicitly (each embedded document continues the path), and a
  numeric component also selects an array element by position. The values
  found at the end of the path are yielded (with ``expand_arrays=True`` a
  terminal array yields each element and then itself, as the matcher sees
  them).

      >>> list(iter_path_values({"a": [{"b": 1}, {"c": 2}, 3]}, ("a", "b")))
      [1, MISSING]

The traversal follows the server's ``BSONElementIterator`` (classic engine):
non-document elements of an array in the middle of a path contribute nothing,
and nested arrays are only entered through an explicit numeric component. A
path that reaches nothing at all (``"a.b"`` in ``{a: [1, 2]}``) yields one
``MISSING`` by default, as index keys and ``$lookup`` want it (null); the
matcher asks for no filling (``fill_missing=False``), because MongoDB 7.x
does not let ``{"a.b": null}`` match ``{a: [1, 2]}`` or ``{a: []}`` (that
changed only with SERVER-36681, in 9.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Iterator

from bson import DBRef

from .bsontypes import MISSING
from .errors import EMPTY_FIELD_NAME, ServerError

__all__ = [
    "get_path",
    "is_array_index",
    "iter_path_positions",
    "iter_path_values",
    "split_path",
    "split_path_lenient",
]


@lru_cache(maxsize=8192)
def split_path_lenient(path: str) -> tuple[str, ...]:
    """``path.split(".")`` as a cached tuple, accepting empty components.

    Queries accept paths such as ``"a..b"`` (they just match nothing useful);
    use this where the server does not validate the path.
    """
    return tuple(path.split("."))


@lru_cache(maxsize=8192)
def split_path(path: str) -> tuple[str, ...]:
    """Split a dotted path into a cached tuple of components.

    Raises ``ServerError(56 EmptyFieldName)`` for an empty path or an empty
    component; callers whose command words the error differently catch and
    re-raise with their own message.

        >>> split_path("a.0.b")
        ('a', '0', 'b')
    """
    parts = tuple(path.split("."))
    if "" in parts:
        raise ServerError(
            EMPTY_FIELD_NAME,
            f"The path '{path}' contains an empty field name, which is not allowed.",
        )
    return parts


def is_array_index(part: str) -> bool:
    """Whether a path component can address an array element (ASCII digits)."""
    return part.isdigit() and part.isascii()


def _is_doc(v: Any) -> bool:
    return type(v) is dict or isinstance(v, (Mapping, DBRef))


def _as_doc(v: Any) -> Any:
    """Documents as mappings: a decoded DBRef is the document {$ref, $id, ...}."""
    return v.as_doc() if isinstance(v, DBRef) else v


def _is_array(v: Any) -> bool:
    t = type(v)
    return t is list or t is tuple or isinstance(v, (list, tuple))


def get_path(doc: Any, parts: tuple[str, ...], default: Any = MISSING) -> Any:
    """The value at ``parts`` by strict lookup, or ``default``.

    A numeric component indexes an array; any other component on an array,
    or any component on a scalar, finds nothing. O(len(parts)).

        >>> get_path({"a": {"b": [5, 6]}}, ("a", "b", "0"))
        5
    """
    cur = doc
    for part in parts:
        if type(cur) is dict:
            cur = cur.get(part, MISSING)
            if cur is MISSING:
                return default
        elif _is_doc(cur):
            cur = _as_doc(cur).get(part, MISSING)
            if cur is MISSING:
                return default
        elif _is_array(cur):
            if not is_array_index(part):
                return default
            index = int(part)
            if index >= len(cur):
                return default
            cur = cur[index]
        else:
            return default
    return cur


def _from_doc(obj: Any, parts: tuple[str, ...], start: int, expand: bool) -> Iterator[tuple[Any, Any]]:
    """Follow ``parts[start:]`` from the document ``obj`` (getFieldDottedOrArray).

    Walks embedded documents until the path ends or an array is met; yields
    ``(value, position)`` pairs.
    """
    n = len(parts)
    cur = _as_doc(obj)
    i = start
    while True:
        value = cur.get(parts[i], MISSING)
        if value is MISSING:
            yield MISSING, None
            return
        if _is_array(value):
            yield from _from_array(value, parts, i + 1, expand)
            return
        if i == n - 1:
            yield value, None
            return
        if not _is_doc(value):
            # A scalar in the middle of the path: the rest is missing.
            yield MISSING, None
            return
        cur = _as_doc(value)
        i += 1


def _from_array(arr: Any, parts: tuple[str, ...], rest: int, expand: bool) -> Iterator[tuple[Any, Any]]:
    """Continue the path ``parts[rest:]`` through the elements of ``arr``."""
    n = len(parts)
    if rest == n:
        # The path ends at this array: its elements (if asked), then itself.
        if expand:
            for index, element in enumerate(arr):
                yield element, index
        yield arr, None
        return
    nxt = parts[rest]
    offset = int(nxt) if is_array_index(nxt) and str(int(nxt)) == nxt else -1
    for index, element in enumerate(arr):
        if _is_doc(element):
            # Implicit traversal: the outermost array position is reported.
            for value, _ in _from_doc(element, parts, rest, expand):
                yield value, index
            if index == offset:
                # "a.0.b": element 0 also continues the path after the index.
                if rest + 1 == n:
                    yield element, None
                else:
                    yield from _from_doc(element, parts, rest + 1, expand)
        elif index == offset:
            if rest + 1 == n:
                yield element, None  # the path ends at the indexed element
            elif _is_array(element):
                yield from _from_array(element, parts, rest + 1, expand)
            # a scalar at the index with path left over contributes nothing


def iter_path_positions(
    doc: Any, parts: tuple[str, ...], *, expand_arrays: bool = False, fill_missing: bool = True
) -> Iterator[tuple[Any, int | None]]:
    """Yield ``(value, position)`` for each value the query path reaches.

    ``position`` is the index, in the first array implicitly traversed, of the
    element the value came from (what the positional ``$`` operator refers
    to), or ``None`` when no array was traversed implicitly. With
    ``expand_arrays``, a terminal array yields each element (position = its
    index, unless an outer array already set one) and then the array itself.
    With ``fill_missing`` (the default) it yields ``(MISSING, None)`` when the
    path reaches nothing at all; without, it then yields nothing.

        >>> list(iter_path_positions({"a": [{"b": 1}, {"b": 7}]}, ("a", "b")))
        [(1, 0), (7, 1)]
    """
    if not fill_missing:
        yield from _from_doc(doc, parts, 0, expand_arrays)
        return
    found = False
    for pair in _from_doc(doc, parts, 0, expand_arrays):
        found = True
        yield pair
    if not found:
        yield MISSING, None


def iter_path_values(
    doc: Any, parts: tuple[str, ...], *, expand_arrays: bool = False, fill_missing: bool = True
) -> Iterator[Any]:
    """Yield each value the query path ``parts`` reaches in ``doc``.

    See :func:`iter_path_positions`; this drops the positions. Index key
    generation and ``distinct`` use it (``MISSING`` marks a branch where the
    field is absent).

        >>> list(iter_path_values({"a": [[1], {"b": 2}]}, ("a", "b")))
        [2]
        >>> list(iter_path_values({"a": [1, 2]}, ("a",), expand_arrays=True))
        [1, 2, [1, 2]]
    """
    found = False
    for value, _ in _from_doc(doc, parts, 0, expand_arrays):
        found = True
        yield value
    if not found and fill_missing:
        yield MISSING
