"""Upsert seeds and inserts, replacement documents, pipeline updates, failure contract.

Sources: the "upsert behavior" sections of the update methods' reference
pages, the driver CRUD spec tests (replaceOne/updateOne with upsert), the
server's update code (produce_document_for_upsert.cpp,
object_replace_executor.cpp, pipeline_executor.cpp, path_support.cpp) and
its JIRA tickets quoting real server errors (SERVER-17399, SERVER-18076).
"""

from __future__ import annotations

import random

import bson
import pytest
from bson import ObjectId, Timestamp
from test_updates_support import apply, assert_exact, check, check_error, exact

from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.updates import compile_replacement, compile_update, upsert_seed

# ---------------------------------------------------------------------------
# upsert_seed: the equality fields of the filter
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filter_spec, seed",
    [
        ({"_id": 4}, {"_id": 4}),
        ({"name": "Andy"}, {"name": "Andy"}),
        ({"a": 1, "b": {"$gt": 5}}, {"a": 1}),
        ({"a": {"$eq": 1, "$gt": 0}}, {"a": 1}),
        ({"$and": [{"a": 1}, {"b.c": 2}]}, {"a": 1, "b": {"c": 2}}),
        ({"$or": [{"a": 1}]}, {"a": 1}),
        ({"$or": [{"a": 1}, {"b": 2}]}, {}),
        ({"$nor": [{"a": 1}]}, {}),
        ({"a": {"$in": [5]}}, {"a": 5}),
        ({"a": {"$in": [5, 6]}}, {}),
        ({"a": {"$all": [5]}}, {"a": 5}),
        ({"a": {"$ne": 1}, "b": {"$exists": True}}, {}),
        ({"a": bson.Regex("^x")}, {}),
        ({"a": {"b": 1}}, {"a": {"b": 1}}),
        ({"a": None}, {"a": None}),
        ({"a": [1, 2]}, {"a": [1, 2]}),
        ({"a.0": 5}, {"a": {"0": 5}}),
        ({"b": 1, "a.x": {"$eq": 2}, "c": {"$gt": 3}, "_id": 9}, {"_id": 9, "a": {"x": 2}, "b": 1}),
        # Upsert with a dotted _id query (modifier-style): the _id is assembled
        ({"_id.name": "Robert Frost", "_id.uid": 0}, {"_id": {"name": "Robert Frost", "uid": 0}}),
    ],
)
def test_upsert_seed(filter_spec, seed):
    assert_exact(upsert_seed(filter_spec), seed)


def test_upsert_seed_conflicts():
    check_error_seed({"a": 1, "a.b": 2}, 54, "cannot infer query fields to set, both paths 'a.b' and 'a' are matched")
    check_error_seed({"$and": [{"a": 1}, {"a": 2}]}, 54, "cannot infer query fields to set, path 'a' is matched twice")
    check_error_seed({"a": {"$all": [1, 2]}}, 54, "cannot infer query fields to set, path 'a' is matched twice")


def test_upsert_seed_for_replacement_takes_only_id():
    assert_exact(upsert_seed({"_id": 4, "x": 1, "y": {"$gt": 1}}, replacement=True), {"_id": 4})
    assert upsert_seed({"x": 1}, replacement=True) == {}
    # SERVER-17399: a dotted _id cannot seed a replacement-style upsert
    check_error_seed(
        {"_id.hash": "e6577bc7"},
        111,
        "field at '_id' must be exactly specified, field at sub-path '_id.hash'found",
        replacement=True,
    )


def test_upsert_seed_values_are_copies():
    spec = {"a": {"b": [1]}}
    seed = upsert_seed(spec)
    seed["a"]["b"].append(2)
    assert spec == {"a": {"b": [1]}}


def check_error_seed(spec, code, message, **kwargs):
    with pytest.raises(ServerError) as info:
        upsert_seed(spec, **kwargs)
    assert (info.value.code, info.value.errmsg) == (code, message)


# ---------------------------------------------------------------------------
# The insert half of an upsert (apply(..., is_insert=True))
# ---------------------------------------------------------------------------


def upsert(filter_spec, update):
    doc = upsert_seed(filter_spec)
    assert compile_update(update).apply(doc, is_insert=True) is True
    return doc


