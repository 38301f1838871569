"""filters: the query language, checked against MongoDB's documented results."""

import datetime
import re

import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex
from hypothesis import given, settings
from hypothesis import strategies as st

from dongo.backends.memory.bsontypes import MISSING
from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.filters import compile_filter


def ids(docs, spec, **kw):
    m = compile_filter(spec, **kw)
    return [d["_id"] for d in docs if m(d)]


def err(spec, **kw):
    with pytest.raises(ServerError) as info:
        compile_filter(spec, **kw)
    return info.value.code, info.value.errmsg


# --------------------------------------------------------------------------
# Docs: "Query on Embedded/Nested Documents" and "Query an Array"
# --------------------------------------------------------------------------

INVENTORY = [
    {"_id": 1, "item": "journal", "qty": 25, "tags": ["blank", "red"], "dim_cm": [14, 21],
     "size": {"h": 14, "w": 21, "uom": "cm"}},
    {"_id": 2, "item": "notebook", "qty": 50, "tags": ["red", "blank"], "dim_cm": [14, 21],
     "size": {"h": 8.5, "w": 11, "uom": "in"}},
    {"_id": 3, "item": "paper", "qty": 100, "tags": ["red", "blank", "plain"], "dim_cm": [14, 21],
     "size": {"h": 8.5, "w": 11, "uom": "in"}},
    {"_id": 4, "item": "planner", "qty": 75, "tags": ["blank", "red"], "dim_cm": [22.85, 30],
     "size": {"h": 22.85, "w": 30, "uom": "cm"}},
    {"_id": 5, "item": "postcard", "qty": 45, "tags": ["blue"], "dim_cm": [10, 15.25],
     "size": {"h": 10, "w": 15.25, "uom": "cm"}},
]


def test_embedded_document_equality_is_exact_and_ordered():
    assert ids(INVENTORY, {"size": {"h": 14, "w": 21, "uom": "cm"}}) == [1]
    assert ids(INVENTORY, {"size": {"w": 21, "h": 14, "uom": "cm"}}) == []
    assert ids(INVENTORY, {"size.uom": "in"}) == [2, 3]
    assert ids(INVENTORY, {"size.h": {"$lt": 15}}) == [1, 2, 3, 5]
    assert ids(INVENTORY, {"size.h": {"$lt": 15}, "size.uom": "in"}) == [2, 3]


def test_array_queries_from_docs():
    assert ids(INVENTORY, {"tags": ["red", "blank"]}) == [2]
    assert ids(INVENTORY, {"tags": {"$all": ["red", "blank"]}}) == [1, 2, 3, 4]
    assert ids(INVENTORY, {"tags": "red"}) == [1, 2, 3, 4]
    assert ids(INVENTORY, {"dim_cm": {"$gt": 25}}) == [4]
    # compound conditions: different elements may satisfy each condition
    assert ids(INVENTORY, {"dim_cm": {"$gt": 15, "$lt": 20}}) == [1, 2, 3, 5]
    assert ids(INVENTORY, {"dim_cm": {"$elemMatch": {"$gt": 22, "$lt": 30}}}) == [4]
    assert ids(INVENTORY, {"dim_cm.1": {"$gt": 25}}) == [4]
    assert ids(INVENTORY, {"tags": {"$size": 3}}) == [3]


