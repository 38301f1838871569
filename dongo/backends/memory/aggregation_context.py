"""Running aggregation pipelines against the memory engine's collections.

:mod:`.aggregate` evaluates pipelines over plain documents; this module
connects it to storage: it feeds a collection's documents (narrowed by the
planner when the pipeline starts with ``$match``), and implements the
:class:`~.aggregate.PipelineContext` protocol so ``$lookup``,
``$graphLookup`` and ``$unionWith`` read other collections and ``$out`` /
``$merge`` write them.

    >>> from dongo.backends.memory import MemoryClient
    >>> coll = MemoryClient().db.sales
    >>> _ = coll.insert_many([{"item": "a", "qty": 2}, {"item": "a", "qty": 3}])
    >>> list(coll.aggregate([{"$group": {"_id": "$item", "total": {"$sum": "$qty"}}}]))
    [{'_id': 'a', 'total': 5}]

Like pymongo, ``aggregate()`` runs the first batch (101 documents) before it
returns, so errors there raise from the call itself; later documents are
produced lazily.  A pipeline ending in ``$out``/``$merge`` runs completely
and returns an empty cursor.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Iterator, Optional

import bson
from bson import ObjectId
from pymongo import common

from .aggregate import PipelineContext, merge_matched_document, run_pipeline
from .aggregate.pipeline import compile_pipeline
from .collection import normalize_hint, parse_collation, validate_max_time_ms
from .errors import ServerError
from .filters import compile_filter
from .storage import MAX_BSON_SIZE, Namespace, decode_raw
from .wire import raise_command_error

FIRST_BATCH = 101

# First stages a database-level aggregate ({aggregate: 1}) accepts.
_COLLECTIONLESS = frozenset({"$documents", "$currentOp", "$listLocalSessions",
                             "$changeStream", "$listSessions"})


class CollectionContext(PipelineContext):
    """The PipelineContext of one database: reads and writes its collections."""

    def __init__(self, database: Any, *, collation: Any = None,
                 variables: Optional[dict] = None) -> None:
        super().__init__(collation=collation, variables=variables)
        self._db = database

    def _database(self, name: Optional[str]) -> Any:
        return self._db if name is None else self._db.client[name]

    def resolve(self, name: str) -> Iterable[dict]:
        return list(collection_documents(self._db, name))

    def out(self, db: Optional[str], coll: str, docs: list[dict]) -> None:
        """Replace ``db.coll`` by ``docs`` atomically (keeping its indexes), as ``$out`` does."""
        database = self._database(db)
        old = database._namespace(coll, write=True)
        fresh = Namespace(database.name, coll, options=old.options if old is not None else None,
                          store_options=database.client._store_options)
        if old is not None:
            specs = [d for d in old.index_documents() if d["name"] != "_id_"]
            if specs:
                fresh.create_indexes(specs)
        for doc in docs:
            _insert(fresh, doc)
        with database.client._lock:
            colls = database._collections(create=True)
            if old is not None:
                fresh.uuid = old.uuid
            colls[coll] = fresh

    def merge(self, db: Optional[str], coll: str, docs: list[dict], on: tuple,
              when_matched: Any, when_not_matched: str, let: Optional[dict]) -> None:
        """``$merge`` ``docs`` into ``db.coll`` (created when missing)."""
        database = self._database(db)
        ns = database._namespace(coll, create=True, write=True)
        on = tuple(on) if on else ("_id",)
        from .paths import get_path, split_path
        from .filters import compile_filter
        from .bsontypes import MISSING

        if on != ("_id",) and not _has_unique_index(ns, on):
            raise ServerError(51183, "Cannot find index to verify that join fields will be "
                                     "unique")
        parts = [split_path(path) for path in on]
        with ns.lock:
            for doc in docs:
                values = {}
                for path, path_parts in zip(on, parts):
                    value = get_path(doc, path_parts)
                    if value is MISSING or value is None or isinstance(value, list):
                        raise ServerError(51132, "$merge write error: 'on' field cannot be "
                                                 "missing, null, undefined or an array")
                    values[path] = value
                matcher = compile_filter({k: {"$eq": v} for k, v in values.items()})
                plan = ns.plan(values)
                existing = next(((rid, rec) for rid in plan.record_ids
                                 if (rec := ns.get(rid)) is not None and matcher(rec[0])), None)
                if existing is None:
                    if when_not_matched == "insert":
                        _insert(ns, doc)
                    elif when_not_matched == "fail":
                        raise ServerError(13113, "$merge could not find a matching document in "
                                                 "the target collection for at least one "
                                                 "document in the source collection")
                    continue
                rid, rec = existing
                current = bson.decode(rec[1], ns.store_options)
                if when_matched == "fail":
                    raise _merge_duplicate(ns, on, values)
                new = merge_matched_document(current, doc, when_matched, let, self)
                if new is None:
                    continue
                if "_id" in new and not _same(new["_id"], current["_id"]):
                    raise ServerError(66, "$merge failed to update the matching document, did "
                                          "you attempt to modify the _id or the shard key?")
                new = {"_id": current["_id"], **{k: v for k, v in new.items() if k != "_id"}}
                raw = _encode(new, ns)
                ns.replace(rid, bson.decode(raw, ns.store_options), raw)


def _merge_duplicate(ns: Namespace, on: tuple, values: dict) -> ServerError:
    """What ``whenMatched: "fail"`` reports: the duplicate key on the ``on`` index."""
    from .indexes import format_value

    index = "_id_" if on == ("_id",) else next(
        d["name"] for d in ns.index_documents() if d.get("unique") and set(d["key"]) == set(on))
    shown = ", ".join(f"{k}: {format_value(v)}" for k, v in values.items())
    return ServerError(11000, "$merge failed due to a DuplicateKey error :: caused by :: E11000 "
                              f"duplicate key error collection: {ns.full_name} index: {index} "
                              f"dup key: {{ {shown} }}",
                       keyPattern={k: 1 for k in on}, keyValue=dict(values))


def _same(a: Any, b: Any) -> bool:
    from .bsontypes import bson_equal

    return bson_equal(a, b)


def _has_unique_index(ns: Namespace, on: tuple) -> bool:
    fields = set(on)
    return any(doc.get("unique") and set(doc["key"]) == fields
               for doc in ns.index_documents())


def _encode(doc: dict, ns: Namespace) -> bytes:
    raw = bson.encode(doc, False, ns.store_options)
    if len(raw) > MAX_BSON_SIZE:
        raise ServerError(10334, f"BSONObj size: {len(raw)} (0x{len(raw):X}) is invalid. "
                                 f"Size must be between 0 and {MAX_BSON_SIZE}(16MB)")
    return raw


def _insert(ns: Namespace, doc: dict) -> None:
    if "_id" not in doc:
        doc = {"_id": ObjectId(), **doc}
    elif next(iter(doc)) != "_id":
        doc = {"_id": doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}
    raw = _encode(doc, ns)
    with ns.lock:
        ns.insert(bson.decode(raw, ns.store_options), raw)


# Nested views deeper than this fail like on the server (ViewDepthLimitExceeded).
MAX_VIEW_DEPTH = 20


def collection_documents(database: Any, name: str, depth: int = 0) -> Iterator[dict]:
    """Private copies of the documents of collection or view ``name`` (none if absent)."""
    ns = database._namespace(name)
    if ns is None:
        return iter(())
    if ns.view is not None:
        return view_documents(database, ns, depth)
    options = ns.store_options
    return (decode_raw(raw, options) for raw in list(ns.raws.values()))


def view_documents(database: Any, ns: Namespace, depth: int = 0) -> Iterator[dict]:
    """What view ``ns`` shows: its pipeline over its source (views may nest)."""
    if depth >= MAX_VIEW_DEPTH:
        raise ServerError(149, f"View depth too deep or view cycle detected. Maximum depth "
                               f"is {MAX_VIEW_DEPTH}")
    source, pipeline = ns.view
    return run_pipeline(pipeline, collection_documents(database, source, depth + 1),
                        context=CollectionContext(database))


def _static_matcher(spec: Any, collation: Any) -> Any:
    """The compiled leading ``$match`` when it needs no variables, else None.

    ``_source`` applies it to the stored documents, and the ``$match`` stage is
    then dropped (the stored documents are decoded with the same options, so
    the result is the same; errors were reported when the pipeline was
    validated).
    """
    if not isinstance(spec, dict) or not spec:
        return None
    text = repr(spec)
    if "$$" in text or "$expr" in text:
        return None
    try:
        return compile_filter(spec, collation=collation)
    except (ServerError, NotImplementedError):
        return None


def _source(coll: Any, pipeline: list, hint: Any, collation: Any = None, *,
            matcher: Any = None, copies: bool = True) -> Iterator[dict]:
    """Private copies of the collection's documents for the pipeline's first stage
    (only those ``matcher``, the leading ``$match`` compiled, keeps).

    ``copies=False`` yields the stored documents themselves, for a pipeline
    that only reads them (see :func:`_reads_only`): no ``bson.decode`` each.
    Stored documents are never changed in place (a write stores a new dict),
    so each one is a consistent snapshot."""
    ns = coll._namespace()
    if ns is not None and ns.view is not None:
        docs = view_documents(coll.database, ns)  # fresh documents: no copies needed
        yield from docs if matcher is None else filter(matcher.fn, docs)
        return
    if ns is None:
        if hint is not None and hint not in ("_id_", {"_id": 1}):
            raise ServerError(2, "hint provided does not correspond to an existing index")
        return
    spec = _leading_match(pipeline)
    with ns.lock:
        rids = ns.plan(spec if isinstance(spec, dict) else {}, None, hint).record_ids
    match = matcher.fn if matcher is not None else None
    options = ns.store_options
    records = ns.records
    if not copies:
        get = records.get
        docs = map(get, rids)
        if match is None:
            yield from (doc for doc in docs if doc is not None)
        else:
            yield from (doc for doc in docs if doc is not None and match(doc))
        return
    for rid in rids:
        doc = records.get(rid)
        if doc is not None and (match is None or match(doc)):
            rec = ns.get(rid)  # doc and raw bytes read together, under the lock
            if rec is not None and (rec[0] is doc or match is None or match(rec[0])):
                yield decode_raw(rec[1], options)


def _leading_match(pipeline: list) -> Any:
    """The argument of the pipeline's first stage when it is ``$match``, else None."""
    first = pipeline[0] if pipeline else None
    return first.get("$match") if isinstance(first, dict) and len(first) == 1 else None