def test_upsert_with_id_filter_crud_spec():
    # updateOne.json "UpdateOne with upsert when no documents match"
    assert_exact(upsert({"_id": 4}, {"$inc": {"x": 1}}), {"_id": 4, "x": 1})


def test_upsert_generates_an_id_first():
    doc = upsert({"a": 1}, {"$set": {"b": 2}})
    assert list(doc) == ["_id", "a", "b"]
    assert isinstance(doc["_id"], ObjectId)


def test_upsert_set_on_insert_and_set():
    doc = upsert({"z": 0}, {"$setOnInsert": {"z": 1}, "$set": {"x": 1}})
    assert list(doc) == ["_id", "z", "x"] and doc["z"] == 1 and doc["x"] == 1


def test_upsert_id_from_set_on_insert_moves_first():
    assert_exact(upsert({"a": 1}, {"$setOnInsert": {"_id": 5}}), {"_id": 5, "a": 1})


def test_upsert_cannot_change_the_queried_id():
    # SERVER-18076: {_id: 0} with $setOnInsert {_id: 1} is rejected
    doc = upsert_seed({"_id": 0})
    with pytest.raises(ServerError) as info:
        compile_update({"$setOnInsert": {"_id": 1}, "$set": {"x": 1}}).apply(doc, is_insert=True)
    assert (info.value.code, info.value.errmsg) == (
        66,
        "Performing an update on the path '_id' would modify the immutable field '_id'",
    )


def test_upsert_id_must_be_storable():
    doc = {}
    with pytest.raises(ServerError) as info:
        compile_update({"$set": {"_id": [1]}}).apply(doc, is_insert=True)
    assert (info.value.code, info.value.errmsg) == (53, "The '_id' value cannot be of type array")


def test_upsert_with_positional_operator_fails():
    with pytest.raises(ServerError) as info:
        compile_update({"$set": {"a.$": 1}}).apply({"a": [1]}, is_insert=True)
    assert (info.value.code, info.value.errmsg) == (
        2,
        "The positional operator did not find the match needed from the query.",
    )


def test_upsert_may_create_top_level_dollar_fields():
    # the new document is validated with top-level '$' names allowed
    doc = upsert({"a": 1}, {"$set": {"$x": 1}})
    assert doc["$x"] == 1


# ---------------------------------------------------------------------------
# Replacement documents
# ---------------------------------------------------------------------------


def test_replacement_keeps_the_id_first():
    d = {"_id": 1, "a": 1, "b": 2}
    assert compile_replacement({"c": 3, "a": 4}).apply(d) is True
    assert_exact(d, {"_id": 1, "c": 3, "a": 4})


def test_replacement_with_id_elsewhere_moves_it_first():
    d = {"_id": 1, "a": 1}
    compile_replacement({"b": 2, "_id": 1}).apply(d)
    assert_exact(d, {"_id": 1, "b": 2})


def test_identical_replacement_is_a_no_op():
    d = {"_id": 1, "a": 1}
    assert compile_replacement({"_id": 1, "a": 1}).apply(d) is False
    # without _id the replacement is never binary-equal to the stored document
    assert compile_replacement({"a": 1}).apply(d) is True
    assert_exact(d, {"_id": 1, "a": 1})


def test_replacement_cannot_change_the_id():
    with pytest.raises(ServerError) as info:
        compile_replacement({"_id": 2, "a": 1}).apply({"_id": 1})
    assert (info.value.code, info.value.errmsg) == (
        66,
        "After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2",
    )


def test_replacement_id_of_equal_value_and_other_type_is_accepted():
    d = {"_id": 1}
    compile_replacement({"_id": 1.0}).apply(d)
    assert_exact(d, {"_id": 1.0})


def test_replacement_top_level_dollar_fields():
    with pytest.raises(ServerError) as info:
        compile_replacement({"a": 1, "$x": 1}).apply({"_id": 1})
    assert (info.value.code, info.value.errmsg) == (
        52,
        "The dollar ($) prefixed field '$x' in '$x' is not allowed in the context of an update's replacement "
        "document. Consider using an aggregation pipeline with $replaceWith.",
    )
    with pytest.raises(ServerError) as info:
        compile_replacement({"a": 1, "$id": 5}).apply({"_id": 1})
    assert (info.value.code, info.value.errmsg) == (55, "Found $id field without a $ref before it, which is invalid.")
    d = {"_id": 1}
    compile_replacement({"a": {"$x": 1}, "$ref": "c", "$id": 5}).apply(d)
    assert_exact(d, {"_id": 1, "a": {"$x": 1}, "$ref": "c", "$id": 5})


