"""Fidelity audit: "Comparison/Sort Order", "cursor.sort()", "$sort
(aggregation)" and "Collation" pages of the MongoDB manual, run end to end on
MemoryClient (see docs/audit.md)."""

import datetime

import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from pymongo.errors import OperationFailure

from dongo.backends.memory import MemoryClient


@pytest.fixture
def db():
    return MemoryClient()["test"]


def ids(cursor):
    return [d["_id"] for d in cursor]


# One value of each BSON type, in the documented ascending order:
# MinKey, Null, Numbers, Symbol/String, Object, Array, BinData, ObjectId,
# Boolean, Date, Timestamp, Regular Expression, JavaScript Code, MaxKey.
TYPED = [
    ("minkey", MinKey()),
    ("null", None),
    ("number", 1),
    ("string", "a"),
    ("object", {"x": 1}),
    ("array", [[]]),  # an array whose only element is an array sorts as Array
    ("bindata", Binary(b"\x00")),
    ("objectid", ObjectId("000000000000000000000001")),
    ("bool", False),
    ("date", datetime.datetime(2000, 1, 1)),
    ("timestamp", Timestamp(1, 1)),
    ("regex", Regex("a")),
    ("code", Code("x")),
    ("maxkey", MaxKey()),
]


def test_sort_ascending_follows_bson_type_order(db):
    db.c.insert_many([{"_id": name, "v": value} for name, value in reversed(TYPED)])
    assert ids(db.c.find().sort("v", 1)) == [name for name, _ in TYPED]


def test_sort_descending_follows_reverse_bson_type_order(db):
    db.c.insert_many([{"_id": name, "v": value} for name, value in TYPED])
    assert ids(db.c.find().sort("v", -1)) == [name for name, _ in reversed(TYPED)]


def test_aggregate_sort_follows_bson_type_order(db):
    db.c.insert_many([{"_id": name, "v": value} for name, value in reversed(TYPED)])
    assert ids(db.c.aggregate([{"$sort": {"v": 1}}])) == [name for name, _ in TYPED]


def test_numbers_compare_by_value_across_types(db):
    db.c.insert_many([{"_id": "dec", "v": Decimal128("3")}, {"_id": "dbl", "v": 2.5},
                      {"_id": "long", "v": Int64(2)}, {"_id": "int", "v": 1},
                      {"_id": "neg", "v": Decimal128("-0.5")}])
    assert ids(db.c.find().sort("v", 1)) == ["neg", "int", "long", "dbl", "dec"]
    assert ids(db.c.find({"v": {"$gt": 1, "$lt": 3}})) == ["dbl", "long"]


def test_strings_use_simple_binary_comparison(db):
    db.c.insert_many([{"_id": i, "v": v} for i, v in enumerate(["b", "a", "B", "ä", "A", "aa"])])
    assert [d["v"] for d in db.c.find().sort("v", 1)] == ["A", "B", "a", "aa", "b", "ä"]


def test_missing_sorts_with_null_and_empty_array_before_both(db):
    # "Comparison/Sort Order": "Non-existent Fields" sort as null; "Arrays": an
    # empty array is less than null or a missing field.
    db.c.insert_many([{"_id": 1, "a": 1}, {"_id": 2}, {"_id": 3, "a": None},
                      {"_id": 4, "a": []}, {"_id": 5, "a": MinKey()}])
    assert ids(db.c.find().sort([("a", 1), ("_id", 1)])) == [5, 4, 2, 3, 1]
    assert ids(db.c.find().sort([("a", -1), ("_id", 1)])) == [1, 2, 3, 4, 5]


def test_arrays_sort_by_min_ascending_and_max_descending(db):
    # "Comparison/Sort Order": "Arrays" -- ascending compares the smallest
    # element, descending the largest.
    db.c.insert_many([{"_id": 1, "a": [1, 10]}, {"_id": 2, "a": [5]}, {"_id": 3, "a": 7},
                      {"_id": 4, "a": [3, 4]}])
    assert ids(db.c.find().sort("a", 1)) == [1, 4, 2, 3]
    assert ids(db.c.find().sort("a", -1)) == [1, 3, 2, 4]


def test_sort_on_dotted_path_through_array_of_documents(db):
    db.c.insert_many([{"_id": 1, "a": [{"b": 3}, {"b": 1}]}, {"_id": 2, "a": [{"b": 2}]},
                      {"_id": 3, "a": {"b": 0}}])
    assert ids(db.c.find().sort("a.b", 1)) == [3, 1, 2]
    assert ids(db.c.find().sort("a.b", -1)) == [1, 2, 3]


