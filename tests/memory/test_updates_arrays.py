"""Array update operators, positional updates and array filters.

Fixtures are the examples of MongoDB's reference pages for $push (with
$each, $position, $slice, $sort), $addToSet, $pop, $pull, $pullAll, $bit,
the positional $, all-positional $[] and filtered $[<identifier>] operators.
"""

from __future__ import annotations

import pytest
from bson import Int64
from test_updates_support import apply, assert_exact, check, check_error

from dongo.backends.memory.updates import compile_update

# ---------------------------------------------------------------------------
# $push and its modifiers
# ---------------------------------------------------------------------------


def test_push_value_docs_example():
    check({"$push": {"scores": 89}}, {"_id": 1, "scores": [44, 78, 38, 80]}, {"_id": 1, "scores": [44, 78, 38, 80, 89]})


def test_push_each_docs_example():
    check(
        {"$push": {"scores": {"$each": [90, 92, 85]}}},
        {"_id": 1, "scores": [44, 78]},
        {"_id": 1, "scores": [44, 78, 90, 92, 85]},
    )


def test_push_array_value_is_one_element():
    check({"$push": {"a": [1, 2]}}, {"_id": 1, "a": []}, {"_id": 1, "a": [[1, 2]]})


def test_push_to_missing_field_creates_the_array():
    check({"$push": {"a.b": 1}}, {"_id": 1}, {"_id": 1, "a": {"b": [1]}})
    check({"$push": {"a": {"$each": []}}}, {"_id": 1}, {"_id": 1, "a": []})


def test_push_each_empty_is_a_no_op():
    check({"$push": {"a": {"$each": []}}}, {"_id": 1, "a": [1]}, {"_id": 1, "a": [1]}, changed=False)


