"""One adapter per engine: setup, teardown and the operations workloads use.

Workloads never touch an engine directly; they call the operations below on
an :class:`Engine`, so the same workload runs on every engine and on the
raw-Python floor.  Each operation that loops (``insert_each``,
``find_one_each``) keeps the loop inside the adapter, so no engine pays for
the harness's own calls.

Engines:

- ``floor``     raw Python: a list of ``[dict, raw BSON]`` rows scanned by a
                hand-written predicate, a dict for unique-index equality, and
                ``bson.decode`` of every returned document (the private copy
                any engine owes its caller).  Nothing can be much faster.
- ``dongo``     ``dongo.backends.memory.MemoryClient``
- ``mongomock`` ``mongomock.MongoClient``
- ``montydb``   ``montydb.MontyClient(":memory:")``
- ``mongita``   ``mongita.MongitaClientMemory``

The optional ones report "not installed" and the run goes on without them.
"""

from __future__ import annotations

import heapq
import importlib
import importlib.metadata

import bson
from bson import ObjectId

_encode = bson.encode
_decode = bson.decode


class Unsupported(Exception):
    """The engine does not offer an operation (reported, never timed)."""


def is_unsupported(exc: BaseException) -> bool:
    """True for "this engine cannot do that" rather than a real failure."""
    return isinstance(exc, (Unsupported, NotImplementedError))


class Engine:
    """Base adapter.  Subclasses set ``name``/``label`` and implement ops.

    Lifecycle: ``probe()`` (is it importable?) → ``open()`` →
    ``create(name)``, ``load(handle, docs)`` and ``add_unique_index`` per
    collection → operations → ``close()``.
    """

    name = "?"
    label = "?"
    distribution: str | None = None   # the PyPI name whose version we report

    def __init__(self) -> None:
        self.available = False
        self.reason = ""
        self.version = ""

    # -- lifecycle ---------------------------------------------------------
    def probe(self) -> bool:
        """Import what the engine needs; record why not if that fails."""
        try:
            self._import()
        except ImportError as exc:
            self.available, self.reason = False, f"not installed ({exc})"
            return False
        self.available = True
        if self.distribution:
            try:
                self.version = importlib.metadata.version(self.distribution)
            except importlib.metadata.PackageNotFoundError:
                self.version = "source tree"
        return True

    def _import(self) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def create(self, name: str):
        """A fresh empty collection."""
        raise NotImplementedError

    def add_unique_index(self, handle, field: str) -> None:
        """A unique index on ``field``, over the documents already loaded
        (building it after the load keeps setup fast on engines whose
        unique check scans the collection on every insert)."""
        raise NotImplementedError

    def load(self, handle, docs: list) -> None:
        """Untimed bulk load of documents that already carry ``_id``."""
        self.insert_many(handle, [dict(d) for d in docs])

    # -- operations (timed) ------------------------------------------------
    def insert_each(self, h, docs: list) -> list:
        """``insert_one`` per document; returns the ``_id`` values."""
        raise NotImplementedError

    def insert_many(self, h, docs: list) -> list:
        raise NotImplementedError

    def find_one_each(self, h, field: str, values: list) -> list:
        """``find_one({field: v})`` for each ``v``."""
        raise NotImplementedError

    def find_range(self, h, field: str, lo, hi) -> list:
        """Every document with ``lo <= field < hi``, fully read."""
        raise NotImplementedError

    def count_any_in(self, h, field: str, values: list) -> int:
        """``count_documents({field: {"$in": values}})`` (field is an array)."""
        raise NotImplementedError

    def top_k(self, h, field: str, value, sort: list, limit: int) -> list:
        """``find({field: value}).sort(sort).limit(limit)``."""
        raise NotImplementedError

    def inc_many(self, h, field: str, value, path: str, amount: int) -> tuple:
        """``update_many({field: value}, {"$inc": {path: amount}})`` →
        ``(matched, modified)``."""
        raise NotImplementedError

    def delete_many(self, h, field: str, value) -> int:
        raise NotImplementedError

    def group_stats(self, h, field: str, value, by: str, avg_of: str) -> list:
        """``$match {field: value}`` then ``$group`` by ``by`` with a count
        ``n`` and ``avg`` of ``avg_of``."""
        raise NotImplementedError

    # -- housekeeping (untimed) --------------------------------------------
    def insert_duplicate_rejected(self, h, doc: dict) -> bool:
        """Insert ``doc``, which breaks the unique index; True if refused."""
        raise NotImplementedError

    def find_eq(self, h, field: str, value) -> list:
        raise NotImplementedError

    def delete_range(self, h, field: str, lo, hi) -> int:
        """``delete_many`` of ``lo <= field < hi`` (undoes an insert run:
        one scan, where deleting by a list of ids is quadratic on some)."""
        raise NotImplementedError