def test_replacement_zero_timestamps_get_the_current_time():
    d = {"_id": 1}
    compile_replacement({"t": Timestamp(0, 0), "n": {"t": Timestamp(0, 0)}}).apply(d)
    assert d["t"].time > 0 and d["n"]["t"] == Timestamp(0, 0)


def test_replacement_upserts_crud_spec():
    # replaceOne.json: upsert with and without _id in the replacement
    for replacement in ({"x": 1}, {"_id": 4, "x": 1}):
        doc = upsert_seed({"_id": 4}, replacement=True)
        compile_replacement(replacement).apply(doc, is_insert=True)
        assert_exact(doc, {"_id": 4, "x": 1})
    doc = upsert_seed({"x": {"$gt": 1}}, replacement=True)
    compile_replacement({"x": 1}).apply(doc, is_insert=True)
    assert list(doc) == ["_id", "x"] and isinstance(doc["_id"], ObjectId)


def test_update_document_without_operators_is_a_replacement():
    up = compile_update({"a": 1})
    assert up.is_replacement and not up.is_pipeline
    d = {"_id": 1, "b": 2}
    assert up.apply(d) is True
    assert_exact(d, {"_id": 1, "a": 1})
    # a later '$' field makes it an invalid replacement, as on a server
    with pytest.raises(ServerError) as info:
        compile_update({"a": 1, "$set": {"b": 1}}).apply({"_id": 1})
    assert info.value.code == 52


# ---------------------------------------------------------------------------
# Pipeline-style updates (delegated to the aggregation engine)
# ---------------------------------------------------------------------------


def test_pipeline_set_stage():
    check([{"$set": {"total": {"$add": ["$a", "$b"]}}}], {"_id": 1, "a": 1, "b": 2}, {"_id": 1, "a": 1, "b": 2, "total": 3})


def test_pipeline_without_effect_is_a_no_op():
    check([{"$set": {"a": "$a"}}], {"_id": 1, "a": 1}, {"_id": 1, "a": 1}, changed=False)


def test_pipeline_replace_with_keeps_id_first():
    check(
        [{"$replaceWith": {"$mergeObjects": [{"x": 0}, "$$ROOT"]}}],
        {"_id": 1, "a": 1},
        {"_id": 1, "x": 0, "a": 1},
    )


def test_pipeline_replace_root_without_id_keeps_the_id():
    check([{"$replaceRoot": {"newRoot": "$sub"}}], {"_id": 1, "sub": {"k": 2}}, {"_id": 1, "k": 2})


def test_pipeline_let_variables():
    check([{"$set": {"a": "$$v"}}], {"_id": 1}, {"_id": 1, "a": 7}, variables={"v": 7})


def test_pipeline_errors():
    check_error([{"$match": {}}], None, 72, "$match is not allowed to be used within an update")
    check_error([{"$foo": {}}], None, 40324, "Unrecognized pipeline stage name: '$foo'")
    check_error([{"$set": {"a": 1}, "$unset": "b"}], None, 40323, "A pipeline stage specification object must contain exactly one field.")
    check_error(
        [{"$set": {"a": 1}}], None, 9, "arrayFilters may not be specified for pipeline-style updates", array_filters=[{"x": 1}]
    )
    check_error(
        [{"$replaceWith": {"_id": 2}}],
        {"_id": 1},
        66,
        "After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2",
    )


def test_pipeline_upsert_insert():
    doc = upsert_seed({"a": 1})
    assert compile_update([{"$set": {"b": {"$multiply": ["$a", 10]}}}]).apply(doc, is_insert=True) is True
    assert list(doc) == ["_id", "a", "b"] and doc["b"] == 10


# ---------------------------------------------------------------------------
# The failure contract, randomized
# ---------------------------------------------------------------------------

_PATHS = ["a", "b", "a.b", "a.0", "a.1.c", "c.d", "_id", "arr", "arr.0", "arr.5", "n", "s"]
_VALUES = [0, 1, -1, 2.5, "x", None, [1, 2], {"k": 1}, True, bson.Int64(2**62), [], {}]


