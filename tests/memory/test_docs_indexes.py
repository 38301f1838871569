"""Fidelity audit: index pages of the MongoDB manual ("Unique Indexes",
"Sparse Indexes", "Partial Indexes", "Compound Indexes", "Multikey Indexes",
"Case-Insensitive Indexes", "db.collection.createIndex()", "dropIndex()",
"cursor.hint()") run end to end on MemoryClient (see docs/audit.md)."""

import datetime

import pytest
from bson import SON, Decimal128, Int64, MaxKey, MinKey, ObjectId, Timestamp
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError, OperationFailure

from dongo.backends.memory import MemoryClient


@pytest.fixture
def db():
    return MemoryClient()["test"]


def ids(cursor):
    return [d["_id"] for d in cursor]


# -- "db.collection.createIndex()" / "listIndexes" ----------------------------------------

def test_index_names_are_generated_from_keys(db):
    assert db.c.create_index("a") == "a_1"
    assert db.c.create_index([("a", ASCENDING), ("b", DESCENDING)]) == "a_1_b_-1"
    assert db.c.create_index([("x.y", 1)]) == "x.y_1"
    assert db.c.create_index([("h", "hashed")]) == "h_hashed"
    assert db.c.create_index("n", name="custom") == "custom"
    assert db.c.create_indexes([IndexModel([("p", 1)]), IndexModel([("q", -1)])]) == \
        ["p_1", "q_-1"]


def test_index_information_and_list_indexes(db):
    db.c.create_index("a", unique=True)
    db.c.create_index([("b", 1), ("c", -1)], sparse=True)
    info = db.c.index_information()
    assert info == {
        "_id_": {"v": 2, "key": [("_id", 1)]},
        "a_1": {"v": 2, "key": [("a", 1)], "unique": True},
        "b_1_c_-1": {"v": 2, "key": [("b", 1), ("c", -1)], "sparse": True},
    }
    listed = list(db.c.list_indexes())
    assert [ix["name"] for ix in listed] == ["_id_", "a_1", "b_1_c_-1"]
    assert listed[0] == {"v": 2, "key": SON([("_id", 1)]), "name": "_id_"}


def test_creating_same_index_twice_is_a_noop(db):
    assert db.c.create_index("a") == "a_1"
    assert db.c.create_index("a") == "a_1"
    assert len(db.c.index_information()) == 2


def test_same_keys_different_name_is_index_options_conflict(db):
    db.c.create_index("a")
    with pytest.raises(OperationFailure) as exc:
        db.c.create_index("a", name="other")
    assert exc.value.code == 85
    assert exc.value.details["codeName"] == "IndexOptionsConflict"


def test_same_name_different_keys_is_index_key_specs_conflict(db):
    db.c.create_index("a", name="ix")
    with pytest.raises(OperationFailure) as exc:
        db.c.create_index("b", name="ix")
    assert exc.value.code == 86
    assert exc.value.details["codeName"] == "IndexKeySpecsConflict"


def test_same_name_same_keys_different_options_is_index_key_specs_conflict(db):
    db.c.create_index("a")
    with pytest.raises(OperationFailure) as exc:
        db.c.create_index("a", unique=True)
    assert exc.value.code == 86


def test_drop_index(db):
    db.c.create_index("a")
    db.c.drop_index("a_1")
    assert list(db.c.index_information()) == ["_id_"]
    db.c.create_index([("b", -1)])
    db.c.drop_index([("b", -1)])
    assert list(db.c.index_information()) == ["_id_"]
    with pytest.raises(OperationFailure) as exc:
        db.c.drop_index("nope")
    assert exc.value.code == 27
    assert exc.value.details["errmsg"] == "index not found with name [nope]"
    with pytest.raises(OperationFailure) as exc:
        db.c.drop_index("_id_")
    assert exc.value.code == 72
    assert exc.value.details["errmsg"] == "cannot drop _id index"


def test_drop_indexes_keeps_id(db):
    db.c.create_index("a")
    db.c.create_index("b")
    db.c.drop_indexes()
    assert list(db.c.index_information()) == ["_id_"]


# -- "Unique Indexes" --------------------------------------------------------------------------