INSTOCK = [
    {"_id": 1, "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]},
    {"_id": 2, "instock": [{"warehouse": "C", "qty": 5}]},
    {"_id": 3, "instock": [{"warehouse": "A", "qty": 60}, {"warehouse": "B", "qty": 15}]},
    {"_id": 4, "instock": [{"warehouse": "A", "qty": 40}, {"warehouse": "B", "qty": 5}]},
    {"_id": 5, "instock": [{"warehouse": "B", "qty": 15}, {"warehouse": "C", "qty": 35}]},
]


def test_array_of_embedded_documents_from_docs():
    assert ids(INSTOCK, {"instock": {"warehouse": "A", "qty": 5}}) == [1]
    assert ids(INSTOCK, {"instock": {"qty": 5, "warehouse": "A"}}) == []
    assert ids(INSTOCK, {"instock.0.qty": {"$lte": 20}}) == [1, 2, 5]
    assert ids(INSTOCK, {"instock.qty": {"$lte": 20}}) == [1, 2, 3, 4, 5]
    assert ids(INSTOCK, {"instock": {"$elemMatch": {"qty": 5, "warehouse": "A"}}}) == [1]
    assert ids(INSTOCK, {"instock": {"$elemMatch": {"qty": {"$gt": 10, "$lte": 20}}}}) == [1, 3, 5]
    assert ids(INSTOCK, {"instock.qty": {"$gt": 10, "$lte": 20}}) == [1, 3, 4, 5]
    assert ids(INSTOCK, {"instock.qty": 5, "instock.warehouse": "A"}) == [1, 4]


def test_elem_match_survey_example():
    survey = [
        {"_id": 1, "results": [{"product": "abc", "score": 10}, {"product": "xyz", "score": 5}]},
        {"_id": 2, "results": [{"product": "abc", "score": 8}, {"product": "xyz", "score": 7}]},
        {"_id": 3, "results": [{"product": "abc", "score": 7}, {"product": "xyz", "score": 8}]},
        {"_id": 4, "results": [{"product": "abc", "score": 7}, {"product": "def", "score": 8}]},
    ]
    assert ids(survey, {"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 8}}}}) == [3]
    assert ids(survey, {"results.product": "xyz", "results.score": {"$gte": 8}}) == [1, 2, 3]
    assert ids(survey, {"results": {"$elemMatch": {"product": {"$ne": "xyz"}}}}) == [1, 2, 3, 4]
    assert ids(survey, {"results.product": {"$ne": "xyz"}}) == [4]
    scores = [{"_id": 1, "results": [82, 85, 88]}, {"_id": 2, "results": [75, 88, 89]}]
    assert ids(scores, {"results": {"$elemMatch": {"$gte": 80, "$lt": 85}}}) == [1]


def test_all_with_elem_match_from_docs():
    docs = [
        {"_id": "xyz", "qty": [{"size": "S", "num": 10, "color": "blue"},
                               {"size": "M", "num": 45, "color": "blue"},
                               {"size": "L", "num": 100, "color": "green"}]},
        {"_id": "abc", "qty": [{"size": "6", "num": 100, "color": "green"},
                               {"size": "6", "num": 50, "color": "blue"},
                               {"size": "8", "num": 100, "color": "brown"}]},
        {"_id": "efg", "qty": [{"size": "S", "num": 10, "color": "blue"},
                               {"size": "M", "num": 100, "color": "blue"},
                               {"size": "L", "num": 100, "color": "green"}]},
        {"_id": "ijk", "qty": [{"size": "M", "num": 100, "color": "green"}]},
    ]
    spec = {"qty": {"$all": [{"$elemMatch": {"size": "M", "num": {"$gt": 50}}},
                             {"$elemMatch": {"num": 100, "color": "green"}}]}}
    assert ids(docs, spec) == ["efg", "ijk"]


def test_all_semantics():
    docs = [{"_id": 1, "a": [1, 2, 3]}, {"_id": 2, "a": 2}, {"_id": 3, "a": [[1, 2], 3]}]
    assert ids(docs, {"a": {"$all": [2]}}) == [1, 2]
    assert ids(docs, {"a": {"$all": []}}) == []
    # $all with a single nested array is equality with that array
    assert ids(docs, {"a": {"$all": [[1, 2]]}}) == [3]
    assert ids(docs, {"a": {"$all": [re.compile("x")]}}) == []


# --------------------------------------------------------------------------
# null and missing (jstests/core/query/null_query_semantics.js, 7.x rules)
# --------------------------------------------------------------------------

NULLS = [
    {"_id": "a_empty_subobject", "a": {}},
    {"_id": "a_null", "a": None},
    {"_id": "a_number", "a": 4},
    {"_id": "a_subobject_b_not_null", "a": {"b": "hi"}},
    {"_id": "a_subobject_b_null", "a": {"b": None}},
    {"_id": "no_a"},
    {"_id": "a_double_array", "a": [[]]},
    {"_id": "a_empty_array", "a": []},
    {"_id": "a_object_array_b_mix", "a": [{"b": None}, {"b": None}, {}]},
    {"_id": "a_object_array_no_b_nulls", "a": [{"b": 1}, {"b": 3}, {"b": "string"}]},
    {"_id": "a_object_array_some_b_nulls", "a": [{"b": None}, {"b": 3}, {"b": None}]},
    {"_id": "a_object_array_some_b_missing", "a": [{"b": 3}, {}]},
    {"_id": "a_value_array_all_nulls", "a": [None, None]},
    {"_id": "a_value_array_no_nulls", "a": [1, "string", 4]},
    {"_id": "a_value_array_with_null", "a": [1, "string", None, 4]},
]


def test_null_matches_null_missing_and_arrays_containing_null():
    assert set(ids(NULLS, {"a": None})) == {
        "a_null", "no_a", "a_value_array_all_nulls", "a_value_array_with_null"}
    assert set(ids(NULLS, {"a": {"$in": [None, 75]}})) == set(ids(NULLS, {"a": None}))
    assert set(ids(NULLS, {"a": {"$ne": None}})) == {d["_id"] for d in NULLS} - set(ids(NULLS, {"a": None}))
    assert ids(NULLS, {"a": {"$exists": False}}) == ["no_a"]
    assert set(ids(NULLS, {"a": {"$gte": None}})) == set(ids(NULLS, {"a": None}))
    assert ids(NULLS, {"a": {"$gt": None}}) == []
    assert ids(NULLS, {"a": {"$lt": None}}) == []


def test_dotted_null_semantics():
    # MongoDB 7.x: arrays met in the middle of a path contribute only their
    # documents; an array of scalars (or an empty one) yields no value at all,
    # so {"a.b": null} does not match it (SERVER-36681 changed this in 9.0).
    expected = {
        "a_empty_subobject", "a_null", "a_number", "a_subobject_b_null", "no_a",
        "a_object_array_b_mix", "a_object_array_some_b_nulls", "a_object_array_some_b_missing",
    }
    assert set(ids(NULLS, {"a.b": None})) == expected
    assert set(ids(NULLS, {"a.b": {"$in": [None, 75]}})) == expected
    assert set(ids(NULLS, {"a.b": {"$ne": None}})) == {
        "a_subobject_b_not_null", "a_object_array_no_b_nulls", "a_double_array", "a_empty_array",
        "a_value_array_all_nulls", "a_value_array_no_nulls", "a_value_array_with_null"}
    assert set(ids(NULLS, {"a.b": {"$exists": False}})) == {
        "a_empty_subobject", "a_null", "a_number", "no_a", "a_double_array", "a_empty_array",
        "a_value_array_all_nulls", "a_value_array_no_nulls", "a_value_array_with_null"}
    # minimongo's selector tests, "tested against mongodb"
    assert not compile_filter({"a.b": None})({"a": [1]})
    assert compile_filter({"x.1.y": None})({"x": [7, {"y": 8}, 9]})  # '1' tried as a key of {y: 8}
    assert not compile_filter({"a.1.b": None})({"a": [1, [{"b": 2}], 3]})
    assert not compile_filter({"a.0.b": None})({"a": [5]})
    assert compile_filter({"a.b": None})({"a": [{"b": 1}, 2, {}, {"b": [3, 4]}]})


def test_elem_match_null():
    assert set(ids(NULLS, {"a": {"$elemMatch": {"$eq": None}}})) == {
        "a_value_array_all_nulls", "a_value_array_with_null"}
    got = set(ids(NULLS, {"a": {"$elemMatch": {"$ne": None}}}))
    assert got == {"a_double_array", "a_object_array_b_mix", "a_object_array_no_b_nulls",
                   "a_object_array_some_b_nulls", "a_object_array_some_b_missing",
                   "a_value_array_no_nulls", "a_value_array_with_null"}


def test_null_docs_example():
    docs = [{"_id": 1, "item": None}, {"_id": 2}]
    assert ids(docs, {"item": None}) == [1, 2]
    assert ids(docs, {"item": {"$type": 10}}) == [1]
    assert ids(docs, {"item": {"$exists": False}}) == [2]
    assert ids(docs, {"item": {"$ne": None}}) == []


# --------------------------------------------------------------------------
# Comparison brackets and BSON types
# --------------------------------------------------------------------------


def test_comparison_within_type_bracket():
    docs = [{"_id": i, "a": v} for i, v in enumerate(
        [5, 5.5, Int64(7), Decimal128("8"), "6", True, None, [6], {"x": 1}, datetime.datetime(2020, 1, 1)])]
    assert ids(docs, {"a": {"$gt": 5}}) == [1, 2, 3, 7]
    assert ids(docs, {"a": {"$gte": "0"}}) == [4]
    assert ids(docs, {"a": {"$lt": datetime.datetime(2021, 1, 1)}}) == [9]
    assert ids(docs, {"a": 6}) == [7]
    assert ids(docs, {"a": True}) == [5]
    assert ids(docs, {"a": 1}) == []  # True is not 1
    assert ids(docs, {"a": Decimal128("5.5")}) == [1]
    assert ids(docs, {"a": {"$gt": MinKey()}}) == list(range(10))
    assert ids(docs, {"a": {"$lt": MaxKey()}}) == list(range(10))
    assert ids(docs, {"a": {"$lte": MinKey()}}) == []
    assert ids([{"_id": 0}], {"a": {"$gt": MinKey()}}) == [0]


def test_nan_comparisons():
    docs = [{"_id": 0, "a": float("nan")}, {"_id": 1, "a": 1}, {"_id": 2, "a": Decimal128("NaN")}]
    assert ids(docs, {"a": float("nan")}) == [0, 2]
    assert ids(docs, {"a": {"$lt": 5}}) == [1]
    assert ids(docs, {"a": {"$gt": float("nan")}}) == []
    assert ids(docs, {"a": {"$gte": float("nan")}}) == [0, 2]
    assert ids(docs, {"a": {"$gt": -float("inf")}}) == [1]


def test_whole_array_equality_and_comparison():
    docs = [{"_id": 1, "a": [1, 2]}, {"_id": 2, "a": [[1, 2], 3]}, {"_id": 3, "a": [2, 1]}]
    assert ids(docs, {"a": [1, 2]}) == [1, 2]
    assert ids(docs, {"a": {"$gt": [1, 1]}}) == [1, 2, 3]
    assert ids(docs, {"a": {"$in": [[2, 1]]}}) == [3]
    assert ids(docs, {"a": {"$nin": [1]}}) == [2]


def test_nested_arrays_are_not_flattened():
    docs = [{"_id": 1, "a": [[1, 2]]}, {"_id": 2, "a": [{"b": [[5]]}]}]
    assert ids(docs, {"a": 1}) == []
    assert ids(docs, {"a.b": 5}) == []
    assert ids(docs, {"a.b": [5]}) == [2]
    assert ids(docs, {"a.0": [1, 2]}) == [1]
    assert ids(docs, {"a.0.1": 2}) == [1]


def test_numeric_path_component_is_index_or_field_name():
    docs = [{"_id": 1, "a": [{"0": "x"}]}, {"_id": 2, "a": {"0": "x"}}, {"_id": 3, "a": ["x"]}]
    assert ids(docs, {"a.0": "x"}) == [1, 2, 3]


def test_document_equality_respects_field_order_and_types():
    docs = [{"_id": 1, "a": {"x": 1, "y": 2}}, {"_id": 2, "a": {"y": 2, "x": 1}}]
    assert ids(docs, {"a": {"x": 1.0, "y": Int64(2)}}) == [1]
    assert ids(docs, {"a": {"$eq": {"y": 2, "x": 1}}}) == [2]
    assert ids(docs, {"a": {"$in": [{"x": 1, "y": 2}, {"z": 1}]}}) == [1]


def test_dbref_shaped_values_are_equality():
    docs = [{"_id": 1, "r": {"$ref": "c", "$id": 5}}]
    assert ids(docs, {"r": {"$ref": "c", "$id": 5}}) == [1]
    assert ids(docs, {"r.$id": 5}) == [1]


# --------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------


def test_exists_type_size():
    docs = [{"_id": 1, "a": 5}, {"_id": 2, "a": "5"}, {"_id": 3, "a": [5, "x"]}, {"_id": 4},
            {"_id": 5, "a": 2**40}, {"_id": 6, "a": 1.5}, {"_id": 7, "a": None}, {"_id": 8, "a": []}]
    assert ids(docs, {"a": {"$exists": True}}) == [1, 2, 3, 5, 6, 7, 8]
    assert ids(docs, {"a": {"$exists": 0}}) == [4]
    assert ids(docs, {"a": {"$type": "string"}}) == [2, 3]
    assert ids(docs, {"a": {"$type": 2}}) == [2, 3]
    assert ids(docs, {"a": {"$type": "number"}}) == [1, 3, 5, 6]
    assert ids(docs, {"a": {"$type": ["long", "double"]}}) == [5, 6]
    assert ids(docs, {"a": {"$type": "int"}}) == [1, 3]
    assert ids(docs, {"a": {"$type": "array"}}) == [3, 8]
    assert ids(docs, {"a": {"$type": "null"}}) == [7]
    assert ids(docs, {"a": {"$size": 2}}) == [3]
    assert ids(docs, {"a": {"$size": 0}}) == [8]
    assert ids(docs, {"a": {"$size": 2.0}}) == [3]


def test_mod_from_docs():
    docs = [{"_id": 1, "qty": 0}, {"_id": 2, "qty": 5}, {"_id": 3, "qty": 12}]
    assert ids(docs, {"qty": {"$mod": [4, 0]}}) == [1, 3]
    # 7.x truncates floating divisors and remainders toward zero
    assert ids(docs, {"qty": {"$mod": [4.5, 0]}}) == [1, 3]
    assert ids(docs, {"qty": {"$mod": [4.99, 0.5]}}) == [1, 3]
    neg = [{"_id": 1, "a": -5}, {"_id": 2, "a": 5}, {"_id": 3, "a": -5.7}]
    assert ids(neg, {"a": {"$mod": [4, -1]}}) == [1, 3]  # C semantics: sign follows dividend
    assert ids(neg, {"a": {"$mod": [-4, 1]}}) == [2]


def test_regex():
    docs = [
        {"_id": 100, "sku": "abc123", "description": "Single line description."},
        {"_id": 101, "sku": "abc789", "description": "First line\nSecond line"},
        {"_id": 102, "sku": "xyz456", "description": "Many spaces before     line"},
        {"_id": 103, "sku": "xyz789", "description": "Multiple\nline description"},
        {"_id": 104, "sku": "Abc789", "description": "SKU should be case-insensitive"},
    ]
    assert ids(docs, {"sku": {"$regex": "789$"}}) == [101, 103, 104]
    assert ids(docs, {"sku": {"$regex": "^ABC", "$options": "i"}}) == [100, 101, 104]
    assert ids(docs, {"sku": {"$regex": Regex("^ABC", "i")}}) == [100, 101, 104]
    assert ids(docs, {"sku": re.compile("^ABC", re.I)}) == [100, 101, 104]
    assert ids(docs, {"description": {"$regex": "^S", "$options": "m"}}) == [100, 101, 104]
    assert ids(docs, {"description": {"$regex": "^S"}}) == [100, 104]
    assert ids(docs, {"description": {"$regex": "m.*line", "$options": "si"}}) == [102, 103]
    assert ids(docs, {"sku": {"$in": [re.compile("^x"), "abc123"]}}) == [100, 102, 103]
    assert ids(docs, {"sku": {"$not": re.compile("^a")}}) == [102, 103, 104]
    assert ids(docs, {"sku": {"$not": {"$regex": "^a"}}}) == [102, 103, 104]
    x = compile_filter({"x": {"$regex": "a c  # comment\n", "$options": "x"}})
    assert x({"x": "ac"}) and not x({"x": "a c"})


def test_regex_matches_stored_regex_only_when_equal():
    docs = [{"_id": 1, "a": Regex("^ab", "i")}, {"_id": 2, "a": "abc"}, {"_id": 3, "a": Regex("^ab")}]
    # a regex value is a regex query: strings by search, regexes by equality
    assert ids(docs, {"a": Regex("^ab", "i")}) == [1, 2]
    assert ids(docs, {"a": {"$eq": Regex("^ab")}}) == [3]
    assert ids(docs, {"a": {"$regex": "^ab"}}) == [2, 3]


def test_not_and_logical_operators():
    docs = [{"_id": 1, "price": 1.99, "sale": True}, {"_id": 2, "price": 2.5, "sale": False},
            {"_id": 3, "sale": True}, {"_id": 4, "price": 1.0}]
    assert ids(docs, {"price": {"$not": {"$gt": 1.99}}}) == [1, 3, 4]
    assert ids(docs, {"$nor": [{"price": 1.99}, {"sale": True}]}) == [2, 4]
    assert ids(docs, {"$or": [{"price": {"$lt": 1.5}}, {"sale": False}]}) == [2, 4]
    assert ids(docs, {"$and": [{"sale": True}, {"price": {"$exists": True}}]}) == [1]
    assert ids(docs, {"$comment": "ignored", "sale": True}) == [1, 3]
    assert ids(docs, {"$alwaysFalse": 1}) == []
    assert ids(docs, {"$alwaysTrue": 1}) == [1, 2, 3, 4]


def test_bits_from_docs():
    docs = [{"_id": 1, "a": 54}, {"_id": 2, "a": 20}, {"_id": 3, "a": 20.0},
            {"_id": 4, "a": Binary(b"\x66", 0)}, {"_id": 5, "a": "x"}, {"_id": 6, "a": 20.5}]
    assert ids(docs, {"a": {"$bitsAllSet": [1, 5]}}) == [1, 4]
    assert ids(docs, {"a": {"$bitsAllSet": 50}}) == [1]
    assert ids(docs, {"a": {"$bitsAllSet": Binary(b"\x30", 0)}}) == [1]
    assert ids(docs, {"a": {"$bitsAnySet": [1, 5]}}) == [1, 4]
    assert ids(docs, {"a": {"$bitsAllClear": [1, 5]}}) == [2, 3]
    assert ids(docs, {"a": {"$bitsAnyClear": [1, 5]}}) == [2, 3]
    negative = [{"_id": 1, "a": -1}, {"_id": 2, "a": 1}]
    assert ids(negative, {"a": {"$bitsAllSet": [70]}}) == [1]  # sign extension


def test_json_schema():
    schema = {"$jsonSchema": {
        "bsonType": "object",
        "required": ["name", "year"],
        "properties": {
            "name": {"bsonType": "string", "minLength": 2},
            "year": {"bsonType": "int", "minimum": 2017, "maximum": 3017},
            "gpa": {"bsonType": ["double"], "description": "must be a double if the field exists"},
            "tags": {"bsonType": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2,
                     "uniqueItems": True},
        },
        "additionalProperties": {"bsonType": ["objectId", "string", "int", "double", "array"]},
    }}
    m = compile_filter(schema)
    assert m({"_id": ObjectId(), "name": "Al", "year": 2019})
    assert not m({"name": "Al"})
    assert not m({"name": "A", "year": 2019})
    assert not m({"name": "Al", "year": 2016})
    assert not m({"name": "Al", "year": 2019.0})
    assert not m({"name": "Al", "year": 2019, "gpa": 3})
    assert m({"name": "Al", "year": 2019, "gpa": 3.0, "tags": ["a", "b"]})
    assert not m({"name": "Al", "year": 2019, "tags": ["a", "a"]})
    assert not m({"name": "Al", "year": 2019, "tags": ["c"]})
    assert not m({"name": "Al", "year": 2019, "other": True})
    assert compile_filter({"$jsonSchema": {"anyOf": [{"required": ["a"]}, {"required": ["b"]}],
                                           "not": {"required": ["c"]}}})({"b": 1})
    assert not compile_filter({"$jsonSchema": {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}})(
        {"a": 1, "b": 1})
    assert compile_filter({"$jsonSchema": {"properties": {"a": {"type": "number", "multipleOf": 0.5}}}})({"a": 1.5})
    enum = compile_filter({"$jsonSchema": {"properties": {"a": {"enum": [{"x": 1, "y": 2}, 3]}}}})
    assert enum({"a": {"y": 2, "x": 1}}) and enum({"a": 3.0}) and not enum({"a": {"x": 1}})


def test_expr_uses_aggregation_truthiness(monkeypatch):
    import types
    import sys

    calls = []

    def compile_expression(expr, *, variables=frozenset(), collation=None):
        calls.append((expr, variables, collation))
        field = expr["$gt"][0][1:]
        return lambda doc, vars_: (doc.get(field, MISSING) if field in doc else MISSING)

    fake = types.ModuleType("dongo.backends.memory.expressions")
    fake.compile_expression = compile_expression
    monkeypatch.setitem(sys.modules, "dongo.backends.memory.expressions", fake)
    m = compile_filter({"$expr": {"$gt": ["$a", 0]}}, variables={"x": 1})
    assert [m({"a": v}) for v in (0, 1, None, "", [], Decimal128("0"))] == [False, True, False, True, True, False]
    assert not m({})
    assert calls == [({"$gt": ["$a", 0]}, frozenset({"x"}), None)]
    assert err({"a": {"$elemMatch": {"$expr": {"$gt": ["$a", 0]}}}})[1] == (
        "$expr can only be applied to the top-level document")


def test_collation_on_string_comparisons():
    docs = [{"_id": 1, "a": "café"}, {"_id": 2, "a": "CAFE"}, {"_id": 3, "a": "cafe"}, {"_id": 4, "a": ["Cafe"]}]
    assert ids(docs, {"a": "cafe"}, collation={"locale": "fr", "strength": 1}) == [1, 2, 3, 4]
    assert ids(docs, {"a": "cafe"}, collation={"locale": "fr", "strength": 2}) == [2, 3, 4]
    assert ids(docs, {"a": "cafe"}, collation={"locale": "fr", "strength": 3}) == [3]
    assert ids(docs, {"a": {"$in": ["CAFÉ"]}}, collation={"locale": "en", "strength": 1}) == [1, 2, 3, 4]
    assert ids(docs, {"a": "cafe"}) == [3]
    assert ids(docs, {"a": "cafe"}, collation={"locale": "simple"}) == [3]


def test_expr_follows_the_filter_collation():
    # Manual "Collation": the operation's collation applies to every string
    # comparison, $expr included (jstests/aggregation/expressions/collation_expressions.js).
    docs = [{"_id": 1, "s": "A"}, {"_id": 2, "s": "b"}, {"_id": 3, "s": "a"}]
    ci = {"locale": "en", "strength": 2}
    spec = {"$expr": {"$eq": ["$s", "a"]}}
    assert ids(docs, spec, collation=ci) == [1, 3]
    assert ids(docs, spec) == [3]  # the cache keeps the two compilations apart
    assert ids(docs, {"$or": [{"$expr": {"$in": ["$s", ["B"]]}}]}, collation=ci) == [2]
    assert ids(docs, {"$expr": {"$lt": ["$s", "B"]}}, collation=ci) == [1, 3]
    assert ids(docs, {"$expr": {"$lt": ["$s", "B"]}}) == [1]
    assert ids(docs, {"$expr": {"$eq": ["$s", "$$v"]}}, collation=ci, variables={"v": "A"}) == [1, 3]


def test_matcher_reports_its_collation():
    from dongo.backends.memory.collation import parse_collation

    assert compile_filter({"a": 1}).collation is None
    ci = {"locale": "en", "strength": 2}
    assert compile_filter({"a": "x"}, collation=ci).collation == parse_collation(ci)
    assert compile_filter({}, collation=ci).collation == parse_collation(ci)


# --------------------------------------------------------------------------
# match_position ($ operator)
# --------------------------------------------------------------------------


def test_match_position():
    m = compile_filter({"grades": {"$gte": 85}})
    assert m.match_position({"grades": [80, 85, 90]}) == (True, 1)
    assert m.match_position({"grades": 90}) == (True, None)
    assert m.match_position({"grades": [1]}) == (False, None)
    m = compile_filter({"a.b": {"$elemMatch": {"$gt": 3}}})
    assert m.match_position({"a": {"b": [1, 5]}}) == (True, 1)
    m = compile_filter({"students": {"$elemMatch": {"school": 102, "age": {"$gt": 10}}}})
    doc = {"students": [{"school": 100, "age": 7}, {"school": 102, "age": 12}]}
    assert m.match_position(doc) == (True, 1)
    m = compile_filter({"x": 1, "a.b": 2})
    assert m.match_position({"x": 1, "a": [{"b": 1}, {"b": [3, 2]}]}) == (True, 1)
    m = compile_filter({"$or": [{"a": 9}, {"a": 2}]})
    assert m.match_position({"a": [1, 2]}) == (True, 1)


def test_top_level_equality_fast_path_correct():
    m1 = compile_filter({"a": 1})
    assert m1({"a": 1.0}) and m1({"a": Int64(1)}) and m1({"a": [0, 1]}) and not m1({"a": True})
    assert m1({"a": Decimal128("1")})
    assert not m1({"a": [[1]]}) and not m1({"a": []}) and not m1({})
    assert m1.match_position({"a": [0, 1]}) == (True, 1)
    assert m1.match_position({"a": 1}) == (True, None)
    assert m1.match_position({"a": [2]}) == (False, None)


def test_complex_filters_are_cached_simple_ones_compiled_afresh():
    spec = {"a": {"$elemMatch": {"b": 1}}}
    assert compile_filter(dict(spec)) is compile_filter(dict(spec))
    # Simple shapes skip the cache (a new value costs a parse, not a lookup).
    assert compile_filter({"a": 1}) is not compile_filter({"a": 1})


@pytest.mark.parametrize("spec, doc, expected", [
    ({"t": {"$in": ["x", 1]}}, {"t": ["y", "x"]}, True),
    ({"t": {"$in": ["x", 1]}}, {"t": [1.0]}, True),
    ({"t": {"$in": [1]}}, {"t": True}, False),          # bool is not a number in BSON
    ({"t": {"$in": [True]}}, {"t": 1}, False),
    ({"t": {"$in": [[1, 2]]}}, {"t": [1, 2]}, True),    # the whole array listed
    ({"t": {"$in": [1, 2]}}, {"t": [[1, 2]]}, False),
    ({"t": {"$in": [None]}}, {}, True),
    ({"t": {"$in": [float("nan")]}}, {"t": float("nan")}, True),
    ({"t": {"$in": [Decimal128("2")]}}, {"t": 2}, True),
    ({"t": {"$in": [Regex("^a"), 5]}}, {"t": ["b", "ab"]}, True),
    ({"t": {"$in": [Regex("^a"), 5]}}, {"t": [4, "b"]}, False),
    ({"t": 3}, {"t": [[3]]}, False),
    ({"t.u": 3}, {"t": [{"u": [3]}]}, True),
    # strings only: the isdisjoint shortcut, then the careful element loop
    ({"t": {"$in": ["x", "y"]}}, {"t": ["a", "y"]}, True),
    ({"t": {"$in": ["x", "y"]}}, {"t": ["a", "b"]}, False),
    ({"t": {"$in": ["x"]}}, {"t": [Code("x")]}, False),   # JavaScript is not a string
    ({"t": {"$in": ["x"]}}, {"t": [{"a": 1}, "x"]}, True),  # unhashable element
    ({"t": {"$in": ["x"]}}, {"t": [{"a": 1}]}, False),
    ({"t": {"$in": ["x"]}}, {"t": [["x"]]}, False),        # one level of arrays only
    ({"t": {"$in": ["x"]}}, {"t": "x"}, True),
    ({"t": {"$in": ["x"]}}, {"t": None}, False),
    ({"t": {"$in": ["x"]}}, {}, False),
    ({"t": {"$in": ["x"]}}, {"t": ("x",)}, True),
    # numbers: every numeric type compares by value, bools never
    ({"t": {"$in": [1, 2.5]}}, {"t": [Int64(1)]}, True),
    ({"t": {"$in": [1, 2.5]}}, {"t": [Decimal128("2.5")]}, True),
    ({"t": {"$in": [1, 2.5]}}, {"t": Decimal128("1")}, True),
    ({"t": {"$in": [1, 2.5]}}, {"t": [True]}, False),
    ({"t": {"$in": [1, 2.5]}}, {"t": [float("nan")]}, False),
    ({"t": {"$in": [1, "1"]}}, {"t": 1.0}, True),
    ({"t": {"$in": [1, "1"]}}, {"t": ["2", 3]}, False),
])
def test_in_and_equality_value_fast_paths(spec, doc, expected):
    assert compile_filter(spec)(doc) is expected


# --------------------------------------------------------------------------
# Validation errors (codes and messages as the server's parser)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("spec, code, message", [
    ({"a": {"$foo": 1}}, 2, "unknown operator: $foo"),
    ({"$foo": 1}, 2, "unknown top level operator: $foo. If you have a field name that starts "
                     "with a '$' symbol, consider using $getField or $setField."),
    ({"$not": {"a": 1}}, 2, "unknown top level operator: $not. If you are trying to negate an "
                            "entire expression, use $nor."),
    ({"a": {"$gt": 1, "b": 2}}, 2, "unknown operator: b"),
    ({"a": {"$in": 5}}, 2, "$in needs an array"),
    ({"a": {"$nin": {}}}, 2, "$nin needs an array"),
    ({"a": {"$in": [{"$gt": 1}]}}, 2, "cannot nest $ under $in"),
    ({"$and": []}, 2, "$and/$or/$nor must be a nonempty array"),
    ({"$or": {}}, 2, "$or must be an array"),
    ({"$nor": [1]}, 2, "$or/$and/$nor entries need to be full objects"),
    ({"a": {"$size": -1}}, 2, "$size may not be negative"),
    ({"a": {"$size": 2.5}}, 2, "$size must be a whole number"),
    ({"a": {"$size": "2"}}, 2, "$size needs a number"),
    ({"a": {"$size": {"$gt": 1}}}, 2, "$size needs a number"),
    ({"a": {"$type": "foo"}}, 2, "Unknown type name alias: foo"),
    ({"a": {"$type": 99}}, 2, "Invalid numerical type code: 99"),
    ({"a": {"$type": []}}, 9, "$type must match at least one type"),
    ({"a": {"$mod": 5}}, 2, "malformed mod, needs to be an array"),
    ({"a": {"$mod": [5]}}, 2, "malformed mod, not enough elements"),
    ({"a": {"$mod": [5, 1, 2]}}, 2, "malformed mod, too many elements"),
    ({"a": {"$mod": ["5", 1]}}, 2, "malformed mod, divisor not a number"),
    ({"a": {"$mod": [0, 1]}}, 2, "divisor cannot be 0"),
    ({"a": {"$mod": [float("nan"), 1]}}, 2, "malformed mod, divisor value is invalid :: caused by :: "
                                            "Unable to coerce NaN/Inf to integral type"),
    ({"a": {"$regex": 5}}, 2, "$regex has to be a string"),
    ({"a": {"$options": "i"}}, 2, "$options needs a $regex"),
    # the server formats an empty operator name in front of this message
    ({"a": {"$regex": "a", "$options": "q"}}, 51108, " invalid flag in regex options: q"),
    ({"a": {"$ne": re.compile("a")}}, 2, "Can't have regex as arg to $ne."),
    ({"a": {"$gt": re.compile("a")}}, 2, "Can't have RegEx as arg to predicate over field 'a'."),
    ({"a": {"$not": 5}}, 2, "$not needs a regex or a document"),
    ({"a": {"$not": {}}}, 2, "$not cannot be empty"),
    ({"a": {"$elemMatch": 5}}, 2, "$elemMatch needs an Object"),
    ({"a": {"$all": 5}}, 2, "$all needs an array"),
    ({"a": {"$all": [{"$elemMatch": {}}, 5]}}, 2, "$all/$elemMatch has to be consistent"),
    ({"a": {"$all": [1, {"$gt": 5}]}}, 2, "no $ expressions in $all"),
    ({"$where": "this.a > 1"}, 2, "no globalScriptEngine in $where parsing: the memory engine never "
     "runs server-side JavaScript (like a mongod with JavaScript disabled); use $expr instead"),
    ({"a": {"$bitsAllSet": "123"}}, 2, 'a takes an Array, a number, or a BinData but received: '
                                       '$bitsAllSet: "123"'),
    ({"a": {"$bitsAllClear": 1.2}}, 9, "Expected an integer: $bitsAllClear: 1.2"),
    ({"a": {"$bitsAllSet": -1}}, 9, "Expected a positive number in: $bitsAllSet: -1"),
    ({"a": {"$bitsAnySet": [-1]}}, 2, "bit positions must be >= 0 but got: -1"),
    ({"$jsonSchema": 5}, 14, "$jsonSchema must be an object"),
    ({"$jsonSchema": {"foo": 1}}, 9, "Unknown $jsonSchema keyword: foo"),
    ({"$alwaysTrue": 2}, 9, "$alwaysTrue must be an integer value of 1"),
])
def test_parse_errors(spec, code, message):
    assert err(spec) == (code, message)


def test_errors_raise_even_inside_unreached_branches():
    assert err({"$or": [{"a": 1}, {"b": {"$bad": 1}}]})[1] == "unknown operator: $bad"


def test_unsupported_features_raise_not_implemented():
    for spec in ({"$text": {"$search": "x"}}, {"loc": {"$near": [0, 0]}},
                 {"loc": {"$geoWithin": {"$center": [[0, 0], 1]}}}):
        with pytest.raises(NotImplementedError):
            compile_filter(spec)


# --------------------------------------------------------------------------
# Differential test against a tiny, obviously-correct reference evaluator
# --------------------------------------------------------------------------


def _bracket(v):
    if v is MISSING:
        return "missing"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    return "array"


def _ref_equal(a, b):
    if _bracket(a) != _bracket(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_ref_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_ref_equal(x, y) for x, y in zip(a, b))
    return a == b


def _ref_values(doc, parts):
    """Values a path reaches: documents continue the path, arrays fan out over
    their documents, a terminal array yields itself and its elements."""
    out = []

    def walk(value, i):
        if i == len(parts):
            out.append(value)
            if isinstance(value, list):
                out.extend(value)
            return
        if isinstance(value, dict):
            walk(value.get(parts[i], MISSING), i + 1) if parts[i] in value else out.append(MISSING)
        elif isinstance(value, list):
            for element in value:
                if isinstance(element, dict):
                    walk(element, i)
        else:
            out.append(MISSING)

    walk(doc, 0)
    return out  # 7.x: a path reaching nothing yields no value (not even missing)


def _ref_single(op, arg, v):
    if op == "$eq":
        if arg is None:
            return v is None or v is MISSING
        return _ref_equal(v, arg)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if arg is None:
            return op in ("$gte", "$lte") and (v is None or v is MISSING)
        if _bracket(v) != _bracket(arg) or _bracket(arg) not in ("number", "string", "bool"):
            return False
        return {"$gt": v > arg, "$gte": v >= arg, "$lt": v < arg, "$lte": v <= arg}[op]
    if op == "$in":
        return any(_ref_single("$eq", x, v) for x in arg)
    if op == "$exists":
        return v is not MISSING
    raise AssertionError(op)


def _ref_match(doc, spec):
    for key, cond in spec.items():
        if key == "$and":
            ok = all(_ref_match(doc, c) for c in cond)
        elif key == "$or":
            ok = any(_ref_match(doc, c) for c in cond)
        elif key == "$nor":
            ok = not any(_ref_match(doc, c) for c in cond)
        else:
            values = _ref_values(doc, key.split("."))
            ok = True
            conds = cond.items() if isinstance(cond, dict) and cond and all(
                k.startswith("$") for k in cond) else [("$eq", cond)]
            for op, arg in conds:
                if op in ("$ne", "$nin"):
                    positive = {"$ne": "$eq", "$nin": "$in"}[op]
                    ok = ok and not any(_ref_single(positive, arg, v) for v in values)
                elif op == "$exists":
                    ok = ok and any(v is not MISSING for v in values) == arg
                else:
                    ok = ok and any(_ref_single(op, arg, v) for v in values)
        if not ok:
            return False
    return True


scalars = st.sampled_from([0, 1, 2, 1.0, 2.5, "a", "b", "", None, True, False])
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["b", "c"]), inner, max_size=2),
    max_leaves=6,
)
documents = st.dictionaries(st.sampled_from(["a", "x"]), values, max_size=2)
paths = st.sampled_from(["a", "a.b", "a.b.c", "x"])
conditions = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne"]), values),
    st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), scalars),
    st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(scalars, max_size=3)),
    st.tuples(st.just("$exists"), st.booleans()),
)
leaf_specs = st.one_of(
    st.builds(lambda p, c: {p: {c[0]: c[1]}}, paths, conditions),
    # two operators on one path (exercises the one-lookup conjunction fast path)
    st.builds(lambda p, c1, c2: {p: {c1[0]: c1[1], c2[0]: c2[1]}} if c1[0] != c2[0] else {p: {c1[0]: c1[1]}},
              paths, conditions, conditions),
    st.builds(lambda p, v: {p: v}, paths, scalars),
)
specs = st.recursive(
    leaf_specs,
    lambda inner: st.builds(lambda op, cs: {op: cs}, st.sampled_from(["$and", "$or", "$nor"]),
                            st.lists(inner, min_size=1, max_size=3)),
    max_leaves=4,
)


