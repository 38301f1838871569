"""MemoryClient and MemoryDatabase: registry, commands, options, sessions."""

import datetime
import uuid

import pytest
from bson import Binary
from bson.binary import UuidRepresentation
from bson.son import SON
from pymongo.errors import (
    CollectionInvalid,
    ConfigurationError,
    InvalidName,
    OperationFailure,
    WriteError,
)

from dongo.backends.memory import MemoryClient


@pytest.fixture
def client():
    return MemoryClient()


def test_each_client_starts_empty(client):
    client.db.c.insert_one({"_id": 1})
    assert MemoryClient().list_database_names() == []
    assert client.list_database_names() == ["db"]


def test_client_accepts_pymongo_arguments():
    with MemoryClient("mongodb://localhost:27017/?retryWrites=true", 27017,
                      serverSelectionTimeoutMS=10, connect=False) as client:
        assert client.address == ("localhost", 27017)
        assert client.is_primary
        assert client.server_info()["version"] == "7.0.0"


def test_codec_options_are_honoured():
    client = MemoryClient(tz_aware=True, document_class=SON, uuidRepresentation="standard")
    coll = client.db.c
    value = uuid.uuid4()
    coll.insert_one({"_id": 1, "u": value, "t": datetime.datetime(2021, 5, 1, 12)})
    doc = coll.find_one()
    assert isinstance(doc, SON)
    assert doc["u"] == value
    assert doc["t"] == datetime.datetime(2021, 5, 1, 12, tzinfo=datetime.timezone.utc)
    assert coll.find_one({"u": value})["_id"] == 1
    # Without a representation, a native UUID cannot be encoded (pymongo 4 default).
    with pytest.raises(ValueError):
        MemoryClient().db.c.insert_one({"u": value})
    # ... and stored binary subtype 4 reads back as Binary.
    plain = MemoryClient()
    plain.db.c.insert_one({"_id": 1, "u": Binary.from_uuid(value)})
    assert plain.db.c.find_one()["u"] == Binary(value.bytes, 4)
    standard = client.db.c.with_options(codec_options=client.codec_options.with_options(
        uuid_representation=UuidRepresentation.STANDARD))
    assert standard.find_one()["u"] == value


def test_database_names_and_attribute_access(client):
    db = client.shop
    assert db.name == "shop" and db.client is client
    assert client["shop"] == db
    assert client.get_database("shop") == db
    assert client.get_default_database("shop") == db
    with pytest.raises(ConfigurationError):
        client.get_default_database()
    with pytest.raises(InvalidName):
        client["a.b"]
    with pytest.raises(InvalidName):
        client[""]


