"""Fidelity audit: "Query an Array", "Query an Array of Embedded Documents",
"Query for Null or Missing Fields", "$elemMatch (query)" from the MongoDB
manual, run end to end on MemoryClient (see docs/audit.md)."""

import pytest
from bson import MaxKey, MinKey

from dongo.backends.memory import MemoryClient


@pytest.fixture
def db():
    return MemoryClient()["test"]


def items(cursor):
    return [d["item"] for d in cursor]


# -- "Query an Array" ----------------------------------------------------------------

ARRAY_INVENTORY = [
    {"item": "journal", "qty": 25, "tags": ["blank", "red"], "dim_cm": [14, 21]},
    {"item": "notebook", "qty": 50, "tags": ["red", "blank"], "dim_cm": [14, 21]},
    {"item": "paper", "qty": 100, "tags": ["red", "blank", "plain"], "dim_cm": [14, 21]},
    {"item": "planner", "qty": 75, "tags": ["blank", "red"], "dim_cm": [22.85, 30]},
    {"item": "postcard", "qty": 45, "tags": ["blue"], "dim_cm": [10, 15.25]},
]


@pytest.mark.parametrize("query, expected", [
    ({"tags": ["red", "blank"]}, ["notebook"]),
    ({"tags": {"$all": ["red", "blank"]}}, ["journal", "notebook", "paper", "planner"]),
    ({"tags": "red"}, ["journal", "notebook", "paper", "planner"]),
    ({"dim_cm": {"$gt": 25}}, ["planner"]),
    ({"dim_cm": {"$gt": 15, "$lt": 20}}, ["journal", "notebook", "paper", "postcard"]),
    ({"dim_cm": {"$elemMatch": {"$gt": 22, "$lt": 30}}}, ["planner"]),
    ({"dim_cm.1": {"$gt": 25}}, ["planner"]),
    ({"tags": {"$size": 3}}, ["paper"]),
    # not on the page but implied by it: element order matters for exact match
    ({"tags": ["blank", "red"]}, ["journal", "planner"]),
    ({"tags.0": "red"}, ["notebook", "paper"]),
    ({"dim_cm": {"$elemMatch": {"$gt": 15, "$lt": 20}}}, ["postcard"]),
    ({"tags": {"$ne": "red"}}, ["postcard"]),
    ({"tags": {"$nin": ["red", "plain"]}}, ["postcard"]),
    ({"tags.5": {"$exists": True}}, []),
    ({"tags.2": {"$exists": True}}, ["paper"]),
])
def test_query_an_array(db, query, expected):
    db.inventory.insert_many([dict(d) for d in ARRAY_INVENTORY])
    assert items(db.inventory.find(query)) == expected


# -- "Query an Array of Embedded Documents" ------------------------------------------