def test_objects_compare_field_by_field(db):
    # "Comparison/Sort Order": "Objects" -- pairs in order; type, then name, then value;
    # a document that is a prefix of another is smaller.
    db.c.insert_many([
        {"_id": "x1y0", "v": {"x": 1, "y": 0}},
        {"_id": "x1", "v": {"x": 1}},
        {"_id": "y0", "v": {"y": 0}},
        {"_id": "xa", "v": {"x": "a"}},
        {"_id": "empty", "v": {}},
        {"_id": "x2", "v": {"x": 2}},
    ])
    assert ids(db.c.find().sort("v", 1)) == ["empty", "x1", "x1y0", "x2", "y0", "xa"]


def test_bindata_sorts_by_length_then_subtype_then_bytes(db):
    db.c.insert_many([
        {"_id": "long", "v": Binary(b"\x00\x00", 0)},
        {"_id": "short_ff", "v": Binary(b"\xff", 0)},
        {"_id": "short_sub5", "v": Binary(b"\x00", 5)},
        {"_id": "short_00", "v": Binary(b"\x00", 0)},
    ])
    assert ids(db.c.find().sort("v", 1)) == ["short_00", "short_ff", "short_sub5", "long"]


def test_booleans_dates_timestamps_objectids(db):
    db.c.insert_many([
        {"_id": 1, "v": True}, {"_id": 2, "v": False},
        {"_id": 3, "v": datetime.datetime(2020, 1, 1)}, {"_id": 4, "v": datetime.datetime(1960, 1, 1)},
        {"_id": 5, "v": Timestamp(5, 1)}, {"_id": 6, "v": Timestamp(4, 9)},
        {"_id": 7, "v": ObjectId("ffffffffffffffffffffffff")},
        {"_id": 8, "v": ObjectId("000000000000000000000000")},
    ])
    assert ids(db.c.find().sort("v", 1)) == [8, 7, 2, 1, 4, 3, 6, 5]


def test_sort_is_consistent_with_id_tie_breaker(db):
    # "cursor.sort()": "Sort Consistency" -- include _id to get a consistent order.
    db.restaurants.insert_many([
        {"_id": 1, "name": "Central Park Cafe", "borough": "Manhattan"},
        {"_id": 2, "name": "Rock A Feller Bar and Grill", "borough": "Queens"},
        {"_id": 3, "name": "Empire State Pub", "borough": "Brooklyn"},
        {"_id": 4, "name": "Stan's Pizzaria", "borough": "Manhattan"},
        {"_id": 5, "name": "Jane's Deli", "borough": "Brooklyn"},
    ])
    assert ids(db.restaurants.find().sort([("borough", 1), ("_id", 1)])) == [3, 5, 1, 4, 2]
    assert ids(db.restaurants.aggregate([{"$sort": {"borough": -1, "_id": -1}}])) == \
        [2, 4, 1, 5, 3]


def test_sort_by_text_score_without_text_query_is_an_error_or_unsupported(db):
    db.c.insert_one({"a": 1})
    with pytest.raises((OperationFailure, NotImplementedError)):
        list(db.c.find().sort([("score", {"$meta": "textScore"})]))


def test_bad_sort_direction(db):
    db.c.insert_one({"a": 1})
    with pytest.raises((OperationFailure, ValueError, TypeError)) as exc:
        list(db.c.aggregate([{"$sort": {"a": 2}}]))
    if isinstance(exc.value, OperationFailure):
        assert exc.value.code == 15975


def test_sort_stage_empty_spec_is_an_error(db):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.aggregate([{"$sort": {}}]))
    assert exc.value.code == 15976


# -- "Collation" ------------------------------------------------------------------------------

@pytest.fixture
def cafes(db):
    db.myColl.insert_many([{"_id": 1, "category": "café", "status": "A"},
                           {"_id": 2, "category": "cafe", "status": "a"},
                           {"_id": 3, "category": "cafE", "status": "a"}])
    return db.myColl


def test_collation_strength_1_ignores_case_and_diacritics(cafes):
    assert ids(cafes.find({"category": "cafe"}).collation({"locale": "fr", "strength": 1})) \
        == [1, 2, 3]
    assert cafes.count_documents({"category": "cafe"},
                                 collation={"locale": "fr", "strength": 1}) == 3


