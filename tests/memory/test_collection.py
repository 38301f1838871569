"""MemoryCollection: storage fidelity, writes, reads, findAndModify, errors."""

import datetime

import pymongo
import pytest
from bson import Int64, ObjectId, Timestamp
from bson.codec_options import CodecOptions
from bson.errors import InvalidDocument
from bson.son import SON
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo import IndexModel, ReturnDocument
from pymongo.errors import (
    DocumentTooLarge,
    DuplicateKeyError,
    InvalidName,
    OperationFailure,
    WriteError,
)
from pymongo.results import DeleteResult, InsertOneResult, UpdateResult
from pymongo.write_concern import WriteConcern

from dongo.backends.memory import MemoryClient


@pytest.fixture
def coll():
    return MemoryClient()["db"]["c"]


# -- storage fidelity -------------------------------------------------------------


def test_insert_one_sets_id_on_callers_document(coll):
    doc = {"a": 1}
    result = coll.insert_one(doc)
    assert isinstance(result, InsertOneResult)
    assert isinstance(doc["_id"], ObjectId)
    assert result.inserted_id == doc["_id"]
    assert coll.find_one() == {"_id": doc["_id"], "a": 1}


def test_id_is_stored_first_and_field_order_is_kept(coll):
    coll.insert_one({"z": 1, "a": 2, "_id": 7, "m": {"y": 1, "b": 2}})
    assert list(coll.find_one()) == ["_id", "z", "a", "m"]
    assert list(coll.find_one()["m"]) == ["y", "b"]


def test_datetimes_are_truncated_to_milliseconds(coll):
    coll.insert_one({"_id": 1, "t": datetime.datetime(2020, 1, 2, 3, 4, 5, 123456)})
    assert coll.find_one()["t"] == datetime.datetime(2020, 1, 2, 3, 4, 5, 123000)


def test_tuples_become_lists(coll):
    coll.insert_one({"_id": 1, "t": (1, (2, 3))})
    assert coll.find_one()["t"] == [1, [2, 3]]


def test_callers_cannot_mutate_the_store(coll):
    doc = {"_id": 1, "tags": ["a"], "sub": {"x": 1}}
    coll.insert_one(doc)
    doc["tags"].append("b")
    doc["sub"]["x"] = 2
    found = coll.find_one()
    found["tags"].append("c")
    found["sub"]["x"] = 3
    assert coll.find_one() == {"_id": 1, "tags": ["a"], "sub": {"x": 1}}


def test_unencodable_values_raise_invalid_document(coll):
    with pytest.raises(InvalidDocument):
        coll.insert_one({"s": {1, 2}})
    assert coll.count_documents({}) == 0


def test_documents_over_16_mib_raise_document_too_large(coll):
    with pytest.raises(DocumentTooLarge):
        coll.insert_one({"big": "x" * (16 * 1024 * 1024)})


def test_large_ints_round_trip_as_int64(coll):
    coll.insert_one({"_id": 1, "n": 2 ** 40, "m": 5})
    doc = coll.find_one()
    assert isinstance(doc["n"], Int64) and doc["n"] == 2 ** 40
    assert type(doc["m"]) is int


@pytest.mark.parametrize("bad_id, code, message", [
    ([1, 2], 53, "The '_id' value cannot be of type array"),
    ({"$a": 1}, 52, "_id fields may not contain '$'-prefixed fields: $a is not valid for "
                    "storage."),
])
def test_invalid_ids_are_rejected(coll, bad_id, code, message):
    with pytest.raises(WriteError) as info:
        coll.insert_one({"_id": bad_id})
    assert info.value.code == code
    assert info.value.details["errmsg"] == message
    assert coll.count_documents({}) == 0


def test_dotted_and_dollar_fields_outside_id_are_stored(coll):
    coll.insert_one({"_id": 1, "a.b": 1, "$c": 2, "d": {"$e": 3}})
    assert coll.find_one() == {"_id": 1, "a.b": 1, "$c": 2, "d": {"$e": 3}}


def test_codec_options_apply_to_reads(coll):
    aware = coll.with_options(codec_options=CodecOptions(tz_aware=True, document_class=SON))
    coll.insert_one({"_id": 1, "t": datetime.datetime(2020, 1, 1)})
    doc = aware.find_one()
    assert isinstance(doc, SON)
    assert doc["t"] == datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    assert aware.find_one({"t": datetime.datetime(2020, 1, 1)})["_id"] == 1


# -- inserts and duplicate keys ---------------------------------------------------


def test_duplicate_id_raises_duplicate_key_error(coll):
    coll.insert_one({"_id": 1})
    with pytest.raises(DuplicateKeyError) as info:
        coll.insert_one({"_id": 1.0})
    assert info.value.code == 11000
    assert info.value.details == {
        "index": 0, "code": 11000, "keyPattern": {"_id": 1}, "keyValue": {"_id": 1.0},
        "errmsg": "E11000 duplicate key error collection: db.c index: _id_ dup key: "
                  "{ _id: 1.0 }"}


