"""Django-style keyword lookups, compiled to MongoDB query and update documents.

A keyword such as ``nested__field1__gt=3`` is *parsed* into a path
(``nested.field1``) and a lookup (``gt``), then *compiled* into exactly the
filter document a MongoDB server receives::

    >>> compile_filter({"age__gt": 50, "age__lte": 60, "name": "joe"})
    {'age': {'$gt': 50, '$lte': 60}, 'name': 'joe'}
    >>> compile_update({"nested__field1": 1})
    {'$set': {'nested.field1': 1}}

Rules:

* ``a__b__c`` is the dotted path ``a.b.c``; a final segment that is a lookup
  name is the lookup, anything else is one more path segment (so
  ``tags__0`` is ``tags.0``). To query a field whose name is a lookup name,
  end with an explicit ``__eq`` (``stats__size__eq=3``).
* Several lookups on one field combine into one operator document; if two
  would need the same operator (``name__contains``/``name__startswith`` both
  need ``$regex``) the extra ones go into a top-level ``$and``.
* Equality to a dict is matched literally (``{"$eq": {...}}``), so data never
  turns into a query operator, and keyword names starting with ``$`` are
  refused.
* ``field__not__<lookup>=v`` negates one lookup: ``{"field": {"$not": {...}}}``.

Parsing is cached per keyword; compiling is a dict build, nothing more.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import re
import uuid
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from bson.objectid import ObjectId
from bson.regex import Regex

from .errors import DongoLookupError

__all__ = [
    "LOOKUPS",
    "ParsedLookup",
    "parse_lookup",
    "compile_filter",
    "compile_update",
    "regex_escape",
    "field_path",
    "merge_filters",
]

_SEP = "__"


def regex_escape(text: str) -> str:
    """Escape ``text`` so a MongoDB (PCRE) regex matches it literally.

    Python's :func:`re.escape` only backslash-escapes ASCII punctuation and
    whitespace, and PCRE treats a backslash before any non-alphanumeric
    character as that literal character, so its output is valid for both.

        >>> regex_escape("a.b*c (d)")
        'a\\\\.b\\\\*c\\\\ \\\\(d\\\\)'
    """
    return re.escape(text)


def _as_list(value: Any, lookup: str) -> list:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise DongoLookupError(
            f"the {lookup!r} lookup needs a list of values, got {value!r}; "
            f"write e.g. color__{lookup}=['red', 'blue']"
        )
    return list(value)


def _as_text(value: Any, lookup: str) -> str:
    if not isinstance(value, str):
        raise DongoLookupError(
            f"the {lookup!r} lookup compares text, got {type(value).__name__} {value!r}; "
            f"pass a str (use __regex for a ready-made pattern)"
        )
    return value


# The absolute end of the text. `$` would also match before a final newline
# (in PCRE and Python alike) and PCRE's `\z` is not Python's; a negative
# lookahead for any character means the same in both.
_END = "(?![\\s\\S])"


def _regex(pattern: str, insensitive: bool) -> Dict[str, Any]:
    return {"$regex": pattern, "$options": "i"} if insensitive else {"$regex": pattern}


# Each compiler turns the keyword's value into the operator document for the
# field; the operator documents of one field are merged.
def _simple(op: str) -> Callable[[Any], Dict[str, Any]]:
    return lambda value: {op: value}


def _listed(op: str, name: str) -> Callable[[Any], Dict[str, Any]]:
    return lambda value: {op: _as_list(value, name)}


def _text(name: str, prefix: str, suffix: str, insensitive: bool):
    def compile_text(value: Any) -> Dict[str, Any]:
        return _regex(prefix + regex_escape(_as_text(value, name)) + suffix, insensitive)

    return compile_text


def _mod(value: Any) -> Dict[str, Any]:
    parts = _as_list(value, "mod")
    if len(parts) != 2:
        raise DongoLookupError(f"the 'mod' lookup needs [divisor, remainder], got {value!r}")
    return {"$mod": parts}


def _exists(value: Any) -> Dict[str, Any]:
    return {"$exists": bool(value)}


def _regex_lookup(value: Any) -> Dict[str, Any]:
    if not isinstance(value, (str, Regex, re.Pattern)):
        raise DongoLookupError(f"the 'regex' lookup needs a pattern string, got {value!r}")
    return {"$regex": value}


def _elemmatch(value: Any) -> Dict[str, Any]:
    """``{'gt': 5}`` matches scalar elements; ``{'score__gt': 5}`` fields of documents."""
    if not isinstance(value, Mapping) or not value:
        raise DongoLookupError(
            "the 'elemmatch' lookup needs a non-empty dict of lookups, e.g. "
            "results__elemmatch={'product': 'xyz', 'score__gte': 8} or scores__elemmatch={'gte': 80}"
        )
    element_ops: Dict[str, Any] = {}
    field_lookups: Dict[str, Any] = {}
    for key, val in value.items():
        if key in LOOKUPS and key not in _FIELD_ONLY:
            element_ops[key] = val
        else:
            field_lookups[key] = val
    spec: Dict[str, Any] = {}
    for key, val in element_ops.items():
        if _merge_ops(spec, LOOKUPS[key](val)) is not None:
            raise DongoLookupError(f"lookups in elemmatch={value!r} need the same operator twice")
    spec.update(compile_filter(field_lookups) if field_lookups else {})
    return {"$elemMatch": spec}


def _not(value: Any) -> Dict[str, Any]:
    """``field__not=v``: a regex negates the match, a dict of lookups negates them."""
    if isinstance(value, (Regex, re.Pattern)):
        return {"$not": value}
    if isinstance(value, Mapping):
        if not value:
            raise DongoLookupError("the 'not' lookup needs a non-empty dict like {'gt': 5}")
        inner: Dict[str, Any] = {}
        for key, val in value.items():
            if key not in LOOKUPS or key in _FIELD_ONLY:
                raise DongoLookupError(
                    f"unknown lookup {key!r} inside 'not'{_hint(key)}; "
                    f"write e.g. age__not={{'gt': 5}}"
                )
            if _merge_ops(inner, LOOKUPS[key](val)) is not None:
                raise DongoLookupError(f"lookups in not={value!r} need the same operator twice")
        return {"$not": inner}
    return {"$not": {"$eq": value}}


#: lookup name → compiler of the keyword's value to an operator document.
LOOKUPS: Dict[str, Callable[[Any], Dict[str, Any]]] = {
    "eq": _simple("$eq"),
    "ne": _simple("$ne"),
    "gt": _simple("$gt"),
    "gte": _simple("$gte"),
    "lt": _simple("$lt"),
    "lte": _simple("$lte"),
    "in": _listed("$in", "in"),
    "nin": _listed("$nin", "nin"),
    "all": _listed("$all", "all"),
    "regex": _regex_lookup,
    "exists": _exists,
    "size": _simple("$size"),
    "mod": _mod,
    "type": _simple("$type"),
    "elemmatch": _elemmatch,
    "not": _not,
    "iexact": _text("iexact", "^", _END, True),
    "contains": _text("contains", "", "", False),
    "icontains": _text("icontains", "", "", True),
    "startswith": _text("startswith", "^", "", False),
    "istartswith": _text("istartswith", "^", "", True),
    "endswith": _text("endswith", "", _END, False),
    "iendswith": _text("iendswith", "", _END, True),
}

# Lookups that only make sense as the last segment of a field keyword (they
# are not element operators inside elemmatch/not).
_FIELD_ONLY = frozenset({"elemmatch", "not"})


class ParsedLookup(NamedTuple):
    """A parsed keyword: ``path`` (dotted), ``lookup`` name, and whether it is negated."""

    path: str
    lookup: str
    negated: bool


def _hint(segment: str) -> str:
    close = difflib.get_close_matches(segment.lower(), LOOKUPS, n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise DongoLookupError(f"field names must be non-empty strings, got {key!r}")
    if key.startswith("$") or "__$" in key or ".$" in key:
        where = "starts with '$'" if key.startswith("$") else "has a part that starts with '$'"
        raise DongoLookupError(
            f"keyword {key!r} {where}: dongo builds query operators from lookups "
            f"(age__gt=3), it never takes them from keyword names"
        )


@functools.lru_cache(maxsize=4096)
def parse_lookup(key: str) -> ParsedLookup:
    """Split a keyword into path, lookup and negation.

        >>> parse_lookup("accounts__creditcard__gt")
        ParsedLookup(path='accounts.creditcard', lookup='gt', negated=False)
        >>> parse_lookup("tags__0")
        ParsedLookup(path='tags.0', lookup='eq', negated=False)
        >>> parse_lookup("age__not__in")
        ParsedLookup(path='age', lookup='in', negated=True)

    Raises :class:`DongoLookupError` for ``$`` keywords, empty segments, and a
    final segment that is not a lookup but looks like a misspelt one.
    """
    _check_key(key)
    parts = key.split(_SEP)
    if any(part == "" for part in parts):
        raise DongoLookupError(
            f"keyword {key!r} has an empty segment; separate path parts and lookups "
            f"with exactly two underscores, e.g. nested__field__gt"
        )
    lookup = "eq"
    negated = False
    if len(parts) > 1:
        last = parts[-1]
        if last in LOOKUPS:
            lookup = parts.pop()
            if len(parts) > 1 and parts[-1] == "not" and lookup != "not":
                parts.pop()
                negated = True
        else:
            hint = _hint(last)
            if hint:
                raise DongoLookupError(
                    f"unknown lookup {last!r} in {key!r}{hint} "
                    f"(if {last!r} is a field name, write {key + '__eq'!r})"
                )
    return ParsedLookup(".".join(parts), lookup, negated)


@functools.lru_cache(maxsize=4096)  # per write keyword, e.g. every bulk inc_one
def field_path(key: str) -> str:
    """The dotted path of an update/set keyword: ``a__b`` → ``a.b``.

        >>> field_path("nested__field1")
        'nested.field1'
    """
    _check_key(key)
    parts = key.split(_SEP)
    if any(part == "" for part in parts):
        raise DongoLookupError(f"keyword {key!r} has an empty segment")
    return ".".join(parts)


def _merge_ops(target: Dict[str, Any], ops: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Merge ``ops`` into ``target``; return ``ops`` untouched if it collides.

    A lookup's operators stay together ($regex with its $options), so a
    collision moves the whole lookup into the top-level ``$and``.
    """
    if target:  # the first lookup of a field never collides
        for op in ops:
            if op in target:
                return ops
        if "$regex" in ops and "$options" in target:
            return ops
    target.update(ops)
    return None


