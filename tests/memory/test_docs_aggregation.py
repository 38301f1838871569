"""Fidelity audit: aggregation stage and expression pages of the MongoDB manual
($group, $unwind, $lookup, $project, $addFields, $bucket, $sortByCount, $count,
$replaceRoot, $facet, date and array expressions ...) run end to end on
MemoryClient (see docs/audit.md)."""

import datetime

import pytest
from bson import Binary, Code, DBRef, Decimal128, Int64, MinKey, ObjectId, Regex, Timestamp
from pymongo.errors import OperationFailure

from dongo.backends.memory import MemoryClient


@pytest.fixture
def db():
    return MemoryClient()["test"]


def D(s):
    return Decimal128(s)


def dt(*args):
    return datetime.datetime(*args)


# -- "$group (aggregation)" --------------------------------------------------------------

SALES = [
    {"_id": 1, "item": "abc", "price": D("10"), "quantity": 2, "date": dt(2014, 3, 1, 8, 0, 0)},
    {"_id": 2, "item": "jkl", "price": D("20"), "quantity": 1, "date": dt(2014, 3, 1, 9, 0, 0)},
    {"_id": 3, "item": "xyz", "price": D("5"), "quantity": 10, "date": dt(2014, 3, 15, 9, 0, 0)},
    {"_id": 4, "item": "xyz", "price": D("5"), "quantity": 20,
     "date": dt(2014, 4, 4, 11, 21, 39, 736000)},
    {"_id": 5, "item": "abc", "price": D("10"), "quantity": 10,
     "date": dt(2014, 4, 4, 21, 23, 13, 331000)},
    {"_id": 6, "item": "def", "price": D("7.5"), "quantity": 5, "date": dt(2015, 6, 4, 5, 8, 13)},
    {"_id": 7, "item": "def", "price": D("7.5"), "quantity": 10, "date": dt(2015, 9, 10, 8, 43, 0)},
    {"_id": 8, "item": "abc", "price": D("10"), "quantity": 5, "date": dt(2016, 2, 6, 20, 20, 13)},
]


@pytest.fixture
def sales(db):
    db.sales.insert_many([dict(d) for d in SALES])
    return db.sales


def test_group_count_documents(sales):
    assert list(sales.aggregate([{"$group": {"_id": None, "count": {"$count": {}}}}])) == [
        {"_id": None, "count": 8}]
    assert list(sales.aggregate([{"$group": {"_id": None, "count": {"$sum": 1}}}])) == [
        {"_id": None, "count": 8}]


def test_group_distinct_values(sales):
    got = list(sales.aggregate([{"$group": {"_id": "$item"}}, {"$sort": {"_id": 1}}]))
    assert got == [{"_id": "abc"}, {"_id": "def"}, {"_id": "jkl"}, {"_id": "xyz"}]


def test_group_by_item_having(sales):
    got = list(sales.aggregate([
        {"$group": {"_id": "$item",
                    "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}}}},
        {"$match": {"totalSaleAmount": {"$gte": 100}}},
        {"$sort": {"_id": 1}},
    ]))
    assert got == [{"_id": "abc", "totalSaleAmount": D("170")},
                   {"_id": "def", "totalSaleAmount": D("112.5")},
                   {"_id": "xyz", "totalSaleAmount": D("150")}]


def test_group_by_day_of_year(sales):
    got = list(sales.aggregate([
        {"$match": {"date": {"$gte": dt(2014, 1, 1), "$lt": dt(2015, 1, 1)}}},
        {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}},
                    "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}},
                    "averageQuantity": {"$avg": "$quantity"},
                    "count": {"$sum": 1}}},
        {"$sort": {"totalSaleAmount": -1}},
    ]))
    assert got == [
        {"_id": "2014-04-04", "totalSaleAmount": D("200"), "averageQuantity": 15.0, "count": 2},
        {"_id": "2014-03-15", "totalSaleAmount": D("50"), "averageQuantity": 10.0, "count": 1},
        {"_id": "2014-03-01", "totalSaleAmount": D("40"), "averageQuantity": 1.5, "count": 2},
    ]


def test_group_by_null(sales):
    got = list(sales.aggregate([
        {"$group": {"_id": None,
                    "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}},
                    "averageQuantity": {"$avg": "$quantity"},
                    "count": {"$sum": 1}}}]))
    assert got == [{"_id": None, "totalSaleAmount": D("452.5"), "averageQuantity": 7.875,
                    "count": 8}]
    assert list(got[0]) == ["_id", "totalSaleAmount", "averageQuantity", "count"]


def test_group_first_last_after_sort(sales):
    got = list(sales.aggregate([
        {"$sort": {"item": 1, "date": 1}},
        {"$group": {"_id": "$item", "firstSale": {"$first": "$date"},
                    "lastSale": {"$last": "$date"}, "maxQ": {"$max": "$quantity"},
                    "minQ": {"$min": "$quantity"}}},
        {"$sort": {"_id": 1}},
    ]))
    assert got == [
        {"_id": "abc", "firstSale": dt(2014, 3, 1, 8), "lastSale": dt(2016, 2, 6, 20, 20, 13),
         "maxQ": 10, "minQ": 2},
        {"_id": "def", "firstSale": dt(2015, 6, 4, 5, 8, 13), "lastSale": dt(2015, 9, 10, 8, 43),
         "maxQ": 10, "minQ": 5},
        {"_id": "jkl", "firstSale": dt(2014, 3, 1, 9), "lastSale": dt(2014, 3, 1, 9),
         "maxQ": 1, "minQ": 1},
        {"_id": "xyz", "firstSale": dt(2014, 3, 15, 9),
         "lastSale": dt(2014, 4, 4, 11, 21, 39, 736000), "maxQ": 20, "minQ": 10},
    ]


BOOKS = [
    {"_id": 8751, "title": "The Banquet", "author": "Dante", "copies": 2},
    {"_id": 8752, "title": "Divine Comedy", "author": "Dante", "copies": 1},
    {"_id": 8645, "title": "Eclogues", "author": "Dante", "copies": 2},
    {"_id": 7000, "title": "The Odyssey", "author": "Homer", "copies": 10},
    {"_id": 7020, "title": "Iliad", "author": "Homer", "copies": 10},
]


def test_group_pivot_titles_by_author(db):
    db.books.insert_many(BOOKS)
    got = list(db.books.aggregate([{"$group": {"_id": "$author", "books": {"$push": "$title"}}},
                                   {"$sort": {"_id": 1}}]))
    assert got == [{"_id": "Dante", "books": ["The Banquet", "Divine Comedy", "Eclogues"]},
                   {"_id": "Homer", "books": ["The Odyssey", "Iliad"]}]


def test_group_root_documents_and_sum_of_array(db):
    db.books.insert_many(BOOKS)
    got = list(db.books.aggregate([
        {"$group": {"_id": "$author", "books": {"$push": "$$ROOT"}}},
        {"$addFields": {"totalCopies": {"$sum": "$books.copies"}}},
        {"$sort": {"_id": 1}},
    ]))
    assert [(g["_id"], g["totalCopies"]) for g in got] == [("Dante", 5), ("Homer", 20)]
    assert got[1]["books"] == [BOOKS[3], BOOKS[4]]


def test_group_add_to_set_and_accumulator_on_missing(db):
    db.c.insert_many([{"_id": 1, "k": "a", "v": 1}, {"_id": 2, "k": "a", "v": 1},
                      {"_id": 3, "k": "a"}, {"_id": 4, "k": "b", "v": "x"}])
    got = list(db.c.aggregate([
        {"$group": {"_id": "$k", "s": {"$addToSet": "$v"}, "sum": {"$sum": "$v"},
                    "avg": {"$avg": "$v"}, "n": {"$sum": 1}}},
        {"$sort": {"_id": 1}}]))
    # "$sum": non-numeric values are ignored; "$avg": null when no numeric input
    assert got == [{"_id": "a", "s": [1], "sum": 2, "avg": 1.0, "n": 3},
                   {"_id": "b", "s": ["x"], "sum": 0, "avg": None, "n": 1}]


def test_group_requires_id(db):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.aggregate([{"$group": {"n": {"$sum": 1}}}]))
    assert exc.value.code == 15955


# -- "$unwind (aggregation)" --------------------------------------------------------------

CLOTHING = [
    {"_id": 1, "item": "Shirt", "sizes": ["S", "M", "L"]},
    {"_id": 2, "item": "Shorts", "sizes": []},
    {"_id": 3, "item": "Hat", "sizes": "M"},
    {"_id": 4, "item": "Gloves"},
    {"_id": 5, "item": "Scarf", "sizes": None},
]


def test_unwind_basic(db):
    db.clothing.insert_many(CLOTHING)
    assert list(db.clothing.aggregate([{"$unwind": "$sizes"}])) == [
        {"_id": 1, "item": "Shirt", "sizes": "S"},
        {"_id": 1, "item": "Shirt", "sizes": "M"},
        {"_id": 1, "item": "Shirt", "sizes": "L"},
        {"_id": 3, "item": "Hat", "sizes": "M"},
    ]


def test_unwind_preserve_null_and_empty(db):
    db.clothing.insert_many(CLOTHING)
    assert list(db.clothing.aggregate([{"$unwind": {"path": "$sizes",
                                                    "preserveNullAndEmptyArrays": True}}])) == [
        {"_id": 1, "item": "Shirt", "sizes": "S"},
        {"_id": 1, "item": "Shirt", "sizes": "M"},
        {"_id": 1, "item": "Shirt", "sizes": "L"},
        {"_id": 2, "item": "Shorts"},
        {"_id": 3, "item": "Hat", "sizes": "M"},
        {"_id": 4, "item": "Gloves"},
        {"_id": 5, "item": "Scarf", "sizes": None},
    ]


def test_unwind_include_array_index(db):
    db.clothing.insert_many(CLOTHING)
    assert list(db.clothing.aggregate([{"$unwind": {"path": "$sizes",
                                                    "includeArrayIndex": "arrayIndex"}}])) == [
        {"_id": 1, "item": "Shirt", "sizes": "S", "arrayIndex": 0},
        {"_id": 1, "item": "Shirt", "sizes": "M", "arrayIndex": 1},
        {"_id": 1, "item": "Shirt", "sizes": "L", "arrayIndex": 2},
        {"_id": 3, "item": "Hat", "sizes": "M", "arrayIndex": None},
    ]


def test_unwind_preserve_and_index(db):
    db.clothing.insert_many(CLOTHING)
    got = list(db.clothing.aggregate([{"$unwind": {
        "path": "$sizes", "includeArrayIndex": "idx", "preserveNullAndEmptyArrays": True}}]))
    assert got[3:] == [
        {"_id": 2, "item": "Shorts", "idx": None},
        {"_id": 3, "item": "Hat", "sizes": "M", "idx": None},
        {"_id": 4, "item": "Gloves", "idx": None},
        {"_id": 5, "item": "Scarf", "sizes": None, "idx": None},
    ]


def test_unwind_embedded_array_then_group(db):
    # "$unwind": "Unwind Embedded Arrays"
    db.sales2.insert_many([
        {"_id": "1", "items": [
            {"name": "pens", "tags": ["writing", "office", "school", "stationary"],
             "price": D("12.00"), "quantity": 5},
            {"name": "envelopes", "tags": ["stationary", "office"], "price": D("1.95"),
             "quantity": 8}]},
        {"_id": "2", "items": [
            {"name": "laptop", "tags": ["office", "electronics"], "price": D("800.00"),
             "quantity": 1},
            {"name": "notepad", "tags": ["stationary", "school"], "price": D("14.95"),
             "quantity": 3}]},
    ])
    got = list(db.sales2.aggregate([
        {"$unwind": "$items"}, {"$unwind": "$items.tags"},
        {"$group": {"_id": "$items.tags",
                    "totalSalesAmount": {"$sum": {"$multiply": ["$items.price",
                                                                "$items.quantity"]}}}},
        {"$sort": {"_id": 1}}]))
    assert got == [
        {"_id": "electronics", "totalSalesAmount": D("800.00")},
        {"_id": "office", "totalSalesAmount": D("875.60")},
        {"_id": "school", "totalSalesAmount": D("104.85")},
        {"_id": "stationary", "totalSalesAmount": D("120.45")},
        {"_id": "writing", "totalSalesAmount": D("60.00")},
    ]


# -- "$lookup (aggregation)" ---------------------------------------------------------------

def test_lookup_equality_match_null_and_missing(db):
    db.orders.insert_many([{"_id": 1, "item": "almonds", "price": 12, "quantity": 2},
                           {"_id": 2, "item": "pecans", "price": 20, "quantity": 1},
                           {"_id": 3}])
    db.inventory.insert_many([
        {"_id": 1, "sku": "almonds", "description": "product 1", "instock": 120},
        {"_id": 2, "sku": "bread", "description": "product 2", "instock": 80},
        {"_id": 3, "sku": "cashews", "description": "product 3", "instock": 60},
        {"_id": 4, "sku": "pecans", "description": "product 4", "instock": 70},
        {"_id": 5, "sku": None, "description": "Incomplete"},
        {"_id": 6},
    ])
    got = list(db.orders.aggregate([{"$lookup": {"from": "inventory", "localField": "item",
                                                 "foreignField": "sku",
                                                 "as": "inventory_docs"}}]))
    assert got == [
        {"_id": 1, "item": "almonds", "price": 12, "quantity": 2, "inventory_docs": [
            {"_id": 1, "sku": "almonds", "description": "product 1", "instock": 120}]},
        {"_id": 2, "item": "pecans", "price": 20, "quantity": 1, "inventory_docs": [
            {"_id": 4, "sku": "pecans", "description": "product 4", "instock": 70}]},
        {"_id": 3, "inventory_docs": [
            {"_id": 5, "sku": None, "description": "Incomplete"}, {"_id": 6}]},
    ]


