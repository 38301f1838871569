"""bulk_write / insert_many: results and BulkWriteError details as pymongo
reports them against a MongoDB 7 server (see mongodb-specs/crud/bulkWrite-*.json
and insertMany-*.json for the recorded expectations)."""

import inspect

import pytest
from bson import ObjectId
from pymongo import DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError, InvalidOperation, OperationFailure
from pymongo.results import BulkWriteResult

from dongo.backends.memory import MemoryClient


@pytest.fixture
def coll():
    return MemoryClient()["db"]["c"]


def dup_error(index, value, op, *, coll="db.c", name="_id_", field="_id", shown=None):
    shown = shown if shown is not None else str(value)
    return {
        "index": index,
        "code": 11000,
        "errmsg": f"E11000 duplicate key error collection: {coll} index: {name} "
                  f"dup key: {{ {field}: {shown} }}",
        "keyPattern": {field: 1},
        "keyValue": {field: value},
        "op": op,
    }


def empty_result(**counts):
    result = {"writeErrors": [], "writeConcernErrors": [], "nInserted": 0, "nUpserted": 0,
              "nMatched": 0, "nModified": 0, "nRemoved": 0, "upserted": []}
    result.update(counts)
    return result


def ids(coll):
    return [d["_id"] for d in coll.find({}, sort=[("_id", 1)])]


def test_mixed_bulk_result_counts(coll):
    coll.insert_many([{"_id": 1, "x": 11}, {"_id": 2, "x": 22}, {"_id": 3, "x": 33}])
    result = coll.bulk_write([
        InsertOne({"_id": 4, "x": 44}),
        UpdateOne({"_id": 1}, {"$inc": {"x": 1}}),
        UpdateMany({"x": {"$gt": 20}}, {"$set": {"big": True}}),
        ReplaceOne({"_id": 2}, {"x": 222}),
        DeleteOne({"_id": 3}),
        DeleteMany({"x": {"$lt": 0}}),
    ])
    assert isinstance(result, BulkWriteResult)
    assert result.bulk_api_result == empty_result(nInserted=1, nMatched=5, nModified=5,
                                                  nRemoved=1)
    assert (result.inserted_count, result.matched_count, result.modified_count,
            result.deleted_count, result.upserted_count) == (1, 5, 5, 1, 0)
    assert list(coll.find({}, sort=[("_id", 1)])) == [
        {"_id": 1, "x": 12}, {"_id": 2, "x": 222}, {"_id": 4, "x": 44, "big": True}]


def test_unmodified_matches_count_as_matched_only(coll):
    coll.insert_one({"_id": 1, "x": 1})
    result = coll.bulk_write([UpdateOne({"_id": 1}, {"$set": {"x": 1}})])
    assert (result.matched_count, result.modified_count) == (1, 0)


def test_upserts_report_index_and_id(coll):
    coll.insert_one({"_id": 1, "a": 1})
    result = coll.bulk_write([
        UpdateOne({"_id": 5}, {"$set": {"a": 1}}, upsert=True),
        UpdateOne({"_id": 1}, {"$set": {"b": 1}}, upsert=True),
        ReplaceOne({"k": "z"}, {"k": "z", "v": 1}, upsert=True),
        UpdateMany({"a": 1}, {"$inc": {"a": 1}}),
    ])
    upserted = result.bulk_api_result["upserted"]
    assert [u["index"] for u in upserted] == [0, 2]
    assert upserted[0]["_id"] == 5
    assert isinstance(upserted[1]["_id"], ObjectId)
    assert result.upserted_ids == {0: 5, 2: upserted[1]["_id"]}
    assert (result.upserted_count, result.matched_count, result.modified_count) == (2, 3, 3)
    assert coll.find_one({"k": "z"}) == {"_id": upserted[1]["_id"], "k": "z", "v": 1}


def test_ordered_stops_at_first_duplicate(coll):
    coll.insert_one({"_id": 1, "x": 11})
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write([InsertOne({"_id": 2, "x": 22}), InsertOne({"_id": 1, "x": 11}),
                         InsertOne({"_id": 3, "x": 33})])
    assert info.value.code == 65
    assert info.value.details == empty_result(
        nInserted=1, writeErrors=[dup_error(1, 1, {"_id": 1, "x": 11})])
    assert ids(coll) == [1, 2]


