"""Fidelity audit: update operator pages of the MongoDB manual ($set, $unset,
$inc, $mul, $min/$max, $rename, $setOnInsert, $addToSet, $pop, $pull, $pullAll,
$push and its modifiers, $, $[], $[<identifier>], upserts, pipeline updates,
findAndModify) run end to end on MemoryClient (see docs/audit.md)."""

import datetime
import re as _re

import pytest
from bson import DBRef, Decimal128, Int64, ObjectId, Regex
from pymongo import ReturnDocument
from pymongo.errors import WriteError
from pymongo.results import UpdateResult

from dongo.backends.memory import MemoryClient


@pytest.fixture
def db():
    return MemoryClient()["test"]


def one(coll, _id):
    return coll.find_one({"_id": _id})


# -- "$set" ------------------------------------------------------------------------------

def _products(db):
    db.products.insert_one({
        "_id": 100, "quantity": 250, "instock": True, "reorder": False,
        "details": {"model": "14QQ", "make": "Clothes Corp"},
        "tags": ["apparel", "clothing"], "ratings": [{"by": "Customer007", "rating": 4}]})
    return db.products


def test_set_top_level_fields(db):
    c = _products(db)
    r = c.update_one({"_id": 100}, {"$set": {
        "quantity": 500, "details": {"model": "2600", "make": "Fashionaires"},
        "tags": ["coats", "outerwear", "clothing"]}})
    assert isinstance(r, UpdateResult)
    assert (r.matched_count, r.modified_count, r.upserted_id) == (1, 1, None)
    doc = one(c, 100)
    assert doc == {"_id": 100, "quantity": 500, "instock": True, "reorder": False,
                   "details": {"model": "2600", "make": "Fashionaires"},
                   "tags": ["coats", "outerwear", "clothing"],
                   "ratings": [{"by": "Customer007", "rating": 4}]}
    assert list(doc) == ["_id", "quantity", "instock", "reorder", "details", "tags", "ratings"]


def test_set_embedded_and_array_elements(db):
    c = _products(db)
    c.update_one({"_id": 100}, {"$set": {"details.make": "Kustom Kidz"}})
    c.update_one({"_id": 100}, {"$set": {"tags.1": "rain gear", "ratings.0.rating": 2}})
    doc = one(c, 100)
    assert doc["details"] == {"model": "14QQ", "make": "Kustom Kidz"}
    assert doc["tags"] == ["apparel", "rain gear"]
    assert doc["ratings"] == [{"by": "Customer007", "rating": 2}]


def test_set_same_value_is_not_a_modification(db):
    c = _products(db)
    r = c.update_one({"_id": 100}, {"$set": {"quantity": 250}})
    assert (r.matched_count, r.modified_count) == (1, 0)


def test_set_creates_missing_embedded_path_and_new_fields_sort_lexicographically(db):
    # "Update Operators": "Behavior" -- from 5.0 fields with string names are
    # processed in lexicographic order, so new fields are appended that way.
    db.c.insert_one({"_id": 1})
    db.c.update_one({"_id": 1}, {"$set": {"z": 1, "a.c": 2, "a.b": 3, "m": 4}})
    doc = one(db.c, 1)
    assert doc == {"_id": 1, "a": {"b": 3, "c": 2}, "m": 4, "z": 1}
    assert list(doc) == ["_id", "a", "m", "z"]
    assert list(doc["a"]) == ["b", "c"]


def test_set_array_index_past_end_pads_with_null(db):
    db.c.insert_one({"_id": 1, "a": [1]})
    db.c.update_one({"_id": 1}, {"$set": {"a.3": 4}})
    assert one(db.c, 1)["a"] == [1, None, None, 4]


def test_set_field_in_scalar_is_path_not_viable(db):
    db.c.insert_one({"_id": 1, "a": 5})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$set": {"a.b": 1}})
    assert exc.value.code == 28
    assert exc.value.details["errmsg"] == \
        "Cannot create field 'b' in element {a: 5}"
    assert one(db.c, 1) == {"_id": 1, "a": 5}


# -- "$unset" ----------------------------------------------------------------------------

def test_unset_removes_fields_and_ignores_missing(db):
    db.products.insert_many([
        {"_id": 1, "item": "chocolates", "quantity": 50, "instock": True},
        {"_id": 2, "item": "bananas", "quantity": 100},
    ])
    r = db.products.update_many({}, {"$unset": {"quantity": "", "instock": ""}})
    assert (r.matched_count, r.modified_count) == (2, 2)
    assert list(db.products.find()) == [{"_id": 1, "item": "chocolates"},
                                        {"_id": 2, "item": "bananas"}]
    r = db.products.update_one({"_id": 1}, {"$unset": {"nothing": ""}})
    assert (r.matched_count, r.modified_count) == (1, 0)


def test_unset_array_element_sets_null(db):
    db.c.insert_one({"_id": 1, "a": [1, 2, 3]})
    db.c.update_one({"_id": 1}, {"$unset": {"a.1": ""}})
    assert one(db.c, 1)["a"] == [1, None, 3]


# -- "$inc" ------------------------------------------------------------------------------

def test_inc_example(db):
    db.products.insert_one({"_id": 1, "sku": "abc123", "quantity": 10,
                            "metrics": {"orders": 2, "ratings": 3.5}})
    db.products.update_one({"sku": "abc123"}, {"$inc": {"quantity": -2, "metrics.orders": 1}})
    assert one(db.products, 1) == {"_id": 1, "sku": "abc123", "quantity": 8,
                                   "metrics": {"orders": 3, "ratings": 3.5}}


def test_inc_missing_field_creates_it(db):
    db.c.insert_one({"_id": 1})
    db.c.update_one({"_id": 1}, {"$inc": {"n": 5}})
    assert one(db.c, 1) == {"_id": 1, "n": 5}


def test_inc_non_numeric_is_type_mismatch(db):
    db.c.insert_one({"_id": 1, "a": "x"})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$inc": {"a": 1}})
    assert exc.value.code == 14
    assert exc.value.details["errmsg"] == ("Cannot apply $inc to a value of non-numeric type. "
                                           "{_id: 1} has the field 'a' of non-numeric type string")


def test_inc_with_non_number_argument_is_type_mismatch(db):
    db.c.insert_one({"_id": 1, "a": 1})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$inc": {"a": "1"}})
    assert exc.value.code == 14
    assert exc.value.details["errmsg"] == 'Cannot increment with non-numeric argument: {a: "1"}'


def test_inc_int32_overflow_widens_to_long(db):
    db.c.insert_one({"_id": 1, "a": 2147483647})
    db.c.update_one({"_id": 1}, {"$inc": {"a": 1}})
    value = one(db.c, 1)["a"]
    assert value == 2147483648 and isinstance(value, Int64)