def test_unique_secondary_index(coll):
    coll.create_index("email", unique=True)
    coll.insert_one({"_id": 1, "email": "a@x"})
    with pytest.raises(DuplicateKeyError) as info:
        coll.insert_one({"_id": 2, "email": "a@x"})
    assert info.value.details["keyPattern"] == {"email": 1}
    assert info.value.details["keyValue"] == {"email": "a@x"}
    coll.update_one({"_id": 1}, {"$set": {"email": "b@x"}})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"_id": 3, "email": "b@x"})
    coll.insert_one({"_id": 3, "email": "a@x"})  # the old key was released
    with pytest.raises(DuplicateKeyError):
        coll.replace_one({"_id": 3}, {"email": "b@x"})
    assert coll.find_one({"_id": 3}) == {"_id": 3, "email": "a@x"}


def test_unacknowledged_writes(coll):
    w0 = coll.with_options(write_concern=WriteConcern(w=0))
    result = w0.insert_one({"_id": 1})
    assert result.acknowledged is False
    assert coll.count_documents({}) == 1


# -- updates --------------------------------------------------------------------


def test_update_one_result(coll):
    coll.insert_many([{"_id": 1, "x": 1}, {"_id": 2, "x": 1}])
    result = coll.update_one({"x": 1}, {"$inc": {"x": 1}})
    assert isinstance(result, UpdateResult)
    assert (result.matched_count, result.modified_count, result.upserted_id) == (1, 1, None)
    assert result.raw_result == {"n": 1, "nModified": 1, "ok": 1.0, "updatedExisting": True}
    assert [d["x"] for d in coll.find()] == [2, 1]


def test_update_many_and_noop(coll):
    coll.insert_many([{"_id": i, "x": i % 2} for i in range(5)])
    result = coll.update_many({"x": 0}, {"$set": {"x": 0}})
    assert (result.matched_count, result.modified_count) == (3, 0)
    result = coll.update_many({"x": 0}, {"$set": {"y": True}})
    assert (result.matched_count, result.modified_count) == (3, 3)
    result = coll.update_many({"nope": 1}, {"$set": {"y": True}})
    assert (result.matched_count, result.modified_count) == (0, 0)
    assert result.raw_result == {"n": 0, "nModified": 0, "ok": 1.0, "updatedExisting": False}


def test_upsert_seeds_from_filter_equalities(coll):
    result = coll.update_one({"a": 1, "b.c": "x", "n": {"$gt": 3}}, {"$set": {"d": 1}},
                             upsert=True)
    assert result.matched_count == 0 and result.modified_count == 0
    assert isinstance(result.upserted_id, ObjectId)
    assert result.raw_result == {"n": 1, "nModified": 0, "upserted": result.upserted_id,
                                 "ok": 1.0, "updatedExisting": False}
    assert coll.find_one() == {"_id": result.upserted_id, "a": 1, "b": {"c": "x"}, "d": 1}


def test_replace_one_upsert_takes_id_from_filter(coll):
    result = coll.replace_one({"_id": 7}, {"x": 1}, upsert=True)
    assert result.upserted_id == 7
    assert coll.find_one() == {"_id": 7, "x": 1}
    result = coll.replace_one({"_id": 7}, {"y": 2})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert coll.find_one() == {"_id": 7, "y": 2}
    # A replacement upsert takes only _id from the filter, never other equalities.
    result = coll.replace_one({"k": "z"}, {"v": 1}, upsert=True)
    assert coll.find_one({"_id": result.upserted_id}) == {"_id": result.upserted_id, "v": 1}


def test_positional_operator_uses_the_matched_element(coll):
    coll.insert_one({"_id": 1, "grades": [80, 85, 90]})
    coll.update_one({"_id": 1, "grades": 85}, {"$set": {"grades.$": 100}})
    assert coll.find_one()["grades"] == [80, 100, 90]


def test_update_sort_is_rejected_like_a_7_0_server(coll):
    # updateOne-sort.json / replaceOne-sort.json: "sort" needs MongoDB 8.0.
    coll.insert_many([{"_id": 1, "n": 5}, {"_id": 2, "n": 9}])
    for call in (lambda: coll.update_one({}, {"$set": {"top": True}}, sort={"n": -1}),
                 lambda: coll.replace_one({}, {"top": True}, sort={"n": -1})):
        with pytest.raises(OperationFailure) as info:
            call()
        assert info.value.code == 40415
        assert info.value.details["errmsg"] == ("BSON field 'update.updates.sort' is an "
                                                "unknown field.")
    assert coll.count_documents({"top": True}) == 0