def test_collation_strength_2_ignores_case_only(cafes):
    assert ids(cafes.find({"category": "cafe"}).collation({"locale": "fr", "strength": 2})) \
        == [2, 3]


def test_simple_collation_is_binary(cafes):
    assert ids(cafes.find({"category": "cafe"})) == [2]
    assert ids(cafes.find({"category": "cafe"}).collation({"locale": "simple"})) == [2]


def test_case_insensitive_query_with_strength_2(db):
    # "Case-Insensitive Indexes" example data
    db.fruit.insert_many([{"_id": 1, "type": "apple"}, {"_id": 2, "type": "Apple"},
                          {"_id": 3, "type": "APPLE"}])
    db.fruit.create_index("type", collation={"locale": "en", "strength": 2})
    assert ids(db.fruit.find({"type": "apple"})) == [1]
    assert ids(db.fruit.find({"type": "apple"}).collation({"locale": "en", "strength": 2})) \
        == [1, 2, 3]
    assert ids(db.fruit.find({"type": {"$in": ["APPLE"]}}).collation(
        {"locale": "en", "strength": 2})) == [1, 2, 3]


def test_collation_range_and_sort(db):
    db.c.insert_many([{"_id": i, "v": v} for i, v in enumerate(["b", "a", "B", "c", "A"])])
    coll = {"locale": "en", "strength": 2}
    assert [d["v"] for d in db.c.find({"v": {"$gt": "a", "$lte": "b"}}).collation(coll)] == \
        ["b", "B"]
    got = [d["v"] for d in db.c.find().sort([("v", 1), ("_id", 1)]).collation(coll)]
    assert got == ["a", "A", "b", "B", "c"]
    got = [d["v"] for d in db.c.find().sort([("v", 1), ("_id", 1)]).collation(
        {"locale": "en"})]
    assert got == ["a", "A", "b", "B", "c"]


def test_collation_numeric_ordering(db):
    db.c.insert_many([{"_id": i, "v": v} for i, v in enumerate(["10", "2", "1"])])
    assert [d["v"] for d in db.c.find().sort("v", 1).collation(
        {"locale": "en", "numericOrdering": True})] == ["1", "2", "10"]
    assert [d["v"] for d in db.c.find().sort("v", 1)] == ["1", "10", "2"]


def test_collation_case_first_upper(db):
    db.c.insert_many([{"_id": i, "v": v} for i, v in enumerate(["a", "A", "b", "B"])])
    assert [d["v"] for d in db.c.find().sort("v", 1).collation(
        {"locale": "en", "caseFirst": "upper"})] == ["A", "a", "B", "b"]


def test_collation_in_aggregate_group_and_match(db):
    db.c.insert_many([{"_id": 1, "k": "x"}, {"_id": 2, "k": "X"}, {"_id": 3, "k": "y"}])
    got = list(db.c.aggregate([{"$match": {"k": "x"}}, {"$count": "n"}],
                              collation={"locale": "en", "strength": 2}))
    assert got == [{"n": 2}]
    got = list(db.c.aggregate([{"$group": {"_id": "$k", "n": {"$sum": 1}}},
                               {"$sort": {"n": -1}}],
                              collation={"locale": "en", "strength": 1}))
    assert [g["n"] for g in got] == [2, 1]
    got = list(db.c.aggregate([{"$addFields": {"eq": {"$eq": ["$k", "x"]}}}],
                              collation={"locale": "en", "strength": 2}))
    assert [g["eq"] for g in got] == [True, True, False]