def test_lookup_array_local_field(db):
    db.classes.insert_many([
        {"_id": 1, "title": "Reading is ...", "enrollmentlist": ["giraffe2", "pandabear", "artie"],
         "days": ["M", "W", "F"]},
        {"_id": 2, "title": "But Writing ...", "enrollmentlist": ["giraffe1", "artie"],
         "days": ["T", "F"]},
    ])
    db.members.insert_many([
        {"_id": 1, "name": "artie", "status": "A"},
        {"_id": 2, "name": "giraffe", "status": "D"},
        {"_id": 3, "name": "giraffe1", "status": "A"},
        {"_id": 4, "name": "panda", "status": "A"},
        {"_id": 5, "name": "pandabear", "status": "A"},
        {"_id": 6, "name": "giraffe2", "status": "D"},
    ])
    got = list(db.classes.aggregate([{"$lookup": {"from": "members",
                                                  "localField": "enrollmentlist",
                                                  "foreignField": "name",
                                                  "as": "enrollee_info"}}]))
    assert [[m["_id"] for m in c["enrollee_info"]] for c in got] == [[1, 5, 6], [1, 3]]


def test_lookup_merge_objects_replace_root(db):
    db.orders.insert_many([{"_id": 1, "item": "almonds", "price": 12, "quantity": 2},
                           {"_id": 2, "item": "pecans", "price": 20, "quantity": 1}])
    db.items.insert_many([
        {"_id": 1, "item": "almonds", "description": "almond clusters", "instock": 120},
        {"_id": 2, "item": "bread", "description": "raisin and nut bread", "instock": 80},
        {"_id": 3, "item": "pecans", "description": "candied pecans", "instock": 60},
    ])
    got = list(db.orders.aggregate([
        {"$lookup": {"from": "items", "localField": "item", "foreignField": "item",
                     "as": "fromItems"}},
        {"$replaceRoot": {"newRoot": {"$mergeObjects": [{"$arrayElemAt": ["$fromItems", 0]},
                                                        "$$ROOT"]}}},
        {"$project": {"fromItems": 0}},
    ]))
    assert got == [
        {"_id": 1, "item": "almonds", "description": "almond clusters", "instock": 120,
         "price": 12, "quantity": 2},
        {"_id": 2, "item": "pecans", "description": "candied pecans", "instock": 60,
         "price": 20, "quantity": 1},
    ]
    assert list(got[0]) == ["_id", "item", "description", "instock", "price", "quantity"]


def test_lookup_pipeline_with_let(db):
    db.orders.insert_many([{"_id": 1, "item": "almonds", "price": 12, "ordered": 2},
                           {"_id": 2, "item": "pecans", "price": 20, "ordered": 1},
                           {"_id": 3, "item": "cookies", "price": 10, "ordered": 60}])
    db.warehouses.insert_many([
        {"_id": 1, "stock_item": "almonds", "warehouse": "A", "instock": 120},
        {"_id": 2, "stock_item": "pecans", "warehouse": "A", "instock": 80},
        {"_id": 3, "stock_item": "almonds", "warehouse": "B", "instock": 60},
        {"_id": 4, "stock_item": "cookies", "warehouse": "B", "instock": 40},
        {"_id": 5, "stock_item": "cookies", "warehouse": "A", "instock": 80},
    ])
    got = list(db.orders.aggregate([{"$lookup": {
        "from": "warehouses", "let": {"order_item": "$item", "order_qty": "$ordered"},
        "pipeline": [
            {"$match": {"$expr": {"$and": [{"$eq": ["$stock_item", "$$order_item"]},
                                           {"$gte": ["$instock", "$$order_qty"]}]}}},
            {"$project": {"stock_item": 0, "_id": 0}}],
        "as": "stockdata"}}]))
    assert [o["stockdata"] for o in got] == [
        [{"warehouse": "A", "instock": 120}, {"warehouse": "B", "instock": 60}],
        [{"warehouse": "A", "instock": 80}],
        [{"warehouse": "A", "instock": 80}],
    ]


def test_lookup_concise_correlated_subquery(db):
    # 5.0+: localField/foreignField together with pipeline
    db.restaurants.insert_many([
        {"_id": 1, "name": "American Steak House", "food": ["filet", "sirloin"],
         "beverages": ["beer", "wine"]},
        {"_id": 2, "name": "Honest John Pizza", "food": ["cheese pizza", "pepperoni pizza"],
         "beverages": ["soda"]},
    ])
    db.orders.insert_many([
        {"_id": 1, "item": "filet", "restaurant_name": "American Steak House"},
        {"_id": 2, "item": "cheese pizza", "restaurant_name": "Honest John Pizza",
         "drink": "lemonade"},
        {"_id": 3, "item": "cheese pizza", "restaurant_name": "Honest John Pizza",
         "drink": "soda"},
    ])
    got = list(db.orders.aggregate([{"$lookup": {
        "from": "restaurants", "localField": "restaurant_name", "foreignField": "name",
        "let": {"orders_drink": "$drink"},
        "pipeline": [{"$match": {"$expr": {"$in": ["$$orders_drink", "$beverages"]}}}],
        "as": "matches"}}]))
    assert [[m["_id"] for m in o["matches"]] for o in got] == [[], [], [2]]


# -- "$project (aggregation)" ---------------------------------------------------------------

PROJECT_BOOKS = [
    {"_id": 1, "title": "abc123", "isbn": "0001122223334",
     "author": {"last": "zzz", "first": "aaa"}, "copies": 5, "lastModified": "2016-07-28"},
    {"_id": 2, "title": "Baked Goods", "isbn": "9999999999999",
     "author": {"last": "xyz", "first": "abc", "middle": ""}, "copies": 2,
     "lastModified": "2017-07-21"},
    {"_id": 3, "title": "Ice Cream Cakes", "isbn": "8888888888888",
     "author": {"last": "xyz", "first": "abc", "middle": "mmm"}, "copies": 5,
     "lastModified": "2017-07-22"},
]


@pytest.fixture
def books(db):
    db.books.insert_many([dict(d) for d in PROJECT_BOOKS])
    return db.books


def test_project_include_and_suppress_id(books):
    assert list(books.aggregate([{"$match": {"_id": 1}}, {"$project": {"title": 1,
                                                                      "author": 1}}])) == [
        {"_id": 1, "title": "abc123", "author": {"last": "zzz", "first": "aaa"}}]
    assert list(books.aggregate([{"$match": {"_id": 1}},
                                 {"$project": {"_id": 0, "title": 1, "author": 1}}])) == [
        {"title": "abc123", "author": {"last": "zzz", "first": "aaa"}}]


def test_project_exclude_fields_and_embedded(books):
    assert list(books.aggregate([{"$match": {"_id": 1}},
                                 {"$project": {"lastModified": 0, "author.first": 0}}])) == [
        {"_id": 1, "title": "abc123", "isbn": "0001122223334", "author": {"last": "zzz"},
         "copies": 5}]


def test_project_computed_fields(books):
    got = list(books.aggregate([{"$match": {"_id": 1}}, {"$project": {
        "title": 1,
        "isbn": {"prefix": {"$substr": ["$isbn", 0, 3]},
                 "group": {"$substr": ["$isbn", 3, 2]},
                 "publisher": {"$substr": ["$isbn", 5, 4]},
                 "title": {"$substr": ["$isbn", 9, 3]},
                 "checkDigit": {"$substr": ["$isbn", 12, 1]}},
        "lastName": "$author.last",
        "copiesSold": "$copies"}}]))
    assert got == [{"_id": 1, "title": "abc123",
                    "isbn": {"prefix": "000", "group": "11", "publisher": "2222",
                             "title": "333", "checkDigit": "4"},
                    "lastName": "zzz", "copiesSold": 5}]
    assert list(got[0]) == ["_id", "title", "isbn", "lastName", "copiesSold"]


def test_project_conditionally_remove_with_remove_variable(books):
    got = list(books.aggregate([{"$project": {
        "title": 1, "author.first": 1, "author.last": 1,
        "author.middle": {"$cond": {"if": {"$eq": ["", "$author.middle"]},
                                    "then": "$$REMOVE", "else": "$author.middle"}}}}]))
    assert got == [
        {"_id": 1, "title": "abc123", "author": {"last": "zzz", "first": "aaa"}},
        {"_id": 2, "title": "Baked Goods", "author": {"last": "xyz", "first": "abc"}},
        {"_id": 3, "title": "Ice Cream Cakes",
         "author": {"last": "xyz", "first": "abc", "middle": "mmm"}},
    ]


def test_project_new_array_fields_missing_becomes_null(db):
    db.c.insert_one({"_id": ObjectId("55ad167f320c6be244eb3b95"), "x": 1, "y": 1})
    assert list(db.c.aggregate([{"$project": {"myArray": ["$x", "$y"]}}])) == [
        {"_id": ObjectId("55ad167f320c6be244eb3b95"), "myArray": [1, 1]}]
    assert list(db.c.aggregate([{"$project": {"myArray": ["$x", "$y", "$someField"]}}])) == [
        {"_id": ObjectId("55ad167f320c6be244eb3b95"), "myArray": [1, 1, None]}]


def test_project_mixing_inclusion_and_exclusion_is_an_error(books):
    with pytest.raises(OperationFailure) as exc:
        list(books.aggregate([{"$project": {"title": 1, "copies": 0}}]))
    assert exc.value.code == 31254


def test_project_empty_is_an_error(books):
    with pytest.raises(OperationFailure) as exc:
        list(books.aggregate([{"$project": {}}]))
    assert exc.value.code == 51272


# -- "$addFields" / "$set" / "$unset" ----------------------------------------------------------