@settings(max_examples=120, deadline=None)
@given(doc=documents, spec=specs)
def test_matcher_agrees_with_reference(doc, spec):
    assert compile_filter(spec)(doc) == _ref_match(doc, spec)
    # the positional variant agrees on the boolean
    assert compile_filter(spec).match_position(doc)[0] == _ref_match(doc, spec)


def test_decoded_dbref_fields_match():
    import bson

    doc = bson.decode(bson.encode({"_id": 1, "r": {"$ref": "c", "$id": 5}}))
    assert compile_filter({"r.$id": 5})(doc)
    assert compile_filter({"r": {"$ref": "c", "$id": 5}})(doc)
    assert not compile_filter({"r": {"$id": 5, "$ref": "c"}})(doc)


def test_collation_validation():
    from dongo.backends.memory.collation import parse_collation

    assert parse_collation(None) is None
    assert parse_collation({"locale": "simple"}) is None
    for spec, code in (({"strength": 2}, 40414), ({"locale": "en", "strength": 6}, 2),
                       ({"locale": "en", "foo": 1}, 40415), ({"locale": 5}, 14),
                       ({"locale": "en", "caseFirst": "x"}, 2)):
        with pytest.raises(ServerError) as info:
            parse_collation(spec)
        assert info.value.code == code, spec
    # alternate "shifted" is supported since collation.py's UCA keys (49dc3a2)
    assert parse_collation({"locale": "en", "alternate": "shifted"}).alternate == "shifted"