def test_update_sort_on_an_8_0_server():
    # updateOne-sort.json / replaceOne-sort.json (minServerVersion 8.0).
    coll = MemoryClient(server_version="8.0")["db"]["c"]
    coll.insert_many([{"_id": 1, "x": 11}, {"_id": 2, "x": 22}, {"_id": 3, "x": 33}])
    result = coll.update_one({"_id": {"$gt": 1}}, {"$inc": {"x": 1}}, sort={"_id": -1})
    assert (result.matched_count, result.modified_count, result.upserted_id) == (1, 1, None)
    assert list(coll.find()) == [{"_id": 1, "x": 11}, {"_id": 2, "x": 22}, {"_id": 3, "x": 34}]
    result = coll.replace_one({"_id": {"$gt": 1}}, {"x": 1}, sort=[("x", 1)])
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert list(coll.find()) == [{"_id": 1, "x": 11}, {"_id": 2, "x": 1}, {"_id": 3, "x": 34}]
    # An invalid sort fails the statement even when nothing matches.
    with pytest.raises(WriteError) as info:
        coll.update_one({"_id": 99}, {"$set": {"y": 1}}, sort={"x": "up"})
    assert info.value.code == 15974


def test_server_version_is_7_0_unless_asked():
    assert MemoryClient().server_info()["version"] == "7.0.0"
    client = MemoryClient(server_version="8.0")
    assert client.server_info()["version"] == "8.0.0"
    assert client.server_info()["versionArray"] == [8, 0, 0, 0]
    assert client.admin.command("serverStatus")["version"] == "8.0.0"
    assert client.admin.command("hello")["maxWireVersion"] == 25
    assert MemoryClient().admin.command("hello")["maxWireVersion"] == 21
    with pytest.raises(ValueError):
        MemoryClient(server_version="6.0")


def test_changing_id_is_a_write_error_and_changes_nothing(coll):
    coll.insert_one({"_id": 1, "x": 1})
    with pytest.raises(WriteError) as info:
        coll.update_one({"_id": 1}, {"$set": {"_id": 2, "x": 2}})
    assert info.value.code == 66
    assert info.value.details["index"] == 0
    assert coll.find_one() == {"_id": 1, "x": 1}


def test_unknown_update_operator_is_a_write_error(coll):
    coll.insert_one({"_id": 1})
    with pytest.raises(WriteError) as info:
        coll.update_one({}, {"$foo": {"x": 1}})
    assert info.value.code == 9
    assert "Unknown modifier: $foo" in info.value.details["errmsg"]


def test_update_argument_validation(coll):
    with pytest.raises(ValueError, match="update only works with \\$ operators"):
        coll.update_one({}, {"x": 1})
    with pytest.raises(ValueError, match="update cannot be empty"):
        coll.update_many({}, {})
    with pytest.raises(ValueError, match="replacement can not include \\$ operators"):
        coll.replace_one({}, {"$set": {"x": 1}})
    with pytest.raises(TypeError):
        coll.update_one([("a", 1)], {"$set": {"x": 1}})
    with pytest.raises(TypeError):
        coll.delete_one("x")
    with pytest.raises(TypeError):
        coll.insert_one([("a", 1)])


def test_pipeline_update(coll):
    coll.insert_one({"_id": 1, "a": 2, "b": 3})
    coll.update_one({"_id": 1}, [{"$set": {"sum": {"$add": ["$a", "$b"]}}}])
    assert coll.find_one() == {"_id": 1, "a": 2, "b": 3, "sum": 5}


def test_updated_document_keeps_natural_position(coll):
    coll.insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3}])
    coll.update_one({"_id": 1}, {"$set": {"pad": "x" * 1000}})
    assert [d["_id"] for d in coll.find()] == [1, 2, 3]


# -- deletes -----------------------------------------------------------------------


def test_delete_one_and_many(coll):
    coll.insert_many([{"_id": i, "x": i % 2} for i in range(5)])
    result = coll.delete_one({"x": 1})
    assert isinstance(result, DeleteResult)
    assert result.deleted_count == 1 and result.raw_result == {"n": 1, "ok": 1.0}
    assert [d["_id"] for d in coll.find()] == [0, 2, 3, 4]
    assert coll.delete_many({"x": 0}).deleted_count == 3
    assert coll.delete_many({}).deleted_count == 1
    assert coll.delete_many({}).deleted_count == 0


def test_bad_hint_on_delete_is_a_write_error(coll):
    coll.insert_one({"_id": 1})
    with pytest.raises(WriteError) as info:
        coll.delete_one({"_id": 1}, hint="nope_1")
    assert info.value.code == 2
    assert coll.count_documents({}) == 1


# -- findAndModify ------------------------------------------------------------------