# Expressions compare strings with the operation's collation: facts from the
# server's jstests/aggregation/expressions/collation_expressions.js.
CASE_INSENSITIVE = {"locale": "en_US", "strength": 2}
NUMERIC_ORDERING = {"locale": "en_US", "numericOrdering": True}
COLLATION_EXPRESSIONS = [
    ({"$cmp": ["a", "A"]}, 0, CASE_INSENSITIVE),
    ({"$eq": ["a", "A"]}, True, CASE_INSENSITIVE),
    ({"$eq": ["$str", "a"]}, True, CASE_INSENSITIVE),
    ({"$ne": ["a", "A"]}, False, CASE_INSENSITIVE),
    ({"$lt": ["2", "10"]}, True, NUMERIC_ORDERING),
    ({"$lte": ["b", "B"]}, True, CASE_INSENSITIVE),
    ({"$gt": ["2", "10"]}, False, NUMERIC_ORDERING),
    ({"$gte": ["b", "B"]}, True, CASE_INSENSITIVE),
    ({"$in": ["A", [1, 2, "a", 3, 4]]}, True, CASE_INSENSITIVE),
    ({"$indexOfArray": [[1, 2, "a", "b", "c", "B"], "B"]}, 3, CASE_INSENSITIVE),
    ({"$indexOfBytes": ["12abcB", "B"]}, 5, CASE_INSENSITIVE),
    ({"$indexOfCP": ["12abcB", "B"]}, 5, CASE_INSENSITIVE),
    ({"$strcasecmp": ["100", "2"]}, -1, NUMERIC_ORDERING),
    ({"$setEquals": [["a", "B"], ["b", "A"]]}, True, CASE_INSENSITIVE),
    ({"$setDifference": [["a", "B"], ["b", "A"]]}, [], CASE_INSENSITIVE),
    ({"$setIsSubset": [["a", "B"], ["b", "A", "c"]]}, True, CASE_INSENSITIVE),
    ({"$split": ["abc", "B"]}, ["abc"], CASE_INSENSITIVE),
    ({"$filter": {"input": ["a", "b", "A", "c", "C", "d"], "as": "s",
                  "cond": {"$or": [{"$eq": ["$$s", "a"]}, {"$eq": ["$$s", "c"]}]}}},
     ["a", "A", "c", "C"], CASE_INSENSITIVE),
]


@pytest.mark.parametrize("expression, expected, collation", COLLATION_EXPRESSIONS)
def test_collation_applies_to_expressions_in_add_fields(db, expression, expected, collation):
    db.c.insert_one({"_id": 1, "str": "A"})
    got = list(db.c.aggregate([{"$addFields": {"out": expression}}], collation=collation))
    assert got[0]["out"] == expected


def test_collation_applies_to_expressions_in_project(db):
    db.c.insert_one({"_id": 1, "str": "A"})
    for expression, expected, collation in COLLATION_EXPRESSIONS:
        got = list(db.c.aggregate([{"$project": {"out": expression}}], collation=collation))
        assert got[0]["out"] == expected, expression


def test_collation_applies_to_pipeline_update_expressions(db):
    db.c.insert_one({"_id": 1, "str": "A"})
    db.c.update_one({}, [{"$set": {"eq": {"$eq": ["$str", "a"]}}}], collation=CASE_INSENSITIVE)
    assert db.c.find_one()["eq"] is True


def test_collation_applies_to_expr_in_match(db):
    db.c.insert_one({"_id": 1, "str": "A"})
    expr = {"$expr": {"$eq": ["$str", "a"]}}
    assert list(db.c.aggregate([{"$match": expr}], collation=CASE_INSENSITIVE)) == [
        {"_id": 1, "str": "A"}]


def test_collation_applies_to_expr_in_find_and_writes(db):
    db.c.insert_one({"_id": 1, "str": "A"})
    expr = {"$expr": {"$eq": ["$str", "a"]}}
    assert list(db.c.find(expr, collation=CASE_INSENSITIVE)) == [{"_id": 1, "str": "A"}]
    assert db.c.count_documents(expr, collation=CASE_INSENSITIVE) == 1
    assert db.c.update_many(expr, {"$set": {"u": 1}},
                            collation=CASE_INSENSITIVE).matched_count == 1
    assert db.c.distinct("str", expr, collation=CASE_INSENSITIVE) == ["A"]
    assert db.c.find_one_and_update(expr, {"$set": {"f": 1}},
                                    collation=CASE_INSENSITIVE)["_id"] == 1
    assert db.c.delete_many(expr, collation=CASE_INSENSITIVE).deleted_count == 1


def test_collation_applies_to_find_projection_expressions(db):
    db.c.insert_one({"_id": 1, "str": "A"})
    assert list(db.c.find({}, {"o": {"$eq": ["$str", "a"]}}, collation=CASE_INSENSITIVE)) == [
        {"_id": 1, "o": True}]


def test_collation_does_not_affect_field_names_or_non_strings(db):
    db.c.insert_many([{"_id": 1, "A": 1}, {"_id": 2, "a": 1}])
    assert ids(db.c.find({"a": 1}).collation({"locale": "en", "strength": 1})) == [2]


# Stages that compare values use the aggregation's collation too.

