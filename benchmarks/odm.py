"""ODM workloads: what the convenience of an ODM costs.

Four stacks hold the same ``N`` documents (a unique index on ``username``):

- ``dongo-raw``     the raw collection of dongo's ``memory://`` backend,
                    reached through the same ``connect()`` the ODM uses
- ``dongo``         dongo's ODM on that backend (``Model.filter(...).list()``)
- ``mongomock-raw`` a raw mongomock collection
- ``mongoengine``   MongoEngine on mongomock: the ODM users would otherwise
                    pick for tests without a server

dongo ÷ dongo-raw is the ODM's overhead; mongoengine ÷ dongo is what a
MongoEngine user would gain.  A stack whose package does not import reports
"unavailable" (or "not installed") and the rest go on.
"""

from __future__ import annotations

import importlib
import importlib.metadata

from .engines import Unsupported
from .workloads import Workload

FIRST_LOOKUPS = 200
COUNT_QUERIES = 20
BULK_UPDATES = 1_000
INSTANTIATED = 10_000
LIST_MIN_SCORE = 90_000   # with status "active": ~5% of the documents


def _count_thresholds():
    return [LIST_MIN_SCORE - 2_000 * i for i in range(COUNT_QUERIES)]


class Stack:
    """An ODM (or raw) stack, shaped for :class:`runner.Suite`."""

    name = "?"
    label = "?"

    def __init__(self) -> None:
        self.available, self.reason, self.version = False, "", ""

    def probe(self) -> bool:
        try:
            self.version = self._import()
        except ImportError as exc:
            self.reason = f"unavailable ({exc})"
            return False
        self.available = True
        return True

    def _import(self) -> str:
        raise NotImplementedError

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def users(self, ds):
        """Create, load and index the users collection; return its handle."""
        raise NotImplementedError

    # -- operations ---------------------------------------------------------
    def filter_list(self, h, min_score):
        raise NotImplementedError

    def first_each(self, h, usernames):
        raise NotImplementedError

    def count_each(self, h, thresholds):
        raise NotImplementedError

    def bulk_targets(self, h, k):
        """Untimed: what ``bulk_inc`` needs to address ``k`` documents."""
        raise NotImplementedError

    def bulk_inc(self, h, targets) -> tuple:
        raise NotImplementedError

    def instantiate_inputs(self, docs):
        """Untimed: the arguments ``instantiate`` turns into documents."""
        return docs

    def instantiate(self, inputs) -> list:
        raise Unsupported("no ODM layer: nothing to instantiate")

    def as_dict(self, obj) -> dict:
        return obj


def _load_users(coll, ds) -> None:
    coll.insert_many([dict(d) for d in ds.docs])
    coll.create_index("username", unique=True)


class _RawStack(Stack):
    """Operations on a pymongo-shaped collection."""

    def filter_list(self, c, min_score):
        return list(c.find({"status": "active", "score": {"$gte": min_score}}))

    def first_each(self, c, usernames):
        find_one = c.find_one
        return [find_one({"username": u}) for u in usernames]

    def count_each(self, c, thresholds):
        count = c.count_documents
        return [count({"status": "active", "score": {"$gte": t}}) for t in thresholds]

    def bulk_targets(self, c, k):
        return [d["_id"] for d in c.find({"uid": {"$lt": k}}, {"_id": 1})]

    def bulk_inc(self, c, ids):
        from pymongo import UpdateOne
        result = c.bulk_write([UpdateOne({"_id": i}, {"$inc": {"stats.visits": 1}}) for i in ids])
        return result.matched_count, result.modified_count


class DongoRawStack(_RawStack):
    name = "dongo-raw"
    label = "dongo memory engine, raw collection"

    def _import(self):
        import dongo
        return dongo.__version__

    def open(self):
        import dongo
        self.client = dongo.connect("bench_odm_raw", uri="memory://")

    def close(self):
        self.client.close()

    def users(self, ds):
        coll = self.client.get_database()["users"]
        _load_users(coll, ds)
        return coll


class DongoOdmStack(Stack):
    name = "dongo"
    label = "dongo ODM on memory://"

    def _import(self):
        import dongo
        return dongo.__version__

    def open(self):
        import dongo

        class BenchUser(dongo.DongoCollection):
            collection = "users"

        self.model = BenchUser
        self.client = dongo.connect("bench_odm", uri="memory://")

    def close(self):
        import dongo
        dongo.disconnect()

    def users(self, ds):
        _load_users(self.model.get_collection(), ds)
        return self.model

    def filter_list(self, M, min_score):
        return M.filter(status="active", score__gte=min_score).list()

    def first_each(self, M, usernames):
        return [M.filter(username=u).first() for u in usernames]

    def count_each(self, M, thresholds):
        return [M.filter(status="active", score__gte=t).count() for t in thresholds]

    def bulk_targets(self, M, k):
        return M.filter(uid__lt=k).list()

    def bulk_inc(self, M, instances):
        bulk = M.bulk()
        for instance in instances:
            bulk.inc_one(instance, stats__visits=1)
        result = bulk.save()
        return result.matched_count, result.modified_count

    def instantiate(self, docs):
        M = self.model
        return [M(d) for d in docs]

    def as_dict(self, obj):
        return None if obj is None else obj.to_dict()