def test_unordered_continues_after_duplicates(coll):
    coll.insert_one({"_id": 1, "x": 11})
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write([InsertOne({"_id": 2, "x": 22}), InsertOne({"_id": 1, "x": 11}),
                         InsertOne({"_id": 2, "x": 22}), InsertOne({"_id": 3, "x": 33})],
                        ordered=False)
    assert info.value.details == empty_result(
        nInserted=2, writeErrors=[dup_error(1, 1, {"_id": 1, "x": 11}),
                                  dup_error(2, 2, {"_id": 2, "x": 22})])
    assert ids(coll) == [1, 2, 3]


def test_ordered_mixed_kinds_stop_and_keep_counts(coll):
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write([InsertOne({"_id": 1}), UpdateOne({"_id": 1}, {"$set": {"x": 1}}),
                         InsertOne({"_id": 1}), DeleteOne({"_id": 1})])
    details = info.value.details
    assert (details["nInserted"], details["nMatched"], details["nModified"],
            details["nRemoved"]) == (1, 1, 1, 0)
    assert [e["index"] for e in details["writeErrors"]] == [2]
    assert list(coll.find()) == [{"_id": 1, "x": 1}]


def test_unordered_runs_inserts_then_updates_then_deletes(coll):
    # pymongo groups an unordered bulk by kind: all inserts, then updates, then deletes.
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write([DeleteOne({"_id": 1}), UpdateOne({"_id": 1}, {"$set": {"x": 1}}),
                         InsertOne({"_id": 1}), InsertOne({"_id": 1})], ordered=False)
    details = info.value.details
    assert (details["nInserted"], details["nMatched"], details["nModified"],
            details["nRemoved"]) == (1, 1, 1, 1)
    assert [e["index"] for e in details["writeErrors"]] == [3]
    assert coll.count_documents({}) == 0


def test_update_write_error_reports_the_statement(coll):
    coll.insert_one({"_id": 1})
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write([UpdateOne({"_id": 1}, {"$set": {"_id": 2}})])
    (error,) = info.value.details["writeErrors"]
    assert error["index"] == 0
    assert error["code"] == 66
    assert error["op"] == {"q": {"_id": 1}, "u": {"$set": {"_id": 2}}, "multi": False,
                           "upsert": False}
    assert list(coll.find()) == [{"_id": 1}]


def test_delete_statement_op_shape(coll):
    coll.insert_one({"_id": 1})
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write([DeleteMany({"$foo": 1})])
    (error,) = info.value.details["writeErrors"]
    assert error["code"] == 2
    assert error["op"] == {"q": {"$foo": 1}, "limit": 0}


def test_insert_many_ordered_and_unordered(coll):
    coll.insert_one({"_id": 1, "x": 11})
    with pytest.raises(BulkWriteError) as info:
        coll.insert_many([{"_id": 2, "x": 22}, {"_id": 2, "x": 22}, {"_id": 3, "x": 33}],
                         ordered=False)
    assert info.value.details["nInserted"] == 2
    assert [e["index"] for e in info.value.details["writeErrors"]] == [1]
    assert ids(coll) == [1, 2, 3]
    with pytest.raises(BulkWriteError) as info:
        coll.insert_many([{"_id": 4}, {"_id": 3}, {"_id": 5}])
    assert info.value.details["nInserted"] == 1
    assert ids(coll) == [1, 2, 3, 4]


def test_insert_many_assigns_ids_to_callers_documents(coll):
    docs = [{"a": 1}, {"_id": "given", "a": 2}]
    result = coll.insert_many(docs)
    assert isinstance(docs[0]["_id"], ObjectId)
    assert result.inserted_ids == [docs[0]["_id"], "given"]


def test_insert_many_argument_errors(coll):
    with pytest.raises(TypeError, match="documents must be a non-empty list"):
        coll.insert_many([])
    with pytest.raises(TypeError, match="documents must be a non-empty list"):
        coll.insert_many({"a": 1})
    with pytest.raises(TypeError):
        coll.insert_many([1])


