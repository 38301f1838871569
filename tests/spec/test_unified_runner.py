"""The spec runner's own rules: matching, applicability, result shapes.

A runner that matches too loosely would let engine bugs pass as spec
passes, so its rules are pinned here against the Unified Test Format's
"Evaluating Matches" section.
"""

from __future__ import annotations

import datetime

import pytest
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId
from pymongo.errors import BulkWriteError, OperationFailure
from pymongo.results import BulkWriteResult, InsertManyResult, UpdateResult

import unified_runner as ur


def match(expected, actual, root=True, **kw):
    ur.Matcher({}).match(expected, actual, root=root, **kw)


def no_match(expected, actual, root=True, **kw):
    with pytest.raises(ur.MatchError):
        match(expected, actual, root=root, **kw)


# -- numbers: by value, but bool and Decimal128 are their own types --------

@pytest.mark.parametrize("expected, actual", [(1, 1.0), (1, Int64(1)), (Int64(5), 5), (2.0, 2)])
def test_numbers_compare_by_value(expected, actual):
    match({"n": expected}, {"n": actual})


@pytest.mark.parametrize("expected, actual", [(1, 1.5), (1, True), (0, False), (True, 1),
                                              (1, Decimal128("1")), (1, "1"), (None, 0)])
def test_numbers_do_not_match_other_values_or_types(expected, actual):
    no_match({"n": expected}, {"n": actual})


# -- documents: extra keys only at the root ---------------------------------

def test_root_document_may_have_extra_fields_but_nested_may_not():
    match({"x": 1}, {"x": 1, "y": 2})
    no_match({"x": {"y": 1}}, {"x": {"y": 1, "z": 1}})
    no_match({"x": 1, "y": 1}, {"x": 1})
    match({"x": 1, "y": 1}, {"y": 1, "x": 1})  # key order is free


def test_iterable_results_make_each_element_a_root_document():
    docs = [{"_id": 1, "x": 1}, {"_id": 2, "x": 2}]
    match([{"_id": 1}, {"_id": 2}], docs, root_elements=True)
    no_match([{"_id": 1}, {"_id": 2}], docs)  # e.g. distinct: arrays of values
    no_match([{"_id": 1}], docs, root_elements=True)  # same length required


# -- special operators -------------------------------------------------------

def test_unset_or_matches():
    match({"insertedId": {"$$unsetOrMatches": 2}}, {})
    match({"insertedId": {"$$unsetOrMatches": 2}}, {"insertedId": 2})
    no_match({"insertedId": {"$$unsetOrMatches": 2}}, {"insertedId": 3})
    match({"$$unsetOrMatches": {"n": 1}}, ur._UNSET)
    # it does not change root-ness: the top level still allows extra keys
    match({"$$unsetOrMatches": {"n": 1}}, {"n": 1, "other": 2})


def test_exists_and_type():
    match({"a": {"$$exists": True}}, {"a": None})
    no_match({"a": {"$$exists": True}}, {})
    match({"a": {"$$exists": False}}, {})
    no_match({"a": {"$$exists": False}}, {"a": 1})
    match({"a": {"$$type": ["int", "long"]}}, {"a": Int64(3)})
    match({"a": {"$$type": "objectId"}}, {"a": ObjectId()})
    match({"a": {"$$type": "object"}}, {"a": {"any": "thing"}})
    no_match({"a": {"$$type": "string"}}, {"a": 1})
    no_match({"a": {"$$type": "int"}}, {})


def test_matches_entity():
    ur.Matcher({"id0": 5}).match({"_id": {"$$matchesEntity": "id0"}}, {"_id": 5}, root=True)
    with pytest.raises(ur.MatchError):
        ur.Matcher({"id0": 5}).match({"_id": {"$$matchesEntity": "id0"}}, {"_id": 6}, root=True)


def test_outcome_is_exact_at_every_level_but_ignores_key_order():
    ur.match_exact([{"_id": 1, "a": {"b": 1, "c": 2}}], [{"a": {"c": 2, "b": 1.0}, "_id": 1}])
    with pytest.raises(ur.MatchError):
        ur.match_exact([{"_id": 1}], [{"_id": 1, "x": 1}])
    with pytest.raises(ur.MatchError):
        ur.match_exact([{"_id": 1}], [{"_id": 1}, {"_id": 2}])


def test_dates_compare_as_utc_instants():
    aware = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    match({"d": aware}, {"d": datetime.datetime(2020, 1, 1)})


# -- result shapes -----------------------------------------------------------

