"""Aggregation pipeline stages: the examples of MongoDB's stage reference pages.

Each test loads the documents a docs page uses, runs the page's pipeline
through :func:`run_pipeline`, and checks the documented output (exactly, or
as a set of documents where the server does not define an order) and the
server's error codes for malformed stages.
"""

from __future__ import annotations

import datetime as dt

import pytest
from bson import Decimal128, Int64

from dongo.backends.memory.aggregate import PipelineContext, compile_pipeline, run_pipeline
from dongo.backends.memory.errors import ServerError

D = dt.datetime


def agg(pipeline, docs, **context):
    ctx = PipelineContext(**context) if context else None
    return list(run_pipeline(pipeline, [dict(d) for d in docs], context=ctx))


def by_id(docs):
    return sorted(docs, key=lambda d: repr(d["_id"]))


def error_code(pipeline, docs=(), **context):
    with pytest.raises(ServerError) as info:
        agg(pipeline, docs, **context)
    return info.value.code


SALES = [
    {"_id": 1, "item": "abc", "price": Decimal128("10"), "quantity": 2, "date": D(2014, 3, 1, 8)},
    {"_id": 2, "item": "jkl", "price": Decimal128("20"), "quantity": 1, "date": D(2014, 3, 1, 9)},
    {"_id": 3, "item": "xyz", "price": Decimal128("5"), "quantity": 10, "date": D(2014, 3, 15, 9)},
    {"_id": 4, "item": "xyz", "price": Decimal128("5"), "quantity": 20, "date": D(2014, 4, 4, 11, 21, 39, 736000)},
    {"_id": 5, "item": "abc", "price": Decimal128("10"), "quantity": 10, "date": D(2014, 4, 4, 21, 23, 13, 331000)},
    {"_id": 6, "item": "def", "price": Decimal128("7.5"), "quantity": 5, "date": D(2015, 6, 4, 5, 8, 13)},
    {"_id": 7, "item": "def", "price": Decimal128("7.5"), "quantity": 10, "date": D(2015, 9, 10, 8, 43)},
    {"_id": 8, "item": "abc", "price": Decimal128("10"), "quantity": 5, "date": D(2016, 2, 6, 20, 20, 13)},
]

# ---------------------------------------------------------------------------
# $group
# ---------------------------------------------------------------------------


def test_group_by_item_having():
    result = agg([
        {"$group": {"_id": "$item", "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}}}},
        {"$match": {"totalSaleAmount": {"$gte": 100}}},
    ], SALES)
    assert by_id(result) == [{"_id": "abc", "totalSaleAmount": Decimal128("170")},
                             {"_id": "def", "totalSaleAmount": Decimal128("112.5")},
                             {"_id": "xyz", "totalSaleAmount": Decimal128("150")}]


def test_group_by_null():
    result = agg([{"$group": {"_id": None,
                              "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}},
                              "averageQuantity": {"$avg": "$quantity"},
                              "count": {"$sum": 1}}}], SALES)
    assert result == [{"_id": None, "totalSaleAmount": Decimal128("452.5"), "averageQuantity": 7.875,
                       "count": 8}]


def test_group_by_day_of_2014():
    result = agg([
        {"$match": {"date": {"$gte": D(2014, 1, 1), "$lt": D(2015, 1, 1)}}},
        {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}},
                    "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}},
                    "averageQuantity": {"$avg": "$quantity"},
                    "count": {"$sum": 1}}},
    ], SALES)
    assert by_id(result) == [
        {"_id": "2014-03-01", "totalSaleAmount": Decimal128("40"), "averageQuantity": 1.5, "count": 2},
        {"_id": "2014-03-15", "totalSaleAmount": Decimal128("50"), "averageQuantity": 10.0, "count": 1},
        {"_id": "2014-04-04", "totalSaleAmount": Decimal128("200"), "averageQuantity": 15.0, "count": 2},
    ]


def test_group_distinct_and_compound_keys():
    assert by_id(agg([{"$group": {"_id": "$item"}}], SALES)) == [
        {"_id": "abc"}, {"_id": "def"}, {"_id": "jkl"}, {"_id": "xyz"}]
    result = agg([{"$group": {"_id": {"item": "$item", "y": {"$year": "$date"}}, "n": {"$sum": 1}}}], SALES)
    assert {(d["_id"]["item"], d["_id"]["y"]): d["n"] for d in result} == {
        ("abc", 2014): 2, ("jkl", 2014): 1, ("xyz", 2014): 2, ("def", 2015): 2, ("abc", 2016): 1}


def test_group_key_equality_is_bson_equality():
    docs = [{"k": 1}, {"k": 1.0}, {"k": Int64(1)}, {"k": None}, {}, {"k": [1]}]
    result = agg([{"$group": {"_id": "$k", "n": {"$sum": 1}}}], docs)
    assert result == [{"_id": 1, "n": 3}, {"_id": None, "n": 2}, {"_id": [1], "n": 1}]


def test_group_push_and_root():
    books = [{"_id": 8751, "title": "The Banquet", "author": "Dante", "copies": 2},
             {"_id": 8752, "title": "Divine Comedy", "author": "Dante", "copies": 1},
             {"_id": 8645, "title": "Eclogues", "author": "Dante", "copies": 2},
             {"_id": 7000, "title": "The Odyssey", "author": "Homer", "copies": 10},
             {"_id": 7020, "title": "Iliad", "author": "Homer", "copies": 10}]
    result = agg([{"$group": {"_id": "$author", "books": {"$push": "$title"}}}], books)
    assert result == [{"_id": "Dante", "books": ["The Banquet", "Divine Comedy", "Eclogues"]},
                      {"_id": "Homer", "books": ["The Odyssey", "Iliad"]}]
    result = agg([{"$group": {"_id": "$author", "books": {"$push": "$$ROOT"}}},
                  {"$addFields": {"totalCopies": {"$sum": "$books.copies"}}}], books)
    assert [(d["_id"], d["totalCopies"], len(d["books"])) for d in result] == [("Dante", 5, 3), ("Homer", 20, 2)]


