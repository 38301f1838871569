"""Fidelity audit: MongoDB manual query examples, run end to end on MemoryClient.

Every test sets up the example collection of one page of the MongoDB manual
(the page title is cited above each group), runs the page's operations and
asserts the documented output.  A wrong answer is kept with the documented
expectation and marked ``xfail(strict=True)``; see docs/audit.md.
"""

import re

import sys

import pytest
from bson import Int64, Regex
from pymongo.errors import OperationFailure

from dongo.backends.memory import MemoryClient


@pytest.fixture
def db():
    return MemoryClient()["test"]


def items(cursor, field="item"):
    return [d[field] for d in cursor]


# -- "Query Documents" (tutorial/query-documents) ----------------------------------

SIZE_INVENTORY = [
    {"item": "journal", "qty": 25, "size": {"h": 14, "w": 21, "uom": "cm"}, "status": "A"},
    {"item": "notebook", "qty": 50, "size": {"h": 8.5, "w": 11, "uom": "in"}, "status": "A"},
    {"item": "paper", "qty": 100, "size": {"h": 8.5, "w": 11, "uom": "in"}, "status": "D"},
    {"item": "planner", "qty": 75, "size": {"h": 22.85, "w": 30, "uom": "cm"}, "status": "D"},
    {"item": "postcard", "qty": 45, "size": {"h": 10, "w": 15.25, "uom": "cm"}, "status": "A"},
]


@pytest.fixture
def inventory(db):
    db.inventory.insert_many([dict(d) for d in SIZE_INVENTORY])
    return db.inventory


@pytest.mark.parametrize("query, expected", [
    ({}, ["journal", "notebook", "paper", "planner", "postcard"]),
    ({"status": "D"}, ["paper", "planner"]),
    ({"status": {"$in": ["A", "D"]}}, ["journal", "notebook", "paper", "planner", "postcard"]),
    ({"status": "A", "qty": {"$lt": 30}}, ["journal"]),
    ({"$or": [{"status": "A"}, {"qty": {"$lt": 30}}]}, ["journal", "notebook", "postcard"]),
    ({"status": "A", "$or": [{"qty": {"$lt": 30}}, {"item": re.compile("^p")}]},
     ["journal", "postcard"]),
    # "Query on Embedded/Nested Documents"
    ({"size": {"h": 14, "w": 21, "uom": "cm"}}, ["journal"]),
    ({"size": {"w": 21, "h": 14, "uom": "cm"}}, []),
    ({"size.uom": "in"}, ["notebook", "paper"]),
    ({"size.h": {"$lt": 15}}, ["journal", "notebook", "paper", "postcard"]),
    ({"size.h": {"$lt": 15}, "size.uom": "in", "status": "D"}, ["paper"]),
])
def test_query_documents_page(inventory, query, expected):
    assert items(inventory.find(query)) == expected
    assert inventory.count_documents(query) == len(expected)


def test_find_returns_stored_documents_with_generated_ids(inventory):
    docs = list(inventory.find({"item": "journal"}))
    assert len(docs) == 1
    assert list(docs[0]) == ["_id", "item", "qty", "size", "status"]
    assert docs[0]["size"] == {"h": 14, "w": 21, "uom": "cm"}


# -- "Project Fields to Return from Query" ------------------------------------------

PROJ_INVENTORY = [
    {"item": "journal", "status": "A", "size": {"h": 14, "w": 21, "uom": "cm"},
     "instock": [{"warehouse": "A", "qty": 5}]},
    {"item": "notebook", "status": "A", "size": {"h": 8.5, "w": 11, "uom": "in"},
     "instock": [{"warehouse": "C", "qty": 5}]},
    {"item": "paper", "status": "D", "size": {"h": 8.5, "w": 11, "uom": "in"},
     "instock": [{"warehouse": "A", "qty": 60}]},
    {"item": "planner", "status": "D", "size": {"h": 22.85, "w": 30, "uom": "cm"},
     "instock": [{"warehouse": "A", "qty": 40}]},
    {"item": "postcard", "status": "A", "size": {"h": 10, "w": 15.25, "uom": "cm"},
     "instock": [{"warehouse": "B", "qty": 15}, {"warehouse": "C", "qty": 35}]},
]


@pytest.fixture
def proj(db):
    db.inv.insert_many([{"_id": i, **d} for i, d in enumerate(PROJ_INVENTORY)])
    return db.inv


def test_projection_include_fields_keeps_id(proj):
    assert list(proj.find({"status": "A"}, {"item": 1, "status": 1})) == [
        {"_id": 0, "item": "journal", "status": "A"},
        {"_id": 1, "item": "notebook", "status": "A"},
        {"_id": 4, "item": "postcard", "status": "A"},
    ]


