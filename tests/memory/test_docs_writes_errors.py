"""Fidelity audit: write commands and their errors as the MongoDB manual
documents them ("db.collection.insertMany()", "db.collection.bulkWrite()",
"db.collection.distinct()", "countDocuments", "E11000 duplicate key error",
"Field Names", "Date()") run end to end on MemoryClient (see docs/audit.md)."""

import datetime
import uuid

import pytest
from bson import Binary, Int64, ObjectId, Regex
from bson.codec_options import CodecOptions
from pymongo import DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, WriteError
from pymongo.results import BulkWriteResult, DeleteResult, InsertManyResult, InsertOneResult

from dongo.backends.memory import MemoryClient


@pytest.fixture
def db():
    return MemoryClient()["test"]


def dup(index, key, value, op, *, ns="test.products", shown=None, name=None):
    field = next(iter(key))
    return {"index": index, "code": 11000,
            "errmsg": f"E11000 duplicate key error collection: {ns} index: "
                      f"{name or field + '_' if field == '_id' else name} "
                      f"dup key: {{ {field}: {shown if shown is not None else value} }}",
            "keyPattern": key, "keyValue": {field: value}, "op": op}


# -- "db.collection.insertOne()" / "insertMany()" -----------------------------------------

def test_insert_one_result(db):
    r = db.products.insert_one({"item": "card", "qty": 15})
    assert isinstance(r, InsertOneResult) and r.acknowledged
    assert isinstance(r.inserted_id, ObjectId)
    assert db.products.find_one() == {"_id": r.inserted_id, "item": "card", "qty": 15}


def test_insert_many_result_keeps_given_ids(db):
    r = db.products.insert_many([{"_id": 10, "item": "large box", "qty": 20},
                                 {"_id": 11, "item": "small box", "qty": 55},
                                 {"_id": 12, "item": "medium box", "qty": 30}])
    assert isinstance(r, InsertManyResult)
    assert r.inserted_ids == [10, 11, 12]


def test_insert_one_duplicate_id(db):
    db.products.insert_one({"_id": 10, "item": "large box"})
    with pytest.raises(DuplicateKeyError) as exc:
        db.products.insert_one({"_id": 10, "item": "packing peanuts", "qty": 200})
    err = exc.value
    assert err.code == 11000
    assert err.details["errmsg"] == ("E11000 duplicate key error collection: test.products "
                                     "index: _id_ dup key: { _id: 10 }")
    assert err.details["keyPattern"] == {"_id": 1}
    assert err.details["keyValue"] == {"_id": 10}
    assert db.products.count_documents({}) == 1


def test_insert_many_ordered_stops_at_first_error(db):
    # "insertMany()": "Insert Several Document Specifying an _id Field" -- duplicate _id 13
    docs = [{"_id": 13, "item": "envelopes", "qty": 60},
            {"_id": 13, "item": "stamps", "qty": 110},
            {"_id": 14, "item": "packing tape", "qty": 38}]
    with pytest.raises(BulkWriteError) as exc:
        db.products.insert_many(docs)
    details = exc.value.details
    assert exc.value.code == 65
    assert details == {
        "writeErrors": [dup(1, {"_id": 1}, 13, {"_id": 13, "item": "stamps", "qty": 110})],
        "writeConcernErrors": [], "nInserted": 1, "nUpserted": 0, "nMatched": 0,
        "nModified": 0, "nRemoved": 0, "upserted": []}
    assert [d["_id"] for d in db.products.find()] == [13]


def test_insert_many_unordered_continues(db):
    # "insertMany()": "Unordered Inserts"
    docs = [{"_id": 10, "item": "large box", "qty": 20},
            {"_id": 11, "item": "small box", "qty": 55},
            {"_id": 11, "item": "medium box", "qty": 30},
            {"_id": 12, "item": "envelope", "qty": 100},
            {"_id": 13, "item": "stamps", "qty": 125},
            {"_id": 13, "item": "tape", "qty": 20},
            {"_id": 14, "item": "bubble wrap", "qty": 30}]
    with pytest.raises(BulkWriteError) as exc:
        db.products.insert_many(docs, ordered=False)
    details = exc.value.details
    assert details["writeErrors"] == [
        dup(2, {"_id": 1}, 11, {"_id": 11, "item": "medium box", "qty": 30}),
        dup(5, {"_id": 1}, 13, {"_id": 13, "item": "tape", "qty": 20})]
    assert details["nInserted"] == 5
    assert [d["item"] for d in db.products.find()] == [
        "large box", "small box", "envelope", "stamps", "bubble wrap"]