def test_add_fields_twice(db):
    db.scores.insert_many([
        {"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "extraCredit": 0},
        {"_id": 2, "student": "Ryan", "homework": [5, 6, 5], "quiz": [8, 8], "extraCredit": 8},
    ])
    got = list(db.scores.aggregate([
        {"$addFields": {"totalHomework": {"$sum": "$homework"}, "totalQuiz": {"$sum": "$quiz"}}},
        {"$addFields": {"totalScore": {"$add": ["$totalHomework", "$totalQuiz",
                                                "$extraCredit"]}}}]))
    assert got == [
        {"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "extraCredit": 0,
         "totalHomework": 25, "totalQuiz": 18, "totalScore": 43},
        {"_id": 2, "student": "Ryan", "homework": [5, 6, 5], "quiz": [8, 8], "extraCredit": 8,
         "totalHomework": 16, "totalQuiz": 16, "totalScore": 40},
    ]


def test_add_fields_embedded_and_overwrite(db):
    db.vehicles.insert_many([{"_id": 1, "type": "car", "specs": {"doors": 4, "wheels": 4}},
                             {"_id": 2, "type": "motorcycle", "specs": {"doors": 0, "wheels": 2}},
                             {"_id": 3, "type": "jet ski"}])
    assert list(db.vehicles.aggregate([{"$addFields": {"specs.fuel_type": "unleaded"}}])) == [
        {"_id": 1, "type": "car", "specs": {"doors": 4, "wheels": 4, "fuel_type": "unleaded"}},
        {"_id": 2, "type": "motorcycle",
         "specs": {"doors": 0, "wheels": 2, "fuel_type": "unleaded"}},
        {"_id": 3, "type": "jet ski", "specs": {"fuel_type": "unleaded"}},
    ]
    db.animals.insert_one({"_id": 1, "dogs": 10, "cats": 15})
    assert list(db.animals.aggregate([{"$addFields": {"cats": 20}}])) == [
        {"_id": 1, "dogs": 10, "cats": 20}]
    db.fruit.insert_one({"_id": "first", "item": "apple", "type": "red"})
    assert list(db.fruit.aggregate([{"$addFields": {"_id": "$item", "item": "fruit"}}])) == [
        {"_id": "apple", "item": "fruit", "type": "red"}]


def test_set_stage_concat_arrays(db):
    db.scores.insert_one({"_id": 1, "student": "Maya", "homework": [10, 5, 10]})
    assert list(db.scores.aggregate([{"$set": {"homework": {"$concatArrays": [
        "$homework", [7]]}}}]))[0]["homework"] == [10, 5, 10, 7]


def test_unset_stage(books):
    assert list(books.aggregate([{"$match": {"_id": 1}},
                                 {"$unset": ["isbn", "author.first", "copies"]}])) == [
        {"_id": 1, "title": "abc123", "author": {"last": "zzz"}, "lastModified": "2016-07-28"}]
    assert list(books.aggregate([{"$match": {"_id": 1}}, {"$unset": "isbn"},
                                 {"$project": {"isbn": 1}}])) == [{"_id": 1}]


# -- "$bucket", "$bucketAuto", "$sortByCount", "$count", "$facet" ----------------------------

ARTISTS = [
    {"_id": 1, "last_name": "Bernard", "first_name": "Emil", "year_born": 1868,
     "year_died": 1941, "nationality": "France"},
    {"_id": 2, "last_name": "Rippl-Ronai", "first_name": "Joszef", "year_born": 1861,
     "year_died": 1927, "nationality": "Hungary"},
    {"_id": 3, "last_name": "Ostroumova", "first_name": "Anna", "year_born": 1871,
     "year_died": 1955, "nationality": "Russia"},
    {"_id": 4, "last_name": "Van Gogh", "first_name": "Vincent", "year_born": 1853,
     "year_died": 1890, "nationality": "Holland"},
    {"_id": 5, "last_name": "Maurer", "first_name": "Alfred", "year_born": 1868,
     "year_died": 1932, "nationality": "USA"},
    {"_id": 6, "last_name": "Munch", "first_name": "Edvard", "year_born": 1863,
     "year_died": 1944, "nationality": "Norway"},
    {"_id": 7, "last_name": "Redon", "first_name": "Odilon", "year_born": 1840,
     "year_died": 1916, "nationality": "France"},
    {"_id": 8, "last_name": "Diriks", "first_name": "Edvard", "year_born": 1855,
     "year_died": 1930, "nationality": "Norway"},
]


def test_bucket_by_year_with_filter(db):
    db.artists.insert_many(ARTISTS)
    got = list(db.artists.aggregate([
        {"$bucket": {"groupBy": "$year_born", "boundaries": [1840, 1850, 1860, 1870, 1880],
                     "default": "Other",
                     "output": {"count": {"$sum": 1},
                                "artists": {"$push": {"name": {"$concat": [
                                    "$first_name", " ", "$last_name"]},
                                    "year_born": "$year_born"}}}}},
        {"$match": {"count": {"$gt": 3}}}]))
    assert got == [{"_id": 1860, "count": 4, "artists": [
        {"name": "Emil Bernard", "year_born": 1868},
        {"name": "Joszef Rippl-Ronai", "year_born": 1861},
        {"name": "Alfred Maurer", "year_born": 1868},
        {"name": "Edvard Munch", "year_born": 1863}]}]


def test_bucket_default_and_count_only(db):
    db.artists.insert_many(ARTISTS)
    got = list(db.artists.aggregate([{"$bucket": {"groupBy": "$year_born",
                                                  "boundaries": [1850, 1860, 1870],
                                                  "default": "Other"}}]))
    assert got == [{"_id": 1850, "count": 2}, {"_id": 1860, "count": 4},
                   {"_id": "Other", "count": 2}]


def test_bucket_without_default_fails_on_out_of_range(db):
    db.artists.insert_many(ARTISTS)
    with pytest.raises(OperationFailure) as exc:
        list(db.artists.aggregate([{"$bucket": {"groupBy": "$year_born",
                                                "boundaries": [1850, 1860]}}]))
    assert exc.value.code == 40066


def test_bucket_auto(db):
    db.c.insert_many([{"_id": i, "price": p} for i, p in enumerate([1, 2, 3, 4, 5, 6, 7, 8])])
    got = list(db.c.aggregate([{"$bucketAuto": {"groupBy": "$price", "buckets": 4}}]))
    assert got == [{"_id": {"min": 1, "max": 3}, "count": 2},
                   {"_id": {"min": 3, "max": 5}, "count": 2},
                   {"_id": {"min": 5, "max": 7}, "count": 2},
                   {"_id": {"min": 7, "max": 8}, "count": 2}]


EXHIBITS = [
    {"_id": 1, "title": "The Pillars of Society", "artist": "Grosz", "year": 1926,
     "tags": ["painting", "satire", "Expressionism", "caricature"]},
    {"_id": 2, "title": "Melancholy III", "artist": "Munch", "year": 1902,
     "tags": ["woodcut", "Expressionism"]},
    {"_id": 3, "title": "Dancer", "artist": "Miro", "year": 1925,
     "tags": ["oil", "Surrealism", "painting"]},
    {"_id": 4, "title": "The Great Wave off Kanagawa", "artist": "Hokusai",
     "tags": ["woodblock", "ukiyo-e"]},
    {"_id": 5, "title": "The Persistence of Memory", "artist": "Dali", "year": 1931,
     "tags": ["Surrealism", "painting", "oil"]},
    {"_id": 6, "title": "Composition VII", "artist": "Kandinsky", "year": 1913,
     "tags": ["oil", "painting", "abstract"]},
    {"_id": 7, "title": "The Scream", "artist": "Munch", "year": 1893,
     "tags": ["Expressionism", "painting", "oil"]},
    {"_id": 8, "title": "Blue Flower", "artist": "O'Keefe", "year": 1918,
     "tags": ["abstract", "painting"]},
]


def test_sort_by_count(db):
    db.exhibits.insert_many(EXHIBITS)
    got = list(db.exhibits.aggregate([{"$unwind": "$tags"}, {"$sortByCount": "$tags"}]))
    assert got[:3] == [{"_id": "painting", "count": 6}, {"_id": "oil", "count": 4},
                       {"_id": "Expressionism", "count": 3}]
    assert sorted((g["count"], g["_id"]) for g in got[3:]) == [
        (1, "caricature"), (1, "satire"), (1, "ukiyo-e"), (1, "woodblock"), (1, "woodcut"),
        (2, "Surrealism"), (2, "abstract")]


def test_count_stage(db):
    db.scores.insert_many([{"_id": i, "subject": "History", "score": s}
                           for i, s in enumerate([88, 92, 97, 71, 79, 83], 1)])
    assert list(db.scores.aggregate([{"$match": {"score": {"$gt": 80}}},
                                     {"$count": "passing_scores"}])) == [{"passing_scores": 4}]
    assert list(db.scores.aggregate([{"$match": {"score": {"$gt": 100}}},
                                     {"$count": "n"}])) == []


def test_facet(db):
    db.artwork.insert_many([
        {"_id": 1, "title": "The Pillars of Society", "artist": "Grosz", "year": 1926,
         "price": D("199.99"), "tags": ["painting", "satire"]},
        {"_id": 2, "title": "Melancholy III", "artist": "Munch", "year": 1902,
         "price": D("280.00"), "tags": ["woodcut", "Expressionism"]},
        {"_id": 3, "title": "Dancer", "artist": "Miro", "year": 1925, "price": D("76.04"),
         "tags": ["oil", "painting"]},
    ])
    got = list(db.artwork.aggregate([{"$facet": {
        "categorizedByTags": [{"$unwind": "$tags"}, {"$sortByCount": "$tags"},
                              {"$match": {"count": 2}}],
        "priceStats": [{"$group": {"_id": None, "max": {"$max": "$price"},
                                   "n": {"$sum": 1}}}],
        "none": [{"$match": {"year": 0}}],
    }}]))
    assert got == [{"categorizedByTags": [{"_id": "painting", "count": 2}],
                    "priceStats": [{"_id": None, "max": D("280.00"), "n": 3}],
                    "none": []}]


# -- "$replaceRoot" / "$replaceWith" ----------------------------------------------------------

PEOPLE = [
    {"_id": 1, "name": "Arlene", "age": 34, "pets": {"dogs": 2, "cats": 1}},
    {"_id": 2, "name": "Sam", "age": 41, "pets": {"cats": 1, "fish": 3}},
    {"_id": 3, "name": "Maria", "age": 25},
]


def test_replace_root_with_merge_objects_defaults(db):
    db.people.insert_many(PEOPLE)
    got = list(db.people.aggregate([{"$replaceRoot": {"newRoot": {"$mergeObjects": [
        {"dogs": 0, "cats": 0, "birds": 0, "fish": 0}, "$pets"]}}}]))
    assert got == [{"dogs": 2, "cats": 1, "birds": 0, "fish": 0},
                   {"dogs": 0, "cats": 1, "birds": 0, "fish": 3},
                   {"dogs": 0, "cats": 0, "birds": 0, "fish": 0}]
    assert all(list(g) == ["dogs", "cats", "birds", "fish"] for g in got)


def test_replace_root_missing_document_fails(db):
    db.people.insert_many(PEOPLE)
    with pytest.raises(OperationFailure) as exc:
        list(db.people.aggregate([{"$replaceRoot": {"newRoot": "$pets"}}]))
    assert exc.value.code == 40228


def test_replace_with_new_document(db):
    db.gotFood.insert_many([{"_id": 1, "food": "apples", "amount": 3}])
    assert list(db.gotFood.aggregate([{"$replaceWith": {"item": "$food", "n": "$amount"}}])) == [
        {"item": "apples", "n": 3}]


# -- "$sort", "$skip", "$limit", "$sample", "$unionWith", "$out", "$merge" ---------------

def test_sort_skip_limit_stages(db):
    db.c.insert_many([{"_id": i, "v": v} for i, v in enumerate([5, 3, 9, 1, 7])])
    assert [d["v"] for d in db.c.aggregate([{"$sort": {"v": -1}}, {"$skip": 1},
                                            {"$limit": 3}])] == [7, 5, 3]


def test_union_with(db):
    db.sales_2017.insert_many([{"store": "General Store", "item": "Chocolates", "quantity": 150},
                               {"store": "ZZ Shop", "item": "Chocolates", "quantity": 15}])
    db.sales_2018.insert_many([{"store": "General Store", "item": "Cookies", "quantity": 100},
                               {"store": "ZZ Shop", "item": "Chocolates", "quantity": 25}])
    got = list(db.sales_2017.aggregate([
        {"$set": {"_id": "2017"}},
        {"$unionWith": {"coll": "sales_2018", "pipeline": [{"$set": {"_id": "2018"}}]}},
        {"$group": {"_id": "$item", "total": {"$sum": "$quantity"}}},
        {"$sort": {"total": -1}}]))
    assert got == [{"_id": "Chocolates", "total": 190}, {"_id": "Cookies", "total": 100}]


def test_out_replaces_collection(db):
    db.books.insert_many(BOOKS)
    db.authors.insert_one({"_id": "stale"})
    assert list(db.books.aggregate([{"$group": {"_id": "$author",
                                                "books": {"$push": "$title"}}},
                                    {"$sort": {"_id": 1}}, {"$out": "authors"}])) == []
    assert list(db.authors.find().sort("_id", 1)) == [
        {"_id": "Dante", "books": ["The Banquet", "Divine Comedy", "Eclogues"]},
        {"_id": "Homer", "books": ["The Odyssey", "Iliad"]}]


def test_merge_into_collection(db):
    db.salaries.insert_many([
        {"_id": 1, "employee": "Ant", "dept": "A", "salary": 100000, "fiscal_year": 2017},
        {"_id": 2, "employee": "Bee", "dept": "A", "salary": 120000, "fiscal_year": 2017},
        {"_id": 3, "employee": "Cat", "dept": "Z", "salary": 115000, "fiscal_year": 2017},
        {"_id": 4, "employee": "Ant", "dept": "A", "salary": 115000, "fiscal_year": 2018},
    ])
    list(db.salaries.aggregate([
        {"$group": {"_id": {"fiscal_year": "$fiscal_year", "dept": "$dept"},
                    "salaries": {"$sum": "$salary"}}},
        {"$merge": {"into": "budgets", "whenMatched": "replace"}}]))
    got = sorted(db.budgets.find(), key=lambda d: (d["_id"]["fiscal_year"], d["_id"]["dept"]))
    assert got == [{"_id": {"fiscal_year": 2017, "dept": "A"}, "salaries": 220000},
                   {"_id": {"fiscal_year": 2017, "dept": "Z"}, "salaries": 115000},
                   {"_id": {"fiscal_year": 2018, "dept": "A"}, "salaries": 115000}]


def test_unknown_stage(db):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.aggregate([{"$foo": {}}]))
    assert exc.value.code == 40324
    assert exc.value.details["errmsg"] == "Unrecognized pipeline stage name: '$foo'"


# -- Expression operators ----------------------------------------------------------------------

def expr(db, expression, doc=None):
    """Evaluate one expression against one document through $project."""
    db.e.drop()
    db.e.insert_one(dict(doc or {}, _id=0))
    out = list(db.e.aggregate([{"$project": {"_id": 0, "r": expression}}]))[0]
    return out.get("r", "MISSING")


DATE = dt(2014, 1, 1, 8, 15, 39, 736000)


# facts from the server's jstests/aggregation/expressions/date_to_string.js
@pytest.mark.parametrize("date, tz, expected", [
    (dt(2017, 7, 4, 14, 56, 42, 911000), "UTC", "2017-07-04 14:56:42 +0000 (0 minutes)"),
    (dt(2017, 7, 4, 14, 56, 42, 911000), "Europe/London", "2017-07-04 15:56:42 +0100 (60 minutes)"),
    (dt(2017, 7, 4, 14, 56, 42, 911000), "America/New_York",
     "2017-07-04 10:56:42 -0400 (-240 minutes)"),
    (dt(2017, 7, 4, 14, 56, 42, 911000), "Australia/Eucla",
     "2017-07-04 23:41:42 +0845 (525 minutes)"),
    (dt(2017, 7, 4, 14, 56, 42, 911000), "Asia/Kathmandu",
     "2017-07-04 20:41:42 +0545 (345 minutes)"),
    (dt(2017, 1, 4, 15, 8, 51, 911000), "America/New_York",
     "2017-01-04 10:08:51 -0500 (-300 minutes)"),
])
def test_date_to_string_offsets(db, date, tz, expected):
    assert expr(db, {"$dateToString": {"format": "%Y-%m-%d %H:%M:%S %z (%Z minutes)",
                                       "date": "$d", "timezone": tz}}, {"d": date}) == expected


@pytest.mark.parametrize("date, expected", [
    (dt(2017, 1, 1, 15, 8, 51, 911000), "Natural: 2017-W1-01, ISO: 2016-W7-52"),
    (dt(2017, 7, 4, 15, 9, 12, 911000), "Natural: 2017-W3-27, ISO: 2017-W2-27"),
    (dt(2017, 12, 4, 15, 9, 14, 911000), "Natural: 2017-W2-49, ISO: 2017-W1-49"),
])
def test_date_to_string_week_formats(db, date, expected):
    assert expr(db, {"$dateToString": {"format": "Natural: %Y-W%w-%U, ISO: %G-W%u-%V",
                                       "date": "$d"}}, {"d": date}) == expected


@pytest.mark.parametrize("spec, code", [
    ({"date": dt(2017, 1, 4), "format": 5}, 18533),
    ({"format": "%Y-%m-%d"}, 18628),
    ({"date": dt(2017, 1, 4), "format": "%Y", "timezone": 5}, 40517),
    ({"date": 42, "format": "%Y"}, 16006),
    ({"date": dt(2017, 1, 4), "format": "%Y", "timezone": "DoesNotExist"}, 40485),
    ({"date": dt(2017, 1, 4), "format": "%"}, 18535),
    ({"date": dt(2017, 1, 4), "format": "%n"}, 18536),
])
def test_date_to_string_errors(db, spec, code):
    with pytest.raises(OperationFailure) as exc:
        expr(db, {"$dateToString": spec})
    assert exc.value.code == code


def test_date_to_string_null_format_is_null(db):
    assert expr(db, {"$dateToString": {"date": dt(2017, 1, 4), "format": None}}) is None
    assert expr(db, {"$dateToString": {"date": dt(2017, 1, 4), "format": "$missing"}}) is None
    assert expr(db, {"$dateToString": {"date": dt(2017, 1, 4), "format": "%Y",
                                       "timezone": "$missing"}}) is None