# Cases from Meteor minimongo's selector suite that its authors marked as
# "tested against mongodb" (and that still hold for 7.x).
MINIMONGO = [
    (True, {"a": [1, 2]}, {"a": [[3, 4], [1, 2]]}),
    (False, {"a": [1, 2]}, {"a": [[[1, 2]]]}),
    (False, {"a": {"b": 12, "c": 13}}, {"a": {"c": 13, "b": 12}}),
    (False, {"a": {"b": 12}}, {"a": [[{"b": 12}]]}),
    (False, {"a": {"b": 12}}, {"a": [{"b": 11}, {"b": 12, "c": 20}, {"b": 13}]}),
    (True, {"a": None}, {"a": [1, 2, None, 3]}),
    (False, {"a": None}, {"a": [1, 2, {}, 3]}),
    (False, {"a": {"$lt": "null"}}, {"a": None}),
    (True, {"a": {"$lt": {"x": [2, 3, 4]}}}, {"a": {"x": [1, 3, 4]}}),
    (False, {"a": {"$gt": [2, 3]}}, {"a": [1, 2]}),
    (True, {"a": {"$lt": 11, "$gt": 9}}, {"a": [8, 9, 11, 12]}),
    (True, {"a": {"$all": [[1, 2], [1, 3]]}}, {"a": [[1, 3], [1, 2], [1, 4]]}),
    (True, {"a": {"$all": [2, 2]}}, {"a": [2]}),
    (False, {"a": {"$all": [2, 3]}}, {"a": [2, 2]}),
    (False, {"a": {"$all": [1, 2]}}, {"a": [[1, 2]]}),
    (False, {"a": {"$all": [1, 2]}}, {"a": {"foo": "bar"}}),
    (False, {"a": {"$all": [{"b": 3}]}}, {"a": [{"b": 3, "k": 4}]}),
    (False, {"a.x": {"$exists": False}}, {"a": [{}, {"x": 5}]}),
    (True, {"a.x": {"$exists": True}}, {"a": {"x": None}}),
    (True, {"a": {"$mod": [10, 1]}}, {"a": [10, 11, 12]}),
    (False, {"a": {"$ne": [1, 2]}}, {"a": [1, 2]}),
    (False, {"a.b": {"$ne": 1}}, {"a": [{"b": 1}, {"b": 2}]}),
    (True, {"a": {"$ne": {"x": 1}}}, {"a": {"x": 1, "y": 2}}),
    (True, {"a.b": {"$ne": 5, "$gt": 6}}, {"a": [{"b": 2}, {"b": 10}]}),
    (False, {"a.b": {"$ne": 5, "$gt": 6}}, {"a": [{"b": 10}, {"b": 5}]}),
    (True, {"a": {"$in": [[1], [2], [3]]}}, {"a": [2]}),
    (True, {"a": {"$in": [1, 2, 3]}}, {"a": [2]}),
    (True, {"a": {"$in": ["x", re.compile("foo", re.I)]}}, {"a": ["f", "fOo"]}),
    (True, {"a.b": {"$in": [1, None]}}, {"a": [{"b": 5}, {}]}),
    (False, {"a.b": {"$in": [1, None]}}, {"a": [{"b": 5}, []]}),
    (False, {"a.b": {"$in": [1, None]}}, {"a": [{"b": 5}, 5]}),
    (False, {"a.b": {"$nin": [1, 2, 3]}}, {"a": [{"b": 4}, {"b": 2}]}),
    (True, {"a.b": {"$nin": [1, None]}}, {"a": [{"b": 5}, 5]}),
    (False, {"a": {"$size": 2}}, {"a": [[2, 2]]}),
    (True, {"a": {"$type": 2}}, {"a": ["1", []]}),
    (True, {"a.0": {"$type": 4}}, {"a": [[0]]}),
    (False, {"a.0": {"$type": 1}}, {"a": [[0]]}),
    (False, {"a": re.compile(",")}, {"a": ["foo", "bar"]}),
    (False, {"a": re.compile("5")}, {"a": 5}),
    (True, {"x": {"$not": re.compile("a")}}, {"x": ["dog", "puppy"]}),
    (False, {"x.y": {"$not": {"$gt": 7}}}, {"x": [{"y": 2}, {"y": 10}]}),
    (True, {"a.1": {"1": 2}}, {"a": [0, {"1": 2}, 3]}),
    (False, {"a.1": 8}, {"a": [[6, 7], [8, 9]]}),
    (True, {"a.1.b": 2}, {"a": [1, [{"b": 2}], 3]}),
    (True, {"a.1.foo": None}, {"a": [{"1": {"foo": 4}}, {"foo": 5}]}),
    (False, {"a.1": None}, {"a": [{"1": 4}, 5]}),
    (True, {"a.b": {"$in": [{"x": 1}, {"x": 2}]}}, {"a": {"b": [{"x": 2}]}}),
]