def test_projection_suppress_id(proj):
    assert list(proj.find({"status": "A"}, {"item": 1, "status": 1, "_id": 0})) == [
        {"item": "journal", "status": "A"},
        {"item": "notebook", "status": "A"},
        {"item": "postcard", "status": "A"},
    ]


def test_projection_exclude_fields(proj):
    assert proj.find_one({"status": "A"}, {"status": 0, "instock": 0}) == {
        "_id": 0, "item": "journal", "size": {"h": 14, "w": 21, "uom": "cm"}}


def test_projection_embedded_field_include(proj):
    doc = proj.find_one({"status": "A"}, {"item": 1, "status": 1, "size.uom": 1})
    assert doc == {"_id": 0, "item": "journal", "status": "A", "size": {"uom": "cm"}}
    assert list(doc) == ["_id", "item", "status", "size"]


def test_projection_embedded_field_exclude(proj):
    assert proj.find_one({"status": "A"}, {"size.uom": 0}) == {
        "_id": 0, "item": "journal", "status": "A", "size": {"h": 14, "w": 21},
        "instock": [{"warehouse": "A", "qty": 5}]}


def test_projection_on_embedded_documents_in_array(proj):
    assert list(proj.find({"status": "A"}, {"item": 1, "status": 1, "instock.qty": 1})) == [
        {"_id": 0, "item": "journal", "status": "A", "instock": [{"qty": 5}]},
        {"_id": 1, "item": "notebook", "status": "A", "instock": [{"qty": 5}]},
        {"_id": 4, "item": "postcard", "status": "A", "instock": [{"qty": 15}, {"qty": 35}]},
    ]


def test_projection_slice_last_element(proj):
    docs = list(proj.find({"status": "A"}, {"item": 1, "status": 1, "instock": {"$slice": -1}}))
    assert docs == [
        {"_id": 0, "item": "journal", "status": "A", "instock": [{"warehouse": "A", "qty": 5}]},
        {"_id": 1, "item": "notebook", "status": "A", "instock": [{"warehouse": "C", "qty": 5}]},
        {"_id": 4, "item": "postcard", "status": "A", "instock": [{"warehouse": "C", "qty": 35}]},
    ]


def test_projection_aggregation_expression_literal_and_path(proj):
    # "Project Fields to Return from Query": projection accepts expressions (4.4+).
    doc = proj.find_one({"item": "postcard"}, {
        "_id": 0, "item": 1,
        "status": {"$switch": {"branches": [
            {"case": {"$eq": ["$status", "A"]}, "then": "Available"},
            {"case": {"$eq": ["$status", "D"]}, "then": "Discontinued"}],
            "default": "No status found"}},
        "area": {"$concat": [{"$toString": {"$multiply": ["$size.h", "$size.w"]}},
                             " ", "$size.uom"]},
        "reportNumber": {"$literal": 1}})
    assert doc == {"item": "postcard", "status": "Available", "area": "152.5 cm",
                   "reportNumber": 1}


# -- "$elemMatch (projection)" -------------------------------------------------------

SCHOOLS = [
    {"_id": 1, "zipcode": "63109", "students": [
        {"name": "john", "school": 102, "age": 10},
        {"name": "jess", "school": 102, "age": 11},
        {"name": "jeff", "school": 108, "age": 15}]},
    {"_id": 2, "zipcode": "63110", "students": [
        {"name": "ajax", "school": 100, "age": 7},
        {"name": "achilles", "school": 100, "age": 8}]},
    {"_id": 3, "zipcode": "63109", "students": [
        {"name": "ajax", "school": 100, "age": 7},
        {"name": "achilles", "school": 100, "age": 8}]},
    {"_id": 4, "zipcode": "63109", "students": [
        {"name": "barney", "school": 102, "age": 7},
        {"name": "ruth", "school": 102, "age": 16}]},
]


def test_elemmatch_projection_zipcode_search(db):
    db.schools.insert_many(SCHOOLS)
    assert list(db.schools.find({"zipcode": "63109"},
                                {"students": {"$elemMatch": {"school": 102}}})) == [
        {"_id": 1, "students": [{"name": "john", "school": 102, "age": 10}]},
        {"_id": 3},
        {"_id": 4, "students": [{"name": "barney", "school": 102, "age": 7}]},
    ]


def test_elemmatch_projection_multiple_fields(db):
    db.schools.insert_many(SCHOOLS)
    assert list(db.schools.find(
        {"zipcode": "63109"},
        {"students": {"$elemMatch": {"school": 102, "age": {"$gt": 10}}}})) == [
        {"_id": 1, "students": [{"name": "jess", "school": 102, "age": 11}]},
        {"_id": 3},
        {"_id": 4, "students": [{"name": "ruth", "school": 102, "age": 16}]},
    ]


# -- "$ (projection)" ------------------------------------------------------------------