# -- "$mul" ------------------------------------------------------------------------------

def test_mul_examples(db):
    db.products.insert_many([
        {"_id": 1, "item": "Hats", "price": Decimal128("10.99"), "quantity": 25},
        {"_id": 2, "item": "Unknown"},
        {"_id": 3, "item": "Scarf", "price": Int64(10)},
    ])
    db.products.update_one({"_id": 1}, {"$mul": {"price": Decimal128("1.25"), "quantity": 2}})
    assert one(db.products, 1) == {"_id": 1, "item": "Hats", "price": Decimal128("13.7375"),
                                   "quantity": 50}
    # "Apply $mul Operator to a Non-existing Field": sets 0 of the multiplier's type
    db.products.update_one({"_id": 2}, {"$mul": {"price": Int64(100)}})
    price = one(db.products, 2)["price"]
    assert price == 0 and isinstance(price, Int64)
    # "Multiply Mixed Numeric Types": long * int -> long
    db.products.update_one({"_id": 3}, {"$mul": {"price": 5}})
    price = one(db.products, 3)["price"]
    assert price == 50 and isinstance(price, Int64)


# -- "$min" / "$max" -----------------------------------------------------------------------

def test_min_max_numbers(db):
    db.scores.insert_one({"_id": 1, "highScore": 800, "lowScore": 200})
    r = db.scores.update_one({"_id": 1}, {"$min": {"lowScore": 150}})
    assert r.modified_count == 1
    r = db.scores.update_one({"_id": 1}, {"$min": {"lowScore": 250}})
    assert r.modified_count == 0
    r = db.scores.update_one({"_id": 1}, {"$max": {"highScore": 950}})
    assert r.modified_count == 1
    r = db.scores.update_one({"_id": 1}, {"$max": {"highScore": 870}})
    assert r.modified_count == 0
    assert one(db.scores, 1) == {"_id": 1, "highScore": 950, "lowScore": 150}


def test_min_dates(db):
    db.tags.insert_one({"_id": 1, "desc": "crafts",
                        "dateEntered": datetime.datetime(2013, 10, 1, 5, 0),
                        "dateExpired": datetime.datetime(2013, 10, 1, 16, 38, 16)})
    db.tags.update_one({"_id": 1}, {
        "$min": {"dateEntered": datetime.datetime(2013, 9, 25)},
        "$max": {"dateExpired": datetime.datetime(2013, 10, 1, 16, 38, 16, 163000)}})
    assert one(db.tags, 1) == {"_id": 1, "desc": "crafts",
                               "dateEntered": datetime.datetime(2013, 9, 25),
                               "dateExpired": datetime.datetime(2013, 10, 1, 16, 38, 16, 163000)}


def test_min_compares_across_types_in_bson_order(db):
    # "$min": "If the field does not exist, $min sets the field"; comparison
    # follows the BSON comparison order (null < numbers < strings).
    db.c.insert_one({"_id": 1, "a": "text", "b": 5})
    db.c.update_one({"_id": 1}, {"$min": {"a": 10, "c": 3}, "$max": {"b": None}})
    assert one(db.c, 1) == {"_id": 1, "a": 10, "b": 5, "c": 3}


# -- "$rename" -------------------------------------------------------------------------------

def test_rename_field(db):
    db.students.insert_one({"_id": 1, "alias": ["The American Cincinnatus", "The American Fabius"],
                            "mobile": "555-555-5555", "nmae": {"first": "george",
                                                                 "last": "washington"}})
    db.students.update_many({"nmae": {"$ne": None}}, {"$rename": {"nmae": "name"}})
    doc = one(db.students, 1)
    assert doc == {"_id": 1, "alias": ["The American Cincinnatus", "The American Fabius"],
                   "mobile": "555-555-5555", "name": {"first": "george", "last": "washington"}}
    assert list(doc) == ["_id", "alias", "mobile", "name"]
    # "Rename a Field in an Embedded Document"
    db.students.update_one({"_id": 1}, {"$rename": {"name.first": "name.fname"}})
    assert one(db.students, 1)["name"] == {"last": "washington", "fname": "george"}
    # "Rename a Field That Does Not Exist": no-op
    r = db.students.update_one({"_id": 1}, {"$rename": {"wife": "spouse"}})
    assert (r.matched_count, r.modified_count) == (1, 0)


def test_rename_into_array_is_an_error(db):
    db.c.insert_one({"_id": 1, "a": [{"b": 1}], "x": 1})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$rename": {"a.0.b": "c"}})
    assert exc.value.code == 2


# -- "$setOnInsert" --------------------------------------------------------------------------

def test_set_on_insert_on_upsert_insert(db):
    r = db.products.update_one({"_id": 1}, {"$set": {"item": "apple"},
                                            "$setOnInsert": {"defaultQty": 100}}, upsert=True)
    assert (r.matched_count, r.modified_count, r.upserted_id) == (0, 0, 1)
    assert one(db.products, 1) == {"_id": 1, "item": "apple", "defaultQty": 100}


def test_set_on_insert_ignored_on_update(db):
    db.products.insert_one({"_id": 1, "item": "pear"})
    r = db.products.update_one({"_id": 1}, {"$set": {"item": "apple"},
                                            "$setOnInsert": {"defaultQty": 100}}, upsert=True)
    assert (r.matched_count, r.modified_count, r.upserted_id) == (1, 1, None)
    assert one(db.products, 1) == {"_id": 1, "item": "apple"}


# -- "$addToSet" -------------------------------------------------------------------------------

def test_add_to_set(db):
    db.inventory.insert_many([
        {"_id": 1, "item": "polarizing_filter", "tags": ["electronics", "camera"]},
        {"_id": 2, "item": "cable", "tags": ["electronics", "supplies"]},
    ])
    db.inventory.update_one({"_id": 1}, {"$addToSet": {"tags": "accessories"}})
    r = db.inventory.update_one({"_id": 1}, {"$addToSet": {"tags": "camera"}})
    assert r.modified_count == 0
    assert one(db.inventory, 1)["tags"] == ["electronics", "camera", "accessories"]
    db.inventory.update_one({"_id": 2}, {"$addToSet": {
        "tags": {"$each": ["camera", "electronics", "accessories"]}}})
    assert one(db.inventory, 2)["tags"] == ["electronics", "supplies", "camera", "accessories"]


def test_add_to_set_array_value_is_one_element(db):
    db.c.insert_one({"_id": 1, "letters": ["a", "b"]})
    db.c.update_one({"_id": 1}, {"$addToSet": {"letters": ["c", "d"]}})
    assert one(db.c, 1)["letters"] == ["a", "b", ["c", "d"]]


