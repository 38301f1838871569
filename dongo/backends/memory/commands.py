"""``Database.command``: the server commands the memory engine answers.

Each handler takes the database and the command document and returns the
reply document a MongoDB 7.0 server sends (``{..., "ok": 1.0}``), or raises
:class:`~.errors.ServerError`, which ``Database.command`` turns into
``OperationFailure`` like pymongo does for an ``ok: 0`` reply.  Write
commands (``insert``/``update``/``delete``) report per-statement failures in
``writeErrors`` without raising, as on a server.

Supported: ping, hello/isMaster, buildInfo, serverStatus, listCollections,
create, drop, dropDatabase, count, distinct, find, aggregate, insert,
update, delete, findAndModify, listIndexes, createIndexes, dropIndexes,
renameCollection, listDatabases, connectionStatus.  Other real server
commands (collStats, dbStats, explain, getMore ...) raise
``NotImplementedError``; unknown names ``CommandNotFound`` (59).

    >>> from dongo.backends.memory import MemoryClient
    >>> db = MemoryClient().db
    >>> db.command({"insert": "c", "documents": [{"_id": 1}]})
    {'n': 1, 'ok': 1.0}
    >>> db.command("count", "c")
    {'n': 1, 'ok': 1.0}
"""

from __future__ import annotations

from typing import Any, Callable

import bson
from bson import ObjectId
from bson.codec_options import DEFAULT_CODEC_OPTIONS

from .collection import Statement, normalize_hint
from .errors import ServerError
from .storage import MAX_BSON_SIZE

SERVER_VERSION = "7.0.0"
_MAX_WIRE_VERSION = 21


def run_command(db: Any, cmd: dict) -> dict:
    """Run ``cmd`` against ``db``; returns the reply (fresh plain dicts)."""
    if not cmd:
        raise ServerError(59, "no such command: ''")
    name = next(iter(cmd))
    handler = _COMMANDS.get(name) or _CASE_INSENSITIVE.get(name.lower())
    if handler is None:
        raise ServerError(59, f"no such command: '{name}'")
    reply = handler(db, cmd)
    return bson.decode(bson.encode(reply, False, db.client._store_options),
                       DEFAULT_CODEC_OPTIONS)


def _coll(db: Any, cmd: dict) -> Any:
    name = next(iter(cmd.values()))
    if not isinstance(name, str):
        raise ServerError(73, f"collection name has invalid type {type(name).__name__}")
    return db[name]


def _cursor_reply(coll: Any, docs: list) -> dict:
    return {"cursor": {"firstBatch": docs, "id": 0, "ns": coll.full_name}, "ok": 1.0}


# -- handlers -----------------------------------------------------------------------


def _ping(db: Any, cmd: dict) -> dict:
    return {"ok": 1.0}


def _hello(db: Any, cmd: dict) -> dict:
    name = next(iter(cmd))
    primary_field = "isWritablePrimary" if name == "hello" else "ismaster"
    return {primary_field: True, "topologyVersion": {"processId": ObjectId(), "counter": 0},
            "maxBsonObjectSize": MAX_BSON_SIZE, "maxMessageSizeBytes": 48000000,
            "maxWriteBatchSize": 100000, "localTime": _now(), "logicalSessionTimeoutMinutes": 30,
            "connectionId": 1, "minWireVersion": 0,
            "maxWireVersion": getattr(db.client, "_max_wire_version", _MAX_WIRE_VERSION),
            "readOnly": False, "ok": 1.0}


def _build_info(db: Any, cmd: dict) -> dict:
    version = _version_of(db)
    return {"version": version, "gitVersion": "memory",
            "versionArray": [int(part) for part in version.split(".")] + [0],
            "bits": 64, "debug": False, "maxBsonObjectSize": MAX_BSON_SIZE,
            "storageEngines": ["memory"], "ok": 1.0}


def _server_status(db: Any, cmd: dict) -> dict:
    client = db.client
    return {"host": f"{client.HOST}:{client.PORT}", "version": _version_of(db),
            "process": "mongod", "pid": 0, "uptime": 0.0, "localTime": _now(), "ok": 1.0}