@pytest.mark.parametrize("spec,code", [
    ({"total": {"$sum": 1}}, 15955),
    ({"_id": None, "a.b": {"$sum": 1}}, 40235),
    ({"_id": None, "$a": {"$sum": 1}}, 40236),
    ({"_id": None, "a": 1}, 40234),
    ({"_id": None, "a": {"$sum": 1, "$avg": 1}}, 40238),
    ({"_id": None, "a": {"$foo": 1}}, 15952),
    ({"_id": {"$foo": 1}}, 168),
])
def test_group_errors(spec, code):
    assert error_code([{"$group": spec}]) == code


# ---------------------------------------------------------------------------
# $match, $count, $skip, $limit, $sample
# ---------------------------------------------------------------------------

SCORES = [{"_id": 1, "subject": "History", "score": 88}, {"_id": 2, "subject": "History", "score": 92},
          {"_id": 3, "subject": "History", "score": 97}, {"_id": 4, "subject": "History", "score": 71},
          {"_id": 5, "subject": "History", "score": 79}, {"_id": 6, "subject": "History", "score": 83}]


def test_count_docs_example():
    assert agg([{"$match": {"score": {"$gt": 80}}}, {"$count": "passing_scores"}], SCORES) == [
        {"passing_scores": 4}]
    assert agg([{"$match": {"score": {"$gt": 100}}}, {"$count": "n"}], SCORES) == []


@pytest.mark.parametrize("spec,code", [("", 40156), ("$n", 40158), ("a.b", 40160), (1, 40156)])
def test_count_errors(spec, code):
    assert error_code([{"$count": spec}]) == code


def test_match_with_expr_and_let_variables():
    result = agg([{"$match": {"$expr": {"$gt": ["$score", "$$cut"]}}}], SCORES, variables={"cut": 90})
    assert [d["_id"] for d in result] == [2, 3]


def test_match_rejects_where_and_near():
    assert error_code([{"$match": {"$where": "this.a == 1"}}]) == 16395
    assert error_code([{"$match": {"$or": [{"$where": "1"}]}}]) == 16395
    assert error_code([{"$match": {"loc": {"$near": [0, 0]}}}]) == 16424
    assert error_code([{"$match": 1}]) == 15959


def test_skip_and_limit():
    assert [d["_id"] for d in agg([{"$skip": 2}, {"$limit": 2}], SCORES)] == [3, 4]
    assert [d["_id"] for d in agg([{"$skip": Int64(5)}], SCORES)] == [6]
    assert [d["_id"] for d in agg([{"$limit": 1.0}], SCORES)] == [1]
    assert error_code([{"$skip": -1}]) == 5107200
    assert error_code([{"$skip": "a"}]) == 5107200
    assert error_code([{"$limit": 0}]) == 15958
    assert error_code([{"$limit": -1}]) == 5107201
    assert error_code([{"$limit": 1.5}]) == 5107201


def test_sample():
    result = agg([{"$sample": {"size": 3}}], SCORES)
    assert len(result) == 3 and len({d["_id"] for d in result}) == 3
    assert {d["_id"] for d in result} <= {1, 2, 3, 4, 5, 6}
    assert sorted(d["_id"] for d in agg([{"$sample": {"size": 100}}], SCORES)) == [1, 2, 3, 4, 5, 6]
    assert error_code([{"$sample": {"size": -1}}]) == 28747
    assert error_code([{"$sample": {}}]) == 28749
    assert error_code([{"$sample": {"size": 1, "x": 1}}]) == 28748


# ---------------------------------------------------------------------------
# $addFields / $set / $replaceRoot / $replaceWith / $redact
# ---------------------------------------------------------------------------