def test_add_to_set_document_equality_is_field_order_sensitive(db):
    db.c.insert_one({"_id": 1, "a": [{"x": 1, "y": 2}]})
    r = db.c.update_one({"_id": 1}, {"$addToSet": {"a": {"x": 1, "y": 2}}})
    assert r.modified_count == 0
    db.c.update_one({"_id": 1}, {"$addToSet": {"a": {"y": 2, "x": 1}}})
    assert one(db.c, 1)["a"] == [{"x": 1, "y": 2}, {"y": 2, "x": 1}]


def test_add_to_set_on_non_array_fails(db):
    db.pigments.insert_one({"_id": 1, "colors": "blue, green, red"})
    with pytest.raises(WriteError) as exc:
        db.pigments.update_one({"_id": 1}, {"$addToSet": {"colors": "mauve"}})
    assert exc.value.code == 2
    assert exc.value.details["errmsg"] == ("Cannot apply $addToSet to non-array field. "
                                           "Field named 'colors' has non-array type string")


def test_add_to_set_missing_field_creates_array(db):
    db.c.insert_one({"_id": 1})
    db.c.update_one({"_id": 1}, {"$addToSet": {"a": {"$each": [1, 1, 2]}}})
    assert one(db.c, 1)["a"] == [1, 2]


# -- "$pop" ----------------------------------------------------------------------------------

def test_pop(db):
    db.students.insert_many([{"_id": 1, "scores": [8, 9, 10]}, {"_id": 10, "scores": [9, 10]}])
    db.students.update_one({"_id": 1}, {"$pop": {"scores": -1}})
    db.students.update_one({"_id": 10}, {"$pop": {"scores": 1}})
    assert one(db.students, 1)["scores"] == [9, 10]
    assert one(db.students, 10)["scores"] == [9]


def test_pop_empty_array_is_noop(db):
    db.c.insert_one({"_id": 1, "a": []})
    r = db.c.update_one({"_id": 1}, {"$pop": {"a": 1}})
    assert r.modified_count == 0


# -- "$pull" ---------------------------------------------------------------------------------

def test_pull_values_and_conditions(db):
    db.stores.insert_many([
        {"_id": 1, "fruits": ["apples", "pears", "oranges", "grapes", "bananas"],
         "vegetables": ["carrots", "celery", "squash", "carrots"]},
        {"_id": 2, "fruits": ["plums", "kiwis", "oranges", "bananas", "apples"],
         "vegetables": ["broccoli", "zucchini", "carrots", "onions"]},
    ])
    r = db.stores.update_many({}, {"$pull": {"fruits": {"$in": ["apples", "oranges"]},
                                             "vegetables": "carrots"}})
    assert (r.matched_count, r.modified_count) == (2, 2)
    assert list(db.stores.find()) == [
        {"_id": 1, "fruits": ["pears", "grapes", "bananas"], "vegetables": ["celery", "squash"]},
        {"_id": 2, "fruits": ["plums", "kiwis", "bananas"],
         "vegetables": ["broccoli", "zucchini", "onions"]},
    ]


def test_pull_matching_condition(db):
    db.profiles.insert_one({"_id": 1, "votes": [3, 5, 6, 7, 7, 8]})
    db.profiles.update_one({"_id": 1}, {"$pull": {"votes": {"$gte": 6}}})
    assert one(db.profiles, 1) == {"_id": 1, "votes": [3, 5]}


def test_pull_from_array_of_documents(db):
    db.survey.insert_many([
        {"_id": 1, "results": [{"item": "A", "score": 5}, {"item": "B", "score": 8}]},
        {"_id": 2, "results": [{"item": "C", "score": 8}, {"item": "B", "score": 4}]},
    ])
    r = db.survey.update_many({}, {"$pull": {"results": {"score": 8, "item": "B"}}})
    assert (r.matched_count, r.modified_count) == (2, 1)
    assert list(db.survey.find()) == [
        {"_id": 1, "results": [{"item": "A", "score": 5}]},
        {"_id": 2, "results": [{"item": "C", "score": 8}, {"item": "B", "score": 4}]},
    ]