def test_duplicate_key_message_renders_values_like_the_shell(db):
    db.c.create_index("k", unique=True)
    cases = [("s", '"s"'), (1.5, "1.5"), (Int64(7), "7"), (None, "null"),
             ({"a": 1}, "{ a: 1 }"), (True, "true"), ([1, 2], None)]
    for i, (value, shown) in enumerate(cases):
        db.c.insert_one({"_id": i, "k": value})
        if shown is None:
            continue
        with pytest.raises(DuplicateKeyError) as exc:
            db.c.insert_one({"_id": 100 + i, "k": value})
        assert exc.value.details["errmsg"] == (
            "E11000 duplicate key error collection: test.c index: k_1 dup key: "
            f"{{ k: {shown} }}")
        assert exc.value.details["keyValue"] == {"k": value}


# -- "db.collection.bulkWrite()" ---------------------------------------------------------------

CHARACTERS = [
    {"_id": 1, "char": "Brisbane", "class": "monk", "lvl": 4},
    {"_id": 2, "char": "Eldon", "class": "alchemist", "lvl": 3},
    {"_id": 3, "char": "Meldane", "class": "ranger", "lvl": 3},
]


@pytest.fixture
def pizzas(db):
    db.pizzas.insert_many([
        {"_id": 0, "type": "pepperoni", "size": "small", "price": 4},
        {"_id": 1, "type": "cheese", "size": "medium", "price": 7},
        {"_id": 2, "type": "vegan", "size": "large", "price": 8},
    ])
    return db.pizzas


def test_bulk_write_mixed_operations(pizzas):
    # "bulkWrite()": "Bulk Write Operations" example
    r = pizzas.bulk_write([
        InsertOne({"_id": 3, "type": "beef", "size": "medium", "price": 6}),
        InsertOne({"_id": 4, "type": "sausage", "size": "large", "price": 10}),
        UpdateOne({"type": "cheese"}, {"$set": {"price": 8}}),
        DeleteOne({"type": "pepperoni"}),
        ReplaceOne({"type": "vegan"}, {"type": "tofu", "size": "small", "price": 4}),
    ])
    assert isinstance(r, BulkWriteResult)
    assert (r.inserted_count, r.matched_count, r.modified_count, r.deleted_count,
            r.upserted_count, r.upserted_ids) == (2, 2, 2, 1, 0, {})
    assert list(pizzas.find()) == [
        {"_id": 1, "type": "cheese", "size": "medium", "price": 8},
        {"_id": 2, "type": "tofu", "size": "small", "price": 4},
        {"_id": 3, "type": "beef", "size": "medium", "price": 6},
        {"_id": 4, "type": "sausage", "size": "large", "price": 10},
    ]


def test_bulk_write_upserts_report_index_and_id(pizzas):
    r = pizzas.bulk_write([
        UpdateOne({"_id": 9}, {"$set": {"type": "ham"}}, upsert=True),
        DeleteMany({"price": {"$gt": 100}}),
        ReplaceOne({"type": "margherita"}, {"type": "margherita", "price": 5}, upsert=True),
        UpdateMany({"size": "large"}, {"$inc": {"price": 1}}),
    ])
    assert r.upserted_count == 2
    assert r.upserted_ids[0] == 9
    assert isinstance(r.upserted_ids[2], ObjectId)
    assert (r.matched_count, r.modified_count, r.deleted_count) == (1, 1, 0)
    assert r.bulk_api_result["upserted"] == [{"index": 0, "_id": 9},
                                             {"index": 2, "_id": r.upserted_ids[2]}]