def test_find_one_and_update_before_and_after(coll):
    coll.insert_many([{"_id": 1, "n": 1}, {"_id": 2, "n": 2}])
    before = coll.find_one_and_update({"n": {"$gte": 1}}, {"$inc": {"n": 10}},
                                      sort=[("n", -1)])
    assert before == {"_id": 2, "n": 2}
    after = coll.find_one_and_update({"_id": 1}, {"$inc": {"n": 10}},
                                     projection={"_id": 0},
                                     return_document=ReturnDocument.AFTER)
    assert after == {"n": 11}
    assert coll.find_one_and_update({"_id": 9}, {"$set": {"n": 0}}) is None


def test_find_one_and_update_upsert(coll):
    assert coll.find_one_and_update({"_id": 5}, {"$set": {"n": 1}}, upsert=True) is None
    assert coll.find_one({"_id": 5}) == {"_id": 5, "n": 1}
    doc = coll.find_one_and_update({"k": "a"}, {"$set": {"n": 2}}, upsert=True,
                                   return_document=ReturnDocument.AFTER)
    assert doc["k"] == "a" and doc["n"] == 2 and isinstance(doc["_id"], ObjectId)


def test_find_one_and_replace(coll):
    coll.insert_one({"_id": 1, "a": 1})
    assert coll.find_one_and_replace({"_id": 1}, {"b": 2}) == {"_id": 1, "a": 1}
    assert coll.find_one_and_replace({"_id": 1}, {"c": 3}, projection=["c"],
                                     return_document=ReturnDocument.AFTER) == {"_id": 1, "c": 3}


def test_find_one_and_delete(coll):
    coll.insert_many([{"_id": 1, "n": 3}, {"_id": 2, "n": 1}])
    assert coll.find_one_and_delete({}, sort=[("n", 1)], projection={"n": 1, "_id": 0}) == {
        "n": 1}
    assert [d["_id"] for d in coll.find()] == [1]
    assert coll.find_one_and_delete({"_id": 42}) is None


def test_find_one_and_update_duplicate_key_is_a_command_error(coll):
    coll.create_index("u", unique=True)
    coll.insert_many([{"_id": 1, "u": 1}, {"_id": 2, "u": 2}])
    with pytest.raises(DuplicateKeyError) as info:
        coll.find_one_and_update({"_id": 2}, {"$set": {"u": 1}})
    details = info.value.details
    assert details["ok"] == 0.0 and details["codeName"] == "DuplicateKey"
    assert details["keyValue"] == {"u": 1}


def test_find_one_and_update_argument_errors(coll):
    # pymongo 4.20 made this a TypeError (a ValueError before); the engine follows pymongo
    with pytest.raises(TypeError if pymongo.version_tuple >= (4, 20) else ValueError):
        coll.find_one_and_update({}, {"$set": {"a": 1}}, return_document="after")
    with pytest.raises(ValueError):
        coll.find_one_and_update({}, {"a": 1})
    with pytest.raises(ValueError):
        coll.find_one_and_replace({}, {"$set": {"a": 1}})


# -- counts and distinct -----------------------------------------------------------------


def test_counts(coll):
    assert coll.count_documents({}) == 0 and coll.estimated_document_count() == 0
    coll.insert_many([{"_id": i, "x": i} for i in range(10)])
    assert coll.count_documents({"x": {"$gte": 3}}) == 7
    assert coll.count_documents({"x": {"$gte": 3}}, skip=2, limit=4) == 4
    assert coll.count_documents({"x": {"$gte": 3}}, skip=5) == 2
    assert coll.estimated_document_count() == 10
    with pytest.raises(OperationFailure) as info:
        coll.count_documents({"$bogus": 1})
    assert info.value.code == 2


def test_counts_through_indexes_agree_with_scans(coll):
    coll.insert_many([{"_id": i, "x": i % 4, "t": [i % 3, 9]} for i in range(20)])
    coll.create_index("x")
    coll.create_index("t")  # multikey: candidates are not exact
    assert coll.count_documents({"x": 1}) == 5                  # exact index plan
    assert coll.count_documents({"x": {"$in": [1, 2]}}, skip=3, limit=5) == 5
    assert coll.count_documents({"x": 1}, skip=4) == 1
    assert coll.count_documents({"x": 1}, skip=9) == 0
    assert coll.count_documents({"x": 1.0, "_id": {"$lt": 10}}) == 3
    assert coll.count_documents({"t": 9}) == 20
    assert coll.count_documents({"t": 2, "x": 0}) == 1            # _id 8 only
    assert coll.count_documents({"x": 1}, hint="x_1") == 5


def test_distinct_fans_out_arrays_and_dedupes_by_bson_equality(coll):
    coll.insert_many([
        {"_id": 1, "a": 1, "tags": ["x", "y"], "s": {"k": "p"}},
        {"_id": 2, "a": 1.0, "tags": ["y", ["z"]], "s": [{"k": "q"}, {"k": "p"}]},
        {"_id": 3, "a": "1", "tags": "w"},
        {"_id": 4},
    ])
    assert coll.distinct("a") == [1, "1"]
    assert coll.distinct("tags") == ["w", "x", "y", ["z"]]
    assert coll.distinct("s.k") == ["p", "q"]
    assert coll.distinct("tags", {"_id": {"$lt": 2}}) == ["x", "y"]
    assert coll.distinct("missing") == []
    with pytest.raises(TypeError):
        coll.distinct(1)