def test_list_collections_and_filter(client):
    db = client.db
    db.b.insert_one({})
    db.a.insert_one({})
    db.create_collection("c")
    assert sorted(db.list_collection_names()) == ["a", "b", "c"]
    assert db.list_collection_names(filter={"name": {"$regex": "^[ab]$"}}) == ["b", "a"]
    infos = {i["name"]: i for i in db.list_collections()}
    assert infos["a"]["type"] == "collection"
    assert infos["a"]["options"] == {}
    assert infos["a"]["idIndex"] == {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    assert client.list_database_names() == ["db"]


def test_reads_do_not_create_collections(client):
    assert client.db.c.find_one() is None
    assert client.db.c.count_documents({}) == 0
    assert client.list_database_names() == []


def test_create_collection_errors(client):
    db = client.db
    db.create_collection("c")
    with pytest.raises(CollectionInvalid, match="collection c already exists"):
        db.create_collection("c")
    with pytest.raises(OperationFailure) as info:
        db.create_collection("c", check_exists=False)
    assert info.value.code == 48
    assert info.value.details["errmsg"] == "Collection db.c already exists."
    with pytest.raises(NotImplementedError):
        db.create_collection("capped", capped=True, size=1000)


def test_drop_collection_and_database(client):
    db = client.db
    db.a.insert_one({})
    db.b.insert_one({})
    assert db.drop_collection("a")["ns"] == "db.a"
    assert db.list_collection_names() == ["b"]
    assert db.drop_collection("missing") == {"ok": 1.0}
    client.drop_database("db")
    assert client.list_database_names() == []
    db.b.insert_one({"_id": 1})
    client.drop_database(db)
    assert db.b.find_one() is None


def test_commands(client):
    db = client.db
    assert db.command("ping") == {"ok": 1.0}
    assert db.command("buildInfo")["version"] == "7.0.0"
    assert db.command({"insert": "c", "documents": [{"_id": 1, "x": 1}, {"_id": 2, "x": 2}]}) \
        == {"n": 2, "ok": 1.0}
    reply = db.command({"insert": "c", "documents": [{"_id": 1}, {"_id": 3}],
                        "ordered": False})
    assert reply["n"] == 1 and [e["index"] for e in reply["writeErrors"]] == [0]
    assert reply["writeErrors"][0]["code"] == 11000
    assert db.command("count", "c") == {"n": 3, "ok": 1.0}
    assert db.command("count", "c", query={"x": {"$gte": 1}}) == {"n": 2, "ok": 1.0}
    assert db.command("distinct", "c", key="x") == {"values": [1, 2], "ok": 1.0}
    reply = db.command({"update": "c", "updates": [
        {"q": {"_id": 1}, "u": {"$set": {"x": 10}}},
        {"q": {"_id": 9}, "u": {"$set": {"x": 9}}, "upsert": True}]})
    assert reply == {"n": 2, "nModified": 1, "upserted": [{"index": 1, "_id": 9}], "ok": 1.0}
    reply = db.command("find", "c", filter={"x": {"$gt": 5}}, sort={"x": -1})
    assert reply["cursor"]["firstBatch"] == [{"_id": 1, "x": 10}, {"_id": 9, "x": 9}]
    assert reply["cursor"]["ns"] == "db.c" and reply["cursor"]["id"] == 0
    reply = db.command("aggregate", "c", pipeline=[{"$count": "n"}], cursor={})
    assert reply["cursor"]["firstBatch"] == [{"n": 4}]
    assert db.command({"delete": "c", "deletes": [{"q": {"x": 9}, "limit": 1}]}) == {
        "n": 1, "ok": 1.0}
    reply = db.command("createIndexes", "c", indexes=[{"key": {"x": 1}, "name": "x_1"}])
    assert (reply["numIndexesBefore"], reply["numIndexesAfter"]) == (1, 2)
    names = [i["name"] for i in db.command("listIndexes", "c")["cursor"]["firstBatch"]]
    assert names == ["_id_", "x_1"]
    assert db.command("dropIndexes", "c", index="x_1") == {"nIndexesWas": 2, "ok": 1.0}
    assert db.command("drop", "c")["ok"] == 1.0
    assert db.command("listCollections")["cursor"]["firstBatch"] == []


def test_unknown_command_is_command_not_found(client):
    with pytest.raises(OperationFailure) as info:
        client.db.command("frobnicate")
    assert info.value.code == 59
    assert info.value.details == {"ok": 0.0, "errmsg": "no such command: 'frobnicate'",
                                  "code": 59, "codeName": "CommandNotFound"}
    reply = client.db.command("frobnicate", check=False)
    assert reply["code"] == 59


def test_command_errors(client):
    with pytest.raises(OperationFailure) as info:
        client.db.command("listIndexes", "missing")
    assert info.value.code == 26
    client.db.create_collection("c")
    with pytest.raises(OperationFailure) as info:
        client.db.command("create", "c")
    assert info.value.code == 48


def test_database_aggregate_documents(client):
    cursor = client.db.aggregate([{"$documents": [{"x": 1}, {"x": 2}]},
                                  {"$match": {"x": {"$gt": 1}}}])
    assert list(cursor) == [{"x": 2}]
    with pytest.raises(OperationFailure) as info:
        client.db.aggregate([{"$match": {}}])
    assert info.value.code == 73


def test_aggregate_out_and_lookup(client):
    db = client.db
    db.orders.insert_many([{"_id": 1, "sku": "a", "qty": 2}, {"_id": 2, "sku": "b", "qty": 1},
                           {"_id": 3, "sku": "a", "qty": 5}])
    db.items.insert_many([{"_id": "a", "name": "apple"}, {"_id": "b", "name": "pear"}])
    result = list(db.orders.aggregate([
        {"$group": {"_id": "$sku", "qty": {"$sum": "$qty"}}},
        {"$lookup": {"from": "items", "localField": "_id", "foreignField": "_id",
                     "as": "item"}},
        {"$sort": {"_id": 1}},
        {"$out": "totals"},
    ]))
    assert result == []
    assert list(db.totals.find()) == [
        {"_id": "a", "qty": 7, "item": [{"_id": "a", "name": "apple"}]},
        {"_id": "b", "qty": 1, "item": [{"_id": "b", "name": "pear"}]},
    ]


def test_aggregate_merge(client):
    db = client.db
    db.target.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "a": 2}])
    db.src.insert_many([{"_id": 2, "b": 20}, {"_id": 3, "b": 30}])
    list(db.src.aggregate([{"$merge": {"into": "target"}}]))
    assert list(db.target.find()) == [{"_id": 1, "a": 1}, {"_id": 2, "a": 2, "b": 20},
                                      {"_id": 3, "b": 30}]


def test_sessions_are_accepted_and_ignored(client):
    with client.start_session() as session:
        client.db.c.insert_one({"_id": 1}, session=session)
        assert client.db.c.find_one({"_id": 1}, session=session) == {"_id": 1}
        with pytest.raises(NotImplementedError):
            session.start_transaction()
    assert session.has_ended