def test_add_fields_docs_examples():
    scores = [{"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "extraCredit": 0},
              {"_id": 2, "student": "Ryan", "homework": [5, 6, 5], "quiz": [8, 8], "extraCredit": 8}]
    result = agg([{"$addFields": {"totalHomework": {"$sum": "$homework"}, "totalQuiz": {"$sum": "$quiz"}}},
                  {"$addFields": {"totalScore": {"$add": ["$totalHomework", "$totalQuiz", "$extraCredit"]}}}],
                 scores)
    assert result == [
        {"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "extraCredit": 0,
         "totalHomework": 25, "totalQuiz": 18, "totalScore": 43},
        {"_id": 2, "student": "Ryan", "homework": [5, 6, 5], "quiz": [8, 8], "extraCredit": 8,
         "totalHomework": 16, "totalQuiz": 16, "totalScore": 40}]
    vehicles = [{"_id": 1, "type": "car", "specs": {"doors": 4, "wheels": 4}},
                {"_id": 2, "type": "motorcycle", "specs": {"doors": 0, "wheels": 2}},
                {"_id": 3, "type": "jet ski"}]
    assert agg([{"$addFields": {"specs.fuel_type": "unleaded"}}], vehicles) == [
        {"_id": 1, "type": "car", "specs": {"doors": 4, "wheels": 4, "fuel_type": "unleaded"}},
        {"_id": 2, "type": "motorcycle", "specs": {"doors": 0, "wheels": 2, "fuel_type": "unleaded"}},
        {"_id": 3, "type": "jet ski", "specs": {"fuel_type": "unleaded"}}]
    assert agg([{"$addFields": {"cats": 20}}], [{"_id": 1, "dogs": 10, "cats": 15}]) == [
        {"_id": 1, "dogs": 10, "cats": 20}]
    assert agg([{"$addFields": {"_id": "$item", "item": "fruit"}}],
               [{"_id": 1, "item": "tangerine", "type": "citrus"}]) == [
        {"_id": "tangerine", "item": "fruit", "type": "citrus"}]
    assert agg([{"$match": {"_id": 1}}, {"$addFields": {"homework": {"$concatArrays": ["$homework", [7]]}}}],
               scores)[0]["homework"] == [10, 5, 10, 7]


def test_set_nested_objects_merge_and_apply_to_arrays():
    docs = [{"_id": 1, "a": [{"c": 1}, {"c": 2}, 5], "b": {"x": 1}}]
    assert agg([{"$set": {"a.d": 1, "b": {"y": "$_id"}}}], docs) == [
        {"_id": 1, "a": [{"c": 1, "d": 1}, {"c": 2, "d": 1}, {"d": 1}], "b": {"x": 1, "y": 1}}]


def test_set_remove_and_missing_values():
    docs = [{"_id": 1, "a": 1, "b": 2}]
    assert agg([{"$set": {"a": "$$REMOVE", "c": "$nope"}}], docs) == [{"_id": 1, "b": 2}]


def test_add_fields_does_not_alter_its_input():
    original = {"_id": 1, "s": {"a": 1}}
    docs = [original]
    list(run_pipeline([{"$set": {"s.b": 2, "t": "$s"}}], docs))
    assert original == {"_id": 1, "s": {"a": 1}}


@pytest.mark.parametrize("spec,code", [({}, 40177), ({"$a": 1}, 16410), ({"a..b": 1}, 15998),
                                       ({"a": 1, "a.b": 1}, 40176), ({"a": {"$foo": 1}}, 168)])
def test_add_fields_errors(spec, code):
    assert error_code([{"$addFields": spec}]) == code


PEOPLE = [{"_id": 1, "name": "Arlene", "age": 34, "pets": {"dogs": 2, "cats": 1}},
          {"_id": 2, "name": "Sam", "age": 41, "pets": {"cats": 1, "fish": 3}},
          {"_id": 3, "name": "Maria", "age": 25}]


def test_replace_root_and_replace_with():
    assert agg([{"$replaceRoot": {"newRoot": {"$mergeObjects": [{"dogs": 0, "cats": 0, "birds": 0, "fish": 0},
                                                                 "$pets"]}}}], PEOPLE) == [
        {"dogs": 2, "cats": 1, "birds": 0, "fish": 0},
        {"dogs": 0, "cats": 1, "birds": 0, "fish": 3},
        {"dogs": 0, "cats": 0, "birds": 0, "fish": 0}]
    assert agg([{"$replaceWith": "$pets"}], PEOPLE[:2]) == [{"dogs": 2, "cats": 1}, {"cats": 1, "fish": 3}]
    assert error_code([{"$replaceRoot": {"newRoot": "$pets"}}], PEOPLE) == 40228
    assert error_code([{"$replaceWith": "$name"}], PEOPLE) == 40228
    assert error_code([{"$replaceRoot": {}}]) == 40414
    assert error_code([{"$replaceRoot": {"newRoot": "$a", "x": 1}}]) == 40415


def test_redact():
    doc = {"_id": 1, "level": 1, "acct": {"level": 2, "id": "x"},
           "items": [{"level": 1, "sku": "a"}, {"level": 3, "sku": "b"}]}
    result = agg([{"$redact": {"$cond": {"if": {"$lte": ["$level", 2]}, "then": "$$DESCEND",
                                         "else": "$$PRUNE"}}}], [doc])
    assert result == [{"_id": 1, "level": 1, "acct": {"level": 2, "id": "x"}, "items": [{"level": 1, "sku": "a"}]}]
    assert agg([{"$redact": "$$PRUNE"}], [doc]) == []
    assert agg([{"$redact": "$$KEEP"}], [doc]) == [doc]
    # $$KEEP/$$PRUNE/$$DESCEND are the strings "keep"/"prune"/"descend" on the server
    assert agg([{"$project": {"k": "$$KEEP", "p": "$$PRUNE", "d": "$$DESCEND"}}], [doc]) == [
        {"_id": doc["_id"], "k": "keep", "p": "prune", "d": "descend"}]
    assert agg([{"$redact": {"$literal": "keep"}}], [doc]) == [doc]
    assert error_code([{"$redact": "x"}], [doc]) == 17053


# ---------------------------------------------------------------------------
# $unwind
# ---------------------------------------------------------------------------

CLOTHING = [{"_id": 1, "item": "Shirt", "sizes": ["S", "M", "L"]},
            {"_id": 2, "item": "Shorts", "sizes": []},
            {"_id": 3, "item": "Hat", "sizes": "M"},
            {"_id": 4, "item": "Gloves"},
            {"_id": 5, "item": "Scarf", "sizes": None}]


def test_unwind_docs_examples():
    assert agg([{"$unwind": "$sizes"}], CLOTHING) == [
        {"_id": 1, "item": "Shirt", "sizes": "S"}, {"_id": 1, "item": "Shirt", "sizes": "M"},
        {"_id": 1, "item": "Shirt", "sizes": "L"}, {"_id": 3, "item": "Hat", "sizes": "M"}]
    assert agg([{"$unwind": {"path": "$sizes", "preserveNullAndEmptyArrays": True}}], CLOTHING) == [
        {"_id": 1, "item": "Shirt", "sizes": "S"}, {"_id": 1, "item": "Shirt", "sizes": "M"},
        {"_id": 1, "item": "Shirt", "sizes": "L"}, {"_id": 2, "item": "Shorts"},
        {"_id": 3, "item": "Hat", "sizes": "M"}, {"_id": 4, "item": "Gloves"},
        {"_id": 5, "item": "Scarf", "sizes": None}]
    result = agg([{"$unwind": {"path": "$sizes", "includeArrayIndex": "arrayIndex"}}], CLOTHING)
    assert result == [
        {"_id": 1, "item": "Shirt", "sizes": "S", "arrayIndex": Int64(0)},
        {"_id": 1, "item": "Shirt", "sizes": "M", "arrayIndex": Int64(1)},
        {"_id": 1, "item": "Shirt", "sizes": "L", "arrayIndex": Int64(2)},
        {"_id": 3, "item": "Hat", "sizes": "M", "arrayIndex": None}]
    assert all(type(d["arrayIndex"]) in (Int64, type(None)) for d in result)


def test_unwind_nested_path():
    docs = [{"_id": 1, "a": {"b": [1, 2], "c": 0}}]
    assert agg([{"$unwind": "$a.b"}], docs) == [{"_id": 1, "a": {"b": 1, "c": 0}}, {"_id": 1, "a": {"b": 2, "c": 0}}]
    assert docs == [{"_id": 1, "a": {"b": [1, 2], "c": 0}}]


@pytest.mark.parametrize("spec,code", [
    ("sizes", 28818), ({"path": "sizes"}, 28818), ({}, 28812), ({"path": "$a", "x": 1}, 28811),
    ({"path": "$a", "preserveNullAndEmptyArrays": 1}, 28809), ({"path": "$a", "includeArrayIndex": "$i"}, 28822),
    ({"path": 1}, 28808), (1, 15981),
])
def test_unwind_errors(spec, code):
    assert error_code([{"$unwind": spec}]) == code


# ---------------------------------------------------------------------------
# $lookup, $graphLookup, $unionWith
# ---------------------------------------------------------------------------

ORDERS = [{"_id": 1, "item": "almonds", "price": 12, "quantity": 2},
          {"_id": 2, "item": "pecans", "price": 20, "quantity": 1},
          {"_id": 3}]
INVENTORY = [{"_id": 1, "sku": "almonds", "description": "product 1", "instock": 120},
             {"_id": 2, "sku": "bread", "description": "product 2", "instock": 80},
             {"_id": 3, "sku": "cashews", "description": "product 3", "instock": 60},
             {"_id": 4, "sku": "pecans", "description": "product 4", "instock": 70},
             {"_id": 5, "sku": None, "description": "Incomplete"},
             {"_id": 6}]


def test_lookup_equality_docs_example():
    result = agg([{"$lookup": {"from": "inventory", "localField": "item", "foreignField": "sku",
                               "as": "inventory_docs"}}], ORDERS, collections={"inventory": INVENTORY})
    assert result == [
        {**ORDERS[0], "inventory_docs": [INVENTORY[0]]},
        {**ORDERS[1], "inventory_docs": [INVENTORY[3]]},
        {"_id": 3, "inventory_docs": [INVENTORY[4], INVENTORY[5]]},
    ]


def test_lookup_with_arrays():
    classes = [{"_id": 1, "title": "Reading is ...", "enrollmentlist": ["giraffe2", "pandabear", "artie"]},
               {"_id": 2, "title": "But Writing ...", "enrollmentlist": ["giraffe1", "artie"]}]
    members = [{"_id": 1, "name": "artie"}, {"_id": 2, "name": "giraffe"}, {"_id": 3, "name": "giraffe1"},
               {"_id": 4, "name": "pandabear"}, {"_id": 5, "name": "giraffe2"}]
    result = agg([{"$lookup": {"from": "members", "localField": "enrollmentlist", "foreignField": "name",
                               "as": "enrollee_info"}}], classes, collections={"members": members})
    assert [[m["_id"] for m in d["enrollee_info"]] for d in result] == [[1, 4, 5], [1, 3]]
    # A foreign array field matches by any element.
    tags = [{"_id": 1, "tags": ["a", "b"]}, {"_id": 2, "tags": ["c"]}]
    result = agg([{"$lookup": {"from": "t", "localField": "tag", "foreignField": "tags", "as": "m"}}],
                 [{"_id": 1, "tag": "b"}], collections={"t": tags})
    assert result == [{"_id": 1, "tag": "b", "m": [{"_id": 1, "tags": ["a", "b"]}]}]


def test_lookup_pipeline_with_let():
    orders = [{"_id": 1, "item": "almonds", "price": 12, "ordered": 2},
              {"_id": 2, "item": "pecans", "price": 20, "ordered": 1},
              {"_id": 3, "item": "cookies", "price": 10, "ordered": 60}]
    warehouses = [{"_id": 1, "stock_item": "almonds", "warehouse": "A", "instock": 120},
                  {"_id": 2, "stock_item": "pecans", "warehouse": "A", "instock": 80},
                  {"_id": 3, "stock_item": "almonds", "warehouse": "B", "instock": 60},
                  {"_id": 4, "stock_item": "cookies", "warehouse": "B", "instock": 40},
                  {"_id": 5, "stock_item": "cookies", "warehouse": "A", "instock": 80}]
    result = agg([{"$lookup": {
        "from": "warehouses", "let": {"order_item": "$item", "order_qty": "$ordered"},
        "pipeline": [{"$match": {"$expr": {"$and": [{"$eq": ["$stock_item", "$$order_item"]},
                                                    {"$gte": ["$instock", "$$order_qty"]}]}}},
                     {"$project": {"stock_item": 0, "_id": 0}}],
        "as": "stockdata"}}], orders, collections={"warehouses": warehouses})
    assert [d["stockdata"] for d in result] == [
        [{"warehouse": "A", "instock": 120}, {"warehouse": "B", "instock": 60}],
        [{"warehouse": "A", "instock": 80}],
        [{"warehouse": "A", "instock": 80}]]


def test_lookup_concise_correlated_subquery():
    restaurants = [{"_id": 1, "name": "American Steak House", "food": ["filet", "sirloin"],
                    "beverages": ["beer", "wine"]},
                   {"_id": 2, "name": "Honest John Pizza", "food": ["cheese pizza", "pepperoni pizza"],
                    "beverages": ["soda"]}]
    orders = [{"_id": 1, "item": "filet", "restaurant_name": "American Steak House"},
              {"_id": 2, "item": "cheese pizza", "restaurant_name": "Honest John Pizza", "drink": "lemonade"},
              {"_id": 3, "item": "cheese pizza", "restaurant_name": "Honest John Pizza", "drink": "soda"}]
    result = agg([{"$lookup": {"from": "restaurants", "localField": "restaurant_name", "foreignField": "name",
                               "let": {"orders_drink": "$drink"},
                               "pipeline": [{"$match": {"$expr": {"$in": ["$$orders_drink", "$beverages"]}}}],
                               "as": "matches"}}], orders, collections={"restaurants": restaurants})
    assert [[r["_id"] for r in d["matches"]] for d in result] == [[], [], [2]]


@pytest.mark.parametrize("spec,code", [
    ({"from": "x", "localField": "a", "foreignField": "b"}, 9),
    ({"from": "x", "localField": "a", "as": "b"}, 9),
    ({"from": "x", "as": "b"}, 9),
    ({"from": "x", "as": "b", "pipeline": [], "bogus": 1}, 9),
    ({"from": "x", "as": "b", "pipeline": [{"$out": "y"}]}, 51047),
    ({"from": "x", "as": "b", "let": {"A": 1}, "pipeline": []}, 16867),
    ({"from": "x", "as": "b", "pipeline": [{"$match": {"$expr": "$$nope"}}]}, 17276),
])
def test_lookup_errors(spec, code):
    assert error_code([{"$lookup": spec}]) == code


def test_graph_lookup_docs_example():
    employees = [{"_id": 1, "name": "Dev"}, {"_id": 2, "name": "Eliot", "reportsTo": "Dev"},
                 {"_id": 3, "name": "Ron", "reportsTo": "Eliot"}, {"_id": 4, "name": "Andrew", "reportsTo": "Eliot"},
                 {"_id": 5, "name": "Asya", "reportsTo": "Ron"}, {"_id": 6, "name": "Dan", "reportsTo": "Andrew"}]
    result = agg([{"$graphLookup": {"from": "employees", "startWith": "$reportsTo", "connectFromField": "reportsTo",
                                    "connectToField": "name", "as": "reportingHierarchy", "depthField": "depth"}}],
                 employees, collections={"employees": employees})
    hierarchy = {d["name"]: sorted((r["name"], r["depth"]) for r in d["reportingHierarchy"]) for d in result}
    assert hierarchy == {"Dev": [], "Eliot": [("Dev", 0)], "Ron": [("Dev", 1), ("Eliot", 0)],
                         "Andrew": [("Dev", 1), ("Eliot", 0)], "Asya": [("Dev", 2), ("Eliot", 1), ("Ron", 0)],
                         "Dan": [("Andrew", 0), ("Dev", 2), ("Eliot", 1)]}
    assert all(type(r["depth"]) is Int64 for d in result for r in d["reportingHierarchy"])
    result = agg([{"$graphLookup": {"from": "employees", "startWith": "$reportsTo", "connectFromField": "reportsTo",
                                    "connectToField": "name", "as": "h", "maxDepth": 0}}],
                 employees[4:5], collections={"employees": employees})
    assert [r["name"] for r in result[0]["h"]] == ["Ron"]


def test_union_with():
    s2017 = [{"store": "A", "item": "Chocolates", "quantity": 150}]
    s2018 = [{"store": "A", "item": "Cookies", "quantity": 100}, {"store": "B", "item": "Cookies", "quantity": 120}]
    result = agg([{"$set": {"_id": "2017"}},
                  {"$unionWith": {"coll": "s2018", "pipeline": [{"$set": {"_id": "2018"}}]}},
                  {"$group": {"_id": "$item", "total": {"$sum": "$quantity"}}}],
                 s2017, collections={"s2018": s2018})
    assert result == [{"_id": "Chocolates", "total": 150}, {"_id": "Cookies", "total": 220}]
    assert len(agg([{"$unionWith": "s2018"}], s2017, collections={"s2018": s2018})) == 3
    assert len(agg([{"$unionWith": "nothing"}], s2017)) == 1


# ---------------------------------------------------------------------------
# $bucket, $bucketAuto, $facet
# ---------------------------------------------------------------------------

ARTISTS = [
    {"_id": 1, "last_name": "Bernard", "first_name": "Emil", "year_born": 1868, "year_died": 1941, "nationality": "France"},
    {"_id": 2, "last_name": "Rippl-Ronai", "first_name": "Joszef", "year_born": 1861, "year_died": 1927, "nationality": "Hungary"},
    {"_id": 3, "last_name": "Ostroumova", "first_name": "Anna", "year_born": 1871, "year_died": 1955, "nationality": "Russia"},
    {"_id": 4, "last_name": "Van Gogh", "first_name": "Vincent", "year_born": 1853, "year_died": 1890, "nationality": "Holland"},
    {"_id": 5, "last_name": "Maurer", "first_name": "Alfred", "year_born": 1868, "year_died": 1932, "nationality": "USA"},
    {"_id": 6, "last_name": "Munch", "first_name": "Edvard", "year_born": 1863, "year_died": 1944, "nationality": "Norway"},
    {"_id": 7, "last_name": "Redon", "first_name": "Odilon", "year_born": 1840, "year_died": 1916, "nationality": "France"},
    {"_id": 8, "last_name": "Diriks", "first_name": "Edvard", "year_born": 1855, "year_died": 1930, "nationality": "Norway"},
]


def test_bucket_docs_example():
    result = agg([{"$bucket": {"groupBy": "$year_born", "boundaries": [1840, 1850, 1860, 1870, 1880],
                               "default": "Other",
                               "output": {"count": {"$sum": 1},
                                          "artists": {"$push": {"name": {"$concat": ["$first_name", " ",
                                                                                      "$last_name"]},
                                                                "year_born": "$year_born"}}}}},
                  {"$match": {"count": {"$gt": 3}}}], ARTISTS)
    assert result == [{"_id": 1860, "count": 4, "artists": [
        {"name": "Emil Bernard", "year_born": 1868}, {"name": "Joszef Rippl-Ronai", "year_born": 1861},
        {"name": "Alfred Maurer", "year_born": 1868}, {"name": "Edvard Munch", "year_born": 1863}]}]


def test_bucket_default_and_counts():
    docs = ARTISTS + [{"_id": 9, "year_born": 1900}, {"_id": 10}]
    result = agg([{"$bucket": {"groupBy": "$year_born", "boundaries": [1840, 1850, 1860, 1870, 1880],
                               "default": "Other"}}], docs)
    assert result == [{"_id": 1840, "count": 1}, {"_id": 1850, "count": 2}, {"_id": 1860, "count": 4},
                      {"_id": 1870, "count": 1}, {"_id": "Other", "count": 2}]
    assert error_code([{"$bucket": {"groupBy": "$year_born", "boundaries": [1840, 1850]}}], docs) == 40066


@pytest.mark.parametrize("spec,code", [
    ({"groupBy": "$a", "boundaries": [1]}, 40192),
    ({"groupBy": "$a", "boundaries": [1, "a"]}, 40193),
    ({"groupBy": "$a", "boundaries": [2, 1]}, 40194),
    ({"groupBy": "$a", "boundaries": [1, 3], "default": 2}, 40199),
    ({"groupBy": "a", "boundaries": [1, 3]}, 40202),
    ({"groupBy": "$a"}, 40198),
    ({"groupBy": "$a", "boundaries": [1, 2], "x": 1}, 40197),
])
def test_bucket_errors(spec, code):
    assert error_code([{"$bucket": spec}]) == code


ARTWORK = [
    {"_id": 1, "title": "The Pillars of Society", "artist": "Grosz", "year": 1926, "price": Decimal128("199.99")},
    {"_id": 2, "title": "Melancholy III", "artist": "Munch", "year": 1902, "price": Decimal128("280.00")},
    {"_id": 3, "title": "Dancer", "artist": "Miro", "year": 1925, "price": Decimal128("76.04")},
    {"_id": 4, "title": "The Great Wave off Kanagawa", "artist": "Hokusai", "price": Decimal128("167.30")},
    {"_id": 5, "title": "The Persistence of Memory", "artist": "Dali", "year": 1931, "price": Decimal128("483.00")},
    {"_id": 6, "title": "Composition VII", "artist": "Kandinsky", "year": 1913, "price": Decimal128("385.00")},
    {"_id": 7, "title": "The Scream", "artist": "Munch", "year": 1893},
    {"_id": 8, "title": "Blue Flower", "artist": "O'Keefe", "year": 1918, "price": Decimal128("118.42")},
]


def test_bucket_auto_docs_example():
    assert agg([{"$bucketAuto": {"groupBy": "$price", "buckets": 4}}], ARTWORK) == [
        {"_id": {"min": None, "max": Decimal128("118.42")}, "count": 2},
        {"_id": {"min": Decimal128("118.42"), "max": Decimal128("199.99")}, "count": 2},
        {"_id": {"min": Decimal128("199.99"), "max": Decimal128("385.00")}, "count": 2},
        {"_id": {"min": Decimal128("385.00"), "max": Decimal128("483.00")}, "count": 2}]
    result = agg([{"$bucketAuto": {"groupBy": "$year", "buckets": 3,
                                   "output": {"count": {"$sum": 1}, "years": {"$push": "$year"}}}}], ARTWORK)
    assert [d["count"] for d in result] == [3, 3, 2]
    assert result[0]["_id"] == {"min": None, "max": 1913}
    assert error_code([{"$bucketAuto": {"groupBy": "$a", "buckets": 0}}]) == 40243


def test_facet():
    result = agg([{"$facet": {
        "byCentury": [{"$bucket": {"groupBy": "$year", "boundaries": [1800, 1900, 2000], "default": "unknown"}}],
        "expensive": [{"$match": {"price": {"$gt": 300}}}, {"$count": "n"}],
        "none": [{"$match": {"nope": 1}}]}}], ARTWORK)
    assert result == [{"byCentury": [{"_id": 1800, "count": 1}, {"_id": 1900, "count": 6},
                                     {"_id": "unknown", "count": 1}],
                       "expensive": [{"n": 2}], "none": []}]
    assert error_code([{"$facet": {}}]) == 40169
    assert error_code([{"$facet": {"a": 1}}]) == 40170
    assert error_code([{"$facet": {"a": [{"$out": "x"}]}}]) == 40600
    assert error_code([{"$facet": {"a": [{"$facet": {"b": []}}]}}]) == 40600


# ---------------------------------------------------------------------------
# Pipeline validation, $out/$merge placement, unsupported stages
# ---------------------------------------------------------------------------


def test_pipeline_validation_errors():
    with pytest.raises(ServerError) as info:
        compile_pipeline([{"$foo": {}}])
    assert (info.value.code, info.value.errmsg) == (40324, "Unrecognized pipeline stage name: '$foo'")
    with pytest.raises(ServerError) as info:
        compile_pipeline([{"$match": {}, "$limit": 1}])
    assert info.value.code == 40323
    assert info.value.errmsg == "A pipeline stage specification object must contain exactly one field."
    assert error_code([{}]) == 40323
    assert error_code(["$match"]) == 40323
    assert error_code([{"$out": "x"}, {"$match": {}}]) == 40601
    assert error_code([{"$merge": {"into": "x"}}, {"$match": {}}]) == 40601


def test_validation_happens_before_any_document():
    # The bad second stage fails even though no document flows.
    assert error_code([{"$match": {}}, {"$group": {}}], []) == 15955


def test_unsupported_stages_name_themselves():
    for stage in ("$geoNear", "$searchMeta", "$search", "$changeStream", "$collStats", "$indexStats",
                  "$currentOp"):
        with pytest.raises(NotImplementedError, match=stage.replace("$", r"\$")):
            compile_pipeline([{stage: {}}])


def test_out_and_merge_call_the_context():
    calls = []

    class Ctx(PipelineContext):
        def out(self, db, coll, docs):
            calls.append(("out", db, coll, docs))

        def merge(self, db, coll, docs, on, when_matched, when_not_matched, let):
            calls.append(("merge", db, coll, docs, on, when_matched, when_not_matched, let))

    docs = [{"_id": 1, "a": 1}]
    assert list(run_pipeline([{"$out": "target"}], docs, context=Ctx())) == []
    assert list(run_pipeline([{"$merge": {"into": {"db": "d", "coll": "c"}, "on": ["a"],
                                          "whenMatched": "replace"}}], docs, context=Ctx())) == []
    assert calls == [("out", None, "target", docs),
                     ("merge", "d", "c", docs, ("a",), "replace", "insert", None)]


def test_update_pipelines_allow_only_shaping_stages():
    from dongo.backends.memory.aggregate import UPDATE_STAGES

    assert list(compile_pipeline([{"$set": {"a": 1}}], allowed=UPDATE_STAGES).run([{"_id": 1}])) == [
        {"_id": 1, "a": 1}]
    with pytest.raises(ServerError) as info:
        compile_pipeline([{"$match": {}}], allowed=UPDATE_STAGES)
    assert info.value.code == 72


def test_merge_matched_document():
    from dongo.backends.memory.aggregate import merge_matched_document

    existing, new = {"_id": 1, "a": 1, "n": 1}, {"_id": 1, "b": 2, "n": 5}
    assert merge_matched_document(existing, new, "merge", None) == {"_id": 1, "a": 1, "n": 5, "b": 2}
    assert merge_matched_document(existing, new, "replace", None) == new
    assert merge_matched_document(existing, new, "keepExisting", None) is None
    assert merge_matched_document(existing, new, [{"$set": {"n": {"$add": ["$n", "$$new.n"]}}}], None) == {
        "_id": 1, "a": 1, "n": 6}
    with pytest.raises(ServerError):
        merge_matched_document(existing, new, "fail", None)


def test_now_is_stable_within_a_run():
    now = D(2021, 5, 6, 7, 8, 9)
    result = agg([{"$set": {"t": "$$NOW"}}], [{"_id": 1}, {"_id": 2}], now=now)
    assert [d["t"] for d in result] == [now, now]


# ---------------------------------------------------------------------------
# $sort, $sortByCount
# ---------------------------------------------------------------------------

EXHIBITS = [
    {"_id": 1, "title": "The Pillars of Society", "artist": "Grosz", "year": 1926,
     "tags": ["painting", "satire", "Expressionism", "caricature"]},
    {"_id": 2, "title": "Melancholy III", "artist": "Munch", "year": 1902, "tags": ["woodcut", "Expressionism"]},
    {"_id": 3, "title": "Dancer", "artist": "Miro", "year": 1925, "tags": ["oil", "Surrealism", "painting"]},
    {"_id": 4, "title": "The Great Wave off Kanagawa", "artist": "Hokusai", "tags": ["woodblock", "ukiyo-e"]},
    {"_id": 5, "title": "The Persistence of Memory", "artist": "Dali", "year": 1931,
     "tags": ["Surrealism", "painting", "oil"]},
    {"_id": 6, "title": "Composition VII", "artist": "Kandinsky", "year": 1913, "tags": ["oil", "painting", "abstract"]},
    {"_id": 7, "title": "The Scream", "artist": "Munch", "year": 1893, "tags": ["Expressionism", "painting", "oil"]},
    {"_id": 8, "title": "Blue Flower", "artist": "O'Keefe", "year": 1918, "tags": ["abstract", "painting"]},
]


def test_sort_by_count_docs_example():
    result = agg([{"$unwind": "$tags"}, {"$sortByCount": "$tags"}], EXHIBITS)
    assert {d["_id"]: d["count"] for d in result} == {
        "painting": 6, "oil": 4, "Expressionism": 3, "Surrealism": 2, "abstract": 2, "woodblock": 1,
        "woodcut": 1, "ukiyo-e": 1, "satire": 1, "caricature": 1}
    assert [d["count"] for d in result] == sorted((d["count"] for d in result), reverse=True)
    assert result[:3] == [{"_id": "painting", "count": 6}, {"_id": "oil", "count": 4},
                          {"_id": "Expressionism", "count": 3}]
    assert error_code([{"$sortByCount": "tags"}]) == 40148
    assert error_code([{"$sortByCount": {"a": 1}}]) == 40147


def test_sort_and_top_k():
    by_year = agg([{"$match": {"year": {"$exists": True}}}, {"$sort": {"year": -1, "_id": 1}}], EXHIBITS)
    assert [d["year"] for d in by_year] == [1931, 1926, 1925, 1918, 1913, 1902, 1893]
    top = agg([{"$sort": {"year": 1}}, {"$limit": 2}], EXHIBITS)
    assert [d["_id"] for d in top] == [4, 7]  # a missing year sorts first
    ties = agg([{"$sort": {"artist": 1}}, {"$project": {"_id": 1}}], EXHIBITS)
    assert [d["_id"] for d in ties] == [5, 1, 4, 6, 3, 2, 7, 8]  # stable within equal keys
    assert error_code([{"$sort": {}}]) == 15976
    assert error_code([{"$sort": 1}]) == 15973


def test_facet_docs_example():
    result = agg([{"$facet": {
        "categorizedByTags": [{"$unwind": "$tags"}, {"$sortByCount": "$tags"}, {"$limit": 2}],
        "categorizedByYears": [{"$match": {"year": {"$exists": 1}}},
                               {"$bucket": {"groupBy": "$year", "boundaries": [1890, 1910, 1920, 1940]}}],
        "categorizedByYears(Auto)": [{"$bucketAuto": {"groupBy": "$year", "buckets": 4}}]}}], EXHIBITS)
    assert result == [{
        "categorizedByTags": [{"_id": "painting", "count": 6}, {"_id": "oil", "count": 4}],
        "categorizedByYears": [{"_id": 1890, "count": 2}, {"_id": 1910, "count": 2}, {"_id": 1920, "count": 3}],
        "categorizedByYears(Auto)": [{"_id": {"min": None, "max": 1902}, "count": 2},
                                     {"_id": {"min": 1902, "max": 1918}, "count": 2},
                                     {"_id": {"min": 1918, "max": 1926}, "count": 2},
                                     {"_id": {"min": 1926, "max": 1931}, "count": 2}]}]


def test_lookup_local_values_follow_the_server():
    foreign = [{"_id": 1, "k": 1}, {"_id": 2, "k": None}, {"_id": 3}]
    pipeline = [{"$lookup": {"from": "f", "localField": "a.b", "foreignField": "k", "as": "m"}}]
    result = agg(pipeline, [{"_id": 1, "a": [{"b": 1}, {"c": 2}]}, {"_id": 2, "a": []}, {"_id": 3}],
                 collections={"f": foreign})
    # Only values that exist join; nothing at all joins as null (null and missing foreign keys).
    assert [[m["_id"] for m in d["m"]] for d in result] == [[1], [2, 3], [2, 3]]


def test_collation_applies_to_group_keys_and_lookup_joins():
    collation = {"locale": "en", "strength": 2}
    docs = [{"_id": 1, "c": "Cat"}, {"_id": 2, "c": "cat"}, {"_id": 3, "c": "dog"}]
    result = agg([{"$group": {"_id": "$c", "n": {"$sum": 1}}}], docs, collation=collation)
    assert result == [{"_id": "Cat", "n": 2}, {"_id": "dog", "n": 1}]
    assert len(agg([{"$group": {"_id": "$c"}}], docs)) == 3
    result = agg([{"$lookup": {"from": "f", "localField": "c", "foreignField": "name", "as": "m"}}],
                 docs[:1], collation=collation, collections={"f": [{"_id": 9, "name": "CAT"}]})
    assert result[0]["m"] == [{"_id": 9, "name": "CAT"}]


def test_facets_do_not_see_each_others_edits():
    docs = [{"_id": 1, "a": {"x": 1, "y": 2}, "b": 3}]
    result = agg([{"$facet": {"drop": [{"$project": {"a.x": 0, "b": 0}}], "keep": [{"$match": {}}]}}], docs)
    assert result == [{"drop": [{"_id": 1, "a": {"y": 2}}], "keep": [{"_id": 1, "a": {"x": 1, "y": 2}, "b": 3}]}]


def test_correlated_lookup_shortcut_gives_the_same_answers():
    foreign = [{"_id": 1, "sku": "a"}, {"_id": 2, "sku": ["a", "b"]}, {"_id": 3}, {"_id": 4, "sku": None},
               {"_id": 5, "sku": "A"}, {"_id": 6, "sku": "a", "n": 0}]
    outer = [{"_id": 10, "item": "a"}, {"_id": 11, "item": ["a", "b"]}, {"_id": 12}, {"_id": 13, "item": None}]

    def run(eq_args, **kw):
        pipeline = [{"$lookup": {"from": "f", "let": {"it": "$item"}, "as": "m",
                                 "pipeline": [{"$match": {"$expr": {"$and": [{"$eq": eq_args}, True]}}},
                                              {"$project": {"_id": 1}}]}}]
        return [[m["_id"] for m in d["m"]] for d in agg(pipeline, outer, collections={"f": foreign}, **kw)]

    hinted = run(["$sku", "$$it"])
    plain = run([{"$ifNull": ["$sku", "$sku"]}, {"$ifNull": ["$$it", "$$it"]}])  # not recognised: full scan
    # A missing value only equals missing, an array only the same array (no element matching in $expr).
    assert hinted == plain == [[1, 6], [2], [3], [4]]


def test_project_sees_let_variables_and_now():
    now = D(2020, 1, 1)
    result = agg([{"$project": {"_id": 0, "t": "$$NOW", "v": {"$add": ["$a", "$$x"]}}}], [{"a": 1}, {"a": 2}],
                 now=now, variables={"x": 5})
    assert result == [{"t": now, "v": 6}, {"t": now, "v": 7}]
    assert error_code([{"$project": {"v": "$$nope"}}]) == 17276


def test_collation_reaches_expr_project_graph_lookup_and_bucket():
    ci = {"locale": "en", "strength": 2}
    docs = [{"_id": 1, "s": "A"}]
    assert agg([{"$match": {"$expr": {"$eq": ["$s", "a"]}}}], docs, collation=ci) == docs
    assert agg([{"$match": {"$expr": {"$eq": ["$s", "a"]}}}], docs) == []
    assert agg([{"$project": {"o": {"$eq": ["$s", "a"]}}}], docs, collation=ci) == [{"_id": 1, "o": True}]
    people = [{"_id": 1, "username": "erica", "friends": ["jeremy", "jimmy"]}, {"_id": 2, "username": "JEREMY"},
              {"_id": 3, "username": "JIMMY"}]
    stage = {"$graphLookup": {"from": "g", "startWith": "$friends", "connectFromField": "friends",
                              "connectToField": "username", "as": "f"}}
    assert len(agg([stage], people[:1], collections={"g": people})[0]["f"]) == 0
    assert len(agg([stage], people[:1], collections={"g": people}, collation=ci)[0]["f"]) == 2
    assert agg([{"$bucket": {"groupBy": "$s", "boundaries": ["a", "c"]}}], [{"s": "B"}, {"s": "a"}],
               collation=ci) == [{"_id": "a", "count": 2}]


def test_collation_reaches_window_densify_and_bucket_auto():
    # The server partitions $setWindowFields by sorting on partitionBy and
    # comparing keys with the aggregation's value comparator (its collation);
    # $densify partitions are a map under the same comparator.
    ci = {"locale": "en", "strength": 2}
    docs = [{"_id": 1, "s": "a", "v": 1}, {"_id": 2, "s": "A", "v": 3}, {"_id": 3, "s": "b", "v": 5}]
    window = [{"$setWindowFields": {"partitionBy": "$s", "sortBy": {"v": 1},
                                    "output": {"n": {"$sum": "$v"}}}}, {"$project": {"n": 1}}]
    assert agg(window, docs, collation=ci) == [{"_id": 1, "n": 4}, {"_id": 2, "n": 4}, {"_id": 3, "n": 5}]
    assert by_id(agg(window, docs)) == [{"_id": 1, "n": 1}, {"_id": 2, "n": 3}, {"_id": 3, "n": 5}]
    densify = [{"$densify": {"field": "v", "partitionByFields": ["s"],
                             "range": {"step": 1, "bounds": "partition"}}}]
    assert [d["v"] for d in agg(densify, docs[:2], collation=ci)] == [1, 2, 3]
    assert sorted(d["v"] for d in agg(densify, docs[:2])) == [1, 3]
    rank = [{"$setWindowFields": {"sortBy": {"s": 1},
                                  "output": {"r": {"$rank": {}}, "d": {"$denseRank": {}}}}},
            {"$project": {"r": 1, "d": 1}}]
    assert agg(rank, docs, collation=ci) == [  # "a" and "A" tie under the collation
        {"_id": 1, "r": 1, "d": 1}, {"_id": 2, "r": 1, "d": 1}, {"_id": 3, "r": 3, "d": 2}]
    assert agg(rank, docs) == [
        {"_id": 2, "r": 1, "d": 1}, {"_id": 1, "r": 2, "d": 2}, {"_id": 3, "r": 3, "d": 3}]
    bucket_auto = [{"$bucketAuto": {"groupBy": "$s", "buckets": 2}}]
    letters = [{"s": "a"}, {"s": "B"}, {"s": "b"}, {"s": "c"}]
    assert agg(bucket_auto, letters, collation=ci) == [  # "B" and "b" are one value: one bucket
        {"_id": {"min": "a", "max": "c"}, "count": 3}, {"_id": {"min": "c", "max": "c"}, "count": 1}]
    assert agg(bucket_auto, letters) == [
        {"_id": {"min": "B", "max": "b"}, "count": 2}, {"_id": {"min": "b", "max": "c"}, "count": 2}]
    with pytest.raises(ServerError) as info:
        agg([{"$setWindowFields": {"partitionBy": "$t", "output": {"n": {"$count": {}}}}}], [{"t": [1]}])
    assert (info.value.code, info.value.errmsg) == (14, "Cannot 'partitionBy' an expression of type array")


# Stage argument checks: the server's order and exact wording.
@pytest.mark.parametrize("stage, code, message", [
    ({"$fill": {"x": 1}}, 40415, "BSON field '$fill.x' is an unknown field."),
    ({"$densify": {"field": "a"}}, 40414, "BSON field '$densify.range' is missing but a required field"),
    ({"$merge": 5}, 51182, "$merge only supports a string or object argument, not int"),
    ({"$bucket": 5}, 40201, "Argument to $bucket stage must be an object, but found type: int."),
    ({"$bucket": {"groupBy": "$a"}}, 40198, "$bucket requires 'groupBy' and 'boundaries' to be specified."),
    ({"$graphLookup": {"from": "c"}}, 40105, "$graphLookup requires 'startWith' to be specified"),
    ({"$sample": {}}, 28749, "$sample stage must specify a size"),
])
def test_stage_argument_errors(stage, code, message):
    with pytest.raises(ServerError) as info:
        compile_pipeline([stage])
    assert (info.value.code, info.value.args[0]) == (code, message)