GRADES = [
    {"_id": 1, "semester": 1, "grades": [70, 87, 90]},
    {"_id": 2, "semester": 1, "grades": [90, 88, 92]},
    {"_id": 3, "semester": 1, "grades": [85, 100, 90]},
    {"_id": 4, "semester": 2, "grades": [79, 85, 80]},
    {"_id": 5, "semester": 2, "grades": [88, 88, 92]},
    {"_id": 6, "semester": 2, "grades": [95, 90, 96]},
]


def test_positional_projection_first_matching_element(db):
    db.students.insert_many(GRADES)
    assert list(db.students.find({"semester": 1, "grades": {"$gte": 85}},
                                 {"grades.$": 1})) == [
        {"_id": 1, "grades": [87]},
        {"_id": 2, "grades": [90]},
        {"_id": 3, "grades": [85]},
    ]


def test_positional_projection_array_of_documents(db):
    db.students.insert_many([
        {"_id": 7, "semester": 3, "grades": [{"grade": 80, "mean": 75, "std": 8},
                                             {"grade": 85, "mean": 90, "std": 5},
                                             {"grade": 90, "mean": 85, "std": 3}]},
        {"_id": 8, "semester": 3, "grades": [{"grade": 92, "mean": 88, "std": 8},
                                             {"grade": 78, "mean": 90, "std": 5},
                                             {"grade": 88, "mean": 85, "std": 3}]},
    ])
    assert list(db.students.find({"grades.mean": {"$gt": 70}}, {"grades.$": 1})) == [
        {"_id": 7, "grades": [{"grade": 80, "mean": 75, "std": 8}]},
        {"_id": 8, "grades": [{"grade": 92, "mean": 88, "std": 8}]},
    ]


def test_positional_projection_in_the_middle_of_a_path_is_rejected(db):
    # "$ (projection)": "Path Restrictions" -- since 4.4 the $ projection operator
    # may only appear at the end of the field path (server code 31394, SERVER-43334).
    db.students.insert_many(GRADES)
    with pytest.raises(OperationFailure) as exc:
        list(db.students.find({"grades": 85}, {"grades.$.x": 1}))
    assert exc.value.code == 31394


@pytest.mark.parametrize("projection, code", [
    ({"grades.$": 1, "other.$": 1}, 31276),           # one positional per query
    ({"grades.$": {"$slice": 1}}, 31271),              # positional with $slice
    ({"grades": {"$slice": 1}, "grades.x": 1}, 31249),  # path collision
    ({"grades": 1, "grades.x": 1}, 31249),
    ({"grades": 1, "semester": 0}, 31254),             # inclusion and exclusion mixed
    ({"$foo": 1}, 16410),                              # top-level $-prefixed field
])
def test_projection_restrictions(db, projection, code):
    # "Projection Restrictions" (4.4+; DOCS-13320)
    db.students.insert_many(GRADES)
    with pytest.raises(OperationFailure) as exc:
        list(db.students.find({"grades": 85, "other": 1}, projection))
    assert exc.value.code == code


# -- "$slice (projection)" -------------------------------------------------------------

def test_slice_projection_forms(db):
    db.inventory.insert_one({"_id": 1, "item": "socks", "qty": 100,
                             "details": {"colors": ["blue", "red"], "sizes": ["S", "M", "L"]}})
    db.posts.insert_one({"_id": 1, "title": "t", "comments": [1, 2, 3, 4, 5]})
    c = db.posts
    assert c.find_one({}, {"comments": {"$slice": 2}}) == {"_id": 1, "title": "t",
                                                          "comments": [1, 2]}
    assert c.find_one({}, {"comments": {"$slice": -2}})["comments"] == [4, 5]
    assert c.find_one({}, {"comments": {"$slice": [1, 2]}})["comments"] == [2, 3]
    assert c.find_one({}, {"comments": {"$slice": [-3, 2]}})["comments"] == [3, 4]
    assert c.find_one({}, {"comments": {"$slice": [10, 2]}})["comments"] == []
    # embedded array with an inclusion: only the sliced field and _id
    assert db.inventory.find_one({}, {"qty": 1, "details.colors": {"$slice": 1}}) == {
        "_id": 1, "qty": 100, "details": {"colors": ["blue"]}}
    # embedded array alone: the rest of the document stays
    assert db.inventory.find_one({}, {"details.colors": {"$slice": 1}}) == {
        "_id": 1, "item": "socks", "qty": 100,
        "details": {"colors": ["blue"], "sizes": ["S", "M", "L"]}}


# -- Comparison query operators: "$eq", "$in", "$nin", "$ne" -----------------------