# ---------------------------------------------------------------------------
# The raw-Python floor
# ---------------------------------------------------------------------------
class _Table:
    """The floor's collection: rows of ``[private dict, raw BSON]``."""

    __slots__ = ("rows", "unique_field", "unique")

    def __init__(self) -> None:
        self.rows: list = []
        self.unique_field: str | None = None
        self.unique: dict | None = None


class DuplicateKey(Exception):
    pass


class FloorEngine(Engine):
    """Hand-written Python over a list of dicts: the speed limit."""

    name = "floor"
    label = "raw Python floor"

    def create(self, name):
        return _Table()

    def add_unique_index(self, t, field):
        unique = {}
        for row in t.rows:
            key = row[0][field]
            if key in unique:
                raise DuplicateKey(key)
            unique[key] = row
        t.unique_field, t.unique = field, unique

    def insert_each(self, t, docs):
        rows, unique, uf = t.rows, t.unique, t.unique_field
        ids = []
        for doc in docs:
            if "_id" not in doc:
                doc["_id"] = ObjectId()
            raw = _encode(doc)
            row = [_decode(raw), raw]
            if unique is not None:
                key = doc[uf]
                if key in unique:
                    raise DuplicateKey(key)
                unique[key] = row
            rows.append(row)
            ids.append(doc["_id"])
        return ids

    insert_many = insert_each

    def find_one_each(self, t, field, values):
        if field == t.unique_field:
            get = t.unique.get
            out = []
            for v in values:
                row = get(v)
                out.append(None if row is None else _decode(row[1]))
            return out
        rows = t.rows
        out = []
        for v in values:
            raw = next((r[1] for r in rows if r[0][field] == v), None)
            out.append(None if raw is None else _decode(raw))
        return out

    def find_range(self, t, field, lo, hi):
        return [_decode(r[1]) for r in t.rows if lo <= r[0][field] < hi]

    def count_any_in(self, t, field, values):
        wanted = set(values)
        isdisjoint = wanted.isdisjoint
        return sum(1 for r in t.rows if not isdisjoint(r[0][field]))

    def top_k(self, t, field, value, sort, limit):
        # Hand-written key for numeric sort fields: negate the descending ones.
        (f1, d1), (f2, d2) = sort
        best = heapq.nsmallest(
            limit,
            (r for r in t.rows if r[0][field] == value),
            key=lambda r: (d1 * r[0][f1], d2 * r[0][f2]),
        )
        return [_decode(r[1]) for r in best]

    def inc_many(self, t, field, value, path, amount):
        parent, leaf = path.split(".")
        matched = 0
        for row in t.rows:
            doc = row[0]
            if doc[field] == value:
                doc[parent][leaf] += amount
                row[1] = _encode(doc)
                matched += 1
        return matched, matched

    def delete_many(self, t, field, value):
        keep = [r for r in t.rows if r[0][field] != value]
        deleted = len(t.rows) - len(keep)
        if t.unique is not None and deleted:
            alive = {r[0][t.unique_field] for r in keep}
            t.unique = {k: r for k, r in t.unique.items() if k in alive}
        t.rows = keep
        return deleted

    def group_stats(self, t, field, value, by, avg_of):
        acc: dict = {}
        for r in t.rows:
            doc = r[0]
            if doc[field] == value:
                slot = acc.get(doc[by])
                if slot is None:
                    acc[doc[by]] = [1, doc[avg_of]]
                else:
                    slot[0] += 1
                    slot[1] += doc[avg_of]
        return [{"_id": k, "n": n, "avg": s / n} for k, (n, s) in acc.items()]

    def insert_duplicate_rejected(self, t, doc):
        return doc[t.unique_field] in t.unique

    def find_eq(self, t, field, value):
        return [_decode(r[1]) for r in t.rows if r[0][field] == value]

    def delete_range(self, t, field, lo, hi):
        keep = [r for r in t.rows if not lo <= r[0][field] < hi]
        if t.unique is not None:
            for r in t.rows:
                if lo <= r[0][field] < hi:
                    del t.unique[r[0][t.unique_field]]
        deleted = len(t.rows) - len(keep)
        t.rows = keep
        return deleted