@pytest.mark.parametrize("spec, expected", [
    ({"format": "%Y-%m-%d", "date": "$date"}, "2014-01-01"),
    ({"format": "%H:%M:%S:%L%z", "date": "$date", "timezone": "America/New_York"},
     "03:15:39:736-0500"),
    ({"format": "%H:%M:%S:%L%z", "date": "$date", "timezone": "+04:30"}, "12:45:39:736+0430"),
    ({"format": "%Z", "date": "$date", "timezone": "America/New_York"}, "-300"),
    # %Z prints the minutes offset without a "+" sign: "525 minutes" in the server's
    # jstests/aggregation/expressions/date_to_string.js
    ({"format": "%Z", "date": "$date", "timezone": "+04:30"}, "270"),
    ({"format": "%b", "date": "$date", "timezone": "+04:30"}, "Jan"),
    ({"format": "%B", "date": "$date", "timezone": "+04:30"}, "January"),
    ({"format": "%j %w %u %U %V %G %%", "date": "$date"}, "001 4 3 00 01 2014 %"),
    ({"date": "$date"}, "2014-01-01T08:15:39.736Z"),
    ({"date": "$missing", "onNull": "none"}, "none"),
    ({"date": "$missing"}, None),
])
def test_date_to_string(db, spec, expected):
    assert expr(db, {"$dateToString": spec}, {"date": DATE}) == expected


@pytest.mark.parametrize("op, expected", [
    ("$year", 2014), ("$month", 1), ("$dayOfMonth", 1), ("$hour", 8), ("$minute", 15),
    ("$second", 39), ("$millisecond", 736), ("$dayOfYear", 1), ("$dayOfWeek", 4),
    ("$week", 0), ("$isoWeek", 1), ("$isoDayOfWeek", 3), ("$isoWeekYear", 2014),
])
def test_date_part_operators(db, op, expected):
    assert expr(db, {op: "$date"}, {"date": DATE}) == expected


def test_date_to_parts(db):
    doc = {"date": dt(2017, 1, 1, 1, 29, 9, 123000)}
    assert expr(db, {"$dateToParts": {"date": "$date"}}, doc) == {
        "year": 2017, "month": 1, "day": 1, "hour": 1, "minute": 29, "second": 9,
        "millisecond": 123}
    assert expr(db, {"$dateToParts": {"date": "$date", "timezone": "America/New_York"}},
                doc) == {"year": 2016, "month": 12, "day": 31, "hour": 20, "minute": 29,
                         "second": 9, "millisecond": 123}
    assert expr(db, {"$dateToParts": {"date": "$date", "iso8601": True}}, doc) == {
        "isoWeekYear": 2016, "isoWeek": 52, "isoDayOfWeek": 7, "hour": 1, "minute": 29,
        "second": 9, "millisecond": 123}


def test_date_from_string_and_parts(db):
    assert expr(db, {"$dateFromString": {"dateString": "2017-02-08T12:10:40.787",
                                         "timezone": "America/New_York"}}) == \
        dt(2017, 2, 8, 17, 10, 40, 787000)
    assert expr(db, {"$dateFromString": {"dateString": "15-06-2018",
                                         "format": "%d-%m-%Y"}}) == dt(2018, 6, 15)
    assert expr(db, {"$dateFromParts": {"year": 2017, "month": 2, "day": 8, "hour": 12}}) == \
        dt(2017, 2, 8, 12)
    assert expr(db, {"$dateFromParts": {"year": 2017, "month": 14, "day": 1}}) == \
        dt(2018, 2, 1)


def test_date_add_diff_trunc(db):
    doc = {"d": dt(2020, 10, 24, 18, 30), "e": dt(2021, 1, 1)}
    assert expr(db, {"$dateAdd": {"startDate": "$d", "unit": "day", "amount": 3}}, doc) == \
        dt(2020, 10, 27, 18, 30)
    assert expr(db, {"$dateAdd": {"startDate": dt(2021, 1, 31), "unit": "month",
                                  "amount": 1}}) == dt(2021, 2, 28)
    assert expr(db, {"$dateDiff": {"startDate": "$d", "endDate": "$e", "unit": "day"}},
                doc) == 69
    assert expr(db, {"$dateTrunc": {"date": "$d", "unit": "month"}}, doc) == dt(2020, 10, 1)
    assert expr(db, {"$subtract": ["$e", "$d"]}, doc) == 5895000000
    assert expr(db, {"$subtract": ["$e", 60000]}, doc) == dt(2020, 12, 31, 23, 59)


SCORES_SWITCH = [
    {"_id": 1, "name": "Susan Wilkes", "scores": [87, 86, 78]},
    {"_id": 2, "name": "Bob Hanna", "scores": [71, 64, 81]},
    {"_id": 3, "name": "James Torrelio", "scores": [91, 84, 97]},
]


def test_switch(db):
    db.grades.insert_many(SCORES_SWITCH)
    got = list(db.grades.aggregate([{"$project": {"name": 1, "summary": {"$switch": {
        "branches": [
            {"case": {"$gte": [{"$avg": "$scores"}, 90]}, "then": "Doing great!"},
            {"case": {"$and": [{"$gte": [{"$avg": "$scores"}, 80]},
                               {"$lt": [{"$avg": "$scores"}, 90]}]},
             "then": "Doing pretty well."},
            {"case": {"$lt": [{"$avg": "$scores"}, 80]}, "then": "Needs improvement."}],
        "default": "No scores found."}}}}]))
    assert got == [{"_id": 1, "name": "Susan Wilkes", "summary": "Doing pretty well."},
                   {"_id": 2, "name": "Bob Hanna", "summary": "Needs improvement."},
                   {"_id": 3, "name": "James Torrelio", "summary": "Doing great!"}]


def test_switch_no_match_no_default_fails(db):
    with pytest.raises(OperationFailure) as exc:
        expr(db, {"$switch": {"branches": [{"case": False, "then": 1}]}})
    assert exc.value.code == 40066


def test_cond_and_if_null(db):
    db.inventory.insert_many([{"_id": 1, "item": "abc1", "qty": 300},
                              {"_id": 2, "item": "abc2", "qty": 200},
                              {"_id": 3, "item": "xyz1", "qty": 250}])
    assert [d["discount"] for d in db.inventory.aggregate([{"$project": {"discount": {
        "$cond": {"if": {"$gte": ["$qty", 250]}, "then": 30, "else": 20}}}}])] == [30, 20, 30]
    assert [d["discount"] for d in db.inventory.aggregate([{"$project": {"discount": {
        "$cond": [{"$gte": ["$qty", 250]}, 30, 20]}}}])] == [30, 20, 30]
    db.inv2.insert_many([{"_id": 1, "item": "buggy", "description": "toy car", "quantity": 300},
                         {"_id": 2, "item": "bicycle", "description": None, "quantity": 200},
                         {"_id": 3, "item": "flag"}])
    assert list(db.inv2.aggregate([{"$project": {"item": 1, "description": {
        "$ifNull": ["$description", "Unspecified"]}}}])) == [
        {"_id": 1, "item": "buggy", "description": "toy car"},
        {"_id": 2, "item": "bicycle", "description": "Unspecified"},
        {"_id": 3, "item": "flag", "description": "Unspecified"}]
    # 5.0: multiple input expressions
    assert expr(db, {"$ifNull": ["$a", "$b", "$c", "last"]}, {"b": None, "c": 0}) == 0


FILTER_SALES = [
    {"_id": 0, "items": [{"item_id": 43, "quantity": 2, "price": 10, "name": "pen"},
                         {"item_id": 2, "quantity": 1, "price": 240, "name": "briefcase"}]},
    {"_id": 1, "items": [{"item_id": 23, "quantity": 3, "price": 110, "name": "notebook"},
                         {"item_id": 103, "quantity": 4, "price": 5, "name": "pen"},
                         {"item_id": 38, "quantity": 1, "price": 300, "name": "printer"}]},
    {"_id": 2, "items": [{"item_id": 4, "quantity": 1, "price": 23, "name": "paper"}]},
]


def test_filter(db):
    db.sales.insert_many(FILTER_SALES)
    got = list(db.sales.aggregate([{"$project": {"items": {"$filter": {
        "input": "$items", "as": "item", "cond": {"$gte": ["$$item.price", 100]}}}}}]))
    assert [[i["name"] for i in d["items"]] for d in got] == [
        ["briefcase"], ["notebook", "printer"], []]
    got = list(db.sales.aggregate([{"$project": {"items": {"$filter": {
        "input": "$items", "cond": {"$gte": ["$$this.price", 100]}, "limit": 1}}}}]))
    assert [[i["name"] for i in d["items"]] for d in got] == [["briefcase"], ["notebook"], []]