EQ_INVENTORY = [
    {"_id": 1, "item": {"name": "ab", "code": "123"}, "qty": 15, "tags": ["A", "B", "C"]},
    {"_id": 2, "item": {"name": "cd", "code": "123"}, "qty": 20, "tags": ["B"]},
    {"_id": 3, "item": {"name": "ij", "code": "456"}, "qty": 25, "tags": ["A", "B"]},
    {"_id": 4, "item": {"name": "xy", "code": "456"}, "qty": 30, "tags": ["B", "A"]},
    {"_id": 5, "item": {"name": "mn", "code": "000"}, "qty": 20, "tags": [["A", "B"], "C"]},
]


@pytest.mark.parametrize("query, expected", [
    ({"qty": {"$eq": 20}}, [2, 5]),
    ({"qty": 20}, [2, 5]),
    ({"item.name": {"$eq": "ab"}}, [1]),
    ({"tags": {"$eq": "B"}}, [1, 2, 3, 4]),
    ({"tags": {"$eq": ["A", "B"]}}, [3, 5]),
    ({"tags": ["A", "B"]}, [3, 5]),
    ({"qty": {"$ne": 20}}, [1, 3, 4]),
    ({"qty": {"$in": [5, 15]}}, [1]),
    ({"qty": {"$nin": [5, 15]}}, [2, 3, 4, 5]),
    ({"tags": {"$in": ["C", "Z"]}}, [1, 5]),
    ({"tags": {"$nin": ["A"]}}, [2, 5]),
    ({"qty": {"$gt": 20}}, [3, 4]),
    ({"qty": {"$gte": 20}}, [2, 3, 4, 5]),
    ({"qty": {"$lt": 20}}, [1]),
    ({"qty": {"$lte": 20}}, [1, 2, 5]),
    ({"item": {"name": "ab", "code": "123"}}, [1]),
    ({"item": {"code": "123", "name": "ab"}}, []),
    ({"item.code": {"$in": ["000", "456"]}}, [3, 4, 5]),
])
def test_comparison_operators(db, query, expected):
    db.inventory.insert_many(EQ_INVENTORY)
    assert [d["_id"] for d in db.inventory.find(query)] == expected


def test_eq_regex_is_an_exact_match_implicit_is_a_regex_match(db):
    # "$eq": "Regex Match Behaviors" -- {$eq: /re/} only matches a stored regex.
    db.companies.insert_many([{"_id": 1, "company": "MongoDB"},
                              {"_id": 2, "company": "MongoDB2"}])
    assert [d["_id"] for d in db.companies.find({"company": re.compile("MongoDB")})] == [1, 2]
    assert [d["_id"] for d in db.companies.find({"company": {"$eq": re.compile("MongoDB")}})] == []
    assert [d["_id"] for d in db.companies.find({"company": {"$in": [re.compile("^MongoDB$")]}})] \
        == [1]


def test_in_with_regular_expressions(db):
    # "$in": "Use the $in Operator with a Regular Expression"
    db.inventory.insert_many([
        {"_id": 1, "tags": ["school", "book"]},
        {"_id": 2, "tags": ["best", "seller"]},
        {"_id": 3, "tags": ["stationery"]},
        {"_id": 4, "tags": ["home"]},
    ])
    assert [d["_id"] for d in db.inventory.find(
        {"tags": {"$in": [re.compile("^be"), re.compile("^st")]}})] == [2, 3]


# -- "$not", "$nor", "$and", "$or" ----------------------------------------------------

PRICES = [
    {"_id": 1, "item": "Binder", "price": 1.99, "sale": True, "qty": 30},
    {"_id": 2, "item": "Pen", "price": 2.99, "sale": False, "qty": 10},
    {"_id": 3, "item": "Paper", "price": 0.99, "sale": True},
    {"_id": 4, "item": "Stapler", "sale": False, "qty": 21},
    {"_id": 5, "item": "Clip"},
]


@pytest.mark.parametrize("query, expected", [
    # "$not": matches price <= 1.99 *or* price missing
    ({"price": {"$not": {"$gt": 1.99}}}, [1, 3, 4, 5]),
    ({"item": {"$not": re.compile("^p.*", re.I)}}, [1, 4, 5]),
    ({"item": {"$not": {"$regex": "^p.*", "$options": "i"}}}, [1, 4, 5]),
    # "$nor": missing fields count as not matching the clause
    ({"$nor": [{"price": 1.99}, {"sale": True}]}, [2, 4, 5]),
    ({"$nor": [{"price": 1.99}, {"qty": {"$lt": 20}}, {"sale": True}]}, [4, 5]),
    ({"$nor": [{"price": 1.99}, {"price": {"$exists": False}}, {"sale": True},
               {"sale": {"$exists": False}}]}, [2]),
    ({"$and": [{"price": {"$ne": 1.99}}, {"price": {"$exists": True}}]}, [2, 3]),
    ({"$or": [{"qty": {"$lt": 20}}, {"price": 0.99}]}, [2, 3]),
    ({"price": {"$ne": 1.99}}, [2, 3, 4, 5]),
])
def test_logical_operators(db, query, expected):
    db.inventory.insert_many(PRICES)
    assert [d["_id"] for d in db.inventory.find(query)] == expected