def test_unique_single_field(db):
    db.members.create_index("user_id", unique=True)
    db.members.insert_one({"_id": 1, "user_id": "abc123"})
    with pytest.raises(DuplicateKeyError) as exc:
        db.members.insert_one({"_id": 2, "user_id": "abc123"})
    assert exc.value.details["errmsg"] == (
        'E11000 duplicate key error collection: test.members index: user_id_1 dup key: '
        '{ user_id: "abc123" }')
    assert exc.value.details["keyPattern"] == {"user_id": 1}
    assert exc.value.details["keyValue"] == {"user_id": "abc123"}


def test_unique_compound(db):
    db.members.create_index([("groupNumber", 1), ("lastname", 1), ("firstname", 1)],
                            unique=True)
    db.members.insert_one({"groupNumber": 1, "lastname": "a", "firstname": "b"})
    db.members.insert_one({"groupNumber": 1, "lastname": "a", "firstname": "c"})
    with pytest.raises(DuplicateKeyError) as exc:
        db.members.insert_one({"groupNumber": 1, "lastname": "a", "firstname": "b"})
    assert exc.value.details["errmsg"].endswith(
        'index: groupNumber_1_lastname_1_firstname_1 dup key: '
        '{ groupNumber: 1, lastname: "a", firstname: "b" }')
    assert exc.value.details["keyPattern"] == {"groupNumber": 1, "lastname": 1, "firstname": 1}
    assert exc.value.details["keyValue"] == {"groupNumber": 1, "lastname": "a", "firstname": "b"}


def test_unique_constraint_across_separate_documents(db):
    # "Unique Indexes": "Unique Constraint Across Separate Documents"
    db.collection.create_index([("a.loc", 1), ("a.qty", 1)], unique=True)
    db.collection.insert_one({"_id": 1, "a": [{"loc": "A", "qty": 5}, {"qty": 10}]})
    db.collection.insert_many([{"_id": 2, "a": [{"loc": "A"}, {"qty": 5}]},
                               {"_id": 3, "a": [{"loc": "A", "qty": 10}]}])
    assert db.collection.count_documents({}) == 3
    with pytest.raises(DuplicateKeyError):
        db.collection.insert_one({"_id": 4, "a": [{"loc": "A", "qty": 5}]})


def test_unique_multikey_allows_repeats_within_one_document(db):
    # "Unique Indexes": the constraint does not prevent one document from having
    # repeated values in an array.
    db.c.create_index("a.loc", unique=True)
    db.c.insert_one({"_id": 1, "a": [{"loc": "A"}, {"loc": "A"}]})
    assert db.c.count_documents({}) == 1
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"_id": 2, "a": [{"loc": "B"}, {"loc": "A"}]})


def test_unique_index_missing_field_is_null(db):
    # "Unique Indexes": "Missing Document Field in a Unique Single-Field Index"
    db.c.create_index("x", unique=True)
    db.c.insert_one({"y": 1})
    with pytest.raises(DuplicateKeyError) as exc:
        db.c.insert_one({"y": 2})
    assert exc.value.details["errmsg"].endswith("index: x_1 dup key: { x: null }")
    assert exc.value.details["keyValue"] == {"x": None}
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"x": None})


def test_unique_index_build_fails_on_existing_duplicates(db):
    db.c.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "a": 1}])
    with pytest.raises(DuplicateKeyError) as exc:
        db.c.create_index("a", unique=True)
    assert exc.value.code == 11000
    assert list(db.c.index_information()) == ["_id_"]


def test_unique_numbers_of_different_types_collide(db):
    db.c.create_index("a", unique=True)
    db.c.insert_one({"a": 1})
    for other in (1.0, Int64(1), Decimal128("1.0")):
        with pytest.raises(DuplicateKeyError):
            db.c.insert_one({"a": other})


def test_unique_sparse_allows_many_missing(db):
    # "Sparse Indexes": "Sparse Index with Unique Constraint"
    db.scores.insert_many([{"_id": 1, "userid": "newbie"},
                           {"_id": 2, "userid": "abby", "score": 82},
                           {"_id": 3, "userid": "nina", "score": 90}])
    db.scores.create_index("score", sparse=True, unique=True)
    db.scores.insert_many([{"userid": "newbie", "score": 43},
                           {"userid": "abby", "score": 34},
                           {"userid": "nina"}])
    with pytest.raises(DuplicateKeyError):
        db.scores.insert_one({"userid": "nina", "score": 82})
    with pytest.raises(DuplicateKeyError):
        db.scores.insert_one({"userid": "nina", "score": 90})