INSTOCK = [
    {"item": "journal", "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]},
    {"item": "notebook", "instock": [{"warehouse": "C", "qty": 5}]},
    {"item": "paper", "instock": [{"warehouse": "A", "qty": 60}, {"warehouse": "B", "qty": 15}]},
    {"item": "planner", "instock": [{"warehouse": "A", "qty": 40}, {"warehouse": "B", "qty": 5}]},
    {"item": "postcard", "instock": [{"warehouse": "B", "qty": 15}, {"warehouse": "C", "qty": 35}]},
]


@pytest.mark.parametrize("query, expected", [
    ({"instock": {"warehouse": "A", "qty": 5}}, ["journal"]),
    ({"instock": {"qty": 5, "warehouse": "A"}}, []),
    ({"instock.0.qty": {"$lte": 20}}, ["journal", "notebook", "postcard"]),
    ({"instock.qty": {"$lte": 20}}, ["journal", "notebook", "paper", "planner", "postcard"]),
    ({"instock": {"$elemMatch": {"qty": 5, "warehouse": "A"}}}, ["journal"]),
    ({"instock": {"$elemMatch": {"qty": {"$gt": 10, "$lte": 20}}}},
     ["journal", "paper", "postcard"]),
    ({"instock.qty": {"$gt": 10, "$lte": 20}}, ["journal", "paper", "planner", "postcard"]),
    ({"instock.qty": 5, "instock.warehouse": "A"}, ["journal", "planner"]),
    ({"instock.warehouse": {"$all": ["A", "B"]}}, ["paper", "planner"]),
    ({"instock.1": {"$exists": False}}, ["notebook"]),
])
def test_query_an_array_of_embedded_documents(db, query, expected):
    db.inventory.insert_many([dict(d) for d in INSTOCK])
    assert items(db.inventory.find(query)) == expected


# -- "Query for Null or Missing Fields" ---------------------------------------------

@pytest.fixture
def nulls(db):
    db.inventory.insert_many([{"_id": 1, "item": None}, {"_id": 2}])
    return db.inventory


def test_null_equality_matches_null_and_missing(nulls):
    assert list(nulls.find({"item": None})) == [{"_id": 1, "item": None}, {"_id": 2}]
    assert nulls.count_documents({"item": None}) == 2


def test_type_null_matches_only_null(nulls):
    assert list(nulls.find({"item": {"$type": 10}})) == [{"_id": 1, "item": None}]
    assert list(nulls.find({"item": {"$type": "null"}})) == [{"_id": 1, "item": None}]


def test_exists_false_matches_missing(nulls):
    assert list(nulls.find({"item": {"$exists": False}})) == [{"_id": 2}]


def test_ne_null_matches_neither(nulls):
    assert list(nulls.find({"item": {"$ne": None}})) == []
    nulls.insert_one({"_id": 3, "item": 0})
    assert list(nulls.find({"item": {"$ne": None}})) == [{"_id": 3, "item": 0}]


def test_in_null(nulls):
    nulls.insert_one({"_id": 3, "item": "x"})
    assert [d["_id"] for d in nulls.find({"item": {"$in": [None]}})] == [1, 2]
    assert [d["_id"] for d in nulls.find({"item": {"$nin": [None]}})] == [3]


@pytest.mark.parametrize("query, expected", [
    # equality with null fans out through arrays: [null] and [1, null] contain null
    ({"a": None}, [1, 2, 4, 5]),
    ({"a": {"$type": "null"}}, [1, 4, 5]),
    ({"a": {"$exists": False}}, [2]),
    ({"a": {"$ne": None}}, [3, 6]),
    ({"a": {"$elemMatch": {"$eq": None}}}, [4, 5]),
    ({"a": []}, [6]),
    ({"a": {"$size": 0}}, [6]),
])
def test_null_and_arrays(db, query, expected):
    db.c.insert_many([{"_id": 1, "a": None}, {"_id": 2}, {"_id": 3, "a": 1},
                      {"_id": 4, "a": [None]}, {"_id": 5, "a": [1, None]}, {"_id": 6, "a": []}])
    assert [d["_id"] for d in db.c.find(query)] == expected


@pytest.mark.parametrize("query, expected", [
    # {"a.b": null} on an array of subdocuments: elements lacking b count as null
    ({"a.b": None}, [1, 2, 3, 5]),
    ({"a.b": {"$exists": False}}, [2, 5]),
    ({"a.b": {"$exists": True}}, [1, 3, 4]),
    ({"a.b": 1}, [4]),
])
def test_dotted_null_on_subdocuments(db, query, expected):
    db.c.insert_many([{"_id": 1, "a": {"b": None}}, {"_id": 2, "a": {}},
                      {"_id": 3, "a": [{"b": None}, {"b": 2}]}, {"_id": 4, "a": [{"b": 1}]},
                      {"_id": 5}])
    assert [d["_id"] for d in db.c.find(query)] == expected


# -- "$elemMatch (query)" -------------------------------------------------------------

def test_elemmatch_element_match(db):
    db.scores.insert_many([{"_id": 1, "results": [82, 85, 88]},
                           {"_id": 2, "results": [75, 88, 89]}])
    assert list(db.scores.find({"results": {"$elemMatch": {"$gte": 80, "$lt": 85}}})) == [
        {"_id": 1, "results": [82, 85, 88]}]


SURVEY = [
    {"_id": 1, "results": [{"product": "abc", "score": 10}, {"product": "xyz", "score": 5}]},
    {"_id": 2, "results": [{"product": "abc", "score": 8}, {"product": "xyz", "score": 7}]},
    {"_id": 3, "results": [{"product": "abc", "score": 7}, {"product": "xyz", "score": 8}]},
    {"_id": 4, "results": [{"product": "abc", "score": 7}, {"product": "def", "score": 8}]},
    {"_id": 5, "results": {"product": "xyz", "score": 7}},
]


@pytest.mark.parametrize("query, expected", [
    ({"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 8}}}}, [3]),
    # "Single Query Condition": $elemMatch not needed, but both forms work; the
    # $elemMatch form does not match the non-array field of document 5.
    ({"results": {"$elemMatch": {"product": "xyz"}}}, [1, 2, 3]),
    ({"results.product": "xyz"}, [1, 2, 3, 5]),
    ({"results": {"$elemMatch": {"product": {"$ne": "xyz"}}}}, [1, 2, 3, 4]),
    ({"results.product": {"$ne": "xyz"}}, [4]),
])
def test_elemmatch_array_of_embedded_documents(db, query, expected):
    db.survey.insert_many(SURVEY)
    assert [d["_id"] for d in db.survey.find(query)] == expected


def test_elemmatch_with_or_and_nested_operators(db):
    db.c.insert_many([
        {"_id": 1, "a": [{"x": 1, "y": 2}, {"x": 2, "y": 1}]},
        {"_id": 2, "a": [{"x": 3, "y": 3}]},
    ])
    assert [d["_id"] for d in db.c.find(
        {"a": {"$elemMatch": {"$or": [{"x": 3}, {"y": 2}]}}})] == [1, 2]
    assert [d["_id"] for d in db.c.find({"a": {"$elemMatch": {"x": 1, "y": 1}}})] == []


def test_elemmatch_nested_arrays(db):
    db.c.insert_many([{"_id": 1, "a": [[1, 2], [3, 4]]}, {"_id": 2, "a": [1, 2]}])
    assert [d["_id"] for d in db.c.find({"a": {"$elemMatch": {"$elemMatch": {"$eq": 3}}}})] \
        == [1]
    # a comparison on a nested array does not descend two levels
    assert [d["_id"] for d in db.c.find({"a": 3})] == []
    assert [d["_id"] for d in db.c.find({"a": [3, 4]})] == [1]


# -- Array comparison semantics ("Comparison/Sort Order": Arrays) --------------------

@pytest.mark.parametrize("query, expected", [
    # range operators on arrays: element-wise, OR whole-array lexicographic
    ({"a": {"$lt": [2]}}, [1, 3]),
    # (whole arrays compare element by element in BSON order: "b" > 1)
    ({"a": {"$gt": [1, 5]}}, [2, 4]),
    ({"a": {"$gte": [1, 5]}}, [1, 2, 4]),
    # one-element array vs non-array: compares the element
    ({"a": {"$lt": 2}}, [1, 3]),
    ({"a": {"$gt": 5}}, [2]),
    # type bracketing: a string bound never matches numbers
    ({"a": {"$gt": "a"}}, [4]),
    ({"a": {"$lt": "a"}}, []),
])
def test_array_comparisons(db, query, expected):
    db.c.insert_many([{"_id": 1, "a": [1, 5]}, {"_id": 2, "a": [6]}, {"_id": 3, "a": [1]},
                      {"_id": 4, "a": ["b"]}])
    assert [d["_id"] for d in db.c.find(query)] == expected


@pytest.mark.parametrize("query, expected", [
    ({"a": {"$gt": MinKey()}}, [2, 3, 4, 5]),
    ({"a": {"$lt": MaxKey()}}, [1, 2, 3, 4]),
    ({"a": {"$gte": MinKey()}}, [1, 2, 3, 4, 5]),
    ({"a": {"$lte": None}}, [2]),
    ({"a": {"$gte": None}}, [2]),
])
def test_minkey_maxkey_bounds_are_not_type_bracketed(db, query, expected):
    db.c.insert_many([{"_id": 1, "a": MinKey()}, {"_id": 2, "a": None}, {"_id": 3, "a": 1},
                      {"_id": 4, "a": "s"}, {"_id": 5, "a": MaxKey()}])
    assert [d["_id"] for d in db.c.find(query)] == expected