def test_database_is_not_iterable(client):
    with pytest.raises(TypeError):
        iter(client.db)
    with pytest.raises(AttributeError):
        client.db._private


def test_aggregate_let_union_and_merge_on_unique_field(client):
    db = client.db
    db.a.insert_many([{"_id": 1, "x": 1}, {"_id": 2, "x": 2}])
    db.b.insert_many([{"_id": 3, "x": 3}, {"_id": 4, "x": 2, "from_b": True}])
    assert list(db.a.aggregate([{"$match": {"$expr": {"$gt": ["$x", "$$m"]}}}],
                               let={"m": 1})) == [{"_id": 2, "x": 2}]
    assert [d["_id"] for d in db.a.aggregate([{"$unionWith": "b"}])] == [1, 2, 3, 4]
    with pytest.raises(OperationFailure) as info:
        db.b.aggregate([{"$merge": {"into": "a", "on": "x"}}])
    assert info.value.code == 51183  # "on" needs a unique index
    db.a.create_index("x", unique=True)
    db.b.aggregate([{"$project": {"_id": 0}}, {"$merge": {"into": "a", "on": "x"}}])
    assert list(db.a.find({}, {"_id": 0}).sort("x")) == [
        {"x": 1}, {"x": 2, "from_b": True}, {"x": 3}]
    with pytest.raises(OperationFailure) as info:
        db.a.aggregate([{"$match": {}}], hint="nope_1")
    assert info.value.code == 2


def test_merge_when_matched_fail_reports_the_duplicate(client):
    db = client.db
    db.test.insert_one({"_id": 2, "x": 0})
    with pytest.raises(OperationFailure) as info:
        db.aggregate([{"$documents": [{"_id": 2, "x": 1}]},
                      {"$merge": {"into": "test", "whenMatched": "fail"}}])
    assert info.value.code == 11000
    assert info.value.details["keyPattern"] == {"_id": 1}
    assert info.value.details["keyValue"] == {"_id": 2}
    assert list(db.test.find()) == [{"_id": 2, "x": 0}]


def test_find_let_variables(client):
    coll = client.db.c
    coll.insert_many([{"_id": 1, "x": 1}, {"_id": 2, "x": 2}])
    assert list(coll.find({"$expr": {"$eq": ["$x", "$$v"]}}, let={"v": 2})) == [
        {"_id": 2, "x": 2}]


def test_uri_query_options_set_codec_options():
    client = MemoryClient("memory://?uuidRepresentation=standard&tz_aware=true")
    assert client.codec_options.uuid_representation == UuidRepresentation.STANDARD
    assert client.codec_options.tz_aware is True
    explicit = MemoryClient("mongodb://h/?uuidRepresentation=pythonLegacy",
                            uuidRepresentation="standard")
    assert explicit.codec_options.uuid_representation == UuidRepresentation.STANDARD
    legacy = MemoryClient(uuidRepresentation="pythonLegacy")
    value = uuid.uuid4()
    legacy.db.c.insert_one({"_id": 1, "u": value})
    raw = legacy.db.c.with_options(codec_options=legacy.codec_options.with_options(
        uuid_representation=UuidRepresentation.UNSPECIFIED)).find_one()["u"]
    assert raw == Binary(value.bytes, 3)  # pymongo 3's legacy subtype, as dongo 0.4 stored
    assert legacy.db.c.find_one({"u": value})["u"] == value


def test_admin_commands_and_unsupported_ones(client):
    client.db.c.insert_one({})
    assert client.admin.command("listDatabases", nameOnly=True) == {
        "databases": [{"name": "db"}], "ok": 1.0}
    assert [d["name"] for d in client.list_databases()] == ["db"]
    with pytest.raises(NotImplementedError, match="dbStats"):
        client.db.command("dbStats")
    client.admin.command("renameCollection", "db.c", to="db.d")
    assert client.db.list_collection_names() == ["d"]
    client.admin.command("renameCollection", "db.d", to="other.e")
    assert client.list_database_names() == ["other"]
    with pytest.raises(OperationFailure) as info:
        client.db.command("renameCollection", "other.e", to="other.f")
    assert info.value.code == 13
    with pytest.raises(OperationFailure) as info:
        client.admin.command("renameCollection", "other.e", to="other.e")
    assert info.value.code == 20