def test_unique_index_with_case_insensitive_collation(db):
    db.c.create_index("name", unique=True, collation={"locale": "en", "strength": 2})
    db.c.insert_one({"name": "Alice"})
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"name": "alice"})


def test_unique_violation_on_update_many_stops_and_reports(db):
    db.c.create_index("a", unique=True)
    db.c.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "a": 2}])
    with pytest.raises(DuplicateKeyError):
        db.c.update_many({}, {"$set": {"a": 5}})
    assert sorted(d["a"] for d in db.c.find()) == [2, 5]


# -- "Sparse Indexes" ---------------------------------------------------------------------------

@pytest.fixture
def sparse_scores(db):
    db.scores.insert_many([{"_id": 1, "userid": "newbie"},
                           {"_id": 2, "userid": "abby", "score": 82},
                           {"_id": 3, "userid": "nina", "score": 90}])
    db.scores.create_index("score", sparse=True)
    return db.scores


def test_sparse_index_on_query(sparse_scores):
    assert [d["userid"] for d in sparse_scores.find({"score": {"$lt": 90}})] == ["abby"]


def test_sparse_index_not_used_for_full_sort(sparse_scores):
    assert [d["userid"] for d in sparse_scores.find().sort("score", -1)] == [
        "nina", "abby", "newbie"]


def test_sparse_index_hint_returns_only_indexed_documents(sparse_scores):
    assert [d["userid"] for d in sparse_scores.find().sort("score", -1).hint({"score": 1})] \
        == ["nina", "abby"]
    assert sparse_scores.count_documents({}, hint="score_1") == 2


def test_sparse_compound_index_indexes_documents_with_any_key(db):
    db.c.create_index([("a", 1), ("b", 1)], sparse=True)
    db.c.insert_many([{"_id": 1, "a": 1}, {"_id": 2, "b": 1}, {"_id": 3, "c": 1}])
    # index order: (null, 1) sorts before (1, null)
    assert ids(db.c.find().hint("a_1_b_1")) == [2, 1]


# -- "Partial Indexes" --------------------------------------------------------------------------

def test_partial_unique_index(db):
    # "Partial Indexes": "Partial Index with Unique Constraint"
    db.users.insert_many([{"username": "david", "age": 29},
                          {"username": "amanda", "age": 35},
                          {"username": "rajiv", "age": 57}])
    db.users.create_index("username", unique=True,
                          partialFilterExpression={"age": {"$gte": 21}})
    with pytest.raises(DuplicateKeyError):
        db.users.insert_one({"username": "david", "age": 27})
    with pytest.raises(DuplicateKeyError):
        db.users.insert_one({"username": "amanda", "age": 25})
    with pytest.raises(DuplicateKeyError):
        db.users.insert_one({"username": "rajiv", "age": 32})
    db.users.insert_many([{"username": "david", "age": 20},
                          {"username": "amanda"},
                          {"username": "rajiv", "age": None}])
    assert db.users.count_documents({}) == 6


def test_partial_index_query_results_are_complete(db):
    # "Partial Indexes": a query outside the filter expression must not use the
    # index, and still returns every match.
    db.restaurants.insert_many([
        {"_id": 1, "cuisine": "Italian", "rating": {"grade": "A", "score": 11}},
        {"_id": 2, "cuisine": "Italian", "rating": {"grade": "B", "score": 4}},
        {"_id": 3, "cuisine": "Thai", "rating": {"grade": "A", "score": 6}},
    ])
    db.restaurants.create_index([("cuisine", 1)],
                                partialFilterExpression={"rating.score": {"$gt": 5}})
    assert ids(db.restaurants.find({"cuisine": "Italian", "rating.score": {"$gt": 8}})) == [1]
    assert ids(db.restaurants.find({"cuisine": "Italian"})) == [1, 2]
    assert ids(db.restaurants.find({"cuisine": "Italian", "rating.score": {"$lt": 8}})) == [2]