def test_pull_from_nested_arrays_with_elemmatch(db):
    db.survey.insert_many([
        {"_id": 1, "results": [
            {"item": "A", "score": 5, "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]},
            {"item": "B", "score": 8, "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 9}]}]},
        {"_id": 2, "results": [
            {"item": "C", "score": 8, "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 7}]},
            {"item": "B", "score": 4, "answers": [{"q": 1, "a": 0}, {"q": 2, "a": 8}]}]},
    ])
    db.survey.update_many({}, {"$pull": {"results": {
        "answers": {"$elemMatch": {"q": 2, "a": {"$gte": 8}}}}}})
    assert [d["results"] for d in db.survey.find()] == [
        [{"item": "A", "score": 5, "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]}],
        [{"item": "C", "score": 8, "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 7}]}],
    ]


def test_pull_exact_document_value_matches_as_query(db):
    # "$pull": "If the specified <value> to remove is a document, $pull removes
    # only the elements in the array that have the exact same fields and values.
    # The ordering of the fields can differ."
    db.c.insert_one({"_id": 1, "a": [{"x": 1, "y": 2}, {"y": 2, "x": 1}, {"x": 1}]})
    db.c.update_one({"_id": 1}, {"$pull": {"a": {"y": 2, "x": 1}}})
    assert one(db.c, 1)["a"] == [{"x": 1}]


def test_pull_all(db):
    db.survey.insert_one({"_id": 1, "scores": [0, 2, 5, 5, 1, 0]})
    db.survey.update_one({"_id": 1}, {"$pullAll": {"scores": [0, 5]}})
    assert one(db.survey, 1) == {"_id": 1, "scores": [2, 1]}


# -- "$push" and modifiers ------------------------------------------------------------------

def test_push_value_and_each(db):
    db.students.insert_one({"_id": 1, "scores": [44, 78, 38, 80]})
    db.students.update_one({"_id": 1}, {"$push": {"scores": 89}})
    assert one(db.students, 1)["scores"] == [44, 78, 38, 80, 89]
    db.students.update_one({"_id": 1}, {"$push": {"scores": {"$each": [90, 92, 85]}}})
    assert one(db.students, 1)["scores"] == [44, 78, 38, 80, 89, 90, 92, 85]
    db.students.update_one({"_id": 1}, {"$push": {"scores": [1, 2]}})
    assert one(db.students, 1)["scores"][-1] == [1, 2]


def test_push_each_sort_slice(db):
    db.students.insert_one({"_id": 5, "quizzes": [
        {"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 3, "score": 5},
        {"wk": 4, "score": 6}]})
    db.students.update_one({"_id": 5}, {"$push": {"quizzes": {
        "$each": [{"wk": 5, "score": 8}, {"wk": 6, "score": 7}, {"wk": 7, "score": 6}],
        "$sort": {"score": -1}, "$slice": 3}}})
    assert one(db.students, 5) == {"_id": 5, "quizzes": [
        {"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 5, "score": 8}]}


def test_push_position(db):
    db.students.insert_one({"_id": 1, "scores": [100]})
    db.students.update_one({"_id": 1}, {"$push": {"scores": {"$each": [50, 60, 70],
                                                             "$position": 0}}})
    assert one(db.students, 1)["scores"] == [50, 60, 70, 100]
    db.students.update_one({"_id": 1}, {"$push": {"scores": {"$each": [20, 30],
                                                             "$position": 2}}})
    assert one(db.students, 1)["scores"] == [50, 60, 20, 30, 70, 100]
    db.students.update_one({"_id": 1}, {"$push": {"scores": {"$each": [90, 80],
                                                             "$position": -2}}})
    assert one(db.students, 1)["scores"] == [50, 60, 20, 30, 90, 80, 70, 100]


def test_push_slice(db):
    db.students.insert_many([{"_id": 1, "scores": [40, 50, 60]},
                             {"_id": 2, "scores": [89, 90]},
                             {"_id": 3, "scores": [89, 70, 100, 20]}])
    db.students.update_one({"_id": 1}, {"$push": {"scores": {"$each": [80, 78, 86],
                                                             "$slice": -5}}})
    db.students.update_one({"_id": 2}, {"$push": {"scores": {"$each": [100, 20],
                                                             "$slice": 3}}})
    db.students.update_one({"_id": 3}, {"$push": {"scores": {"$each": [], "$slice": -3}}})
    assert [d["scores"] for d in db.students.find()] == [
        [50, 60, 80, 78, 86], [89, 90, 100], [70, 100, 20]]


def test_push_sort(db):
    db.students.insert_many([
        {"_id": 1, "quizzes": [{"id": 1, "score": 6}, {"id": 2, "score": 9}]},
        {"_id": 2, "tests": [89, 70, 89, 50]},
        {"_id": 3, "tests": [89, 70, 100, 20]},
    ])
    db.students.update_one({"_id": 1}, {"$push": {"quizzes": {
        "$each": [{"id": 3, "score": 8}, {"id": 4, "score": 7}, {"id": 5, "score": 6}],
        "$sort": {"score": 1}}}})
    assert one(db.students, 1)["quizzes"] == [
        {"id": 1, "score": 6}, {"id": 5, "score": 6}, {"id": 4, "score": 7},
        {"id": 3, "score": 8}, {"id": 2, "score": 9}]
    db.students.update_one({"_id": 2}, {"$push": {"tests": {"$each": [40, 60], "$sort": 1}}})
    assert one(db.students, 2)["tests"] == [40, 50, 60, 70, 89, 89]
    db.students.update_one({"_id": 3}, {"$push": {"tests": {"$each": [], "$sort": -1}}})
    assert one(db.students, 3)["tests"] == [100, 89, 70, 20]


def test_push_on_non_array_fails(db):
    db.c.insert_one({"_id": 1, "a": 1})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$push": {"a": 2}})
    assert exc.value.code == 2
    assert exc.value.details["errmsg"] == ("The field 'a' must be an array but is of type int "
                                           "in document {_id: 1}")


# -- "$ (update)" ------------------------------------------------------------------------------

def test_positional_update_values(db):
    db.students.insert_many([{"_id": 1, "grades": [85, 80, 80]},
                             {"_id": 2, "grades": [88, 90, 92]},
                             {"_id": 3, "grades": [85, 100, 90]}])
    db.students.update_one({"_id": 1, "grades": 80}, {"$set": {"grades.$": 82}})
    assert one(db.students, 1)["grades"] == [85, 82, 80]


def test_positional_update_embedded_documents(db):
    db.students.insert_one({"_id": 4, "grades": [
        {"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 5},
        {"grade": 85, "mean": 85, "std": 8}]})
    db.students.update_one({"_id": 4, "grades.grade": 85}, {"$set": {"grades.$.std": 6}})
    assert one(db.students, 4)["grades"] == [
        {"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 6},
        {"grade": 85, "mean": 85, "std": 8}]


def test_positional_update_with_elemmatch(db):
    db.students.insert_one({"_id": 5, "grades": [
        {"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 5},
        {"grade": 90, "mean": 85, "std": 3}]})
    db.students.update_one({"_id": 5, "grades": {"$elemMatch": {"grade": {"$lte": 90},
                                                                 "mean": {"$gt": 80}}}},
                           {"$set": {"grades.$.std": 6}})
    assert one(db.students, 5)["grades"] == [
        {"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 6},
        {"grade": 90, "mean": 85, "std": 3}]


def test_positional_update_without_array_in_query_fails(db):
    db.c.insert_one({"_id": 1, "a": [1, 2]})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$set": {"a.$": 5}})
    assert exc.value.code == 2
    assert exc.value.details["errmsg"] == \
        "The positional operator did not find the match needed from the query."


def test_positional_upsert_is_an_error(db):
    # "$ (update)": "Do not use the positional operator $ with upsert operations
    # because inserts will use the $ as a field name in the inserted document."
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"a": 1}, {"$set": {"b.$": 2}}, upsert=True)
    assert exc.value.code == 2
    assert db.c.count_documents({}) == 0


# -- "$[]" ------------------------------------------------------------------------------------

def test_all_positional_update(db):
    db.students.insert_many([{"_id": 1, "grades": [85, 82, 80]},
                             {"_id": 2, "grades": [88, 90, 92]},
                             {"_id": 3, "grades": [85, 100, 90]}])
    r = db.students.update_many({}, {"$inc": {"grades.$[]": 10}})
    assert (r.matched_count, r.modified_count) == (3, 3)
    assert [d["grades"] for d in db.students.find()] == [[95, 92, 90], [98, 100, 102],
                                                        [95, 110, 100]]


def test_all_positional_embedded(db):
    db.students2.insert_one({"_id": 1, "grades": [
        {"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 6},
        {"grade": 85, "mean": 85, "std": 8}]})
    db.students2.update_many({}, {"$inc": {"grades.$[].std": -2}})
    assert [g["std"] for g in one(db.students2, 1)["grades"]] == [6, 4, 6]


def test_all_positional_upsert_with_array_equality(db):
    # "$[]": "Upsert" -- the equality on the array seeds the document.
    r = db.myColl.update_one({"myArray": [5, 8]}, {"$set": {"myArray.$[]": 10}}, upsert=True)
    assert isinstance(r.upserted_id, ObjectId)
    assert db.myColl.find_one({}, {"_id": 0}) == {"myArray": [10, 10]}


def test_all_positional_upsert_without_array_fails(db):
    with pytest.raises(WriteError) as exc:
        db.myColl.update_one({"x": 1}, {"$set": {"myArray.$[]": 10}}, upsert=True)
    assert exc.value.code == 2
    assert db.myColl.count_documents({}) == 0


def test_all_positional_with_filtered_nested(db):
    db.students3.insert_one({"_id": 1, "grades": [
        {"type": "quiz", "questions": [10, 8, 5]}, {"type": "quiz", "questions": [8, 9, 6]},
        {"type": "hw", "questions": [5, 4, 3]}, {"type": "exam", "questions": [25, 10, 23, 0]}]})
    db.students3.update_many({}, {"$inc": {"grades.$[].questions.$[score]": 2}},
                             array_filters=[{"score": {"$gte": 8}}])
    assert [g["questions"] for g in one(db.students3, 1)["grades"]] == [
        [12, 10, 5], [10, 11, 6], [5, 4, 3], [27, 12, 25, 0]]


# -- "$[<identifier>]" --------------------------------------------------------------------------

def test_filtered_positional_values(db):
    db.students.insert_many([{"_id": 1, "grades": [95, 92, 90]},
                             {"_id": 2, "grades": [98, 100, 102]},
                             {"_id": 3, "grades": [95, 110, 100]}])
    r = db.students.update_many({}, {"$set": {"grades.$[element]": 100}},
                                array_filters=[{"element": {"$gte": 100}}])
    assert (r.matched_count, r.modified_count) == (3, 2)
    assert [d["grades"] for d in db.students.find()] == [[95, 92, 90], [98, 100, 100],
                                                        [95, 100, 100]]


STUDENTS2 = [
    {"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 6},
                          {"grade": 85, "mean": 90, "std": 4},
                          {"grade": 85, "mean": 85, "std": 6}]},
    {"_id": 2, "grades": [{"grade": 90, "mean": 75, "std": 6},
                          {"grade": 87, "mean": 90, "std": 3},
                          {"grade": 85, "mean": 85, "std": 4}]},
]


def test_filtered_positional_embedded(db):
    db.students2.insert_many(STUDENTS2)
    db.students2.update_many({}, {"$set": {"grades.$[elem].mean": 100}},
                             array_filters=[{"elem.grade": {"$gte": 85}}])
    assert [[g["mean"] for g in d["grades"]] for d in db.students2.find()] == [
        [75, 100, 100], [100, 100, 100]]


def test_filtered_positional_multiple_conditions(db):
    db.students2.insert_many(STUDENTS2)
    db.students2.update_many({}, {"$inc": {"grades.$[elem].std": -1}},
                             array_filters=[{"elem.grade": {"$gte": 80}, "elem.std": {"$gt": 5}}])
    assert [[g["std"] for g in d["grades"]] for d in db.students2.find()] == [
        [5, 4, 5], [5, 3, 4]]


def test_filtered_positional_negation(db):
    db.alumni.insert_many([
        {"_id": 1, "name": "Christine Franklin", "degrees": [{"level": "Master"},
                                                             {"level": "Bachelor"}]},
        {"_id": 2, "name": "Reyansh Sengupta", "degrees": [{"level": "Bachelor"}]},
    ])
    db.alumni.update_many({}, {"$set": {"degrees.$[degree].gradcampaign": 1}},
                          array_filters=[{"degree.level": {"$ne": "Bachelor"}}])
    assert [d["degrees"] for d in db.alumni.find()] == [
        [{"level": "Master", "gradcampaign": 1}, {"level": "Bachelor"}],
        [{"level": "Bachelor"}]]


def test_filtered_positional_nested_identifiers(db):
    db.students3.insert_one({"_id": 1, "grades": [
        {"type": "quiz", "questions": [10, 8, 5]}, {"type": "quiz", "questions": [8, 9, 6]},
        {"type": "hw", "questions": [5, 4, 3]}, {"type": "exam", "questions": [25, 10, 23, 0]}]})
    db.students3.update_many({}, {"$inc": {"grades.$[t].questions.$[score]": 2}},
                             array_filters=[{"t.type": "quiz"}, {"score": {"$gte": 8}}])
    assert [g["questions"] for g in one(db.students3, 1)["grades"]] == [
        [12, 10, 5], [10, 11, 6], [5, 4, 3], [25, 10, 23, 0]]


def test_filtered_positional_missing_filter_is_bad_value(db):
    db.c.insert_one({"_id": 1, "a": [1]})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({}, {"$set": {"a.$[x]": 2}})
    assert exc.value.code == 2
    assert exc.value.details["errmsg"] == "No array filter found for identifier 'x' in path 'a.$[x]'"


def test_unused_array_filter_is_failed_to_parse(db):
    db.c.insert_one({"_id": 1, "a": [1]})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({}, {"$set": {"a.$[x]": 2}}, array_filters=[{"x": 1}, {"y": 1}])
    assert exc.value.code == 9
    assert exc.value.details["errmsg"] == \
        "The array filter for identifier 'y' was not used in the update { $set: { a.$[x]: 2 } }"


# -- Upserts ("db.collection.updateOne()", "Upsert Behavior") -------------------------------

def test_upsert_from_equality_fields(db):
    r = db.c.update_one({"name": "Andy", "rating": {"$gt": 1}, "a.b": 5},
                        {"$inc": {"score": 1}}, upsert=True)
    assert (r.matched_count, r.modified_count) == (0, 0)
    assert isinstance(r.upserted_id, ObjectId)
    doc = db.c.find_one()
    assert doc == {"_id": r.upserted_id, "name": "Andy", "a": {"b": 5}, "score": 1}
    assert list(doc)[0] == "_id" and list(doc)[-1] == "score"


def test_upsert_with_id_in_filter(db):
    r = db.c.update_one({"_id": 7, "x": {"$in": [3]}}, {"$set": {"y": 1}}, upsert=True)
    assert r.upserted_id == 7
    # $in with one element is an equality for the upsert seed
    assert db.c.find_one() == {"_id": 7, "x": 3, "y": 1}


def test_upsert_with_and_of_equalities(db):
    db.c.update_one({"$and": [{"a": 1}, {"b": 2}]}, {"$set": {"c": 3}}, upsert=True)
    assert db.c.find_one({}, {"_id": 0}) == {"a": 1, "b": 2, "c": 3}


def test_upsert_replacement_takes_id_from_filter(db):
    r = db.c.replace_one({"_id": 5, "name": "x"}, {"name": "y", "v": 1}, upsert=True)
    assert r.upserted_id == 5
    assert db.c.find_one() == {"_id": 5, "name": "y", "v": 1}


def test_upsert_update_many_inserts_one(db):
    r = db.c.update_many({"k": 1}, {"$set": {"v": 1}}, upsert=True)
    assert (r.matched_count, r.modified_count) == (0, 0)
    assert db.c.count_documents({}) == 1


def test_upsert_with_conflicting_filter_and_update_path(db):
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"a": 1}, {"$set": {"a.b": 2}}, upsert=True)
    assert exc.value.code == 28
    assert db.c.count_documents({}) == 0


# -- Update errors ("Update Operators", "_id Field") ------------------------------------------

def test_modifying_id_is_immutable_field(db):
    db.c.insert_one({"_id": 1, "a": 1})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$set": {"_id": 2}})
    assert exc.value.code == 66
    assert exc.value.details["errmsg"] == \
        "Performing an update on the path '_id' would modify the immutable field '_id'"
    with pytest.raises(WriteError) as exc:
        db.c.replace_one({"_id": 1}, {"_id": 2, "a": 1})
    assert exc.value.code == 66
    assert one(db.c, 1) == {"_id": 1, "a": 1}


def test_setting_id_to_same_value_is_allowed(db):
    db.c.insert_one({"_id": 1, "a": 1})
    r = db.c.update_one({"_id": 1}, {"$set": {"_id": 1, "a": 2}})
    assert r.modified_count == 1


def test_conflicting_paths(db):
    db.c.insert_one({"_id": 1, "a": {"b": 1}})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$set": {"a": 1}, "$inc": {"a": 1}})
    assert exc.value.code == 40
    assert exc.value.details["errmsg"] == "Updating the path 'a' would create a conflict at 'a'"
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$set": {"a.b": 1, "a": 2}})
    assert exc.value.code == 40


def test_unknown_update_modifier(db):
    db.c.insert_one({"_id": 1})
    with pytest.raises(WriteError) as exc:
        db.c.update_one({"_id": 1}, {"$foo": {"a": 1}})
    assert exc.value.code == 9
    assert exc.value.details["errmsg"] == (
        "Unknown modifier: $foo. Expected a valid update modifier or pipeline-style update "
        "specified as an array")


def test_empty_operator_is_a_noop_since_5_0(db):
    # "Update Operators": starting in 5.0 an empty operand ({$set: {}}) is accepted.
    db.c.insert_one({"_id": 1, "a": 1})
    r = db.c.update_one({"_id": 1}, {"$set": {}})
    assert (r.matched_count, r.modified_count) == (1, 0)


def test_update_modifies_array_in_order_of_numeric_field_names(db):
    # "Update Operators" behavior: numeric field names processed in numeric order.
    db.c.insert_one({"_id": 1, "a": []})
    db.c.update_one({"_id": 1}, {"$set": {"a.10": 10, "a.2": 2}})
    assert one(db.c, 1)["a"] == [None, None, 2] + [None] * 7 + [10]


# -- "Updates with Aggregation Pipeline" ------------------------------------------------------

def test_pipeline_update_set_and_unset(db):
    db.students.insert_many([
        {"_id": 1, "student": "Skye", "points": 75,
         "commentsSemester1": "great at math", "commentsSemester2": "loses temper"},
        {"_id": 2, "student": "Elizabeth", "points": 60,
         "commentsSemester1": "well behaved", "commentsSemester2": "needs improvement"},
    ])
    db.students.update_many({}, [
        {"$set": {"comments": ["$commentsSemester1", "$commentsSemester2"]}},
        {"$unset": ["commentsSemester1", "commentsSemester2"]}])
    assert list(db.students.find()) == [
        {"_id": 1, "student": "Skye", "points": 75,
         "comments": ["great at math", "loses temper"]},
        {"_id": 2, "student": "Elizabeth", "points": 60,
         "comments": ["well behaved", "needs improvement"]},
    ]


def test_pipeline_update_computed_fields(db):
    db.students3.insert_many([
        {"_id": 1, "tests": [95, 92, 90]},
        {"_id": 2, "tests": [94, 88, 90]},
        {"_id": 3, "tests": [70, 75, 82]},
    ])
    db.students3.update_many({}, [
        {"$set": {"average": {"$trunc": [{"$avg": "$tests"}, 0]}}},
        {"$set": {"grade": {"$switch": {"branches": [
            {"case": {"$gte": ["$average", 90]}, "then": "A"},
            {"case": {"$gte": ["$average", 80]}, "then": "B"},
            {"case": {"$gte": ["$average", 70]}, "then": "C"}], "default": "F"}}}}])
    assert [(d["average"], d["grade"]) for d in db.students3.find()] == [
        (92, "A"), (90, "A"), (75, "C")]


def test_pipeline_update_replace_with(db):
    db.members.insert_one({"_id": 1, "name": {"first": "A", "last": "B"}, "x": 1})
    db.members.update_one({"_id": 1}, [{"$replaceWith": {"$mergeObjects": [
        {"_id": "$_id"}, "$name"]}}])
    assert one(db.members, 1) == {"_id": 1, "first": "A", "last": "B"}


def test_pipeline_update_with_let_variables(db):
    db.c.insert_one({"_id": 1, "v": 1})
    db.c.update_one({"_id": 1}, [{"$set": {"v": "$$newValue"}}], let={"newValue": 42})
    assert one(db.c, 1) == {"_id": 1, "v": 42}


# -- "db.collection.findOneAndUpdate()" / "findOneAndReplace()" / "findOneAndDelete()" ---

SCORES = [
    {"_id": 6305, "name": "A. MacDyver", "assignment": 5, "points": 24},
    {"_id": 6308, "name": "B. Batlock", "assignment": 3, "points": 22},
    {"_id": 6312, "name": "M. Tagnum", "assignment": 5, "points": 30},
    {"_id": 6319, "name": "R. Stiles", "assignment": 2, "points": 12},
    {"_id": 6322, "name": "A. MacDyver", "assignment": 2, "points": 14},
    {"_id": 6234, "name": "R. Stiles", "assignment": 1, "points": 10},
]


@pytest.fixture
def grades(db):
    db.grades.insert_many([dict(d) for d in SCORES])
    return db.grades


def test_find_one_and_update_returns_pre_image(grades):
    assert grades.find_one_and_update({"name": "R. Stiles"}, {"$inc": {"points": 5}}) == {
        "_id": 6319, "name": "R. Stiles", "assignment": 2, "points": 12}
    assert one(grades, 6319)["points"] == 17


def test_find_one_and_update_sort_and_return_new(grades):
    doc = grades.find_one_and_update({"name": "A. MacDyver"}, {"$inc": {"points": 5}},
                                     sort=[("points", 1)], return_document=ReturnDocument.AFTER)
    assert doc == {"_id": 6322, "name": "A. MacDyver", "assignment": 2, "points": 19}


def test_find_one_and_update_projection(grades):
    doc = grades.find_one_and_update({"name": "A. MacDyver"}, {"$inc": {"points": 5}},
                                     sort=[("points", 1)], projection={"_id": 0, "assignment": 1})
    assert doc == {"assignment": 2}


def test_find_one_and_update_upsert_return_new(grades):
    doc = grades.find_one_and_update(
        {"name": "A.B. Abracus"}, {"$set": {"name": "A.B. Abracus", "assignment": 5},
                                   "$inc": {"points": 0}},
        sort=[("points", 1)], upsert=True, return_document=ReturnDocument.AFTER)
    assert isinstance(doc.pop("_id"), ObjectId)
    assert doc == {"name": "A.B. Abracus", "assignment": 5, "points": 0}
    assert list(doc) == ["name", "assignment", "points"]


def test_find_one_and_update_upsert_return_old_is_none(grades):
    assert grades.find_one_and_update({"name": "Nobody"}, {"$set": {"x": 1}}, upsert=True) \
        is None
    assert grades.count_documents({"name": "Nobody"}) == 1


def test_find_one_and_update_no_match(grades):
    assert grades.find_one_and_update({"name": "Nobody"}, {"$set": {"x": 1}}) is None


def test_find_one_and_replace(grades):
    doc = grades.find_one_and_replace({"points": {"$lt": 20}},
                                      {"team": "Observant Badgers", "score": 20000},
                                      sort=[("points", 1)])
    assert doc == {"_id": 6234, "name": "R. Stiles", "assignment": 1, "points": 10}
    assert one(grades, 6234) == {"_id": 6234, "team": "Observant Badgers", "score": 20000}
    doc = grades.find_one_and_replace({"team": "Observant Badgers"},
                                      {"team": "Ferocious Tigers", "score": 1},
                                      return_document=ReturnDocument.AFTER,
                                      projection={"_id": 0})
    assert doc == {"team": "Ferocious Tigers", "score": 1}


def test_find_one_and_delete(grades):
    assert grades.find_one_and_delete({"name": "M. Tagnum"}) == {
        "_id": 6312, "name": "M. Tagnum", "assignment": 5, "points": 30}
    assert grades.find_one_and_delete({"name": "A. MacDyver"}, sort=[("points", 1)]) == {
        "_id": 6322, "name": "A. MacDyver", "assignment": 2, "points": 14}
    assert grades.find_one_and_delete({"name": "A. MacDyver"},
                                      projection={"_id": 0, "assignment": 1}) == {
        "assignment": 5}
    assert grades.find_one_and_delete({"name": "A. MacDyver"}) is None
    assert grades.count_documents({}) == 3


def test_find_one_and_update_with_array_filters(grades):
    grades.insert_one({"_id": 1, "grades": [95, 92, 90]})
    doc = grades.find_one_and_update({"_id": 1}, {"$set": {"grades.$[e]": 100}},
                                     array_filters=[{"e": {"$gte": 92}}],
                                     return_document=ReturnDocument.AFTER)
    assert doc == {"_id": 1, "grades": [100, 100, 90]}


# -- Upsert field extraction: facts from the server's
#    jstests/core/write/update/upsert_fields.js (replacement and $op style) ------------------

STYLES = {"replacement": {}, "set": {"$set": {"a": 1}}, "setOnInsert": {"$setOnInsert": {"a": 1}}}


def _upsert(coll, query, expr):
    coll.drop()
    if any(k.startswith("$") for k in expr):
        coll.update_one(query, expr, upsert=True)
    else:
        coll.replace_one(query, expr, upsert=True)
    return coll.find_one()


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("query", [
    {"_id": 1}, {"_id": {"$eq": 1}}, {"_id": {"$all": [1]}}, {"_id": {"$in": [1]}},
    {"$and": [{"_id": 1}]}, {"$and": [{"_id": {"$eq": 1}}]}, {"$or": [{"_id": 1}]},
    {"$or": [{"_id": {"$eq": 1}}]},
])
def test_upsert_id_extracted(db, style, query):
    assert _upsert(db.c, query, STYLES[style])["_id"] == 1


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("query", [
    {"_id": {"$gt": 1}}, {"_id": {"$ne": 1}}, {"_id": {"$in": [1, 2]}},
    {"_id": {"$elemMatch": {"$eq": 1}}}, {"_id": {"$exists": True}},
    {"_id": {"$not": {"$eq": 1}}}, {"$or": [{"_id": {"$eq": 1}}, {"_id": 2}]},
    {"$nor": [{"_id": 1}]}, {"$nor": [{"_id": {"$eq": 1}}]},
    {"$nor": [{"_id": {"$eq": 1}}, {"_id": 1}]},
])
def test_upsert_id_not_extracted(db, style, query):
    assert isinstance(_upsert(db.c, query, STYLES[style])["_id"], ObjectId)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("query", [
    {"_id": [1, 2]}, {"_id": {"$eq": [1, 2]}}, {"_id": {"$all": [1, 2]}},
    {"$and": [{"_id": 1}, {"_id": 2}]}, {"$and": [{"_id": {"$eq": 1}}, {"_id": 2}]},
    {"_id": 1, "_id.x": 1}, {"_id": {"x": 1}, "_id.x": 1},
])
def test_upsert_id_extraction_errors(db, style, query):
    with pytest.raises(WriteError):
        _upsert(db.c, query, STYLES[style])
    assert db.c.count_documents({}) == 0


def test_upsert_dotted_id_fields_only_for_operator_style(db):
    # "db.collection.update()": "Upsert with Dotted _id Query" (replacement style errors)
    with pytest.raises(WriteError) as exc:
        _upsert(db.c, {"_id.name": "Robert Frost", "_id.uid": 0},
                {"categories": ["poet", "playwright"]})
    assert exc.value.code == 111
    assert exc.value.details["errmsg"] == (
        "field at '_id' must be exactly specified, field at sub-path '_id.name'found")
    for style in ("set", "setOnInsert"):
        assert _upsert(db.c, {"_id.x": 1, "_id.y": 2}, STYLES[style])["_id"] == {"x": 1, "y": 2}


@pytest.mark.parametrize("update", [{"_id": [1, 2]}, {"$set": {"_id": [1, 2]}},
                                    {"_id": Regex("abc")}, {"$set": {"_id": Regex("abc")}}])
def test_upsert_invalid_id_from_update(db, update):
    with pytest.raises(WriteError):
        _upsert(db.c, {}, update)


@pytest.mark.parametrize("update", [{"_id": 1}, {"$set": {"_id": 1}},
                                    {"$setOnInsert": {"_id": 1}}])
def test_upsert_id_from_update(db, update):
    assert _upsert(db.c, {}, update)["_id"] == 1


def test_upsert_regex_id_query_is_not_extracted(db):
    assert isinstance(_upsert(db.c, {"_id": _re.compile("abc")}, {})["_id"], ObjectId)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("query, op_value", [
    ({"x": 1}, 1), ({"x": {"$eq": 1}}, 1), ({"x": {"$in": [1]}}, 1), ({"x": {"$all": [1]}}, 1),
    ({"$and": [{"x": 1}]}, 1), ({"$and": [{"x": {"$eq": 1}}]}, 1), ({"$or": [{"x": 1}]}, 1),
    ({"$or": [{"x": {"$eq": 1}}]}, 1), ({"x": [1, 2]}, [1, 2]), ({"x": {"x.x": 1}}, {"x.x": 1}),
    ({"x.x": 1}, {"x": 1}), ({"x.x": {"$eq": 1}}, {"x": 1}), ({"x.x": {"$all": [1]}}, {"x": 1}),
    ({"$and": [{"x.x": 1}]}, {"x": 1}), ({"$or": [{"x.x": {"$eq": 1}}]}, {"x": 1}),
])
def test_upsert_field_extracted_only_for_operator_style(db, style, query, op_value):
    doc = _upsert(db.c, query, STYLES[style])
    if style == "replacement":
        assert "x" not in doc
    else:
        assert doc["x"] == op_value


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("query", [
    {"x": {"$gt": 1}}, {"x": {"$ne": 1}}, {"x": {"$in": [1, 2]}},
    {"x": {"$elemMatch": {"$eq": 1}}}, {"x": {"$exists": True}}, {"x": {"$not": {"$eq": 1}}},
    {"$or": [{"x": {"$eq": 1}}, {"x": 2}]}, {"$nor": [{"x": 1}]},
    {"$nor": [{"x": {"$eq": 1}}, {"x": 1}]}, {"x": _re.compile("abc")},
])
def test_upsert_field_not_extracted(db, style, query):
    assert "x" not in _upsert(db.c, query, STYLES[style])


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("query", [
    {"x": {"$all": [1, 2]}}, {"$and": [{"x": 1}, {"x": 2}]},
    {"$and": [{"x": {"$eq": 1}}, {"x": 2}]}, {"x": 1, "x.x": 1}, {"x": {}, "x.x": 1},
    {"x": {"x": 1}, "x.x": 1}, {"x": {"x": 1}, "x.y": 1}, {"x": [1, {"x": 1}], "x.x": 1},
])
def test_upsert_field_conflicts_fail_only_for_operator_style(db, style, query):
    if style == "replacement":
        assert "x" not in _upsert(db.c, query, STYLES[style])
    else:
        with pytest.raises(WriteError):
            _upsert(db.c, query, STYLES[style])


def test_upsert_regex_and_dbref_special_cases(db):
    assert _upsert(db.c, {"x": {"$eq": Regex("abc")}}, {"$set": {"a": 1}})["x"] == Regex("abc")
    assert _upsert(db.c, {}, {"$set": {"x": Regex("abc")}})["x"] == Regex("abc")
    assert _upsert(db.c, {"_id": 1, "x": [1, {"x": 1}], "x.x": 1}, {})["_id"] == 1
    assert _upsert(db.c, {"x.$id": 1}, {"$set": {"x": DBRef("a", 1)}})["x"] == DBRef("a", 1)


# -- "$currentDate", "$bit", "updateMany()", "replaceOne()" docs examples -------------------

def test_current_date_docs_example(db):
    from bson import Timestamp
    db.customers.insert_one({"_id": 1, "status": "a",
                             "lastModified": datetime.datetime(2013, 10, 2, 1, 11, 18, 965000)})
    before = datetime.datetime.utcnow() - datetime.timedelta(seconds=5)
    db.customers.update_one({"_id": 1}, {
        "$currentDate": {"lastModified": True, "cancellation.date": {"$type": "timestamp"}},
        "$set": {"cancellation.reason": "user request", "status": "D"}})
    doc = one(db.customers, 1)
    assert list(doc) == ["_id", "status", "lastModified", "cancellation"]
    assert doc["status"] == "D"
    assert isinstance(doc["lastModified"], datetime.datetime)
    assert doc["lastModified"] > before and doc["lastModified"].microsecond % 1000 == 0
    assert list(doc["cancellation"]) == ["date", "reason"]
    assert isinstance(doc["cancellation"]["date"], Timestamp)
    assert doc["cancellation"]["reason"] == "user request"


def test_bit_docs_examples(db):
    db.switches.insert_many([{"_id": 1, "expdata": 13}, {"_id": 2, "expdata": 3},
                             {"_id": 3, "expdata": 1}])
    db.switches.update_one({"_id": 1}, {"$bit": {"expdata": {"and": 10}}})
    db.switches.update_one({"_id": 2}, {"$bit": {"expdata": {"or": 5}}})
    db.switches.update_one({"_id": 3}, {"$bit": {"expdata": {"xor": 5}}})
    assert [d["expdata"] for d in db.switches.find()] == [8, 7, 4]


def test_update_many_docs_example(db):
    db.restaurant.insert_many([
        {"_id": 1, "name": "Central Perk Cafe", "violations": 3},
        {"_id": 2, "name": "Rock A Feller Bar and Grill", "violations": 2},
        {"_id": 3, "name": "Empire State Sub", "violations": 5},
        {"_id": 4, "name": "Pizza Rat's Pizzaria", "violations": 8},
    ])
    r = db.restaurant.update_many({"violations": {"$gt": 4}}, {"$set": {"Review": True}})
    assert (r.matched_count, r.modified_count, r.upserted_id) == (2, 2, None)
    assert [d["_id"] for d in db.restaurant.find({"Review": True})] == [3, 4]


def test_replace_one_docs_examples(db):
    db.restaurant.insert_many([
        {"_id": 1, "name": "Central Perk Cafe", "Borough": "Manhattan"},
        {"_id": 2, "name": "Rock A Feller Bar and Grill", "Borough": "Queens", "violations": 2},
        {"_id": 3, "name": "Empire State Pub", "Borough": "Brooklyn", "violations": 0},
    ])
    r = db.restaurant.replace_one({"name": "Central Perk Cafe"},
                                  {"name": "Central Pork Cafe", "Borough": "Manhattan"})
    assert (r.matched_count, r.modified_count) == (1, 1)
    assert one(db.restaurant, 1) == {"_id": 1, "name": "Central Pork Cafe",
                                     "Borough": "Manhattan"}
    r = db.restaurant.replace_one({"name": "Pizza Rat's Pizzaria"},
                                  {"_id": 4, "name": "Pizza Rat's Pizzaria",
                                   "Borough": "Manhattan", "violations": 8}, upsert=True)
    assert (r.matched_count, r.modified_count, r.upserted_id) == (0, 0, 4)
    assert one(db.restaurant, 4) == {"_id": 4, "name": "Pizza Rat's Pizzaria",
                                     "Borough": "Manhattan", "violations": 8}


def test_upsert_fields_are_ordered_query_fields_first_then_update_fields_lexicographic(db):
    db.c.update_one({"name": "x"}, {"$set": {"b": 1, "a": 2}}, upsert=True)
    assert list(db.c.find_one()) == ["_id", "name", "a", "b"]