def test_bulk_write_ordered_error(pizzas):
    # "bulkWrite()": "Bulk Write Operations with Errors" -- ordered stops at _id 4 dup
    with pytest.raises(BulkWriteError) as exc:
        pizzas.bulk_write([
            InsertOne({"_id": 3, "type": "beef", "size": "medium", "price": 6}),
            InsertOne({"_id": 3, "type": "sausage", "size": "large", "price": 10}),
            UpdateOne({"type": "cheese"}, {"$set": {"price": 8}}),
        ])
    d = exc.value.details
    assert d["writeErrors"] == [dup(1, {"_id": 1}, 3, {"_id": 3, "type": "sausage",
                                                        "size": "large", "price": 10},
                                    ns="test.pizzas")]
    assert (d["nInserted"], d["nMatched"], d["nModified"]) == (1, 0, 0)
    assert pizzas.find_one({"_id": 1})["price"] == 7


def test_bulk_write_unordered_errors_of_several_kinds(pizzas):
    with pytest.raises(BulkWriteError) as exc:
        pizzas.bulk_write([
            InsertOne({"_id": 0, "type": "dup"}),
            UpdateOne({"_id": 1}, {"$inc": {"type": 1}}),
            UpdateOne({"_id": 2}, {"$set": {"price": 9}}),
            DeleteOne({"_id": 0}),
        ], ordered=False)
    d = exc.value.details
    assert [(e["index"], e["code"]) for e in d["writeErrors"]] == [(0, 11000), (1, 14)]
    assert d["writeErrors"][1]["errmsg"] == (
        "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'type' "
        "of non-numeric type string")
    assert d["writeErrors"][1]["op"] == {"q": {"_id": 1}, "u": {"$inc": {"type": 1}},
                                         "multi": False, "upsert": False}
    assert (d["nInserted"], d["nMatched"], d["nModified"], d["nRemoved"]) == (0, 1, 1, 1)


def test_bulk_write_failed_write_changes_nothing(pizzas):
    with pytest.raises(BulkWriteError):
        pizzas.bulk_write([UpdateMany({}, [{"$set": {"price": {"$add": ["$type", 1]}}}])])
    assert [d["price"] for d in pizzas.find()] == [4, 7, 8]


# -- errors of single writes ------------------------------------------------------------------

def test_update_write_error_has_code_and_details(db):
    db.c.insert_one({"_id": 1, "a": [1]})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$set": {"a.x": 1}})
    assert exc.value.code == 28
    assert exc.value.details["errmsg"] == (
        "Cannot create field 'x' in element {a: [ 1 ]}")


def test_duplicate_key_on_update(db):
    db.c.create_index("k", unique=True)
    db.c.insert_many([{"_id": 1, "k": 1}, {"_id": 2, "k": 2}])
    with pytest.raises(DuplicateKeyError) as exc:
        db.c.update_one({"_id": 2}, {"$set": {"k": 1}})
    assert exc.value.details["keyValue"] == {"k": 1}
    assert db.c.find_one({"_id": 2}) == {"_id": 2, "k": 2}


def test_update_many_failure_midway_keeps_earlier_documents_updated(db):
    # A multi-update is not atomic across documents: the first documents stay
    # updated when a later one fails.
    db.c.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "a": "x"}, {"_id": 3, "a": 3}])
    with pytest.raises(WriteError) as exc:
        db.c.update_many({}, {"$inc": {"a": 1}})
    assert exc.value.code == 14
    assert [d["a"] for d in db.c.find()] == [2, "x", 3]


def test_id_cannot_be_array_or_regex(db):
    with pytest.raises(WriteError) as exc:
        db.c.insert_one({"_id": [1, 2]})
    assert exc.value.code == 53
    assert exc.value.details["errmsg"] == "The '_id' value cannot be of type array"
    with pytest.raises(WriteError) as exc:
        db.c.insert_one({"_id": Regex("a")})
    assert exc.value.code == 53
    assert db.c.count_documents({}) == 0


def test_replacement_may_not_contain_update_operators(db):
    db.c.insert_one({"_id": 1})
    with pytest.raises(ValueError):
        db.c.replace_one({"_id": 1}, {"$set": {"a": 1}})
    with pytest.raises(ValueError):
        db.c.update_one({"_id": 1}, {"a": 1})