def test_partial_and_sparse_together_is_an_error(db):
    with pytest.raises(OperationFailure) as exc:
        db.c.create_index("a", sparse=True, partialFilterExpression={"a": {"$exists": True}})
    assert exc.value.code == 67


def test_partial_filter_with_unsupported_operator_is_an_error(db):
    # "Partial Indexes": the filter supports equality, $exists: true, $gt/$gte/$lt/$lte,
    # $type, $and/$or/$in (7.0) only.
    with pytest.raises(OperationFailure) as exc:
        db.c.create_index("a", partialFilterExpression={"a": {"$ne": 1}})
    assert exc.value.code == 67


# -- "Multikey Indexes" / "Compound Indexes" -------------------------------------------------

def test_compound_multikey_on_two_arrays_is_rejected(db):
    # "Multikey Indexes": "Compound Multikey Indexes" -- at most one indexed field
    # per document may be an array.
    db.c.create_index([("a", 1), ("b", 1)])
    db.c.insert_one({"_id": 1, "a": [1, 2], "b": 1})
    db.c.insert_one({"_id": 2, "a": 1, "b": [1, 2]})
    with pytest.raises(OperationFailure) as exc:
        db.c.insert_one({"_id": 3, "a": [1, 2], "b": [1, 2]})
    assert exc.value.code == 171
    assert db.c.count_documents({}) == 2


def test_queries_through_multikey_indexes_match_collection_scan(db):
    docs = [{"_id": 1, "a": [1, 5]}, {"_id": 2, "a": [6]}, {"_id": 3, "a": 3},
            {"_id": 4, "a": [[2]]}, {"_id": 5}, {"_id": 6, "a": None}, {"_id": 7, "a": []}]
    db.scan.insert_many(docs)
    db.ix.insert_many(docs)
    db.ix.create_index("a")
    queries = [{"a": {"$gt": 2, "$lt": 6}}, {"a": {"$elemMatch": {"$gt": 2, "$lt": 6}}},
               {"a": None}, {"a": []}, {"a": [2]}, {"a": {"$in": [1, 3]}},
               {"a": {"$exists": False}}, {"a": {"$ne": 5}}, {"a": {"$size": 1}},
               {"a": {"$gte": [2]}}]
    for q in queries:
        # (an index scan returns documents in index order: compare as sets)
        assert sorted(ids(db.ix.find(q))) == ids(db.scan.find(q)), q
        assert sorted(ids(db.ix.find(q).hint("a_1"))) == ids(db.scan.find(q)), q


def test_compound_index_sort_directions(db):
    db.c.create_index([("a", 1), ("b", -1)])
    db.c.insert_many([{"_id": i, "a": a, "b": b} for i, (a, b) in
                      enumerate([(1, 1), (1, 2), (2, 1), (2, 2)])])
    assert ids(db.c.find().sort([("a", 1), ("b", -1)])) == [1, 0, 3, 2]
    assert ids(db.c.find().sort([("a", -1), ("b", 1)])) == [2, 3, 0, 1]
    assert ids(db.c.find().sort([("a", 1), ("b", 1)]).hint("a_1_b_-1")) == [0, 1, 2, 3]


# -- "cursor.hint()" -----------------------------------------------------------------------------

def test_hint_unknown_index_is_bad_value(db):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find({"a": 1}).hint("nope_1"))
    assert exc.value.code == 2


def test_hint_natural(db):
    db.c.insert_many([{"_id": 3}, {"_id": 1}, {"_id": 2}])
    assert ids(db.c.find().hint([("$natural", 1)])) == [3, 1, 2]
    assert ids(db.c.find().hint([("$natural", -1)])) == [2, 1, 3]


# -- "Create an Index on Embedded field" / dotted keys ------------------------------------------

def test_index_on_embedded_document_equality(db):
    db.records.create_index("location")
    db.records.insert_many([
        {"_id": 1, "location": {"city": "New York", "state": "NY"}},
        {"_id": 2, "location": {"state": "NY", "city": "New York"}},
    ])
    assert ids(db.records.find({"location": {"city": "New York", "state": "NY"}})) == [1]
    db.records.create_index("location.state")
    assert ids(db.records.find({"location.state": "NY"})) == [1, 2]