def _version_of(db: Any) -> str:
    """The emulated server version of ``db``'s client (see client.py)."""
    return getattr(db.client, "server_version", SERVER_VERSION)


def _now() -> Any:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _drop_database(db: Any, cmd: dict) -> dict:
    db.client._drop_database_store(db.name)
    return {"ok": 1.0}


def _list_collections(db: Any, cmd: dict) -> dict:
    options = {k: v for k, v in cmd.items() if k in ("nameOnly", "authorizedCollections")}
    docs = list(db.list_collections(filter=cmd.get("filter"), **options))
    return {"cursor": {"id": 0, "ns": f"{db.name}.$cmd.listCollections", "firstBatch": docs},
            "ok": 1.0}


def _create(db: Any, cmd: dict) -> dict:
    options = {k: v for k, v in cmd.items() if k not in ("create", "comment", "writeConcern",
                                                          "maxTimeMS")}
    coll = _coll(db, cmd)
    db._create(coll.name, options)
    return {"ok": 1.0}


def _drop(db: Any, cmd: dict) -> dict:
    return db.drop_collection(_coll(db, cmd).name)


def _count(db: Any, cmd: dict) -> dict:
    coll = _coll(db, cmd)
    limit = cmd.get("limit", 0)
    skip = cmd.get("skip", 0)
    if not isinstance(skip, int) or skip < 0:
        raise ServerError(51024, f"BSON field 'skip' value must be >= 0, actual value '{skip}'")
    if not isinstance(limit, int):
        raise ServerError(14, "BSON field 'count.limit' is the wrong type, expected a number")
    spec, matcher, coll_ = coll._prepare_query(cmd.get("query") or {}, cmd.get("collation"),
                                               None)
    ns = coll._namespace()
    if ns is None:
        return {"n": 0, "ok": 1.0}
    n = sum(1 for _ in coll._select(ns, spec, matcher, skip=skip, limit=abs(limit),
                                    hint=normalize_hint(cmd.get("hint")), collation=coll_))
    return {"n": n, "ok": 1.0}


def _distinct(db: Any, cmd: dict) -> dict:
    coll = _coll(db, cmd)
    key = cmd.get("key")
    if not isinstance(key, str):
        raise ServerError(14, "BSON field 'distinct.key' is the wrong type, expected type "
                              "'string'")
    options = {k: cmd[k] for k in ("collation",) if k in cmd}
    values = coll.with_options(codec_options=db.client._store_options).distinct(
        key, cmd.get("query"), hint=cmd.get("hint"), **options)
    return {"values": values, "ok": 1.0}


def _find(db: Any, cmd: dict) -> dict:
    coll = _coll(db, cmd).with_options(codec_options=db.client._store_options)
    limit = cmd.get("limit", 0)
    if cmd.get("singleBatch") and limit:
        limit = -abs(limit)
    cursor = coll.find(cmd.get("filter"), cmd.get("projection"), skip=cmd.get("skip", 0),
                       limit=limit, sort=cmd.get("sort"), hint=cmd.get("hint"),
                       collation=cmd.get("collation"), let=cmd.get("let"))
    from .cursor import MemoryCursor

    docs = list(MemoryCursor._documents(cursor))
    return _cursor_reply(coll, docs)


def _aggregate(db: Any, cmd: dict) -> dict:
    target = next(iter(cmd.values()))
    pipeline = cmd.get("pipeline")
    options = {k: v for k, v in cmd.items()
               if k in ("collation", "hint", "let", "allowDiskUse", "maxTimeMS")}
    if target == 1:
        cursor = db.with_options(codec_options=db.client._store_options).aggregate(
            pipeline, **options)
        coll = db["$cmd.aggregate"]
    else:
        coll = _coll(db, cmd).with_options(codec_options=db.client._store_options)
        cursor = coll.aggregate(pipeline, **options)
    return _cursor_reply(coll, list(cursor))


def _write_reply(result: dict, kind: str) -> dict:
    reply: dict[str, Any] = {}
    if kind == "insert":
        reply["n"] = result["nInserted"]
    elif kind == "update":
        reply["n"] = result["nMatched"] + result["nUpserted"]
        reply["nModified"] = result["nModified"]
        if result["upserted"]:
            reply["upserted"] = result["upserted"]
    else:
        reply["n"] = result["nRemoved"]
    if result["writeErrors"]:
        reply["writeErrors"] = [{k: v for k, v in e.items() if k != "op"}
                                for e in result["writeErrors"]]
    reply["ok"] = 1.0
    return reply