@pytest.mark.parametrize("query", [
    {"$and": []},
    {"$or": []},
    {"$nor": []},
])
def test_empty_logical_arrays_are_bad_value(db, query):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find(query))
    assert exc.value.code == 2


def test_not_requires_operator_or_regex(db):
    # "$not": "$not operator only affects other operators and cannot check fields
    # and documents independently" -- {$not: value} is rejected (BadValue).
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find({"a": {"$not": 1}}))
    assert exc.value.code == 2


# -- "$exists" ------------------------------------------------------------------------

RECORDS = [
    {"_id": 1, "a": 5, "b": 5, "c": None},
    {"_id": 2, "a": 3, "b": None, "c": 8},
    {"_id": 3, "a": None, "b": 3, "c": 9},
    {"_id": 4, "a": 1, "b": 2, "c": 3},
    {"_id": 5, "a": 2, "c": 5},
    {"_id": 6, "a": 3, "b": 2},
    {"_id": 7, "a": 4},
    {"_id": 8, "b": 2, "c": 4},
    {"_id": 9, "b": 2},
    {"_id": 10, "c": 6},
]


@pytest.mark.parametrize("query, expected", [
    ({"a": {"$exists": True}}, [1, 2, 3, 4, 5, 6, 7]),
    ({"b": {"$exists": False}}, [5, 7, 10]),
    ({"c": {"$exists": True, "$nin": [5, 15]}}, [1, 2, 3, 4, 8, 10]),
    ({"c": {"$exists": 1}}, [1, 2, 3, 4, 5, 8, 10]),
    ({"c": {"$exists": 0}}, [6, 7, 9]),
])
def test_exists(db, query, expected):
    db.records.insert_many(RECORDS)
    assert [d["_id"] for d in db.records.find(query)] == expected


# -- "$mod" -----------------------------------------------------------------------------

MOD_INVENTORY = [
    {"_id": 1, "item": "abc123", "qty": 0},
    {"_id": 2, "item": "xyz123", "qty": 5},
    {"_id": 3, "item": "ijk123", "qty": 12},
]


@pytest.mark.parametrize("divisor", [4, 4.0, 4.5, 4.99, Int64(4)])
def test_mod_truncates_floating_point_divisor(db, divisor):
    db.inventory.insert_many(MOD_INVENTORY)
    assert [d["_id"] for d in db.inventory.find({"qty": {"$mod": [divisor, 0]}})] == [1, 3]


@pytest.mark.parametrize("spec, message", [
    ([4], "malformed mod, not enough elements"),
    ([], "malformed mod, not enough elements"),
    ([4, 1, 2], "malformed mod, too many elements"),
])
def test_mod_wrong_number_of_elements(db, spec, message):
    db.inventory.insert_many(MOD_INVENTORY)
    with pytest.raises(OperationFailure) as exc:
        list(db.inventory.find({"qty": {"$mod": spec}}))
    assert exc.value.code == 2
    assert exc.value.details["errmsg"] == message


def test_mod_negative_dividend_keeps_sign(db):
    # "$mod": "Negative Dividend" -- remainder takes the dividend's sign.
    db.inventory.insert_many([{"_id": 1, "qty": -12}, {"_id": 2, "qty": -5},
                              {"_id": 3, "qty": 5}])
    assert [d["_id"] for d in db.inventory.find({"qty": {"$mod": [4, 0]}})] == [1]
    assert [d["_id"] for d in db.inventory.find({"qty": {"$mod": [4, -1]}})] == [2]
    assert [d["_id"] for d in db.inventory.find({"qty": {"$mod": [4, 1]}})] == [3]


# -- "$regex" ---------------------------------------------------------------------------

PRODUCTS = [
    {"_id": 100, "sku": "abc123", "description": "Single line description."},
    {"_id": 101, "sku": "abc789", "description": "First line\nSecond line"},
    {"_id": 102, "sku": "xyz456", "description": "Many spaces before     line"},
    {"_id": 103, "sku": "xyz789", "description": "Multiple\nline description"},
    {"_id": 104, "sku": "Abc789", "description": "SKU starts with A"},
]