# -- collection level --------------------------------------------------------------


def test_names_and_sub_collections():
    db = MemoryClient()["db"]
    sub = db.a.b
    assert (sub.name, sub.full_name) == ("a.b", "db.a.b")
    assert db["a"]["b"] == sub
    assert sub.database == db
    with pytest.raises(InvalidName):
        db["bad$name"]
    with pytest.raises(InvalidName):
        db[""]
    with pytest.raises(TypeError):
        db[1]


def test_rename(coll):
    db = coll.database
    coll.insert_one({"_id": 1})
    db.other.insert_one({"_id": 2})
    with pytest.raises(OperationFailure) as info:
        coll.rename("other")
    assert info.value.code == 48
    coll.rename("other", dropTarget=True)
    assert db.list_collection_names() == ["other"]
    assert list(db.other.find()) == [{"_id": 1}]
    with pytest.raises(InvalidName):
        db.other.rename("$x")
    with pytest.raises(OperationFailure) as info:
        db.missing.rename("x")
    assert info.value.code == 26


def test_drop_and_options(coll):
    coll.insert_one({"_id": 1})
    assert coll.options() == {}
    coll.drop()
    assert coll.database.list_collection_names() == []
    assert coll.find_one() is None
    coll.drop()  # dropping a missing collection is fine


def test_indexes_api(coll):
    assert coll.create_index([("a", 1), ("b", -1)]) == "a_1_b_-1"
    with pytest.raises(OperationFailure) as info:
        coll.create_indexes([])
    assert info.value.code == 2
    with pytest.raises(TypeError):
        coll.create_indexes([{"key": {"a": 1}}])
    assert coll.create_indexes([IndexModel([("u", 1)], unique=True, name="u_unique")]) == [
        "u_unique"]
    assert coll.index_information()["u_unique"] == {"v": 2, "key": [("u", 1)], "unique": True}
    coll.drop_index("u_unique")
    info = coll.index_information()
    assert info["a_1_b_-1"]["key"] == [("a", 1), ("b", -1)]
    assert [d["name"] for d in coll.list_indexes()] == ["_id_", "a_1_b_-1"]
    coll.drop_index([("a", 1), ("b", -1)])
    assert list(coll.index_information()) == ["_id_"]
    with pytest.raises(OperationFailure) as info:
        coll.drop_index("nope")
    assert info.value.code == 27
    coll.create_index("x")
    coll.drop_indexes()
    assert list(coll.index_information()) == ["_id_"]
    with pytest.raises(OperationFailure) as info:
        coll.drop_index("_id_")
    assert info.value.code == 72
    coll.database.missing.drop_index("x_1")  # pymongo ignores "ns not found"
    assert list(coll.database.missing.list_indexes()) == []


def test_unsupported_features_raise_not_implemented(coll):
    with pytest.raises(NotImplementedError):
        coll.watch()
    with pytest.raises(NotImplementedError):
        coll.find_raw_batches()


def test_collection_is_not_iterable_or_callable(coll):
    with pytest.raises(TypeError):
        iter(coll)
    with pytest.raises(TypeError):
        coll.no_such_method()


def test_empty_top_level_timestamps_are_filled_on_insert(coll):
    doc = {"_id": Timestamp(0, 0), "ts": Timestamp(0, 0), "sub": {"ts": Timestamp(0, 0)}}
    coll.insert_many([doc, {"_id": 2, "ts": Timestamp(0, 0)}])
    first, second = coll.find()
    assert first["_id"] == Timestamp(0, 0)  # _id is stored as given
    assert first["sub"] == {"ts": Timestamp(0, 0)}  # only top-level fields
    assert first["ts"].time > 0
    assert second["ts"] > first["ts"]
    assert doc["ts"] == Timestamp(0, 0)  # the caller's document is not touched


def test_count_documents_skip_and_limit_validation(coll):
    coll.insert_many([{"a": i} for i in range(5)])
    for kwargs, code in ((dict(limit=0), 15958), (dict(limit=-1), 15958),
                         (dict(skip=-1), 5107200), (dict(skip="1"), 15972)):
        with pytest.raises(OperationFailure) as info:
            coll.count_documents({}, **kwargs)
        assert info.value.code == code
    assert coll.count_documents({}, limit=2, skip=1) == 2
    assert coll.count_documents({}, skip=4, limit=10) == 1


# -- model-based check of storage and index maintenance ----------------------------

_ops = st.lists(st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 9), st.integers(0, 4)),
    st.tuples(st.just("set"), st.integers(0, 9), st.integers(0, 4)),
    st.tuples(st.just("delete"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("upsert"), st.integers(0, 9), st.integers(0, 4)),
), max_size=40)