def test_bulk_write_argument_errors(coll):
    with pytest.raises(InvalidOperation, match="No operations to execute"):
        coll.bulk_write([])
    with pytest.raises(TypeError, match="requests must be a list"):
        coll.bulk_write(InsertOne({}))
    with pytest.raises(TypeError, match="is not a valid request"):
        coll.bulk_write([{"insertOne": {}}])
    with pytest.raises(ValueError, match="update only works with \\$ operators"):
        coll.bulk_write([UpdateOne({}, {"x": 1})])
    with pytest.raises(ValueError, match="replacement can not include \\$ operators"):
        coll.bulk_write([ReplaceOne({}, {"$set": {"x": 1}})])


def test_update_statement_options(coll):
    coll.insert_many([{"_id": 1, "a": [1, 5, 9]}, {"_id": 2, "s": "B"}])
    result = coll.bulk_write([
        UpdateOne({"_id": 1}, {"$set": {"a.$[e]": 0}}, array_filters=[{"e": {"$gt": 4}}]),
        UpdateMany({"s": "b"}, {"$set": {"found": True}},
                   collation={"locale": "en", "strength": 2}),
    ])
    assert result.modified_count == 2
    assert coll.find_one({"_id": 1}) == {"_id": 1, "a": [1, 0, 0]}
    assert coll.find_one({"_id": 2}) == {"_id": 2, "s": "B", "found": True}


def test_update_sort_is_rejected_like_a_7_0_server(coll):
    # bulkWrite-updateOne-sort.json: servers before 8.0 fail the whole command.
    if "sort" not in inspect.signature(UpdateOne).parameters:
        pytest.skip("this pymongo has no UpdateOne(sort=...)")
    coll.insert_many([{"_id": 1, "x": 11}, {"_id": 2, "x": 22}])
    with pytest.raises(OperationFailure) as info:
        coll.bulk_write([InsertOne({"_id": 3}),
                         UpdateOne({}, {"$inc": {"x": 1}}, sort={"_id": -1})])
    assert info.value.code == 40415
    assert list(coll.find()) == [{"_id": 1, "x": 11}, {"_id": 2, "x": 22}, {"_id": 3}]


def test_update_sort_on_an_8_0_server():
    # bulkWrite-updateOne-sort.json / bulkWrite-replaceOne-sort.json (8.0).
    if "sort" not in inspect.signature(UpdateOne).parameters:
        pytest.skip("this pymongo has no UpdateOne(sort=...)")
    coll = MemoryClient(server_version="8.0")["db"]["c"]
    coll.insert_many([{"_id": 1, "x": 11}, {"_id": 2, "x": 22}, {"_id": 3, "x": 33}])
    result = coll.bulk_write([UpdateOne({"_id": {"$gt": 1}}, [{"$set": {"x": 1}}],
                                        sort={"_id": -1}),
                              ReplaceOne({"_id": {"$gt": 1}}, {"x": 0}, sort={"_id": 1})])
    assert (result.matched_count, result.modified_count) == (2, 2)
    assert list(coll.find()) == [{"_id": 1, "x": 11}, {"_id": 2, "x": 0}, {"_id": 3, "x": 1}]


def test_let_variables_reach_statements(coll):
    coll.insert_many([{"_id": 1, "x": 1}, {"_id": 2, "x": 2}])
    result = coll.bulk_write([DeleteOne({"$expr": {"$eq": ["$x", "$$target"]}})],
                             let={"target": 2})
    assert result.deleted_count == 1
    assert ids(coll) == [1]


# -- w=0: the server reports nothing ("Write Concern" manual page) -----------------------------


def test_unacknowledged_bulk_reports_no_errors_and_ordered_stops_at_the_first(coll):
    from pymongo.write_concern import WriteConcern

    coll.insert_one({"_id": 2})
    w0 = coll.with_options(write_concern=WriteConcern(w=0))
    ordered = w0.bulk_write([InsertOne({"_id": 1}), InsertOne({"_id": 2}),
                             InsertOne({"_id": 3})])
    assert (type(ordered), ordered.acknowledged, ordered.bulk_api_result) == (
        BulkWriteResult, False, {})
    assert ids(coll) == [1, 2]  # pymongo runs an ordered w=0 bulk to its first error
    unordered = w0.bulk_write([InsertOne({"_id": 2}), InsertOne({"_id": 4}),
                               UpdateOne({"_id": 4}, {"$inc": {"x": 1}}),
                               DeleteOne({"_id": 1})], ordered=False)
    assert unordered.acknowledged is False
    assert list(coll.find({}, sort=[("_id", 1)])) == [{"_id": 2}, {"_id": 4, "x": 1}]
    many = w0.insert_many([{"_id": 4}, {"_id": 5}], ordered=False)
    assert (many.acknowledged, many.inserted_ids) == (False, [4, 5])
    assert ids(coll) == [2, 4, 5]