@pytest.mark.parametrize("query, expected", [
    ({"sku": {"$regex": "789$"}}, [101, 103, 104]),
    ({"sku": re.compile("789$")}, [101, 103, 104]),
    ({"sku": {"$regex": re.compile("789$")}}, [101, 103, 104]),
    ({"sku": {"$regex": "^ABC", "$options": "i"}}, [100, 101, 104]),
    ({"sku": {"$regex": re.compile("^ABC", re.I)}}, [100, 101, 104]),
    ({"sku": Regex("^ABC", "i")}, [100, 101, 104]),
    ({"description": {"$regex": "^S", "$options": "m"}}, [100, 101, 104]),
    ({"description": {"$regex": "^S"}}, [100, 104]),
    ({"description": {"$regex": "m.*line", "$options": "si"}}, [102, 103]),
    ({"description": {"$regex": "m.*line", "$options": "i"}}, [102]),
    ({"sku": {"$regex": "abc #category code\n123 #item number", "$options": "x"}}, [100]),
    ({"sku": {"$in": [re.compile("^abc"), re.compile("^xyz4")]}}, [100, 101, 102]),
    ({"sku": {"$nin": [re.compile("^abc"), re.compile("^xyz4")]}}, [103, 104]),
])
def test_regex_examples(db, query, expected):
    db.products.insert_many(PRODUCTS)
    assert [d["_id"] for d in db.products.find(query)] == expected


def test_regex_options_in_both_places_is_an_error(db):
    # "$regex": you cannot specify options in both the regex object and $options.
    db.products.insert_many(PRODUCTS)
    with pytest.raises(OperationFailure) as exc:
        list(db.products.find({"sku": {"$regex": re.compile("^abc", re.I), "$options": "m"}}))
    assert exc.value.code == 51075


# -- "$type" ------------------------------------------------------------------------------

ADDRESS_BOOK = [
    {"_id": 1, "address": "2030 Martian Way", "zipCode": "90698345"},
    {"_id": 2, "address": "156 Lunar Place", "zipCode": 43339374.0},
    {"_id": 3, "address": "2324 Pluto Place", "zipCode": Int64(3921412)},
    {"_id": 4, "address": "55 Saturn Ring", "zipCode": 88602117},
    {"_id": 5, "address": "104 Venus Drive", "zipCode": ["834847278", "1893289032"]},
]


@pytest.mark.parametrize("spec, expected", [
    (2, [1, 5]),
    ("string", [1, 5]),
    (1, [2]),
    ("double", [2]),
    ("number", [2, 3, 4]),
    ("long", [3]),
    (18, [3]),
    ("int", [4]),
    (16, [4]),
    (["string", "int"], [1, 4, 5]),
    ("array", [5]),
    (4, [5]),
])
def test_type_operator(db, spec, expected):
    db.addressBook.insert_many(ADDRESS_BOOK)
    assert [d["_id"] for d in db.addressBook.find({"zipCode": {"$type": spec}})] == expected


def test_type_array_matches_arrays_and_empty_arrays(db):
    # "$type": "Querying by Array Type" -- an empty array matches 'array'.
    db.c.insert_many([{"_id": 1, "a": []}, {"_id": 2, "a": [1]}, {"_id": 3, "a": 1},
                      {"_id": 4, "a": [[1]]}])
    assert [d["_id"] for d in db.c.find({"a": {"$type": "array"}})] == [1, 2, 4]


def test_type_minkey_maxkey(db):
    from bson import MaxKey, MinKey
    db.c.insert_many([{"_id": 1, "a": MinKey()}, {"_id": 2, "a": MaxKey()},
                      {"_id": 3, "a": None}])
    assert [d["_id"] for d in db.c.find({"a": {"$type": "minKey"}})] == [1]
    assert [d["_id"] for d in db.c.find({"a": {"$type": -1}})] == [1]
    assert [d["_id"] for d in db.c.find({"a": {"$type": 127}})] == [2]
    assert [d["_id"] for d in db.c.find({"a": {"$type": "null"}})] == [3]


def test_type_unknown_alias_is_bad_value(db):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find({"a": {"$type": "integer"}}))
    assert exc.value.code == 2


# -- "$expr" -------------------------------------------------------------------------------

BUDGET = [
    {"_id": 1, "category": "food", "budget": 400, "spent": 450},
    {"_id": 2, "category": "drinks", "budget": 100, "spent": 150},
    {"_id": 3, "category": "clothes", "budget": 100, "spent": 50},
    {"_id": 4, "category": "misc", "budget": 500, "spent": 300},
    {"_id": 5, "category": "travel", "budget": 200, "spent": 650},
]


def test_expr_compare_two_fields(db):
    db.monthlyBudget.insert_many(BUDGET)
    assert [d["_id"] for d in db.monthlyBudget.find(
        {"$expr": {"$gt": ["$spent", "$budget"]}})] == [1, 2, 5]


def test_expr_with_conditional(db):
    # "$expr": "Use $expr With Conditional Statements"
    db.supplies.insert_many([
        {"_id": 1, "item": "binder", "qty": 100, "price": 12},
        {"_id": 2, "item": "notebook", "qty": 200, "price": 8},
        {"_id": 3, "item": "pencil", "qty": 50, "price": 6},
        {"_id": 4, "item": "eraser", "qty": 150, "price": 3},
        {"_id": 5, "item": "legal pad", "qty": 42, "price": 10},
    ])
    discounted = {"$cond": {"if": {"$gte": ["$qty", 100]},
                            "then": {"$multiply": ["$price", 0.5]},
                            "else": {"$multiply": ["$price", 0.75]}}}
    assert [d["item"] for d in db.supplies.find({"$expr": {"$lt": [discounted, 5]}})] == [
        "notebook", "pencil", "eraser"]