@settings(max_examples=60, deadline=None)
@given(_ops)
def test_writes_agree_with_a_dict_model_and_keep_indexes_consistent(ops):
    """Random writes on a collection with a unique index behave like a dict of
    documents where ``u`` values are unique; failed writes change nothing."""
    coll = MemoryClient()["db"]["c"]
    coll.create_index("u", unique=True)
    model: dict = {}  # _id -> u

    def u_taken(u, by=None):
        return any(v == u and k != by for k, v in model.items())

    for op, key, u in ops:
        if op == "insert":
            ok = key not in model and not u_taken(u)
            try:
                coll.insert_one({"_id": key, "u": u})
                assert ok
                model[key] = u
            except DuplicateKeyError:
                assert not ok
        elif op == "set":
            ok = key not in model or not u_taken(u, by=key)
            try:
                result = coll.update_one({"_id": key}, {"$set": {"u": u}})
                assert ok
                assert result.matched_count == (key in model)
                if key in model:
                    assert result.modified_count == (model[key] != u)
                    model[key] = u
            except DuplicateKeyError:
                assert not ok
        elif op == "delete":
            assert coll.delete_one({"_id": key}).deleted_count == (key in model)
            model.pop(key, None)
        else:  # upsert on u: match an existing document or insert {u, n: 1}
            existing = [k for k, v in model.items() if v == u]
            result = coll.update_one({"u": u}, {"$inc": {"n": 1}}, upsert=True)
            assert result.matched_count == len(existing)
            if not existing:
                model[result.upserted_id] = u
        assert {d["_id"]: d["u"] for d in coll.find()} == model
        coll._namespace().indexes._check()


# -- w=0: the server reports nothing ("Write Concern" manual page) -----------------------------


def test_unacknowledged_single_writes_report_no_errors(coll):
    from pymongo.errors import ConfigurationError

    coll.create_index("u", unique=True)
    coll.insert_many([{"_id": 1, "u": 1, "s": "x"}, {"_id": 2, "u": 2}])
    w0 = coll.with_options(write_concern=WriteConcern(w=0))
    assert w0.insert_one({"_id": 1}).acknowledged is False  # E11000, unreported
    updated = w0.update_one({"_id": 1}, {"$inc": {"s": 1}})  # code 14, unreported
    assert (type(updated), updated.acknowledged, updated.raw_result) == (UpdateResult, False,
                                                                        None)
    assert w0.update_many({}, {"$set": {"u": 3}}).acknowledged is False  # E11000 on the 2nd
    assert w0.replace_one({"_id": 2}, {"_id": 3}).acknowledged is False  # code 66
    deleted = w0.delete_one({"$bogus": 1})  # code 2, unreported
    assert (type(deleted), deleted.acknowledged, deleted.raw_result) == (DeleteResult, False,
                                                                        None)
    assert list(coll.find()) == [{"_id": 1, "u": 3, "s": "x"}, {"_id": 2, "u": 2}]
    with pytest.raises(ConfigurationError, match="^Collation is unsupported"):
        w0.delete_many({}, collation={"locale": "en"})
    with pytest.raises(ConfigurationError, match="^arrayFilters is unsupported"):
        w0.update_one({}, {"$set": {"a.$[i]": 1}}, array_filters=[{"i": 0}])
    with pytest.raises(ConfigurationError, match="^Must be connected to MongoDB 8.0\\+ to "
                                                  "use sort on unacknowledged update"):
        w0.update_one({}, {"$set": {"a": 1}}, sort={"a": 1})
    with pytest.raises(TypeError):  # pymongo checks the collation's type first
        w0.update_one({}, {"$set": {"a": 1}}, collation=1)
    assert coll.count_documents({}) == 2


def test_search_index_methods_name_atlas_search(coll):
    for call in (lambda: coll.create_search_index({"definition": {}}),
                 lambda: coll.create_search_indexes([]), lambda: coll.list_search_indexes(),
                 lambda: coll.drop_search_index("x"),
                 lambda: coll.update_search_index("x", {})):
        with pytest.raises(NotImplementedError, match="Atlas Search indexes"):
            call()


def test_option_objects_are_checked_like_pymongo(coll):
    with pytest.raises(TypeError, match="^write_concern must be an instance of "
                                        "pymongo.write_concern.WriteConcern"):
        coll.with_options(write_concern=1)
    with pytest.raises(TypeError, match="^1 is not valid for read_preference"):
        coll.database.get_collection("x", read_preference=1)
    assert coll.with_options(write_concern=WriteConcern(w=0)).write_concern.acknowledged \
        is False