def test_unacknowledged_bulk_client_side_refusals(coll):
    """pymongo refuses these for w=0 before sending anything (bulk.py execute_no_results)."""
    from pymongo.errors import ConfigurationError
    from pymongo.write_concern import WriteConcern

    w0 = coll.with_options(write_concern=WriteConcern(w=0))
    with pytest.raises(ConfigurationError, match="^Collation is unsupported for "
                                                  "unacknowledged writes.$"):
        w0.bulk_write([DeleteOne({}, collation={"locale": "en"})])
    with pytest.raises(ConfigurationError, match="^arrayFilters is unsupported for "
                                                  "unacknowledged writes.$"):
        w0.bulk_write([UpdateOne({}, {"$set": {"a.$[i]": 1}}, array_filters=[{"i": 0}])])
    if "sort" in inspect.signature(UpdateOne).parameters:  # pymongo >= 4.11
        with pytest.raises(ConfigurationError, match="MongoDB 8.0"):
            w0.bulk_write([UpdateOne({}, {"$set": {"a": 1}}, sort={"a": 1})])
    with pytest.raises(OperationFailure, match="^Cannot set bypass_document_validation with "
                                                "unacknowledged write concern$"):
        w0.insert_many([{"_id": 1}], bypass_document_validation=True)
    with pytest.raises(InvalidOperation, match="No operations to execute"):
        w0.bulk_write([])
    assert coll.count_documents({}) == 0


def test_insert_many_error_details_match_bulk_write(coll):
    """insert_many's own loop reports exactly what bulk_write of InsertOnes does."""
    docs = [{"_id": 1}, {"_id": 1, "x": 1}, {"_id": 2}, {"_id": 2}]
    other = MemoryClient()["db"]["c"]
    for ordered in (True, False):
        coll.drop()
        other.drop()
        with pytest.raises(BulkWriteError) as mine:
            coll.insert_many([dict(d) for d in docs], ordered=ordered)
        with pytest.raises(BulkWriteError) as bulk:
            other.bulk_write([InsertOne(dict(d)) for d in docs], ordered=ordered)
        assert mine.value.details == bulk.value.details
    assert mine.value.details["nInserted"] == 2
    assert [(e["index"], e["code"], e["op"]) for e in mine.value.details["writeErrors"]] \
        == [(1, 11000, {"_id": 1, "x": 1}), (3, 11000, {"_id": 2})]
    assert mine.value.details["writeErrors"][0]["keyValue"] == {"_id": 1}


def test_insert_many_generator_view_and_unacknowledged(coll):
    assert coll.insert_many({"_id": i} for i in range(3)).inserted_ids == [0, 1, 2]
    with pytest.raises(InvalidOperation, match="No operations to execute"):
        coll.insert_many(d for d in [])
    db = coll.database
    db.create_collection("v", viewOn=coll.name, pipeline=[])
    with pytest.raises(BulkWriteError) as info:
        db["v"].insert_many([{"_id": 9}])
    assert [(e["index"], e["code"]) for e in info.value.details["writeErrors"]] == [(0, 166)]
    from pymongo.write_concern import WriteConcern

    w0 = coll.with_options(write_concern=WriteConcern(w=0))
    result = w0.insert_many([{"_id": 0}, {"_id": 7}], ordered=False)  # no error reported
    assert result.acknowledged is False
    assert sorted(d["_id"] for d in coll.find()) == [0, 1, 2, 7]


def test_insert_many_validates_every_document_before_storing_any(coll):
    with pytest.raises(TypeError):
        coll.insert_many([{"_id": 1}, 5])
    assert coll.count_documents({}) == 0
