"""A pymongo-shaped ``Collection`` over the memory engine.

``MemoryCollection`` has pymongo 4's method names, arguments, result classes
(``pymongo.results.*``), write models (``pymongo.operations.*``) and
exceptions (``pymongo.errors.*``).  Client-side argument checks are pymongo's
own (``pymongo.common`` validators); server-side failures are the engine's
:class:`~.errors.ServerError`, translated by :mod:`.wire` exactly as pymongo
translates a server reply.

    >>> from dongo.backends.memory import MemoryClient
    >>> coll = MemoryClient()["db"]["people"]
    >>> coll.insert_one({"_id": 1, "name": "Ada"}).inserted_id
    1
    >>> coll.update_one({"_id": 1}, {"$set": {"age": 36}}).modified_count
    1
    >>> coll.find_one({"_id": 1})
    {'_id': 1, 'name': 'Ada', 'age': 36}

What a server stores: each document is encoded with ``bson.encode`` (which
validates it, truncates datetimes to milliseconds, turns tuples into lists,
puts ``_id`` first) and kept as raw bytes plus its decoded form; reads decode
the bytes again, so callers never share state with the store (see
:mod:`.storage`).  Filters and update documents are round-tripped the same
way before compiling, so the engine sees what a server would receive.

Concurrency: each collection has one re-entrant lock (``Namespace.lock``).
Every write statement holds it from finding its documents to storing them
(single-document writes and ``find_one_and_*`` are atomic, like on a
server); cursors only hold it to snapshot their candidate record ids.

Views (``create_collection(name, viewOn=..., pipeline=[...])``) are read
through their pipeline (``find``, counts, ``distinct``, ``aggregate``); writes
to them fail with code 166 like on a server.

Server version: ``update_one``/``replace_one``/bulk updates with ``sort`` (a
MongoDB 8.0 feature) fail with ``OperationFailure`` 40415 on the default
7.0 client, as the driver specification tests record for servers before
8.0; a ``MemoryClient(server_version="8.0")`` updates the first document in
that sort order.

Sessions are accepted everywhere and ignored; ``max_time_ms`` is validated
and ignored; write concern ``w=0`` gives unacknowledged results.  Not
supported (``NotImplementedError``): collection validators, capped and time
series collections, change streams, raw-batch cursors.
"""

from __future__ import annotations

import heapq
from collections import abc
from itertools import islice
from typing import Any, Iterable, Iterator, Mapping, Optional

import bson
from bson import ObjectId, Timestamp
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from bson.regex import Regex
import pymongo
from pymongo import common
from pymongo.collation import validate_collation_or_none
from pymongo.errors import BulkWriteError, ConfigurationError, InvalidName
from pymongo.operations import IndexModel
from pymongo.read_concern import ReadConcern
from pymongo.results import DeleteResult, InsertManyResult, InsertOneResult, UpdateResult
from pymongo.write_concern import WriteConcern

from . import bsontypes
from .collation import parse_collation as _parse_collation
from .collation import sort_key_for
from .errors import ServerError
from .expressions import compile_expression, validate_variable_name
from .filters import compile_filter as _compile_filter
from .paths import split_path
from .projection import compile_projection
from .sort import compile_sort
from .options import OptionHolder
from .storage import MAX_BSON_SIZE, Namespace, decode_raw, encode_document
from .updates import compile_replacement, compile_update, upsert_seed
from .wire import (new_bulk_result, raise_command_error, raise_write_error,
                   write_error_document)

try:  # pymongo >= 4.9
    from pymongo import helpers_shared as _helpers
except ImportError:  # pragma: no cover - pymongo 4.6 - 4.8
    from pymongo import helpers as _helpers  # type: ignore[no-redef]


# pymongo 4.20 raises TypeError for a return_document that is not a bool;
# earlier 4.x releases raise ValueError. Raise what the installed pymongo does.
_RETURN_DOCUMENT_ERROR = TypeError if pymongo.version_tuple >= (4, 20) else ValueError


class ReturnDocument:
    """Same values as ``pymongo.ReturnDocument`` (``BEFORE`` is False)."""

    BEFORE = False
    AFTER = True


def _cursor_module() -> Any:
    """cursor.py imports this module, so it is imported on first use."""
    global _CURSOR
    if _CURSOR is None:
        from . import cursor

        _CURSOR = cursor
    return _CURSOR


_CURSOR: Any = None


# -- small helpers shared with cursor.py / database.py / bulk.py ------------------


def validate_collection_name(name: Any) -> None:
    """pymongo's client-side checks on a collection name."""
    if not isinstance(name, str):
        raise TypeError(f"name must be an instance of str, not {type(name)}")
    if not name or ".." in name:
        raise InvalidName("collection names cannot be empty")
    if "$" in name and not name.startswith(("oplog.$main", "$cmd")):
        raise InvalidName(f"collection names must not contain '$': {name!r}")
    if name[0] == "." or name[-1] == ".":
        raise InvalidName(f"collection names must not start or end with '.': {name!r}")
    if "\x00" in name:
        raise InvalidName("collection names must not contain the null character")


def normalize_hint(hint: Any) -> Any:
    """A hint as pymongo sends it: an index name or a key document."""
    if hint is None or isinstance(hint, str):
        return hint
    return _helpers._index_document(hint)


def normalize_sort(sort: Any) -> Optional[dict]:
    """A sort argument (list of pairs or mapping) as the document pymongo sends."""
    if not sort:
        return None
    if isinstance(sort, abc.Mapping):
        return dict(sort)
    return _helpers._index_document(_helpers._index_list(sort))


def normalize_projection(projection: Any) -> Optional[Mapping[str, Any]]:
    if projection is None:
        return None
    return _helpers._fields_list_to_dict(projection, "projection")


def validate_max_time_ms(max_time_ms: Any) -> None:
    if max_time_ms is not None and not isinstance(max_time_ms, int):
        raise TypeError(f"max_time_ms must be an integer or None, not {type(max_time_ms)}")


def parse_collation(collation: Any) -> Any:
    """The engine's collation object for a pymongo collation argument (or None)."""
    spec = validate_collation_or_none(collation)
    if spec is None:
        return None
    return _parse_collation(spec)


def compile_filter(spec: Mapping[str, Any], collation: Any = None, let: Any = None) -> Any:
    """The engine's compiled filter (``let``: the evaluated ``let`` variables)."""
    return _compile_filter(spec, collation=collation, variables=let)


class Statement:
    """One parsed write statement, as a server receives it (q/u/multi/upsert...)."""

    __slots__ = ("q", "u", "multi", "upsert", "is_replace", "collation", "array_filters",
                 "hint", "sort")

    def __init__(self, q: Mapping[str, Any], u: Any = None, *, multi: bool = False,
                 upsert: bool = False, is_replace: bool = False, collation: Any = None,
                 array_filters: Any = None, hint: Any = None, sort: Any = None) -> None:
        self.q = q
        self.u = u
        self.multi = multi
        self.upsert = upsert
        self.is_replace = is_replace
        self.collation = collation
        self.array_filters = array_filters
        self.hint = hint
        self.sort = sort