@pytest.mark.parametrize("expected, spec, doc", MINIMONGO)
def test_minimongo_cases(expected, spec, doc):
    assert compile_filter(spec)(doc) is expected


def test_regex_classes_are_ascii_like_pcre_without_ucp():
    word = compile_filter({"a": {"$regex": r"^\w+$"}})
    assert word({"a": "cafe_1"}) and not word({"a": "café"})
    assert compile_filter({"a": {"$regex": r"^[\d.]+$"}})({"a": "3.14"})
    assert not compile_filter({"a": {"$regex": r"^\d$"}})({"a": "\u0663"})  # Arabic-Indic three
    assert compile_filter({"a": {"$regex": "É", "$options": "i"}})({"a": "café"})  # UTF case folding
    assert compile_filter({"a": {"$regex": r"b\Z"}})({"a": "ab\n"})  # PCRE \Z: before a final newline
    assert not compile_filter({"a": {"$regex": r"b\z"}})({"a": "ab\n"})
    assert compile_filter({"a": {"$regex": r"(?<y>\d{4})-"}})({"a": "2024-01"})


def test_date_ranges_naive_and_aware():
    utc = datetime.timezone.utc
    docs = [{"_id": i, "d": datetime.datetime(2024, 1, 1 + i)} for i in range(5)]
    docs.append({"_id": 5, "d": datetime.datetime(2024, 1, 3, tzinfo=utc)})
    docs.append({"_id": 6, "d": "2024-01-03"})
    spec = {"d": {"$gte": datetime.datetime(2024, 1, 2), "$lt": datetime.datetime(2024, 1, 4)}}
    assert ids(docs, spec) == [1, 2, 5]
    aware = {"d": {"$gte": datetime.datetime(2024, 1, 2, tzinfo=utc), "$lt": datetime.datetime(2024, 1, 4, tzinfo=utc)}}
    assert ids(docs, aware) == [1, 2, 5]
    assert ids(docs, {"d": datetime.datetime(2024, 1, 3)}) == [2, 5]