def test_explain_reports_index_use(db):
    db.c.create_index("a")
    db.c.insert_many([{"a": i} for i in range(5)])
    plan = db.c.find({"a": 3}).explain()
    text = repr(plan)
    assert "IXSCAN" in text and "a_1" in text
    assert "COLLSCAN" in repr(db.c.find({"b": 3}).explain())


# -- NaN handling (server fact: jstests/core/nan.js) ---------------------------------------

def _nan_collection(db, indexed):
    nan = float("nan")
    db.nan.insert_many([
        {"_id": 0, "a": float("-inf")}, {"_id": 1, "a": -3}, {"_id": 2, "a": 0},
        {"_id": 3, "a": 3}, {"_id": 4, "a": float("inf")}, {"_id": 5, "a": nan},
        {"_id": 6, "a": -nan}, {"_id": 8, "a": None}, {"_id": 9, "a": []},
        {"_id": 10, "a": {"b": 1}}, {"_id": 11, "a": {"b": 1}},
    ])
    if indexed:
        db.nan.create_index("a")
    return db.nan


NAN_CASES = [("$eq", [5, 6]), ("$lt", []), ("$lte", [5, 6]), ("$gt", []), ("$gte", [5, 6])]


def test_decimal_nan_lte_through_index(db):
    coll = _nan_collection(db, indexed=True)
    assert ids(coll.find({"a": {"$lte": Decimal128("NaN")}}).sort("_id", 1)) == [5, 6]


@pytest.mark.parametrize("op, expected", NAN_CASES)
def test_nan_comparisons_unindexed(db, op, expected):
    coll = _nan_collection(db, indexed=False)
    assert ids(coll.find({"a": {op: float("nan")}}).sort("_id", 1)) == expected


@pytest.mark.parametrize("op, expected", NAN_CASES)
def test_nan_comparisons_indexed(db, op, expected):
    coll = _nan_collection(db, indexed=True)
    assert ids(coll.find({"a": {op: float("nan")}}).sort("_id", 1)) == expected


# -- an index never changes a query's result (except a hinted sparse/partial index) --------

_VALUES = [None, 0, 1, 1.0, 2.5, -1, "a", "B", "ab", "", [], [1], [1, 2], [[1]], [None],
           {"x": 1}, {}, True, False, [{"b": 1}, {"b": 2}], {"b": [1, 3]}, {"b": None}]


def test_index_scans_agree_with_collection_scans(db):
    values = _VALUES + [Int64(3), Decimal128("4"), datetime.datetime(2020, 1, 1),
                        ObjectId("000000000000000000000001"), MinKey(), MaxKey(),
                        Timestamp(1, 1), float("inf")]
    docs = [{"_id": i, "a": v} for i, v in enumerate(values)] + [{"_id": 1000}]
    docs += [{"_id": 2000 + i, "a": a, "b": b} for i, (a, b) in enumerate(
        [(1, 2), (1, [3]), ("a", None), ([1, 2], 2), (None, [3]), ([1, 2], None)])]
    db.scan.insert_many(docs)
    db.ix.insert_many(docs)
    for keys in ("a", [("a", 1), ("b", -1)], "a.b"):
        db.ix.create_index(keys)
    queries = [{"a": {"$exists": True}}, {"a": {"$exists": False}}, {"a": {"$type": "number"}},
               {"a": {"$elemMatch": {"$gt": 0}}}, {"a": {"$elemMatch": {"b": 1}}},
               {"a.b": 1}, {"a.b": None}, {"a.b": {"$gt": 1}}, {"a.0": 1},
               {"a": {"$all": [1, 2]}}, {"a": {"$size": 1}}, {"a": {"$not": {"$gt": 1}}},
               {"a": {"$regex": "^a"}}, {"a": {"$regex": "b", "$options": "i"}},
               {"a": 1, "b": 2}, {"a": {"$in": [1, "a"]}, "b": {"$gt": 1}},
               {"$or": [{"a": 1}, {"b": 2}]}, {"a": {"$gt": 0, "$lt": 3}},
               {"a": {"$gte": MinKey()}}, {"a": {"$lte": MaxKey()}}, {"a": {"$in": []}}]
    for v in values:
        queries += [{"a": v}, {"a": {"$ne": v}}, {"a": {"$in": [v, 1]}}, {"a": {"$nin": [v]}},
                    {"a": {"$gt": v}}, {"a": {"$gte": v}}, {"a": {"$lt": v}}, {"a": {"$lte": v}}]
    for q in queries:
        expected = sorted(ids(db.scan.find(q)))
        for hint in (None, "a_1", "a_1_b_-1", "a.b_1"):
            cursor = db.ix.find(q) if hint is None else db.ix.find(q).hint(hint)
            assert sorted(ids(cursor)) == expected, (q, hint)
        coll = {"locale": "en", "strength": 2}
        assert sorted(ids(db.ix.find(q, collation=coll))) == \
            sorted(ids(db.scan.find(q, collation=coll))), (q, "collation")