def _write_command(kind: str, list_field: str) -> Callable[[Any, dict], dict]:
    def handler(db: Any, cmd: dict) -> dict:
        from .bulk import BulkRun

        coll = _coll(db, cmd)
        statements = cmd.get(list_field)
        if not isinstance(statements, list):
            raise ServerError(40414, f"BSON field '{kind}.{list_field}' is missing but a "
                                     "required field")
        run = BulkRun(coll, bool(cmd.get("ordered", True)), let=cmd.get("let"))
        for stmt in statements:
            if kind == "insert":
                if "_id" not in stmt:
                    stmt = {"_id": ObjectId(), **stmt}
                run.add_statement(kind, stmt, stmt)
            elif kind == "update":
                u = stmt.get("u")
                is_replace = isinstance(u, dict) and not any(k.startswith("$") for k in u)
                run.add_statement(kind, stmt, Statement(
                    stmt.get("q", {}), u, multi=bool(stmt.get("multi")),
                    upsert=bool(stmt.get("upsert")), is_replace=is_replace,
                    collation=stmt.get("collation"), array_filters=stmt.get("arrayFilters"),
                    hint=stmt.get("hint"), sort=stmt.get("sort")))
            else:
                run.add_statement(kind, stmt, Statement(
                    stmt.get("q", {}), multi=not stmt.get("limit"),
                    collation=stmt.get("collation"), hint=stmt.get("hint")))
        if not run.ops:
            return _write_reply({"nInserted": 0, "nMatched": 0, "nModified": 0, "nUpserted": 0,
                                 "upserted": [], "nRemoved": 0, "writeErrors": []}, kind)
        return _write_reply(run.execute_collecting_errors(), kind)

    return handler


def _find_and_modify(db: Any, cmd: dict) -> dict:
    coll = _coll(db, cmd).with_options(codec_options=db.client._store_options)
    remove = bool(cmd.get("remove"))
    update = cmd.get("update")
    if remove == (update is not None):
        raise ServerError(9, "Either an update or remove=true must be specified")
    is_replace = isinstance(update, dict) and not any(k.startswith("$") for k in update)
    stmt = Statement(cmd.get("query") or {}, update, upsert=bool(cmd.get("upsert")),
                     is_replace=is_replace, collation=cmd.get("collation"),
                     array_filters=cmd.get("arrayFilters"),
                     hint=normalize_hint(cmd.get("hint")), sort=cmd.get("sort"))
    ns_before = coll._namespace()
    count_before = len(ns_before) if ns_before is not None else 0
    value = coll._find_and_modify_statement(stmt, cmd.get("fields"), remove,
                                            bool(cmd.get("new")), cmd.get("let"))
    ns = coll._namespace()
    upserted = ns is not None and len(ns) > count_before and not remove
    last_error: dict[str, Any] = {"n": 1 if (value is not None or upserted) else 0}
    if not remove:
        last_error["updatedExisting"] = bool(value is not None and not upserted)
    return {"lastErrorObject": last_error, "value": value, "ok": 1.0}


def _list_indexes(db: Any, cmd: dict) -> dict:
    coll = _coll(db, cmd)
    ns = coll._namespace(write=True)
    if ns is None:
        raise ServerError(26, f"ns does not exist: {coll.full_name}")
    return _cursor_reply(coll, ns.index_documents())


def _create_indexes(db: Any, cmd: dict) -> dict:
    coll = _coll(db, cmd)
    specs = cmd.get("indexes")
    if not isinstance(specs, list) or not specs:
        raise ServerError(2, "Must specify at least one index to create")
    created = coll._namespace() is None
    ns = coll._namespace(create=True, write=True)
    with ns.lock:
        before = len(ns.index_documents())
        ns.create_indexes([dict(s) for s in specs])
        after = len(ns.index_documents())
    return {"numIndexesBefore": before, "numIndexesAfter": after,
            "createdCollectionAutomatically": created, "ok": 1.0}