def test_lookup_equality_uses_aggregate_collation(db):
    db.o.insert_many([{"_id": 1, "k": "a"}, {"_id": 2, "k": "B"}])
    db.f.insert_many([{"_id": 1, "k": "A"}, {"_id": 2, "k": "b"}])
    got = db.o.aggregate([{"$lookup": {"from": "f", "localField": "k", "foreignField": "k",
                                       "as": "m"}}], collation=CASE_INSENSITIVE)
    assert [[m["_id"] for m in d["m"]] for d in got] == [[1], [2]]
    got = db.o.aggregate([{"$lookup": {"from": "f", "pipeline": [{"$match": {"k": "a"}}],
                                       "as": "m"}}], collation=CASE_INSENSITIVE)
    assert [[m["_id"] for m in d["m"]] for d in got] == [[1], [1]]


def test_lookup_let_pipeline_expr_uses_aggregate_collation(db):
    db.o.insert_many([{"_id": 1, "k": "a"}, {"_id": 2, "k": "B"}])
    db.f.insert_many([{"_id": 1, "k": "A"}, {"_id": 2, "k": "b"}])
    got = db.o.aggregate([{"$lookup": {
        "from": "f", "let": {"k": "$k"},
        "pipeline": [{"$match": {"$expr": {"$eq": ["$k", "$$k"]}}}], "as": "m"}}],
        collation=CASE_INSENSITIVE)
    assert [[m["_id"] for m in d["m"]] for d in got] == [[1], [2]]


def test_graph_lookup_uses_aggregate_collation(db):
    # facts from the server's jstests/aggregation/sources/graphLookup/collation_graphlookup.js
    db.g.insert_many([{"username": "erica", "friends": ["jeremy", "jimmy"]},
                      {"username": "JEREMY"}, {"username": "JIMMY"}])
    stage = {"$graphLookup": {"from": "g", "startWith": "$friends",
                              "connectFromField": "friends", "connectToField": "username",
                              "as": "friendUsers"}}
    plain = list(db.g.aggregate([{"$match": {"username": "erica"}}, stage]))
    assert len(plain) == 1 and plain[0]["friendUsers"] == []
    res = list(db.g.aggregate([{"$match": {"username": "erica"}}, stage],
                              collation=CASE_INSENSITIVE))
    assert len(res) == 1 and len(res[0]["friendUsers"]) == 2


def test_bucket_uses_aggregate_collation(db):
    db.s.insert_many([{"_id": 1, "s": "B"}, {"_id": 2, "s": "a"}])
    got = list(db.s.aggregate([{"$bucket": {"groupBy": "$s", "boundaries": ["a", "c"]}}],
                              collation=CASE_INSENSITIVE))
    assert got == [{"_id": "a", "count": 2}]


def test_group_and_accumulators_use_aggregate_collation(db):
    db.s.insert_many([{"k": "b"}, {"k": "B"}, {"k": "C"}, {"k": "a"}])
    got = list(db.s.aggregate([{"$group": {"_id": None, "set": {"$addToSet": "$k"},
                                           "max": {"$max": "$k"}, "min": {"$min": "$k"}}}],
                              collation=CASE_INSENSITIVE))
    assert len(got[0]["set"]) == 3
    assert (got[0]["max"], got[0]["min"]) == ("C", "a")


@pytest.mark.parametrize("query, expected", [
    ({"a": {"$elemMatch": {"$eq": "x"}}}, [1]),
    ({"a": {"$all": ["x", "Y"]}}, [1]),
    ({"s": {"$nin": ["x"]}}, [2]),
    ({"s": {"$ne": "x"}}, [2]),
    ({"a": "x"}, [1]),
    ({"o": {"k": "x"}}, [1]),
    ({"o.k": {"$in": ["x"]}}, [1]),
    ({"a": ["x", "Y"]}, [1]),
    ({"s": {"$gte": "x"}}, [1, 2]),
    ({"$nor": [{"s": "x"}]}, [2]),
    ({"s": {"$not": {"$eq": "x"}}}, [2]),
    ({"s": {"$regex": "^x"}}, []),  # "Collation": $regex is not collation-aware
])
def test_collation_in_find_query_operators(db, query, expected):
    db.c.insert_many([{"_id": 1, "a": ["X", "y"], "s": "X", "o": {"k": "X"}},
                      {"_id": 2, "a": ["z"], "s": "Z", "o": {"k": "z"}}])
    assert ids(db.c.find(query, collation={"locale": "en", "strength": 2})) == expected