def test_result_documents():
    update = UpdateResult({"n": 1, "nModified": 0, "upserted": 7}, True)
    assert ur.result_document(update) == {"matchedCount": 0, "modifiedCount": 0,
                                          "upsertedCount": 1, "upsertedId": 7}
    assert ur.result_document(InsertManyResult([4, 5], True)) == {"insertedIds": {"0": 4, "1": 5}}
    assert ur.result_document(UpdateResult(None, False)) == {"acknowledged": False}
    bulk = BulkWriteResult({"nInserted": 2, "nUpserted": 1, "nMatched": 3, "nModified": 1,
                            "nRemoved": 0, "upserted": [{"index": 3, "_id": 9}]}, True)
    assert ur.result_document(bulk) == {"deletedCount": 0, "insertedCount": 2, "matchedCount": 3,
                                        "modifiedCount": 1, "upsertedCount": 1,
                                        "upsertedIds": {"3": 9}}


def test_expected_error_rules():
    matcher = ur.Matcher({})
    server = OperationFailure("E11000 duplicate key", 11000,
                              {"code": 11000, "codeName": "DuplicateKey", "keyValue": {"_id": 1}})
    ur._check_error({"isError": True, "isClientError": False, "errorCode": 11000,
                     "errorCodeName": "DuplicateKey", "errorContains": "DUPLICATE",
                     "errorResponse": {"keyValue": {"_id": 1}}}, server, matcher)
    for wrong in ({"isClientError": True}, {"errorCode": 2}, {"errorContains": "nope"},
                  {"errorResponse": {"keyValue": {"_id": 2}}}):
        with pytest.raises(ur.MatchError):
            ur._check_error(wrong, server, matcher)
    ur._check_error({"isClientError": True}, ValueError("update only works with $ operators"), matcher)
    with pytest.raises(ur.MatchError):  # a signature mismatch is not a validation error
        ur._check_error({"isClientError": True},
                        TypeError("f() got an unexpected keyword argument 'x'"), matcher)
    bulk = BulkWriteError({"writeErrors": [{"index": 1, "code": 11000, "errmsg": "dup"}],
                           "nInserted": 1, "nUpserted": 0, "nMatched": 0, "nModified": 0,
                           "nRemoved": 0, "upserted": []})
    ur._check_error({"expectResult": {"insertedCount": 1, "upsertedIds": {}}}, bulk, matcher)
    with pytest.raises(ur.MatchError):
        ur._check_error({"expectResult": {"insertedCount": 2}}, bulk, matcher)


# -- applicability -------------------------------------------------------------

def _case(test, file_reqs=None):
    spec = {"tests": [test], "createEntities": []}
    if file_reqs is not None:
        spec["runOnRequirements"] = file_reqs
    case = ur.SpecCase(file="f", description="d", test=test, spec=spec)
    ur._classify(case)
    return case


OP = {"name": "find", "object": "collection0", "arguments": {"filter": {}}, "expectResult": []}


def test_applicability_follows_a_single_7_0_server():
    assert _case({"operations": [OP]}).applicable
    assert _case({"operations": [OP], "runOnRequirements": [{"minServerVersion": "4.4"}]}).applicable
    assert _case({"operations": [OP], "runOnRequirements": [{"maxServerVersion": "7.99"}]}).applicable
    old = _case({"operations": [OP], "runOnRequirements": [{"maxServerVersion": "4.2.99"}]})
    assert not old.applicable and not old.beyond_7
    new = _case({"operations": [OP], "runOnRequirements": [{"minServerVersion": "8.0"}]})
    assert not new.applicable and new.beyond_7
    assert not _case({"operations": [OP]}, [{"topologies": ["sharded"]}]).applicable
    assert _case({"operations": [OP]}, [{"topologies": ["replicaset", "sharded"]}]).applicable
    assert not _case({"operations": [OP]}, [{"serverless": "require"}]).applicable
    # any one requirement suffices
    assert _case({"operations": [OP]}, [{"topologies": ["sharded"]}, {"minServerVersion": "4.0"}]).applicable


def test_events_only_tests_are_not_applicable_and_others_ignore_events():
    events = [{"client": "client0", "events": []}]
    bare = dict(OP)
    del bare["expectResult"]
    assert not _case({"operations": [bare], "expectEvents": events}).applicable
    mixed = _case({"operations": [OP], "expectEvents": events})
    assert mixed.applicable and mixed.events_ignored


def test_a_crash_never_satisfies_expect_error():
    class Crashing:
        def find(self, *args, **kwargs):
            raise KeyError("oops")

    op = {"name": "find", "object": "c", "arguments": {"filter": {}}, "expectError": {"isError": True}}
    with pytest.raises(ur.MatchError, match="crashed with KeyError"):
        ur._run_operation(op, {"c": Crashing()}, {"c": "collection"}, ur.Matcher({}), False)


def test_memory_results_must_be_pymongo_classes():
    class LookAlikeUpdateResult:  # a result class from somewhere else
        acknowledged, matched_count, modified_count, upserted_id = True, 1, 1, None

    with pytest.raises(ur.MatchError, match="not a pymongo.results class"):
        ur._check_pymongo_type(LookAlikeUpdateResult())
    ur._check_pymongo_type(UpdateResult({"n": 1}, True))
    ur._check_pymongo_type(ValueError("update only works with $ operators"))