def _drop_indexes(db: Any, cmd: dict) -> dict:
    coll = _coll(db, cmd)
    ns = coll._namespace(write=True)
    if ns is None:
        raise ServerError(26, f"ns not found {coll.full_name}")
    index = cmd.get("index")
    with ns.lock:
        was = len(ns.index_documents())
        names = index if isinstance(index, list) else [index]
        for name in names:
            if isinstance(name, dict):
                matches = [d["name"] for d in ns.index_documents() if d["key"] == name]
                if not matches:
                    raise ServerError(27, f"can't find index with key: {name}")
                name = matches[0]
            ns.drop_index(name)
    return {"nIndexesWas": was, "ok": 1.0}


def _rename_collection(db: Any, cmd: dict) -> dict:
    source, target = cmd.get("renameCollection"), cmd.get("to")
    if not isinstance(source, str) or not isinstance(target, str):
        raise ServerError(2, "renameCollection and to must be namespace strings")
    if db.name != "admin":
        raise ServerError(13, "renameCollection may only be run against the admin database.")
    src_db, _, src_name = source.partition(".")
    dst_db, _, dst_name = target.partition(".")
    if not src_name or not dst_name:
        raise ServerError(73, f"Invalid namespace specified '{source if not src_name else target}'")
    db.client[src_db]._rename(src_name, dst_name, bool(cmd.get("dropTarget")), dst_db)
    return {"ok": 1.0}


def _unsupported(name: str) -> Callable[[Any, dict], dict]:
    def handler(db: Any, cmd: dict) -> dict:
        raise NotImplementedError(f"the {name} command is not supported by the memory engine")

    return handler


def _list_databases(db: Any, cmd: dict) -> dict:
    names = db.client.list_database_names()
    if cmd.get("nameOnly"):
        return {"databases": [{"name": n} for n in names], "ok": 1.0}
    return {"databases": [{"name": n, "sizeOnDisk": 0, "empty": False} for n in names],
            "totalSize": 0, "totalSizeMb": 0, "ok": 1.0}


def _connection_status(db: Any, cmd: dict) -> dict:
    return {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": []}, "ok": 1.0}


# Real server commands the engine does not implement: named, never "no such command".
_KNOWN_UNSUPPORTED = (
    "collMod", "explain", "getMore", "killCursors", "collStats", "dbStats", "validate",
    "currentOp", "killOp", "getParameter", "setParameter", "profile", "createUser",
    "dropUser", "createRole", "usersInfo", "rolesInfo", "hostInfo", "getCmdLineOpts",
    "mapReduce", "compact", "reIndex", "cloneCollectionAsCapped", "convertToCapped",
    "startSession", "endSessions", "refreshSessions", "commitTransaction",
    "abortTransaction", "bulkWrite", "createSearchIndexes", "listSearchIndexes",
    "dropSearchIndex", "updateSearchIndex", "shutdown", "fsync", "replSetGetStatus",
)

_COMMANDS: dict[str, Callable[[Any, dict], dict]] = {
    **{name: _unsupported(name) for name in _KNOWN_UNSUPPORTED},
    "listDatabases": _list_databases,
    "connectionStatus": _connection_status,
    "ping": _ping,
    "hello": _hello,
    "isMaster": _hello,
    "buildInfo": _build_info,
    "serverStatus": _server_status,
    "dropDatabase": _drop_database,
    "listCollections": _list_collections,
    "create": _create,
    "drop": _drop,
    "count": _count,
    "distinct": _distinct,
    "find": _find,
    "aggregate": _aggregate,
    "insert": _write_command("insert", "documents"),
    "update": _write_command("update", "updates"),
    "delete": _write_command("delete", "deletes"),
    "findAndModify": _find_and_modify,
    "listIndexes": _list_indexes,
    "createIndexes": _create_indexes,
    "dropIndexes": _drop_indexes,
    "renameCollection": _rename_collection,
}

# Commands the server also accepts in other spellings.
_CASE_INSENSITIVE = {"ismaster": _hello, "buildinfo": _build_info,
                     "findandmodify": _find_and_modify}