# -- "$all" ----------------------------------------------------------------------------------

ALL_INVENTORY = [
    {"_id": 1, "code": "xyz", "tags": ["school", "book", "bag", "headphone", "appliance"],
     "qty": [{"size": "S", "num": 10, "color": "blue"},
             {"size": "M", "num": 45, "color": "blue"},
             {"size": "L", "num": 100, "color": "green"}]},
    {"_id": 2, "code": "abc", "tags": ["appliance", "school", "book"],
     "qty": [{"size": "6", "num": 100, "color": "green"},
             {"size": "6", "num": 50, "color": "blue"},
             {"size": "8", "num": 100, "color": "brown"}]},
    {"_id": 3, "code": "efg", "tags": ["school", "book"],
     "qty": [{"size": "S", "num": 10, "color": "blue"},
             {"size": "M", "num": 100, "color": "blue"},
             {"size": "L", "num": 100, "color": "green"}]},
    {"_id": 4, "code": "ijk", "tags": ["electronics", "school"],
     "qty": [{"size": "M", "num": 100, "color": "green"}]},
]


@pytest.mark.parametrize("query, expected", [
    ({"tags": {"$all": ["appliance", "school", "book"]}}, [1, 2]),
    ({"qty": {"$all": [{"$elemMatch": {"size": "M", "num": {"$gt": 50}}},
                       {"$elemMatch": {"num": 100, "color": "green"}}]}}, [3, 4]),
    ({"qty.num": {"$all": [50]}}, [2]),
    ({"qty.num": 50}, [2]),
    ({"tags": {"$all": []}}, []),
    ({"tags": {"$all": [["school", "book"]]}}, [3]),
    ({"code": {"$all": ["xyz"]}}, [1]),
])
def test_all(db, query, expected):
    db.inventory.insert_many(ALL_INVENTORY)
    assert [d["_id"] for d in db.inventory.find(query)] == expected


# -- "$size" -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [(1, [2]), (2, [3]), (0, [1]), (3, [])])
def test_size(db, value, expected):
    db.c.insert_many([{"_id": 1, "a": []}, {"_id": 2, "a": [5]}, {"_id": 3, "a": [1, 2]},
                      {"_id": 4, "a": 1}, {"_id": 5}])
    assert [d["_id"] for d in db.c.find({"a": {"$size": value}})] == expected


@pytest.mark.parametrize("value", [-1, 1.5, "1"])
def test_size_rejects_non_integers(db, value):
    db.c.insert_one({"a": [1]})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find({"a": {"$size": value}}))
    assert exc.value.code == 2


# -- "Query and Projection Operators": unknown operators ----------------------------

def test_unknown_top_level_operator(db):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find({"$foo": 1}))
    assert exc.value.code == 2
    assert exc.value.details["errmsg"].startswith("unknown top level operator: $foo.")


def test_unknown_field_operator(db):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find({"a": {"$foo": 1}}))
    assert exc.value.code == 2
    assert exc.value.details["errmsg"] == "unknown operator: $foo"


def test_where_in_find_is_refused_like_a_server_without_javascript(db):
    # "$where" runs JavaScript; the engine never does. It answers like a mongod
    # with JavaScript disabled ("no globalScriptEngine in $where parsing",
    # BadValue), at parse time, and says what to use instead.
    db.c.insert_one({"a": 1})
    for run in (lambda: list(db.c.find({"$where": "this.a == 1"})),
                lambda: db.c.count_documents({"$or": [{"$where": "true"}]}),
                lambda: db.empty.delete_many({"$where": "true"})):
        with pytest.raises(OperationFailure) as exc:
            run()
        assert exc.value.code == 2
        assert exc.value.details["errmsg"].startswith("no globalScriptEngine in $where parsing")
        assert "use $expr instead" in exc.value.details["errmsg"]


# -- "Cursor" methods: sort / skip / limit ------------------------------------------------

def test_skip_limit_sort_combination(inventory):
    # "cursor.skip()" / "cursor.limit()": sort is applied first, then skip, then limit.
    assert items(inventory.find().sort("qty", -1).skip(1).limit(2)) == ["planner", "notebook"]
    assert items(inventory.find().sort("qty", 1).limit(-2)) == ["journal", "postcard"]
    assert inventory.count_documents({}, skip=1, limit=2) == 2
    assert inventory.count_documents({"status": "A"}, skip=2) == 1
    assert inventory.estimated_document_count() == 5


# -- "$jsonSchema" (query operator) docs example ------------------------------------------