# $group accumulators that only read their inputs (never change a value they are
# given), so a $group made of them may read the stored documents themselves.
_READ_ONLY_ACCUMULATORS = frozenset({"$sum", "$avg", "$min", "$max", "$count", "$first",
                                     "$last", "$push", "$addToSet", "$stdDevPop",
                                     "$stdDevSamp"})


def _reads_only(pipeline: list) -> bool:
    """True when ``pipeline`` never changes (nor hands out) the documents it is
    fed: a lone ``$count``, or a lone ``$group`` of read-only accumulators. Its
    output reaches the caller only through ``_decode_result``'s copy, so values
    it shares with its input (``$push: "$tags"``) are copied there."""
    if len(pipeline) != 1 or not isinstance(pipeline[0], dict) or len(pipeline[0]) != 1:
        return False
    name, spec = next(iter(pipeline[0].items()))
    if name == "$count":
        return True
    if name != "$group" or not isinstance(spec, dict):
        return False
    for field, acc in spec.items():
        if field != "_id" and not (isinstance(acc, dict) and len(acc) == 1
                                   and next(iter(acc)) in _READ_ONLY_ACCUMULATORS):
            return False
    return True


def _plan_pipeline(coll: Any, pipeline: list, hint: Any, context: Any) -> tuple:
    """``(stages to run, source documents)`` for a collection pipeline.

    The whole pipeline is validated first (errors as the server reports them).
    A leading ``$match`` that needs no variables filters the stored documents
    before any is decoded, and its stage is then dropped rather than run twice;
    when the rest only reads documents, the stored ones are fed uncopied.
    """
    compile_pipeline(pipeline, variables=frozenset(context.variables or ()),
                     collation=context.collation)
    matcher = _static_matcher(_leading_match(pipeline), context.collation)
    if matcher is None:
        return pipeline, _source(coll, pipeline, hint, context.collation)
    rest = pipeline[1:]
    return rest, _source(coll, pipeline, hint, context.collation, matcher=matcher,
                         copies=not _reads_only(rest))