# ---------------------------------------------------------------------------
# Engines with a pymongo-shaped client
# ---------------------------------------------------------------------------
class PymongoShapedEngine(Engine):
    """Shared operations for every engine shaped like ``pymongo``."""

    database = "bench"

    def make_client(self):
        raise NotImplementedError

    def open(self):
        self.client = self.make_client()
        self.db = self.client[self.database]

    def close(self):
        for name in list(self.db.list_collection_names()):
            self.db.drop_collection(name)
        close = getattr(self.client, "close", None)
        if close is not None:
            close()
        self.client = self.db = None

    def create(self, name):
        return self.db[name]   # a fresh client: the collection is new

    def add_unique_index(self, c, field):
        try:
            c.create_index(field, unique=True)
        except Exception as exc:
            if is_unsupported(exc) or "not supported" in str(exc):
                raise Unsupported(f"unique index: {str(exc).split('.')[0]}") from exc
            raise

    def insert_each(self, c, docs):
        insert_one = c.insert_one
        return [insert_one(d).inserted_id for d in docs]

    def insert_many(self, c, docs):
        return c.insert_many(docs).inserted_ids

    def find_one_each(self, c, field, values):
        find_one = c.find_one
        return [find_one({field: v}) for v in values]

    def find_range(self, c, field, lo, hi):
        return list(c.find({field: {"$gte": lo, "$lt": hi}}))

    def count_any_in(self, c, field, values):
        return c.count_documents({field: {"$in": values}})

    def top_k(self, c, field, value, sort, limit):
        return list(c.find({field: value}).sort(sort).limit(limit))

    def inc_many(self, c, field, value, path, amount):
        result = c.update_many({field: value}, {"$inc": {path: amount}})
        return result.matched_count, result.modified_count

    def delete_many(self, c, field, value):
        return c.delete_many({field: value}).deleted_count

    def group_stats(self, c, field, value, by, avg_of):
        return list(c.aggregate([
            {"$match": {field: value}},
            {"$group": {"_id": "$" + by, "n": {"$sum": 1}, "avg": {"$avg": "$" + avg_of}}},
        ]))

    def insert_duplicate_rejected(self, c, doc):
        try:
            c.insert_one(doc)
        except Exception as exc:
            if type(exc).__name__ == "DuplicateKeyError":
                return True
            raise
        c.delete_one({"_id": doc["_id"]})
        return False

    def find_eq(self, c, field, value):
        return list(c.find({field: value}))

    def delete_range(self, c, field, lo, hi):
        return c.delete_many({field: {"$gte": lo, "$lt": hi}}).deleted_count


class DongoEngine(PymongoShapedEngine):
    name = "dongo"
    label = "dongo memory engine"
    distribution = "dongo"

    def _import(self):
        importlib.import_module("dongo.backends.memory").MemoryClient

    def make_client(self):
        from dongo.backends.memory import MemoryClient
        return MemoryClient()


class MongomockEngine(PymongoShapedEngine):
    name = "mongomock"
    label = "mongomock"
    distribution = "mongomock"

    def _import(self):
        importlib.import_module("mongomock")

    def make_client(self):
        import mongomock
        return mongomock.MongoClient()


class MontydbEngine(PymongoShapedEngine):
    name = "montydb"
    label = "montydb (memory storage)"
    distribution = "montydb"

    def _import(self):
        importlib.import_module("montydb")

    _shared_client = None

    def make_client(self):
        # montydb cannot open a second ":memory:" client in one process once
        # the first is closed (ConfigurationError about its BSON setting), so
        # one client is kept and its collections are dropped between uses.
        from montydb import MontyClient
        if MontydbEngine._shared_client is None:
            MontydbEngine._shared_client = MontyClient(":memory:")
        return MontydbEngine._shared_client

    def close(self):
        for name in list(self.db.list_collection_names()):
            self.db.drop_collection(name)
        self.client = self.db = None


class MongitaEngine(PymongoShapedEngine):
    name = "mongita"
    label = "mongita (memory client)"
    distribution = "mongita"

    def _import(self):
        importlib.import_module("mongita")

    def make_client(self):
        from mongita import MongitaClientMemory
        return MongitaClientMemory()


ENGINE_CLASSES = (FloorEngine, DongoEngine, MongomockEngine, MontydbEngine, MongitaEngine)


def all_engines() -> list:
    """Fresh adapters for every engine, probed for availability."""
    engines = [cls() for cls in ENGINE_CLASSES]
    for engine in engines:
        engine.probe()
    return engines