JSON_SCHEMA_INVENTORY = [
    # mongosh numbers are doubles: h/w written as floats, qty as NumberInt (Python int)
    {"item": "journal", "qty": 25, "size": {"h": 14.0, "w": 21.0, "uom": "cm"}, "instock": True},
    {"item": "notebook", "qty": 50, "size": {"h": 8.5, "w": 11.0, "uom": "in"}, "instock": True},
    {"item": "paper", "qty": 100, "size": {"h": 8.5, "w": 11.0, "uom": "in"}, "instock": 1.0},
    {"item": "planner", "qty": 75, "size": {"h": 22.85, "w": 30.0, "uom": "cm"}, "instock": 1.0},
    {"item": "postcard", "qty": 45, "size": {"h": 10.0, "w": 15.25, "uom": "cm"},
     "instock": True},
    {"item": "apple", "qty": 45, "status": "A", "instock": True},
    {"item": "pears", "qty": 50, "status": "A", "instock": True},
]
MY_SCHEMA = {
    "required": ["item", "qty", "instock"],
    "properties": {
        "item": {"bsonType": "string"},
        "qty": {"bsonType": "int"},
        "size": {"bsonType": "object", "required": ["uom"],
                 "properties": {"uom": {"bsonType": "string"}, "h": {"bsonType": "double"},
                                "w": {"bsonType": "double"}}},
        "instock": {"bsonType": "bool"},
    },
}


def test_json_schema_query_docs_example(db):
    db.inventory.insert_many([dict(d) for d in JSON_SCHEMA_INVENTORY])
    assert items(db.inventory.find({"$jsonSchema": MY_SCHEMA})) == [
        "journal", "notebook", "postcard", "apple", "pears"]
    assert items(db.inventory.find({"$nor": [{"$jsonSchema": MY_SCHEMA}]})) == [
        "paper", "planner"]
    assert db.inventory.count_documents({"$jsonSchema": MY_SCHEMA}) == 5


def test_sort_on_array_uses_whole_array_not_matching_elements(db):
    # "cursor.sort()": since 3.6 the sort key of an array is computed from the whole
    # array, not only the elements the query matched.
    db.c.insert_many([{"_id": 1, "a": [1, 10]}, {"_id": 2, "a": [5, 6]}])
    assert [d["_id"] for d in db.c.find({"a": {"$gt": 5}}).sort("a", 1)] == [1, 2]
    db.c.create_index("a")
    assert [d["_id"] for d in db.c.find({"a": {"$gt": 5}}).sort("a", 1).hint("a_1")] == [1, 2]


# -- "$regex": MongoDB 6.1+ uses PCRE2, so PCRE syntax is the documented contract ----------

PCRE_DOCS = [
    {"_id": 1, "s": "abc\n"}, {"_id": 2, "s": "Ünïcode"}, {"_id": 3, "s": "tab\there"},
    {"_id": 4, "s": "abc"}, {"_id": 5, "s": "x1"}, {"_id": 6, "s": "a.b"},
]


@pytest.mark.parametrize("pattern, expected", [
    (r"abc\Z", [1, 4]),            # \Z: end or before a final newline
    (r"abc\z", [4]),               # \z: very end
    (r"abc$", [1, 4]),
    (r"(?<n>b)c", [1, 4]),         # PCRE named group
    (r"a++bc", [1, 4]),            # possessive quantifier
    (r"(?>ab)c", [1, 4]),          # atomic group
    (r"(?i)ABC", [1, 4]),
    (r"^[[:alpha:]]+\d$", [5]),
    (r"[[:digit:]]", [5]),
    (r"^\p{Lu}", [2]),
    (r"\h", [3]),
    (r"\x{00DC}", [2]),
    (r"\Qa.b\E", [6]),
    (r"c\R", [1]),
    # PCRE defines \b as a \w/\W boundary; the engine's \w is ASCII-only like
    # PCRE2 without UCP (below), so "Ü" is not a word character and \b precedes "n".
    (r"^\w", [1, 3, 4, 5, 6]),
    (r"\bnïc", [2]),
])
@pytest.mark.filterwarnings("ignore::FutureWarning")  # Python re on "[[:alpha:]]"
def test_regex_pcre_syntax(db, pattern, expected):
    db.c.insert_many([dict(d) for d in PCRE_DOCS])
    if pattern in _NEEDS_ATOMIC_GROUPS and sys.version_info < (3, 11):
        # Python's re has atomic groups and possessive quantifiers from 3.11 on:
        # before that the engine refuses them instead of answering differently.
        with pytest.raises(NotImplementedError, match="before Python 3.11"):
            db.c.find_one({"s": {"$regex": pattern}})
        return
    assert [d["_id"] for d in db.c.find({"s": {"$regex": pattern}})] == expected


_NEEDS_ATOMIC_GROUPS = {r"a++bc", r"(?>ab)c"}