# -- "db.collection.deleteOne()" / "deleteMany()" -----------------------------------------

def test_delete_results(db):
    db.orders.insert_many([{"_id": i, "stock": s} for i, s in
                           enumerate(["Brent", "Brent", "Crude", "Brent"])])
    r = db.orders.delete_one({"stock": "Brent"})
    assert isinstance(r, DeleteResult) and r.deleted_count == 1
    assert [d["_id"] for d in db.orders.find()] == [1, 2, 3]
    assert db.orders.delete_many({"stock": "Brent"}).deleted_count == 2
    assert db.orders.delete_many({"stock": "none"}).deleted_count == 0
    assert db.orders.delete_many({}).deleted_count == 1


# -- "db.collection.distinct()" -------------------------------------------------------------

DISTINCT_INVENTORY = [
    {"_id": 1, "dept": "A", "item": {"sku": "111", "color": "red"}, "sizes": ["S", "M"]},
    {"_id": 2, "dept": "A", "item": {"sku": "111", "color": "blue"}, "sizes": ["M", "L"]},
    {"_id": 3, "dept": "B", "item": {"sku": "222", "color": "blue"}, "sizes": "S"},
    {"_id": 4, "dept": "A", "item": {"sku": "333", "color": "black"}, "sizes": ["S"]},
]


@pytest.mark.parametrize("key, query, expected", [
    ("dept", None, ["A", "B"]),
    ("item.sku", None, ["111", "222", "333"]),
    ("sizes", None, ["L", "M", "S"]),
    ("item.sku", {"dept": "A"}, ["111", "333"]),
    ("nothing", None, []),
])
def test_distinct(db, key, query, expected):
    db.inventory.insert_many(DISTINCT_INVENTORY)
    got = db.inventory.distinct(key, query)
    assert sorted(got) == expected and len(got) == len(expected)


def test_distinct_numbers_of_different_types_are_one_value(db):
    db.c.insert_many([{"a": 1}, {"a": 1.0}, {"a": Int64(1)}, {"a": [1, [1]]}])
    got = db.c.distinct("a")
    assert len(got) == 2 and 1 in got and [1] in got


def test_distinct_with_collation(db):
    db.c.insert_many([{"a": "x"}, {"a": "X"}, {"a": "y"}])
    assert len(db.c.distinct("a", collation={"locale": "en", "strength": 2})) == 2


# -- "db.collection.countDocuments()" ------------------------------------------------------

def test_count_documents(db):
    db.orders.insert_many([{"_id": i, "ord_dt": datetime.datetime(2012, 1, i + 1),
                            "status": "D" if i % 2 else "A"} for i in range(6)])
    assert db.orders.count_documents({}) == 6
    assert db.orders.count_documents({"ord_dt": {"$gt": datetime.datetime(2012, 1, 3)}}) == 3
    assert db.orders.count_documents({"status": "D"}, limit=2) == 2
    assert db.orders.count_documents({"status": "D"}, skip=2) == 1
    assert db.orders.count_documents({"status": "Z"}) == 0


def test_count_documents_in_missing_collection_is_zero(db):
    assert db.nothing.count_documents({}) == 0
    assert db.nothing.estimated_document_count() == 0
    assert db.nothing.find_one() is None


# -- Storage fidelity ("BSON Types": Date, "Documents": field order, _id) ---------------------

def test_id_is_stored_first(db):
    db.c.insert_one({"b": 1, "a": 2, "_id": 3})
    assert list(db.c.find_one()) == ["_id", "b", "a"]


def test_dates_keep_millisecond_precision(db):
    db.c.insert_one({"_id": 1, "t": datetime.datetime(2021, 5, 6, 7, 8, 9, 987654)})
    assert db.c.find_one()["t"] == datetime.datetime(2021, 5, 6, 7, 8, 9, 987000)
    # and queries see the stored (truncated) value
    assert db.c.count_documents({"t": datetime.datetime(2021, 5, 6, 7, 8, 9, 987000)}) == 1