def _check_id(value: Any) -> None:
    """The server's storage checks on an inserted ``_id``."""
    if type(value) in _PLAIN_ID_TYPES:
        return
    if isinstance(value, list):
        raise ServerError(53, "The '_id' value cannot be of type array")
    if isinstance(value, Regex):
        raise ServerError(53, "The '_id' value cannot be of type regex")
    if isinstance(value, dict):
        bad = _first_dollar_field(value)
        if bad is not None:
            raise ServerError(52, f"_id fields may not contain '$'-prefixed fields: {bad} is "
                                  "not valid for storage.")


_PLAIN_ID_TYPES = frozenset({ObjectId, int, str, float})


class _IdEquals:
    """The matcher of ``{"_id": <ObjectId, int, str or float>}``: a fast path for
    the commonest query, equal to the compiled filter (BSON equality: ``1``,
    ``1.0`` and ``Int64(1)`` are one value) without compiling anything."""

    __slots__ = ("spec", "_key", "fn")

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self._key = key = bsontypes.sort_key(spec["_id"])
        sort_key, missing = bsontypes.sort_key, bsontypes.MISSING

        def fn(doc: Mapping[str, Any]) -> bool:  # no reference back to self: no cycle
            return sort_key(doc.get("_id", missing)) == key

        self.fn = fn

    def __call__(self, doc: Mapping[str, Any]) -> bool:
        return self.fn(doc)

    def match_position(self, doc: Mapping[str, Any]) -> tuple:
        return self(doc), None


def _stored_doc(item: tuple) -> dict:
    """The stored document of a ``(rid, (doc, raw))`` pair."""
    return item[1][0]


# The matching helpers below read ``docs`` (rid → stored doc) and build a
# ``(rid, (doc, raw))`` pair for each match only: records are not stored as
# tuples (see storage.py), the pairs are short-lived.

def _first_matches(rids: Iterable[int], docs: Mapping, raws: Mapping, matcher: Any,
                   wanted: int) -> list:
    """The first ``wanted`` ``(rid, (doc, raw))`` pairs of ``rids`` that match."""
    selected = []
    match = matcher.fn
    get = docs.get
    for rid in rids:
        doc = get(rid)
        if doc is not None and match(doc):
            selected.append((rid, (doc, raws[rid])))
            if len(selected) >= wanted:
                break
    return selected


def _scan(docs: dict, matcher: Any) -> Iterator[tuple[int, dict]]:
    """The matching ``(rid, doc)`` pairs of a whole collection, in natural order.

    For ``{field: scalar}`` (``matcher.eq``) the common test is written inline
    -- a stored value of the same type matches iff it is equal -- so most
    documents cost no predicate call; others go to the compiled predicate."""
    match = matcher.fn
    eq = getattr(matcher, "eq", None)
    if eq is None:
        for item in docs.items():
            if match(item[1]):
                yield item
        return
    field, value = eq
    value_type = type(value)
    missing = bsontypes.MISSING
    for item in docs.items():
        v = item[1].get(field, missing)
        if type(v) is value_type:
            if v == value:
                yield item
        elif match(item[1]):
            yield item


def _all_matches(rids: Optional[Iterable[int]], docs: dict, raws: dict, matcher: Any) -> list:
    """Every matching ``(rid, (doc, raw))`` pair, in ``rids`` order (None: all records
    in natural order, walked directly); the caller holds the lock."""
    match = matcher.fn
    if rids is None:
        return [(rid, (doc, raws[rid])) for rid, doc in _scan(docs, matcher)]
    get = docs.get
    matched = []
    for rid in rids:
        doc = get(rid)
        if doc is not None and match(doc):
            matched.append((rid, (doc, raws[rid])))
    return matched


def _first_matches_in_order(docs: dict, raws: dict, matcher: Any, wanted: int) -> list:
    """:func:`_first_matches` over a whole collection in natural order (a forward
    collection scan): the records themselves, without a lookup per record id."""
    return [(rid, (doc, raws[rid])) for rid, doc in islice(_scan(docs, matcher), wanted)]


# A lazy scan matches this many candidates per lock acquisition (see _select).
_SCAN_CHUNK = 256

# A top-k this small is taken with a heap straight over the scan (see _top_matches).
_HEAP_LIMIT = 1000


class _NotPlain(Exception):
    """A sort value :func:`_top_matches` cannot compare as a plain Python value."""


# Value types _plain_sort_key compares as themselves, per sort direction.
_ASCENDING_PLAIN = frozenset({int, float, str})
_DESCENDING_PLAIN = frozenset({int, float})


def _plain_sort_key(sort: Mapping[str, Any]) -> Optional[Any]:
    """A key ``(rid, doc) → tuple`` ordering documents as ``sort`` does, for
    top-level fields holding plain values (non-NaN numbers, and strings on
    ascending fields, without a collation); None for other sort specs.

    Descending numbers are negated, so one ascending comparison of tuples does
    the whole sort. A value of any other type (missing, null, bool, array,
    NaN, a string on a descending field...) raises :class:`_NotPlain` so the
    caller can fall back to the general sorter; so does a field mixing strings
    and numbers (the tuples' comparison raises TypeError).
    """
    fields = []
    for field, direction in sort.items():
        if "." in field or field.startswith("$") or type(direction) is not int \
                or direction not in (1, -1):
            return None
        allowed = _ASCENDING_PLAIN if direction == 1 else _DESCENDING_PLAIN
        fields.append((field, direction, allowed))
    if not fields:
        return None
    missing = bsontypes.MISSING

    def value(doc: Mapping[str, Any], field: str, sign: int, allowed: frozenset) -> Any:
        v = doc.get(field, missing)
        if type(v) not in allowed or v != v:
            raise _NotPlain
        return sign * v  # 1 * "s" is "s": only ascending fields allow strings

    if len(fields) == 1:
        (f1, s1, a1), = fields
        return lambda item: (value(item[1], f1, s1, a1),)
    if len(fields) == 2:  # the commonest compound sort, inlined
        (f1, s1, a1), (f2, s2, a2) = fields

        def key2(item: tuple) -> tuple:
            doc = item[1]
            v1, v2 = doc.get(f1, missing), doc.get(f2, missing)
            if type(v1) not in a1 or v1 != v1 or type(v2) not in a2 or v2 != v2:
                raise _NotPlain
            return s1 * v1, s2 * v2

        return key2
    return lambda item: tuple([value(item[1], f, sg, a) for f, sg, a in fields])


def _top_matches(docs: dict, raws: dict, matcher: Any, sort: Mapping[str, Any],
                 wanted: int) -> Optional[list]:
    """The first ``wanted`` matching ``(rid, (doc, raw))`` pairs in ``sort`` order,
    found by one heap pass over the scan (no list of matches, no list of keys);
    ties keep natural order (``heapq.nsmallest`` is stable). None when the sort
    or the values are not plain (the general sorter then decides). The caller
    holds the lock and scans forward."""
    key = _plain_sort_key(sort)
    if key is None:
        return None
    matching = _scan(docs, matcher)
    try:
        best = heapq.nsmallest(wanted, matching, key=key)
    except (_NotPlain, TypeError):
        return None
    return [(rid, (doc, raws[rid])) for rid, doc in best]


def _is_empty_timestamp(value: Any) -> bool:
    return type(value) is Timestamp and value.time == 0 and value.inc == 0


def _has_empty_timestamp(doc: dict) -> bool:
    return any(_is_empty_timestamp(v) for k, v in doc.items() if k != "_id")