def test_map_and_reduce(db):
    db.grades.insert_many([{"_id": 1, "quizzes": [5, 6, 7]}, {"_id": 2, "quizzes": []},
                           {"_id": 3, "quizzes": [3, 8, 9]}])
    got = list(db.grades.aggregate([{"$project": {"adjustedGrades": {"$map": {
        "input": "$quizzes", "as": "grade", "in": {"$add": ["$$grade", 2]}}}}}]))
    assert got == [{"_id": 1, "adjustedGrades": [7, 8, 9]}, {"_id": 2, "adjustedGrades": []},
                   {"_id": 3, "adjustedGrades": [5, 10, 11]}]
    assert expr(db, {"$reduce": {"input": ["a", "b", "c"], "initialValue": "",
                                 "in": {"$concat": ["$$value", "$$this"]}}}) == "abc"
    assert expr(db, {"$reduce": {"input": [1, 2, 3, 4], "initialValue": {"sum": 5, "product": 2},
                                 "in": {"sum": {"$add": ["$$value.sum", "$$this"]},
                                        "product": {"$multiply": ["$$value.product",
                                                                  "$$this"]}}}}) == {
        "sum": 15, "product": 48}
    assert expr(db, {"$reduce": {"input": [[3, 4], [5, 6]], "initialValue": [1, 2],
                                 "in": {"$concatArrays": ["$$value", "$$this"]}}}) == \
        [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("expression, expected", [
    # "$arrayElemAt"
    ({"$arrayElemAt": [[1, 2, 3], 0]}, 1),
    ({"$arrayElemAt": [[1, 2, 3], -2]}, 2),
    ({"$arrayElemAt": [[1, 2, 3], 15]}, "MISSING"),
    ({"$first": [[1, 2, 3]]}, 1),
    ({"$last": [[1, 2, 3]]}, 3),
    # "$concat"
    ({"$concat": ["a", "-", "b"]}, "a-b"),
    ({"$concat": ["a", None]}, None),
    ({"$concat": ["a", "$missing"]}, None),
    # string operators
    ({"$strLenCP": "cafétéria"}, 9),
    ({"$strLenBytes": "cafétéria"}, 11),
    ({"$substrCP": ["cafétéria", 0, 5]}, "cafét"),
    ({"$substrBytes": ["abcde", 1, 2]}, "bc"),
    ({"$split": ["June-15-2013", "-"]}, ["June", "15", "2013"]),
    ({"$split": ["astronomical", "astro"]}, ["", "nomical"]),
    ({"$toUpper": "abc1"}, "ABC1"),
    ({"$toLower": "ABC1"}, "abc1"),
    ({"$toUpper": None}, ""),
    ({"$trim": {"input": "  ggggoodbyeeeee "}}, "ggggoodbyeeeee"),
    ({"$ltrim": {"input": "xxhixx", "chars": "x"}}, "hixx"),
    ({"$rtrim": {"input": "xxhixx", "chars": "x"}}, "xxhi"),
    ({"$indexOfCP": ["cafétéria", "é"]}, 3),
    ({"$indexOfBytes": ["cafétéria", "é"]}, 3),
    ({"$indexOfCP": ["abc", "z"]}, -1),
    ({"$strcasecmp": ["abc", "ABC"]}, 0),
    ({"$replaceOne": {"input": "blue paint", "find": "blue", "replacement": "red"}}, "red paint"),
    ({"$replaceAll": {"input": "a.b.c", "find": ".", "replacement": "/"}}, "a/b/c"),
    # arithmetic
    ({"$add": [1, 2.5]}, 3.5),
    ({"$subtract": [5, 7]}, -2),
    ({"$multiply": [2, 3, 4]}, 24),
    ({"$divide": [9, 2]}, 4.5),
    ({"$divide": [10, 5]}, 2.0),
    ({"$mod": [7, 3]}, 1),
    ({"$mod": [-7, 3]}, -1),
    ({"$abs": -5}, 5),
    ({"$abs": None}, None),
    ({"$ceil": 7.8}, 8.0),
    ({"$floor": -2.1}, -3.0),
    ({"$round": [10.5, 0]}, 10.0),
    ({"$round": [11.5, 0]}, 12.0),
    ({"$round": [12.5, 0]}, 12.0),
    ({"$round": [-12.5, 0]}, -12.0),
    ({"$round": [19.25, 1]}, 19.2),
    ({"$round": [1234.5678, -2]}, 1200.0),
    ({"$trunc": [7.8, 0]}, 7.0),
    ({"$trunc": [-7.8, 0]}, -7.0),
    ({"$sqrt": 25}, 5.0),
    ({"$pow": [2, 10]}, 1024),
    ({"$exp": 0}, 1.0),
    ({"$add": [1, None]}, None),
    ({"$add": [1, "$missing"]}, None),
    # comparison
    ({"$cmp": [1, "a"]}, -1),
    ({"$cmp": ["b", "a"]}, 1),
    ({"$eq": [1, 1.0]}, True),
    ({"$gt": ["a", 100]}, True),
    ({"$lt": [None, 0]}, True),
    ({"$ne": ["$missing", None]}, True),
    # boolean
    ({"$and": [1, "green"]}, True),
    ({"$and": [None, True]}, False),
    ({"$and": [0, True]}, False),
    ({"$and": []}, True),
    ({"$or": [[False], False]}, True),
    ({"$or": [None, 0]}, False),
    ({"$not": [[False]]}, False),
    ({"$not": [None]}, True),
    # arrays
    ({"$size": [[1, 2, 3]]}, 3),
    ({"$in": [2, [1, 2, 3]]}, True),
    ({"$in": ["abc", ["xyz", "abc"]]}, True),
    ({"$in": [[1], [1, 2]]}, False),
    ({"$isArray": [[1]]}, True),
    ({"$isArray": ["a"]}, False),
    ({"$indexOfArray": [["a", "abc", "b"], "b"]}, 2),
    ({"$indexOfArray": [[1, 2, 3, 2], 2, 2]}, 3),
    ({"$range": [0, 10, 2]}, [0, 2, 4, 6, 8]),
    ({"$range": [10, 0, -2]}, [10, 8, 6, 4, 2]),
    ({"$range": [0, 10, -2]}, []),
    ({"$range": [0, 5]}, [0, 1, 2, 3, 4]),
    ({"$slice": [[1, 2, 3], 1, 1]}, [2]),
    ({"$slice": [[1, 2, 3], -2]}, [2, 3]),
    ({"$slice": [[1, 2, 3], 15, 2]}, []),
    ({"$slice": [[1, 2, 3], -15, 2]}, [1, 2]),
    ({"$reverseArray": [[1, 2, 3]]}, [3, 2, 1]),
    ({"$reverseArray": [[]]}, []),
    ({"$reverseArray": None}, None),
    ({"$concatArrays": [["hello", " "], ["world"]]}, ["hello", " ", "world"]),
    ({"$concatArrays": [["a"], None]}, None),
    ({"$objectToArray": {"l": 25, "w": 10, "uom": "cm"}},
     [{"k": "l", "v": 25}, {"k": "w", "v": 10}, {"k": "uom", "v": "cm"}]),
    ({"$arrayToObject": [[{"k": "item", "v": "abc123"}, {"k": "qty", "v": 25}]]},
     {"item": "abc123", "qty": 25}),
    ({"$arrayToObject": [[["item", "abc123"], ["qty", 25]]]}, {"item": "abc123", "qty": 25}),
    ({"$arrayToObject": [[["a", 1], ["a", 2]]]}, {"a": 2}),
    ({"$zip": {"inputs": [["a", "b"], [1, 2, 3]]}}, [["a", 1], ["b", 2]]),
    ({"$zip": {"inputs": [["a", "b"], [1, 2, 3]], "useLongestLength": True}},
     [["a", 1], ["b", 2], [None, 3]]),
    ({"$zip": {"inputs": [["a"], [1, 2]], "useLongestLength": True, "defaults": ["x", "y"]}},
     [["a", 1], ["x", 2]]),
    ({"$max": [1, "a", None]}, "a"),
    ({"$min": [1, "a", None]}, 1),
    ({"$max": [[1, 5, 3]]}, 5),
    ({"$sum": [[1, 2, "a"]]}, 3),
    ({"$avg": [[1, 2, 3, 4]]}, 2.5),
    ({"$avg": [["a"]]}, None),
    # sets
    ({"$setEquals": [["a", "b", "a"], ["b", "a"]]}, True),
    ({"$setIntersection": [["a", "b", "a"], ["b", "a"]]}, ["a", "b"]),
    ({"$setIntersection": [["a", "b"], []]}, []),
    ({"$setDifference": [["a", "b", "c"], ["b"]]}, ["a", "c"]),
    ({"$setIsSubset": [["a", "b", "a"], ["b", "a"]]}, True),
    ({"$setIsSubset": [["a", "b"], [["a", "b"]]]}, False),
    ({"$anyElementTrue": [[True, False]]}, True),
    ({"$anyElementTrue": [[[False]]]}, True),
    ({"$anyElementTrue": [[None, False, 0]]}, False),
    ({"$anyElementTrue": [[]]}, False),
    ({"$allElementsTrue": [[True, 1, "someString"]]}, True),
    ({"$allElementsTrue": [[[False]]]}, True),
    ({"$allElementsTrue": [[]]}, True),
    ({"$allElementsTrue": [[None, False, 0]]}, False),
    # type / conversion
    ({"$type": 1}, "int"),
    ({"$type": Int64(1)}, "long"),
    ({"$type": 1.0}, "double"),
    ({"$type": D("1")}, "decimal"),
    ({"$type": "a"}, "string"),
    ({"$type": "$missing"}, "missing"),
    ({"$type": None}, "null"),
    ({"$type": [[1]]}, "array"),
    ({"$type": {"$literal": {}}}, "object"),
    ({"$type": True}, "bool"),
    ({"$type": dt(2020, 1, 1)}, "date"),
    ({"$type": ObjectId("5ab9cbfa31c2ab715d42129e")}, "objectId"),
    ({"$toString": ObjectId("5ab9cbfa31c2ab715d42129e")}, "5ab9cbfa31c2ab715d42129e"),
    ({"$toString": 2.5}, "2.5"),
    ({"$toString": True}, "true"),
    ({"$toString": dt(2018, 3, 27, 16, 58, 51, 538000)}, "2018-03-27T16:58:51.538Z"),
    ({"$toInt": "5"}, 5),
    ({"$toInt": 5.9}, 5),
    ({"$toInt": True}, 1),
    ({"$toLong": "5"}, 5),
    ({"$toDouble": "5.5"}, 5.5),
    ({"$toDouble": dt(2018, 3, 27)}, 1522108800000.0),
    ({"$toDecimal": 2.5}, D("2.50000000000000")),
    ({"$toBool": 0}, False),
    ({"$toBool": "false"}, True),
    ({"$toBool": ""}, True),
    ({"$toObjectId": "5ab9cbfa31c2ab715d42129e"}, ObjectId("5ab9cbfa31c2ab715d42129e")),
    ({"$toDate": 1522039108044}, dt(2018, 3, 26, 4, 38, 28, 44000)),
    ({"$toDate": "2018-03-03"}, dt(2018, 3, 3)),
    ({"$toInt": None}, None),
    ({"$convert": {"input": "abc", "to": "int", "onError": "bad"}}, "bad"),
    ({"$convert": {"input": None, "to": "int", "onNull": "null!"}}, "null!"),
    ({"$convert": {"input": "5", "to": 16}}, 5),
    ({"$isNumber": "5"}, False),
    ({"$isNumber": D("5")}, True),
    # misc
    ({"$literal": "$1"}, "$1"),
    ({"$literal": {"$add": [1, 2]}}, {"$add": [1, 2]}),
    ({"$let": {"vars": {"low": 1, "high": "$missing"}, "in": {"$gt": ["$$low", "$$high"]}}},
     True),
    ({"$regexMatch": {"input": "Cafe", "regex": "^caf", "options": "i"}}, True),
    ({"$regexFind": {"input": "cafe", "regex": "e"}}, {"match": "e", "idx": 3, "captures": []}),
    ({"$regexFind": {"input": "cafe", "regex": "(f)(z)?"}},
     {"match": "f", "idx": 2, "captures": ["f", None]}),
    ({"$regexFind": {"input": "cafe", "regex": "z"}}, None),
    ({"$regexFindAll": {"input": "a1b22", "regex": "[0-9]+"}},
     [{"match": "1", "idx": 1, "captures": []}, {"match": "22", "idx": 3, "captures": []}]),
    ({"$getField": {"field": {"$literal": "$price"}, "input": {"$literal": {"$price": 5}}}}, 5),
    ({"$setField": {"field": "a.b", "input": {"$literal": {}}, "value": 1}}, {"a.b": 1}),
    ({"$mergeObjects": [{"a": 1}, None, {"b": 2, "a": 3}]}, {"a": 3, "b": 2}),
    ({"$cond": [None, 1, 2]}, 2),
    ({"$cond": [[], 1, 2]}, 1),
    ({"$cond": [0, 1, 2]}, 2),
    ({"$cond": ["", 1, 2]}, 1),
])
def test_expression_operators(db, expression, expected):
    got = expr(db, expression)
    assert got == expected
    if isinstance(expected, float):
        assert isinstance(got, float)


@pytest.mark.parametrize("expression, code", [
    ({"$divide": [1, 0]}, 2),
    ({"$mod": [1, 0]}, 16610),
    ({"$size": "a"}, 17124),
    ({"$arrayElemAt": ["a", 0]}, 28689),
    ({"$toInt": "abc"}, 241),
    ({"$concat": ["a", 1]}, 16702),
    # TypeMismatch since 6.1 (16554 before): jstests/aggregation/expressions/add_error_on_str.js
    ({"$add": ["a", 1]}, 14),
    ({"$sqrt": -1}, 28714),
    ({"$in": [1, "a"]}, 40081),
    ({"$filter": {"input": [1], "cond": True, "bogus": 1}}, 28647),
    ({"$range": [0, 5, 0]}, 34449),
])
def test_expression_errors(db, expression, code):
    with pytest.raises(OperationFailure) as exc:
        expr(db, expression)
    assert exc.value.code == code


@pytest.mark.parametrize("stage", [
    {"$addFields": {"r": {"$unknownOp": 1}}},
    {"$group": {"_id": {"$unknownOp": 1}}},
    {"$match": {"$expr": {"$unknownOp": 1}}},
])
def test_unrecognized_expression(db, stage):
    db.c.insert_one({"a": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.aggregate([stage]))
    assert exc.value.code == 168
    assert exc.value.details["errmsg"] == "Unrecognized expression '$unknownOp'"


def test_int_overflow_widens_and_long_overflow_becomes_double(db):
    got = expr(db, {"$add": [2147483647, 1]})
    assert got == 2147483648 and isinstance(got, Int64)
    got = expr(db, {"$multiply": [Int64(9223372036854775807), 2]})
    assert got == 1.8446744073709552e19 and isinstance(got, float)


def test_decimal_arithmetic_keeps_decimal(db):
    assert expr(db, {"$add": [D("1.1"), 2]}) == D("3.1")
    assert expr(db, {"$multiply": [D("10.99"), D("1.25")]}) == D("13.7375")
    assert expr(db, {"$divide": [D("1"), 4]}) == D("0.25")


def test_system_variables(db):
    db.c.insert_one({"_id": 1, "a": {"b": 2}})
    assert list(db.c.aggregate([{"$project": {"root": "$$ROOT", "cur": "$$CURRENT.a.b",
                                              "_id": 0}}])) == [
        {"root": {"_id": 1, "a": {"b": 2}}, "cur": 2}]
    got = list(db.c.aggregate([{"$project": {"now": {"$type": "$$NOW"}, "_id": 0}}]))
    assert got == [{"now": "date"}]


def test_aggregate_let_option(db):
    db.cakes.insert_many([{"_id": 1, "flavor": "chocolate"}, {"_id": 2, "flavor": "lemon"}])
    got = list(db.cakes.aggregate([{"$match": {"$expr": {"$eq": ["$flavor",
                                                                  "$$targetFlavor"]}}}],
                                  let={"targetFlavor": "lemon"}))
    assert got == [{"_id": 2, "flavor": "lemon"}]


# -- accumulators: "$top"/"$bottom"/"$topN"/"$firstN"/"$maxN" (5.2+) -----------------------

GAMESCORES = [
    {"playerId": "PlayerA", "gameId": "G1", "score": 31},
    {"playerId": "PlayerB", "gameId": "G1", "score": 33},
    {"playerId": "PlayerC", "gameId": "G1", "score": 99},
    {"playerId": "PlayerD", "gameId": "G1", "score": 1},
    {"playerId": "PlayerA", "gameId": "G2", "score": 10},
    {"playerId": "PlayerB", "gameId": "G2", "score": 14},
    {"playerId": "PlayerC", "gameId": "G2", "score": 66},
    {"playerId": "PlayerD", "gameId": "G2", "score": 80},
]


def test_top_bottom_n_accumulators(db):
    db.gamescores.insert_many([dict(d) for d in GAMESCORES])
    got = list(db.gamescores.aggregate([
        {"$group": {"_id": "$gameId",
                    "top": {"$top": {"output": ["$playerId", "$score"],
                                     "sortBy": {"score": -1}}},
                    "bottom": {"$bottom": {"output": ["$playerId", "$score"],
                                           "sortBy": {"score": -1}}},
                    "top3": {"$topN": {"output": "$playerId", "sortBy": {"score": -1},
                                       "n": 3}},
                    "maxN": {"$maxN": {"input": "$score", "n": 2}},
                    "firstN": {"$firstN": {"input": "$playerId", "n": 2}}}},
        {"$sort": {"_id": 1}}]))
    assert got == [
        {"_id": "G1", "top": ["PlayerC", 99], "bottom": ["PlayerD", 1],
         "top3": ["PlayerC", "PlayerB", "PlayerA"], "maxN": [99, 33],
         "firstN": ["PlayerA", "PlayerB"]},
        {"_id": "G2", "top": ["PlayerD", 80], "bottom": ["PlayerA", 10],
         "top3": ["PlayerD", "PlayerC", "PlayerB"], "maxN": [80, 66],
         "firstN": ["PlayerA", "PlayerB"]},
    ]


def test_std_dev_accumulators(db):
    db.users.insert_many([{"_id": i, "quiz": 1, "score": s} for i, s in
                          enumerate([85, 90, 71])])
    got = list(db.users.aggregate([{"$group": {"_id": "$quiz",
                                               "pop": {"$stdDevPop": "$score"},
                                               "samp": {"$stdDevSamp": "$score"}}}]))
    assert got[0]["pop"] == pytest.approx(8.04155872120988)
    assert got[0]["samp"] == pytest.approx(9.848857801796104)


# -- "$setWindowFields" -------------------------------------------------------------------------

def test_set_window_fields_cumulative_sum(db):
    db.cakeSales.insert_many([
        {"_id": 0, "type": "chocolate", "orderDate": dt(2020, 5, 18, 14, 10, 30), "state": "CA",
         "price": 13, "quantity": 120},
        {"_id": 1, "type": "chocolate", "orderDate": dt(2021, 3, 20, 11, 30, 5), "state": "WA",
         "price": 14, "quantity": 140},
        {"_id": 2, "type": "vanilla", "orderDate": dt(2021, 1, 11, 6, 31, 15), "state": "CA",
         "price": 12, "quantity": 145},
        {"_id": 3, "type": "vanilla", "orderDate": dt(2020, 2, 8, 13, 13, 23), "state": "WA",
         "price": 13, "quantity": 104},
        {"_id": 4, "type": "strawberry", "orderDate": dt(2019, 5, 18, 16, 9, 1), "state": "CA",
         "price": 41, "quantity": 162},
        {"_id": 5, "type": "strawberry", "orderDate": dt(2019, 1, 8, 6, 12, 3), "state": "WA",
         "price": 43, "quantity": 134},
    ])
    got = list(db.cakeSales.aggregate([{"$setWindowFields": {
        "partitionBy": "$state", "sortBy": {"orderDate": 1},
        "output": {"cumulativeQuantityForState": {
            "$sum": "$quantity", "window": {"documents": ["unbounded", "current"]}},
            "rank": {"$rank": {}}}}}]))
    assert [(d["_id"], d["cumulativeQuantityForState"], d["rank"]) for d in got] == [
        (4, 162, 1), (0, 282, 2), (2, 427, 3), (5, 134, 1), (3, 238, 2), (1, 378, 3)]


# -- "$merge (aggregation)": whenMatched / whenNotMatched ---------------------------------

def _merge_setup(db):
    db.src.insert_many([{"_id": 1, "v": 10, "x": 1}, {"_id": 2, "v": 20}])
    db.tgt.insert_many([{"_id": 1, "v": 0, "old": True}, {"_id": 3, "v": 3}])


@pytest.mark.parametrize("when_matched, when_not_matched, expected", [
    ("replace", "insert", [{"_id": 1, "v": 10, "x": 1}, {"_id": 2, "v": 20}, {"_id": 3, "v": 3}]),
    ("replace", "discard", [{"_id": 1, "v": 10, "x": 1}, {"_id": 3, "v": 3}]),
    ("keepExisting", "insert", [{"_id": 1, "v": 0, "old": True}, {"_id": 2, "v": 20},
                                {"_id": 3, "v": 3}]),
    ("merge", "insert", [{"_id": 1, "v": 10, "old": True, "x": 1}, {"_id": 2, "v": 20},
                         {"_id": 3, "v": 3}]),
    ([{"$set": {"v": {"$add": ["$v", "$$new.v"]}}}], "discard",
     [{"_id": 1, "v": 10, "old": True}, {"_id": 3, "v": 3}]),
])
def test_merge_modes(db, when_matched, when_not_matched, expected):
    _merge_setup(db)
    assert list(db.src.aggregate([{"$merge": {"into": "tgt", "whenMatched": when_matched,
                                              "whenNotMatched": when_not_matched}}])) == []
    got = sorted(db.tgt.find(), key=lambda d: d["_id"])
    assert got == expected
    assert [list(d) for d in got] == [list(d) for d in expected]


def test_merge_when_not_matched_fail(db):
    _merge_setup(db)
    with pytest.raises(OperationFailure) as exc:
        list(db.src.aggregate([{"$merge": {"into": "tgt", "whenNotMatched": "fail"}}]))
    assert exc.value.code == 13113


def test_merge_when_matched_fail_is_duplicate_key(db):
    _merge_setup(db)
    with pytest.raises(OperationFailure) as exc:
        list(db.src.aggregate([{"$merge": {"into": "tgt", "whenMatched": "fail"}}]))
    assert exc.value.code == 11000


def test_merge_on_field_requires_unique_index(db):
    _merge_setup(db)
    with pytest.raises(OperationFailure) as exc:
        list(db.src.aggregate([{"$merge": {"into": "tgt", "on": "v"}}]))
    assert exc.value.code == 51183
    db.tgt.create_index("v", unique=True)
    list(db.src.aggregate([{"$project": {"_id": 0}}, {"$merge": {"into": "tgt", "on": "v"}}]))
    assert sorted((d["v"], d.get("x")) for d in db.tgt.find()) == [
        (0, None), (3, None), (10, 1), (20, None)]


def test_out_to_another_database(db):
    db.src.insert_many([{"_id": 1}, {"_id": 2}])
    list(db.src.aggregate([{"$out": {"db": "reporting", "coll": "o"}}]))
    assert list(db.client["reporting"]["o"].find()) == [{"_id": 1}, {"_id": 2}]


@pytest.mark.parametrize("pipeline, code", [
    ([{"$out": "z"}, {"$match": {}}], 40601),
    ([{"$facet": {"a": [{"$out": "z"}]}}], 40600),
    ([{"$count": "$n"}], 40158),
    ([{"$group": {"_id": None, "n": {"$sum": 1, "$avg": 1}}}], 40238),
    ([{"$group": {"_id": None, "n": 1}}], 40234),
    ([{"$group": {"_id": None, "a.b": {"$sum": 1}}}], 40235),
    ([{"$limit": 0}], 15958),
    ([{"$unwind": "sizes"}], 28818),
    ([{"$project": {"a": {}}}], 51270),
])
def test_stage_validation_errors(db, pipeline, code):
    db.c.insert_one({"_id": 1})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.aggregate(pipeline))
    assert exc.value.code == code


# -- "$bucketAuto": docs example (artwork prices, one document without price) ---------------

def test_bucket_auto_docs_example(db):
    prices = {1: "199.99", 2: "280.00", 3: "76.04", 4: "167.30", 5: "483.00", 6: "385.00",
              8: "118.42"}
    db.artwork.insert_many([{"_id": i, **({"price": D(prices[i])} if i in prices else {})}
                            for i in range(1, 9)])
    assert list(db.artwork.aggregate([{"$bucketAuto": {"groupBy": "$price", "buckets": 4}}])) == [
        {"_id": {"min": None, "max": D("118.42")}, "count": 2},
        {"_id": {"min": D("118.42"), "max": D("199.99")}, "count": 2},
        {"_id": {"min": D("199.99"), "max": D("385.00")}, "count": 2},
        {"_id": {"min": D("385.00"), "max": D("483.00")}, "count": 2},
    ]


# -- "$redact": docs example ---------------------------------------------------------------------

def test_redact_docs_example(db):
    db.forecasts.insert_one({
        "_id": 1, "title": "123 Department Report", "tags": ["G", "STLW"], "year": 2014,
        "subsections": [
            {"subtitle": "Section 1: Overview", "tags": ["SI", "G"],
             "content": "Section 1: This is the content of section 1."},
            {"subtitle": "Section 2: Analysis", "tags": ["STLW"],
             "content": "Section 2: This is the content of section 2."},
            {"subtitle": "Section 3: Budgeting", "tags": ["TK"],
             "content": {"text": "Section 3: This is the content of section 3.",
                         "tags": ["HCS"]}}]})
    user_access = ["STLW", "G"]
    got = list(db.forecasts.aggregate([
        {"$match": {"year": 2014}},
        {"$redact": {"$cond": {
            "if": {"$gt": [{"$size": {"$setIntersection": ["$tags", user_access]}}, 0]},
            "then": "$$DESCEND", "else": "$$PRUNE"}}}]))
    assert got == [{
        "_id": 1, "title": "123 Department Report", "tags": ["G", "STLW"], "year": 2014,
        "subsections": [
            {"subtitle": "Section 1: Overview", "tags": ["SI", "G"],
             "content": "Section 1: This is the content of section 1."},
            {"subtitle": "Section 2: Analysis", "tags": ["STLW"],
             "content": "Section 2: This is the content of section 2."}]}]


# -- "$densify": docs example (hourly weather readings) -------------------------------------

def test_densify_docs_example(db):
    meta = {"sensorId": 5578, "type": "temperature"}
    db.weather.insert_many([
        {"metadata": meta, "timestamp": dt(2021, 5, 18, 0), "temp": 12},
        {"metadata": meta, "timestamp": dt(2021, 5, 18, 4), "temp": 11},
        {"metadata": meta, "timestamp": dt(2021, 5, 18, 8), "temp": 11},
        {"metadata": meta, "timestamp": dt(2021, 5, 18, 12), "temp": 12},
    ])
    got = list(db.weather.aggregate([
        {"$densify": {"field": "timestamp", "range": {
            "step": 1, "unit": "hour", "bounds": [dt(2021, 5, 18, 0), dt(2021, 5, 18, 8)]}}},
        {"$project": {"_id": 0}}]))
    assert [d["timestamp"].hour for d in got] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 12]
    assert got[1] == {"timestamp": dt(2021, 5, 18, 1)}
    assert got[4] == {"metadata": meta, "timestamp": dt(2021, 5, 18, 4), "temp": 11}