def test_unacknowledged_find_one_and_modify_returns_nothing_and_reports_nothing(coll):
    """pymongo sends a w=0 command with moreToCome: no reply, so no document, no error."""
    from pymongo.errors import ConfigurationError

    coll.create_index("u", unique=True)
    coll.insert_many([{"_id": 1, "u": 1}, {"_id": 2, "u": 2}])
    w0 = coll.with_options(write_concern=WriteConcern(w=0))
    assert w0.find_one_and_update({"_id": 1}, {"$set": {"a": 1}},
                                  return_document=ReturnDocument.AFTER) is None
    assert w0.find_one_and_update({"_id": 1}, {"$set": {"u": 2}}) is None  # E11000, unreported
    assert w0.find_one_and_replace({"_id": 2}, {"_id": 3}) is None  # code 66, unreported
    assert w0.find_one_and_delete({"_id": 2}) is None
    assert list(coll.find()) == [{"_id": 1, "u": 1, "a": 1}]
    with pytest.raises(ConfigurationError, match="^arrayFilters is unsupported"):
        w0.find_one_and_update({}, {"$set": {"a.$[i]": 1}}, array_filters=[{"i": 0}])
    with pytest.raises(ConfigurationError, match="^Collation is unsupported"):
        w0.find_one_and_delete({}, collation={"locale": "en"})
    assert coll.count_documents({}) == 1


# --------------------------------------------------------------------------
# sort + small limit: one heap pass over the scan, same order as a full sort
# --------------------------------------------------------------------------

def test_sort_limit_heap_orders_plain_values_with_natural_tie_break(coll):
    coll.insert_many([{"_id": 1, "s": 5, "u": "b"}, {"_id": 2, "s": 7, "u": "a"},
                      {"_id": 3, "s": 5.0, "u": "a"}, {"_id": 4, "s": 7, "u": "a"},
                      {"_id": 5, "s": 1, "u": "z"}])
    top = coll.find({}, {"_id": 1}).sort([("s", -1), ("u", 1)]).limit(3)
    assert [d["_id"] for d in top] == [2, 4, 3]      # 7/a twice: natural order
    top = coll.find({"s": {"$gte": 5}}).sort("s", 1).limit(2)
    assert [d["_id"] for d in top] == [1, 3]          # 5 and 5.0 tie


@pytest.mark.parametrize("docs", [
    # values the plain heap cannot compare: the general sorter decides
    [{"_id": 1, "s": "x"}, {"_id": 2, "s": 3}, {"_id": 3}, {"_id": 4, "s": None}],
    [{"_id": 1, "s": True}, {"_id": 2, "s": 1}, {"_id": 3, "s": float("nan")}],
    [{"_id": 1, "s": [3, 1]}, {"_id": 2, "s": 2}, {"_id": 3, "s": Int64(0)}],
    [{"_id": 1, "s": "b"}, {"_id": 2, "s": "a"}, {"_id": 3, "s": "c"}],
])
@pytest.mark.parametrize("direction", [1, -1])
def test_sort_limit_equals_the_full_sort_cut_short(coll, docs, direction):
    coll.insert_many(docs)
    full = [d["_id"] for d in coll.find().sort("s", direction)]
    for k in (1, 2, 3):
        assert [d["_id"] for d in coll.find().sort("s", direction).limit(k)] == full[:k]
        assert [d["_id"] for d in coll.find().sort("s", direction).skip(1).limit(k)] \
            == full[1:1 + k]


def test_sort_limit_of_strings_descending_and_mixed():
    coll = MemoryClient()["db"]["c"]
    coll.insert_many([{"_id": 1, "s": "b"}, {"_id": 2, "s": "a"}, {"_id": 3, "s": 2},
                      {"_id": 4, "s": "c"}])
    # BSON order: numbers before strings
    assert [d["_id"] for d in coll.find().sort("s", -1).limit(2)] == [4, 1]
    assert [d["_id"] for d in coll.find().sort("s", 1).limit(2)] == [3, 2]


# --------------------------------------------------------------------------
# aggregate: a leading $match filters the stored documents once; a read-only
# $group after it reads them uncopied
# --------------------------------------------------------------------------

def test_aggregate_match_group_reads_stored_documents_without_changing_them(coll):
    coll.insert_many([{"_id": 1, "k": "a", "v": 2, "t": [1]}, {"_id": 2, "k": "b", "v": 4},
                      {"_id": 3, "k": "a", "v": 6, "t": [2, 3]}, {"_id": 4, "k": "a"}])
    out = list(coll.aggregate([
        {"$match": {"k": "a"}},
        {"$group": {"_id": "$k", "n": {"$sum": 1}, "avg": {"$avg": "$v"},
                    "ts": {"$push": "$t"}, "root": {"$first": "$$ROOT"}}}]))
    assert out == [{"_id": "a", "n": 3, "avg": 4.0, "ts": [[1], [2, 3]],
                    "root": {"_id": 1, "k": "a", "v": 2, "t": [1]}}]
    out[0]["ts"][0].append(99)             # the caller's copy, not the stored array
    out[0]["root"]["k"] = "changed"
    assert coll.find_one({"_id": 1}) == {"_id": 1, "k": "a", "v": 2, "t": [1]}
    assert list(coll.aggregate([{"$match": {"v": {"$gt": 2}}}, {"$count": "n"}])) == [{"n": 2}]