def _parse_options(kwargs: dict) -> tuple:
    collation = kwargs.pop("collation", None)
    hint = normalize_hint(kwargs.pop("hint", None))
    validate_max_time_ms(kwargs.pop("maxTimeMS", kwargs.pop("max_time_ms", None)))
    allow_disk_use = kwargs.pop("allowDiskUse", None)
    if allow_disk_use is not None:
        common.validate_boolean("allowDiskUse", allow_disk_use)
    # pymongo's own check (ValueError for "x" and for -1), before anything is sent
    common.validate_non_negative_integer_or_none(
        "batchSize", kwargs.pop("batchSize", kwargs.pop("batch_size", None)))
    for ignored in ("comment", "cursor", "explain", "bypassDocumentValidation",
                    "maxAwaitTimeMS"):
        if ignored == "explain" and kwargs.get("explain"):
            raise NotImplementedError("aggregate explain is not supported by the memory engine")
        kwargs.pop(ignored, None)
    if kwargs:
        raise NotImplementedError(f"aggregate option {sorted(kwargs)[0]!r} is not supported by "
                                  "the memory engine")
    return collation, hint


def _cursor(coll: Any, pipeline: list, results: Iterator[dict]) -> Any:
    from .cursor import MemoryCommandCursor

    writes = bool(pipeline) and isinstance(pipeline[-1], dict) and (
        "$out" in pipeline[-1] or "$merge" in pipeline[-1])
    decoded = (coll._decode_result(doc) for doc in results)
    try:
        first = list(itertools.islice(decoded, None if writes else FIRST_BATCH))
    except ServerError as err:
        raise_command_error(err)
    return MemoryCommandCursor(coll, itertools.chain(first, decoded))