def _random_doc(rng: random.Random) -> dict:
    doc = {"_id": rng.choice([1, "k", ObjectId(b"\x00" * 12)])}
    for name in rng.sample(["a", "b", "c", "arr", "n", "s"], rng.randint(0, 6)):
        shape = rng.random()
        if shape < 0.3:
            doc[name] = rng.choice(_VALUES)
        elif shape < 0.6:
            doc[name] = [rng.choice(_VALUES) for _ in range(rng.randint(0, 3))]
        else:
            doc[name] = {rng.choice("bcd"): rng.choice(_VALUES)}
    return doc


def _random_update(rng: random.Random) -> dict:
    update: dict = {}
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(
            ["$set", "$unset", "$inc", "$mul", "$min", "$max", "$push", "$addToSet", "$pop", "$pull", "$pullAll", "$rename"]
        )
        path = rng.choice(_PATHS)
        if op in ("$inc", "$mul"):
            arg = rng.choice([1, -2, 0.5, bson.Int64(3), "x"])
        elif op == "$pop":
            arg = rng.choice([1, -1])
        elif op == "$pullAll":
            arg = [rng.choice(_VALUES)]
        elif op == "$rename":
            arg = rng.choice([p for p in _PATHS if p != path])
        else:
            arg = rng.choice(_VALUES)
        update.setdefault(op, {})[path] = arg
    return update


def test_failed_updates_change_nothing_but_the_private_copy():
    """Updates run on a private copy: errors are deterministic, the source and the
    spec are never touched, and an update reporting no change changed nothing."""
    rng = random.Random(20261127)
    outcomes = {"ok": 0, "error": 0, "compile": 0}
    for _ in range(600):
        doc = _random_doc(rng)
        update = _random_update(rng)
        raw = exact(doc)
        spec_raw = exact(update)
        try:
            updater = compile_update(update)
        except ServerError:
            outcomes["compile"] += 1
            continue
        first = bson.decode(bson.encode(doc))
        second = bson.decode(bson.encode(doc))
        try:
            changed = updater.apply(first)
        except ServerError as exc:
            outcomes["error"] += 1
            with pytest.raises(ServerError) as again:
                updater.apply(second)
            assert (again.value.code, again.value.errmsg) == (exc.code, exc.errmsg)
        else:
            outcomes["ok"] += 1
            assert updater.apply(second) is changed
            assert exact(first) == exact(second)  # no state shared between documents
            if not changed:
                assert exact(first) == raw
            elif "$unset" not in update:
                assert exact(first) != raw
        assert exact(doc) == raw
        assert exact(update) == spec_raw
    # the generator exercises all three outcomes
    assert min(outcomes.values()) > 30, outcomes


def test_apply_on_error_may_leave_the_copy_half_updated():
    # documented contract: the caller discards the copy on error
    d = {"_id": 1, "a": 1, "z": "x"}
    with pytest.raises(ServerError):
        compile_update({"$set": {"a": 2}, "$inc": {"z": 1}}).apply(d)
    assert d["a"] == 2


def test_apply_result_flag_matches_collection_usage():
    changed, doc = apply({"$set": {"a": 1}}, {"_id": 1, "a": 1})
    assert changed is False and doc == {"_id": 1, "a": 1}


def test_upsert_cases_from_the_server_embedding_library():
    # stitch_support_test.cpp TestUpsert / TestUpsertWithReplacementUpdate
    assert_exact(upsert({"_id": 1, "a": {"$gt": 2}}, {"$inc": {"b": 1}}), {"_id": 1, "b": 1})
    doc = upsert_seed({"_id": 1, "a": 2, "b": 3}, replacement=True)
    compile_replacement({"b": 4}).apply(doc, is_insert=True)
    assert_exact(doc, {"_id": 1, "b": 4})
    doc = upsert_seed({"$and": [{"_id": 1}]}, replacement=True)
    compile_replacement({"a": 2}).apply(doc, is_insert=True)
    assert_exact(doc, {"_id": 1, "a": 2})
    doc = upsert_seed({"a": 1})
    with pytest.raises(ServerError) as info:
        compile_update({"$set": {"a.$[].b": 1}}).apply(doc, is_insert=True)
    assert (info.value.code, info.value.errmsg) == (2, "Cannot apply array updates to non-array element a: 1")