COFFEE = [
    {"altitude": 600, "variety": "Arabica Typica", "score": 68.3},
    {"altitude": 750, "variety": "Arabica Typica", "score": 69.5},
    {"altitude": 950, "variety": "Arabica Typica", "score": 70.5},
    {"altitude": 1250, "variety": "Gesha", "score": 88.15},
    {"altitude": 1700, "variety": "Gesha", "score": 95.5, "price": 1029},
]


@pytest.mark.parametrize("bounds, expected", [
    ("full", {"Arabica Typica": [600, 750, 800, 950, 1000, 1200, 1400, 1600],
              "Gesha": [600, 800, 1000, 1200, 1250, 1400, 1600, 1700]}),
    ("partition", {"Arabica Typica": [600, 750, 800, 950],
                   "Gesha": [1250, 1450, 1650, 1700]}),
])
def test_densify_with_partitions_docs_example(db, bounds, expected):
    # "$densify": "Densification with Partitions"
    db.coffee.insert_many([dict(d) for d in COFFEE])
    got = list(db.coffee.aggregate([
        {"$densify": {"field": "altitude", "partitionByFields": ["variety"],
                      "range": {"bounds": bounds, "step": 200}}},
        {"$project": {"_id": 0}}]))
    by_variety = {}
    for d in got:
        by_variety.setdefault(d["variety"], []).append(d["altitude"])
    assert {k: sorted(v) for k, v in by_variety.items()} == expected
    generated = [d for d in got if "score" not in d]
    assert all(set(d) == {"altitude", "variety"} for d in generated)


# -- "$setWindowFields": docs examples on cakeSales -----------------------------------------

CAKE_SALES = [
    {"_id": 0, "type": "chocolate", "orderDate": dt(2020, 5, 18, 14, 10, 30), "state": "CA",
     "price": 13, "quantity": 120},
    {"_id": 1, "type": "chocolate", "orderDate": dt(2021, 3, 20, 11, 30, 5), "state": "WA",
     "price": 14, "quantity": 140},
    {"_id": 2, "type": "vanilla", "orderDate": dt(2021, 1, 11, 6, 31, 15), "state": "CA",
     "price": 12, "quantity": 145},
    {"_id": 3, "type": "vanilla", "orderDate": dt(2020, 2, 8, 13, 13, 23), "state": "WA",
     "price": 13, "quantity": 104},
    {"_id": 4, "type": "strawberry", "orderDate": dt(2019, 5, 18, 16, 9, 1), "state": "CA",
     "price": 41, "quantity": 162},
    {"_id": 5, "type": "strawberry", "orderDate": dt(2019, 1, 8, 6, 12, 3), "state": "WA",
     "price": 43, "quantity": 134},
]


@pytest.fixture
def cakes(db):
    db.cakeSales.insert_many([dict(d) for d in CAKE_SALES])
    return db.cakeSales


def test_window_moving_average(cakes):
    got = list(cakes.aggregate([{"$setWindowFields": {
        "partitionBy": "$state", "sortBy": {"orderDate": 1},
        "output": {"averageQuantity": {"$avg": "$quantity",
                                       "window": {"documents": [-1, 0]}}}}}]))
    assert [(d["_id"], d["averageQuantity"]) for d in got] == [
        (4, 162.0), (0, 141.0), (2, 132.5), (5, 134.0), (3, 119.0), (1, 122.0)]


def test_window_partition_by_year_expression(cakes):
    got = list(cakes.aggregate([{"$setWindowFields": {
        "partitionBy": {"$year": "$orderDate"}, "sortBy": {"orderDate": 1},
        "output": {"cumulativeQuantityForYear": {
            "$sum": "$quantity", "window": {"documents": ["unbounded", "current"]}}}}}]))
    assert [(d["_id"], d["cumulativeQuantityForYear"]) for d in got] == [
        (5, 134), (4, 296), (3, 104), (0, 224), (2, 145), (1, 285)]


@pytest.mark.parametrize("upper, expected", [
    # "$setWindowFields": "Use a Time Range Window with a Positive/Negative Upper Bound"
    (10, [(4, 1), (0, 3), (2, 3), (5, 1), (3, 2), (1, 3)]),
    (-10, [(4, 0), (0, 1), (2, 1), (5, 0), (3, 1), (1, 2)]),
])
def test_window_range_with_month_unit(cakes, upper, expected):
    got = list(cakes.aggregate([{"$setWindowFields": {
        "partitionBy": "$state", "sortBy": {"orderDate": 1},
        "output": {"recentOrders": {"$push": "$orderDate",
                                    "window": {"range": ["unbounded", upper],
                                               "unit": "month"}}}}}]))
    assert [(d["_id"], len(d["recentOrders"])) for d in got] == expected


def test_window_range_with_day_unit(cakes):
    got = list(cakes.aggregate([{"$setWindowFields": {
        "partitionBy": "$state", "sortBy": {"orderDate": 1},
        "output": {"n": {"$count": {}, "window": {"range": [-400, 0], "unit": "day"}}}}}]))
    # (2021-03-20 - 400 days = 2020-02-14, after WA's 2020-02-08 order)
    assert [(d["_id"], d["n"]) for d in got] == [(4, 1), (0, 2), (2, 2), (5, 1), (3, 2),
                                                 (1, 1)]


def test_window_rank_functions(cakes):
    got = list(cakes.aggregate([{"$setWindowFields": {
        "partitionBy": "$state", "sortBy": {"quantity": -1},
        "output": {"rank": {"$rank": {}}, "dense": {"$denseRank": {}},
                   "n": {"$documentNumber": {}}}}}]))
    assert [(d["_id"], d["rank"], d["dense"], d["n"]) for d in got] == [
        (4, 1, 1, 1), (2, 2, 2, 2), (0, 3, 3, 3), (1, 1, 1, 1), (5, 2, 2, 2), (3, 3, 3, 3)]