class MongomockRawStack(_RawStack):
    name = "mongomock-raw"
    label = "mongomock, raw collection"

    def _import(self):
        importlib.import_module("mongomock")
        return importlib.metadata.version("mongomock")

    def open(self):
        import mongomock
        self.client = mongomock.MongoClient()

    def users(self, ds):
        coll = self.client["bench_odm"]["users"]
        _load_users(coll, ds)
        return coll


class MongoEngineStack(Stack):
    name = "mongoengine"
    label = "MongoEngine on mongomock"

    def _import(self):
        importlib.import_module("mongoengine")
        importlib.import_module("mongomock")
        return importlib.metadata.version("mongoengine")

    def open(self):
        import mongoengine as me
        import mongomock

        class BenchUser(me.Document):
            # The schema a MongoEngine user would declare for these documents.
            meta = {"collection": "users", "auto_create_index": False}
            uid = me.IntField()
            username = me.StringField()
            email = me.StringField()
            age = me.IntField()
            score = me.IntField()
            status = me.StringField()
            category = me.StringField()
            tags = me.ListField(me.StringField())
            profile = me.DictField()
            stats = me.DictField()
            created = me.DateTimeField()

        self.model = BenchUser
        me.connect(db="bench_me", alias="default", host="mongodb://localhost",
                   mongo_client_class=mongomock.MongoClient)

    def close(self):
        import mongoengine as me
        me.disconnect(alias="default")

    def users(self, ds):
        _load_users(self.model._get_collection(), ds)
        return self.model

    def filter_list(self, M, min_score):
        return list(M.objects(status="active", score__gte=min_score))

    def first_each(self, M, usernames):
        return [M.objects(username=u).first() for u in usernames]

    def count_each(self, M, thresholds):
        return [M.objects(status="active", score__gte=t).count() for t in thresholds]

    def bulk_targets(self, M, k):
        raise Unsupported("MongoEngine has no bulk-write API")

    def instantiate_inputs(self, docs):
        # MongoEngine spells the primary key ``id``; renaming is not timed.
        return [{("id" if key == "_id" else key): value for key, value in d.items()}
                for d in docs]

    def instantiate(self, kwargs_list):
        M = self.model
        return [M(**kw) for kw in kwargs_list]

    def as_dict(self, obj):
        return None if obj is None else obj.to_mongo().to_dict()


STACK_CLASSES = (DongoRawStack, DongoOdmStack, MongomockRawStack, MongoEngineStack)


def all_stacks() -> list:
    stacks = [cls() for cls in STACK_CLASSES]
    for stack in stacks:
        stack.probe()
    return stacks


def setup_odm(stack, ds) -> dict:
    return {"users": stack.users(ds)}


# -- workloads ----------------------------------------------------------------
def _dicts(stack_and_objs):
    stack, objs = stack_and_objs
    return [stack.as_dict(o) for o in objs]


def _dicts_by_id(stack_and_objs):
    return sorted(_dicts(stack_and_objs), key=lambda d: d["_id"])


def _sample_dicts(stack_and_objs):
    stack, objs = stack_and_objs
    return [stack.as_dict(o) for o in objs[:: max(1, len(objs) // 10)]]


ODM_WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "filter_list", "filter(status='active', score__gte=90000).list(), ~5%",
        "odm", "users", 1, unit="query",
        run=lambda s, h, ds, k, _: (s, s.filter_list(h, LIST_MIN_SCORE)),
        check=_dicts_by_id,
    ),
    Workload(
        "first", f"filter(username=...).first() on a unique index ({FIRST_LOOKUPS}x)",
        "odm", "users", FIRST_LOOKUPS, loop=True, unit="lookup",
        run=lambda s, h, ds, k, _: (s, s.first_each(h, ds.lookup_usernames[:k])),
        check=_dicts,
    ),
    Workload(
        "count", f"filter(status='active', score__gte=t).count() ({COUNT_QUERIES}x)",
        "odm", "users", COUNT_QUERIES, loop=True, unit="query",
        run=lambda s, h, ds, k, _: s.count_each(h, _count_thresholds()[:k]),
    ),
    Workload(
        "bulk_save", f"bulk of {BULK_UPDATES:,} inc_one updates, then save()",
        "odm", "users", BULK_UPDATES, loop=True, unit="update",
        prepare=lambda s, h, ds, k: s.bulk_targets(h, k),
        run=lambda s, h, ds, k, targets: s.bulk_inc(h, targets),
        check=list,
    ),
    Workload(
        "instantiate", f"instantiate {INSTANTIATED:,} documents from dicts",
        "odm", "users", INSTANTIATED, loop=True, unit="doc",
        prepare=lambda s, h, ds, k: s.instantiate_inputs(ds.docs[:k]),
        run=lambda s, h, ds, k, inputs: (s, s.instantiate(inputs)),
        check=_sample_dicts,
    ),
)