def test_push_sort_slice_docs_example():
    doc = {
        "_id": 5,
        "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 3, "score": 5}, {"wk": 4, "score": 6}],
    }
    check(
        {
            "$push": {
                "quizzes": {
                    "$each": [{"wk": 5, "score": 8}, {"wk": 6, "score": 7}, {"wk": 7, "score": 6}],
                    "$sort": {"score": -1},
                    "$slice": 3,
                }
            }
        },
        doc,
        {"_id": 5, "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 5, "score": 8}]},
    )


@pytest.mark.parametrize(
    "before, each, position, after",
    [
        ([100], [50, 60, 70], 0, [50, 60, 70, 100]),
        ([50, 60, 70, 100], [20, 30], 2, [50, 60, 20, 30, 70, 100]),
        ([50, 60, 20, 30, 70, 100], [90, 80], -2, [50, 60, 20, 30, 90, 80, 70, 100]),
        ([1, 2], [9], 10, [1, 2, 9]),
        ([1, 2], [9], -10, [9, 1, 2]),
    ],
)
def test_push_position_docs_examples(before, each, position, after):
    check({"$push": {"scores": {"$each": each, "$position": position}}}, {"_id": 1, "scores": before}, {"_id": 1, "scores": after})


@pytest.mark.parametrize(
    "before, each, slice_, after",
    [
        ([40, 50, 60], [80, 78, 86], -5, [50, 60, 80, 78, 86]),
        ([89, 90], [100, 20], 3, [89, 90, 100]),
        ([89, 70, 100, 20], [], -3, [70, 100, 20]),
        ([1, 2], [3], 0, []),
    ],
)
def test_push_slice_docs_examples(before, each, slice_, after):
    check({"$push": {"scores": {"$each": each, "$slice": slice_}}}, {"_id": 1, "scores": before}, {"_id": 1, "scores": after})


def test_push_sort_docs_examples():
    check(
        {"$push": {"quizzes": {"$each": [{"id": 3, "score": 8}, {"id": 4, "score": 7}, {"id": 5, "score": 6}], "$sort": {"score": 1}}}},
        {"_id": 1, "quizzes": [{"id": 1, "score": 6}, {"id": 2, "score": 9}]},
        {
            "_id": 1,
            "quizzes": [
                {"id": 1, "score": 6},
                {"id": 5, "score": 6},
                {"id": 4, "score": 7},
                {"id": 3, "score": 8},
                {"id": 2, "score": 9},
            ],
        },
    )
    check(
        {"$push": {"tests": {"$each": [40, 60], "$sort": 1}}},
        {"_id": 2, "tests": [89, 70, 89, 50]},
        {"_id": 2, "tests": [40, 50, 60, 70, 89, 89]},
    )
    check(
        {"$push": {"tests": {"$each": [], "$sort": -1}}},
        {"_id": 3, "tests": [89, 70, 100, 20]},
        {"_id": 3, "tests": [100, 89, 70, 20]},
    )


def test_push_sort_of_an_already_sorted_array_is_a_no_op():
    check({"$push": {"a": {"$each": [], "$sort": 1}}}, {"_id": 1, "a": [1, 2]}, {"_id": 1, "a": [1, 2]}, changed=False)


def test_push_sort_by_field_treats_non_documents_and_missing_fields_as_null():
    check(
        {"$push": {"a": {"$each": [], "$sort": {"x": 1}}}},
        {"_id": 1, "a": [{"x": 2}, 5, {"y": 1}, {"x": None}, {"x": 1}]},
        {"_id": 1, "a": [5, {"y": 1}, {"x": None}, {"x": 1}, {"x": 2}]},
    )


def test_push_sort_by_two_fields():
    check(
        {"$push": {"a": {"$each": [], "$sort": {"k": 1, "v": -1}}}},
        {"_id": 1, "a": [{"k": 2, "v": 1}, {"k": 1, "v": 1}, {"k": 1, "v": 3}]},
        {"_id": 1, "a": [{"k": 1, "v": 3}, {"k": 1, "v": 1}, {"k": 2, "v": 1}]},
    )


def test_push_to_non_array():
    check_error(
        {"$push": {"a": 1}}, {"_id": 1, "a": 5}, 2, "The field 'a' must be an array but is of type int in document {_id: 1}"
    )


@pytest.mark.parametrize(
    "operand, message",
    [
        ({"$each": [1], "$foo": 1}, "Unrecognized clause in $push: $foo"),
        ({"$each": 1}, "The argument to $each in $push must be an array but it was of type: int"),
        ({"$each": [1], "$slice": "x"}, "The value for $slice must be an integer value but was given type: string"),
        ({"$each": [1], "$slice": 1.5}, "The value for $slice must be an integer value but was given type: double"),
        ({"$each": [1], "$position": "x"}, "The value for $position must be an integer value, not of type: string"),
        ({"$each": [1], "$sort": {}}, "The $sort pattern is empty when it should be a set of fields."),
        ({"$each": [1], "$sort": {"a": 2}}, "The $sort element value must be either 1 or -1"),
        ({"$each": [1], "$sort": 0}, "The $sort element value must be either 1 or -1"),
        ({"$each": [1], "$sort": {"a..b": 1}}, "The $sort field is a dotted field but has an empty part: a..b"),
        (
            {"$each": [1], "$sort": "x"},
            "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields",
        ),
    ],
)
def test_push_parse_errors(operand, message):
    check_error({"$push": {"a": operand}}, None, 2, message)


def test_push_without_each_pushes_the_document():
    check({"$push": {"a": {"$slice": 1}}}, {"_id": 1, "a": []}, {"_id": 1, "a": [{"$slice": 1}]})


# ---------------------------------------------------------------------------
# $addToSet
# ---------------------------------------------------------------------------


def test_add_to_set_array_value_docs_example():
    check({"$addToSet": {"letters": ["c", "d"]}}, {"_id": 1, "letters": ["a", "b"]}, {"_id": 1, "letters": ["a", "b", ["c", "d"]]})


def test_add_to_set_docs_examples():
    inventory = {"_id": 1, "item": "polarizing_filter", "tags": ["electronics", "camera"]}
    check(
        {"$addToSet": {"tags": "accessories"}},
        dict(inventory, tags=["electronics", "camera"]),
        dict(inventory, tags=["electronics", "camera", "accessories"]),
    )
    check({"$addToSet": {"tags": "camera"}}, dict(inventory, tags=["electronics", "camera"]), inventory, changed=False)
    check(
        {"$addToSet": {"tags": {"$each": ["camera", "electronics", "accessories"]}}},
        {"_id": 2, "item": "cable", "tags": ["electronics", "supplies"]},
        {"_id": 2, "item": "cable", "tags": ["electronics", "supplies", "camera", "accessories"]},
    )


def test_add_to_set_uses_bson_equality():
    # 2 == 2.0, duplicates inside $each are added once; documents compare in field order
    check({"$addToSet": {"a": {"$each": [1, 2, 2.0, 3, 3]}}}, {"_id": 1, "a": [1]}, {"_id": 1, "a": [1, 2, 3]})
    check({"$addToSet": {"a": {"x": 1, "y": 2}}}, {"_id": 1, "a": [{"y": 2, "x": 1}]}, {"_id": 1, "a": [{"y": 2, "x": 1}, {"x": 1, "y": 2}]})
    check({"$addToSet": {"a": 1.0}}, {"_id": 1, "a": [1]}, {"_id": 1, "a": [1]}, changed=False)


def test_add_to_set_missing_field_creates_deduplicated_array():
    check({"$addToSet": {"a": {"$each": [3, 1, 3]}}}, {"_id": 1}, {"_id": 1, "a": [3, 1]})


def test_add_to_set_errors():
    check_error(
        {"$addToSet": {"colors": "c"}},
        {"_id": 1, "colors": "blue, green, red"},
        2,
        "Cannot apply $addToSet to non-array field. Field named 'colors' has non-array type string",
    )
    check_error(
        {"$addToSet": {"a": {"$each": 1}}}, None, 14, "The argument to $each in $addToSet must be an array but it was of type int"
    )
    check_error(
        {"$addToSet": {"a": {"$each": [1], "x": 1}}}, None, 2, "Found unexpected fields after $each in $addToSet: { $each: [ 1 ], x: 1 }"
    )


def test_add_to_set_with_collation():
    check(
        {"$addToSet": {"a": "APPLE"}},
        {"_id": 1, "a": ["apple"]},
        {"_id": 1, "a": ["apple"]},
        changed=False,
        collation={"locale": "en", "strength": 2},
    )


# ---------------------------------------------------------------------------
# $pop, $pull, $pullAll
# ---------------------------------------------------------------------------


def test_pop_docs_examples():
    check({"$pop": {"scores": -1}}, {"_id": 1, "scores": [8, 9, 10]}, {"_id": 1, "scores": [9, 10]})
    check({"$pop": {"scores": 1}}, {"_id": 10, "scores": [9, 10]}, {"_id": 10, "scores": [9]})


def test_pop_empty_or_missing_is_a_no_op():
    check({"$pop": {"a": 1}}, {"_id": 1, "a": []}, {"_id": 1, "a": []}, changed=False)
    check({"$pop": {"b": 1, "c.d": -1}}, {"_id": 1}, {"_id": 1}, changed=False)


def test_pop_errors():
    check_error({"$pop": {"a": 2}}, None, 9, "$pop expects 1 or -1, found: 2")
    check_error({"$pop": {"a": "x"}}, None, 9, 'Expected a number in: a: "x"')
    check_error({"$pop": {"a": 1.5}}, None, 9, "Expected an integer: a: 1.5")
    check_error({"$pop": {"a": 1}}, {"_id": 1, "a": 5}, 14, "Path 'a' contains an element of non-array type 'int'")
    check_error(
        {"$pop": {"a.b": 1}}, {"_id": 1, "a": 5}, 28, "Cannot use the part (b) of (a.b) to traverse the element ({a: 5})"
    )


def test_pop_accepts_integral_doubles():
    check({"$pop": {"a": -1.0}}, {"_id": 1, "a": [1, 2]}, {"_id": 1, "a": [2]})


def test_pull_condition_docs_example():
    check({"$pull": {"votes": {"$gte": 6}}}, {"_id": 1, "votes": [3, 5, 6, 7, 7, 8]}, {"_id": 1, "votes": [3, 5]})


def test_pull_values_docs_example():
    check(
        {"$pull": {"fruits": {"$in": ["apples", "oranges"]}, "vegetables": "carrots"}},
        {
            "_id": 1,
            "fruits": ["apples", "pears", "oranges", "grapes", "bananas"],
            "vegetables": ["carrots", "celery", "squash", "carrots"],
        },
        {"_id": 1, "fruits": ["pears", "grapes", "bananas"], "vegetables": ["celery", "squash"]},
    )


def test_pull_documents_docs_example():
    update = {"$pull": {"results": {"score": 8, "item": "B"}}}
    check(
        update,
        {"_id": 1, "results": [{"item": "A", "score": 5}, {"item": "B", "score": 8}]},
        {"_id": 1, "results": [{"item": "A", "score": 5}]},
    )
    unchanged = {"_id": 2, "results": [{"item": "C", "score": 8}, {"item": "B", "score": 4}]}
    check(update, dict(unchanged), unchanged, changed=False)


def test_pull_nested_arrays_docs_example():
    check(
        {"$pull": {"results": {"answers": {"$elemMatch": {"q": 2, "a": {"$gte": 8}}}}}},
        {
            "_id": 1,
            "results": [
                {"item": "A", "score": 5, "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]},
                {"item": "B", "score": 8, "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 9}]},
            ],
        },
        {"_id": 1, "results": [{"item": "A", "score": 5, "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]}]},
    )


def test_pull_value_compares_whole_values():
    check({"$pull": {"a": [1, 2]}}, {"_id": 1, "a": [[1, 2], [2, 1], 1]}, {"_id": 1, "a": [[2, 1], 1]})
    check({"$pull": {"a": 1}}, {"_id": 1, "a": [1, 1.0, Int64(1), "1"]}, {"_id": 1, "a": ["1"]})


def test_pull_document_condition_skips_non_documents():
    check({"$pull": {"a": {}}}, {"_id": 1, "a": [1, {"x": 1}, [2]]}, {"_id": 1, "a": [1, [2]]})


def test_pull_errors():
    check_error({"$pull": {"a": 1}}, {"_id": 1, "a": 5}, 2, "Cannot apply $pull to a non-array value")
    # a condition not starting with a path operator is a query on document elements
    check_error(
        {"$pull": {"a": {"$foo": 1}}},
        None,
        2,
        "unknown top level operator: $foo. If you have a field name that starts with a '$' symbol, consider "
        "using $getField or $setField.",
    )
    check_error({"$pull": {"a": {"$gt": 1, "$foo": 1}}}, None, 2, "unknown operator: $foo")


def test_pull_all_docs_example():
    check({"$pullAll": {"scores": [0, 5]}}, {"_id": 1, "scores": [0, 2, 5, 5, 1, 0]}, {"_id": 1, "scores": [2, 1]})


def test_pull_all_errors():
    check_error({"$pullAll": {"a": 1}}, None, 2, "$pullAll requires an array argument but was given a int")
    check_error({"$pullAll": {"a": [1]}}, {"_id": 1, "a": {}}, 2, "Cannot apply $pull to a non-array value")


# ---------------------------------------------------------------------------
# $bit
# ---------------------------------------------------------------------------


def test_bit_docs_examples():
    check({"$bit": {"expdata": {"and": 10}}}, {"_id": 1, "expdata": 13}, {"_id": 1, "expdata": 8})
    check({"$bit": {"expdata": {"or": 5}}}, {"_id": 2, "expdata": Int64(3)}, {"_id": 2, "expdata": Int64(7)})
    check({"$bit": {"expdata": {"xor": 5}}}, {"_id": 3, "expdata": Int64(1)}, {"_id": 3, "expdata": Int64(4)})


def test_bit_missing_field_and_long_operand():
    check({"$bit": {"a": {"or": Int64(6)}}}, {"_id": 1}, {"_id": 1, "a": Int64(6)})
    check({"$bit": {"a": {"and": 1}}}, {"_id": 1, "a": 1}, {"_id": 1, "a": 1}, changed=False)


def test_bit_errors():
    check_error(
        {"$bit": {"a": 5}},
        None,
        2,
        "The $bit modifier is not compatible with a int. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}",
    )
    check_error(
        {"$bit": {"a": {"nand": 1}}},
        None,
        2,
        "The $bit modifier only supports 'and', 'or', and 'xor', not 'nand' which is an unknown operator: {nand: 1}",
    )
    check_error(
        {"$bit": {"a": {"and": 1.0}}},
        None,
        2,
        "The $bit modifier field must be an Integer(32/64 bit); a 'double' is not supported here: {and: 1.0}",
    )
    check_error(
        {"$bit": {"a": {}}},
        None,
        2,
        "You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}",
    )
    check_error(
        {"$bit": {"a": {"and": 1}}},
        {"_id": 1, "a": 1.5},
        2,
        "Cannot apply $bit to a value of non-integral type._id: 1 has the field a of non-integer type double",
    )


# ---------------------------------------------------------------------------
# The positional $ operator
# ---------------------------------------------------------------------------


def test_positional_docs_example():
    # db.students.updateOne({_id: 1, grades: 80}, {$set: {"grades.$": 82}}): the match is index 1
    check({"$set": {"grades.$": 82}}, {"_id": 1, "grades": [85, 80, 80]}, {"_id": 1, "grades": [85, 82, 80]}, position=1)


def test_positional_embedded_docs_example():
    doc = {
        "_id": 4,
        "grades": [{"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 5}, {"grade": 85, "mean": 85, "std": 8}],
    }
    expected = {
        "_id": 4,
        "grades": [{"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 6}, {"grade": 85, "mean": 85, "std": 8}],
    }
    check({"$set": {"grades.$.std": 6}}, doc, expected, position=1)


def test_positional_without_a_match():
    check_error(
        {"$set": {"a.$": 1}}, {"_id": 1, "a": [1]}, 2, "The positional operator did not find the match needed from the query."
    )


def test_positional_merges_with_an_explicit_index():
    check({"$set": {"a.$.x": 1, "a.0.y": 2}}, {"_id": 1, "a": [{}]}, {"_id": 1, "a": [{"x": 1, "y": 2}]}, position=0)
    check_error({"$set": {"a.$": 1, "a.0": 2}}, {"_id": 1, "a": [0]}, 40, "Update created a conflict at 'a.0'", position=0)


def test_positional_needs_position_flag():
    assert compile_update({"$set": {"a.$": 1}}).needs_position is True
    assert compile_update({"$set": {"a.0": 1}}).needs_position is False


# ---------------------------------------------------------------------------
# $[] and $[<identifier>]
# ---------------------------------------------------------------------------


def test_all_positional_docs_examples():
    check({"$inc": {"grades.$[]": 10}}, {"_id": 1, "grades": [85, 82, 80]}, {"_id": 1, "grades": [95, 92, 90]})
    check(
        {"$inc": {"grades.$[].std": -2}},
        {"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 6}]},
        {"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 6}, {"grade": 85, "mean": 90, "std": 4}]},
    )


def test_all_positional_with_filtered_positional_docs_example():
    doc = {
        "_id": 1,
        "grades": [
            {"type": "quiz", "questions": [10, 8, 5]},
            {"type": "quiz", "questions": [8, 9, 6]},
            {"type": "hw", "questions": [5, 4, 3]},
            {"type": "exam", "questions": [25, 10, 23, 0]},
        ],
    }
    expected = {
        "_id": 1,
        "grades": [
            {"type": "quiz", "questions": [12, 10, 5]},
            {"type": "quiz", "questions": [10, 11, 6]},
            {"type": "hw", "questions": [5, 4, 3]},
            {"type": "exam", "questions": [27, 12, 25, 0]},
        ],
    }
    check({"$inc": {"grades.$[].questions.$[score]": 2}}, doc, expected, array_filters=[{"score": {"$gte": 8}}])


def test_filtered_positional_docs_examples():
    update = {"$set": {"grades.$[element]": 100}}
    filters = [{"element": {"$gte": 100}}]
    check(update, {"_id": 1, "grades": [95, 92, 90]}, {"_id": 1, "grades": [95, 92, 90]}, changed=False, array_filters=filters)
    check(update, {"_id": 3, "grades": [95, 110, 100]}, {"_id": 3, "grades": [95, 100, 100]}, array_filters=filters)


def test_filtered_positional_on_embedded_field_docs_example():
    doc = {
        "_id": 1,
        "grades": [{"grade": 80, "mean": 75, "std": 6}, {"grade": 85, "mean": 90, "std": 4}, {"grade": 85, "mean": 85, "std": 6}],
    }
    expected = {
        "_id": 1,
        "grades": [{"grade": 80, "mean": 75, "std": 6}, {"grade": 85, "mean": 100, "std": 4}, {"grade": 85, "mean": 100, "std": 6}],
    }
    check({"$set": {"grades.$[elem].mean": 100}}, doc, expected, array_filters=[{"elem.grade": {"$gte": 85}}])


def test_filtered_positional_with_multiple_conditions_docs_example():
    update = {"$inc": {"grades.$[elem].std": -1}}
    filters = [{"elem.grade": {"$gte": 80}, "elem.std": {"$gt": 5}}]
    check(
        update,
        {"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 6}, {"grade": 85, "mean": 100, "std": 4}, {"grade": 85, "mean": 100, "std": 6}]},
        {"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 5}, {"grade": 85, "mean": 100, "std": 4}, {"grade": 85, "mean": 100, "std": 5}]},
        array_filters=filters,
    )
    check(
        update,
        {"_id": 2, "grades": [{"grade": 90, "mean": 100, "std": 6}, {"grade": 87, "mean": 100, "std": 3}, {"grade": 85, "mean": 100, "std": 4}]},
        {"_id": 2, "grades": [{"grade": 90, "mean": 100, "std": 5}, {"grade": 87, "mean": 100, "std": 3}, {"grade": 85, "mean": 100, "std": 4}]},
        array_filters=filters,
    )


def test_nested_filtered_positional_docs_example():
    doc = {
        "_id": 1,
        "grades": [
            {"type": "quiz", "questions": [10, 8, 5]},
            {"type": "quiz", "questions": [8, 9, 6]},
            {"type": "hw", "questions": [5, 4, 3]},
            {"type": "exam", "questions": [25, 10, 23, 0]},
        ],
    }
    expected = {
        "_id": 1,
        "grades": [
            {"type": "quiz", "questions": [12, 10, 5]},
            {"type": "quiz", "questions": [10, 11, 6]},
            {"type": "hw", "questions": [5, 4, 3]},
            {"type": "exam", "questions": [25, 10, 23, 0]},
        ],
    }
    check(
        {"$inc": {"grades.$[t].questions.$[score]": 2}},
        doc,
        expected,
        array_filters=[{"t.type": "quiz"}, {"score": {"$gte": 8}}],
    )


def test_filters_are_evaluated_before_any_element_changes():
    check({"$inc": {"a.$[x]": 5}}, {"_id": 1, "a": [1, 6, 2]}, {"_id": 1, "a": [6, 6, 7]}, array_filters=[{"x": {"$lt": 5}}])


def test_updates_reaching_the_same_element_are_merged():
    check(
        {"$set": {"a.$[].b": 1, "a.$[x].c": 2}},
        {"_id": 1, "a": [{"k": 0}, {"k": 5}]},
        {"_id": 1, "a": [{"k": 0, "b": 1}, {"k": 5, "b": 1, "c": 2}]},
        array_filters=[{"x.k": 5}],
    )
    check_error(
        {"$set": {"a.$[].b": 1, "a.$[x].b": 2}},
        {"_id": 1, "a": [{"b": 0}, {"b": 5}]},
        40,
        "Update created a conflict at 'a.1.b'",
        array_filters=[{"x.b": 5}],
    )


def test_array_update_on_missing_path_and_non_array():
    check_error(
        {"$set": {"myArray.$[]": 10}},
        {"_id": 1},
        2,
        "The path 'myArray' must exist in the document in order to apply array updates.",
    )
    check_error({"$set": {"a.$[]": 10}}, {"_id": 1, "a": 5}, 2, "Cannot apply array updates to non-array element a: 5")


def test_all_positional_on_upsert_uses_the_query_equality_docs_example():
    # updateOne({myArray: [5, 8]}, {$set: {"myArray.$[]": 10}}, {upsert: true}) inserts {myArray: [10, 10]}
    changed, doc = apply({"$set": {"myArray.$[]": 10}}, {"myArray": [5, 8]}, is_insert=True)
    assert changed is True
    assert list(doc) == ["_id", "myArray"] and doc["myArray"] == [10, 10]


@pytest.mark.parametrize(
    "update, filters, code, message",
    [
        ({"$set": {"a.$[x]": 1}}, [{"y": 1}], 2, "No array filter found for identifier 'x' in path 'a.$[x]'"),
        ({"$set": {"a": 1}}, [{"y": 1}], 9, "The array filter for identifier 'y' was not used in the update { $set: { a: 1 } }"),
        (
            {"$set": {"a.$[x]": 1}},
            [{"x": 1, "y": 1}],
            9,
            "Error parsing array filter :: caused by :: Expected a single top-level field name, found 'x' and 'y'",
        ),
        (
            {"$set": {"a.$[X]": 1}},
            [{"X": 1}],
            2,
            "Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string "
            "beginning with a lowercase letter, found 'X'",
        ),
        (
            {"$set": {"a.$[x]": 1}},
            [{"x": 1}, {"x": 2}],
            9,
            "Found multiple array filters with the same top-level field name x",
        ),
        ({"$set": {"a.$[x]": 1}}, [{}], 9, "Cannot use an expression without a top-level field name in arrayFilters"),
        (
            {"$set": {"$[x]": 1}},
            [{"x": 1}],
            2,
            "Cannot have array filter identifier (i.e. '$[<id>]') element in the first position in path '$[x]'",
        ),
        ({"$set": {"a.$[x]": 1}}, [{"x": {"$foo": 1}}], 2, "Error parsing array filter :: caused by :: unknown operator: $foo"),
    ],
)
def test_array_filter_errors(update, filters, code, message):
    check_error(update, None, code, message, array_filters=filters)


def test_array_filter_with_logical_operators_names_one_identifier():
    check(
        {"$set": {"a.$[e]": 0}},
        {"_id": 1, "a": [1, 5, 9]},
        {"_id": 1, "a": [0, 5, 0]},
        array_filters=[{"$or": [{"e": {"$lt": 2}}, {"e": {"$gt": 8}}]}],
    )


def test_filter_on_nested_arrays_sees_the_element_like_a_query_field():
    # an element that is an array matches a scalar condition on any of its members
    check({"$set": {"a.$[e]": 0}}, {"_id": 1, "a": [[1, 2], [3]]}, {"_id": 1, "a": [0, [3]]}, array_filters=[{"e": 2}])


def test_positional_results_keep_array_order_and_types():
    changed, doc = apply({"$mul": {"a.$[]": 2}}, {"_id": 1, "a": [1, 2.5, Int64(3)]})
    assert_exact(doc, {"_id": 1, "a": [2, 5.0, Int64(6)]})


def test_collation_applies_to_pull_pull_all_and_push_sort():
    strength2 = {"locale": "en", "strength": 2}
    check({"$pull": {"a": "ABC"}}, {"_id": 1, "a": ["abc", "x"]}, {"_id": 1, "a": ["x"]}, collation=strength2)
    check({"$pull": {"a": {"$in": ["ABC"]}}}, {"_id": 1, "a": ["abc", "x"]}, {"_id": 1, "a": ["x"]}, collation=strength2)
    check({"$pullAll": {"a": ["X"]}}, {"_id": 1, "a": ["abc", "x"]}, {"_id": 1, "a": ["abc"]}, collation=strength2)
    check(
        {"$push": {"a": {"$each": ["B"], "$sort": 1}}},
        {"_id": 1, "a": ["c", "a"]},
        {"_id": 1, "a": ["a", "B", "c"]},
        collation=strength2,
    )
    # without a collation upper case sorts first
    check({"$push": {"a": {"$each": ["B"], "$sort": 1}}}, {"_id": 1, "a": ["c", "a"]}, {"_id": 1, "a": ["B", "a", "c"]})


# Cases from the server's jstests/core/update_arrayFilters.js


def test_array_filters_with_every_modifier():
    f0 = [{"i": 0}]
    check({"$unset": {"a.$[i]": True}}, {"_id": 0, "a": [0, 1, 0, 1]}, {"_id": 0, "a": [None, 1, None, 1]}, array_filters=f0)
    check({"$mul": {"a.$[i]": 3}}, {"_id": 0, "a": [0, 2, 0, 2]}, {"_id": 0, "a": [0, 6, 0, 6]}, array_filters=[{"i": 2}])
    check({"$addToSet": {"a.$[i]": 2}}, {"_id": 0, "a": [[0], [1]]}, {"_id": 0, "a": [[0, 2], [1]]}, array_filters=f0)
    check({"$pop": {"a.$[i]": 1}}, {"_id": 0, "a": [[0, 1], [1, 2]]}, {"_id": 0, "a": [[0], [1, 2]]}, array_filters=f0)
    check({"$pop": {"a.$[]": 1}}, {"_id": 0, "a": [[0]]}, {"_id": 0, "a": [[]]})
    check(
        {"$pullAll": {"a.$[]": [0, 2]}},
        {"_id": 0, "a": [[0, 1, 2, 3], [1, 2, 3, 4]]},
        {"_id": 0, "a": [[1, 3], [1, 3, 4]]},
    )
    check({"$pull": {"a.$[i]": 1}}, {"_id": 0, "a": [[0, 1], [1, 2]]}, {"_id": 0, "a": [[0, 1], [2]]}, array_filters=[{"i": 2}])
    check({"$bit": {"a.$[]": {"or": 10}}}, {"_id": 0, "a": [0, 2]}, {"_id": 0, "a": [10, 10]})
    check({"$min": {"a.$[].c": 0}}, {"_id": 0, "a": [{"b": 0, "c": 1}, {"b": 0, "c": -1}]}, {"_id": 0, "a": [{"b": 0, "c": 0}, {"b": 0, "c": -1}]})


def test_array_filters_respect_the_collation():
    check(
        {"$set": {"a.$[i]": "bar"}},
        {"_id": 0, "a": ["foo", "FOO"]},
        {"_id": 0, "a": ["bar", "bar"]},
        array_filters=[{"i": "foo"}],
        collation={"locale": "en_US", "strength": 2},
    )


def test_array_of_arrays_and_nested_documents():
    check({"$set": {"a.$[].$[j]": 2}}, {"_id": 0, "a": [[0, 1], [0, 1]]}, {"_id": 0, "a": [[2, 1], [2, 1]]}, array_filters=[{"j": 0}])
    check(
        {"$set": {"a.$[i].c.$[j].d": 2}},
        {"_id": 0, "a": [{"b": 0, "c": [{"d": 0}, {"d": 1}]}, {"b": 1, "c": [{"d": 0}, {"d": 1}]}]},
        {"_id": 0, "a": [{"b": 0, "c": [{"d": 2}, {"d": 1}]}, {"b": 1, "c": [{"d": 0}, {"d": 1}]}]},
        array_filters=[{"i.b": 0}, {"j.d": 0}],
    )


@pytest.mark.parametrize(
    "update, message",
    [
        ({"$set": {"a.$[i]": 0, "a.$": 0}}, "Updating the path 'a.$' would create a conflict at 'a'"),
        ({"$set": {"a.$[i]": 0, "a.0": 0}}, "Updating the path 'a.0' would create a conflict at 'a'"),
        ({"$set": {"a.$[i]": 0, "a.b": 0}}, "Updating the path 'a.b' would create a conflict at 'a'"),
    ],
)
def test_identifier_conflicts_with_other_components(update, message):
    check_error(update, None, 40, message, array_filters=[{"i": 0}])


def test_malformed_identifier_is_a_field_name():
    check_error(
        {"$set": {"a.$[i.j]": 1, "b.$[i]": 1}},
        {"_id": 0, "a": [0], "b": [{"j": 0}]},
        28,
        "Cannot create field '$[i' in element {a: [ 0 ]}",
        array_filters=[{"i.j": 0}],
    )


def test_nested_array_update_conflict_detection():
    filters = [{"i.x": 0}, {"j.x": 0}, {"k.y": 0}]
    check(
        {"$set": {"a.$[i].b.$[k].c": 1, "a.$[j].b.$[k].d": 1}},
        {"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 0, "d": 0}]}]},
        {"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 1, "d": 1}]}]},
        array_filters=filters,
    )
    two = {"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 0}]}, {"x": 1, "b": [{"y": 0, "c": 0}]}]}
    update = {"$set": {"a.$[i].b.$[k].c": 1, "a.$[j].b.$[k].c": 2}}
    check_error(update, dict(two), 40, "Update created a conflict at 'a.0.b.$[k].c'", array_filters=filters)
    check(
        update,
        dict(two),
        {"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 1}]}, {"x": 1, "b": [{"y": 0, "c": 2}]}]},
        array_filters=[{"i.x": 0}, {"j.x": 1}, {"k.y": 0}],
    )
    three = {"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 0}]}, {"x": 1, "b": [{"y": 0, "c": 0}, {"y": 1, "c": 0}]}]}
    update = {"$set": {"a.$[i].b.$[k].c": 1, "a.$[j].b.$[m].c": 2}}
    check_error(
        update,
        dict(three),
        40,
        "Update created a conflict at 'a.0.b.0.c'",
        array_filters=[{"i.x": 0}, {"j.x": 0}, {"k.y": 0}, {"m.y": 0}],
    )
    check(
        update,
        dict(three),
        {"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 0}]}, {"x": 1, "b": [{"y": 0, "c": 1}, {"y": 1, "c": 2}]}]},
        array_filters=[{"i.x": 1}, {"j.x": 1}, {"k.y": 0}, {"m.y": 1}],
    )


def test_unused_filter_message_renders_the_update():
    check_error(
        {"$set": {"a.$[i]": 5.0}},
        None,
        9,
        "The array filter for identifier 'j' was not used in the update { $set: { a.$[i]: 5.0 } }",
        array_filters=[{"i": 0}, {"j": 0}],
    )
    check_error(
        {"$rename": {"a": "b"}},
        None,
        9,
        'The array filter for identifier \'i\' was not used in the update { $rename: { a: "b" } }',
        array_filters=[{"i": 0}],
    )


def test_positional_inside_a_filtered_element():
    # update_array_node_test.cpp: {$set: {"a.$[i].b.$": 1}} with the query's match at index 1
    check(
        {"$set": {"a.$[i].b.$": 1}},
        {"_id": 0, "a": [{"b": [0, 0], "c": 0}]},
        {"_id": 0, "a": [{"b": [0, 1], "c": 0}]},
        array_filters=[{"i.c": 0}],
        position=1,
    )