def test_aggregate_match_then_mutating_stages_leave_the_collection_alone(coll):
    coll.insert_many([{"_id": 1, "a": {"b": 1}}, {"_id": 2, "a": {"b": 2}}])
    out = list(coll.aggregate([{"$match": {"a.b": 1}}, {"$set": {"a.c": 5}},
                               {"$unset": "_id"}]))
    assert out == [{"a": {"b": 1, "c": 5}}]
    assert list(coll.find()) == [{"_id": 1, "a": {"b": 1}}, {"_id": 2, "a": {"b": 2}}]
    # the leading $match alone, and one that needs variables (kept as a stage)
    assert [d["_id"] for d in coll.aggregate([{"$match": {"a.b": {"$gte": 1}}}])] == [1, 2]
    assert [d["_id"] for d in coll.aggregate(
        [{"$match": {"$expr": {"$eq": ["$a.b", "$$x"]}}}], let={"x": 2})] == [2]


def test_aggregate_invalid_stage_after_a_leading_match_still_fails(coll):
    coll.insert_one({"_id": 1})
    with pytest.raises(OperationFailure) as info:
        coll.aggregate([{"$match": {"_id": 1}}, {"$bogus": {}}])
    assert info.value.code == 40324
    with pytest.raises(OperationFailure) as info:
        coll.aggregate([{"$match": {"_id": 1}}, {"$documents": []}])
    assert info.value.code == 40602


def test_aggregate_leading_match_on_a_view(coll):
    coll.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "a": 2}, {"_id": 3, "a": 3}])
    db = coll.database
    db.create_collection("v", viewOn=coll.name, pipeline=[{"$match": {"a": {"$gte": 2}}}])
    assert list(db["v"].aggregate([{"$match": {"a": {"$lte": 2}}},
                                   {"$group": {"_id": None, "n": {"$sum": 1}}}])) \
        == [{"_id": None, "n": 1}]


def test_lazy_scan_skips_documents_deleted_or_changed_after_the_cursor_started(coll):
    coll.insert_many([{"_id": i, "a": 1} for i in range(600)])  # several scan chunks
    cursor = coll.find({"a": 1}).skip(2)
    assert next(cursor)["_id"] == 2
    coll.delete_one({"_id": 500})
    coll.update_one({"_id": 501}, {"$set": {"a": 2}})
    rest = [d["_id"] for d in cursor]
    assert rest == [i for i in range(3, 600) if i not in (500, 501)]


def test_scalar_equality_scan_across_value_types(coll):
    coll.insert_many([{"_id": 1, "a": 5}, {"_id": 2, "a": Int64(5)}, {"_id": 3, "a": 5.0},
                      {"_id": 4, "a": [1, 5]}, {"_id": 5, "a": True}, {"_id": 6, "a": "5"},
                      {"_id": 7}, {"_id": 8, "a": 6}, {"_id": 9, "a": 1}])
    assert [d["_id"] for d in coll.find({"a": 5})] == [1, 2, 3, 4]
    assert coll.count_documents({"a": 5}) == 4
    assert coll.find_one({"a": 5}, {"_id": 1}) == {"_id": 1}
    assert [d["_id"] for d in coll.find({"a": True})] == [5]
    assert [d["_id"] for d in coll.find({"a": 1})] == [4, 9]
    assert [d["_id"] for d in coll.find({"a": "5"})] == [6]
    assert [d["_id"] for d in coll.find({"a": 5}).sort("_id", -1).limit(2)] == [4, 3]


def test_find_one_point_lookup_through_an_index_equals_a_scan(coll):
    """find_one({field: scalar}) answered by the index alone gives what the
    matcher gives: numbers across types, bool not equal to 1, no match, _id."""
    docs = [{"_id": 1, "a": 1}, {"_id": 2, "a": True}, {"_id": 3, "a": 2.0},
            {"_id": 4, "a": "x"}, {"_id": 5}]
    coll.insert_many(docs)
    queries = [{"a": 1}, {"a": 1.0}, {"a": True}, {"a": 2}, {"a": "x"}, {"a": "y"},
               {"_id": 3}, {"_id": 9}, {"a": None}]
    scanned = [coll.find_one(q) for q in queries]
    coll.create_index("a")
    assert [coll.find_one(q) for q in queries] == scanned
    assert scanned[:3] == [docs[0], docs[0], docs[1]] and scanned[5] is None
    found = coll.find_one({"a": "x"})
    found["a"] = "changed"  # a copy: the stored document is untouched
    assert coll.find_one({"a": "x"}) == docs[3]