def test_read_only_views(client):
    db = client.db
    db.coll0.insert_many([{"_id": i, "x": i * 11} for i in (1, 2, 3)])
    view = db.create_collection("v", viewOn="coll0", pipeline=[{"$match": {"_id": {"$gt": 1}}}])
    assert view.estimated_document_count() == 2  # estimatedDocumentCount.json
    assert list(view.find({}, {"x": 0})) == [{"_id": 2}, {"_id": 3}]
    assert view.find_one(sort=[("x", -1)]) == {"_id": 3, "x": 33}
    assert view.count_documents({"x": 33}) == 1
    assert view.distinct("x") == [22, 33]
    assert list(view.aggregate([{"$count": "n"}])) == [{"n": 2}]
    db.create_collection("vv", viewOn="v", pipeline=[{"$project": {"y": "$x"}}])
    assert list(db.vv.find()) == [{"_id": 2, "y": 22}, {"_id": 3, "y": 33}]
    db.coll0.insert_one({"_id": 4, "x": 44})  # views are computed on read
    assert db.vv.count_documents({}) == 3
    infos = {i["name"]: i for i in db.list_collections()}
    assert infos["v"] == {"name": "v", "type": "view", "info": {"readOnly": True},
                          "options": {"viewOn": "coll0",
                                      "pipeline": [{"$match": {"_id": {"$gt": 1}}}]}}
    for write in (lambda: view.insert_one({}), lambda: view.update_one({}, {"$set": {"a": 1}}),
                  lambda: view.delete_many({})):
        with pytest.raises(WriteError) as info:
            write()
        assert info.value.code == 166
        assert info.value.details["errmsg"] == "Namespace db.v is a view, not a collection"
    for command in (lambda: view.create_index("x"), lambda: view.find_one_and_delete({}),
                    lambda: view.list_indexes()):
        with pytest.raises(OperationFailure) as info:
            command()
        assert info.value.code == 166
    with pytest.raises(OperationFailure) as info:
        db.create_collection("bad", viewOn="coll0", pipeline=[{"$out": "x"}])
    assert info.value.code == 167
    view.drop()
    assert sorted(db.list_collection_names()) == ["coll0", "vv"]
    assert list(db.vv.find()) == []  # a view on a missing collection is empty


@pytest.mark.parametrize("module", [
    "client", "database", "collection", "cursor", "bulk", "storage", "wire", "commands",
    "aggregation_context", "options",
])
def test_docstring_examples(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"dongo.backends.memory.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0


def test_client_options_are_validated_and_resolved_by_pymongo():
    from pymongo.client_options import ClientOptions
    from pymongo.read_preferences import ReadPreference

    with pytest.raises(ConfigurationError, match="^Unknown option:? bogus"):  # pymongo's words
        MemoryClient(bogus=1)
    with pytest.raises(TypeError, match="^port must be an instance of int, not <class 'str'>$"):
        MemoryClient(port="x")
    with pytest.raises(ValueError, match="^The value of journal must be 'true' or 'false'$"):
        MemoryClient(journal="x")
    with pytest.raises(ValueError, match="(?i)not a valid read preference"):
        MemoryClient(readPreference="x")
    # In a URI, pymongo only warns about unknown options and bad values (and drops them)
    with pytest.warns(UserWarning, match="Unknown option"):
        MemoryClient("memory://?bogus=1")
    with pytest.warns(UserWarning, match="(?i)not a valid read preference"):
        assert MemoryClient("memory://?readPreference=x").read_preference.mode == 0
    client = MemoryClient("memory://?readPreference=secondaryPreferred&w=0",
                          wTimeoutMS=5, retryWrites=False)
    assert type(client.options) is ClientOptions
    assert client.read_preference == ReadPreference.SECONDARY_PREFERRED
    assert client.db.c.read_preference == ReadPreference.SECONDARY_PREFERRED
    assert client.write_concern.document == {"w": 0, "wtimeout": 5}
    assert client.options.retry_writes is False
    assert (client.arbiters, client.secondaries) == (set(), set())
    assert client.eq_props() == ((("localhost", 27017),), None, None, "mongodb")


def test_uri_default_database():
    assert MemoryClient("memory:///shop?w=1").get_default_database().name == "shop"
    assert MemoryClient("mongodb://h:1/shop").get_default_database("other").name == "shop"
    assert MemoryClient().get_default_database("other").name == "other"
    with pytest.raises(ConfigurationError, match="No default database name"):
        MemoryClient("memory://").get_default_database()


def test_client_is_not_iterable_and_checks_sessions_and_metadata(client):
    from pymongo.driver_info import DriverInfo

    with pytest.raises(TypeError, match="^'MemoryClient' object is not iterable$"):
        iter(client)
    with pytest.raises(TypeError, match="^'MemoryClient' object is not iterable$"):
        next(client)
    with pytest.raises(ConfigurationError,
                       match="^snapshot reads do not support causal_consistency=True$"):
        client.start_session(causal_consistency=True, snapshot=True)
    with pytest.raises(InvalidName, match="^database name cannot be the empty string$"):
        client.drop_database("")
    with pytest.raises(TypeError, match="^driver_info must be an instance of DriverInfo"):
        client.append_metadata({"name": "x"})
    assert client.append_metadata(DriverInfo("dongo")) is None