def _field_ops(parsed: ParsedLookup, value: Any) -> Dict[str, Any]:
    ops = LOOKUPS[parsed.lookup](value)
    if parsed.negated:
        return {"$not": ops}
    return ops


# Keywords already parsed into a path and a comparison that needs no work on
# the value: ``name`` → ("name", None) (equality), ``age__gte`` → ("age",
# "$gte"). Valid keywords, so compile_filter can skip parsing and merging.
# Bounded like parse_lookup's cache, in case keyword names are generated.
_SIMPLE_KEYS: Dict[str, Tuple[str, Optional[str]]] = {}
_SIMPLE_KEYS_MAX = 4096
_SIMPLE_OPS = {"eq": None, "ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
# Values an equality writes the short way ({"name": value}) whatever their
# content: not dicts or regexes (see _needs_eq). Exact types: anything else
# (a subclass, a list, Int64 ...) takes the general path.
_PLAIN_VALUE_TYPES = frozenset({str, int, float, bool, type(None), bytes, ObjectId, datetime.datetime, uuid.UUID})


def compile_filter(lookups: Mapping[str, Any]) -> Dict[str, Any]:
    """Compile lookup keywords into a MongoDB filter document.

        >>> compile_filter({"color__nin": ["red", "blue"], "age__gt": 50, "age__lte": 60})
        {'color': {'$nin': ['red', 'blue']}, 'age': {'$gt': 50, '$lte': 60}}
        >>> compile_filter({"age": 5, "age__ne": None})
        {'age': {'$eq': 5, '$ne': None}}
        >>> compile_filter({"meta": {"$gt": 1}})
        {'meta': {'$eq': {'$gt': 1}}}
    """
    # Fast path, the commonest filters: known keywords comparing scalars, one
    # per field (``username='joe'``, ``score__gte=5``) need no merging.
    query: Dict[str, Any] = {}
    simple = _SIMPLE_KEYS
    for key, value in lookups.items():
        known = simple.get(key) if type(value) in _PLAIN_VALUE_TYPES else None
        if known is None or known[0] in query:
            return _compile_filter(lookups)
        path, op = known
        query[path] = value if op is None else {op: value}
    return query


def _compile_filter(lookups: Mapping[str, Any]) -> Dict[str, Any]:
    """:func:`compile_filter` for any lookups (the general build)."""
    by_path: Dict[str, Dict[str, Any]] = {}
    extra: List[Dict[str, Any]] = []
    for key, value in lookups.items():
        parsed = parse_lookup(key)
        if parsed.lookup in _SIMPLE_OPS and not parsed.negated and len(_SIMPLE_KEYS) < _SIMPLE_KEYS_MAX:
            _SIMPLE_KEYS[key] = (parsed.path, _SIMPLE_OPS[parsed.lookup])
        ops = _field_ops(parsed, value)
        collided = _merge_ops(by_path.setdefault(parsed.path, {}), ops)
        if collided is not None:
            extra.append({parsed.path: collided})
    query: Dict[str, Any] = {}
    for path, ops in by_path.items():
        if not ops:
            continue
        # A lone scalar equality is written the short way, as people (and
        # index-using servers) expect: {"name": "joe"}.
        if len(ops) == 1 and "$eq" in ops and not _needs_eq(ops["$eq"]):
            query[path] = ops["$eq"]
        else:
            query[path] = ops
    if extra:
        query["$and"] = extra
    return query


def _needs_eq(value: Any) -> bool:
    # Dicts would be read as operator documents and regexes as pattern matches;
    # both must be compared literally when the user asked for equality.
    return isinstance(value, (Mapping, Regex, re.Pattern))


def compile_update(fields: Mapping[str, Any], operator: str = "$set") -> Dict[str, Any]:
    """Compile update keywords into one update operator document.

        >>> compile_update({"age": 31, "nested__field1": "x"})
        {'$set': {'age': 31, 'nested.field1': 'x'}}
        >>> compile_update({"age": 1}, "$inc")
        {'$inc': {'age': 1}}
    """
    if not fields:
        raise DongoLookupError("an update needs at least one field, e.g. .update(age=31)")
    return {operator: {field_path(key): value for key, value in fields.items()}}


def merge_filters(*queries: Mapping[str, Any]) -> Dict[str, Any]:
    """AND filter documents together, flat when their fields do not overlap.

        >>> merge_filters({"a": 1}, {"b": 2})
        {'a': 1, 'b': 2}
        >>> merge_filters({"a": 1}, {"a": 2})
        {'$and': [{'a': 1}, {'a': 2}]}
    """
    parts = [dict(q) for q in queries if q]
    if not parts:
        return {}
    if len(parts) == 1:
        return parts[0]
    merged: Dict[str, Any] = {}
    for part in parts:
        if any(key in merged for key in part):  # top-level keys are ANDed anyway
            return {"$and": parts}
        merged.update(part)
    return merged
