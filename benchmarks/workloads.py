"""The engine workloads: each one a few lines over an :class:`Engine`.

A workload runs against one of two collections every engine holds, loaded
with the same ``N`` documents before any timing:

- ``plain``   no secondary index (scans, writes, plain inserts)
- ``indexed`` a unique index on ``username`` (indexed lookups, unique inserts)

Each workload has

- ``run(engine, handle, ds, k, state)`` — the timed part, ``k`` unit
  operations (a loop workload may run fewer than ``ops`` on a slow engine;
  times are always reported per unit operation);
- ``prepare(...)`` — untimed, builds inputs (fresh copies of documents to
  insert, documents a delete will remove);
- ``check(result)`` — turns the result into the value compared with the
  reference engine (unsorted results are compared in ``_id`` order);
- ``verify(...)`` — untimed, only on the verification run: an extra value
  to compare (inserted documents read back, a duplicate refused);
- ``undo(...)`` — untimed, after every run: restores the collection, so
  every run starts from the same state.

``kind`` groups workloads for the targets (``targets.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from bson import ObjectId

from .dataset import INDEXED_LOOKUPS, INSERT_OPS, UNINDEXED_LOOKUPS, Dataset


def _identity(result):
    return result


def _by_id(docs):
    return sorted(docs, key=lambda d: d["_id"])


def _without_id(doc):
    return None if doc is None else {k: v for k, v in doc.items() if k != "_id"}


@dataclass(frozen=True)
class Workload:
    name: str
    label: str
    kind: str            # insert | insert_unique | indexed | scan | query | write
    collection: str      # plain | indexed
    ops: int             # unit operations in one full run
    run: Callable[..., Any]
    loop: bool = False   # may run fewer than ``ops`` unit operations
    prepare: Callable[..., Any] | None = None
    check: Callable[[Any], Any] = _identity
    verify: Callable[..., Any] | None = None
    undo: Callable[..., Any] | None = None
    unit: str = "op"


# -- inserts ----------------------------------------------------------------
def _fresh_new_docs(engine, h, ds: Dataset, k):
    # insert_one adds ``_id`` to the caller's document: every run gets copies.
    return [dict(d) for d in ds.new_docs[:k]]


def _read_back(engine, h, ds, k, state, ids):
    """The inserted documents (new ones have ``uid >= n``) and whether their
    ``_id`` values are the ones the inserts returned."""
    found = sorted(engine.find_range(h, "uid", ds.n, ds.n + k), key=lambda d: d["uid"])
    return [[d["_id"] for d in found] == list(ids), [_without_id(d) for d in found]]


def _read_back_unique(engine, h, ds, k, state, ids):
    duplicate = dict(ds.docs[0], _id=ObjectId(b"dup-of-doc-0"))
    refused = engine.insert_duplicate_rejected(h, duplicate)
    return [refused] + _read_back(engine, h, ds, k, state, ids)


def _remove_inserted(engine, h, ds, k, state, ids):
    # One range delete: deleting a list of ids is quadratic on some engines.
    engine.delete_range(h, "uid", ds.n, ds.n + k)


# -- delete_many restores what it removed ------------------------------------
DELETED_CATEGORY = "c07"


def _docs_to_delete(engine, h, ds, k):
    return engine.find_eq(h, "category", DELETED_CATEGORY)


def _reinsert_deleted(engine, h, ds, k, state, result):
    engine.insert_many(h, [dict(d) for d in state])


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "insert_one", f"insert_one loop ({INSERT_OPS:,} docs) into N docs, no index",
        "insert", "plain", INSERT_OPS, loop=True, unit="doc",
        prepare=_fresh_new_docs,
        run=lambda e, h, ds, k, docs: e.insert_each(h, docs),
        verify=_read_back, undo=_remove_inserted, check=len,
    ),
    Workload(
        "insert_many", f"insert_many of {INSERT_OPS:,} docs into N docs, no index",
        "insert", "plain", INSERT_OPS, unit="doc",
        prepare=_fresh_new_docs,
        run=lambda e, h, ds, k, docs: e.insert_many(h, docs),
        verify=_read_back, undo=_remove_inserted, check=len,
    ),
    Workload(
        "insert_unique", f"insert_one loop ({INSERT_OPS:,} docs) with a unique index",
        "insert_unique", "indexed", INSERT_OPS, loop=True, unit="doc",
        prepare=_fresh_new_docs,
        run=lambda e, h, ds, k, docs: e.insert_each(h, docs),
        verify=_read_back_unique, undo=_remove_inserted, check=len,
    ),
    Workload(
        "find_one_indexed", f"find_one on a unique index ({INDEXED_LOOKUPS} lookups)",
        "indexed", "indexed", INDEXED_LOOKUPS, loop=True, unit="lookup",
        run=lambda e, h, ds, k, _: e.find_one_each(h, "username", ds.lookup_usernames[:k]),
    ),
    Workload(
        "find_one_unindexed", f"find_one on an unindexed int ({UNINDEXED_LOOKUPS} lookups)",
        "scan", "plain", UNINDEXED_LOOKUPS, loop=True, unit="lookup",
        run=lambda e, h, ds, k, _: e.find_one_each(h, "uid", ds.lookup_uids[:k]),
    ),
    Workload(
        "range_scan", "find score in [20000, 30000), ~10%, fully read",
        "scan", "plain", 1, unit="query",
        run=lambda e, h, ds, k, _: e.find_range(h, "score", 20_000, 30_000),
        check=_by_id,
    ),
    Workload(
        "in_count", "count_documents tags $in [3 tags] (array field)",
        "scan", "plain", 1, unit="query",
        run=lambda e, h, ds, k, _: e.count_any_in(h, "tags", ["rust", "go", "sql"]),
    ),
    Workload(
        "sort_limit", "find status=active sort score desc, uid asc, limit 10",
        "scan", "plain", 1, unit="query",
        run=lambda e, h, ds, k, _: e.top_k(h, "status", "active", [("score", -1), ("uid", 1)], 10),
    ),
    Workload(
        "aggregate", "$match status=active, $group by category: count, $avg score",
        "query", "plain", 1, unit="query",
        run=lambda e, h, ds, k, _: e.group_stats(h, "status", "active", "category", "score"),
        check=_by_id,
    ),
    Workload(
        "update_many", "update_many status=pending $inc stats.visits (~15%)",
        "write", "plain", 1, unit="query",
        run=lambda e, h, ds, k, _: e.inc_many(h, "status", "pending", "stats.visits", 1),
        check=list,
    ),
    Workload(
        "delete_many", f"delete_many category={DELETED_CATEGORY} (~5%)",
        "write", "plain", 1, unit="query",
        prepare=_docs_to_delete,
        run=lambda e, h, ds, k, _: e.delete_many(h, "category", DELETED_CATEGORY),
        undo=_reinsert_deleted,
    ),
)

BY_NAME = {w.name: w for w in WORKLOADS}


def setup_collections(engine, ds: Dataset) -> dict:
    """Create and load both collections; a failure is kept, per collection."""
    handles: dict = {}
    for name, unique in (("plain", None), ("indexed", "username")):
        try:
            handle = engine.create(name)
            engine.load(handle, ds.docs)
            if unique:
                engine.add_unique_index(handle, unique)
            handles[name] = handle
        except Exception as exc:  # reported on every workload that needs it
            handles[name] = exc
    return handles
