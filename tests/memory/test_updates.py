"""Update operators on fields, parsing errors, field order, no-op detection.

Fixtures are the examples of MongoDB's update-operator reference pages
($set, $unset, $inc, $mul, $min, $max, $rename, $currentDate,
$setOnInsert); messages are the server's (src/mongo/db/update/*.cpp), some
as recorded against real servers by other projects' integration suites.
Array operators, positional updates and array filters are in
test_updates_arrays.py; replacements, pipelines and upserts in
test_updates_upsert.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from bson import Decimal128, Int64, Timestamp
from test_updates_support import apply, assert_exact, check, check_error, error

from dongo.backends.memory.updates import compile_update


def products():
    return {
        "_id": 100,
        "quantity": 250,
        "instock": True,
        "reorder": False,
        "details": {"model": "14QQ", "make": "Clothes Corp"},
        "tags": ["apparel", "clothing"],
        "ratings": [{"by": "Customer007", "rating": 4}],
    }


# ---------------------------------------------------------------------------
# $set
# ---------------------------------------------------------------------------


def test_set_top_level_fields_docs_example():
    check(
        {
            "$set": {
                "quantity": 500,
                "details": {"model": "2600", "make": "Fashionaires"},
                "tags": ["coats", "outerwear", "clothing"],
            }
        },
        products(),
        {
            "_id": 100,
            "quantity": 500,
            "instock": True,
            "reorder": False,
            "details": {"model": "2600", "make": "Fashionaires"},
            "tags": ["coats", "outerwear", "clothing"],
            "ratings": [{"by": "Customer007", "rating": 4}],
        },
    )


def test_set_embedded_field_docs_example():
    doc = products()
    check({"$set": {"details.make": "Kustom Kidz"}}, doc, {**products(), "details": {"model": "14QQ", "make": "Kustom Kidz"}})


def test_set_array_elements_docs_example():
    expected = products()
    expected["tags"] = ["apparel", "rain gear"]
    expected["ratings"] = [{"by": "Customer007", "rating": 2}]
    check({"$set": {"tags.1": "rain gear", "ratings.0.rating": 2}}, products(), expected)


def test_set_same_value_is_a_no_op():
    check({"$set": {"quantity": 250, "details.make": "Clothes Corp"}}, products(), products(), changed=False)


def test_set_same_number_of_another_type_changes_the_document():
    # binary comparison: int32 250 and double 250.0 are different values to $set
    expected = {**products(), "quantity": 250.0}
    check({"$set": {"quantity": 250.0}}, products(), expected)
    check({"$set": {"quantity": Int64(250)}}, products(), {**products(), "quantity": Int64(250)})


def test_set_embedded_document_field_order_matters():
    doc = {"_id": 1, "a": {"x": 1, "y": 2}}
    check({"$set": {"a": {"y": 2, "x": 1}}}, doc, {"_id": 1, "a": {"y": 2, "x": 1}})


def test_new_fields_are_appended_in_lexicographic_order():
    check({"$set": {"z": 1, "a": 1, "m": {"k": 2}}}, {"_id": 1, "b": 0}, {"_id": 1, "b": 0, "a": 1, "m": {"k": 2}, "z": 1})


def test_numeric_field_names_are_processed_in_numeric_order():
    # Update Operators > Behavior: "a.2" is processed before "a.10" (5.0+).
    check({"$set": {"a.10": 1, "a.2": 2}}, {"_id": 1}, {"_id": 1, "a": {"2": 2, "10": 1}})
    # zero-padded names compare as strings
    check({"$set": {"a.10": 1, "a.02": 2}}, {"_id": 1}, {"_id": 1, "a": {"02": 2, "10": 1}})


def test_set_creates_intermediate_documents():
    check({"$set": {"a.b.c": 1, "a.b.d": 2, "a.e": 3}}, {"_id": 1}, {"_id": 1, "a": {"b": {"c": 1, "d": 2}, "e": 3}})


def test_set_beyond_array_end_pads_with_nulls():
    check({"$set": {"a.5": 1}}, {"_id": 1, "a": [1, 2]}, {"_id": 1, "a": [1, 2, None, None, None, 1]})
    check(
        {"$set": {"a.4.b": 1, "a.4.c": 2}},
        {"_id": 1, "a": [1]},
        {"_id": 1, "a": [1, None, None, None, {"b": 1, "c": 2}]},
    )


def test_set_numeric_component_on_a_document_is_a_field_name():
    check({"$set": {"a.0": 1}}, {"_id": 1, "a": {}}, {"_id": 1, "a": {"0": 1}})


def test_set_through_a_scalar_is_path_not_viable():
    check_error({"$set": {"a.b": 1}}, {"_id": 1, "a": 1}, 28, "Cannot create field 'b' in element {a: 1}")
    check_error(
        {"$set": {"a.b.c": 1}},
        {"_id": 1, "a": {"b": "x"}},
        28,
        'Cannot create field \'c\' in element {b: "x"}',
    )


def test_set_named_field_in_array_is_path_not_viable():
    check_error(
        {"$set": {"a.x": 1}},
        {"_id": 1, "a": [{"x": 0}, 2.5]},
        28,
        "Cannot create field 'x' in element {a: [ { x: 0 }, 2.5 ]}",
    )


def test_set_value_is_copied_per_document():
    up = compile_update({"$set": {"a": {"b": [1]}}})
    first, second = {"_id": 1}, {"_id": 2}
    up.apply(first)
    up.apply(second)
    first["a"]["b"].append(2)
    assert second == {"_id": 2, "a": {"b": [1]}}


def test_set_top_level_dollar_field_is_rejected_for_storage():
    check_error(
        {"$set": {"$x": 1}},
        {"_id": 1},
        52,
        "The dollar ($) prefixed field '$x' in '$x' is not allowed in the context of an update's replacement "
        "document. Consider using an aggregation pipeline with $replaceWith.",
    )
    # embedded $-prefixed field names are allowed (5.0+)
    check({"$set": {"a.$x": 1}}, {"_id": 1}, {"_id": 1, "a": {"$x": 1}})


def test_set_tuple_values_are_stored_as_arrays():
    check({"$set": {"a": (1, 2)}}, {"_id": 1}, {"_id": 1, "a": [1, 2]})


# ---------------------------------------------------------------------------
# $unset
# ---------------------------------------------------------------------------


def test_unset_docs_example():
    check(
        {"$unset": {"quantity": "", "instock": ""}},
        {"_id": 1, "item": "chisel", "sku": "C001", "quantity": 4, "instock": True},
        {"_id": 1, "item": "chisel", "sku": "C001"},
    )


def test_unset_missing_field_is_a_no_op():
    check({"$unset": {"nope": 1, "a.b.c": 1}}, {"_id": 1, "a": {}}, {"_id": 1, "a": {}}, changed=False)


def test_unset_array_element_sets_null():
    check({"$unset": {"a.1": 1}}, {"_id": 1, "a": [1, 2, 3]}, {"_id": 1, "a": [1, None, 3]})


def test_unset_through_scalar_is_a_no_op():
    check({"$unset": {"a.b": 1}}, {"_id": 1, "a": 5}, {"_id": 1, "a": 5}, changed=False)


def test_unset_id_is_immutable():
    check_error(
        {"$unset": {"_id": 1}}, {"_id": 1}, 66, "Performing an update on the path '_id' would modify the immutable field '_id'"
    )


# ---------------------------------------------------------------------------
# $inc / $mul
# ---------------------------------------------------------------------------


def test_inc_docs_example():
    check(
        {"$inc": {"quantity": -2, "metrics.orders": 1}},
        {"_id": 1, "sku": "abc123", "quantity": 10, "metrics": {"orders": 2, "ratings": 3.5}},
        {"_id": 1, "sku": "abc123", "quantity": 8, "metrics": {"orders": 3, "ratings": 3.5}},
    )


def test_inc_missing_field_sets_the_value():
    check({"$inc": {"a": Int64(5), "b.c": 2.5}}, {"_id": 1}, {"_id": 1, "a": Int64(5), "b": {"c": 2.5}})


def test_inc_numeric_typing():
    check({"$inc": {"a": 1}}, {"_id": 1, "a": 2**31 - 1}, {"_id": 1, "a": Int64(2**31)})
    check({"$inc": {"a": 1}}, {"_id": 1, "a": Int64(5)}, {"_id": 1, "a": Int64(6)})
    check({"$inc": {"a": Int64(1)}}, {"_id": 1, "a": 5}, {"_id": 1, "a": Int64(6)})
    check({"$inc": {"a": 1.5}}, {"_id": 1, "a": 2}, {"_id": 1, "a": 3.5})
    check({"$inc": {"a": Decimal128("1.1")}}, {"_id": 1, "a": 2}, {"_id": 1, "a": Decimal128("3.1")})
    # a double becomes a decimal with 15 significant digits
    check({"$inc": {"a": Decimal128("1")}}, {"_id": 1, "a": 0.5}, {"_id": 1, "a": Decimal128("1.500000000000000")})


def test_inc_by_zero_is_a_no_op_but_zero_of_another_type_is_not():
    check({"$inc": {"a": 0}}, {"_id": 1, "a": 5}, {"_id": 1, "a": 5}, changed=False)
    check({"$inc": {"a": 0.0}}, {"_id": 1, "a": 5}, {"_id": 1, "a": 5.0})


def test_inc_long_overflow_is_an_error():
    check_error(
        {"$inc": {"v": Int64(2**63 - 1)}},
        {"_id": "int64-max", "v": Int64(2**63 - 1)},
        2,
        'Failed to apply $inc operations to current value ((NumberLong)9223372036854775807) for document {_id: "int64-max"}',
    )
    check_error(
        {"$inc": {"v": Int64(2**63 - 1)}},
        {"_id": "int32", "v": 42},
        2,
        'Failed to apply $inc operations to current value ((NumberInt)42) for document {_id: "int32"}',
    )


def test_inc_non_numeric_argument():
    check_error({"$inc": {"v": "string"}}, None, 14, 'Cannot increment with non-numeric argument: {v: "string"}')
    check_error({"$inc": {"v": True}}, None, 14, "Cannot increment with non-numeric argument: {v: true}")


def test_inc_non_numeric_field():
    check_error(
        {"$inc": {"v.0.foo.0.bar": 1}},
        {"_id": "array-documents-nested", "v": [{"foo": [{"bar": "hello"}, {"bar": "world"}]}]},
        14,
        'Cannot apply $inc to a value of non-numeric type. {_id: "array-documents-nested"} has the field \'bar\' '
        "of non-numeric type string",
    )


def test_inc_named_field_in_array_is_path_not_viable():
    check_error(
        {"$inc": {"v.foo": 1}},
        {"_id": 1, "v": [{"foo": [{"bar": "hello"}, {"bar": "world"}]}]},
        28,
        'Cannot create field \'foo\' in element {v: [ { foo: [ { bar: "hello" }, { bar: "world" } ] } ]}',
    )


def test_mul_docs_examples():
    check(
        {"$mul": {"price": Decimal128("1.25"), "quantity": 2}},
        {"_id": 1, "item": "Hats", "price": Decimal128("10.99"), "quantity": 25},
        {"_id": 1, "item": "Hats", "price": Decimal128("13.7375"), "quantity": 50},
    )
    # a missing field is set to zero of the operand's numeric type
    check({"$mul": {"price": Int64(100)}}, {"_id": 2, "item": "Unknown"}, {"_id": 2, "item": "Unknown", "price": Int64(0)})
    check({"$mul": {"price": 5}}, {"_id": 3, "item": "Scarf", "price": Int64(10)}, {"_id": 3, "item": "Scarf", "price": Int64(50)})


def test_mul_missing_field_with_double_is_double_zero():
    check({"$mul": {"a": 2.5}}, {"_id": 1}, {"_id": 1, "a": 0.0})


def test_mul_errors():
    check_error({"$mul": {"v": "string"}}, None, 14, 'Cannot multiply with non-numeric argument: {v: "string"}')
    check_error(
        {"$mul": {"non-existent": "string"}}, None, 14, 'Cannot multiply with non-numeric argument: {non-existent: "string"}'
    )
    check_error(
        {"$mul": {"v": Int64(2**63 - 1)}},
        {"_id": "int32", "v": 42},
        2,
        'Failed to apply $mul operations to current value ((NumberInt)42) for document {_id: "int32"}',
    )


def test_mul_int32_overflow_promotes_to_long():
    check({"$mul": {"a": 2**20}}, {"_id": 1, "a": 2**20}, {"_id": 1, "a": Int64(2**40)})


# ---------------------------------------------------------------------------
# $min / $max
# ---------------------------------------------------------------------------


def scores():
    return {"_id": 1, "highScore": 800, "lowScore": 200}


def test_min_docs_examples():
    check({"$min": {"lowScore": 150}}, scores(), {"_id": 1, "highScore": 800, "lowScore": 150})
    after = {"_id": 1, "highScore": 800, "lowScore": 150}
    check({"$min": {"lowScore": 250}}, dict(after), after, changed=False)


def test_max_docs_examples():
    check({"$max": {"highScore": 950}}, scores(), {"_id": 1, "highScore": 950, "lowScore": 200})
    after = {"_id": 1, "highScore": 950, "lowScore": 200}
    check({"$max": {"highScore": 870}}, dict(after), after, changed=False)


def test_min_with_dates_docs_example():
    doc = {
        "_id": 1,
        "desc": "crafts",
        "dateEntered": dt.datetime(2013, 10, 1, 5),
        "dateExpired": dt.datetime(2013, 10, 1, 16, 38, 16),
    }
    expected = dict(doc, dateEntered=dt.datetime(2013, 9, 25))
    check({"$min": {"dateEntered": dt.datetime(2013, 9, 25)}}, doc, expected)


def test_min_max_compare_across_types_in_bson_order():
    # equal numbers of different types: no change
    check({"$max": {"a": 5.0}}, {"_id": 1, "a": 5}, {"_id": 1, "a": 5}, changed=False)
    # strings sort after numbers, null before them
    check({"$max": {"a": "x"}}, {"_id": 1, "a": 5}, {"_id": 1, "a": "x"})
    check({"$min": {"a": None}}, {"_id": 1, "a": 5}, {"_id": 1, "a": None})
    check({"$min": {"a": 1}}, {"_id": 1}, {"_id": 1, "a": 1})


def test_min_with_collation_compares_strings_case_insensitively():
    check(
        {"$min": {"a": "APPLE"}},
        {"_id": 1, "a": "apple"},
        {"_id": 1, "a": "apple"},
        changed=False,
        collation={"locale": "en", "strength": 2},
    )
    check({"$min": {"a": "APPLE"}}, {"_id": 1, "a": "apple"}, {"_id": 1, "a": "APPLE"})


# ---------------------------------------------------------------------------
# $rename
# ---------------------------------------------------------------------------


def students():
    return {
        "_id": 1,
        "alias": ["The American Cincinnatus", "The American Fabius"],
        "mobile": "555-555-5555",
        "nmae": {"first": "george", "last": "washington"},
    }


def test_rename_moves_the_field_to_the_end_docs_example():
    check(
        {"$rename": {"nmae": "name"}},
        students(),
        {
            "_id": 1,
            "alias": ["The American Cincinnatus", "The American Fabius"],
            "mobile": "555-555-5555",
            "name": {"first": "george", "last": "washington"},
        },
    )


def test_rename_embedded_field_docs_example():
    doc = {"_id": 1, "name": {"first": "george", "last": "washington"}}
    check({"$rename": {"name.first": "name.fname"}}, doc, {"_id": 1, "name": {"last": "washington", "fname": "george"}})


def test_rename_missing_field_is_a_no_op():
    check({"$rename": {"wife": "spouse"}}, students(), students(), changed=False)


def test_rename_onto_an_existing_field_keeps_its_position():
    check({"$rename": {"a": "b"}}, {"_id": 1, "b": 2, "a": 1, "c": 3}, {"_id": 1, "b": 1, "c": 3})


def test_rename_to_new_embedded_document():
    check({"$rename": {"a": "x.y"}}, {"_id": 1, "a": 1, "b": 2}, {"_id": 1, "b": 2, "x": {"y": 1}})


def test_rename_parse_errors():
    check_error({"$rename": {"a": 1}}, None, 2, "The 'to' field for $rename must be a string: a: 1")
    check_error({"$rename": {"a": "a"}}, None, 2, 'The source and target field for $rename must differ: a: "a"')
    check_error(
        {"$rename": {"a": "a.b"}}, None, 2, 'The source and target field for $rename must not be on the same path: a: "a.b"'
    )
    check_error(
        {"$rename": {"a.b": "a"}}, None, 2, 'The source and target field for $rename must not be on the same path: a.b: "a"'
    )
    check_error({"$rename": {"a.$": "b"}}, None, 2, "The source field for $rename may not be dynamic: a.$")
    check_error({"$rename": {"a": "b.$[]"}}, None, 2, "The destination field for $rename may not be dynamic: b.$[]")
    check_error({"$rename": {"": "v"}}, None, 56, "An empty update path is not valid.")
    check_error(
        {"$rename": {"v.": "v"}}, None, 56, "The update path 'v.' contains an empty field name, which is not allowed."
    )


def test_rename_conflicts_with_other_operators_on_either_path():
    check_error(
        {"$rename": {"a": "b"}, "$set": {"a": 1}}, None, 40, "Updating the path 'a' would create a conflict at 'a'"
    )
    check_error(
        {"$rename": {"a": "b"}, "$set": {"b.c": 1}}, None, 40, "Updating the path 'b.c' would create a conflict at 'b'"
    )


def test_rename_source_through_an_array_is_path_not_viable():
    doc = {"_id": "array-documents-nested", "v": [{"foo": [{"bar": "hello"}, {"bar": "world"}]}]}
    check_error(
        {"$rename": {"v.foo": "foo"}},
        dict(doc),
        28,
        'cannot use the part (v of v.foo) to traverse the element ({v: [ { foo: [ { bar: "hello" }, '
        '{ bar: "world" } ] } ]})',
    )
    check_error(
        {"$rename": {"v.-1": "f"}},
        dict(doc),
        28,
        'cannot use the part (v of v.-1) to traverse the element ({v: [ { foo: [ { bar: "hello" }, '
        '{ bar: "world" } ] } ]})',
    )
    check_error(
        {"$rename": {"v.0.foo.0.bar.z": "f"}},
        dict(doc),
        28,
        'cannot use the part (bar of v.0.foo.0.bar.z) to traverse the element ({bar: "hello"})',
    )


def test_rename_array_elements_is_rejected():
    check_error(
        {"$rename": {"a.0": "b"}},
        {"_id": 1, "a": [1]},
        2,
        "The source field cannot be an array element, 'a.0' in doc with _id: 1 has an array field called 'a'",
    )
    check_error(
        {"$rename": {"b": "a.5"}},
        {"_id": 1, "a": [1], "b": 2},
        2,
        "The destination field cannot be an array element, 'a.5' in doc with _id: 1 has an array field called 'a'",
    )


def test_rename_id_is_immutable():
    message = "Performing an update on the path '_id' would modify the immutable field '_id'"
    check_error({"$rename": {"_id": "x"}}, {"_id": 1}, 66, message)
    check_error({"$rename": {"x": "_id"}}, {"_id": 1, "x": 2}, 66, message)


# ---------------------------------------------------------------------------
# $currentDate / $setOnInsert
# ---------------------------------------------------------------------------


def test_current_date_docs_example_and_field_order():
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    changed, doc = apply(
        {
            "$currentDate": {"lastModified": True, "cancellation.date": {"$type": "timestamp"}},
            "$set": {"cancellation.reason": "user request", "status": "D"},
        },
        {"_id": 1, "status": "a", "lastModified": dt.datetime(2013, 10, 2, 1, 11, 18, 965000)},
    )
    assert changed is True
    assert list(doc) == ["_id", "status", "lastModified", "cancellation"]
    assert list(doc["cancellation"]) == ["date", "reason"]
    assert doc["status"] == "D" and doc["cancellation"]["reason"] == "user request"
    last = doc["lastModified"]
    assert last.microsecond % 1000 == 0  # millisecond precision, like a BSON date
    assert before - dt.timedelta(seconds=1) <= last <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    stamp = doc["cancellation"]["date"]
    assert isinstance(stamp, Timestamp) and abs(stamp.time - before.timestamp()) < 5


def test_current_date_always_modifies():
    up = compile_update({"$currentDate": {"t": {"$type": "timestamp"}}})
    doc = {"_id": 1}
    assert up.apply(doc) is True
    first = doc["t"]
    assert up.apply(doc) is True and doc["t"] > first


def test_current_date_parse_errors():
    check_error(
        {"$currentDate": {"a": 1}},
        None,
        2,
        "int is not valid type for $currentDate. Please use a boolean ('true') or a $type expression "
        "({$type: 'timestamp/date'}).",
    )
    check_error({"$currentDate": {"a": {"$type": "date", "x": 1}}}, None, 2, "Unrecognized $currentDate option: x")
    check_error(
        {"$currentDate": {"a": {"$type": "string"}}},
        None,
        2,
        "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}",
    )


def test_set_on_insert_only_applies_to_inserts():
    up = compile_update({"$set": {"item": "apple"}, "$setOnInsert": {"defaultQty": 100}})
    doc = {"_id": 1, "item": "pear"}
    assert up.apply(doc) is True
    assert_exact(doc, {"_id": 1, "item": "apple"})
    new = {"_id": 1}
    assert up.apply(new, is_insert=True) is True
    # fields are created in lexicographic order of their paths
    assert_exact(new, {"_id": 1, "defaultQty": 100, "item": "apple"})


# ---------------------------------------------------------------------------
# Parsing the update document
# ---------------------------------------------------------------------------


def test_unknown_modifier():
    check_error(
        {"$foo": {"a": 1}},
        None,
        9,
        "Unknown modifier: $foo. Expected a valid update modifier or pipeline-style update specified as an array",
    )


def test_non_operator_field_after_an_operator():
    check_error(
        {"$set": {"a": 1}, "b": 2},
        None,
        9,
        "Unknown modifier: b. Expected a valid update modifier or pipeline-style update specified as an array",
    )


def test_modifier_operand_must_be_a_document():
    check_error(
        {"$unset": []},
        None,
        9,
        "Modifiers operate on fields but we found type array instead. For example: {$mod: {<field>: ...}} not {$unset: []}",
    )
    check_error(
        {"$set": 5},
        None,
        9,
        "Modifiers operate on fields but we found type int instead. For example: {$mod: {<field>: ...}} not {$set: 5}",
    )


def test_empty_modifier_is_a_no_op():
    # 5.0+: an empty operand is allowed and changes nothing
    check({"$set": {}, "$unset": {}}, {"_id": 1, "a": 1}, {"_id": 1, "a": 1}, changed=False)


@pytest.mark.parametrize(
    "update, message",
    [
        ({"$set": {"a": 1}, "$inc": {"a": 1}}, "Updating the path 'a' would create a conflict at 'a'"),
        ({"$set": {"a": 1}, "$inc": {"a.b": 1}}, "Updating the path 'a.b' would create a conflict at 'a'"),
        ({"$set": {"a.b": 1}, "$inc": {"a": 1}}, "Updating the path 'a' would create a conflict at 'a'"),
        ({"$set": {"a.b.c": 1}, "$unset": {"a.b": 1}}, "Updating the path 'a.b' would create a conflict at 'a.b'"),
        ({"$set": {"a.$[]": 1}, "$inc": {"a.b": 1}}, "Updating the path 'a.b' would create a conflict at 'a'"),
    ],
)
def test_conflicting_paths(update, message):
    check_error(update, None, 40, message)


def test_sibling_paths_do_not_conflict():
    check({"$set": {"a.b": 1}, "$inc": {"a.c": 1, "ab": 1}}, {"_id": 1}, {"_id": 1, "a": {"b": 1, "c": 1}, "ab": 1})


def test_empty_path_components():
    check_error({"$set": {"": 1}}, None, 56, "An empty update path is not valid.")
    check_error({"$set": {"a..b": 1}}, None, 56, "The update path 'a..b' contains an empty field name, which is not allowed.")
    check_error({"$inc": {".a": 1}}, None, 56, "The update path '.a' contains an empty field name, which is not allowed.")


def test_positional_placement_errors():
    check_error({"$set": {"$.a": 1}}, None, 2, "Cannot have positional (i.e. '$') element in the first position in path '$.a'")
    check_error({"$set": {"a.$.b.$": 1}}, None, 2, "Too many positional (i.e. '$') elements found in path 'a.$.b.$'")


def test_id_is_immutable():
    check_error(
        {"$set": {"_id": 2}}, {"_id": 1}, 66, "Performing an update on the path '_id' would modify the immutable field '_id'"
    )
    check_error(
        {"$set": {"_id.a": 2}},
        {"_id": {"a": 1}},
        66,
        "Performing an update on the path '_id.a' would modify the immutable field '_id'",
    )
    check_error(
        {"$set": {"_id.b": 2}},
        {"_id": {"a": 1}},
        66,
        "Updating the path '_id' to _id: { a: 1, b: 2 } would modify the immutable field '_id'",
    )


def test_setting_id_to_its_own_value_is_allowed():
    check({"$set": {"_id": 1, "a": 2}}, {"_id": 1}, {"_id": 1, "a": 2})


def test_compiled_updates_are_cached_by_exact_spec():
    assert compile_update({"$set": {"a": 1}}) is compile_update({"$set": {"a": 1}})
    assert compile_update({"$set": {"a": 1}}) is not compile_update({"$set": {"a": 1.0}})


def test_parse_errors_surface_at_compile_time():
    exc = error({"$set": {"a": 1}, "$inc": {"b": "x"}})
    assert exc.code == 14


def test_values_in_messages_are_rendered_like_the_server():
    # BSONElement::toString: doubles keep ".0", decimals print bare, dates as new Date(ms)
    check_error(
        {"$set": {"a.b": 1}},
        {"_id": 1, "a": [1, 2.0, Decimal128("1.50"), dt.datetime(1970, 1, 1, 0, 0, 1), {"k": None}, []]},
        28,
        "Cannot create field 'b' in element {a: [ 1, 2.0, 1.50, new Date(1000), { k: null }, [] ]}",
    )
    check_error({"$set": {"a.b": 1}}, {"_id": 1, "a": 1e20}, 28, "Cannot create field 'b' in element {a: 1e+20.0}")


# Cases from the server's rename_node_test.cpp


def test_rename_node_cases():
    check_error(
        {"$rename": {"a.a": "b"}},
        {"_id": 1, "a": [{"a": 1}, {"b": 2}]},
        28,
        "cannot use the part (a of a.a) to traverse the element ({a: [ { a: 1 }, { b: 2 } ]})",
    )
    check_error(
        {"$rename": {"a.0.a": "b"}},
        {"_id": "test_object", "a": [{"a": 1}, {"b": 2}]},
        2,
        "The source field cannot be an array element, 'a.0.a' in doc with _id: \"test_object\" has an array field called 'a'",
    )
    check({"$rename": {"a": "b"}}, {"_id": 1, "a": 2, "b": []}, {"_id": 1, "b": 2})
    check({"$rename": {"a": "b"}}, {"_id": 1, "a": [], "b": 2}, {"_id": 1, "b": []})
    check({"$rename": {"$a": "a"}}, {"_id": 1, "$a": 2}, {"_id": 1, "a": 2})
