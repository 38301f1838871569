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
    ("Collection", "create_search_index"): "missing (should raise NotImplementedError)",
    ("Collection", "create_search_indexes"): "missing (should raise NotImplementedError)",
    ("Collection", "drop_search_index"): "missing (should raise NotImplementedError)",
    ("Collection", "list_search_indexes"): "missing (should raise NotImplementedError)",
    ("Collection", "update_search_index"): "missing (should raise NotImplementedError)",
    ("Cursor", "max_await_time_ms"): "missing",
    ("Cursor", "max_scan"): "missing",
    ("Cursor", "remove_option"): "missing",
    ("MongoClient", "append_metadata"): "missing",
    ("MongoClient", "arbiters"): "missing",
    ("MongoClient", "secondaries"): "missing",
    ("MongoClient", "options"): "missing",
    ("MongoClient", "eq_props"): "missing",
    ("MongoClient", "next"): "missing",
    ("MongoClient", "__next__"): "missing: next(client) should raise TypeError",
    ("MongoClient", "__iter__"): "missing: pymongo sets __iter__ = None (not iterable)",
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