def test_aware_datetimes_are_stored_as_utc(db):
    tz = datetime.timezone(datetime.timedelta(hours=2))
    db.c.insert_one({"_id": 1, "t": datetime.datetime(2021, 1, 1, 12, 0, tzinfo=tz)})
    assert db.c.find_one()["t"] == datetime.datetime(2021, 1, 1, 10, 0)


def test_tuples_are_stored_as_arrays_and_stored_docs_are_copies(db):
    doc = {"_id": 1, "t": (1, 2), "sub": {"x": [1]}}
    db.c.insert_one(doc)
    doc["sub"]["x"].append(2)
    got = db.c.find_one()
    assert got == {"_id": 1, "t": [1, 2], "sub": {"x": [1]}}
    got["sub"]["x"].append(3)
    assert db.c.find_one()["sub"] == {"x": [1]}


def test_uuid_with_standard_representation(db):
    coll = db.get_collection("u", codec_options=CodecOptions(uuid_representation=4))
    u = uuid.UUID("12345678123456781234567812345678")
    coll.insert_one({"_id": 1, "u": u})
    assert coll.find_one({"u": u}) == {"_id": 1, "u": u}
    raw = db.u.find_one()
    assert isinstance(raw["u"], Binary) and raw["u"].subtype == 4


def test_numbers_keep_their_bson_types(db):
    db.c.insert_one({"_id": 1, "i": 1, "l": Int64(2), "d": 3.0, "big": 2 ** 40})
    doc = db.c.find_one()
    assert type(doc["i"]) is int and isinstance(doc["l"], Int64)
    assert type(doc["d"]) is float and isinstance(doc["big"], Int64)


def test_empty_field_name_and_dollar_fields_in_embedded_documents_allowed(db):
    # "Field Names": MongoDB 5.0+ accepts $-prefixed and dotted names in stored docs.
    db.c.insert_one({"_id": 1, "a": {"$b": 1, "c.d": 2}})
    assert db.c.find_one() == {"_id": 1, "a": {"$b": 1, "c.d": 2}}


# -- collation on writes ("Collation") -------------------------------------------------------

def test_update_and_delete_with_collation(db):
    db.c.insert_many([{"_id": 1, "name": "café"}, {"_id": 2, "name": "Cafe"},
                      {"_id": 3, "name": "cafe"}])
    r = db.c.update_many({"name": "cafe"}, {"$set": {"hit": True}},
                         collation={"locale": "fr", "strength": 1})
    assert (r.matched_count, r.modified_count) == (3, 3)
    r = db.c.delete_many({"name": "CAFE"}, collation={"locale": "en", "strength": 2})
    assert r.deleted_count == 2
    assert [d["_id"] for d in db.c.find()] == [1]


def test_invalid_collation_is_bad_value(db):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find({}, collation={"locale": "en", "strength": 9}))
    assert exc.value.code == 2


# -- "Dollar-Prefixed Field Names" (Field Names with Periods and Dollar Signs) -------------

def test_dollar_prefixed_fields_allowed_in_inserts(db):
    db.sales.insert_one({"$price": 50.00, "quantity": 30})
    assert db.sales.find_one({}, {"_id": 0}) == {"$price": 50.00, "quantity": 30}
    db.books.insert_one({"$id": "h1961-01",
                         "location": {"$db": "novels", "$ref": "2007042768", "$inc": True}})
    assert db.books.find_one({}, {"_id": 0}) == {
        "$id": "h1961-01", "location": {"$db": "novels", "$ref": "2007042768", "$inc": True}}


def test_dollar_prefixed_field_in_upsert_insert_but_not_in_update(db):
    update = {"$set": {"phone": 25.17, "$hotel": 320.10}}
    r = db.expenses.update_one({"date": "2021-07-07"}, update, upsert=True)
    assert r.upserted_id is not None
    assert db.expenses.find_one({}, {"_id": 0}) == {"date": "2021-07-07", "$hotel": 320.10,
                                                    "phone": 25.17}
    db.other.insert_one({"date": "2021-07-07", "phone": 1})
    with pytest.raises(WriteError) as exc:
        db.other.update_one({"date": "2021-07-07"}, update, upsert=True)
    assert exc.value.code == 52
    assert db.other.find_one({}, {"_id": 0}) == {"date": "2021-07-07", "phone": 1}


