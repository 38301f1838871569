"""API parity of the memory engine with pymongo (4.6 up to the installed 4.x).

``MemoryClient`` promises pymongo's shape, so this module checks it against
pymongo itself rather than against a hand-written list:

1. **Members and signatures.**  Every public member of ``MongoClient``,
   ``Database``, ``Collection``, ``Cursor`` and ``CommandCursor`` (plus the
   protocol dunders pymongo defines, and the constructors users call) is
   introspected from the *installed* pymongo.  The memory class must have it,
   of the same kind (method / property / plain value), and a method must accept
   every pymongo parameter by the same name, kind (positional-or-keyword vs
   keyword-only), position and default.  ``**kwargs`` may only absorb keywords
   where pymongo itself takes ``**kwargs``.
2. **Client-side validation.**  A table of bad calls is run on a real pymongo
   ``Collection`` whose client cannot connect (``127.0.0.1:1``, 1 ms server
   selection).  pymongo checks its arguments before any network I/O, so the
   exception it raises *is* the expected one; the memory engine must raise the
   same type with the same message.  Calls that pymongo sends to the server
   (it raises ``ServerSelectionTimeoutError``) are server-side and belong to
   the behaviour suites, not here.
3. **Result objects.**  Writes return the ``pymongo.results`` classes with the
   same attributes; cursors have the same iteration protocol.

Out-of-scope members are listed in ``UNSUPPORTED`` with a reason each: they
must raise ``NotImplementedError`` naming the feature.  Known gaps are
``xfail(strict=True)`` with the reason, one test per member or case, so a fix
turns into an XPASS failure that asks for the mark to be removed.  The gap
list with suggested fixes is ``docs/pymongo-parity.md``.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable

import pytest
from bson import DBRef
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.command_cursor import CommandCursor
from pymongo.cursor import Cursor
from pymongo.database import Database
from pymongo.errors import ServerSelectionTimeoutError
from pymongo.operations import DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.results import (
    BulkWriteResult,
    DeleteResult,
    InsertManyResult,
    InsertOneResult,
    UpdateResult,
)

from dongo.backends.memory import MemoryClient
from dongo.backends.memory.cursor import MemoryCommandCursor, MemoryCursor
from dongo.backends.memory.collection import MemoryCollection
from dongo.backends.memory.database import MemoryDatabase

# pymongo class name -> (pymongo class, memory class)
PAIRS: dict[str, tuple[type, type]] = {
    "MongoClient": (MongoClient, MemoryClient),
    "Database": (Database, MemoryDatabase),
    "Collection": (Collection, MemoryCollection),
    "Cursor": (Cursor, MemoryCursor),
    "CommandCursor": (CommandCursor, MemoryCommandCursor),
}

# Dunders that are part of the user-visible protocol when pymongo defines them.
PROTOCOL_DUNDERS = (
    "__iter__", "__next__", "__enter__", "__exit__", "__getitem__", "__getattr__",
    "__eq__", "__ne__", "__hash__", "__bool__", "__call__", "__copy__", "__deepcopy__",
)

# Constructors users call directly: ``MongoClient(...)``, and ``Cursor(...)``
# whose parameters are exactly what ``Collection.find(*args, **kwargs)`` takes.
CONSTRUCTORS = {"MongoClient": "__init__", "Cursor": "__init__"}

_CHANGE_STREAMS = "change streams need an oplog and resumable server cursors"
_SEARCH = "Atlas Search indexes exist only on Atlas (mongot), not in a mongod"

# Members deliberately out of scope: (class, member) -> (words the
# NotImplementedError message must contain, call that triggers it, reason).
UNSUPPORTED: dict[tuple[str, str], tuple[str, Callable[[Any], Any], str]] = {
    ("MongoClient", "watch"): ("change streams", lambda c: c.watch(), _CHANGE_STREAMS),
    ("Database", "watch"): ("change streams", lambda d: d.watch(), _CHANGE_STREAMS),
    ("Collection", "watch"): ("change streams", lambda c: c.watch(), _CHANGE_STREAMS),
    ("MongoClient", "bulk_write"): (
        "bulk_write", lambda c: c.bulk_write([]),
        "client-level bulkWrite is a MongoDB 8.0 command; the engine is 7.x"),
    ("Database", "validate_collection"): (
        "validate_collection", lambda d: d.validate_collection("c"),
        "validates on-disk structures the engine does not have"),
    ("Collection", "find_raw_batches"): (
        "find_raw_batches", lambda c: c.find_raw_batches(),
        "raw BSON batches are a wire-protocol artefact"),
    ("Collection", "aggregate_raw_batches"): (
        "aggregate_raw_batches", lambda c: c.aggregate_raw_batches([]),
        "raw BSON batches are a wire-protocol artefact"),
    ("Collection", "create_search_index"): (
        "search index", lambda c: c.create_search_index({"definition": {}}), _SEARCH),
    ("Collection", "create_search_indexes"): (
        "search index", lambda c: c.create_search_indexes([]), _SEARCH),
    ("Collection", "drop_search_index"): (
        "search index", lambda c: c.drop_search_index("x"), _SEARCH),
    ("Collection", "list_search_indexes"): (
        "search index", lambda c: c.list_search_indexes(), _SEARCH),
    ("Collection", "update_search_index"): (
        "search index", lambda c: c.update_search_index("x", {}), _SEARCH),
    ("Cursor", "where"): (
        "$where", lambda cur: cur.where("true"), "$where runs server-side JavaScript"),
    ("Cursor", "max"): (
        "cursor.max", lambda cur: cur.max([("_id", 1)]),
        "min/max index bounds are not implemented by the planner"),
    ("Cursor", "min"): (
        "cursor.min", lambda cur: cur.min([("_id", 1)]),
        "min/max index bounds are not implemented by the planner"),
    ("Cursor", "add_option"): (
        "cursor flags", lambda cur: cur.add_option(2),
        "tailable/exhaust/partial flags need server cursor machinery"),
}

# Known gaps of the memory engine for the installed pymongo, one per member:
# (class, member) -> what is wrong.  See docs/pymongo-parity.md.
MEMBER_GAPS: dict[tuple[str, str], str] = {
}


# -- member and signature comparison --------------------------------------------------


def _kind(value: Any) -> str:
    """'method', 'property', 'none' (``__iter__ = None``) or 'value'."""
    if value is None:
        return "none"
    if isinstance(value, property):
        return "property"
    if isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
        return "method"
    if callable(value) and not isinstance(value, type):
        return "method"
    return "value"


def _own_static(cls: type, name: str) -> Any:
    """``cls.name`` without descriptors or ``__getattr__``; raises AttributeError when
    only ``object`` provides it (except ``__ne__``: Python derives it from ``__eq__``)."""
    for klass in cls.__mro__:
        if klass is object and name != "__ne__":
            break
        if name in vars(klass):
            return vars(klass)[name]
    raise AttributeError(name)


def _members(cls_name: str) -> list[str]:
    pm_cls = PAIRS[cls_name][0]
    names = [n for n in dir(pm_cls) if not n.startswith("_")]
    for dunder in PROTOCOL_DUNDERS:
        try:
            _own_static(pm_cls, dunder)
        except AttributeError:
            continue
        names.append(dunder)
    if cls_name in CONSTRUCTORS:
        names.append(CONSTRUCTORS[cls_name])
    return sorted(names)


def _same_default(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def signature_problems(pm_func: Any, mem_func: Any, positional_only: bool = False) -> list[str]:
    """How ``mem_func``'s signature fails to accept what ``pm_func``'s accepts.

    ``positional_only``: Python calls the method with positional arguments only
    (``__exit__``, ``__ne__``), so only the number of arguments matters.

        >>> signature_problems(lambda self, a, b=1: 0, lambda self, a, b=2: 0)
        ["parameter 'b' default 2, pymongo 1"]
    """
    P = inspect.Parameter
    variadic = (P.VAR_POSITIONAL, P.VAR_KEYWORD)
    pm_params = list(inspect.signature(pm_func).parameters.values())[1:]  # drop self
    mem_params = list(inspect.signature(mem_func).parameters.values())[1:]
    mem_by_name = {p.name: p for p in mem_params if p.kind not in variadic}
    mem_kinds = {p.kind for p in mem_params}
    pm_kinds = {p.kind for p in pm_params}
    problems = []
    for param in pm_params:
        if param.kind in variadic:
            if param.kind not in mem_kinds:
                problems.append(f"no {'*args' if param.kind is P.VAR_POSITIONAL else '**kwargs'}")
            continue
        if positional_only:
            continue  # checked by arity below: names do not matter
        mine = mem_by_name.get(param.name)
        if mine is None:
            problems.append(f"missing parameter {param.name!r}")
            continue
        if mine.kind != param.kind:
            problems.append(f"parameter {param.name!r} is {mine.kind.description}, "
                            f"pymongo {param.kind.description}")
        if not _same_default(mine.default, param.default):
            shown = "required" if mine.default is P.empty else repr(mine.default)
            wanted = "required" if param.default is P.empty else repr(param.default)
            problems.append(f"parameter {param.name!r} default {shown}, pymongo {wanted}")
    positional = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
    if positional_only:
        wanted = len([p for p in pm_params if p.kind in positional])
        accepted = len([p for p in mem_params if p.kind in positional])
        required = len([p for p in mem_params
                        if p.kind in positional and p.default is P.empty])
        if required > wanted or (accepted < wanted and P.VAR_POSITIONAL not in mem_kinds):
            problems.append(f"does not accept {wanted} positional arguments")
        return problems
    pm_order = [p.name for p in pm_params if p.kind in positional and p.name in mem_by_name]
    mem_order = [p.name for p in mem_params if p.kind in positional]
    if mem_order[:len(pm_order)] != pm_order:
        problems.append(f"positional order {mem_order}, pymongo {pm_order}")
    pm_names = {p.name for p in pm_params}
    for param in mem_params:
        if param.kind not in variadic and param.name not in pm_names \
                and param.default is P.empty:
            problems.append(f"extra required parameter {param.name!r}")
    if P.VAR_KEYWORD in mem_kinds and P.VAR_KEYWORD not in pm_kinds:
        problems.append("takes **kwargs where pymongo rejects unknown keywords")
    return problems


def _member_params() -> list:
    params = []
    for cls_name in PAIRS:
        for name in _members(cls_name):
            key = (cls_name, name)
            marks = []
            if key in MEMBER_GAPS:
                marks.append(pytest.mark.xfail(strict=True,
                                               reason=f"parity gap: {MEMBER_GAPS[key]}"))
            params.append(pytest.param(cls_name, name, marks=marks, id=f"{cls_name}.{name}"))
    return params


@pytest.fixture
def memory_objects():
    """One memory object of each class, keyed by pymongo class name."""
    client = MemoryClient()
    coll = client["parity"]["c"]
    coll.insert_many([{"_id": 1}, {"_id": 2}])
    return {"MongoClient": client, "Database": client["parity"], "Collection": coll,
            "Cursor": coll.find(), "CommandCursor": coll.aggregate([])}


@pytest.mark.parametrize(("cls_name", "name"), _member_params())
def test_member_parity(cls_name, name, memory_objects):
    pm_cls, mem_cls = PAIRS[cls_name]
    pm_value = _own_static(pm_cls, name)
    try:
        mem_value = _own_static(mem_cls, name)
    except AttributeError:
        pytest.fail(f"{mem_cls.__name__} has no {name!r} (pymongo {cls_name} has it)")

    if (cls_name, name) in UNSUPPORTED:
        words, call, _reason = UNSUPPORTED[(cls_name, name)]
        with pytest.raises(NotImplementedError) as info:
            call(memory_objects[cls_name])
        assert words.lower() in str(info.value).lower()
        return

    assert _kind(mem_value) == _kind(pm_value), (
        f"{name}: memory is a {_kind(mem_value)}, pymongo a {_kind(pm_value)}")
    if _kind(pm_value) == "method":
        assert signature_problems(getattr(pm_cls, name), getattr(mem_cls, name),
                                  positional_only=name.startswith("__")) == []
    elif _kind(pm_value) == "value":
        assert mem_value == pm_value


def test_signature_comparison_catches_each_kind_of_difference():
    """The comparator itself: each difference it exists to catch is reported."""
    def pm(self, a, b=1, *, c=None, **kwargs): ...

    assert signature_problems(pm, pm) == []
    assert signature_problems(pm, lambda self, a, *, c=None, **kw: 0) == [
        "missing parameter 'b'"]
    assert signature_problems(pm, lambda self, a, b=1, c=None, **kw: 0) == [
        "parameter 'c' is positional or keyword, pymongo keyword-only"]
    assert signature_problems(pm, lambda self, a, b=True, *, c=None, **kw: 0) == [
        "parameter 'b' default True, pymongo 1"]
    assert signature_problems(pm, lambda self, b=1, a=None, *, c=None, **kw: 0) == [
        "parameter 'a' default None, pymongo required",
        "positional order ['b', 'a'], pymongo ['a', 'b']"]
    assert signature_problems(pm, lambda self, a, b=1, *, c=None: 0) == ["no **kwargs"]
    assert signature_problems(pm, lambda self, *args, c=None, **kw: 0) == [
        "missing parameter 'a'", "missing parameter 'b'"]
    def exit_(self, exc_type, exc_val, exc_tb): ...

    assert signature_problems(exit_, lambda self, *exc: 0, positional_only=True) == []
    assert signature_problems(exit_, lambda self, x, y, z: 0, positional_only=True) == []
    assert signature_problems(exit_, lambda self, x: 0, positional_only=True) == [
        "does not accept 3 positional arguments"]
    assert signature_problems(lambda self, a: 0, lambda self, a, **kw: 0) == [
        "takes **kwargs where pymongo rejects unknown keywords"]
    assert signature_problems(lambda self, a: 0, lambda self, a, z: 0) == [
        "extra required parameter 'z'"]


# -- client-side argument validation ------------------------------------------------------

_NOT_A_REQUEST = object()  # the same object on both sides: its repr is in the message

# (case id, target, call).  Every call here is rejected by pymongo itself before
# any network I/O; calls pymongo leaves to the server are not listed.
VALIDATION_CASES: list[tuple[str, str, Callable[[Any], Any]]] = [
    # find() arguments (Cursor.__init__)
    ("find(filter=1)", "coll", lambda c: c.find(filter=1)),
    ("find(1)", "coll", lambda c: c.find(1)),
    ("find(projection=1)", "coll", lambda c: c.find({}, projection=1)),
    ("find(projection=['a', 1])", "coll", lambda c: c.find({}, ["a", 1])),
    ("find(skip='x')", "coll", lambda c: c.find(skip="x")),
    ("find(limit='x')", "coll", lambda c: c.find(limit="x")),
    ("find(limit=1.5)", "coll", lambda c: c.find(limit=1.5)),
    ("find(no_cursor_timeout='x')", "coll", lambda c: c.find(no_cursor_timeout="x")),
    ("find(cursor_type=99)", "coll", lambda c: c.find(cursor_type=99)),
    ("find(allow_partial_results='x')", "coll", lambda c: c.find(allow_partial_results="x")),
    ("find(oplog_replay='x')", "coll", lambda c: c.find(oplog_replay="x")),
    ("find(batch_size=-1)", "coll", lambda c: c.find(batch_size=-1)),
    ("find(batch_size='x')", "coll", lambda c: c.find(batch_size="x")),
    ("find(sort=1)", "coll", lambda c: c.find(sort=1)),
    ("find(collation=1)", "coll", lambda c: c.find(collation=1)),
    ("find(hint=1)", "coll", lambda c: c.find(hint=1)),
    ("find(allow_disk_use='x')", "coll", lambda c: c.find(allow_disk_use="x")),
    ("find(let=1)", "coll", lambda c: c.find(let=1)),
    ("find(bogus=1)", "coll", lambda c: c.find(bogus=1)),
    ("find_one({}, projection=1)", "coll", lambda c: c.find_one({}, projection=1)),
    # Cursor modifiers
    ("find().sort(1)", "coll", lambda c: c.find().sort(1)),
    ("find().sort([])", "coll", lambda c: c.find().sort([])),
    ("find().sort([('a',)])", "coll", lambda c: c.find().sort([("a",)])),
    ("find().sort({'a': 1}, 1)", "coll", lambda c: c.find().sort({"a": 1}, 1)),
    ("find().limit('x')", "coll", lambda c: c.find().limit("x")),
    ("find().skip(-1)", "coll", lambda c: c.find().skip(-1)),
    ("find().skip('x')", "coll", lambda c: c.find().skip("x")),
    ("find().skip(1.5)", "coll", lambda c: c.find().skip(1.5)),
    ("find().batch_size(-1)", "coll", lambda c: c.find().batch_size(-1)),
    ("find().batch_size('x')", "coll", lambda c: c.find().batch_size("x")),
    ("find().max_time_ms('x')", "coll", lambda c: c.find().max_time_ms("x")),
    ("find().allow_disk_use('x')", "coll", lambda c: c.find().allow_disk_use("x")),
    ("find().collation(1)", "coll", lambda c: c.find().collation(1)),
    ("find().hint(1)", "coll", lambda c: c.find().hint(1)),
    ("find().where(1)", "coll", lambda c: c.find().where(1)),
    ("find()[-1]", "coll", lambda c: c.find()[-1]),
    ("find()[-1:]", "coll", lambda c: c.find()[-1:]),
    ("find()[1:2:3]", "coll", lambda c: c.find()[1:2:3]),
    ("find()[3:1]", "coll", lambda c: c.find()[3:1]),
    ("find()['x']", "coll", lambda c: c.find()["x"]),
    ("find()[1.5]", "coll", lambda c: c.find()[1.5]),
    ("find().to_list(0)", "coll", lambda c: c.find().to_list(0)),
    # CommandCursor methods (pymongo side: a CommandCursor over a canned first batch)
    ("aggregate([]).batch_size(-1)", "cmdcursor", lambda cur: cur.batch_size(-1)),
    ("aggregate([]).batch_size('x')", "cmdcursor", lambda cur: cur.batch_size("x")),
    ("aggregate([]).to_list(0)", "cmdcursor", lambda cur: cur.to_list(0)),
    # inserts
    ("insert_one([])", "coll", lambda c: c.insert_one([])),
    ("insert_one(1)", "coll", lambda c: c.insert_one(1)),
    ("insert_many([])", "coll", lambda c: c.insert_many([])),
    ("insert_many({})", "coll", lambda c: c.insert_many({})),
    ("insert_many(1)", "coll", lambda c: c.insert_many(1)),
    ("insert_many('ab')", "coll", lambda c: c.insert_many("ab")),
    ("insert_many([1])", "coll", lambda c: c.insert_many([1])),
    ("insert_many(iter([]))", "coll", lambda c: c.insert_many(iter([]))),
    # updates and replacements
    ("update_one({}, {'a': 1})", "coll", lambda c: c.update_one({}, {"a": 1})),
    ("update_one({}, {})", "coll", lambda c: c.update_one({}, {})),
    ("update_one({}, [])", "coll", lambda c: c.update_one({}, [])),
    ("update_one({}, 1)", "coll", lambda c: c.update_one({}, 1)),
    ("update_one(1, {'$set': ...})", "coll", lambda c: c.update_one(1, {"$set": {"a": 1}})),
    ("update_one(array_filters=1)", "coll",
     lambda c: c.update_one({}, {"$set": {"a": 1}}, array_filters=1)),
    ("update_many({}, {'a': 1})", "coll", lambda c: c.update_many({}, {"a": 1})),
    ("update_many({}, {})", "coll", lambda c: c.update_many({}, {})),
    ("update_many(1, {'$set': ...})", "coll", lambda c: c.update_many(1, {"$set": {"a": 1}})),
    ("replace_one({}, {'$set': {}})", "coll", lambda c: c.replace_one({}, {"$set": {}})),
    ("replace_one({}, 1)", "coll", lambda c: c.replace_one({}, 1)),
    ("replace_one({}, [])", "coll", lambda c: c.replace_one({}, [])),
    ("replace_one(1, {})", "coll", lambda c: c.replace_one(1, {})),
    # reads with options
    ("count_documents({}, hint=1)", "coll", lambda c: c.count_documents({}, hint=1)),
    ("distinct(1)", "coll", lambda c: c.distinct(1)),
    ("distinct('a', hint=1)", "coll", lambda c: c.distinct("a", hint=1)),
    # bulk_write
    ("bulk_write([])", "coll", lambda c: c.bulk_write([])),
    ("bulk_write([object()])", "coll", lambda c: c.bulk_write([_NOT_A_REQUEST])),
    ("bulk_write({})", "coll", lambda c: c.bulk_write({})),
    ("bulk_write(1)", "coll", lambda c: c.bulk_write(1)),
    ("bulk_write([InsertOne([])])", "coll", lambda c: c.bulk_write([InsertOne([])])),
    ("bulk_write([UpdateOne({}, {'a': 1})])", "coll",
     lambda c: c.bulk_write([UpdateOne({}, {"a": 1})])),
    ("bulk_write([UpdateMany({}, {})])", "coll", lambda c: c.bulk_write([UpdateMany({}, {})])),
    ("bulk_write([ReplaceOne({}, {'$set': {}})])", "coll",
     lambda c: c.bulk_write([ReplaceOne({}, {"$set": {}})])),
    ("bulk_write([DeleteOne(1)])", "coll", lambda c: c.bulk_write([DeleteOne(1)])),
    # indexes
    ("create_index([])", "coll", lambda c: c.create_index([])),
    ("create_index(1)", "coll", lambda c: c.create_index(1)),
    ("create_indexes(1)", "coll", lambda c: c.create_indexes(1)),
    ("drop_index(1)", "coll", lambda c: c.drop_index(1)),
    # findAndModify helpers
    ("find_one_and_update({}, {'a': 1})", "coll", lambda c: c.find_one_and_update({}, {"a": 1})),
    ("find_one_and_update({}, {})", "coll", lambda c: c.find_one_and_update({}, {})),
    ("find_one_and_update(1, {'$set': ...})", "coll",
     lambda c: c.find_one_and_update(1, {"$set": {"a": 1}})),
    ("find_one_and_update(return_document='x')", "coll",
     lambda c: c.find_one_and_update({}, {"$set": {"a": 1}}, return_document="x")),
    ("find_one_and_update(array_filters=1)", "coll",
     lambda c: c.find_one_and_update({}, {"$set": {"a": 1}}, array_filters=1)),
    ("find_one_and_replace({}, {'$set': {}})", "coll",
     lambda c: c.find_one_and_replace({}, {"$set": {}})),
    ("find_one_and_replace({}, 1)", "coll", lambda c: c.find_one_and_replace({}, 1)),
    ("find_one_and_replace(return_document=1)", "coll",
     lambda c: c.find_one_and_replace({}, {}, return_document=1)),
    ("find_one_and_delete(1)", "coll", lambda c: c.find_one_and_delete(1)),
    # aggregate
    ("aggregate(1)", "coll", lambda c: c.aggregate(1)),
    ("aggregate({})", "coll", lambda c: c.aggregate({})),
    ("aggregate([], let=1)", "coll", lambda c: c.aggregate([], let=1)),
    ("aggregate([], collation=1)", "coll", lambda c: c.aggregate([], collation=1)),
    ("aggregate([], batchSize='x')", "coll", lambda c: c.aggregate([], batchSize="x")),
    ("aggregate([], batchSize=-1)", "coll", lambda c: c.aggregate([], batchSize=-1)),
    # collection names and the Collection object itself
    ("rename(1)", "coll", lambda c: c.rename(1)),
    ("rename('')", "coll", lambda c: c.rename("")),
    ("rename('$a')", "coll", lambda c: c.rename("$a")),
    ("rename('.a')", "coll", lambda c: c.rename(".a")),
    ("rename('a.')", "coll", lambda c: c.rename("a.")),
    ("rename('a..b')", "coll", lambda c: c.rename("a..b")),
    ("coll['$x']", "coll", lambda c: c["$x"]),
    ("coll._x", "coll", lambda c: c._x),
    ("bool(coll)", "coll", lambda c: bool(c)),
    ("iter(coll)", "coll", lambda c: iter(c)),
    ("next(coll)", "coll", lambda c: next(c)),
    ("coll.nosuchmethod()", "coll", lambda c: c.nosuchmethod()),
    ("coll.with_options(codec_options=1)", "coll", lambda c: c.with_options(codec_options=1)),
    ("coll.with_options(read_preference=1)", "coll",
     lambda c: c.with_options(read_preference=1)),
    ("coll.with_options(write_concern=1)", "coll", lambda c: c.with_options(write_concern=1)),
    ("coll.with_options(read_concern=1)", "coll", lambda c: c.with_options(read_concern=1)),
    # Database
    ("db['']", "db", lambda d: d[""]),
    ("db['$x']", "db", lambda d: d["$x"]),
    ("db['a..b']", "db", lambda d: d["a..b"]),
    ("db['.a']", "db", lambda d: d[".a"]),
    ("db['a.']", "db", lambda d: d["a."]),
    ("db['a\\x00b']", "db", lambda d: d["a\x00b"]),
    ("db[1]", "db", lambda d: d[1]),
    ("db.get_collection('')", "db", lambda d: d.get_collection("")),
    ("db.get_collection('c', codec_options=1)", "db",
     lambda d: d.get_collection("c", codec_options=1)),
    ("db.get_collection('c', write_concern=1)", "db",
     lambda d: d.get_collection("c", write_concern=1)),
    ("db.get_collection('c', read_concern=1)", "db",
     lambda d: d.get_collection("c", read_concern=1)),
    ("db.with_options(codec_options=1)", "db", lambda d: d.with_options(codec_options=1)),
    ("db.command(1)", "db", lambda d: d.command(1)),
    ("db.cursor_command(1)", "db", lambda d: d.cursor_command(1)),
    ("db.aggregate(1)", "db", lambda d: d.aggregate(1)),
    ("db.drop_collection(1)", "db", lambda d: d.drop_collection(1)),
    ("db.list_collection_names(filter=1)", "db", lambda d: d.list_collection_names(filter=1)),
    ("db.dereference(1)", "db", lambda d: d.dereference(1)),
    ("db.dereference(DBRef to another db)", "db",
     lambda d: d.dereference(DBRef("c", 1, database="other"))),
    ("db._x", "db", lambda d: d._x),
    ("bool(db)", "db", lambda d: bool(d)),
    ("iter(db)", "db", lambda d: iter(d)),
    ("next(db)", "db", lambda d: next(d)),
    ("db()", "db", lambda d: d()),
    # MongoClient
    ("client['']", "client", lambda c: c[""]),
    ("client['a.b']", "client", lambda c: c["a.b"]),
    ("client['a b']", "client", lambda c: c["a b"]),
    ("client['a$b']", "client", lambda c: c["a$b"]),
    ("client['a/b']", "client", lambda c: c["a/b"]),
    ("client['a\"b']", "client", lambda c: c['a"b']),
    ("client['a\\x00b']", "client", lambda c: c["a\x00b"]),
    ("client[1]", "client", lambda c: c[1]),
    ("client.get_database('')", "client", lambda c: c.get_database("")),
    ("client.get_database(1)", "client", lambda c: c.get_database(1)),
    ("client.get_database('d', write_concern=1)", "client",
     lambda c: c.get_database("d", write_concern=1)),
    ("client.get_database('d', read_preference=1)", "client",
     lambda c: c.get_database("d", read_preference=1)),
    ("client.get_default_database()", "client", lambda c: c.get_default_database()),
    ("client.drop_database(1)", "client", lambda c: c.drop_database(1)),
    ("client.drop_database('')", "client", lambda c: c.drop_database("")),
    ("client._x", "client", lambda c: c._x),
    ("iter(client)", "client", lambda c: iter(c)),
    ("next(client)", "client", lambda c: next(c)),
    ("client.start_session(causal_consistency=True, snapshot=True)", "client",
     lambda c: c.start_session(causal_consistency=True, snapshot=True)),
    # MongoClient(...) options: "new" targets are client factories
    ("MongoClient(tz_aware='x')", "new", lambda new: new(tz_aware="x")),
    ("MongoClient(document_class=1)", "new", lambda new: new(document_class=1)),
    ("MongoClient(w=-1)", "new", lambda new: new(w=-1)),
    ("MongoClient(w=0, journal=True)", "new", lambda new: new(w=0, journal=True)),
    ("MongoClient(journal='x')", "new", lambda new: new(journal="x")),
    ("MongoClient(wTimeoutMS=-1)", "new", lambda new: new(wTimeoutMS=-1)),
    ("MongoClient(uuidRepresentation='x')", "new", lambda new: new(uuidRepresentation="x")),
    ("MongoClient(tzinfo=1)", "new", lambda new: new(tzinfo=1)),
    ("MongoClient(unicode_decode_error_handler=1)", "new",
     lambda new: new(unicode_decode_error_handler=1)),
    ("MongoClient(readPreference='x')", "new", lambda new: new(readPreference="x")),
    ("MongoClient(port='x')", "new", lambda new: new(port="x")),
    ("MongoClient(bogus=1)", "new", lambda new: new(bogus=1)),
]

# Validation gaps: case id -> what the memory engine does instead.
VALIDATION_GAPS: dict[str, str] = {
}

# pymongo's class names where the memory engine's differ by design.
_CLASS_NAMES = (("MemoryCommandCursor", "CommandCursor"), ("MemoryCursor", "Cursor"),
                ("MemoryCollection", "Collection"), ("MemoryDatabase", "Database"),
                ("MemoryClient", "MongoClient"))


def normalized_message(exc: BaseException) -> str:
    """``str(exc)`` with class names spelled as pymongo's (``_AgnosticCursor`` is
    pymongo >= 4.9's internal base of ``Cursor``).

        >>> normalized_message(TypeError("'MemoryCollection' object is not iterable"))
        "'Collection' object is not iterable"
    """
    text = str(exc)
    for mine, theirs in _CLASS_NAMES:
        text = re.sub(rf"\b{mine}\b", theirs, text)
    return re.sub(r"\b_Agnostic(\w+)", r"\1", text)


def _offline_client(**kwargs: Any) -> MongoClient:
    """A pymongo client that cannot reach a server: only 127.0.0.1:1, 1 ms timeouts."""
    return MongoClient("mongodb://127.0.0.1:1", serverSelectionTimeoutMS=1,
                       connectTimeoutMS=1, socketTimeoutMS=1, connect=False, **kwargs)


def _outcome(call: Callable[[Any], Any], target: Any) -> BaseException | None:
    try:
        result = call(target)
    except Exception as exc:  # noqa: BLE001 - the exception is the observation
        return exc
    if isinstance(result, MongoClient):
        result.close()
    return None


@pytest.fixture(scope="module")
def pymongo_targets():
    client = _offline_client()
    coll = client["parity"]["c"]
    # A command cursor needs no server until its first batch is used up.
    command_cursor = CommandCursor(coll, {"id": 0, "firstBatch": [{"_id": 1}]}, None)
    yield {"client": client, "db": client["parity"], "coll": coll, "new": _offline_client,
           "cmdcursor": command_cursor}
    client.close()


@pytest.fixture
def memory_targets():
    client = MemoryClient()
    client["parity"]["c"].insert_many([{"_id": 1}, {"_id": 2}])
    coll = client["parity"]["c"]
    return {"client": client, "db": client["parity"], "coll": coll, "new": MemoryClient,
            "cmdcursor": coll.aggregate([])}


def _validation_params() -> list:
    params = []
    for case_id, target, call in VALIDATION_CASES:
        marks = []
        if case_id in VALIDATION_GAPS:
            marks.append(pytest.mark.xfail(
                strict=True, reason=f"parity gap: {VALIDATION_GAPS[case_id]}"))
        params.append(pytest.param(target, call, marks=marks, id=case_id))
    return params


@pytest.mark.parametrize(("target", "call"), _validation_params())
def test_client_side_validation_matches_pymongo(target, call, pymongo_targets,
                                                memory_targets):
    expected = _outcome(call, pymongo_targets[target])
    assert expected is not None, "pymongo accepts this call: not a validation case"
    assert not isinstance(expected, ServerSelectionTimeoutError), (
        "pymongo sends this call to the server: it is not a client-side check")
    actual = _outcome(call, memory_targets[target])
    assert actual is not None, f"memory engine accepted it; pymongo raised {expected!r}"
    assert (type(actual), normalized_message(actual)) == (type(expected),
                                                          normalized_message(expected))


def test_negative_skip_is_rejected_by_the_server(memory_targets):
    """pymongo's ``find(skip=-1)`` sends ``skip: -1`` (no client-side check, see the
    table above: it is not there); a 7.x server answers with the IDL validator's
    error (code 51024, "BSON field 'skip' value must be >= 0, actual value '-1'")."""
    from pymongo.errors import OperationFailure

    with pytest.raises(OperationFailure) as info:
        list(memory_targets["coll"].find(skip=-1))
    assert info.value.code == 51024
    assert info.value.details["errmsg"] == (
        "BSON field 'skip' value must be >= 0, actual value '-1'")


def test_negative_limit_returns_one_batch_of_abs_limit_documents(memory_targets):
    """pymongo accepts ``limit(-n)`` (no client-side error); the server returns at
    most ``n`` documents in a single batch and closes the cursor."""
    coll = memory_targets["coll"]
    coll.insert_many([{"_id": i} for i in range(3, 10)])
    cursor = coll.find().sort("_id", 1).limit(-3)
    assert list(cursor) == [{"_id": 1}, {"_id": 2}, {"_id": 3}]
    assert cursor.alive is False
    assert coll.find_one(sort=[("_id", -1)]) == {"_id": 9}


# -- result objects and cursor protocol -----------------------------------------------------


@pytest.fixture
def coll():
    collection = MemoryClient()["parity"]["results"]
    collection.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "a": 2}, {"_id": 3, "a": 3}])
    return collection


def test_insert_results_are_pymongo_classes(coll):
    one = coll.insert_one({"_id": 4})
    assert type(one) is InsertOneResult
    assert (one.acknowledged, one.inserted_id) == (True, 4)
    many = coll.insert_many([{"_id": 5}, {"_id": 6}])
    assert type(many) is InsertManyResult
    assert (many.acknowledged, many.inserted_ids) == (True, [5, 6])


def test_update_results_are_pymongo_classes(coll):
    result = coll.update_one({"_id": 1}, {"$set": {"a": 10}})
    assert type(result) is UpdateResult
    assert (result.acknowledged, result.matched_count, result.modified_count,
            result.upserted_id) == (True, 1, 1, None)
    assert result.raw_result == {"n": 1, "nModified": 1, "ok": 1.0, "updatedExisting": True}

    upsert = coll.update_many({"_id": 9}, {"$set": {"a": 9}}, upsert=True)
    assert type(upsert) is UpdateResult
    assert (upsert.matched_count, upsert.modified_count, upsert.upserted_id) == (0, 0, 9)
    assert upsert.raw_result == {"n": 1, "nModified": 0, "upserted": 9, "ok": 1.0,
                                 "updatedExisting": False}

    replaced = coll.replace_one({"_id": 2}, {"b": 1})
    assert type(replaced) is UpdateResult
    assert (replaced.matched_count, replaced.modified_count) == (1, 1)


def test_update_result_did_upsert_where_pymongo_has_it(coll):
    result = coll.update_one({"_id": 8}, {"$set": {"a": 8}}, upsert=True)
    if hasattr(UpdateResult, "did_upsert"):  # pymongo >= 4.9
        assert result.did_upsert is True
        assert coll.update_one({"_id": 8}, {"$set": {"a": 0}}).did_upsert is False


def test_delete_results_are_pymongo_classes(coll):
    one = coll.delete_one({"_id": 1})
    assert type(one) is DeleteResult
    assert (one.acknowledged, one.deleted_count, one.raw_result) == (True, 1, {"n": 1,
                                                                               "ok": 1.0})
    many = coll.delete_many({})
    assert (many.deleted_count, many.raw_result) == (2, {"n": 2, "ok": 1.0})


def test_bulk_write_result_is_pymongo_class(coll):
    result = coll.bulk_write([
        InsertOne({"_id": 5}),
        UpdateOne({"_id": 5}, {"$inc": {"x": 1}}),
        UpdateOne({"_id": 6}, {"$set": {"x": 1}}, upsert=True),
        DeleteOne({"_id": 1}),
        ReplaceOne({"_id": 2}, {"z": 1}),
    ])
    assert type(result) is BulkWriteResult
    assert result.acknowledged is True
    assert (result.inserted_count, result.matched_count, result.modified_count,
            result.deleted_count, result.upserted_count, result.upserted_ids) == (
        1, 2, 2, 1, 1, {2: 6})
    assert result.bulk_api_result == {
        "writeErrors": [], "writeConcernErrors": [], "nInserted": 1, "nUpserted": 1,
        "nMatched": 2, "nModified": 2, "nRemoved": 1, "upserted": [{"index": 2, "_id": 6}]}


def test_unacknowledged_results_behave_as_pymongo(coll):
    from pymongo import WriteConcern
    from pymongo.errors import InvalidOperation

    w0 = coll.with_options(write_concern=WriteConcern(w=0))
    inserted = w0.insert_one({"_id": 7})
    assert (type(inserted), inserted.acknowledged, inserted.inserted_id) == (
        InsertOneResult, False, 7)
    updated = w0.update_one({"_id": 7}, {"$set": {"a": 1}})
    assert (type(updated), updated.acknowledged) == (UpdateResult, False)
    with pytest.raises(InvalidOperation, match="matched_count is not available"):
        updated.matched_count
    deleted = w0.delete_many({})
    with pytest.raises(InvalidOperation, match="deleted_count is not available"):
        deleted.deleted_count


def test_other_return_types_match_pymongo(coll):
    """The return types pymongo documents for the non-write methods."""
    db, client = coll.database, coll.database.client
    assert type(coll.find()) is MemoryCursor
    for cursor in (coll.aggregate([]), coll.list_indexes(), db.list_collections(),
                   client.list_databases(), db.aggregate([{"$documents": [{}]}])):
        assert type(cursor) is MemoryCommandCursor
    assert type(coll.count_documents({})) is int
    assert type(coll.estimated_document_count()) is int
    assert coll.distinct("a") == [1, 2, 3]
    assert coll.create_index("a") == "a_1"
    assert coll.index_information()["a_1"]["key"] == [("a", 1)]
    assert isinstance(db.command("ping"), dict)
    assert db.list_collection_names() == ["results"]
    assert client.list_database_names() == ["parity"]
    assert coll.find_one({"_id": 1}) == {"_id": 1, "a": 1}
    assert coll.find_one({"_id": 99}) is None


def test_cursor_iteration_protocol(coll):
    cursor = coll.find({}, sort=[("_id", 1)])
    assert iter(cursor) is cursor
    assert cursor.alive is True and cursor.retrieved == 0
    assert next(cursor) == {"_id": 1, "a": 1}
    assert cursor.next() == {"_id": 2, "a": 2}
    assert cursor.retrieved == 2
    assert list(cursor) == [{"_id": 3, "a": 3}]
    with pytest.raises(StopIteration):
        next(cursor)
    assert cursor.alive is False
    assert cursor.rewind() is cursor
    assert cursor.retrieved == 0 and cursor.to_list() == [{"_id": 1, "a": 1},
                                                          {"_id": 2, "a": 2},
                                                          {"_id": 3, "a": 3}]
    clone = cursor.clone()
    assert clone is not cursor and type(clone) is MemoryCursor
    assert clone.to_list(1) == [{"_id": 1, "a": 1}]
    assert cursor.collection is coll
    assert coll.find()[1:2].to_list() == [{"_id": 2, "a": 2}]
    assert coll.find(sort=[("_id", -1)])[0] == {"_id": 3, "a": 3}
    # (after ``with``, pymongo may still hold buffered documents: alive is not checked)
    managed = coll.find()
    with managed as entered:
        assert entered is managed and next(entered) == {"_id": 1, "a": 1}


def test_command_cursor_iteration_protocol(coll):
    cursor = coll.aggregate([{"$sort": {"_id": 1}}])
    assert iter(cursor) is cursor
    assert cursor.alive is True
    assert next(cursor) == {"_id": 1, "a": 1}
    assert cursor.next() == {"_id": 2, "a": 2}
    assert cursor.try_next() == {"_id": 3, "a": 3}
    assert cursor.try_next() is None
    assert cursor.alive is False
    with pytest.raises(StopIteration):
        next(cursor)
    managed = coll.aggregate([])
    with managed as entered:
        assert entered is managed
        assert entered.to_list(2) == [{"_id": 1, "a": 1}, {"_id": 2, "a": 2}]