def test_window_shift_and_first_last(cakes):
    got = list(cakes.aggregate([{"$setWindowFields": {
        "partitionBy": "$state", "sortBy": {"orderDate": 1},
        "output": {"prev": {"$shift": {"output": "$quantity", "by": -1, "default": "none"}},
                   "first": {"$first": "$quantity", "window": {"documents": ["unbounded",
                                                                            "unbounded"]}},
                   "last": {"$last": "$quantity", "window": {"documents": ["unbounded",
                                                                          "unbounded"]}}}}}]))
    assert [(d["_id"], d["prev"], d["first"], d["last"]) for d in got] == [
        (4, "none", 162, 145), (0, 162, 162, 145), (2, 120, 162, 145),
        (5, "none", 134, 140), (3, 134, 134, 140), (1, 104, 134, 140)]


# -- more expression operator pages: docs examples --------------------------------------

def test_date_trunc_group_docs_example(cakes):
    # "$dateTrunc": "Truncate Order Dates and Obtain Quantity Sum in a $group Stage"
    got = list(cakes.aggregate([
        {"$group": {"_id": {"truncatedOrderDate": {"$dateTrunc": {
            "date": "$orderDate", "unit": "month", "binSize": 6}}},
            "sumQuantity": {"$sum": "$quantity"}}},
        {"$sort": {"_id.truncatedOrderDate": 1}}]))
    assert got == [{"_id": {"truncatedOrderDate": dt(2019, 1, 1)}, "sumQuantity": 296},
                   {"_id": {"truncatedOrderDate": dt(2020, 1, 1)}, "sumQuantity": 224},
                   {"_id": {"truncatedOrderDate": dt(2021, 1, 1)}, "sumQuantity": 285}]


def test_date_diff_docs_example(db):
    # "$dateDiff": "Elapsed Time"
    db.orders.insert_many([
        {"custId": 456, "purchased": dt(2020, 12, 31), "delivered": dt(2021, 1, 5)},
        {"custId": 457, "purchased": dt(2021, 2, 28), "delivered": dt(2021, 3, 7)},
        {"custId": 458, "purchased": dt(2021, 2, 16), "delivered": dt(2021, 2, 18)},
    ])
    got = list(db.orders.aggregate([
        {"$group": {"_id": None, "averageTime": {"$avg": {"$dateDiff": {
            "startDate": "$purchased", "endDate": "$delivered", "unit": "day"}}}}},
        {"$project": {"_id": 0, "numDays": {"$trunc": ["$averageTime", 1]}}}]))
    assert got == [{"numDays": 4.6}]


def test_date_add_docs_example(db):
    # "$dateAdd": "Add a Future Date"
    db.shipping.insert_many([
        {"custId": 456, "purchaseDate": dt(2020, 12, 31)},
        {"custId": 457, "purchaseDate": dt(2021, 2, 28)},
        {"custId": 458, "purchaseDate": dt(2021, 2, 26)},
    ])
    got = list(db.shipping.aggregate([{"$project": {"_id": 0, "expectedDeliveryDate": {
        "$dateAdd": {"startDate": "$purchaseDate", "unit": "day", "amount": 3}}}}]))
    assert got == [{"expectedDeliveryDate": dt(2021, 1, 3)},
                   {"expectedDeliveryDate": dt(2021, 3, 3)},
                   {"expectedDeliveryDate": dt(2021, 3, 1)}]


def test_get_field_docs_examples(db):
    # "$getField": "Query Fields that Contain Periods (.)"
    db.inventory.insert_many([
        {"_id": 1, "item": "sweatshirt", "price.usd": 45.99, "qty": 300},
        {"_id": 2, "item": "winter coat", "price.usd": 499.99, "qty": 200},
        {"_id": 3, "item": "sun dress", "price.usd": 199.99, "qty": 250},
        {"_id": 4, "item": "leather boots", "price.usd": 249.99, "qty": 300},
        {"_id": 5, "item": "bow tie", "price.usd": 9.99, "qty": 180},
    ])
    got = list(db.inventory.aggregate([{"$match": {"$expr": {
        "$gt": [{"$getField": "price.usd"}, 200]}}}]))
    assert [d["_id"] for d in got] == [2, 4]
    # "Query Fields that Start with a Dollar Sign ($)"
    db.inv2.insert_many([{"_id": 1, "item": "sweatshirt", "$price": 45.99, "qty": 300},
                         {"_id": 2, "item": "winter coat", "$price": 499.99, "qty": 200}])
    got = list(db.inv2.aggregate([{"$match": {"$expr": {
        "$gt": [{"$getField": {"$literal": "$price"}}, 200]}}}]))
    assert [d["_id"] for d in got] == [2]


def test_set_field_docs_examples(db):
    # "$setField": "Add Fields that Contain Periods (.)" and "Remove Fields"
    db.inventory.insert_many([{"_id": 1, "item": "sweatshirt", "price": 45.99, "qty": 300},
                              {"_id": 2, "item": "winter coat", "price": 499.99, "qty": 200}])
    got = list(db.inventory.aggregate([
        {"$replaceWith": {"$setField": {"field": "price.usd", "input": "$$ROOT",
                                        "value": "$price"}}},
        {"$unset": "price"}]))
    assert got == [{"_id": 1, "item": "sweatshirt", "qty": 300, "price.usd": 45.99},
                   {"_id": 2, "item": "winter coat", "qty": 200, "price.usd": 499.99}]
    got = list(db.inventory.aggregate([
        {"$replaceWith": {"$setField": {"field": "price", "input": "$$ROOT",
                                        "value": "$$REMOVE"}}}]))
    assert got == [{"_id": 1, "item": "sweatshirt", "qty": 300},
                   {"_id": 2, "item": "winter coat", "qty": 200}]


def test_zip_matrix_transposition_docs_example(db):
    db.matrices.insert_many([{"matrix": [[1, 2], [2, 3], [3, 4]]},
                             {"matrix": [[8, 7], [7, 6], [5, 4]]}])
    got = list(db.matrices.aggregate([{"$project": {"_id": False, "transposed": {"$zip": {
        "inputs": [{"$arrayElemAt": ["$matrix", 0]}, {"$arrayElemAt": ["$matrix", 1]},
                   {"$arrayElemAt": ["$matrix", 2]}]}}}}]))
    assert got == [{"transposed": [[1, 2, 3], [2, 3, 4]]},
                   {"transposed": [[8, 7, 5], [7, 6, 4]]}]


def test_object_to_array_sum_docs_example(db):
    # "$objectToArray": "$objectToArray to Sum Nested Fields"
    db.inventory.insert_many([
        {"_id": 1, "item": "ABC1", "instock": {"warehouse1": 2500, "warehouse2": 500}},
        {"_id": 2, "item": "ABC2", "instock": {"warehouse2": 500, "warehouse3": 200}},
    ])
    got = list(db.inventory.aggregate([
        {"$project": {"warehouses": {"$objectToArray": "$instock"}}},
        {"$unwind": "$warehouses"},
        {"$group": {"_id": "$warehouses.k", "total": {"$sum": "$warehouses.v"}}},
        {"$sort": {"_id": 1}}]))
    assert got == [{"_id": "warehouse1", "total": 2500}, {"_id": "warehouse2", "total": 1000},
                   {"_id": "warehouse3", "total": 200}]


def test_array_to_object_docs_example(db):
    db.inventory.insert_many([
        {"_id": 1, "item": "ABC1", "dimensions": [{"k": "l", "v": 25}, {"k": "w", "v": 10},
                                                  {"k": "uom", "v": "cm"}]},
        {"_id": 2, "item": "ABC2", "dimensions": [["l", 50], ["w", 25], ["uom", "cm"]]},
        {"_id": 3, "item": "ABC3", "dimensions": [["l", 25], ["l", "cm"], ["l", 50]]},
    ])
    got = list(db.inventory.aggregate([{"$project": {"item": 1, "dimensions": {
        "$arrayToObject": "$dimensions"}}}]))
    assert got == [{"_id": 1, "item": "ABC1", "dimensions": {"l": 25, "w": 10, "uom": "cm"}},
                   {"_id": 2, "item": "ABC2", "dimensions": {"l": 50, "w": 25, "uom": "cm"}},
                   {"_id": 3, "item": "ABC3", "dimensions": {"l": 50}}]


def test_range_docs_example(db):
    # "$range": stops every 25 miles
    db.distances.insert_many([{"_id": 0, "city": "San Jose", "distance": 42},
                              {"_id": 1, "city": "Sacramento", "distance": 88},
                              {"_id": 2, "city": "Reno", "distance": 218},
                              {"_id": 3, "city": "Los Angeles", "distance": 383}])
    got = list(db.distances.aggregate([{"$project": {"_id": 0, "city": 1, "Rest stops": {
        "$range": [0, "$distance", 25]}}}]))
    assert got == [
        {"city": "San Jose", "Rest stops": [0, 25]},
        {"city": "Sacramento", "Rest stops": [0, 25, 50, 75]},
        {"city": "Reno", "Rest stops": [0, 25, 50, 75, 100, 125, 150, 175, 200]},
        {"city": "Los Angeles", "Rest stops": [0, 25, 50, 75, 100, 125, 150, 175, 200, 225,
                                               250, 275, 300, 325, 350, 375]}]


def test_reduce_probability_docs_example(db):
    db.events.insert_many([
        {"_id": 1, "type": "die", "experimentId": "r5", "description": "Roll a 5",
         "eventNum": 1, "probability": 0.16666666666667},
        {"_id": 2, "type": "card", "experimentId": "d3rc", "description": "Draw 3 red cards",
         "eventNum": 1, "probability": 0.5},
        {"_id": 3, "type": "card", "experimentId": "d3rc", "description": "Draw 3 red cards",
         "eventNum": 2, "probability": 0.49019607843137},
        {"_id": 4, "type": "card", "experimentId": "d3rc", "description": "Draw 3 red cards",
         "eventNum": 3, "probability": 0.48},
        {"_id": 5, "type": "die", "experimentId": "r16", "description": "Roll a 1 then a 6",
         "eventNum": 1, "probability": 0.16666666666667},
        {"_id": 6, "type": "die", "experimentId": "r16", "description": "Roll a 1 then a 6",
         "eventNum": 2, "probability": 0.16666666666667},
    ])
    got = list(db.events.aggregate([
        {"$group": {"_id": "$experimentId", "probabilityArr": {"$push": "$probability"}}},
        {"$project": {"description": 1, "results": {"$reduce": {
            "input": "$probabilityArr", "initialValue": 1,
            "in": {"$multiply": ["$$value", "$$this"]}}}}},
        {"$sort": {"_id": 1}}]))
    assert [g["_id"] for g in got] == ["d3rc", "r16", "r5"]
    assert got[0]["results"] == pytest.approx(0.11764705882352879)
    assert got[1]["results"] == pytest.approx(0.027777777777778886)
    assert got[2]["results"] == pytest.approx(0.16666666666667)


@pytest.mark.parametrize("value, expected", [
    (1.999, 1.9), (0, 0), (-1.999, -1.9), (Int64(5), Int64(5)),
])
def test_trunc_with_place(db, value, expected):
    got = expr(db, {"$trunc": [value, 1]})
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value, place, expected", [
    # "$round": examples table
    (1234.5678, 2, 1234.57), (1234.5678, -2, 1200.0), (1234.5678, 0, 1235.0),
    (-1234.5678, 2, -1234.57), (Decimal128("1234.5678"), 2, Decimal128("1234.57")),
])
def test_round_with_place(db, value, place, expected):
    assert expr(db, {"$round": [value, place]}) == expected


@pytest.mark.parametrize("value, expected", [
    # "$toBool" behaviour table
    (True, True), (0, False), (1.5, True), (Decimal128("0"), False), ("", True),
    ("false", True), (ObjectId("5ab9cbfa31c2ab715d42129e"), True), (dt(2018, 1, 1), True),
    (None, None),
])
def test_to_bool_table(db, value, expected):
    assert expr(db, {"$toBool": {"$literal": value}}) is expected


@pytest.mark.parametrize("value, expected", [
    # "$toDecimal"/"$toDouble"/"$toLong" behaviour tables
    ({"$toDecimal": True}, D("1")), ({"$toDecimal": "-5.5"}, D("-5.5")),
    ({"$toDecimal": dt(2018, 3, 26, 4, 38, 28, 44000)}, D("1522039108044")),
    ({"$toDouble": False}, 0.0), ({"$toDouble": Int64(5)}, 5.0),
    ({"$toDouble": D("-5.5")}, -5.5), ({"$toDouble": dt(2018, 3, 27)}, 1522108800000.0),
    ({"$toLong": True}, Int64(1)), ({"$toLong": 1.99999}, Int64(1)),
    ({"$toLong": D("5.5000")}, Int64(5)), ({"$toLong": "-2"}, Int64(-2)),
    ({"$toLong": dt(2018, 3, 26, 4, 38, 28, 44000)}, Int64(1522039108044)),
    ({"$toInt": "-2"}, -2), ({"$toInt": D("5.5000")}, 5),
    ({"$toString": D("2.5")}, "2.5"), ({"$toString": Int64(2)}, "2"),
    ({"$toObjectId": "5ab9cbfa31c2ab715d42129e"}, ObjectId("5ab9cbfa31c2ab715d42129e")),
])
def test_conversion_tables(db, value, expected):
    got = expr(db, value)
    assert got == expected and type(got) is type(expected)