def _check_read_concern(coll: Any, pipeline: list) -> None:
    last = pipeline[-1] if pipeline else None
    if coll.read_concern.level == "linearizable" and isinstance(last, dict):
        for stage in ("$out", "$merge"):
            if stage in last:
                raise ServerError(72, f"{stage} cannot be used with a 'linearizable' read "
                                      "concern level")


def run_collection_pipeline(coll: Any, pipeline: Any, *, let: Any = None, **kwargs: Any) -> Any:
    """``Collection.aggregate``: a command cursor over the pipeline's results."""
    common.validate_list("pipeline", pipeline)
    if let is not None:
        common.validate_is_mapping("let", let)
    collation, hint = _parse_options(kwargs)
    try:
        normalized = coll._normalize(pipeline)
        _check_read_concern(coll, normalized)
        context = CollectionContext(coll.database, collation=parse_collation(collation),
                                    variables=coll._let_values(let))
        stages, source = _plan_pipeline(coll, normalized, hint, context)
        results = run_pipeline(stages, source, context=context)
    except ServerError as err:
        raise_command_error(err)
    return _cursor(coll, normalized, results)


def run_database_pipeline(db: Any, pipeline: Any, *, let: Any = None, **kwargs: Any) -> Any:
    """``Database.aggregate``: pipelines that start with ``$documents``."""
    common.validate_list("pipeline", pipeline)
    collation, _hint = _parse_options(kwargs)
    coll = db["$cmd.aggregate"]
    try:
        first = pipeline[0] if pipeline else None
        if not (isinstance(first, dict) and first and next(iter(first)) in _COLLECTIONLESS):
            name = next(iter(first)) if isinstance(first, dict) and first else "$match"
            raise ServerError(73, f"{{aggregate: 1}} is not valid for '{name}'; a collection "
                                  "is required.")
        normalized = coll._normalize(pipeline)
        context = CollectionContext(db, collation=parse_collation(collation),
                                    variables=coll._let_values(let))
        results = run_pipeline(normalized, iter(()), context=context)
    except ServerError as err:
        raise_command_error(err)
    return _cursor(coll, normalized, results)