def test_collation_in_array_updates(db):
    ci = {"locale": "en", "strength": 2}
    db.c.insert_one({"_id": 1, "a": ["X", "y"], "s": "X"})
    db.c.update_one({"s": "x"}, {"$pull": {"a": "Y"}}, collation=ci)
    assert db.c.find_one()["a"] == ["X"]
    db.c.update_one({"s": "x"}, {"$addToSet": {"a": "x"}}, collation=ci)
    assert db.c.find_one()["a"] == ["X"]
    db.c.update_one({"s": "x"}, {"$set": {"a.$[e]": "q"}}, array_filters=[{"e": "x"}],
                    collation=ci)
    assert db.c.find_one()["a"] == ["q"]
    db.c.update_one({"a": "Q"}, {"$set": {"a.$": "w"}}, collation=ci)
    assert db.c.find_one()["a"] == ["w"]


# -- "Views": "Create and Query a View" -----------------------------------------------------

STUDENTS = [
    {"sID": 22001, "name": "Alex", "year": 1, "score": 4.0},
    {"sID": 21001, "name": "bernie", "year": 2, "score": 3.7},
    {"sID": 20010, "name": "Chris", "year": 3, "score": 2.5},
    {"sID": 22021, "name": "Drew", "year": 1, "score": 3.2},
    {"sID": 17301, "name": "harley", "year": 6, "score": 3.1},
    {"sID": 21022, "name": "Farmer", "year": 1, "score": 2.2},
    {"sID": 20020, "name": "george", "year": 3, "score": 2.8},
    {"sID": 18020, "name": "Harley", "year": 5, "score": 2.8},
]


def test_view_docs_example(db):
    db.students.insert_many([dict(d) for d in STUDENTS])
    db.create_collection("firstYears", viewOn="students", pipeline=[{"$match": {"year": 1}}])
    assert list(db.firstYears.find({}, {"_id": 0})) == [
        {"sID": 22001, "name": "Alex", "year": 1, "score": 4.0},
        {"sID": 22021, "name": "Drew", "year": 1, "score": 3.2},
        {"sID": 21022, "name": "Farmer", "year": 1, "score": 2.2}]
    assert [d["name"] for d in db.firstYears.find({"score": {"$gte": 3}})] == ["Alex", "Drew"]
    assert list(db.firstYears.aggregate([{"$count": "n"}])) == [{"n": 3}]
    assert db.firstYears.count_documents({}) == 3
    assert sorted((c["name"], c["type"]) for c in db.list_collections()) == [
        ("firstYears", "view"), ("students", "collection")]
    with pytest.raises(OperationFailure) as exc:
        db.firstYears.create_index("x")
    assert exc.value.code == 166


# -- ICU order: MongoDB collations are ICU collations (manual "Collation": `locale` is an
#    ICU locale; index specs report the ICU `version`). Facts of ICU/CLDR root order and
#    locale tailorings; the engine documents its collation as a Latin-text approximation.

def _sorted_values(db, values, collation):
    db.icu.drop()
    db.icu.insert_many([{"v": v} for v in values])
    return [d["v"] for d in db.icu.find().sort("v", 1).collation(collation)]


def test_icu_letters_case_and_accents(db):
    assert _sorted_values(db, ["b", "E", "é", "a", "A", "e", "z", "Z"], {"locale": "en"}) == [
        "a", "A", "b", "e", "E", "é", "z", "Z"]


def test_icu_punctuation_and_symbols_sort_before_digits(db):
    got = _sorted_values(db, ["a", "1", "_", " ", "$", "€", "-"], {"locale": "en"})
    assert got.index(" ") < got.index("_") < got.index("1") < got.index("a")
    assert got.index("-") < got.index("1")
    assert got.index("$") < got.index("1") and got.index("€") < got.index("1")


def test_icu_numeric_ordering_keeps_digits_after_punctuation(db):
    got = _sorted_values(db, ["10", "9", "1", " ", "!", "a"],
                         {"locale": "en", "numericOrdering": True})
    assert got == [" ", "!", "1", "9", "10", "a"]


def test_icu_swedish_tailoring(db):
    assert _sorted_values(db, ["z", "ä", "a", "ö", "å"], {"locale": "sv"}) == [
        "a", "z", "å", "ä", "ö"]


def test_icu_spanish_tailoring(db):
    assert _sorted_values(db, ["ñu", "nz", "o"], {"locale": "es"}) == ["nz", "ñu", "o"]


def test_icu_root_n_tilde_is_n_with_accent(db):
    # root/English: ñ is n with an accent, so "ñu" < "nz"
    assert _sorted_values(db, ["ñu", "nz", "o"], {"locale": "en"}) == ["ñu", "nz", "o"]