# -- "Hidden Indexes" / "TTL Indexes" / "Collation" on indexes ----------------------------

def test_hidden_index_is_listed_not_planned_but_still_unique(db):
    db.c.insert_many([{"a": 1}, {"a": 2}])
    db.c.create_index("a", hidden=True, unique=True)
    assert db.c.index_information()["a_1"] == {"v": 2, "key": [("a", 1)], "hidden": True,
                                               "unique": True}
    assert "COLLSCAN" in repr(db.c.find({"a": 1}).explain()["queryPlanner"]["winningPlan"])
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find({"a": 1}).hint("a_1"))
    assert exc.value.code == 2
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"a": 1})


def test_ttl_index_options(db):
    assert db.c.create_index("lastModifiedDate", expireAfterSeconds=3600) == \
        "lastModifiedDate_1"
    assert db.c.index_information()["lastModifiedDate_1"] == {
        "v": 2, "key": [("lastModifiedDate", 1)], "expireAfterSeconds": 3600}
    # "TTL Indexes": compound indexes do not support TTL
    with pytest.raises(OperationFailure) as exc:
        db.c.create_index([("a", 1), ("b", 1)], expireAfterSeconds=3600)
    assert exc.value.code == 67


def test_index_with_collation_lists_full_collation_spec(db):
    db.c.create_index("k", collation={"locale": "fr"})
    info = db.c.index_information()["k_1"]
    assert info["collation"]["locale"] == "fr" and info["collation"]["strength"] == 3


@pytest.mark.parametrize("keys, kwargs", [
    ([("x", "up")], {}),       # unknown index plugin
    ("y", {"name": ""}),       # empty name
])
def test_invalid_index_specs_are_cannot_create_index(db, keys, kwargs):
    with pytest.raises(OperationFailure) as exc:
        db.c.create_index(keys, **kwargs)
    assert exc.value.code == 67


# -- duplicate-key messages render keys like the server (BSONElement::toString) -------------

@pytest.mark.parametrize("value, shown", [
    ("it\"s", '"it"s"'), (2.0, "2.0"), (-0.0, "-0.0"), (0.1, "0.1"), (True, "true"),
    (None, "null"), ("", '""'), ({}, "{}"), ({"q": [1, "s"]}, '{ q: [ 1, "s" ] }'),
    (ObjectId("5ab9cbfa31c2ab715d42129e"), "ObjectId('5ab9cbfa31c2ab715d42129e')"),
    (MinKey(), "MinKey"),
    (Timestamp(1, 2), "Timestamp(1, 2)"),
])
def test_duplicate_key_value_rendering(db, value, shown):
    db.c.create_index("v", unique=True)
    db.c.insert_one({"v": value})
    with pytest.raises(DuplicateKeyError) as exc:
        db.c.insert_one({"v": value})
    assert exc.value.details["errmsg"] == (
        f"E11000 duplicate key error collection: test.c index: v_1 dup key: {{ v: {shown} }}")


def test_empty_array_and_null_are_different_index_keys(db):
    # An empty array is indexed as `undefined`, not null: both fit a unique index.
    db.c.create_index("v", unique=True)
    db.c.insert_many([{"_id": 1, "v": None}, {"_id": 2, "v": []}, {"_id": 3, "v": [[]]}])
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"_id": 4})
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"_id": 5, "v": [None]})


def test_duplicate_empty_array_key_renders_undefined(db):
    db.c.create_index("v", unique=True)
    db.c.insert_one({"v": []})
    with pytest.raises(DuplicateKeyError) as exc:
        db.c.insert_one({"v": []})
    assert exc.value.details["errmsg"].endswith("dup key: { v: undefined }")