def test_convert_docs_example(db):
    # "$convert": "Example" -- price conversions with onError / onNull
    db.orders.insert_many([
        {"_id": 1, "item": "apple", "qty": 5, "price": 10},
        {"_id": 2, "item": "pie", "qty": 10, "price": D("20.0")},
        {"_id": 3, "item": "ice cream", "qty": 2, "price": "4.99"},
        {"_id": 4, "item": "almonds"},
        {"_id": 5, "item": "bananas", "qty": 5000000000, "price": D("1.25")},
    ])
    got = list(db.orders.aggregate([
        {"$addFields": {
            "convertedPrice": {"$convert": {"input": "$price", "to": "decimal",
                                            "onError": "Error", "onNull": D("0")}},
            "convertedQty": {"$convert": {"input": "$qty", "to": "int",
                                          "onError": {"$concat": [
                                              "Could not convert ", {"$toString": "$qty"},
                                              " to type integer."]},
                                          "onNull": 0}}}},
        {"$project": {"totalPrice": {"$switch": {
            "branches": [{"case": {"$eq": [{"$type": "$convertedPrice"}, "string"]},
                          "then": "NaN"},
                         {"case": {"$eq": [{"$type": "$convertedQty"}, "string"]},
                          "then": "NaN"}],
            "default": {"$multiply": ["$convertedPrice", "$convertedQty"]}}}}}]))
    assert got == [{"_id": 1, "totalPrice": D("50")}, {"_id": 2, "totalPrice": D("200.0")},
                   {"_id": 3, "totalPrice": D("9.98")}, {"_id": 4, "totalPrice": D("0")},
                   {"_id": 5, "totalPrice": "NaN"}]


# -- "$locf", "$linearFill", "$fill": docs examples (stock prices) --------------------------

@pytest.fixture
def stock(db):
    db.stock.insert_many([
        {"time": dt(2021, 3, 8, 9, 0, 0, 500000), "price": 500},
        {"time": dt(2021, 3, 8, 10, 0, 0, 500000)},
        {"time": dt(2021, 3, 8, 11, 0, 0, 500000), "price": 515},
        {"time": dt(2021, 3, 8, 12, 0, 0, 500000)},
        {"time": dt(2021, 3, 8, 13, 0, 0, 500000)},
        {"time": dt(2021, 3, 8, 14, 0, 0, 500000), "price": 485},
    ])
    return db.stock


def test_locf(stock):
    got = stock.aggregate([{"$setWindowFields": {"sortBy": {"time": 1},
                                                 "output": {"price": {"$locf": "$price"}}}}])
    assert [d["price"] for d in got] == [500, 500, 515, 515, 515, 485]


def test_linear_fill(stock):
    got = stock.aggregate([{"$setWindowFields": {"sortBy": {"time": 1},
                                                 "output": {"price": {"$linearFill": "$price"}}}}])
    assert [d["price"] for d in got] == [500, 507.5, 515, 505.0, 495.0, 485]


def test_fill_stage(stock):
    got = stock.aggregate([{"$fill": {"sortBy": {"time": 1},
                                      "output": {"price": {"method": "locf"}}}}])
    assert [d["price"] for d in got] == [500, 500, 515, 515, 515, 485]
    got = stock.aggregate([{"$fill": {"output": {"price": {"value": 0}}}}])
    assert [d["price"] for d in got] == [500, 0, 515, 0, 0, 485]


# -- "Aggregation with the Zip Code Data Set" (small sample of the data set) ---------------

ZIPS = [
    {"_id": "01001", "city": "AGAWAM", "state": "MA", "pop": 15338},
    {"_id": "01002", "city": "CUSHMAN", "state": "MA", "pop": 36963},
    {"_id": "01005", "city": "BARRE", "state": "MA", "pop": 4546},
    {"_id": "01007", "city": "BELCHERTOWN", "state": "MA", "pop": 10579},
    {"_id": "90001", "city": "LOS ANGELES", "state": "CA", "pop": 57110},
    {"_id": "90002", "city": "LOS ANGELES", "state": "CA", "pop": 51223},
    {"_id": "94101", "city": "SAN FRANCISCO", "state": "CA", "pop": 100000},
    {"_id": "10001", "city": "NEW YORK", "state": "NY", "pop": 18913},
]


@pytest.fixture
def zipcodes(db):
    db.zipcodes.insert_many([dict(d) for d in ZIPS])
    return db.zipcodes


def test_zip_states_above_threshold(zipcodes):
    assert list(zipcodes.aggregate([
        {"$group": {"_id": "$state", "totalPop": {"$sum": "$pop"}}},
        {"$match": {"totalPop": {"$gte": 100000}}}])) == [{"_id": "CA", "totalPop": 208333}]


def test_zip_average_city_population_by_state(zipcodes):
    got = list(zipcodes.aggregate([
        {"$group": {"_id": {"state": "$state", "city": "$city"}, "pop": {"$sum": "$pop"}}},
        {"$group": {"_id": "$_id.state", "avgCityPop": {"$avg": "$pop"}}},
        {"$sort": {"_id": 1}}]))
    assert got == [{"_id": "CA", "avgCityPop": 104166.5}, {"_id": "MA", "avgCityPop": 16856.5},
                   {"_id": "NY", "avgCityPop": 18913.0}]


def test_zip_largest_and_smallest_cities_by_state(zipcodes):
    got = list(zipcodes.aggregate([
        {"$group": {"_id": {"state": "$state", "city": "$city"}, "pop": {"$sum": "$pop"}}},
        {"$sort": {"pop": 1}},
        {"$group": {"_id": "$_id.state",
                    "biggestCity": {"$last": "$_id.city"}, "biggestPop": {"$last": "$pop"},
                    "smallestCity": {"$first": "$_id.city"},
                    "smallestPop": {"$first": "$pop"}}},
        {"$project": {"_id": 0, "state": "$_id",
                      "biggestCity": {"name": "$biggestCity", "pop": "$biggestPop"},
                      "smallestCity": {"name": "$smallestCity", "pop": "$smallestPop"}}},
        {"$sort": {"state": 1}}]))
    assert got == [
        {"state": "CA", "biggestCity": {"name": "LOS ANGELES", "pop": 108333},
         "smallestCity": {"name": "SAN FRANCISCO", "pop": 100000}},
        {"state": "MA", "biggestCity": {"name": "CUSHMAN", "pop": 36963},
         "smallestCity": {"name": "BARRE", "pop": 4546}},
        {"state": "NY", "biggestCity": {"name": "NEW YORK", "pop": 18913},
         "smallestCity": {"name": "NEW YORK", "pop": 18913}},
    ]
    # (field order left out: the server keeps input-document order for sub-projections
    # of fields that already exist, and the manual's rendering is not authoritative)


# -- "Aggregation with User Preference Data" ------------------------------------------------

MEMBERS = [
    {"_id": "jane", "joined": dt(2011, 3, 2), "likes": ["golf", "racquetball"]},
    {"_id": "joe", "joined": dt(2012, 7, 2), "likes": ["tennis", "golf", "swimming"]},
    {"_id": "ruth", "joined": dt(2012, 1, 14), "likes": ["golf", "racquetball"]},
    {"_id": "harold", "joined": dt(2012, 1, 21), "likes": ["handball", "golf", "racquetball"]},
    {"_id": "kate", "joined": dt(2012, 1, 14), "likes": ["swimming", "tennis"]},
]


@pytest.fixture
def users(db):
    db.users.insert_many([dict(d) for d in MEMBERS])
    return db.users


def test_user_prefs_normalize_and_sort(users):
    assert list(users.aggregate([{"$project": {"name": {"$toUpper": "$_id"}, "_id": 0}},
                                 {"$sort": {"name": 1}}])) == [
        {"name": "HAROLD"}, {"name": "JANE"}, {"name": "JOE"}, {"name": "KATE"},
        {"name": "RUTH"}]


def test_user_prefs_joins_per_month(users):
    assert list(users.aggregate([
        {"$project": {"month_joined": {"$month": "$joined"}}},
        {"$group": {"_id": {"month_joined": "$month_joined"}, "number": {"$sum": 1}}},
        {"$sort": {"_id.month_joined": 1}}])) == [
        {"_id": {"month_joined": 1}, "number": 3}, {"_id": {"month_joined": 3}, "number": 1},
        {"_id": {"month_joined": 7}, "number": 1}]


def test_user_prefs_most_common_likes(users):
    got = list(users.aggregate([{"$unwind": "$likes"},
                                {"$group": {"_id": "$likes", "number": {"$sum": 1}}},
                                {"$sort": {"number": -1, "_id": 1}}, {"$limit": 3}]))
    assert got == [{"_id": "golf", "number": 4}, {"_id": "racquetball", "number": 3},
                   {"_id": "swimming", "number": 2}]


# -- "$convert": every conversion of the server's jstests/aggregation/expressions/convert.js --

_OID = ObjectId("0123456789abcdef01234567")
CONVERSIONS = [
    (1.9, "double", 1.9), (1.9, "string", "1.9"), (1.9, "bool", True),
    (1.9, "date", dt(1970, 1, 1, 0, 0, 0, 1000)), (1.9, "int", 1), (1.9, "long", Int64(1)),
    (1.9, "decimal", D("1.90000000000000")),
    ("1.9", "double", 1.9), ("str", "string", "str"), ("0123456789abcdef01234567", "objectId", _OID),
    ("", "bool", True), ("1970-01-01T00:00:00.001Z", "date", dt(1970, 1, 1, 0, 0, 0, 1000)),
    ("1", "int", 1), ("1", "long", Int64(1)), ("1.9", "decimal", D("1.9")),
    (_OID, "string", "0123456789abcdef01234567"), (_OID, "bool", True), (_OID, "objectId", _OID),
    (_OID, "date", dt(1970, 8, 9, 22, 25, 43)),
    (False, "double", 0.0), (False, "string", "false"), (False, "bool", False), (False, "int", 0),
    (False, "long", Int64(0)), (False, "decimal", D("0")),
    (dt(1970, 1, 1, 0, 0, 0, 123000), "double", 123.0),
    (dt(1970, 1, 1, 0, 0, 0, 123000), "string", "1970-01-01T00:00:00.123Z"),
    (dt(1970, 1, 1, 0, 0, 0, 123000), "bool", True),
    (dt(1970, 1, 1, 0, 0, 0, 123000), "date", dt(1970, 1, 1, 0, 0, 0, 123000)),
    (dt(1970, 1, 1, 0, 0, 0, 123000), "long", Int64(123)),
    (dt(1970, 1, 1, 0, 0, 0, 123000), "decimal", D("123")),
    (1, "double", 1.0), (1, "string", "1"), (1, "bool", True), (1, "int", 1),
    (1, "long", Int64(1)), (1, "decimal", D("1")),
    (Int64(1), "double", 1.0), (Int64(1), "string", "1"), (Int64(1), "bool", True),
    (Int64(1), "date", dt(1970, 1, 1, 0, 0, 0, 1000)), (Int64(1), "int", 1),
    (Int64(1), "long", Int64(1)), (Int64(1), "decimal", D("1")),
    (D("1.9"), "double", 1.9), (D("1.9"), "string", "1.9"), (D("1.9"), "bool", True),
    (D("1.9"), "date", dt(1970, 1, 1, 0, 0, 0, 1000)), (D("1.9"), "int", 1),
    (D("1.9"), "long", Int64(1)), (D("1.9"), "decimal", D("1.9")),
    (MinKey(), "bool", True), ({"foo": 1, "bar": 2}, "bool", True), ([1, 2], "bool", True),
    (Binary(b"\x04\x10\x41" * 7), "bool", True), (Regex("B*"), "bool", True),
    (DBRef("db.test", "oid"), "bool", True), (Code("function() {}"), "bool", True),
    (Timestamp(1, 1), "date", dt(1970, 1, 1, 0, 0, 1)),
]
_SHORTHAND = {"double": "$toDouble", "objectId": "$toObjectId", "bool": "$toBool",
              "date": "$toDate", "int": "$toInt", "long": "$toLong", "decimal": "$toDecimal",
              "string": "$toString"}


@pytest.mark.parametrize("value, target, expected", CONVERSIONS)
def test_convert_table(db, value, target, expected):
    db.c.insert_one({"_id": 0, "input": value, "target": target})
    got = list(db.c.aggregate([{"$project": {
        "out": {"$convert": {"to": "$target", "input": "$input"}},
        "short": {_SHORTHAND[target]: "$input"}}},
        {"$addFields": {"type": {"$type": "$out"}}}]))[0]
    assert got["out"] == expected and got["short"] == expected
    assert got["type"] == target
    assert type(got["out"]) is type(expected)


@pytest.mark.parametrize("value, target", [
    (1.9, "objectId"), (_OID, "double"), (_OID, "int"), (_OID, "long"), (_OID, "decimal"),
    (False, "objectId"), (False, "date"), (dt(1970, 1, 1), "objectId"), (dt(1970, 1, 1), "int"),
    (1, "objectId"), (1, "date"), (Int64(1), "objectId"), (D("1.9"), "objectId"),
    (1.9, "minKey"), (1.9, "missing"), (1.9, "object"), (1.9, "array"), (1.9, "undefined"),
    (1.9, "null"), (1.9, "regex"), (1.9, "dbPointer"), (1.9, "javascript"), (1.9, "symbol"),
    (1.9, "javascriptWithScope"), (1.9, "timestamp"), (1.9, "maxKey"),
])
def test_convert_illegal_conversions(db, value, target):
    db.c.insert_one({"_id": 0, "input": value, "target": target})
    with pytest.raises(OperationFailure):
        list(db.c.aggregate([{"$project": {"out": {"$convert": {"to": "$target",
                                                                 "input": "$input"}}}}]))
    got = list(db.c.aggregate([{"$project": {"_id": 0, "a": {"$convert": {
        "to": "$target", "input": "$input", "onError": "ERROR"}}, "b": {"$convert": {
        "to": "$target", "input": "$input", "onError": "$$REMOVE"}}}}]))
    assert got == [{"a": "ERROR"}]


def test_convert_null_inputs_and_input_errors(db):
    db.c.insert_many([{"_id": 0, "input": None}, {"_id": 2}])
    for to in ("int", None):
        got = list(db.c.aggregate([{"$project": {"output": {"$convert": {
            "to": to, "input": "$input", "onNull": "NULL"}}}}]))
        assert [d["output"] for d in got] == ["NULL", "NULL"]
    # an error in the input expression is not suppressed by onError
    with pytest.raises(OperationFailure):
        list(db.c.aggregate([{"$project": {"output": {"$convert": {
            "to": "string", "input": {"$divide": [1, 0]}, "onError": "ERROR"}}}}]))