RANGE_DOCS = [{"_id": 1, "a": 1}, {"_id": 2, "a": 2.5}, {"_id": 3, "a": 3}, {"_id": 4, "a": [0, 9]},
              {"_id": 5, "a": float("nan")}, {"_id": 6, "a": True}, {"_id": 7, "a": "2"},
              {"_id": 8, "a": Int64(2)}, {"_id": 9, "a": [2]}, {"_id": 10}]


@pytest.mark.parametrize("spec, expected", [
    # [0, 9] matches every range: each bound may be met by a different element
    ({"$gte": 1, "$lt": 3}, [1, 2, 4, 8, 9]),
    ({"$gte": 1, "$lte": 3}, [1, 2, 3, 4, 8, 9]),
    ({"$gt": 1, "$lt": 3}, [2, 4, 8, 9]),
    ({"$gt": 1, "$lte": 3}, [2, 3, 4, 8, 9]),
    ({"$gt": 2.5, "$lt": 2.75}, [4]),
])
def test_two_sided_numeric_ranges_on_a_top_level_field(spec, expected):
    assert ids(RANGE_DOCS, {"a": spec}) == expected


def test_matcher_eq_names_plain_top_level_equality_only():
    assert compile_filter({"a": 5}).eq == ("a", 5)
    assert compile_filter({"a": "x"}).eq == ("a", "x")
    assert compile_filter({"a": "x"}, collation={"locale": "en", "strength": 2}).eq is None
    assert compile_filter({"a": 5}, collation={"locale": "en", "strength": 2}).eq == ("a", 5)
    for spec in ({"a.b": 5}, {"a": 5.0}, {"a": None}, {"a": {"$eq": 5}}, {"a": 5, "b": 1},
                 {"a": [5]}, {}):
        assert compile_filter(spec).eq is None
