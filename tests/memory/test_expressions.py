"""Aggregation expressions: results and error codes as a MongoDB 7 server gives them.

Expected values come from the examples of MongoDB's operator reference pages
(quoted in comments where they are the docs' own), and the server's parse
errors (code numbers from the server source).  ``same`` compares values *and*
BSON types, so an int32 result is not mistaken for a long or a double.
"""

from __future__ import annotations

import datetime as dt

import pytest
from bson import Decimal128, Int64, ObjectId, Regex, Timestamp

from dongo.backends.memory.bsontypes import MISSING
from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.expressions import compile_accumulator, compile_expression


def ev(expr, doc=None, variables=None, names=frozenset()):
    return compile_expression(expr, variables=names)(doc if doc is not None else {}, variables or {})


def same(a, b):
    """Equal values of the same BSON types, recursively."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


def assert_same(actual, expected):
    assert same(actual, expected), f"{actual!r} != {expected!r}"


def error_code(expr, doc=None, names=frozenset()):
    with pytest.raises(ServerError) as info:
        ev(expr, doc, names=names)
    return info.value.code


D = dt.datetime

# ---------------------------------------------------------------------------
# Field paths, variables, literals
# ---------------------------------------------------------------------------


def test_field_path_traverses_arrays_of_documents():
    # Only documents of the array contribute; nested arrays and scalars are skipped.
    doc = {"a": [{"b": 1}, {"b": [2, 3]}, {"c": 1}, 5, [{"b": 4}]]}
    assert_same(ev("$a.b", doc), [1, [2, 3]])
    assert_same(ev("$a.b.c", {"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": {"c": 3}}]}), [[1, 2], 3])


def test_numeric_path_components_are_field_names_not_indexes():
    assert ev("$a.0", {"a": [10, 20]}) == []
    assert ev("$a.0", {"a": {"0": "x"}}) == "x"


def test_missing_field_is_missing_and_becomes_null_in_arrays():
    assert ev("$nope", {"a": 1}) is MISSING
    assert_same(ev(["$nope", "$a"], {"a": 1}), [None, 1])


def test_object_expression_omits_missing_fields():
    assert_same(ev({"x": "$a", "y": "$nope", "z": {"$literal": "$a"}}, {"a": 1}), {"x": 1, "z": "$a"})


def test_root_current_and_remove():
    doc = {"a": {"b": 2}}
    assert ev("$$ROOT", doc) is doc
    assert ev("$$CURRENT.a.b", doc) == 2
    assert ev("$$REMOVE", doc) is MISSING


def test_now_uses_the_run_value():
    now = D(2024, 1, 2, 3, 4, 5, 6000)
    assert ev("$$NOW", {}, {"NOW": now}) == now
    assert isinstance(ev("$$NOW"), D)


def test_undefined_variable_is_rejected_at_compile_time():
    assert error_code("$$nope") == 17276
    with pytest.raises(ServerError, match="Use of undefined variable: nope"):
        compile_expression({"$add": ["$$nope", 1]})


def test_let_variables_from_the_command():
    assert ev({"$multiply": ["$$rate", "$x"]}, {"x": 3}, {"rate": 2}, names={"rate"}) == 6


def test_let_operator_docs_example():
    # $let docs: total = price + tax, discounted when applyDiscount.
    expr = {"$let": {"vars": {"total": {"$add": ["$price", "$tax"]},
                              "discounted": {"$cond": {"if": "$applyDiscount", "then": 0.9, "else": 1}}},
                     "in": {"$multiply": ["$$total", "$$discounted"]}}}
    assert ev(expr, {"price": 10, "tax": 0.50, "applyDiscount": True}) == pytest.approx(9.45)
    assert_same(ev(expr, {"price": 10, "tax": 0.25, "applyDiscount": False}), 10.25)


def test_let_errors():
    assert error_code({"$let": {"vars": {"X": 1}, "in": 1}}) == 16867
    assert error_code({"$let": {"vars": {}}}) == 16877
    assert error_code({"$let": {"vars": {"a": 1}, "in": "$$b"}}) == 17276


def test_unknown_operator_and_operator_objects():
    with pytest.raises(ServerError) as info:
        compile_expression({"$foo": 1})
    assert info.value.code == 168
    assert info.value.errmsg == "Unrecognized expression '$foo'"
    assert error_code({"$add": [1, 2], "b": 1}) == 15983


def test_arity_errors():
    with pytest.raises(ServerError) as info:
        compile_expression({"$subtract": [1]})
    assert info.value.code == 16020
    assert info.value.errmsg == "Expression $subtract takes exactly 2 arguments. 1 were passed in."
    assert error_code({"$eq": [1, 2, 3]}) == 16020
    assert error_code({"$slice": [[1]]}) == 28667


def test_server_side_javascript_is_refused():
    for op in ("$function", "$accumulator"):
        with pytest.raises(ServerError):
            compile_expression({op: {"body": "function() { return 1 }", "args": [], "lang": "js"}})


def test_literal():
    assert_same(ev({"$literal": {"$add": [1, 2]}}), {"$add": [1, 2]})
    assert ev({"$literal": "$price"}) == "$price"


# ---------------------------------------------------------------------------
# Arithmetic and numeric typing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("expr,expected", [
    ({"$add": [1, 2]}, 3),
    ({"$add": [2147483647, 1]}, Int64(2147483648)),          # int32 overflow -> long
    ({"$add": [Int64(9223372036854775807), Int64(1)]}, 9.223372036854775807e18),  # long overflow -> double
    ({"$add": [1, Int64(2)]}, Int64(3)),
    ({"$add": [1, 2.5]}, 3.5),
    ({"$add": [Decimal128("1.1"), 2]}, Decimal128("3.1")),
    ({"$add": [1, None]}, None),
    ({"$add": [1, "$missing"]}, None),
    ({"$subtract": [5, 7]}, -2),
    ({"$subtract": [-2147483648, 1]}, Int64(-2147483649)),
    ({"$multiply": [65536, 65536]}, Int64(4294967296)),
    ({"$multiply": [2, 3, 4]}, 24),
    ({"$multiply": [Decimal128("10"), 2]}, Decimal128("20")),
    ({"$divide": [9, 3]}, 3.0),                                # always a double
    ({"$divide": [Decimal128("1"), 4]}, Decimal128("0.25")),
    ({"$mod": [10, 3]}, 1),
    ({"$mod": [-10, 3]}, -1),                                   # sign of the dividend
    ({"$mod": [10.5, 3]}, 1.5),
    ({"$abs": -5}, 5),
    ({"$abs": -2147483648}, Int64(2147483648)),
    ({"$abs": None}, None),
    ({"$ceil": 7.80}, 8.0),
    ({"$ceil": -2.8}, -2.0),
    ({"$floor": -2.8}, -3.0),
    ({"$floor": 5}, 5),
    ({"$sqrt": 25}, 5.0),
    ({"$pow": [5, 0]}, 1),
    ({"$pow": [2, 10]}, 1024),
    ({"$pow": [2, 40]}, Int64(1099511627776)),
    ({"$pow": [2, -1]}, 0.5),
    ({"$exp": 0}, 1.0),
    ({"$ln": 1}, 0.0),
    ({"$log10": 100}, 2.0),
    ({"$log": [100, 10]}, 2.0),
    # $round / $trunc docs examples.
    ({"$round": [10.5, 0]}, 10.0),
    ({"$round": [11.5, 0]}, 12.0),
    ({"$round": [12.5, 0]}, 12.0),
    ({"$round": [19.25, 1]}, 19.2),
    ({"$round": [28.73, -1]}, 30.0),
    ({"$round": [1234.5678, -2]}, 1200.0),
    ({"$round": [1234, -2]}, 1200),
    ({"$round": [Decimal128("1.235"), 2]}, Decimal128("1.24")),
    ({"$trunc": [19.25, 1]}, 19.2),
    ({"$trunc": [28.73, -1]}, 20.0),
    ({"$trunc": [-45.39, 1]}, -45.3),
    ({"$trunc": 7.9}, 7.0),
])
def test_arithmetic(expr, expected):
    assert_same(ev(expr), expected)


def test_date_arithmetic():
    d = D(2014, 3, 1, 8, 0)
    assert_same(ev({"$add": ["$date", 3 * 24 * 60 * 60000]}, {"date": d}), D(2014, 3, 4, 8, 0))
    assert_same(ev({"$subtract": ["$date", 5 * 60 * 1000]}, {"date": d}), D(2014, 3, 1, 7, 55))
    assert_same(ev({"$subtract": [D(2014, 3, 1, 8, 0, 1), "$date"]}, {"date": d}), Int64(1000))
    # Fractional milliseconds round half away from zero (llround).
    assert_same(ev({"$add": ["$date", 2.5]}, {"date": d}), D(2014, 3, 1, 8, 0, 0, 3000))
    assert_same(ev({"$subtract": ["$date", 0.5]}, {"date": d}), D(2014, 3, 1, 7, 59, 59, 999000))


@pytest.mark.parametrize("expr,code", [
    ({"$divide": [1, 0]}, 2),
    ({"$divide": ["a", 1]}, 14),            # TypeMismatch since 6.1 (jstests add_error_on_str.js)
    ({"$mod": [1, 0]}, 16610),
    ({"$add": ["a", 1]}, 14),
    ({"$add": [D(2020, 1, 1), D(2020, 1, 1)]}, 16612),
    ({"$subtract": ["a", 1]}, 14),
    ({"$subtract": [D(2020, 1, 1), "a"]}, 14),
    ({"$subtract": [1, D(2020, 1, 1)]}, 14),
    ({"$multiply": ["a", 1]}, 14),
    ({"$abs": "a"}, 28765),
    ({"$sqrt": -1}, 28714),
    ({"$ln": 0}, 28766),
    ({"$log10": -1}, 28761),
    ({"$log": [1, 1]}, 28759),
    ({"$pow": [0, -1]}, 28764),
])
def test_arithmetic_errors(expr, code):
    assert error_code(expr) == code


def test_divide_by_zero_message():
    with pytest.raises(ServerError) as info:
        ev({"$divide": [1, 0]})
    assert info.value.errmsg == "can't $divide by zero"


# ---------------------------------------------------------------------------
# Comparison, boolean, conditional
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("expr,expected", [
    ({"$cmp": [250, 250]}, 0),
    ({"$cmp": ["$qty", 250]}, -1),
    ({"$cmp": ["a", 1]}, 1),             # strings sort after numbers
    ({"$eq": [1, 1.0]}, True),
    ({"$eq": [Decimal128("1"), Int64(1)]}, True),
    ({"$ne": ["$qty", 250]}, True),
    ({"$gt": ["$qty", None]}, True),
    ({"$lt": ["$nope", None]}, True),    # missing sorts below null in comparisons
    ({"$eq": ["$nope", None]}, False),
    ({"$lte": [[1, 2], [1, 3]]}, True),
    ({"$and": [1, "green"]}, True),
    ({"$and": []}, True),
    ({"$and": [None, True]}, False),
    ({"$and": [0, True]}, False),
    ({"$or": [False, []]}, True),        # an empty array is true
    ({"$or": []}, False),
    ({"$not": [0]}, True),
    ({"$not": [[False]]}, False),
    ({"$not": Decimal128("0")}, True),
])
def test_comparison_and_boolean(expr, expected):
    assert_same(ev(expr, {"qty": 200}), expected)


def test_cond_both_forms():
    doc = {"qty": 300}
    assert ev({"$cond": {"if": {"$gte": ["$qty", 250]}, "then": 30, "else": 20}}, doc) == 30
    assert ev({"$cond": [{"$gte": ["$qty", 500]}, 30, 20]}, doc) == 20
    assert error_code({"$cond": {"if": 1, "then": 2}}) == 17082
    assert error_code({"$cond": {"if": 1, "then": 2, "else": 3, "x": 1}}) == 17083
    assert error_code({"$cond": [1, 2]}) == 16020


def test_if_null_is_n_ary():
    assert ev({"$ifNull": ["$description", "Unspecified"]}, {}) == "Unspecified"
    assert ev({"$ifNull": ["$a", "$b", "x"]}, {"a": None, "b": 2}) == 2
    assert ev({"$ifNull": ["$a", "$b"]}, {"a": None}) is MISSING
    assert ev({"$ifNull": [False, 1]}) is False
    assert error_code({"$ifNull": ["$a"]}) == 1257300


def test_switch():
    expr = {"$switch": {"branches": [
        {"case": {"$gte": [{"$avg": "$scores"}, 90]}, "then": "Doing great!"},
        {"case": {"$and": [{"$gte": [{"$avg": "$scores"}, 80]}, {"$lt": [{"$avg": "$scores"}, 90]}]},
         "then": "Doing pretty well."},
        {"case": {"$lt": [{"$avg": "$scores"}, 80]}, "then": "Needs improvement."}],
        "default": "No scores found."}}
    assert ev(expr, {"scores": [87, 86, 78]}) == "Doing pretty well."
    assert ev(expr, {"scores": [71, 64, 83]}) == "Needs improvement."
    assert ev(expr, {"scores": [91, 84, 97]}) == "Doing great!"
    assert ev(expr, {}) == "Needs improvement."  # the average of nothing is null, and null < 80
    assert ev({"$switch": {"branches": [{"case": "$nope", "then": 1}], "default": "none"}}) == "none"
    with pytest.raises(ServerError) as info:
        ev({"$switch": {"branches": [{"case": False, "then": 1}]}})
    assert info.value.code == 40066
    assert error_code({"$switch": {"branches": [{"then": 1}]}}) == 40064


# ---------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("expr,expected", [
    ({"$concat": ["$item", " - ", "$description"]}, "ABC1 - product 1"),
    ({"$concat": ["$item", "$nope"]}, None),
    ({"$substr": ["$quarter", 0, 2]}, "13"),
    ({"$substr": ["$quarter", 2, -1]}, "Q1"),
    ({"$substrBytes": ["$quarter", 0, 2]}, "13"),
    ({"$substrCP": ["$quarter", 2, 100]}, "Q1"),
    ({"$substrCP": ["寿司sushi", 0, 2]}, "寿司"),
    ({"$substrBytes": ["$nope", 0, 2]}, ""),
    ({"$toLower": "$item"}, "abc1"),
    ({"$toUpper": "$description"}, "PRODUCT 1"),
    ({"$toUpper": "éa"}, "éA"),          # ASCII only, as on the server
    ({"$toLower": 15}, "15"),
    ({"$toLower": None}, ""),
    ({"$strLenBytes": "cafétéria"}, 11),
    ({"$strLenCP": "cafétéria"}, 9),
    ({"$strcasecmp": ["$quarter", "13q4"]}, -1),
    ({"$strcasecmp": ["$quarter", "13q1"]}, 0),
    ({"$strcasecmp": ["$quarter", "12Q3"]}, 1),
    ({"$strcasecmp": ["_", "a"]}, 1),  # compared upper-cased: "_" (0x5F) > "A" (0x41)
    ({"$split": ["June-15-2013", "-"]}, ["June", "15", "2013"]),
    ({"$split": ["Hanover, NH", ", "]}, ["Hanover", "NH"]),
    ({"$split": ["$nope", "-"]}, None),
    ({"$trim": {"input": "  \n good  bye \t  "}}, "good  bye"),
    ({"$ltrim": {"input": "  abc  "}}, "abc  "),
    ({"$rtrim": {"input": "xxabcxx", "chars": "x"}}, "xxabc"),
    ({"$trim": {"input": None}}, None),
    ({"$indexOfBytes": ["cafeteria", "e"]}, 3),
    ({"$indexOfBytes": ["cafétéria", "t"]}, 5),
    ({"$indexOfCP": ["cafétéria", "t"]}, 4),
    ({"$indexOfCP": ["foo.bar.fi", ".", 5]}, 7),
    ({"$indexOfCP": ["vanilla", "ll", 0, 2]}, -1),
    ({"$indexOfCP": ["vanilla", "nilla", 3, 5]}, -1),
    ({"$indexOfCP": [None, "a"]}, None),
    ({"$replaceOne": {"input": "blue paint", "find": "blue", "replacement": "red"}},
     "red paint"),
    ({"$replaceAll": {"input": "blue paint with blue paintbrush", "find": "blue", "replacement": "red"}},
     "red paint with red paintbrush"),
    ({"$replaceAll": {"input": None, "find": "a", "replacement": "b"}}, None),
])
def test_strings(expr, expected):
    assert_same(ev(expr, {"item": "ABC1", "description": "product 1", "quarter": "13Q1"}), expected)


def test_regex_operators():
    # $regexFind docs: { description: "Single LINE description." } with /line/i.
    doc = {"description": "Single LINE description."}
    assert_same(ev({"$regexFind": {"input": "$description", "regex": "line", "options": "i"}}, doc),
                {"match": "LINE", "idx": 7, "captures": []})
    assert_same(ev({"$regexFind": {"input": "$description", "regex": Regex("line", "i")}}, doc),
                {"match": "LINE", "idx": 7, "captures": []})
    assert ev({"$regexFind": {"input": "$description", "regex": "xyz"}}, doc) is None
    assert_same(ev({"$regexFindAll": {"input": "banana", "regex": "(a)(n)?"}}),
                [{"match": "an", "idx": 1, "captures": ["a", "n"]},
                 {"match": "an", "idx": 3, "captures": ["a", "n"]},
                 {"match": "a", "idx": 5, "captures": ["a", None]}])
    assert ev({"$regexMatch": {"input": "$description", "regex": "^single"}}, doc) is False
    assert ev({"$regexMatch": {"input": "$description", "regex": "^single", "options": "i"}}, doc) is True
    assert ev({"$regexMatch": {"input": "$nope", "regex": "a"}}, doc) is False
    # idx counts code points.
    assert ev({"$regexFind": {"input": "cafétéria", "regex": "t"}})["idx"] == 4


@pytest.mark.parametrize("expr,code", [
    ({"$concat": ["a", 1]}, 16702),
    ({"$strLenCP": None}, 34471),
    ({"$strLenBytes": 1}, 34473),
    ({"$split": [1, "a"]}, 40085),
    ({"$split": ["a", ""]}, 40087),
    ({"$substrCP": ["abc", -1, 1]}, 34455),
    ({"$substrCP": ["abc", 0, -1]}, 34454),
    ({"$substrBytes": ["éa", 1, 1]}, 28656),
    ({"$substrBytes": ["éa", 0, 1]}, 28657),
    ({"$substr": ["abc", -1, 1]}, 50752),
    ({"$indexOfBytes": [1, "a"]}, 40091),
    ({"$indexOfBytes": ["a", 1]}, 40092),
    ({"$indexOfCP": [1, "a"]}, 40093),
    ({"$indexOfCP": ["a", 1]}, 40094),
    ({"$trim": {"input": 1}}, 50699),
    ({"$trim": {"chars": "a"}}, 50695),
    ({"$regexMatch": {"input": 1, "regex": "a"}}, 51104),
    ({"$replaceOne": {"input": 1, "find": "a", "replacement": "b"}}, 51746),
])
def test_string_errors(expr, code):
    assert error_code(expr) == code


# ---------------------------------------------------------------------------
# Arrays and sets
# ---------------------------------------------------------------------------

ITEMS = {"items": [{"item_id": 43, "quantity": 2, "price": 10},
                   {"item_id": 2, "quantity": 1, "price": 240},
                   {"item_id": 23, "quantity": 3, "price": 110}]}


@pytest.mark.parametrize("expr,expected", [
    ({"$arrayElemAt": [[1, 2, 3], 0]}, 1),
    ({"$arrayElemAt": [[1, 2, 3], -1]}, 3),
    ({"$first": [[1, 2, 3]]}, 1),
    ({"$last": [[1, 2, 3]]}, 3),
    ({"$first": [None]}, None),
    ({"$concatArrays": [["hello", " "], [["world"], "again"]]}, ["hello", " ", ["world"], "again"]),
    ({"$concatArrays": [[1], None]}, None),
    ({"$filter": {"input": "$items", "as": "item", "cond": {"$gte": ["$$item.price", 100]}}},
     [{"item_id": 2, "quantity": 1, "price": 240}, {"item_id": 23, "quantity": 3, "price": 110}]),
    ({"$filter": {"input": "$items", "cond": {"$gte": ["$$this.price", 100]}, "limit": 1}},
     [{"item_id": 2, "quantity": 1, "price": 240}]),
    ({"$filter": {"input": "$nope", "cond": True}}, None),
    ({"$map": {"input": "$items", "as": "i", "in": "$$i.item_id"}}, [43, 2, 23]),
    ({"$map": {"input": [1, 2], "in": {"$add": ["$$this", 1]}}}, [2, 3]),
    ({"$reduce": {"input": ["a", "b", "c"], "initialValue": "",
                  "in": {"$concat": ["$$value", "$$this"]}}}, "abc"),
    ({"$reduce": {"input": [[3, 4], [5, 6]], "initialValue": [1, 2],
                  "in": {"$concatArrays": ["$$value", "$$this"]}}}, [1, 2, 3, 4, 5, 6]),
    ({"$reduce": {"input": [1, 2, 3, 4], "initialValue": {"sum": 5, "product": 2},
                  "in": {"sum": {"$add": ["$$value.sum", "$$this"]},
                         "product": {"$multiply": ["$$value.product", "$$this"]}}}},
     {"sum": 15, "product": 48}),
    ({"$in": ["abc", ["xyz", "abc"]]}, True),
    ({"$in": [[1], [1, [1]]]}, True),
    ({"$in": [2.0, [1, 2]]}, True),
    ({"$indexOfArray": [["a", "abc", "b"], "b"]}, 2),
    ({"$indexOfArray": [[1, 2, 3, 2], 2, 2]}, 3),
    ({"$indexOfArray": [None, 2]}, None),
    ({"$isArray": ["$items"]}, True),
    ({"$isArray": "$nope"}, False),
    ({"$size": "$items"}, 3),
    ({"$reverseArray": [[1, 2, 3]]}, [3, 2, 1]),
    ({"$slice": [[1, 2, 3], 1, 1]}, [2]),
    ({"$slice": [[1, 2, 3], -2]}, [2, 3]),
    ({"$slice": [[1, 2, 3], 15, 2]}, []),
    ({"$slice": [[1, 2, 3], -15, 2]}, [1, 2]),
    ({"$range": [0, 10, 2]}, [0, 2, 4, 6, 8]),
    ({"$range": [10, 0, -2]}, [10, 8, 6, 4, 2]),
    ({"$range": [0, 10, -2]}, []),
    ({"$range": [0, 5]}, [0, 1, 2, 3, 4]),
    ({"$zip": {"inputs": [["a", "b"], [1, 2, 3]]}}, [["a", 1], ["b", 2]]),
    ({"$zip": {"inputs": [["a"], [1, 2]], "useLongestLength": True, "defaults": ["x", 0]}},
     [["a", 1], ["x", 2]]),
    ({"$arrayToObject": [[["item", "abc123"], ["qty", 25]]]}, {"item": "abc123", "qty": 25}),
    ({"$arrayToObject": [[{"k": "item", "v": "abc123"}, {"k": "qty", "v": 25}]]},
     {"item": "abc123", "qty": 25}),
    ({"$arrayToObject": [[["a", 1], ["a", 2]]]}, {"a": 2}),
    ({"$objectToArray": {"item": "foo", "qty": 25, "size": {"len": 25}}},
     [{"k": "item", "v": "foo"}, {"k": "qty", "v": 25}, {"k": "size", "v": {"len": 25}}]),
    ({"$sortArray": {"input": [20, 4, {"a": "Free"}, 6, 21, 5, "Gratis", {"a": None}, {"a": {"sale": True,
                     "price": 19}}, Decimal128("10.23"), {"a": "On sale"}], "sortBy": 1}},
     [4, 5, 6, Decimal128("10.23"), 20, 21, "Gratis", {"a": None}, {"a": "Free"}, {"a": "On sale"},
      {"a": {"sale": True, "price": 19}}]),
    ({"$sortArray": {"input": [3, 1, 2], "sortBy": -1}}, [3, 2, 1]),
    ({"$setUnion": [["a", "b"], ["b", "c", "a"]]}, ["a", "b", "c"]),
    ({"$setIntersection": [["a", "b", "a"], ["b", "a"]]}, ["a", "b"]),
    ({"$setIntersection": [["a", "b"], []]}, []),
    ({"$setUnion": [[3, 1], [2, 1.0]]}, [1, 2, 3]),            # an ordered set on the server
    ({"$setIntersection": [[3, 2, 1], [1, 3]]}, [1, 3]),
    ({"$setDifference": [[3, 1, 3, 2], [2]]}, [3, 1]),        # keeps the first operand's order
    ({"$setDifference": [["a", "b", "c"], ["b"]]}, ["a", "c"]),
    ({"$setEquals": [["a", "b", "a"], ["b", "a"]]}, True),
    ({"$setEquals": [["a", "b"], ["a", "b", "c"]]}, False),
    ({"$setIsSubset": [["a", "b", "a"], [["a", "b"], "a", "b"]]}, True),
    ({"$setUnion": [["a"], None]}, None),
    ({"$anyElementTrue": [[True, False]]}, True),
    ({"$anyElementTrue": [[[False]]]}, True),
    ({"$anyElementTrue": [[None, False, 0]]}, False),
    ({"$allElementsTrue": [[]]}, True),
    ({"$allElementsTrue": [[True, 1, "someString"]]}, True),
    ({"$allElementsTrue": [[None, False, 0]]}, False),
])
def test_arrays(expr, expected):
    assert_same(ev(expr, ITEMS), expected)


def test_array_elem_at_out_of_range_is_missing():
    assert ev({"$arrayElemAt": [[1, 2], 15]}) is MISSING
    assert ev({"$arrayElemAt": [[1, 2], -3]}) is MISSING
    assert ev({"$last": [[]]}) is MISSING


def test_sort_array_by_document():
    team = [{"name": "pat", "age": 30, "address": {"city": "London"}},
            {"name": "dallas", "age": 36, "address": {"city": "Paris"}},
            {"name": "charlie", "age": 42, "address": {"city": "Bogota"}}]
    result = ev({"$sortArray": {"input": "$team", "sortBy": {"address.city": 1}}}, {"team": team})
    assert [m["name"] for m in result] == ["charlie", "pat", "dallas"]
    result = ev({"$sortArray": {"input": "$team", "sortBy": {"age": -1, "name": 1}}}, {"team": team})
    assert [m["name"] for m in result] == ["charlie", "dallas", "pat"]


@pytest.mark.parametrize("expr,code", [
    ({"$arrayElemAt": ["a", 0]}, 28689),
    ({"$arrayElemAt": [[1], "a"]}, 28690),
    ({"$arrayElemAt": [[1], 1.5]}, 28691),
    ({"$concatArrays": [[1], "a"]}, 28664),
    ({"$filter": {"input": "a", "cond": True}}, 28651),
    ({"$filter": {"input": [1]}}, 28650),
    ({"$filter": {"input": [1], "cond": True, "x": 1}}, 28647),
    ({"$filter": {"input": [1], "cond": True, "limit": 0}}, 327392),
    ({"$map": {"input": "a", "in": 1}}, 16883),
    ({"$map": {"input": [1], "in": "$$nope"}}, 17276),
    ({"$reduce": {"input": "a", "initialValue": 0, "in": 1}}, 40080),
    ({"$in": [1, "a"]}, 40081),
    ({"$in": [1, "$nope"]}, 40081),
    ({"$indexOfArray": ["a", 1]}, 40090),
    ({"$size": "$nope"}, 17124),
    ({"$size": 1}, 17124),
    ({"$reverseArray": 1}, 34435),
    ({"$slice": ["a", 1]}, 28724),
    ({"$slice": [[1], 0, 0]}, 28729),
    ({"$range": [0, 5, 0]}, 34449),
    ({"$range": ["a", 5]}, 34443),
    ({"$zip": {"inputs": [[1]], "defaults": [1]}}, 34466),
    ({"$arrayToObject": [[["a", 1, 2]]]}, 40397),
    ({"$arrayToObject": "a"}, 40386),
    ({"$arrayToObject": [[1]]}, 40398),
    ({"$arrayToObject": [[["a", 1], {"k": "b", "v": 2}]]}, 40396),
    ({"$arrayToObject": [[{"k": "b", "v": 2}, ["a", 1]]]}, 40391),
    ({"$arrayToObject": [[{"k": "b", "x": 2}]]}, 40393),
    ({"$arrayToObject": [[{"k": "b"}]]}, 40392),
    ({"$objectToArray": 1}, 40390),
    ({"$setUnion": [[1], 1]}, 17043),
    ({"$setDifference": [1, [1]]}, 17048),
    ({"$setEquals": [[1], None]}, 17044),
    ({"$setIsSubset": [[1], "$nope"]}, 17042),
    ({"$anyElementTrue": 1}, 17041),
    ({"$allElementsTrue": "$nope"}, 17040),
])
def test_array_errors(expr, code):
    assert error_code(expr) == code


def test_array_expression_accumulators():
    doc = {"quizzes": [10, 6, 7], "labs": [5, 8], "final": 80, "midterm": 75, "s": ["a", 1]}
    assert_same(ev({"$sum": "$quizzes"}, doc), 23)
    assert_same(ev({"$sum": ["$final", "$midterm"]}, doc), 155)
    assert_same(ev({"$sum": "$s"}, doc), 1)
    assert_same(ev({"$sum": "$nope"}, doc), 0)
    assert_same(ev({"$avg": "$quizzes"}, doc), 23 / 3)
    assert_same(ev({"$avg": ["$final", "$midterm"]}, doc), 77.5)
    assert ev({"$avg": "$nope"}, doc) is None
    assert_same(ev({"$max": "$quizzes"}, doc), 10)
    assert_same(ev({"$min": ["$final", "$midterm"]}, doc), 75)
    assert ev({"$max": [None, "$nope"]}, doc) is None
    assert_same(ev({"$stdDevPop": [1, 2, 3, 4]}), 1.118033988749895)
    assert_same(ev({"$stdDevSamp": [1, 2, 3, 4]}), 1.2909944487358056)
    assert ev({"$stdDevSamp": [1]}) is None
    assert_same(ev({"$maxN": {"n": 2, "input": [None, 2, 4, 3]}}), [4, 3])
    assert_same(ev({"$minN": {"n": 2, "input": [None, 2, 4, 3]}}), [2, 3])
    assert_same(ev({"$firstN": {"n": 2, "input": [1, 2, 3]}}), [1, 2])
    assert_same(ev({"$lastN": {"n": 2, "input": [1, 2, 3]}}), [2, 3])


# ---------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------


def test_objects():
    assert_same(ev({"$mergeObjects": [{"a": 1, "b": 1}, None, {"b": 2, "c": 3}]}), {"a": 1, "b": 2, "c": 3})
    assert_same(ev({"$mergeObjects": "$nope"}), {})
    assert error_code({"$mergeObjects": [{"a": 1}, 1]}) == 40400
    doc = {"price.usd": 45, "$price": 3, "a": {"b": 1}}
    assert ev({"$getField": "price.usd"}, doc) == 45
    assert ev({"$getField": {"$literal": "$price"}}, doc) == 3
    assert ev({"$getField": {"field": "b", "input": "$a"}}, doc) == 1
    assert ev({"$getField": {"field": "b", "input": None}}, doc) is None
    assert_same(ev({"$setField": {"field": "price.usd", "input": "$$ROOT", "value": 49.99}}, {"price.usd": 45}),
                {"price.usd": 49.99})
    assert_same(ev({"$setField": {"field": "x", "input": {"x": 1, "y": 2}, "value": "$$REMOVE"}}), {"y": 2})
    assert_same(ev({"$unsetField": {"field": "x", "input": {"x": 1, "y": 2}}}), {"y": 2})


# ---------------------------------------------------------------------------
# Types and conversion
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("value,name", [
    ("a", "string"), (1, "int"), (2**40, "long"), (Int64(1), "long"), (1.5, "double"),
    (Decimal128("1"), "decimal"), (None, "null"), ([1], "array"), ({"a": 1}, "object"),
    (True, "bool"), (D(2020, 1, 1), "date"), (ObjectId("5ab9cbfa31c2ab715d42129e"), "objectId"),
    (Regex("a"), "regex"),
])
def test_type(value, name):
    assert ev({"$type": {"$literal": value}}) == name


def test_type_of_missing():
    assert ev({"$type": "$nope"}) == "missing"
    assert ev({"$isNumber": "$nope"}) is False
    assert ev({"$isNumber": Int64(1)}) is True
    assert ev({"$isNumber": "1"}) is False


@pytest.mark.parametrize("expr,expected", [
    ({"$toBool": 0}, False), ({"$toBool": "false"}, True), ({"$toBool": ""}, True),
    ({"$toBool": None}, None), ({"$toBool": Decimal128("0")}, False),
    ({"$toInt": 5.7}, 5), ({"$toInt": -5.7}, -5), ({"$toInt": "100"}, 100), ({"$toInt": True}, 1),
    ({"$toInt": Int64(5)}, 5),
    ({"$toLong": 5}, Int64(5)), ({"$toLong": D(2018, 3, 27, 5, 4, 47, 890000)}, Int64(1522127087890)),
    ({"$toLong": "-100"}, Int64(-100)),
    ({"$toDouble": "5"}, 5.0), ({"$toDouble": True}, 1.0), ({"$toDouble": D(1970, 1, 1, 0, 0, 1)}, 1000.0),
    ({"$toDouble": "1.5e3"}, 1500.0),
    ({"$toDecimal": 2.5}, Decimal128("2.50000000000000")), ({"$toDecimal": 5}, Decimal128("5")),
    ({"$toDecimal": "-5.5"}, Decimal128("-5.5")), ({"$toDecimal": True}, Decimal128("1")),
    ({"$toString": 2.5}, "2.5"), ({"$toString": 1.0}, "1"), ({"$toString": Int64(5)}, "5"),
    ({"$toString": 3.14159265}, "3.14159"), ({"$toString": 1e20}, "1e+20"), ({"$toString": -0.0}, "-0"),
    ({"$toString": float("inf")}, "Infinity"), ({"$toString": 123456789.0}, "1.23457e+08"),
    ({"$toString": True}, "true"), ({"$toString": ObjectId("5ab9cbfa31c2ab715d42129e")},
                                    "5ab9cbfa31c2ab715d42129e"),
    ({"$toString": D(2018, 3, 27, 5, 4, 47, 890000)}, "2018-03-27T05:04:47.890Z"),
    ({"$toString": Decimal128("2.50")}, "2.50"),
    ({"$toDate": Int64(1522127087890)}, D(2018, 3, 27, 5, 4, 47, 890000)),
    ({"$toDate": 120000000000.5}, D(1973, 10, 20, 21, 20)),
    ({"$toDate": "2018-03-03"}, D(2018, 3, 3)),
    ({"$toDate": "2018-03-20 11:00:06 +0500"}, D(2018, 3, 20, 6, 0, 6)),
    ({"$toDate": ObjectId("5ab9cbfa31c2ab715d42129e")}, D(2018, 3, 27, 4, 43, 38)),
    ({"$toBool": [1]}, True), ({"$toBool": {}}, True),
    ({"$toObjectId": "5ab9cbfa31c2ab715d42129e"}, ObjectId("5ab9cbfa31c2ab715d42129e")),
    ({"$convert": {"input": "abc", "to": "int", "onError": "bad"}}, "bad"),
    ({"$convert": {"input": None, "to": "int", "onNull": 0}}, 0),
    ({"$convert": {"input": "$nope", "to": "int"}}, None),
    ({"$convert": {"input": "5", "to": 16}}, 5),
    ({"$convert": {"input": 1, "to": "bool"}}, True),
])
def test_conversions(expr, expected):
    assert_same(ev(expr), expected)


@pytest.mark.parametrize("expr", [
    {"$toInt": "abc"}, {"$toInt": "1.5"}, {"$toInt": 2**31 + 0.0}, {"$toInt": float("nan")},
    {"$toObjectId": "abc"}, {"$toDate": 5}, {"$toInt": [[1]]}, {"$toDouble": "x"},
    {"$convert": {"input": "abc", "to": "int"}},
])
def test_conversion_failures_are_code_241(expr):
    assert error_code(expr) == 241


def test_convert_unknown_target():
    assert error_code({"$convert": {"input": 1, "to": "nope"}}) == 2


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

DATE_DOC = {"date": D(2014, 1, 1, 8, 15, 39, 736000)}


@pytest.mark.parametrize("op,expected", [
    # The $year/$month/... docs example on ISODate("2014-01-01T08:15:39.736Z").
    ("$year", 2014), ("$month", 1), ("$dayOfMonth", 1), ("$hour", 8), ("$minute", 15), ("$second", 39),
    ("$millisecond", 736), ("$dayOfYear", 1), ("$dayOfWeek", 4), ("$week", 0),
    ("$isoWeek", 1), ("$isoWeekYear", 2014), ("$isoDayOfWeek", 3),
])
def test_date_parts(op, expected):
    assert_same(ev({op: "$date"}, DATE_DOC), expected)


def test_date_parts_with_timezone_and_null():
    assert ev({"$hour": {"date": "$date", "timezone": "America/Chicago"}}, DATE_DOC) == 2
    assert ev({"$hour": {"date": "$date", "timezone": "+05:30"}}, DATE_DOC) == 13
    assert ev({"$minute": {"date": "$date", "timezone": "+0530"}}, DATE_DOC) == 45
    assert ev({"$year": "$nope"}) is None
    assert ev({"$year": ObjectId("5ab9cbfa31c2ab715d42129e")}) == 2018
    assert error_code({"$year": "abc"}) == 16006
    assert error_code({"$hour": {"date": "$date", "timezone": "Mars/Base"}}, DATE_DOC) == 40485
    assert error_code({"$hour": {"date": "$date", "tz": "UTC"}}) == 40535


def test_iso_week_year_boundary():
    # 2016-01-01 is a Friday: ISO week 53 of 2015.
    doc = {"date": D(2016, 1, 1)}
    assert ev({"$isoWeek": "$date"}, doc) == 53
    assert ev({"$isoWeekYear": "$date"}, doc) == 2015
    assert ev({"$isoDayOfWeek": "$date"}, doc) == 5
    assert ev({"$week": "$date"}, doc) == 0


def test_date_to_string_docs_example():
    doc = DATE_DOC
    assert ev({"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}}, doc) == "2014-01-01"
    assert ev({"$dateToString": {"format": "%H:%M:%S:%L%z", "date": "$date"}}, doc) == "08:15:39:736+0000"
    assert ev({"$dateToString": {"format": "%H:%M:%S:%L%z", "date": "$date", "timezone": "America/New_York"}},
              doc) == "03:15:39:736-0500"
    assert ev({"$dateToString": {"format": "%Z", "date": "$date", "timezone": "+04:45"}}, doc) == "285"
    assert ev({"$dateToString": {"format": "%j %w %u %U %V %G", "date": "$date"}}, doc) == "001 4 3 00 01 2014"
    assert ev({"$dateToString": {"date": "$date"}}, doc) == "2014-01-01T08:15:39.736Z"
    assert ev({"$dateToString": {"date": "$date", "timezone": "UTC"}}, doc) == "2014-01-01T08:15:39.736Z"
    # 7.0 keeps the "Z" of the default format in any timezone (jstests date_to_string.js; changed in 7.1).
    assert ev({"$dateToString": {"date": "$date", "timezone": "+01:00"}}, doc) == "2014-01-01T09:15:39.736Z"
    assert ev({"$dateToString": {"date": "$nope", "onNull": "none"}}, doc) == "none"
    assert ev({"$dateToString": {"date": "$nope"}}, doc) is None
    assert error_code({"$dateToString": {"date": "$date", "format": "%Q"}}) == 18536
    assert error_code({"$dateToString": {"date": "$date", "format": "abc%"}}) == 18535


def test_date_from_string():
    assert_same(ev({"$dateFromString": {"dateString": "2017-02-08T12:10:40.787"}}),
                D(2017, 2, 8, 12, 10, 40, 787000))
    assert_same(ev({"$dateFromString": {"dateString": "2017-02-08T12:10:40.787",
                                        "timezone": "America/New_York"}}), D(2017, 2, 8, 17, 10, 40, 787000))
    assert_same(ev({"$dateFromString": {"dateString": "2017-02-08T12:10:40.787Z"}}),
                D(2017, 2, 8, 12, 10, 40, 787000))
    assert_same(ev({"$dateFromString": {"dateString": "2017-02-08T12:10:40+05:00"}}), D(2017, 2, 8, 7, 10, 40))
    assert_same(ev({"$dateFromString": {"dateString": "15-06-2018", "format": "%d-%m-%Y"}}), D(2018, 6, 15))
    assert_same(ev({"$dateFromString": {"dateString": "2018-06-15 04:05", "format": "%Y-%m-%d %H:%M"}}),
                D(2018, 6, 15, 4, 5))
    assert ev({"$dateFromString": {"dateString": "nope", "onError": "bad"}}) == "bad"
    assert ev({"$dateFromString": {"dateString": None, "onNull": "null!"}}) == "null!"
    assert error_code({"$dateFromString": {"dateString": "nope"}}) == 241


def test_date_from_parts_and_to_parts():
    assert_same(ev({"$dateFromParts": {"year": 2017, "month": 2, "day": 8, "hour": 12}}), D(2017, 2, 8, 12))
    assert_same(ev({"$dateFromParts": {"isoWeekYear": 2017, "isoWeek": 6, "isoDayOfWeek": 3, "hour": 12}}),
                D(2017, 2, 8, 12))
    assert_same(ev({"$dateFromParts": {"year": 2016, "month": 12, "day": 31, "hour": 23, "minute": 46,
                                       "second": 12, "timezone": "America/New_York"}}), D(2017, 1, 1, 4, 46, 12))
    # Out-of-range values carry over (docs: month 14 -> February of the next year).
    assert_same(ev({"$dateFromParts": {"year": 2017, "month": 14, "day": 1, "hour": 12}}), D(2018, 2, 1, 12))
    assert_same(ev({"$dateFromParts": {"year": 2017, "month": 0, "day": 1}}), D(2016, 12, 1))
    assert_same(ev({"$dateFromParts": {"year": 2017, "month": 2, "day": 0}}), D(2017, 1, 31))
    assert error_code({"$dateFromParts": {"year": 0}}) == 40523
    assert error_code({"$dateFromParts": {"year": 2017, "isoWeek": 1}}) == 40489
    assert error_code({"$dateFromParts": {"month": 1}}) == 40516
    assert ev({"$dateFromParts": {"year": "$nope"}}) is None
    parts = ev({"$dateToParts": {"date": D(2017, 1, 1, 1, 29, 9, 123000)}})
    assert_same(parts, {"year": 2017, "month": 1, "day": 1, "hour": 1, "minute": 29, "second": 9,
                        "millisecond": 123})
    parts = ev({"$dateToParts": {"date": D(2017, 1, 1, 1, 29, 9, 123000), "timezone": "America/New_York"}})
    assert_same(parts, {"year": 2016, "month": 12, "day": 31, "hour": 20, "minute": 29, "second": 9,
                        "millisecond": 123})
    parts = ev({"$dateToParts": {"date": D(2017, 1, 1, 1, 29, 9, 123000), "iso8601": True}})
    assert_same(parts, {"isoWeekYear": 2016, "isoWeek": 52, "isoDayOfWeek": 7, "hour": 1, "minute": 29,
                        "second": 9, "millisecond": 123})


def test_date_add_subtract_diff_trunc():
    assert_same(ev({"$dateAdd": {"startDate": D(2020, 10, 31, 12, 10, 5), "unit": "month", "amount": 1}}),
                D(2020, 11, 30, 12, 10, 5))
    assert_same(ev({"$dateAdd": {"startDate": D(2021, 3, 31), "unit": "quarter", "amount": -1}}),
                D(2020, 12, 31))
    assert_same(ev({"$dateAdd": {"startDate": D(2020, 12, 31, 12, 10, 5), "unit": "day", "amount": 3}}),
                D(2021, 1, 3, 12, 10, 5))
    assert_same(ev({"$dateSubtract": {"startDate": D(2021, 1, 1, 0, 0), "unit": "hour", "amount": 1}}),
                D(2020, 12, 31, 23, 0))
    # Days added in a zone with daylight saving keep the wall-clock time.
    assert_same(ev({"$dateAdd": {"startDate": D(2021, 3, 13, 17), "unit": "day", "amount": 1,
                                 "timezone": "America/New_York"}}), D(2021, 3, 14, 16))
    assert ev({"$dateAdd": {"startDate": None, "unit": "day", "amount": 1}}) is None
    assert_same(ev({"$dateDiff": {"startDate": D(2020, 12, 31, 23), "endDate": D(2021, 1, 1, 1), "unit": "year"}}),
                Int64(1))
    assert_same(ev({"$dateDiff": {"startDate": D(2021, 1, 1), "endDate": D(2021, 3, 5), "unit": "day"}}),
                Int64(63))
    assert_same(ev({"$dateDiff": {"startDate": D(2021, 3, 5), "endDate": D(2021, 1, 1), "unit": "month"}}),
                Int64(-2))
    # Weeks count Sunday boundaries by default; 2021-01-02 is a Saturday.
    assert_same(ev({"$dateDiff": {"startDate": D(2021, 1, 2), "endDate": D(2021, 1, 3), "unit": "week"}}),
                Int64(1))
    assert_same(ev({"$dateDiff": {"startDate": D(2021, 1, 2), "endDate": D(2021, 1, 3), "unit": "week",
                                  "startOfWeek": "monday"}}), Int64(0))
    assert_same(ev({"$dateTrunc": {"date": D(2020, 11, 18, 14, 30, 5), "unit": "month"}}), D(2020, 11, 1))
    assert_same(ev({"$dateTrunc": {"date": D(2020, 11, 18, 14, 30, 5), "unit": "hour", "binSize": 2}}),
                D(2020, 11, 18, 14))
    assert_same(ev({"$dateTrunc": {"date": D(2020, 11, 18, 14, 30, 5), "unit": "quarter"}}), D(2020, 10, 1))
    assert_same(ev({"$dateTrunc": {"date": D(2020, 11, 18, 14, 30, 5), "unit": "week"}}), D(2020, 11, 15))
    assert_same(ev({"$dateTrunc": {"date": D(2020, 11, 18, 14, 30, 5), "unit": "week",
                                   "startOfWeek": "Monday"}}), D(2020, 11, 16))
    assert_same(ev({"$dateTrunc": {"date": D(2020, 11, 18, 14, 30, 5), "unit": "day",
                                   "timezone": "+05:00"}}), D(2020, 11, 17, 19))
    assert error_code({"$dateTrunc": {"date": D(2020, 1, 1), "unit": "fortnight"}}) == 5439014
    assert error_code({"$dateAdd": {"startDate": 1, "unit": "day", "amount": 1}}) == 5166403


# ---------------------------------------------------------------------------
# Accumulators
# ---------------------------------------------------------------------------


def accumulate(name, arg, docs):
    state = compile_accumulator(name, arg).new()
    for d in docs:
        state.add(d, {})
    return state.result()


SALES = [{"item": "abc", "price": Decimal128("10"), "quantity": 2},
         {"item": "jkl", "price": Decimal128("20"), "quantity": 1},
         {"item": "xyz", "price": Decimal128("5"), "quantity": 10}]


def test_accumulators():
    assert_same(accumulate("$sum", "$quantity", SALES), 13)
    assert_same(accumulate("$sum", 1, SALES), 3)
    assert_same(accumulate("$sum", {"$multiply": ["$price", "$quantity"]}, SALES), Decimal128("90"))
    assert_same(accumulate("$sum", "$x", [{"x": 2147483647}, {"x": 1}]), Int64(2147483648))
    assert_same(accumulate("$sum", "$x", [{"x": "a"}, {}]), 0)
    assert_same(accumulate("$avg", "$quantity", SALES), 13 / 3)
    assert accumulate("$avg", "$nope", SALES) is None
    assert_same(accumulate("$avg", "$price", SALES), Decimal128("11.66666666666666666666666666666667"))
    assert_same(accumulate("$max", "$quantity", SALES), 10)
    assert_same(accumulate("$min", "$x", [{"x": None}, {"x": 3}, {}]), 3)
    assert accumulate("$min", "$x", [{}, {"x": None}]) is None
    assert_same(accumulate("$first", "$item", SALES), "abc")
    assert_same(accumulate("$last", "$item", SALES), "xyz")
    assert accumulate("$first", "$nope", SALES) is None
    assert_same(accumulate("$push", "$x", [{"x": 1}, {}, {"x": None}]), [1, None])
    assert_same(accumulate("$addToSet", "$x", [{"x": 1}, {"x": 1.0}, {"x": [1]}, {}]), [1, [1]])
    assert_same(accumulate("$count", {}, SALES), 3)
    assert_same(accumulate("$mergeObjects", "$q", [{"q": {"a": 1}}, {"q": None}, {"q": {"a": 2, "b": 1}}]),
                {"a": 2, "b": 1})
    assert_same(accumulate("$stdDevPop", "$q", [{"q": 2}, {"q": 4}, {"q": 4}, {"q": 4}, {"q": 5}, {"q": 5},
                                                  {"q": 7}, {"q": 9}]), 2.0)
    assert accumulate("$stdDevSamp", "$q", [{"q": 1}]) is None


def test_n_accumulators():
    games = [{"playerId": "PlayerA", "score": 31}, {"playerId": "PlayerB", "score": 33},
             {"playerId": "PlayerC", "score": 99}, {"playerId": "PlayerD", "score": 1}]
    assert_same(accumulate("$top", {"output": ["$playerId", "$score"], "sortBy": {"score": -1}}, games),
                ["PlayerC", 99])
    assert_same(accumulate("$bottom", {"output": ["$playerId", "$score"], "sortBy": {"score": -1}}, games),
                ["PlayerD", 1])
    assert_same(accumulate("$topN", {"n": 3, "output": ["$playerId", "$score"], "sortBy": {"score": -1}},
                           games), [["PlayerC", 99], ["PlayerB", 33], ["PlayerA", 31]])
    assert_same(accumulate("$bottomN", {"n": 3, "output": ["$playerId", "$score"], "sortBy": {"score": -1}},
                           games), [["PlayerB", 33], ["PlayerA", 31], ["PlayerD", 1]])
    # The $bottom/$bottomN docs example: missing and null scores tie; the earlier document wins.
    players = [{"playerId": "PlayerA", "score": 1}, {"playerId": "PlayerB", "score": 2},
               {"playerId": "PlayerC", "score": 3}, {"playerId": "PlayerD"},
               {"playerId": "PlayerE", "score": None}]
    assert_same(accumulate("$bottom", {"output": ["$playerId", "$score"], "sortBy": {"score": -1}}, players),
                ["PlayerD", None])
    assert_same(accumulate("$bottomN", {"output": ["$playerId", "$score"], "sortBy": {"score": -1}, "n": 3},
                           players), [["PlayerA", 1], ["PlayerD", None], ["PlayerE", None]])
    assert_same(accumulate("$firstN", {"input": "$score", "n": 2}, games), [31, 33])
    assert_same(accumulate("$lastN", {"input": "$score", "n": 2}, games), [99, 1])
    assert_same(accumulate("$maxN", {"input": "$score", "n": 2}, games), [99, 33])
    assert_same(accumulate("$minN", {"input": "$score", "n": 2}, games + [{"score": None}]), [1, 31])
    assert_same(accumulate("$firstN", {"input": "$nope", "n": 2}, games), [None, None])
    with pytest.raises(ServerError) as info:
        accumulate("$firstN", {"input": "$score", "n": 0}, games)
    assert info.value.code == 5787908


def test_accumulator_errors():
    with pytest.raises(ServerError) as info:
        compile_accumulator("$foo", 1)
    assert info.value.code == 15952
    with pytest.raises(ServerError) as info:
        compile_accumulator("$sum", [1, 2])
    assert info.value.code == 40237
    with pytest.raises(ServerError):
        compile_accumulator("$accumulator", {"init": "function() {}"})


def test_percentile_and_median_docs_example():
    scores = [{"studentId": "2345", "test01": 62, "test02": 81, "test03": 80},
              {"studentId": "2356", "test01": 60, "test02": 83, "test03": 79},
              {"studentId": "2358", "test01": 67, "test02": 82, "test03": 78},
              {"studentId": "2367", "test01": 64, "test02": 72, "test03": 77},
              {"studentId": "2369", "test01": 60, "test02": 53, "test03": 72}]
    assert_same(accumulate("$percentile", {"input": "$test01", "p": [0.5, 0.75, 0.9, 0.95],
                                           "method": "approximate"}, scores), [62.0, 64.0, 67.0, 67.0])
    assert_same(accumulate("$median", {"input": "$test01", "method": "approximate"}, scores), 62.0)
    assert_same(ev({"$percentile": {"input": ["$test01", "$test02", "$test03"], "p": [0.5, 0.95],
                                    "method": "approximate"}}, scores[0]), [80.0, 81.0])
    assert_same(ev({"$median": {"input": ["$test01", "$test02", "$test03"], "method": "approximate"}},
                   scores[0]), 80.0)
    assert ev({"$median": {"input": "$nope", "method": "approximate"}}) is None
    assert error_code({"$percentile": {"input": "$a", "p": [1.5], "method": "approximate"}}) == 7750301


@pytest.mark.parametrize("expr,expected", [
    # jstests/aggregation/expressions/round_trunc.js
    ({"$trunc": Int64(4)}, Int64(4)), ({"$trunc": float("inf")}, float("inf")), ({"$trunc": 0.9}, 0.0),
    ({"$trunc": -1.2}, -1.0), ({"$trunc": Decimal128("-1.6")}, Decimal128("-1")),
    ({"$round": 0.9}, 1.0), ({"$round": -1.2}, -1.0), ({"$round": Decimal128("-1.6")}, Decimal128("-2")),
    ({"$trunc": [1.298, 0]}, 1.0), ({"$trunc": [1.298, 1]}, 1.2), ({"$trunc": [23.298, -1]}, 20.0),
    ({"$trunc": [Decimal128("23.298"), -1]}, Decimal128("2E+1")), ({"$trunc": [1.298, 100]}, 1.298),
    ({"$trunc": [Decimal128("1.298912343250054252245154325"), Int64(20)]},
     Decimal128("1.29891234325005425224")),
    ({"$trunc": [Decimal128("1.298"), Decimal128("100")]}, Decimal128("1.298000000000000000000000000000000")),
    ({"$round": [1.298, 1]}, 1.3), ({"$round": [Decimal128("1.298"), 1]}, Decimal128("1.3")),
    ({"$round": [Decimal128("1.298912343250054252245154325"), Int64(20)]},
     Decimal128("1.29891234325005425225")),
    ({"$round": [2147483647, -1]}, Int64(2147483650)),
    ({"$round": [Decimal128("NaN"), 0]}, Decimal128("NaN")),
    ({"$round": [2.675, 2]}, 2.67),   # the double's exact value is below 2.675
    ({"$round": [0.5, 0]}, 0.0), ({"$round": [1.5, 0]}, 2.0),
])
def test_round_trunc_server_cases(expr, expected):
    actual = ev(expr)
    if isinstance(expected, Decimal128) and expected.to_decimal().is_nan():
        assert actual.to_decimal().is_nan()
    else:
        assert_same(actual, expected)


@pytest.mark.parametrize("expr,code", [
    ({"$round": [Int64(9223372036854775806), -1]}, 51080), ({"$round": [1, 2, 3]}, 28667),
    ({"$round": "string"}, 51081), ({"$trunc": "string"}, 51081), ({"$round": [1, Int64(101)]}, 51083),
    ({"$trunc": [1, -21]}, 51083), ({"$round": [1, Decimal128("1.4")]}, 51082), ({"$trunc": [1, 10.5]}, 51082),
])
def test_round_trunc_server_errors(expr, code):
    assert error_code(expr) == code


def test_add_is_plain_left_to_right_double_addition():
    # jstests/aggregation/expressions/add.js: $add does not use $sum's compensated summation.
    values = [1e16, 1.0, -1e16, 1.0]
    doc = {f"f{i}": v for i, v in enumerate(values)}
    paths = [f"$f{i}" for i in range(len(values))]
    assert_same(ev({"$add": paths}, doc), ((1e16 + 1.0) - 1e16) + 1.0)
    assert_same(ev({"$sum": paths}, doc), 2.0)
    assert_same(ev({"$add": []}), 0)


def test_arith_overflow_server_cases():
    # jstests/aggregation/expressions/arith_overflow.js
    assert_same(ev({"$add": [2000000000, 2000000000]}), Int64(4000000000))
    assert_same(ev({"$add": [Int64(9 * 10**18), Int64(9 * 10**18)]}), 1.8e19)
    assert_same(ev({"$subtract": [2000000000, -2000000000]}), Int64(4000000000))
    assert_same(ev({"$subtract": [Int64(9 * 10**18), Int64(-9 * 10**18)]}), 1.8e19)
    assert_same(ev({"$multiply": [2000000000, -2000000000]}), Int64(-4 * 10**18))
    assert_same(ev({"$multiply": [Int64(9 * 10**18), Int64(-9 * 10**18)]}), -8.1e37)


SOME_DATE = D(2020, 11, 1, 18, 23, 36)


@pytest.mark.parametrize("expr,doc,expected", [
    # jstests/aggregation/expressions/date_trunc.js
    ({"$dateTrunc": {"date": "$date", "unit": "$unit", "binSize": "$binSize", "timezone": "$timeZone"}},
     {"date": D(2021, 12, 1, 18, 23, 36), "unit": "hour", "binSize": 4, "timeZone": "America/New_York"},
     D(2021, 12, 1, 17)),
    ({"$dateTrunc": {"date": "$date", "unit": "week", "binSize": 2, "timezone": "America/New_York",
                     "startOfWeek": "mon"}}, {"date": D(2000, 1, 30, 18)}, D(2000, 1, 17, 5)),
    ({"$dateTrunc": {"date": "$_id", "unit": "minute", "binSize": 10}},
     {"_id": ObjectId("507c7f79bcf86cd7994f6c0e")}, D(2012, 10, 15, 21, 20)),
    ({"$dateTrunc": {"date": "$date", "unit": "$unit", "binSize": "$binSize", "timezone": "$timeZone"}},
     {"unit": "H", "binSize": "string", "timeZone": 1}, None),
    ({"$dateTrunc": {"date": "$date", "unit": "$unit", "binSize": "$binSize", "timezone": "$timeZone"}},
     {"date": 1, "unit": "century", "binSize": "1"}, None),
    ({"$dateTrunc": {"date": "$date", "unit": "minute", "binSize": Decimal128("15")}},
     {"date": D(2020, 1, 30, 18, 59)}, D(2020, 1, 30, 18, 45)),
    ({"$dateTrunc": {"date": "$date", "unit": "year", "startOfWeek": 1}}, {"date": D(2020, 1, 30, 18, 59)},
     D(2020, 1, 1)),
    # jstests/aggregation/expressions/date_diff.js
    ({"$dateDiff": {"startDate": SOME_DATE, "endDate": D(2020, 11, 2), "unit": "hour",
                    "timezone": "America/New_York", "startOfWeek": "IGNORED"}}, {}, Int64(6)),
    ({"$dateDiff": {"startDate": "$s", "endDate": "$e", "unit": "$u", "timezone": "$tz"}},
     {"e": 1, "u": "century", "tz": "INVALID"}, None),
    ({"$dateDiff": {"startDate": D(2021, 1, 24, 18, 23, 36), "endDate": D(2021, 1, 25, 2, 23, 36),
                    "unit": "week", "timezone": "GMT", "startOfWeek": "MONDAY"}}, {}, Int64(1)),
    ({"$dateDiff": {"startDate": D(2021, 1, 17, 5), "endDate": D(2021, 1, 17, 4, 59), "unit": "week",
                    "timezone": "America/New_York", "startOfWeek": "sunday"}}, {}, Int64(-1)),
    ({"$dateDiff": {"startDate": D(2021, 1, 24, 18, 23, 36), "endDate": D(2021, 1, 25, 2, 23, 36),
                    "unit": "week"}}, {}, Int64(0)),
    ({"$dateDiff": {"startDate": SOME_DATE, "endDate": SOME_DATE, "unit": "hour", "timezone": "GMT",
                    "startOfWeek": 1}}, {}, Int64(0)),
    # jstests/aggregation/expressions/date_add_subtract.js
    ({"$dateAdd": {"startDate": D(2020, 10, 24, 18, 10), "unit": "hour", "amount": 24,
                   "timezone": "Europe/Paris"}}, {}, D(2020, 10, 25, 18, 10)),
    ({"$dateAdd": {"startDate": D(2020, 10, 24, 18, 10), "unit": "day", "amount": 1,
                   "timezone": "Europe/Paris"}}, {}, D(2020, 10, 25, 19, 10)),
    ({"$dateAdd": {"startDate": D(2021, 1, 30, 23, 30), "unit": "month", "amount": 1,
                   "timezone": "Europe/Paris"}}, {}, D(2021, 2, 27, 23, 30)),
    ({"$dateAdd": {"startDate": D(2020, 12, 31, 12, 10, 5), "unit": "millisecond", "amount": 1050}}, {},
     D(2020, 12, 31, 12, 10, 6, 50000)),
    ({"$dateSubtract": {"startDate": D(2020, 12, 31, 12, 10, 5), "unit": "month", "amount": 3,
                        "timezone": "Europe/Paris"}}, {}, D(2020, 9, 30, 11, 10, 5)),
    ({"$dateSubtract": {"startDate": D(2021, 1, 31, 3), "unit": "month", "amount": 2}}, {}, D(2020, 11, 30, 3)),
    ({"$dateSubtract": {"startDate": D(2021, 1, 31, 3), "unit": "month", "amount": 2,
                        "timezone": "America/New_York"}}, {}, D(2020, 12, 1, 3)),
])
def test_date_arithmetic_server_cases(expr, doc, expected):
    assert_same(ev(expr, doc), expected)


@pytest.mark.parametrize("expr,doc,code", [
    ({"$dateTrunc": "A"}, {}, 5439007),
    ({"$dateTrunc": {"endDate": 1}}, {}, 5439008),
    ({"$dateTrunc": {"unit": "week"}}, {}, 5439009),
    ({"$dateTrunc": {"date": SOME_DATE}}, {}, 5439010),
    ({"$dateTrunc": {"date": "$d", "unit": "hour"}}, {"d": "string"}, 5439012),
    ({"$dateTrunc": {"date": SOME_DATE, "unit": "$u"}}, {"u": 1}, 5439013),
    ({"$dateTrunc": {"date": SOME_DATE, "unit": "$u"}}, {"u": "century"}, 5439014),
    ({"$dateTrunc": {"date": SOME_DATE, "unit": "hour", "binSize": "$b"}}, {"b": "Number"}, 5439017),
    ({"$dateTrunc": {"date": SOME_DATE, "unit": "hour", "binSize": "$b"}}, {"b": 0}, 5439018),
    ({"$dateTrunc": {"date": SOME_DATE, "unit": "hour", "binSize": "$b"}}, {"b": 2.5}, 5439017),
    ({"$dateTrunc": {"date": SOME_DATE, "unit": "hour", "timezone": "$t"}}, {"t": 1}, 40517),
    ({"$dateTrunc": {"date": SOME_DATE, "unit": "week", "startOfWeek": "$w"}}, {"w": 1}, 5439015),
    ({"$dateTrunc": {"date": SOME_DATE, "unit": "week", "startOfWeek": "$w"}}, {"w": "FRIDIE"}, 5439016),
    ({"$dateDiff": {"startDate": "$s", "endDate": SOME_DATE, "unit": "hour"}}, {"s": "string"}, 5166307),
    ({"$dateDiff": {"startDate": SOME_DATE, "endDate": SOME_DATE, "unit": "$u"}}, {"u": 5}, 5439013),
    ({"$dateDiff": {"startDate": SOME_DATE, "endDate": SOME_DATE, "unit": "$u"}}, {"u": "decade"}, 5439014),
    ({"$dateDiff": {"startDate": SOME_DATE, "endDate": SOME_DATE, "unit": "hour", "timezone": "$t"}},
     {"t": "America/Invalid"}, 40485),
    ({"$dateAdd": {"unit": "second", "amount": 120}}, {}, 5166402),
    ({"$dateSubtract": {"startDate": SOME_DATE, "amount": 1}}, {}, 5166402),
    ({"$dateAdd": {"startDate": SOME_DATE, "units": "day", "amount": 1}}, {}, 5166401),
    ({"$dateSubtract": {"startDate": "myBirthDate", "unit": "year", "amount": 10}}, {}, 5166403),
    ({"$dateAdd": {"startDate": SOME_DATE, "unit": 1, "amount": 10}}, {}, 5166404),
    ({"$dateAdd": {"startDate": SOME_DATE, "unit": "epoch", "amount": 10}}, {}, 9),
    ({"$dateSubtract": {"startDate": SOME_DATE, "unit": "year", "amount": 1.001}}, {}, 5166405),
    ({"$dateSubtract": {"startDate": SOME_DATE, "unit": "year", "amount": 1, "timezone": "Unknown"}}, {}, 40485),
])
def test_date_arithmetic_server_errors(expr, doc, code):
    assert error_code(expr, doc) == code


@pytest.mark.parametrize("expr,expected", [
    # jstests/aggregation/expressions/expression_mod.js: the types matter.
    ({"$mod": [138.5, 3.0]}, 0.5), ({"$mod": [138.5, Int64(3)]}, 0.5), ({"$mod": [138.5, 3]}, 0.5),
    ({"$mod": [8, 3.25]}, 1.5), ({"$mod": [8, 3.0]}, 2), ({"$mod": [8, 3]}, 2), ({"$mod": [8, Int64(3)]}, Int64(2)),
    ({"$mod": [Int64(8), 3.25]}, 1.5), ({"$mod": [Int64(8), 3.0]}, Int64(2)),
    ({"$mod": [Int64(500000000000), 450000000000.0]}, 50000000000.0), ({"$mod": [Int64(8), 3]}, Int64(2)),
    ({"$mod": [Int64(800000000000), Int64(300000000000)]}, Int64(200000000000)),
    ({"$mod": [10, float("inf")]}, 10.0), ({"$mod": [10, float("nan")]}, float("nan")),
])
def test_mod_server_cases(expr, expected):
    assert_same(ev(expr), expected)


def test_set_field_with_dollar_prefixed_literal_name():
    # The dots_and_dollars CRUD spec tests: {$setField: {field: {$literal: "$a"}, ...}}.
    assert_same(ev({"$setField": {"field": {"$literal": "$a"}, "value": 1, "input": "$$ROOT"}}, {"_id": 1}),
                {"_id": 1, "$a": 1})
    assert_same(ev({"$setField": {"field": "a.b", "value": 1, "input": {}}}), {"a.b": 1})
    assert error_code({"$setField": {"field": "$a", "value": 1, "input": {}}}) == 4161108


@pytest.mark.parametrize("expr", [
    {"$add": [1, "$x"]}, {"$subtract": ["$x", 1]}, {"$multiply": [2, "$x"]}, {"$divide": ["$x", 2]},
    {"$mod": ["$x", 2]}, {"$abs": "$x"}, {"$ceil": "$x"}, {"$floor": "$x"}, {"$sqrt": "$x"}, {"$exp": "$x"},
    {"$ln": "$x"}, {"$log10": "$x"}, {"$log": ["$x", 10]}, {"$pow": ["$x", 2]}, {"$round": "$x"},
    {"$trunc": ["$x", 1]}, {"$concat": ["a", "$x"]}, {"$split": ["$x", ","]}, {"$trim": {"input": "$x"}},
    {"$indexOfBytes": ["$x", "a"]}, {"$indexOfCP": ["$x", "a"]}, {"$regexFind": {"input": "$x", "regex": "a"}},
    {"$replaceAll": {"input": "$x", "find": "a", "replacement": "b"}}, {"$arrayElemAt": ["$x", 0]},
    {"$concatArrays": [[1], "$x"]}, {"$filter": {"input": "$x", "cond": True}}, {"$map": {"input": "$x", "in": 1}},
    {"$reduce": {"input": "$x", "initialValue": 0, "in": 1}}, {"$reverseArray": "$x"}, {"$slice": ["$x", 1]},
    {"$zip": {"inputs": ["$x", [1]]}}, {"$arrayToObject": "$x"}, {"$objectToArray": "$x"},
    {"$sortArray": {"input": "$x", "sortBy": 1}}, {"$setUnion": [[1], "$x"]}, {"$setIntersection": ["$x", [1]]},
    {"$setDifference": ["$x", [1]]}, {"$first": "$x"}, {"$last": "$x"}, {"$indexOfArray": ["$x", 1]},
    {"$year": "$x"}, {"$dayOfWeek": "$x"}, {"$isoWeek": "$x"}, {"$dateToString": {"date": "$x"}},
    {"$dateFromString": {"dateString": "$x"}}, {"$dateToParts": {"date": "$x"}},
    {"$dateFromParts": {"year": "$x"}}, {"$dateAdd": {"startDate": "$x", "unit": "day", "amount": 1}},
    {"$dateDiff": {"startDate": "$x", "endDate": "$x", "unit": "day"}},
    {"$dateTrunc": {"date": "$x", "unit": "day"}}, {"$toInt": "$x"}, {"$toString": "$x"},
    {"$toDate": "$x"}, {"$toBool": "$x"}, {"$convert": {"input": "$x", "to": "double"}},
    {"$getField": {"field": "a", "input": "$x"}}, {"$setField": {"field": "a", "input": "$x", "value": 1}},
    {"$avg": "$x"}, {"$max": "$x"}, {"$min": "$x"}, {"$stdDevPop": "$x"}, {"$sin": "$x"}, {"$bsonSize": "$x"},
])
@pytest.mark.parametrize("value", [None, "missing"])
def test_null_and_missing_propagate_to_null(expr, value):
    doc = {} if value == "missing" else {"x": None}
    result = ev(expr, doc)
    if "$getField" in expr and value == "missing":
        assert result is MISSING  # $getField of a missing input is missing
    else:
        assert result is None


@pytest.mark.parametrize("expr,expected", [
    # Operators that do not answer null for a null/missing argument.
    ({"$substrCP": ["$x", 0, 1]}, ""), ({"$toUpper": "$x"}, ""), ({"$strcasecmp": ["$x", ""]}, 0),
    ({"$sum": "$x"}, 0), ({"$isArray": "$x"}, False), ({"$isNumber": "$x"}, False), ({"$type": "$x"}, "missing"),
    ({"$mergeObjects": ["$x", {"a": 1}]}, {"a": 1}), ({"$ifNull": ["$x", 1]}, 1), ({"$eq": ["$x", None]}, False),
    ({"$and": ["$x"]}, False), ({"$not": "$x"}, True), ({"$regexMatch": {"input": "$x", "regex": "a"}}, False),
    ({"$regexFindAll": {"input": "$x", "regex": "a"}}, []), ({"$in": ["$x", [None]]}, False),
])
def test_operators_with_their_own_null_rules(expr, expected):
    assert_same(ev(expr, {}), expected)



def test_comparison_order_of_missing_null_minkey_maxkey():
    # jstests/aggregation/expressions/comparison_missing_and_key_values.js:
    # MinKey < missing < null < number < string < [] < MaxKey (missing is not null here).
    from bson.max_key import MaxKey
    from bson.min_key import MinKey

    ranked = [("minkey", MinKey()), ("missing", MISSING), ("null", None), ("number", 5), ("string", "hello"),
              ("emptyArray", []), ("maxkey", MaxKey())]
    for i, (_, left) in enumerate(ranked):
        doc = {} if left is MISSING else {"f": left}
        for j, (_, right) in enumerate(ranked[:1] + ranked[2:]):
            rank_right = j if j == 0 else j + 1
            assert ev({"$cmp": ["$f", {"$literal": right}]}, doc) == (i > rank_right) - (i < rank_right)
            assert ev({"$eq": ["$f", {"$literal": right}]}, doc) is (i == rank_right)
            assert ev({"$gte": [{"$literal": right}, "$f"]}, doc) is (rank_right >= i)


def test_expressions_follow_a_collation():
    # jstests/aggregation/expressions/collation_expressions.js: comparisons, $in, sets and
    # $min/$max use the operation's collation; $strcasecmp and $trim do not.
    ci = {"locale": "en_US", "strength": 2}

    def cev(expr, doc=None):
        return compile_expression(expr, collation=ci)(doc or {}, {})

    assert cev({"$eq": ["a", "A"]}) is True and ev({"$eq": ["a", "A"]}) is False
    assert cev({"$cmp": ["a", "B"]}) == -1 and ev({"$cmp": ["a", "B"]}) == 1
    assert cev({"$in": ["abcd", ["aBcD", "ABCD"]]}) is True
    assert cev({"$indexOfArray": [["A", "b"], "B"]}) == 1
    assert cev({"$setUnion": [["a", "A"], ["b"]]}) == ["a", "b"]
    assert cev({"$setIsSubset": [["A"], ["a"]]}) is True
    assert cev({"$max": ["a", "B"]}) == "B" and ev({"$max": ["a", "B"]}) == "a"
    assert cev({"$sortArray": {"input": ["b", "A", "c"], "sortBy": 1}}) == ["A", "b", "c"]
    assert cev({"$strcasecmp": ["a", "B"]}) == -1
    assert cev({"$trim": {"input": "xXx", "chars": "x"}}) == "X"
    state = compile_accumulator("$addToSet", "$s", collation=ci).new()
    for d in ({"s": "a"}, {"s": "A"}, {"s": "b"}):
        state.add(d, {})
    assert state.result() == ["a", "b"]


CONVERSIONS = [
    # jstests/aggregation/expressions/convert.js: one case per conversion.
    (1.9, "double", 1.9), (1.9, "string", "1.9"), (1.9, "bool", True), (1.9, "date", D(1970, 1, 1, 0, 0, 0, 1000)),
    (1.9, "int", 1), (1.9, "long", Int64(1)), (1.9, "decimal", Decimal128("1.90000000000000")),
    ("1.9", "double", 1.9), ("str", "string", "str"),
    ("0123456789abcdef01234567", "objectId", ObjectId("0123456789abcdef01234567")), ("", "bool", True),
    ("1970-01-01T00:00:00.001Z", "date", D(1970, 1, 1, 0, 0, 0, 1000)), ("1", "int", 1), ("1", "long", Int64(1)),
    ("1.9", "decimal", Decimal128("1.9")),
    (ObjectId("0123456789abcdef01234567"), "string", "0123456789abcdef01234567"),
    (ObjectId("0123456789abcdef01234567"), "bool", True),
    (ObjectId("0123456789abcdef01234567"), "date", D(1970, 8, 9, 22, 25, 43)),
    (False, "double", 0.0), (False, "string", "false"), (False, "bool", False), (False, "int", 0),
    (False, "long", Int64(0)), (False, "decimal", Decimal128("0")),
    (D(1970, 1, 1, 0, 0, 0, 123000), "double", 123.0), (D(1970, 1, 1, 0, 0, 0, 123000), "string",
                                                          "1970-01-01T00:00:00.123Z"),
    (D(1970, 1, 1, 0, 0, 0, 123000), "long", Int64(123)), (D(1970, 1, 1, 0, 0, 0, 123000), "decimal",
                                                           Decimal128("123")),
    (1, "double", 1.0), (1, "string", "1"), (1, "decimal", Decimal128("1")), (Int64(1), "int", 1),
    (Int64(1), "date", D(1970, 1, 1, 0, 0, 0, 1000)), (Decimal128("1.9"), "double", 1.9),
    (Decimal128("1.9"), "string", "1.9"), (Decimal128("1.9"), "date", D(1970, 1, 1, 0, 0, 0, 1000)),
    (Decimal128("1.9"), "int", 1), (Decimal128("1.9"), "long", Int64(1)), ({"foo": 1}, "bool", True),
    ([1, 2], "bool", True), (Regex("B*"), "bool", True), (Timestamp(0, 1), "bool", True),
]


@pytest.mark.parametrize("value,target,expected", CONVERSIONS)
def test_convert_server_cases(value, target, expected):
    doc = {"input": value, "target": target}
    assert_same(ev({"$convert": {"input": "$input", "to": "$target"}}, doc), expected)
    assert_same(ev({"$type": {"$convert": {"input": "$input", "to": target}}}, doc), target)


@pytest.mark.parametrize("value,target", [
    (1.9, "objectId"), (ObjectId("0123456789abcdef01234567"), "double"), (ObjectId("0123456789abcdef01234567"), "int"),
    (False, "objectId"), (False, "date"), (D(1970, 1, 1), "objectId"), (D(1970, 1, 1), "int"), (1, "date"),
    (Int64(1), "objectId"), (1.9, "minKey"), (1.9, "missing"), (1.9, "object"), (1.9, "array"), (1.9, "regex"),
    (1.9, "timestamp"), (1.9, "null"),
])
def test_convert_unsupported_uses_on_error(value, target):
    doc = {"input": value, "target": target}
    with pytest.raises(ServerError) as info:
        ev({"$convert": {"input": "$input", "to": "$target"}}, doc)
    assert info.value.code == 241
    assert ev({"$convert": {"input": "$input", "to": "$target", "onError": "ERROR"}}, doc) == "ERROR"
    assert ev({"$convert": {"input": "$input", "to": "$target", "onError": "$$REMOVE"}}, doc) is MISSING


def test_convert_null_input_prefers_on_null_and_input_errors_propagate():
    assert ev({"$convert": {"input": "$nope", "to": None, "onNull": "NULL"}}) == "NULL"
    assert ev({"$convert": {"input": None, "to": "int", "onNull": "NULL"}}) == "NULL"
    assert error_code({"$convert": {"input": {"$divide": [1, 0]}, "to": "string", "onError": "E"}}) == 2


def test_bitwise_operators():
    # jstests/aggregation/expressions/bitwise.js
    rows = [(0, 127), (1, 2), (2, 3), (3, 5)]
    assert [ev({"$bitAnd": ["$a", "$b"]}, {"a": a, "b": b}) for a, b in rows] == [0, 0, 2, 1]
    assert [ev({"$bitOr": ["$a", "$b"]}, {"a": a, "b": b}) for a, b in rows] == [127, 3, 3, 7]
    assert [ev({"$bitXor": ["$a", "$b"]}, {"a": a, "b": b}) for a, b in rows] == [127, 3, 1, 6]
    assert [ev({"$bitNot": "$a"}, {"a": a}) for a, _ in rows] == [-1, -2, -3, -4]
    assert_same(ev({"$bitAnd": [Int64(6), 3]}), Int64(2))
    for operand in (12.0, Decimal128("12"), "$c", ["$c"], [[1, 2]]):
        assert error_code({"$bitAnd": ["$a", operand]}, {"a": 1, "c": [1, 2]}) == 14
    assert error_code({"$bitNot": 12.5}) == 14
    assert error_code({"$bitNot": ["$a", "$b"]}) == 16020


@pytest.mark.parametrize("expr,expected", [
    # $indexOfCP: the token must start before the end index but may extend past it.
    ({"$indexOfCP": ["vanilla", "ll", 0, 5]}, 4), ({"$indexOfBytes": ["vanilla", "ll", 0, 5]}, -1),
    ({"$indexOfCP": ["vanilla", "ll", 12]}, -1), ({"$indexOfCP": ["vanilla", "ll", 5, 2]}, -1),
    ({"$indexOfCP": ["", ""]}, 0), ({"$indexOfCP": ["abc", "", 3]}, -1), ({"$indexOfBytes": ["abc", "", 3]}, 3),
    ({"$indexOfCP": ["寿司sushi", "s", 1]}, 2), ({"$indexOfBytes": ["寿司sushi", "s", 1]}, 6),
])
def test_index_of_string_bounds(expr, expected):
    assert ev(expr) == expected


DATE_STRINGS = [
    # jstests/aggregation/expressions/date_from_string.js, default (format-less) parsing.
    ("2017-07-04T11:56:02Z", D(2017, 7, 4, 11, 56, 2)), ("2017-07-04T11:56:02.813Z", D(2017, 7, 4, 11, 56, 2, 813000)),
    ("2017-07-04T11:56:02.81Z", D(2017, 7, 4, 11, 56, 2, 810000)), ("2017-07-04T11:56.02", D(2017, 7, 4, 11, 56, 2)),
    ("2017-07-04T11:56.02.8", D(2017, 7, 4, 11, 56, 2, 800000)), ("1960-07-10T12:10:37.448",
                                                                  D(1960, 7, 10, 12, 10, 37, 448000)),
    ("2017-01-01 00:00:00", D(2017, 1, 1)), ("2017-07-06", D(2017, 7, 6)), ("2017-07-06 11:36", D(2017, 7, 6, 11, 36)),
    ("2017-07-14T12:02:44.771 GMT", D(2017, 7, 14, 12, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 GMT+00:00", D(2017, 7, 14, 12, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 GMT+02", D(2017, 7, 14, 10, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771+03", D(2017, 7, 14, 9, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771+0330", D(2017, 7, 14, 8, 32, 44, 771000)),
    ("2017-07-14T12:02:44.771+03:30", D(2017, 7, 14, 8, 32, 44, 771000)),
    ("2017-07-14T12:02:44.771 UTC", D(2017, 7, 14, 12, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 CEST", D(2017, 7, 14, 10, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 EST", D(2017, 7, 14, 17, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 PDT", D(2017, 7, 14, 19, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 A", D(2017, 7, 14, 11, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 L", D(2017, 7, 14, 1, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 P", D(2017, 7, 14, 15, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 Z", D(2017, 7, 14, 12, 2, 44, 771000)),
    ("July 4th, 2017", D(2017, 7, 4)), ("July 4th, 2017 12:39:30 BST", D(2017, 7, 4, 11, 39, 30)),
    ("July 4th, 2017 11am", D(2017, 7, 4, 11)), ("July 4th, 2017 12pm", D(2017, 7, 4, 12)), ("7/4/17", D(2017, 7, 4)),
    ("04-07-2017", D(2017, 7, 4)), ("2017-Jul-04 noon", D(2017, 7, 4, 12)),
    ("2017-07-04 12:48:07 GMT+0545", D(2017, 7, 4, 7, 3, 7)), ("2017-07-04 12:48:07 GMT-0200", D(2017, 7, 4, 14, 48, 7)),
]


@pytest.mark.parametrize("text,expected", DATE_STRINGS)
def test_date_from_string_default_formats(text, expected):
    assert_same(ev({"$dateFromString": {"dateString": text}}), expected)


@pytest.mark.parametrize("text,fmt,expected", [
    ("2017-07-04T11:56.02.813", "%Y-%m-%dT%H:%M.%S.%L", D(2017, 7, 4, 11, 56, 2, 813000)),
    ("2017-07-14T12:02:44.771 GMT+02", "%Y-%m-%dT%H:%M:%S.%L%z", D(2017, 7, 14, 10, 2, 44, 771000)),
    ("2017-07-14T12:02:44.771 P", "%Y-%m-%dT%H:%M:%S.%L%z", D(2017, 7, 14, 15, 2, 44, 771000)),
    ("05 12 1988", "%d %m %Y", D(1988, 12, 5)), ("1992 % 04 % 26", "%Y %% %m %% %d", D(1992, 4, 26)),
    ("Day: 05 Month: 12 Year: 1988", "Day: %d Month: %m Year: %Y", D(1988, 12, 5)),
    ("4/26/1992:+0445", "%m/%d/%Y:%z", D(1992, 4, 25, 19, 15)), ("4/26/1992:+285", "%m/%d/%Y:%Z", D(1992, 4, 25, 19, 15)),
    ("2017", "%G", D(2017, 1, 2)), ("2017, Week 53", "%G, Week %V", D(2018, 1, 1)),
    ("2017, Day 5", "%G, Day %u", D(2017, 1, 6)), ("53.7.2017", "%V.%u.%G", D(2018, 1, 7)),
    ("1.1.1", "%V.%u.%G", D(1, 1, 1)),
])
def test_date_from_string_with_format(text, fmt, expected):
    assert_same(ev({"$dateFromString": {"dateString": text, "format": fmt}}), expected)


@pytest.mark.parametrize("spec,code", [
    ({"dateString": "July 4th"}, 241), ({"dateString": "12:50:53"}, 241), ({"dateString": "2017, 12:50:53"}, 241),
    ({"dateString": "2017-07-12T22:23:55 GMT+02:00", "timezone": "Europe/Amsterdam"}, 241),
    ({"dateString": "2017-07-12T22:23:55Z", "timezone": "Europe/Amsterdam"}, 241),
    ({"dateString": "2017-07-12T22:23:55 Europe/Amsterdam"}, 241),
    ({"dateString": "2018-01", "format": "%Y-%m-%d"}, 241), ({"dateString": "2018-01", "format": "%Y"}, 241),
    ({"dateString": "1992-26-04", "format": "Y-d-m"}, 241), ({"dateString": "1992", "format": "%n"}, 18536),
    ({"dateString": "4/26/1992:+0445", "format": "%m/%d/%Y:%z", "timezone": "+0500"}, 241),
    ({"dateString": "4/26/1992", "format": 5}, 40684), ({"dateString": "ISO Day 6", "format": "ISO Day %u"}, 241),
    ({"dateString": "ISO Week 1, 2018", "format": "ISO Week %V, %Y"}, 241),
    ({"dateString": "12/31/2018", "format": "%m/%d/%G"}, 241), ({"dateString": 5}, 241),
])
def test_date_from_string_errors(spec, code):
    assert error_code({"$dateFromString": spec}) == code
    if code == 241 and not isinstance(spec.get("dateString"), int):
        # onError catches parse failures (but not argument errors such as a bad 'format' type).
        assert ev({"$dateFromString": dict(spec, onError="bad")}) == "bad"


def test_date_from_string_parse_errors_and_nulls():
    assert error_code({"$dateFromString": "no-object"}) == 40540
    assert error_code({"$dateFromString": {"unknown": "$tz"}}) == 40541
    assert ev({"$dateFromString": {"dateString": "$tz"}}) is None
    assert ev({"$dateFromString": {"dateString": "2017-07-11T17:05:19Z", "timezone": "$tz"}}) is None
    assert ev({"$dateFromString": {"dateString": "2017-07-11T17:05:19Z", "format": "$format"}}) is None
    assert_same(ev({"$dateFromString": {"dateString": "2017-07-19T18:52:35.199", "timezone": "-05:00"}}),
                D(2017, 7, 19, 23, 52, 35, 199000))



@pytest.mark.parametrize("date,tz,expected", [
    # jstests/aggregation/expressions/date_to_string.js
    (D(2017, 7, 4, 14, 56, 42, 911000), "UTC", "2017-07-04 14:56:42 +0000 (0 minutes)"),
    (D(2017, 7, 4, 14, 56, 42, 911000), "Europe/London", "2017-07-04 15:56:42 +0100 (60 minutes)"),
    (D(2017, 7, 4, 14, 56, 42, 911000), "America/New_York", "2017-07-04 10:56:42 -0400 (-240 minutes)"),
    (D(2017, 7, 4, 14, 56, 42, 911000), "Australia/Eucla", "2017-07-04 23:41:42 +0845 (525 minutes)"),
    (D(2017, 7, 4, 14, 56, 42, 911000), "Asia/Kathmandu", "2017-07-04 20:41:42 +0545 (345 minutes)"),
    (D(2017, 1, 4, 15, 8, 51, 911000), "America/New_York", "2017-01-04 10:08:51 -0500 (-300 minutes)"),
])
def test_date_to_string_server_cases(date, tz, expected):
    assert ev({"$dateToString": {"format": "%Y-%m-%d %H:%M:%S %z (%Z minutes)", "date": date, "timezone": tz}}) \
        == expected


def test_date_to_string_week_and_month_names():
    fmt = "Natural: %Y-W%w-%U, ISO: %G-W%u-%V"
    assert ev({"$dateToString": {"format": fmt, "date": D(2017, 1, 1, 15, 8, 51)}}) == \
        "Natural: 2017-W1-01, ISO: 2016-W7-52"
    assert ev({"$dateToString": {"format": fmt, "date": D(2017, 7, 4, 15, 9, 12)}}) == \
        "Natural: 2017-W3-27, ISO: 2017-W2-27"
    assert ev({"$dateToString": {"format": "%b (%B) %d, %Y", "date": D(2017, 12, 4)}}) == "Dec (December) 04, 2017"
    assert ev({"$dateToString": {"date": D(2017, 1, 4), "format": None}}) is None
    assert error_code({"$dateToString": {"date": D(2017, 1, 4), "format": 5}}) == 18533
    assert error_code({"$dateToString": {"format": "%Y"}}) == 18628
    assert error_code({"$dateToString": {"date": 42, "format": "%Y"}}) == 16006
    assert error_code({"$dateToString": {"date": D(2017, 1, 4), "timezone": 5}}) == 40517


@pytest.mark.parametrize("parts,expected", [
    # jstests/aggregation/expressions/date_from_parts.js: out-of-range parts carry over.
    ({"year": 1}, D(1, 1, 1)), ({"year": 9999}, D(9999, 1, 1)), ({"year": 2017, "month": -1}, D(2016, 11, 1)),
    ({"year": 2017, "month": 13}, D(2018, 1, 1)), ({"year": 2017, "day": -1}, D(2016, 12, 30)),
    ({"year": 2017, "day": 61}, D(2017, 3, 2)), ({"year": 2017, "hour": 25}, D(2017, 1, 2, 1)),
    ({"year": 2017, "minute": -1}, D(2016, 12, 31, 23, 59)), ({"year": 2017, "second": 71841012},
                                                               D(2019, 4, 12, 11, 50, 12)),
    ({"year": 1970, "second": 1502095918}, D(2017, 8, 7, 8, 51, 58)),
    ({"year": 2017, "millisecond": -1}, D(2016, 12, 31, 23, 59, 59, 999000)),
    ({"year": 1970, "millisecond": Int64(1502095918551)}, D(2017, 8, 7, 8, 51, 58, 551000)),
    ({"year": Decimal128("2017"), "month": Int64(6), "day": 23, "hour": 14, "minute": 27, "second": 37,
      "millisecond": 742, "timezone": "Europe/Berlin"}, D(2017, 6, 23, 12, 27, 37, 742000)),
    ({"year": 2017, "month": 6, "day": 23, "hour": 10, "minute": 27, "second": 37, "millisecond": 742,
      "timezone": "-02"}, D(2017, 6, 23, 12, 27, 37, 742000)),
    ({"year": 2017, "timezone": "Asia/Tokyo"}, D(2016, 12, 31, 15)),
])
def test_date_from_parts_server_cases(parts, expected):
    assert_same(ev({"$dateFromParts": parts}), expected)


@pytest.mark.parametrize("parts,code", [
    ("$date", 40519), ({"timezone": "$tz"}, 40516), ({"year": False}, 40515), ({"year": 2017, "hour": False}, 40515),
    ({"year": 2012, "timezone": "DoesNot/Exist"}, 40485), ({"year": 2012, "timezone": 5}, 40517),
    ({"year": -1}, 40523), ({"year": 10000}, 40523), ({"isoWeekYear": 2017, "isoWeek": False}, 40515),
])
def test_date_from_parts_server_errors(parts, code):
    assert error_code({"$dateFromParts": parts}) == code


# Named-argument checks: the server's order (object, unknown field, missing
# field in its order) and its exact wording, one case per message shape.
@pytest.mark.parametrize("expr, code, message", [
    ({"$reduce": 5}, 40075, "$reduce only supports an object as its argument, found: int"),
    ({"$reduce": {"input": [], "in": 1, "x": 1}}, 40076, "$reduce found an unknown argument: x"),
    ({"$reduce": {"input": [], "in": 1}}, 40078, "$reduce requires 'initialValue' to be specified"),
    ({"$cond": {"if": 1, "else": 1}}, 17081, "Missing 'then' parameter to $cond"),
    ({"$year": {"timezone": "UTC"}}, 40539, "missing 'date' argument to $year, provided: { timezone: \"UTC\" }"),
    ({"$year": {"date": 1, "x": 1}}, 40535, 'unrecognized option to $year: "x"'),
    ({"$dateToString": {"date": 1, "x": 1}}, 18534,
     "Unrecognized argument to $dateToString: x. Expected arguments are date, format, timezone, onNull"),
    ({"$dateToString": {"format": "%Y"}}, 18628, "Missing 'date' parameter to $dateToString"),
    ({"$firstN": {"n": 1}}, 5787907, "Missing value for 'input'"),
    ({"$percentile": {"input": 1, "method": "approximate"}}, 40414,
     "BSON field '$percentile.p' is missing but a required field"),
    ({"$setField": {"field": "a", "input": {}}}, 4161102, "$setField requires 'value' to be specified"),
])
def test_named_argument_errors(expr, code, message):
    with pytest.raises(ServerError) as info:
        compile_expression(expr)
    assert (info.value.code, info.value.args[0]) == (code, message)