def test_dollar_prefixed_subfields_are_directly_accessible(db):
    db.housing.insert_one({"_id": "E123", "address": {"$number": 123, "$street": "Elm Road"},
                           "$rooms": {"br": 2, "bath": 1}})
    db.housing.update_one({"_id": "E123"}, {"$set": {"address.$street": "Elm Ave"}})
    assert db.housing.find_one()["address"] == {"$number": 123, "$street": "Elm Ave"}
    # top-level $-prefixed field: through $setField in a pipeline
    db.housing.update_one({"_id": "E123"}, [{"$replaceWith": {"$setField": {
        "field": {"$literal": "$rooms"}, "input": "$$ROOT", "value": {"br": 3, "bath": 1}}}}])
    assert db.housing.find_one() == {"_id": "E123", "address": {"$number": 123,
                                                                "$street": "Elm Ave"},
                                     "$rooms": {"br": 3, "bath": 1}}
    db.inventory.insert_one({"part": "AB305", "$bin": 200, "quantity": 100,
                             "pricing": {"sale": True, "$discount": 60}})
    doc = db.inventory.find_one_and_update({"pricing.$discount": {"$gte": 50}},
                                           {"$inc": {"pricing.$discount": 10}},
                                           projection={"_id": 0}, return_document=True)
    assert doc == {"part": "AB305", "$bin": 200, "quantity": 100,
                   "pricing": {"sale": True, "$discount": 70}}


def test_empty_top_level_timestamps_are_filled_on_insert(db):
    # "BSON Types": "Timestamps" -- an empty timestamp in a top-level field is
    # replaced by the current timestamp on insert, except in _id; nested ones stay.
    from bson import Timestamp
    db.c.insert_one({"_id": 1, "ts": Timestamp(0, 0), "n": {"ts": Timestamp(0, 0)}})
    db.c.insert_one({"_id": Timestamp(0, 0), "ts": Timestamp(0, 0)})
    first, second = db.c.find_one({"_id": 1}), db.c.find_one({"_id": Timestamp(0, 0)})
    assert isinstance(first["ts"], Timestamp) and first["ts"].time > 0
    assert first["n"] == {"ts": Timestamp(0, 0)}
    assert second["_id"] == Timestamp(0, 0) and second["ts"].time > 0
    # timestamps of one insert batch increase
    assert second["ts"] > first["ts"]


# -- "Write Concern": w: 0 requests no acknowledgment -----------------------------------------

def test_unacknowledged_writes_return_unacknowledged_results(db):
    from pymongo.errors import InvalidOperation
    from pymongo.write_concern import WriteConcern
    coll = db.c.with_options(write_concern=WriteConcern(w=0))
    r = coll.insert_one({"_id": 1, "s": "x"})
    assert (r.acknowledged, r.inserted_id) == (False, 1)
    r = coll.update_one({"_id": 1}, {"$set": {"a": 1}})
    assert r.acknowledged is False
    with pytest.raises(InvalidOperation):
        r.matched_count
    assert db.c.find_one() == {"_id": 1, "s": "x", "a": 1}


def test_unacknowledged_write_errors_are_not_reported(db):
    # "Write Concern": with w: 0 the server sends no acknowledgment, so no write error
    # reaches the application (only network errors can).
    import pymongo
    from pymongo.write_concern import WriteConcern
    db.c.insert_one({"_id": 1, "s": "x"})
    coll = db.c.with_options(write_concern=WriteConcern(w=0))
    assert coll.insert_one({"_id": 1}).acknowledged is False
    assert coll.update_one({"_id": 1}, {"$inc": {"s": 1}}).acknowledged is False
    assert coll.bulk_write([pymongo.InsertOne({"_id": 1}), pymongo.InsertOne({"_id": 3})],
                           ordered=False).acknowledged is False
    assert sorted(d["_id"] for d in db.c.find()) == [1, 3]