def _first_dollar_field(doc: dict) -> Optional[str]:
    for key, val in doc.items():
        if key.startswith("$"):
            return key
        if isinstance(val, dict):
            inner = _first_dollar_field(val)
            if inner is not None:
                return inner
    return None


def _no_search_indexes(method: str) -> NotImplementedError:
    return NotImplementedError(f"Atlas Search indexes ({method}) are not supported by the "
                               "memory engine")


class MemoryCollection(OptionHolder):
    """A collection of a :class:`~.database.MemoryDatabase` (pymongo ``Collection`` shape)."""

    def __init__(self, database: Any, name: str, codec_options: Optional[CodecOptions] = None,
                 read_preference: Any = None, write_concern: Optional[WriteConcern] = None,
                 read_concern: Optional[ReadConcern] = None) -> None:
        validate_collection_name(name)
        self._database = database
        self._name = name
        self._full_name = f"{database.name}.{name}"
        self._set_options(codec_options, read_preference, write_concern, read_concern,
                          parent=database)
        self._dict_options: Optional[CodecOptions] = None  # codec options with dict documents

    # -- attributes ---------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def full_name(self) -> str:
        return self._full_name

    @property
    def database(self) -> Any:
        return self._database

    def with_options(self, codec_options: Optional[CodecOptions] = None,
                     read_preference: Any = None, write_concern: Optional[WriteConcern] = None,
                     read_concern: Optional[ReadConcern] = None) -> "MemoryCollection":
        return MemoryCollection(self._database, self._name,
                                codec_options or self._codec_options,
                                read_preference or self._read_preference,
                                write_concern or self._write_concern,
                                read_concern or self._read_concern)

    def __getattr__(self, name: str) -> "MemoryCollection":
        if name.startswith("_"):
            full_name = f"{self._name}.{name}"
            raise AttributeError(
                f"Collection has no attribute {name!r}. To access the {full_name}"
                f" collection, use database['{full_name}']."
            )
        return self.__getitem__(name)

    def __getitem__(self, name: str) -> "MemoryCollection":
        return MemoryCollection(self._database, f"{self._name}.{name}", self._codec_options,
                                self._read_preference, self._write_concern, self._read_concern)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, MemoryCollection):
            return self._database == other.database and self._name == other.name
        return NotImplemented

    def __ne__(self, other: Any) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self._database, self._name))

    def __repr__(self) -> str:
        return f"MemoryCollection({self._database!r}, {self._name!r})"

    def __bool__(self) -> bool:
        raise NotImplementedError(
            "Collection objects do not implement truth value testing or bool(). "
            "Please compare with None instead: collection is not None"
        )

    __iter__ = None  # type: ignore[assignment]

    def __next__(self) -> Any:
        raise TypeError("'Collection' object is not iterable")

    next = __next__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"'MemoryCollection' object is not callable. If you meant to call the "
                        f"'{self._name.split('.')[-1]}' method on a 'MemoryCollection' object "
                        "it is failing because no such method exists.")

    # -- storage access -------------------------------------------------------

    def _namespace(self, create: bool = False, write: bool = False) -> Optional[Namespace]:
        """This collection's storage (None when it does not exist and not ``create``);
        ``write``: raise ServerError 166 when the name is a view."""
        return self._database._namespace(self._name, create=create, write=write)

    @property
    def _acknowledged(self) -> bool:
        return self._write_concern.acknowledged

    def _store_options(self) -> CodecOptions:
        return self._database.client._store_options

    def _normalize(self, spec: Any) -> Any:
        """``spec`` as a server receives it: a BSON round trip (tuples → lists,
        datetimes truncated to ms, UUIDs encoded per the codec options)."""
        if not spec:
            return {} if spec is None or isinstance(spec, abc.Mapping) else spec
        if type(spec) is dict:
            copied = _copy_if_simple(spec)
            if copied is not None:
                return copied  # nothing a round trip would change: skip it
        if isinstance(spec, abc.Mapping):
            return bson.decode(bson.encode(spec, False, self._codec_options),
                               self._store_options())
        # a list (update pipeline, array filters): wrap it in a document
        return bson.decode(bson.encode({"v": spec}, False, self._codec_options),
                           self._store_options())["v"]

    def _reader(self, projection: Optional[Mapping[str, Any]], matcher: Any = None) -> Any:
        """A function raw BSON → the document a caller receives."""
        opts = self._codec_options
        if not projection:
            return lambda raw: decode_raw(raw, opts)

        projector = compile_projection(projection, matcher=matcher)
        if getattr(projector, "is_identity", False):
            return self._reader(None)
        dict_opts = self._dict_options
        if dict_opts is None:  # built once per collection object, not per query
            dict_opts = self._dict_options = opts.with_options(document_class=dict)
        if opts.document_class is dict and opts.type_registry is None:
            return lambda raw: projector(decode_raw(raw, dict_opts))
        return lambda raw: decode_raw(bson.encode(projector(decode_raw(raw, dict_opts)),
                                                  False, dict_opts), opts)

    def _decode_result(self, doc: Mapping[str, Any]) -> Any:
        """An engine-produced document (e.g. aggregate output) as the caller's type."""
        return bson.decode(bson.encode(doc, False, self._store_options()), self._codec_options)

    # -- query execution --------------------------------------------------------

    def _select(self, ns: Namespace, filter_spec: Mapping[str, Any], matcher: Any, *,
                sort: Optional[Mapping[str, Any]] = None, skip: int = 0, limit: int = 0,
                hint: Any = None, collation: Any = None) -> Iterator[tuple[int, tuple]]:
        """The ``(record id, (doc, raw))`` pairs a find selects, in result order.

        Planning happens under the collection lock and yields a snapshot:

        * a ``limit`` in candidate order (no sort, or the planner's index
          order is the sort): the first ``skip + limit`` matches are collected
          right away -- ``find_one`` touches only what it needs;
        * a sort the planner cannot provide with a small limit over a forward
          collection scan, on plain values: one heap pass (:func:`_top_matches`);
        * any other sort the planner cannot provide: all matches (collected
          under the lock), then ``Sorter.sorted`` (a heap for a small limit);
        * otherwise: the candidate record ids, matched lazily as the caller
          iterates, ``_SCAN_CHUNK`` at a time under the lock (a document
          deleted meanwhile is skipped).
        """
        wanted = skip + limit if limit else None
        if ns.view is not None:
            # A view: its pipeline's output, numbered in order, stands in for records.
            records, raws = self._view_records(ns)
            rids, in_order = list(records), not sort
            if in_order and wanted is not None:
                selected = _first_matches(rids, records, raws, matcher, wanted)
            elif not in_order:
                matched = _all_matches(None, records, raws, matcher)
        else:
            records, raws = ns.records, ns.raws
            with ns.lock:
                plan = ns.plan(filter_spec, sort, hint, collation=collation, limit=wanted)
                in_order = not sort or plan.provides_sort
                if in_order and wanted is not None:
                    if plan.stage == "COLLSCAN" and plan.direction > 0:
                        selected = _first_matches_in_order(records, raws, matcher, wanted)
                    else:
                        selected = _first_matches(plan.candidates(), records, raws, matcher,
                                                  wanted)
                elif not in_order:
                    forward_scan = plan.stage == "COLLSCAN" and plan.direction > 0
                    top = None
                    if forward_scan and wanted is not None and wanted <= _HEAP_LIMIT \
                            and collation is None:
                        top = _top_matches(records, raws, matcher, sort, wanted)
                    if top is not None:
                        in_order, selected = True, top
                    else:
                        matched = _all_matches(None if forward_scan else plan.candidates(),
                                               records, raws, matcher)
                else:
                    rids = plan.record_ids
        if in_order and wanted is not None:
            yield from selected[skip:]
            return
        if not in_order:
            yield from self._sorted_matches(matched, sort, skip, limit, collation)
            return
        # Matched a chunk at a time under the lock (each doc read with its raw
        # bytes, a document deleted meanwhile skipped), so the first results
        # come early and the lock is taken once per chunk, not per document.
        match = matcher.fn
        lock = ns.lock
        get = records.get
        for start in range(0, len(rids), _SCAN_CHUNK):
            with lock:
                chunk = [(rid, (doc, raws[rid])) for rid in rids[start:start + _SCAN_CHUNK]
                         if (doc := get(rid)) is not None and match(doc)]
            if skip:
                dropped = min(skip, len(chunk))
                skip -= dropped
                chunk = chunk[dropped:]
            yield from chunk

    def _view_records(self, ns: Namespace) -> tuple[dict, dict]:
        """``({n: doc}, {n: raw})`` for the documents view ``ns`` presents (the
        shape of a namespace's ``records`` and ``raws``)."""
        from .aggregation_context import view_documents

        options = ns.store_options
        docs, raws = {}, {}
        for n, doc in enumerate(view_documents(self._database, ns)):
            raw = bson.encode(doc, False, options)
            docs[n] = bson.decode(raw, options)
            raws[n] = raw
        return docs, raws

    @staticmethod
    def _sorted_matches(matched: list, sort: Mapping[str, Any], skip: int, limit: int,
                        collation: Any) -> list:
        """``matched`` ``(rid, record)`` pairs in sort order (stable), ``skip``/``limit``
        applied (``Sorter.sorted``: plain-value keys, a heap for a small limit,
        ``$natural: -1`` backwards)."""
        sorter = compile_sort(sort, collation=collation)
        ordered = sorter.sorted(matched, limit=skip + limit if limit else None,
                                doc_of=_stored_doc)
        return ordered[skip:] if skip else ordered

    def _let_values(self, let: Any) -> Optional[dict]:
        """A command's ``let``: each variable's expression evaluated once."""
        if not let:
            return None

        values = {}
        for name, expr in self._normalize(let).items():
            validate_variable_name(name)
            values[name] = compile_expression(expr)({}, {})
        return values

    def _prepare_query(self, filter: Any, collation: Any, let: Any) -> tuple:
        """Normalize and compile a filter: ``(spec, matcher, collation)``."""
        spec = self._normalize(filter)
        coll = parse_collation(collation) if collation is not None else None
        if coll is None and len(spec) == 1 and type(spec.get("_id")) in _PLAIN_ID_TYPES:
            return spec, _IdEquals(spec), None  # the commonest query: by _id
        variables = self._let_values(let) if let is not None else None
        return spec, compile_filter(spec, coll, variables), coll

    # -- reads ------------------------------------------------------------------

    def find(self, *args: Any, **kwargs: Any) -> Any:
        """A lazy :class:`~.cursor.MemoryCursor` over the matching documents.

        Arguments as pymongo's ``Collection.find`` (filter, projection, skip,
        limit, sort, hint, collation, batch_size, max_time_ms, comment, let,
        allow_disk_use, no_cursor_timeout, session ...).
        """
        return _cursor_module().MemoryCursor(self, *args, **kwargs)

    def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> Any:
        """The first matching document or None (``find(...).limit(-1)``)."""
        if filter is not None and type(filter) is not dict \
                and not isinstance(filter, abc.Mapping):
            filter = {"_id": filter}
        if not args and not kwargs:
            return self._find_one_plain(filter)
        cursor = self.find(filter, *args, **kwargs)
        for result in cursor.limit(-1):
            return result
        return None

    def _find_one_plain(self, filter: Optional[Mapping[str, Any]]) -> Any:
        """``find_one(filter)`` without options: what the cursor would do, minus
        building one (the commonest read, so its fixed cost matters)."""
        try:
            ns = self._namespace()
            if type(filter) is dict and ns is not None and ns.view is None:
                # {field: scalar} over an index: the index answers exactly, and
                # nothing in such a filter can fail validation, so skip compiling it.
                with ns.lock:
                    rids = ns.indexes.exact_lookup(filter)
                    if rids is not None:
                        return decode_raw(ns.raws[rids[0]], self._codec_options) if rids else None
            spec, matcher, coll = self._prepare_query(filter, None, None)
            if ns is None:
                return None
            for _rid, rec in self._select(ns, spec, matcher, limit=1, collation=coll):
                return decode_raw(rec[1], self._codec_options)
        except ServerError as err:
            raise_command_error(err)
        return None

    def find_raw_batches(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("find_raw_batches is not supported by the memory engine")

    def aggregate_raw_batches(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("aggregate_raw_batches is not supported by the memory engine")

    # Atlas Search indexes live in mongot, next to Atlas clusters, not in a mongod.
    # Without these stubs ``coll.create_search_index`` would be a sub-collection.

    def create_search_index(self, *args: Any, **kwargs: Any) -> Any:
        raise _no_search_indexes("create_search_index")

    def create_search_indexes(self, *args: Any, **kwargs: Any) -> Any:
        raise _no_search_indexes("create_search_indexes")

    def drop_search_index(self, *args: Any, **kwargs: Any) -> Any:
        raise _no_search_indexes("drop_search_index")

    def list_search_indexes(self, *args: Any, **kwargs: Any) -> Any:
        raise _no_search_indexes("list_search_indexes")

    def update_search_index(self, *args: Any, **kwargs: Any) -> Any:
        raise _no_search_indexes("update_search_index")

    def count_documents(self, filter: Mapping[str, Any], session: Any = None,
                        comment: Any = None, **kwargs: Any) -> int:
        """Number of documents matching ``filter`` (``skip``, ``limit``, ``hint``,
        ``collation``, ``maxTimeMS``/``max_time_ms`` accepted)."""
        common.validate_is_mapping("filter", filter)
        # pymongo sends {$skip}/{$limit} stages only when the argument is given.
        has_limit = "limit" in kwargs
        skip = kwargs.pop("skip", 0)
        limit = kwargs.pop("limit", 0)
        hint = normalize_hint(kwargs.pop("hint", None))
        collation = kwargs.pop("collation", None)
        validate_max_time_ms(kwargs.pop("max_time_ms", kwargs.pop("maxTimeMS", None)))
        try:
            if not bsontypes.is_number(skip):
                raise ServerError(15972, "Argument to $skip must be a number")
            if skip < 0:
                raise ServerError(5107200, "invalid argument to $skip stage: Expected a "
                                           f"non-negative number in: $skip: {skip!r}")
            if has_limit and not bsontypes.is_number(limit):
                raise ServerError(15957, "the limit must be specified as a number")
            if has_limit and limit <= 0:
                raise ServerError(15958, "the limit must be positive")
            skip, limit = int(skip), int(limit)
            spec, matcher, coll = self._prepare_query(filter, collation, None)
            ns = self._namespace()
            if ns is None:
                return 0
            if ns.view is not None:
                return sum(1 for _ in self._select(ns, spec, matcher, skip=skip, limit=limit,
                                                   hint=hint, collation=coll))
            count = max(0, self._count_matches(ns, spec, matcher, hint, coll) - skip)
            return min(count, limit) if limit else count
        except ServerError as err:
            raise_command_error(err)

    @staticmethod
    def _count_matches(ns: Namespace, spec: Mapping[str, Any], matcher: Any, hint: Any,
                       collation: Any) -> int:
        """How many stored documents match, without decoding any: the candidates
        themselves when the plan is exact, else the matcher over the stored
        documents (all under the lock, so the count is one snapshot)."""
        records = ns.records
        match = matcher.fn
        with ns.lock:
            plan = ns.plan(spec, None, hint, collation=collation)
            if plan.exact:
                return len(plan.record_ids)
            if plan.stage == "COLLSCAN":
                return sum(1 for _ in _scan(records, matcher))
            get = records.get
            return sum(1 for doc in map(get, plan.candidates())
                       if doc is not None and match(doc))

    def estimated_document_count(self, comment: Any = None, **kwargs: Any) -> int:
        """Number of documents in the collection (its metadata count)."""
        validate_max_time_ms(kwargs.pop("max_time_ms", kwargs.pop("maxTimeMS", None)))
        ns = self._namespace()
        if ns is None:
            return 0
        if ns.view is not None:  # the server counts what the view's pipeline returns
            try:
                return len(self._view_records(ns)[0])
            except ServerError as err:
                raise_command_error(err)
        return len(ns)

    def distinct(self, key: str, filter: Optional[Mapping[str, Any]] = None,
                 session: Any = None, comment: Any = None, hint: Any = None,
                 **kwargs: Any) -> list:
        """Distinct values of ``key`` among matching documents, arrays fanned out.

        Values are deduplicated by BSON equality (``1`` and ``1.0`` are one
        value) and returned in BSON order, like the server's ``distinct``.
        """
        if not isinstance(key, str):
            raise TypeError(f"key must be an instance of str, not {type(key)}")
        if filter is not None:
            common.validate_is_mapping("filter", filter)
        filter = kwargs.pop("query", filter)
        validate_max_time_ms(kwargs.pop("max_time_ms", kwargs.pop("maxTimeMS", None)))
        collation = kwargs.pop("collation", None)
        try:

            parts = split_path(key)
            spec, matcher, coll = self._prepare_query(filter, collation, None)
            ns = self._namespace()
            if ns is None:
                return []
            values: list = []
            for _rid, (doc, _raw) in self._select(ns, spec, matcher,
                                                  hint=normalize_hint(hint), collation=coll):
                _distinct_values(doc, parts, 0, values)
        except ServerError as err:
            raise_command_error(err)
        return self._distinct_result(values, coll)

    def _distinct_result(self, values: list, coll: Any) -> list:

        if coll is not None:

            sort_key = sort_key_for(coll)
        else:
            sort_key = bsontypes.sort_key
        seen: dict = {}
        for value in values:
            seen.setdefault(_hashable(sort_key(value)), value)
        ordered = sorted(seen.items(), key=lambda kv: sort_key(kv[1]))
        if not ordered:
            return []
        # Decode through the caller's codec options (document class, tz, UUIDs).
        doc = {str(i): v for i, (_k, v) in enumerate(ordered)}
        return list(self._decode_result(doc).values())

    # -- inserts ----------------------------------------------------------------

    def _insert_document(self, ns: Namespace, document: Any) -> None:
        """Store one document (its ``_id`` already set); raises ServerError."""
        raw = encode_document(document, self._codec_options)
        doc = decode_raw(raw, ns.store_options)
        if "_id" not in doc:  # a RawBSONDocument without _id: the server adds one
            doc = {"_id": ObjectId(), **doc}
            raw = bson.encode(doc, False, ns.store_options)
        _check_id(doc["_id"])
        if b"\x11" in raw and _has_empty_timestamp(doc):  # 0x11: BSON timestamp type
            doc = self._fill_timestamps(doc)
            raw = bson.encode(doc, False, ns.store_options)
        ns.insert(doc, raw)

    def _fill_timestamps(self, doc: dict) -> dict:
        """A server replaces ``Timestamp(0, 0)`` in top-level fields (except ``_id``)
        of an inserted document with the current timestamp."""
        client = self._database.client
        return {key: client._next_timestamp()
                if key != "_id" and _is_empty_timestamp(value) else value
                for key, value in doc.items()}

    def insert_one(self, document: Any, bypass_document_validation: Optional[bool] = None,
                   session: Any = None, comment: Any = None) -> InsertOneResult:
        """Insert ``document``; sets its ``_id`` (an ObjectId) when absent, like pymongo."""
        if type(document) is not dict:  # the usual case needs no abc checks
            common.validate_is_document_type("document", document)
        if not ("_id" in document or isinstance(document, RawBSONDocument)):
            document["_id"] = ObjectId()
        acknowledged = self._write_concern.acknowledged
        try:
            self._insert_document(self._namespace(create=True, write=True), document)
        except ServerError as err:
            if acknowledged:  # a server reports nothing to a w=0 write
                raise_write_error(err)
        return InsertOneResult(document.get("_id"), acknowledged)

    def insert_many(self, documents: Iterable[Any], ordered: bool = True,
                    bypass_document_validation: Optional[bool] = None, session: Any = None,
                    comment: Any = None) -> InsertManyResult:
        """Insert documents; a failure raises ``BulkWriteError`` with the server's details."""
        if (not isinstance(documents, abc.Iterable) or isinstance(documents, abc.Mapping)
                or not documents):
            raise TypeError("documents must be a non-empty list")
        # Every document is checked and given its _id before anything is stored.
        batch, inserted_ids = [], []
        for document in documents:
            if type(document) is not dict:
                common.validate_is_document_type("document", document)
                if isinstance(document, RawBSONDocument):
                    batch.append(document)
                    continue
            if "_id" not in document:
                document["_id"] = ObjectId()
            inserted_ids.append(document["_id"])
            batch.append(document)
        if not (self._acknowledged and batch and self._insert_batch(batch, ordered)):
            from .bulk import BulkRun

            run = BulkRun(self, ordered)
            for document in batch:
                run.add_insert(document)
            run.execute_for_write_concern(bypass_document_validation)
        return InsertManyResult(inserted_ids, self._acknowledged)

    def _insert_batch(self, batch: list, ordered: bool) -> bool:
        """``insert_many``'s acknowledged path: what ``BulkRun`` does for a run of
        inserts (same ``nInserted``, ``writeErrors`` and ``BulkWriteError``),
        without a bulk operation or a namespace lookup per document. False when
        the namespace refuses the write (a view): ``BulkRun`` then reports it.
        """
        try:
            ns = self._namespace(create=True, write=True)
        except ServerError:
            return False
        insert = self._insert_document
        errors = []
        inserted = 0
        for idx, document in enumerate(batch):
            try:
                insert(ns, document)
            except ServerError as err:
                error = write_error_document(err, idx)
                error["op"] = document
                errors.append(error)
                if ordered:
                    break
                continue
            inserted += 1
        if errors:
            result = new_bulk_result()
            result["nInserted"] = inserted
            result["writeErrors"] = errors
            raise BulkWriteError(result)
        return True

    # -- updates ----------------------------------------------------------------

    def _compile_updater(self, stmt: Statement, coll: Any, let_vars: Any) -> Any:

        if stmt.is_replace:
            return compile_replacement(self._normalize(stmt.u))
        array_filters = self._normalize(list(stmt.array_filters)) \
            if stmt.array_filters is not None else None
        return compile_update(self._normalize(stmt.u), array_filters=array_filters,
                                      collation=coll, variables=let_vars)

    def _execute_update(self, stmt: Statement, let: Any = None) -> tuple[int, int, Any]:
        """Run one update statement: ``(n matched, n modified, upserted _id or None)``.

        Raises ServerError; a failed statement leaves the document it failed
        on unchanged (documents of a multi-update before it stay updated, as
        on a server).
        """
        sort = None
        if stmt.sort is not None:
            self._check_update_sort()
            sort = normalize_sort(stmt.sort)
        spec, matcher, coll = self._prepare_query(stmt.q, stmt.collation, let)
        updater = self._compile_updater(stmt, coll, self._let_values(let))
        if sort:
            compile_sort(sort, collation=coll)  # validated even when nothing matches
        ns = self._namespace(create=stmt.upsert, write=True)
        if ns is None:
            return 0, 0, None
        with ns.lock:
            selected = list(self._select(ns, spec, matcher, sort=sort,
                                         limit=0 if stmt.multi else 1, hint=stmt.hint,
                                         collation=coll))
            if not selected:
                if stmt.upsert:
                    rid = self._upsert(ns, spec, updater)
                    return 0, 0, bson.decode(ns.get(rid)[1], self._codec_options)["_id"]
                return 0, 0, None
            modified = 0
            for rid, rec in selected:
                if self._update_record(ns, rid, rec, updater, matcher):
                    modified += 1
            return len(selected), modified, None

    def _update_record(self, ns: Namespace, rid: int, rec: tuple, updater: Any,
                       matcher: Any) -> bool:
        """Apply ``updater`` to record ``rid`` (caller holds the lock)."""
        work = decode_raw(rec[1], ns.store_options)
        position = None
        if updater.needs_position:
            position = matcher.match_position(rec[0])[1]
        if not updater.apply(work, position=position):
            return False
        raw = self._encode_updated(work, ns)
        ns.replace(rid, decode_raw(raw, ns.store_options), raw)
        return True

    @staticmethod
    def _encode_updated(doc: dict, ns: Namespace) -> bytes:
        raw = bson.encode(doc, False, ns.store_options)
        if len(raw) > MAX_BSON_SIZE:
            raise ServerError(17419, "Resulting document after update is larger than "
                                     f"{MAX_BSON_SIZE}")
        return raw

    def _upsert(self, ns: Namespace, spec: Mapping[str, Any], updater: Any) -> int:
        """Insert the document an upsert builds; returns its record id (caller holds lock)."""

        doc = upsert_seed(spec, replacement=getattr(updater, "is_replacement", False))
        updater.apply(doc, is_insert=True)
        if "_id" not in doc:
            doc = {"_id": ObjectId(), **doc}
        elif next(iter(doc)) != "_id":
            doc = {"_id": doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}
        _check_id(doc["_id"])
        raw = self._encode_updated(doc, ns)
        return ns.insert(bson.decode(raw, ns.store_options), raw)

    def _check_update_sort(self) -> None:
        """A 7.0 server has no ``sort`` in update statements (8.0 added it): it
        rejects the whole command (``OperationFailure``, not ``WriteError``)."""
        if not self._database.client._supports_update_sort:
            raise ServerError(40415, "BSON field 'update.updates.sort' is an unknown field.")

    def _check_unacknowledged(self, stmt: Statement) -> None:
        """pymongo refuses some statement options on a ``w=0`` write, client-side
        (it could not learn whether the server supports them)."""
        if validate_collation_or_none(stmt.collation) is not None:
            raise ConfigurationError("Collation is unsupported for unacknowledged writes.")
        if stmt.array_filters is not None:
            raise ConfigurationError("arrayFilters is unsupported for unacknowledged writes.")
        if stmt.sort is not None:
            self._check_unacknowledged_sort()

    def _check_unacknowledged_sort(self) -> None:
        if not self._database.client._supports_update_sort:
            raise ConfigurationError("Must be connected to MongoDB 8.0+ to use sort on "
                                     "unacknowledged update commands.")

    def _update(self, stmt: Statement, let: Any) -> UpdateResult:
        if not self._acknowledged:
            self._check_unacknowledged(stmt)
            try:
                self._execute_update(stmt, let)
            except ServerError:
                pass  # a server reports nothing to a w=0 write
            return UpdateResult(None, False)  # type: ignore[arg-type]
        if stmt.sort is not None:
            try:
                self._check_update_sort()
            except ServerError as err:
                raise_command_error(err)
        try:
            n, modified, upserted_id = self._execute_update(stmt, let)
        except ServerError as err:
            raise_write_error(err)
        raw: dict[str, Any] = {"n": n + (upserted_id is not None), "nModified": modified,
                               "ok": 1.0}
        if upserted_id is not None:
            raw["upserted"] = upserted_id
        raw["updatedExisting"] = bool(n)
        return UpdateResult(raw, self._acknowledged)

    def update_one(self, filter: Mapping[str, Any], update: Any, upsert: bool = False,
                   bypass_document_validation: Optional[bool] = None, collation: Any = None,
                   array_filters: Any = None, hint: Any = None, session: Any = None,
                   let: Any = None, sort: Any = None, comment: Any = None) -> UpdateResult:
        """Update the first matching document.

        ``sort`` (MongoDB 8.0) picks which one; a 7.0 server (the default
        ``MemoryClient``) rejects it with ``OperationFailure`` 40415, as
        recorded in the driver specification tests.
        """
        common.validate_is_mapping("filter", filter)
        common.validate_ok_for_update(update)
        common.validate_list_or_none("array_filters", array_filters)
        common.validate_boolean("upsert", upsert)
        if let is not None:
            common.validate_is_mapping("let", let)
        stmt = Statement(filter, update, upsert=upsert, collation=collation,
                         array_filters=array_filters, hint=normalize_hint(hint), sort=sort)
        return self._update(stmt, let)

    def update_many(self, filter: Mapping[str, Any], update: Any, upsert: bool = False,
                    array_filters: Any = None, bypass_document_validation: Optional[bool] = None,
                    collation: Any = None, hint: Any = None, session: Any = None,
                    let: Any = None, comment: Any = None) -> UpdateResult:
        """Update every matching document."""
        common.validate_is_mapping("filter", filter)
        common.validate_ok_for_update(update)
        common.validate_list_or_none("array_filters", array_filters)
        common.validate_boolean("upsert", upsert)
        if let is not None:
            common.validate_is_mapping("let", let)
        stmt = Statement(filter, update, multi=True, upsert=upsert, collation=collation,
                         array_filters=array_filters, hint=normalize_hint(hint))
        return self._update(stmt, let)

    def replace_one(self, filter: Mapping[str, Any], replacement: Mapping[str, Any],
                    upsert: bool = False, bypass_document_validation: Optional[bool] = None,
                    collation: Any = None, hint: Any = None, session: Any = None,
                    let: Any = None, sort: Any = None, comment: Any = None) -> UpdateResult:
        """Replace the first matching document (keeping its ``_id``); ``sort`` as
        in :meth:`update_one` (8.0 only)."""
        common.validate_is_mapping("filter", filter)
        common.validate_ok_for_replace(replacement)
        common.validate_boolean("upsert", upsert)
        if let is not None:
            common.validate_is_mapping("let", let)
        stmt = Statement(filter, replacement, upsert=upsert, is_replace=True,
                         collation=collation, hint=normalize_hint(hint), sort=sort)
        return self._update(stmt, let)

    # -- deletes ----------------------------------------------------------------

    def _execute_delete(self, stmt: Statement, let: Any = None) -> int:
        """Run one delete statement (``multi`` False: at most one); returns n."""
        spec, matcher, coll = self._prepare_query(stmt.q, stmt.collation, let)
        ns = self._namespace(write=True)
        if ns is None:
            return 0
        with ns.lock:
            selected = [rid for rid, _rec in self._select(
                ns, spec, matcher, limit=0 if stmt.multi else 1, hint=stmt.hint,
                collation=coll)]
            return sum(1 for rid in selected if ns.delete(rid))

    def _delete(self, filter: Any, multi: bool, collation: Any, hint: Any,
                let: Any) -> DeleteResult:
        common.validate_is_mapping("filter", filter)
        if let is not None:
            common.validate_is_mapping("let", let)
        stmt = Statement(filter, multi=multi, collation=validate_collation_or_none(collation),
                         hint=normalize_hint(hint))
        if not self._acknowledged:
            self._check_unacknowledged(stmt)
            try:
                self._execute_delete(stmt, let)
            except ServerError:
                pass  # a server reports nothing to a w=0 write
            return DeleteResult(None, False)  # type: ignore[arg-type]
        try:
            n = self._execute_delete(stmt, let)
        except ServerError as err:
            raise_write_error(err)
        return DeleteResult({"n": n, "ok": 1.0}, True)

    def delete_one(self, filter: Mapping[str, Any], collation: Any = None, hint: Any = None,
                   session: Any = None, let: Any = None, comment: Any = None) -> DeleteResult:
        """Delete the first matching document."""
        return self._delete(filter, False, collation, hint, let)

    def delete_many(self, filter: Mapping[str, Any], collation: Any = None, hint: Any = None,
                    session: Any = None, let: Any = None, comment: Any = None) -> DeleteResult:
        """Delete every matching document."""
        return self._delete(filter, True, collation, hint, let)

    # -- findAndModify ------------------------------------------------------------

    def _find_and_modify(self, filter: Any, projection: Any, sort: Any, *, update: Any = None,
                         is_replace: bool = False, remove: bool = False, upsert: bool = False,
                         return_document: bool = ReturnDocument.BEFORE,
                         array_filters: Any = None, hint: Any = None, let: Any = None,
                         **kwargs: Any) -> Any:
        common.validate_is_mapping("filter", filter)
        if not isinstance(return_document, bool):
            raise _RETURN_DOCUMENT_ERROR(
                "return_document must be ReturnDocument.BEFORE or ReturnDocument.AFTER, "
                f"not {type(return_document)}"
            )
        collation = kwargs.pop("collation", None)
        validate_max_time_ms(kwargs.pop("max_time_ms", kwargs.pop("maxTimeMS", None)))
        if let is not None:
            common.validate_is_mapping("let", let)
        projection = normalize_projection(projection)
        sort_doc = normalize_sort(sort) if sort is not None else None
        common.validate_boolean("upsert", upsert)
        stmt = Statement(filter, update, upsert=upsert, is_replace=is_replace,
                         collation=collation, array_filters=array_filters,
                         hint=normalize_hint(hint), sort=sort_doc)
        if not self._acknowledged:
            # pymongo sends a w=0 command without waiting for a reply (moreToCome):
            # no document and no error come back; it refuses arrayFilters and
            # collation first, client-side.
            if array_filters is not None:
                raise ConfigurationError("arrayFilters is unsupported for unacknowledged "
                                         "writes.")
            if validate_collation_or_none(collation) is not None:
                raise ConfigurationError("Collation is unsupported for unacknowledged writes.")
            try:
                self._find_and_modify_statement(stmt, projection, remove, return_document, let)
            except ServerError:
                pass
            return None
        try:
            return self._find_and_modify_statement(stmt, projection, remove, return_document,
                                                   let)
        except ServerError as err:
            raise_command_error(err)

    def _find_and_modify_statement(self, stmt: Statement, projection: Any, remove: bool,
                                   return_new: bool, let: Any) -> Any:
        spec, matcher, coll = self._prepare_query(stmt.q, stmt.collation, let)
        reader = self._reader(projection, matcher)
        updater = None if remove else self._compile_updater(stmt, coll, self._let_values(let))
        ns = self._namespace(create=stmt.upsert, write=True)
        if ns is None:
            return None
        with ns.lock:
            found = next(self._select(ns, spec, matcher, sort=stmt.sort, limit=1,
                                      hint=stmt.hint, collation=coll), None)
            if found is None:
                if not stmt.upsert or remove:
                    return None
                rid = self._upsert(ns, spec, updater)
                return reader(ns.get(rid)[1]) if return_new else None
            rid, rec = found
            before = reader(rec[1]) if not return_new or remove else None
            if remove:
                ns.delete(rid)
                return before
            self._update_record(ns, rid, rec, updater, matcher)
            return reader(ns.get(rid)[1]) if return_new else before

    def find_one_and_delete(self, filter: Mapping[str, Any], projection: Any = None,
                            sort: Any = None, hint: Any = None, session: Any = None,
                            let: Any = None, comment: Any = None, **kwargs: Any) -> Any:
        """Delete the first matching document and return it (projected) or None."""
        return self._find_and_modify(filter, projection, sort, remove=True, hint=hint,
                                     let=let, **kwargs)

    def find_one_and_replace(self, filter: Mapping[str, Any], replacement: Mapping[str, Any],
                             projection: Any = None, sort: Any = None, upsert: bool = False,
                             return_document: bool = ReturnDocument.BEFORE, hint: Any = None,
                             session: Any = None, let: Any = None, comment: Any = None,
                             **kwargs: Any) -> Any:
        """Replace the first matching document; return it before or after."""
        common.validate_ok_for_replace(replacement)
        return self._find_and_modify(filter, projection, sort, update=replacement,
                                     is_replace=True, upsert=upsert,
                                     return_document=return_document, hint=hint, let=let,
                                     **kwargs)

    def find_one_and_update(self, filter: Mapping[str, Any], update: Any,
                            projection: Any = None, sort: Any = None, upsert: bool = False,
                            return_document: bool = ReturnDocument.BEFORE,
                            array_filters: Any = None, hint: Any = None, session: Any = None,
                            let: Any = None, comment: Any = None, **kwargs: Any) -> Any:
        """Update the first matching document; return it before or after."""
        common.validate_ok_for_update(update)
        common.validate_list_or_none("array_filters", array_filters)
        return self._find_and_modify(filter, projection, sort, update=update, upsert=upsert,
                                     return_document=return_document,
                                     array_filters=array_filters, hint=hint, let=let, **kwargs)

    # -- bulk -------------------------------------------------------------------

    def bulk_write(self, requests: list, ordered: bool = True,
                   bypass_document_validation: Optional[bool] = None, session: Any = None,
                   comment: Any = None, let: Any = None) -> Any:
        """Run write models (``InsertOne``, ``UpdateOne`` ...) like pymongo's bulk API."""
        from .bulk import BulkRun

        common.validate_list("requests", requests)
        run = BulkRun(self, ordered, let=let)
        for request in requests:
            try:
                request._add_to_bulk(run)
            except AttributeError:
                raise TypeError(f"{request!r} is not a valid request") from None
        return run.execute_result(bypass_document_validation)

    # -- aggregation ----------------------------------------------------------------

    def aggregate(self, pipeline: list, session: Any = None, let: Any = None,
                  comment: Any = None, **kwargs: Any) -> Any:
        """Run an aggregation pipeline; returns a :class:`~.cursor.MemoryCommandCursor`."""
        from .aggregation_context import run_collection_pipeline

        return run_collection_pipeline(self, pipeline, let=let, **kwargs)

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("change streams (watch) are not supported by the memory "
                                  "engine")

    # -- indexes ------------------------------------------------------------------

    def create_index(self, keys: Any, session: Any = None, comment: Any = None,
                     **kwargs: Any) -> str:
        """Create an index (``IndexModel`` arguments); returns its name."""
        validate_max_time_ms(kwargs.pop("maxTimeMS", None))
        kwargs.pop("commitQuorum", None)  # a single in-process "server": nothing to wait for
        return self._create_indexes([IndexModel(keys, **kwargs)])[0]

    def create_indexes(self, indexes: list, session: Any = None, comment: Any = None,
                       **kwargs: Any) -> list[str]:
        """Create several indexes (``IndexModel`` instances); returns their names."""
        common.validate_list("indexes", indexes)
        validate_max_time_ms(kwargs.pop("maxTimeMS", None))
        for index in indexes:
            if not isinstance(index, IndexModel):
                raise TypeError(f"{index!r} is not an instance of pymongo.operations.IndexModel")
        return self._create_indexes(indexes)

    def _create_indexes(self, models: list) -> list[str]:
        if not models:
            raise_command_error(ServerError(2, "Must specify at least one index to create"))
        specs = [dict(model.document) for model in models]
        names = [spec["name"] for spec in specs]
        try:
            ns = self._namespace(create=True, write=True)
            with ns.lock:
                ns.create_indexes(specs)
        except ServerError as err:
            raise_command_error(err)
        return names

    def drop_index(self, index_or_name: Any, session: Any = None, comment: Any = None,
                   **kwargs: Any) -> None:
        """Drop one index by name or key specification."""
        name = index_or_name
        if isinstance(index_or_name, list):
            name = _helpers._gen_index_name(index_or_name)
        if not isinstance(name, str):
            raise TypeError(f"index_or_name must be an instance of str or list, not {type(name)}")
        try:
            ns = self._namespace(write=True)
            if ns is None:
                return  # pymongo ignores the server's "ns not found" here
            with ns.lock:
                ns.drop_index(name)
        except ServerError as err:
            raise_command_error(err)

    def drop_indexes(self, session: Any = None, comment: Any = None, **kwargs: Any) -> None:
        """Drop every index but ``_id_``."""
        self.drop_index("*")

    def list_indexes(self, session: Any = None, comment: Any = None) -> Any:
        """A command cursor over the index documents ``{v, key, name, ...}``."""
        from .cursor import MemoryCommandCursor

        try:
            ns = self._namespace(write=True)  # a view has no indexes: 166 like the server
        except ServerError as err:
            raise_command_error(err)
        docs = [] if ns is None else ns.index_documents()
        return MemoryCommandCursor(self, [self._decode_result(d) for d in docs])

    def index_information(self, session: Any = None, comment: Any = None) -> dict:
        """``{name: {"key": [(field, direction)...], ...options}}`` as pymongo returns it."""
        info = {}
        for index in self.list_indexes():
            index = dict(index)
            index["key"] = list(index["key"].items())
            info[index.pop("name")] = index
        return info

    def options(self, session: Any = None, comment: Any = None) -> dict:
        """The options the collection was created with (``{}`` for implicit ones)."""
        ns = self._namespace()
        return {} if ns is None else dict(ns.options)

    # -- collection-level -------------------------------------------------------------

    def drop(self, session: Any = None, comment: Any = None,
             encrypted_fields: Any = None) -> None:
        """Drop the collection (no error when it does not exist)."""
        self._database.drop_collection(self._name)

    def rename(self, new_name: str, session: Any = None, comment: Any = None,
               **kwargs: Any) -> dict:
        """Rename the collection (``dropTarget=True`` replaces an existing target)."""
        if not isinstance(new_name, str):
            raise TypeError(f"new_name must be an instance of str, not {type(new_name)}")
        if not new_name or ".." in new_name:
            raise InvalidName("collection names cannot be empty")
        if new_name[0] == "." or new_name[-1] == ".":
            raise InvalidName("collection names must not start or end with '.'")
        if "$" in new_name and not new_name.startswith("oplog.$main"):
            raise InvalidName("collection names must not contain '$'")
        drop_target = bool(kwargs.pop("dropTarget", False))
        try:
            self._database._rename(self._name, new_name, drop_target)
        except ServerError as err:
            raise_command_error(err)
        return {"ok": 1.0}


# Value types a BSON round trip returns unchanged (ints are range-checked).
_ROUND_TRIP_STABLE = frozenset({str, float, bool, type(None), ObjectId})


def _is_stable_scalar(value: Any) -> bool:
    kind = type(value)
    if kind is int:
        return -2 ** 63 <= value < 2 ** 63
    return kind in _ROUND_TRIP_STABLE


def _copy_if_simple(spec: dict) -> Optional[dict]:
    """A copy of ``spec`` when a BSON round trip would not change it, else None.

    Covers the common small specs -- ``{"_id": 5}``, ``{"age": {"$gt": 21}}``,
    ``{"$set": {"name": "x"}}``: string keys, and values that are plain scalars
    or one level of documents of plain scalars.  The copy shares only
    immutable values with the caller.
    """
    copied = {}
    for key, value in spec.items():
        if type(key) is not str or "\x00" in key:  # let bson.encode reject it
            return None
        if type(value) is dict:
            for inner_key, inner in value.items():
                if (type(inner_key) is not str or "\x00" in inner_key
                        or not _is_stable_scalar(inner)):
                    return None
            copied[key] = dict(value)
        elif _is_stable_scalar(value):
            copied[key] = value
        else:
            return None
    return copied


def _hashable(key: Any) -> Any:
    """Sort keys may hold lists; make them hashable for deduplication."""
    if isinstance(key, list):
        return tuple(_hashable(k) for k in key)
    if isinstance(key, tuple):
        return tuple(_hashable(k) for k in key)
    if isinstance(key, dict):
        return tuple((k, _hashable(v)) for k, v in key.items())
    return key


def _distinct_values(value: Any, parts: tuple, i: int, out: list) -> None:
    """Collect the values ``distinct`` sees at ``parts`` (arrays fanned out once)."""
    if i == len(parts):
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
        return
    part = parts[i]
    if isinstance(value, dict):
        if part in value:
            _distinct_values(value[part], parts, i + 1, out)
    elif isinstance(value, list):
        if part.isdigit() and int(part) < len(value):
            _distinct_values(value[int(part)], parts, i + 1, out)
        for elem in value:
            if isinstance(elem, dict):
                _distinct_values(elem, parts, i, out)
