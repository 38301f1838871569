"""The query planner: plan choice (visible in explain) and the key property
that index candidates are always a superset of the matching documents.

The superset property is checked against two oracles: an independent
reference matcher written here (equality, ``$in`` and ranges with the
server's array fan-out and type brackets, built on ``paths.iter_path_values``)
and, when available, the engine's own ``filters.compile_filter``.
"""

from __future__ import annotations

import datetime
import random

import pytest
from bson import Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex

from dongo.backends.memory.bsontypes import MISSING, bson_equal, sort_key
from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.indexes import IndexSet
from dongo.backends.memory.paths import iter_path_values, split_path_lenient


class Owner:
    full_name = "db.coll"

    def __init__(self) -> None:
        self.records: dict[int, tuple] = {}


def make(docs, *index_specs) -> tuple[Owner, IndexSet]:
    owner = Owner()
    indexes = IndexSet(owner)
    for rid, doc in enumerate(docs, 1):
        indexes.add(rid, doc)
        owner.records[rid] = (doc, b"")
    for keys, options in index_specs:
        indexes.create(keys, **options)
    return owner, indexes


def ix(keys, **options):
    return (keys, options)


def winning(indexes: IndexSet, filter_spec, **kwargs) -> dict:
    return indexes.plan(filter_spec, **kwargs).explain()["winningPlan"]


def ids(owner: Owner, rids) -> list:
    return [owner.records[rid][0]["_id"] for rid in rids]


# --------------------------------------------------------------------------
# Plan choice
# --------------------------------------------------------------------------

DOCS = [{"_id": i, "a": i % 4, "b": f"s{i % 3}", "c": i} for i in range(12)]


def test_id_equality_uses_idhack():
    owner, indexes = make(DOCS)
    plan = indexes.plan({"_id": 5})
    assert plan.explain()["winningPlan"] == {"stage": "IDHACK"}
    assert ids(owner, plan.record_ids) == [5]
    assert indexes.plan({"_id": 99}).record_ids == []
    assert indexes.plan({"_id": {"$eq": 5.0}}).record_ids == plan.record_ids


def test_no_usable_index_is_a_collection_scan():
    owner, indexes = make(DOCS, ix("a"))
    plan = indexes.plan({"c": {"$gt": 3}})
    assert plan.explain() == {
        "namespace": "db.coll",
        "indexFilterSet": False,
        "parsedQuery": {"c": {"$gt": 3}},
        "winningPlan": {"stage": "COLLSCAN", "filter": {"c": {"$gt": 3}}, "direction": "forward"},
        "rejectedPlans": [],
    }
    assert plan.record_ids == list(owner.records)
    assert winning(indexes, {}) == {"stage": "COLLSCAN", "direction": "forward"}


def test_equality_index_scan_touches_only_matching_entries():
    owner, indexes = make(DOCS, ix("a"))
    plan = indexes.plan({"a": 2})
    assert ids(owner, plan.record_ids) == [2, 6, 10]
    assert plan.explain()["winningPlan"] == {
        "stage": "FETCH",
        "inputStage": {
            "stage": "IXSCAN", "keyPattern": {"a": 1}, "indexName": "a_1", "isMultiKey": False,
            "multiKeyPaths": {"a": []}, "isUnique": False, "isSparse": False, "isPartial": False,
            "indexVersion": 2, "direction": "forward", "indexBounds": {"a": ["[2, 2]"]},
        },
    }


def test_residual_predicates_show_as_fetch_filter():
    _, indexes = make(DOCS, ix("a"))
    stage = winning(indexes, {"a": 2, "c": {"$lt": 5}})
    assert stage["stage"] == "FETCH" and stage["filter"] == {"c": {"$lt": 5}}


@pytest.mark.parametrize("query, bounds", [
    ({"c": {"$gt": 5}}, ["(5, inf.0]"]),
    ({"c": {"$gte": 5}}, ["[5, inf.0]"]),
    ({"c": {"$lt": 5}}, ["[-inf.0, 5)"]),
    ({"c": {"$gt": 2, "$lte": 7}}, ["(2, 7]"]),
    ({"c": {"$in": [7, 3, 3]}}, ["[3, 3]", "[7, 7]"]),
    ({"c": {"$gt": "m"}}, ['("m", {})']),
    ({"c": None}, ["[null, null]"]),
    ({"c": []}, ["[undefined, undefined]", "[[], []]"]),
    ({"c": [1, 2]}, ["[1, 1]", "[[ 1, 2 ], [ 1, 2 ]]"]),
    ({"$and": [{"c": {"$gte": 1}}, {"c": {"$lt": 3}}]}, ["[1, 3)"]),
])
def test_index_bounds_follow_type_brackets(query, bounds):
    _, indexes = make(DOCS, ix("c"))
    assert winning(indexes, query)["inputStage"]["indexBounds"] == {"c": bounds}


def test_descending_index_bounds_are_in_index_order():
    _, indexes = make(DOCS, ix([("c", -1)]))
    assert winning(indexes, {"c": {"$gt": 5}})["inputStage"]["indexBounds"] == {"c": ["[inf.0, 5)"]}


def test_multikey_field_uses_one_predicate_not_the_intersection():
    docs = [{"_id": 1, "t": [1, 10]}, {"_id": 2, "t": 5}, {"_id": 3, "t": [0, 20]}]
    owner, indexes = make(docs, ix("t"))
    plan = indexes.plan({"t": {"$gt": 6, "$lt": 4}})  # {_id: 1} and {_id: 3} match
    stage = plan.explain()["winningPlan"]["inputStage"]
    assert stage["isMultiKey"] is True and stage["multiKeyPaths"] == {"t": ["t"]}
    assert stage["indexBounds"] == {"t": ["(6, inf.0]"]}
    assert set(ids(owner, plan.record_ids)) >= {1, 3}


def test_multikey_scan_yields_each_record_once():
    docs = [{"_id": 1, "t": [1, 2, 3]}, {"_id": 2, "t": [2, 3]}]
    owner, indexes = make(docs, ix("t"))
    assert ids(owner, indexes.plan({"t": {"$gte": 1}}).record_ids) == [1, 2]


def test_compound_equality_prefix_then_range():
    owner, indexes = make(DOCS, ix([("a", 1), ("c", 1)]))
    plan = indexes.plan({"a": 1, "c": {"$gte": 5}})
    assert ids(owner, plan.record_ids) == [5, 9]
    assert plan.explain()["winningPlan"]["inputStage"]["indexBounds"] == {
        "a": ["[1, 1]"], "c": ["[5, inf.0]"]}


def test_most_selective_index_wins():
    _, indexes = make(DOCS, ix("a"), ix("c"))
    assert winning(indexes, {"a": 1, "c": 5})["inputStage"]["indexName"] == "c_1"
    assert winning(indexes, {"a": 1, "c": {"$gte": 0}})["inputStage"]["indexName"] == "a_1"


def test_sort_on_index_prefix_is_provided_in_both_directions():
    owner, indexes = make(DOCS, ix([("a", 1), ("c", -1)]))
    plan = indexes.plan({}, sort={"a": -1, "c": 1}, limit=3)
    assert plan.provides_sort is True
    stage = plan.explain()["winningPlan"]["inputStage"]
    assert stage["direction"] == "backward"
    assert stage["indexBounds"] == {"a": ["[MaxKey, MinKey]"], "c": ["[MinKey, MaxKey]"]}
    assert ids(owner, plan.record_ids)[:4] == [3, 7, 11, 2]
    assert indexes.plan({}, sort={"a": 1, "c": 1}).provides_sort is False


def test_equality_prefix_provides_sort_on_next_field():
    owner, indexes = make(DOCS, ix([("a", 1), ("c", 1)]))
    plan = indexes.plan({"a": 3}, sort={"c": -1})
    assert plan.provides_sort is True
    assert ids(owner, plan.record_ids) == [11, 7, 3]
    unsorted = indexes.plan({"a": {"$in": [1, 3]}}, sort={"c": 1})
    assert unsorted.provides_sort is False
    assert unsorted.explain()["winningPlan"]["stage"] == "SORT"


def test_multikey_index_does_not_provide_sort():
    owner, indexes = make([{"_id": 1, "t": [5, 1]}, {"_id": 2, "t": 3}], ix("t"))
    assert indexes.plan({}, sort={"t": 1}).provides_sort is False


def test_sparse_index_is_not_used_when_missing_fields_could_match():
    docs = [{"_id": 1, "s": 1}, {"_id": 2}, {"_id": 3, "s": None}]
    owner, indexes = make(docs, ix("s", sparse=True))
    assert winning(indexes, {"s": None})["stage"] == "COLLSCAN"
    assert winning(indexes, {"s": 1})["inputStage"]["indexName"] == "s_1"
    assert winning(indexes, {"s": {"$in": [1, None]}})["stage"] == "COLLSCAN"
    assert indexes.plan({}, sort={"s": 1}).explain()["winningPlan"]["stage"] == "SORT"


def test_hinted_sparse_index_returns_only_indexed_documents_like_the_server():
    docs = [{"_id": 1, "s": 1}, {"_id": 2}, {"_id": 3, "s": None}]
    owner, indexes = make(docs, ix("s", sparse=True))
    assert ids(owner, indexes.plan({}, hint="s_1").record_ids) == [3, 1]


def test_hint_by_name_key_pattern_and_natural():
    owner, indexes = make(DOCS, ix("a"), ix("c"))
    assert winning(indexes, {"a": 1}, hint="c_1")["inputStage"]["indexBounds"] == {"c": ["[MinKey, MaxKey]"]}
    assert winning(indexes, {"c": 1}, hint={"a": 1})["inputStage"]["indexName"] == "a_1"
    assert winning(indexes, {"c": 1}, hint=[("a", 1)])["inputStage"]["indexName"] == "a_1"
    backward = indexes.plan({"a": 1}, hint={"$natural": -1})
    assert backward.explain()["winningPlan"]["direction"] == "backward"
    assert backward.record_ids == list(reversed(owner.records))
    assert winning(indexes, {"_id": 3}, hint="_id_")["inputStage"]["indexBounds"] == {"_id": ["[3, 3]"]}


@pytest.mark.parametrize("hint", ["nope", {"nope": 1}, {"a": -1}])
def test_unknown_hint_is_bad_value(hint):
    _, indexes = make(DOCS, ix("a"))
    with pytest.raises(ServerError) as info:
        indexes.plan({"a": 1}, hint=hint)
    assert info.value.code == 2
    assert info.value.errmsg.startswith("error processing query: ns=db.coll")
    assert info.value.errmsg.endswith(
        "planner returned error :: caused by :: hint provided does not correspond to an existing index")


def test_hidden_index_is_maintained_but_never_used():
    owner, indexes = make(DOCS, ix("a", hidden=True))
    assert winning(indexes, {"a": 1})["stage"] == "COLLSCAN"
    with pytest.raises(ServerError):
        indexes.plan({"a": 1}, hint="a_1")
    assert len(indexes.get("a_1").entries) == len(DOCS)


def test_non_simple_collation_drops_string_bounds():
    _, indexes = make(DOCS, ix("b"), ix("a"))
    collation = {"locale": "en", "strength": 2}
    assert winning(indexes, {"b": "s1"}, collation=collation)["stage"] == "COLLSCAN"
    assert winning(indexes, {"b": "s1", "a": 1}, collation=collation)["inputStage"]["indexName"] == "a_1"
    assert winning(indexes, {"b": "s1"}, collation={"locale": "simple"})["inputStage"]["indexName"] == "b_1"
    assert indexes.plan({}, sort={"b": 1}, collation=collation).provides_sort is False


def test_collated_index_serves_queries_with_its_collation_only():
    docs = [{"_id": 1, "n": "Ann"}, {"_id": 2, "n": "bob"}, {"_id": 3, "n": "ANN"}, {"_id": 4, "n": 7}]
    owner, indexes = make(docs, ix("n", collation={"locale": "en", "strength": 2}))
    ci = {"locale": "en", "strength": 2}
    plan = indexes.plan({"n": "ann"}, collation=ci)
    assert plan.index_name == "n_1" and ids(owner, plan.record_ids) == [1, 3]
    assert winning(indexes, {"n": "ann"})["stage"] == "COLLSCAN"  # binary query, collated keys
    assert winning(indexes, {"n": "ann"}, collation={"locale": "fr"})["stage"] == "COLLSCAN"
    assert indexes.plan({"n": 7}).index_name == "n_1"  # no strings: any collation
    assert winning(indexes, {"n": {"$regex": "^A"}})["stage"] == "COLLSCAN"
    assert indexes.plan({}, sort={"n": 1}, collation=ci, limit=2).provides_sort is True
    assert indexes.plan({}, sort={"n": 1}, limit=2).provides_sort is False


def test_sort_plus_limit_prefers_a_sorted_scan_over_an_unselective_filter_index():
    docs = [{"_id": i, "status": "on" if i % 10 else "off", "ts": i} for i in range(200)]
    owner, indexes = make(docs, ix("status"), ix("ts"))
    plan = indexes.plan({"status": "on"}, sort={"ts": -1}, limit=5)
    assert plan.provides_sort and plan.index_name == "ts_1"
    assert indexes.plan({"status": "off"}, sort={"ts": -1}, limit=5).index_name == "status_1"


# --------------------------------------------------------------------------
# Partial indexes
# --------------------------------------------------------------------------



def _partial_setup():
    docs = [{"_id": 1, "email": "a", "deleted": None}, {"_id": 2, "email": "a", "deleted": True},
            {"_id": 3, "email": "b", "rating": 7}, {"_id": 4, "email": "c", "rating": 2}]
    return make(docs, ix("email", unique=True, partialFilterExpression={"deleted": None}, name="live"),
                ix("rating", partialFilterExpression={"rating": {"$gt": 5}}))


def test_partial_index_only_holds_matching_documents():
    owner, indexes = _partial_setup()
    assert set(indexes.get("live").keys_by_rid) == {1, 3, 4}
    assert set(indexes.get("rating_1").keys_by_rid) == {3}
    with pytest.raises(ServerError) as info:
        indexes.add(9, {"_id": 9, "email": "a"})
    assert info.value.errmsg.endswith("index: live dup key: { email: \"a\" }")
    indexes.add(9, {"_id": 9, "email": "a", "deleted": True})  # outside the filter: no conflict


def test_partial_index_used_only_when_the_query_implies_its_filter():
    owner, indexes = _partial_setup()
    assert winning(indexes, {"email": "a"})["stage"] == "COLLSCAN"
    assert winning(indexes, {"email": "a", "deleted": None})["inputStage"]["indexName"] == "live"
    assert winning(indexes, {"rating": {"$gt": 6}})["inputStage"]["isPartial"] is True
    assert winning(indexes, {"rating": 9})["inputStage"]["indexName"] == "rating_1"
    assert winning(indexes, {"rating": {"$gt": 4}})["stage"] == "COLLSCAN"
    assert winning(indexes, {"rating": {"$gt": "x"}})["stage"] == "COLLSCAN"
    with pytest.raises(ServerError) as info:
        indexes.plan({"rating": 3}, hint="rating_1")
    assert info.value.code == 2


def test_partial_filter_validation():
    _, indexes = make([])
    with pytest.raises(ServerError) as info:
        indexes.create("a", partialFilterExpression={"a": {"$exists": False}})
    assert (info.value.code, info.value.errmsg) == (
        67, "Expression not supported in partial index: $not\n    a exists\n")
    with pytest.raises(ServerError) as info:
        indexes.create("a", partialFilterExpression={"a": {"$ne": 1}})
    assert info.value.errmsg == "Expression not supported in partial index: $not\n    a $eq 1\n"
    with pytest.raises(ServerError) as info:
        indexes.create("a", partialFilterExpression={"a": 1}, sparse=True)
    assert info.value.errmsg == 'cannot mix "partialFilterExpression" and "sparse" options'
    with pytest.raises(ServerError) as info:
        indexes.create("a", partialFilterExpression=5)
    assert info.value.code == 14
    indexes.create("a", partialFilterExpression={"$or": [{"a": {"$in": [1, 2]}}, {"b": {"$type": "string"}}]})


# --------------------------------------------------------------------------
# Regexes, $all, $elemMatch, $or
# --------------------------------------------------------------------------

NAMES = [{"_id": i, "name": n} for i, n in enumerate(["abc", "abd", "ab", "b", "abz", 5, "a.c", "Abc"])]


@pytest.mark.parametrize("query, bounds, expected", [
    ({"name": {"$regex": "^ab"}}, ['["ab", "ac")', "[/^ab/, /^ab/]"], {0, 1, 2, 4}),
    ({"name": Regex("^abc")}, ['["abc", "abd")', "[/^abc/, /^abc/]"], {0}),
    ({"name": {"$regex": "^a\\.c"}}, ['["a.c", "a.d")', "[/^a\\.c/, /^a\\.c/]"], {6}),
    ({"name": {"$regex": "^abc?"}}, ['["ab", "ac")', "[/^abc?/, /^abc?/]"], {0, 1, 2, 4}),
    ({"name": {"$regex": "bc"}}, ['["", {})', "[/bc/, /bc/]"], {0, 7}),
    ({"name": {"$regex": "^ab", "$options": "i"}}, ['["", {})', "[/^ab/i, /^ab/i]"], {0, 1, 2, 4, 7}),
])
def test_regex_bounds(query, bounds, expected):
    from dongo.backends.memory.filters import compile_filter

    owner, indexes = make(NAMES, ix("name"))
    plan = indexes.plan(query)
    assert plan.explain()["winningPlan"]["inputStage"]["indexBounds"] == {"name": bounds}
    matcher = compile_filter(query)
    assert {owner.records[r][0]["_id"] for r in plan.record_ids if matcher(owner.records[r][0])} == expected


def test_startswith_lookup_uses_the_index():
    from dongo.lookups import regex_escape

    owner, indexes = make(NAMES, ix("name"))
    plan = indexes.plan({"name": {"$regex": "^" + regex_escape("a.c")}})
    assert ids(owner, plan.record_ids) == [6]


def test_all_and_elem_match_use_bounds():
    docs = [{"_id": 1, "t": [1, 5, 9]}, {"_id": 2, "t": [2, 3]}, {"_id": 3, "t": [{"k": 1, "v": 7}]}]
    owner, indexes = make(docs, ix("t"), ix([("t.k", 1), ("t.v", 1)]))
    assert winning(indexes, {"t": {"$all": [5, 9]}})["inputStage"]["indexBounds"] == {"t": ["[5, 5]"]}
    plan = indexes.plan({"t": {"$elemMatch": {"$gt": 3, "$lt": 6}}})
    assert plan.explain()["winningPlan"]["inputStage"]["indexBounds"] == {"t": ["(3, 6)"]}
    assert ids(owner, plan.record_ids) == [1]
    stage = winning(indexes, {"t": {"$elemMatch": {"k": 1, "v": {"$gte": 5}}}})["inputStage"]
    assert stage["indexName"] == "t.k_1_t.v_1"
    # t.k and t.v lie below the same array: one $elemMatch bounds both
    assert stage["indexBounds"] == {"t.k": ["[1, 1]"], "t.v": ["[5, inf.0]"]}
    stage = winning(indexes, {"t.k": 1, "t.v": {"$gte": 5}})["inputStage"]
    assert stage["indexBounds"] == {"t.k": ["[1, 1]"], "t.v": ["[MinKey, MaxKey]"]}


def test_or_of_indexed_clauses_is_an_index_union():
    owner, indexes = make(DOCS, ix("a"), ix("c"))
    plan = indexes.plan({"$or": [{"a": 3}, {"c": {"$lt": 2}}, {"_id": 4}]})
    wp = plan.explain()["winningPlan"]
    assert wp["stage"] == "SUBPLAN" and wp["inputStage"]["stage"] == "FETCH"
    ors = wp["inputStage"]["inputStage"]
    assert ors["stage"] == "OR"
    assert [s["indexName"] for s in ors["inputStages"]] == ["a_1", "c_1", "_id_"]
    assert ids(owner, plan.record_ids) == [3, 7, 11, 0, 1, 4]
    assert winning(indexes, {"$or": [{"a": 3}, {"b": "s1"}]})["stage"] == "COLLSCAN"


# --------------------------------------------------------------------------
# The key property: candidates ⊇ matches, for random data and filters
# --------------------------------------------------------------------------

SCALARS = [None, 0, 1, 1.0, Int64(2), 2.5, -3, Decimal128("1"), float("nan"), Decimal128("-NaN"),
           "", "a", "b", "ab",
           True, False, datetime.datetime(2021, 5, 1), ObjectId("5f0c5b6a1c9d440000a1b2c3"),
           MinKey(), MaxKey()]


def random_value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth < 2 and r < 0.15:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if depth < 2 and r < 0.25:
        return {k: random_value(rng, depth + 1) for k in rng.sample(["x", "y"], rng.randrange(0, 3))}
    return rng.choice(SCALARS)


def random_doc(rng: random.Random, _id: int) -> dict:
    doc: dict = {"_id": _id}
    for field in ("a", "b", "c"):
        if rng.random() < 0.8:
            doc[field] = random_value(rng)
    return doc


PATHS = ["a", "b", "c", "a.x", "a.y", "b.y", "_id", "a.0", "c.1.x"]


def random_conjunct(rng: random.Random) -> dict:
    path = rng.choice(PATHS)
    op = rng.choice(["eq", "$eq", "$in", "$gt", "$gte", "$lt", "$lte"])
    if op == "eq":
        return {path: random_value(rng)}
    if op == "$in":
        return {path: {"$in": [random_value(rng) for _ in range(rng.randrange(0, 4))]}}
    return {path: {op: random_value(rng)}}


def random_extended(rng: random.Random) -> dict:
    """Operators only the engine's matcher is trusted with."""
    path = rng.choice(PATHS)
    kind = rng.randrange(6)
    if kind == 0:
        return {path: Regex(rng.choice(["^a", "^ab", "b", "^", "^a.", "^a?b", "^\\.", "a|b"]),
                            rng.choice(["", "", "i", "m", "s"]))}
    if kind == 1:
        return {path: {"$regex": rng.choice(["^a", "^$", "^b*"])}}
    if kind == 2:
        return {path: {"$all": [random_value(rng) for _ in range(rng.randrange(1, 3))]}}
    if kind == 3:
        op1, op2 = rng.choice(["$gt", "$gte"]), rng.choice(["$lt", "$lte"])
        return {path: {"$elemMatch": {op1: random_value(rng), op2: random_value(rng)}}}
    if kind == 4:
        return {path: {"$elemMatch": {rng.choice(["x", "y"]): random_value(rng)}}}
    return {"$or": [random_conjunct(rng) for _ in range(rng.randrange(1, 3))]}


def random_filter(rng: random.Random, extended: bool = False) -> dict:
    clauses = [random_conjunct(rng) for _ in range(rng.randrange(1, 4))]
    if extended:
        clauses[0] = random_extended(rng)
    if rng.random() < 0.5:
        return {"$and": clauses}
    merged: dict = {}
    for clause in clauses:
        merged.update(clause)
    return merged


# -- the reference matcher (server semantics for the operators generated) --

def _bracket(v) -> int:
    return sort_key(v)[0]


def _cmp_ok(op: str, x, v) -> bool:
    kx, kv = sort_key(x), sort_key(v)
    if isinstance(v, (MinKey, MaxKey)):
        pass  # a MinKey/MaxKey operand compares with every type
    elif kx[0] != kv[0]:
        return False
    if kv == (10, 0) or kx == (10, 0):  # NaN: only equal to NaN
        return op in ("$gte", "$lte") and kx == kv
    return {"$gt": kx > kv, "$gte": kx >= kv, "$lt": kx < kv, "$lte": kx <= kv}[op]


def _values(doc, path):
    return list(iter_path_values(doc, split_path_lenient(path), expand_arrays=True))


def _eq(values, v) -> bool:
    if v is None:
        return any(x is MISSING or x is None for x in values)
    return any(x is not MISSING and bson_equal(x, v) for x in values)


def reference_match(doc: dict, spec: dict) -> bool:
    for key, cond in spec.items():
        if key == "$and":
            if not all(reference_match(doc, c) for c in cond):
                return False
            continue
        values = _values(doc, key)
        if isinstance(cond, dict) and cond and next(iter(cond)).startswith("$"):
            for op, v in cond.items():
                if op == "$eq":
                    ok = _eq(values, v)
                elif op == "$in":
                    ok = any(_eq(values, item) for item in v)
                else:
                    if v is None and op in ("$gte", "$lte") and _eq(values, None):
                        ok = True
                    else:
                        ok = any(x is not MISSING and _cmp_ok(op, x, v) for x in values)
                if not ok:
                    return False
        elif not _eq(values, cond):
            return False
    return True


def _engine_matcher():
    try:
        from dongo.backends.memory.filters import compile_filter
    except ImportError:  # filters.py not there yet: the reference alone
        return None
    return compile_filter


INDEX_LAYOUTS = [
    [ix("a"), ix("b"), ix("c")],
    [ix([("a", -1), ("b", 1)]), ix([("c", 1), ("a", 1)])],
    [ix("a.x"), ix([("b.y", 1), ("c", -1)]), ix("c", sparse=True)],
    [ix([("a", 1), ("b", -1), ("c", 1)]), ix([("b", "hashed")])],
    [ix("a.0"), ix([("c.1.x", -1)]), ix([("a.x", 1), ("a.y", 1)])],
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("layout", range(len(INDEX_LAYOUTS)))
def test_candidates_are_a_superset_of_the_matches(seed, layout):
    rng = random.Random(seed * 100 + layout)
    docs, next_id = [], 0
    for _ in range(60):
        next_id += 1
        docs.append(random_doc(rng, next_id))
    owner = Owner()
    indexes = IndexSet(owner)
    for spec in INDEX_LAYOUTS[layout]:
        indexes.create(spec[0], **spec[1])
    inserted = 0
    for doc in docs:
        try:
            indexes.add(inserted + 1, doc)
        except ServerError as err:
            assert err.code in (171, 16766)  # parallel arrays; an array in a hashed index
            continue
        inserted += 1
        owner.records[inserted] = (doc, b"")
    indexes._check()
    compile_filter = _engine_matcher()
    hints = [None] + [i.name for i in indexes if not i.spec.sparse]
    exact_plans = 0
    for n in range(160):
        extended = n % 4 == 3 and compile_filter is not None
        spec = random_filter(rng, extended)
        expected = set() if extended else \
            {rid for rid, (doc, _) in owner.records.items() if reference_match(doc, spec)}
        if compile_filter is not None:
            try:
                engine = compile_filter(spec)
            except ServerError:
                continue  # e.g. a filter the server rejects
            # Both oracles' matches must be candidates (they may differ on
            # MinKey/MaxKey edge cases, which no index bound relies on).
            expected |= {rid for rid, (doc, _) in owner.records.items() if engine(doc)}
        for hint in hints:
            counted = indexes.plan(spec, hint=hint).count()
            plan = indexes.plan(spec, hint=hint)
            candidates = plan.record_ids
            assert counted == len(candidates), (spec, hint, plan.explain())
            assert len(candidates) == len(set(candidates)), (spec, hint)
            missing = expected - set(candidates)
            assert not missing, (spec, hint, plan.explain(), [owner.records[r][0] for r in missing])
            if plan.exact:
                exact_plans += 1
                assert set(candidates) == expected, (spec, hint, plan.explain())
    if layout in (0, 1):
        assert exact_plans > 0  # the exactness claim was exercised


def test_plan_made_before_an_index_turns_multikey_stays_a_superset():
    docs = [{"_id": 1, "t": 5}, {"_id": 2, "t": 2}]
    owner, indexes = make(docs, ix("t"))
    plan = indexes.plan({"t": {"$gt": 4, "$lt": 3}})  # empty intersection while not multikey
    assert plan.record_ids == [] and indexes.plan({"t": {"$gt": 4, "$lt": 3}}).record_ids == []
    plan = indexes.plan({"t": {"$gt": 4, "$lt": 3}})
    indexes.add(3, {"_id": 3, "t": [1, 9]})
    owner.records[3] = ({"_id": 3, "t": [1, 9]}, b"")
    assert list(plan.candidates()) == [1, 3]  # now the (4, inf] bounds alone: t=5 and t=[1, 9]


@pytest.mark.parametrize("seed", range(3))
def test_provided_sort_order_is_the_sort_order(seed):
    rng = random.Random(seed)
    owner = Owner()
    indexes = IndexSet(owner)
    indexes.create([("a", 1), ("c", -1)])
    rid = 0
    for i in range(80):
        doc = {"_id": i}
        for field in ("a", "c"):
            if rng.random() < 0.9:
                doc[field] = rng.choice([v for v in SCALARS if not isinstance(v, float) or v == v])
        rid += 1
        indexes.add(rid, doc)
        owner.records[rid] = (doc, b"")

    def key(doc, field):
        value = doc.get(field)
        return sort_key(value)

    for sort in ({"a": 1}, {"a": -1}, {"a": 1, "c": -1}, {"a": -1, "c": 1}):
        plan = indexes.plan({}, sort=sort, limit=10)
        assert plan.provides_sort, sort
        docs = [owner.records[r][0] for r in plan.record_ids]
        keys = [tuple(key(d, f) for f in sort) for d in docs]
        signs = list(sort.values())
        for before, after in zip(keys, keys[1:]):
            for kb, ka, sign in zip(before, after, signs):
                if kb != ka:
                    assert (kb < ka) == (sign > 0), (sort, before, after)
                    break
    plan = indexes.plan({"a": "a"}, sort={"c": -1})
    assert plan.provides_sort
    cs = [key(owner.records[r][0], "c") for r in plan.record_ids]
    assert cs == sorted(cs, reverse=True)


@pytest.mark.parametrize("seed", range(3))
def test_candidates_superset_with_collations(seed):
    from dongo.backends.memory.collation import parse_collation
    from dongo.backends.memory.filters import compile_filter

    rng = random.Random(seed)
    strings = ["a", "A", "b", "B", "ab", "Ab", "é", "E", ""]
    owner = Owner()
    indexes = IndexSet(owner)
    indexes.create("a")
    indexes.create("b", collation={"locale": "en", "strength": 1})
    indexes.create([("c", 1), ("a", -1)], collation={"locale": "en", "strength": 2})
    for rid in range(1, 61):
        doc = {"_id": rid}
        for field in ("a", "b", "c"):
            if rng.random() < 0.85:
                doc[field] = rng.choice(strings + [1, None, ["a", "B"], {"x": "A"}])
        try:
            indexes.add(rid, doc)
        except ServerError as err:
            assert err.code == 171  # arrays in both a and c
            continue
        owner.records[rid] = (doc, b"")
    collations = [None, {"locale": "en", "strength": 1}, {"locale": "en", "strength": 2}]
    for _ in range(150):
        field = rng.choice(["a", "b", "c"])
        op = rng.choice(["$eq", "$in", "$gt", "$lte"])
        operand = [rng.choice(strings) for _ in range(2)] if op == "$in" else rng.choice(strings + [1])
        spec = {field: {op: operand}}
        if rng.random() < 0.3:
            spec[rng.choice(["a", "b", "c"])] = rng.choice(strings)
        collation = rng.choice(collations)
        matcher = compile_filter(spec, collation=parse_collation(collation))
        expected = {rid for rid, (doc, _) in owner.records.items() if matcher(doc)}
        plan = indexes.plan(spec, collation=collation)
        assert expected <= set(plan.record_ids), (spec, collation, plan.explain())
        if plan.exact:
            assert expected == set(plan.record_ids), (spec, collation, plan.explain())


def test_natural_sort_is_a_collection_scan_in_that_direction():
    owner, indexes = make(DOCS, ix("a"))
    plan = indexes.plan({"a": 1}, sort={"$natural": -1})
    assert plan.stage == "COLLSCAN" and plan.provides_sort is True
    assert plan.explain()["winningPlan"]["direction"] == "backward"
    assert plan.record_ids == list(reversed(owner.records))


def test_fields_under_one_array_are_not_bounded_together():
    # keys are (1, null) and (null, 2): no single key has both values, yet the
    # filter matches (each condition is met by a different element)
    docs = [{"_id": 1, "a": [{"b": 1}, {"c": 2}]}, {"_id": 2, "a": {"b": 1, "c": 3}}]
    owner, indexes = make(docs, ix([("a.b", 1), ("a.c", 1)]))
    plan = indexes.plan({"a.b": 1, "a.c": 2})
    assert 1 in ids(owner, plan.record_ids)
    assert plan.explain()["winningPlan"]["inputStage"]["indexBounds"] == {
        "a.b": ["[1, 1]"], "a.c": ["[MinKey, MaxKey]"]}


@pytest.mark.parametrize("seed", range(6))
def test_superset_for_compound_indexes_over_arrays_of_documents(seed):
    """Small value domains so that conditions met by different elements are common."""
    from dongo.backends.memory.filters import compile_filter

    rng = random.Random(seed)
    owner = Owner()
    indexes = IndexSet(owner)
    for pattern in ([("a.x", 1), ("a.y", -1)], [("a.y", 1), ("a.x", 1)], [("a", 1), ("a.x", 1)],
                    [("b", 1), ("a.x", 1)], [("a.x.z", 1), ("b", 1)]):
        indexes.create(pattern)

    def element():
        doc = {}
        for field in ("x", "y"):
            if rng.random() < 0.7:
                doc[field] = rng.choice([0, 1, 2, [0, 1], {"z": 1}])
        return doc if rng.random() < 0.85 else rng.choice([0, 1, None])

    for rid in range(1, 81):
        doc = {"_id": rid, "b": rng.choice([0, 1, 2])}
        doc["a"] = [element() for _ in range(rng.randrange(0, 4))] if rng.random() < 0.8 else element()
        try:
            indexes.add(rid, doc)
        except ServerError as err:
            assert err.code == 171
            continue
        owner.records[rid] = (doc, b"")
    indexes._check()
    for _ in range(200):
        spec = {}
        for path in rng.sample(["a.x", "a.y", "b", "a.x.z", "a"], rng.randrange(1, 4)):
            op = rng.choice(["eq", "$in", "$gte", "$lt"])
            value = rng.choice([0, 1, 2, None, {"x": 1}])
            spec[path] = value if op == "eq" else ({op: [value, rng.choice([0, 1])]} if op == "$in"
                                                   else {op: value})
        if rng.random() < 0.4:
            # the same conditions on one element of a: $elemMatch
            inner = {path[2:]: cond for path, cond in spec.items() if path.startswith("a.")}
            spec = {k: v for k, v in spec.items() if not k.startswith("a.")}
            spec["a"] = {"$elemMatch": inner or {"x": rng.choice([0, 1])}}
        matcher = compile_filter(spec)
        expected = {rid for rid, (doc, _) in owner.records.items() if matcher(doc)}
        for hint in (None, "a.x_1_a.y_-1", "a.y_1_a.x_1", "a_1_a.x_1", "b_1_a.x_1", "a.x.z_1_b_1"):
            plan = indexes.plan(spec, hint=hint)
            assert expected <= set(plan.record_ids), (spec, hint, plan.explain())
            if plan.exact:
                assert expected == set(plan.record_ids), (spec, hint, plan.explain())


def test_partial_type_filter_is_implied_only_by_values_of_that_type():
    docs = [{"_id": 1, "a": 5.0, "k": 1}, {"_id": 2, "a": 5, "k": 1}, {"_id": 3, "k": 1}]
    owner, indexes = make(docs, ix("k", partialFilterExpression={"a": {"$type": "int"}}),
                          ix("a", partialFilterExpression={"a": {"$type": "number"}}, name="num"))
    assert winning(indexes, {"k": 1, "a": 5})["inputStage"]["indexName"] == "num"  # 5.0 matches too
    with pytest.raises(ServerError):
        indexes.plan({"k": 1, "a": 5}, hint="k_1")  # {a: 5} also matches the double 5.0
    with pytest.raises(ServerError):
        indexes.plan({"k": 1, "a": None}, hint="k_1")
    assert ids(owner, indexes.plan({"k": 1, "a": {"$type": "int"}}, hint="k_1").record_ids) == [2]


def test_partial_string_filter_needs_the_index_collation():
    docs = [{"_id": 1, "s": "x", "k": 1}, {"_id": 2, "s": "X", "k": 1}]
    owner, indexes = make(docs, ix("k", partialFilterExpression={"s": "X"}))
    assert winning(indexes, {"k": 1, "s": "X"})["inputStage"]["indexName"] == "k_1"
    # with a case-insensitive query collation {s: "X"} also matches "x", which the index lacks
    assert winning(indexes, {"k": 1, "s": "X"}, collation={"locale": "en", "strength": 2})["stage"] == "COLLSCAN"


PARTIAL_FILTERS = [
    {"a": {"$gt": 1}}, {"a": {"$gte": 1, "$lt": 3}}, {"a": {"$exists": True}}, {"a": 2},
    {"a": {"$type": "number"}}, {"a": {"$type": "string"}}, {"a": {"$in": [1, 2, "x"]}},
    {"$and": [{"a": {"$lte": 2}}, {"b": {"$exists": True}}]}, {"b": None}, {"a": {"$eq": [1, 2]}},
]


@pytest.mark.parametrize("seed", range(3))
def test_partial_indexes_are_used_only_when_no_match_is_lost(seed):
    from dongo.backends.memory.filters import compile_filter

    rng = random.Random(seed)
    owner = Owner()
    indexes = IndexSet(owner)
    for n, partial in enumerate(PARTIAL_FILTERS):
        indexes.create(rng.choice(["a", "b", [("b", 1), ("a", 1)]]), name=f"p{n}",
                       partialFilterExpression=partial)
    values = [0, 1, 2, 2.0, 3, "x", None, [1, 2], [], {"y": 1}]
    for rid in range(1, 61):
        doc = {"_id": rid}
        for field in ("a", "b"):
            if rng.random() < 0.8:
                doc[field] = rng.choice(values)
        try:
            indexes.add(rid, doc)
        except ServerError as err:
            assert err.code == 171  # arrays in both a and b under a compound index
            continue
        owner.records[rid] = (doc, b"")
    indexes._check()
    ops = ["eq", "$gt", "$gte", "$lt", "$lte", "$in", "$exists", "$type"]
    for _ in range(300):
        spec = {}
        for field in rng.sample(["a", "b"], rng.randrange(1, 3)):
            op = rng.choice(ops)
            value = rng.choice(values)
            if op == "eq":
                spec[field] = value
            elif op == "$in":
                spec[field] = {"$in": [value, rng.choice(values)]}
            elif op == "$exists":
                spec[field] = {"$exists": rng.random() < 0.7}
            elif op == "$type":
                spec[field] = {"$type": rng.choice(["number", "int", "double", "string", "null", "array"])}
            else:
                spec[field] = {op: value}
        matcher = compile_filter(spec)
        expected = {rid for rid, (doc, _) in owner.records.items() if matcher(doc)}
        plan = indexes.plan(spec)
        assert expected <= set(plan.record_ids), (spec, plan.explain())


def test_idhack_on_a_collated_id_index():
    owner = Owner()
    owner.options = {"collation": {"locale": "en", "strength": 2}}
    indexes = IndexSet(owner)
    indexes.add(1, {"_id": "Ann"})
    owner.records[1] = ({"_id": "Ann"}, b"")
    ci = {"locale": "en", "strength": 2}
    plan = indexes.plan({"_id": "ANN"}, collation=ci)
    assert plan.stage == "IDHACK" and plan.record_ids == [1]
    assert indexes.plan({"_id": "ANN"}).stage == "COLLSCAN"  # a binary query cannot use collated keys


def test_exact_plans_need_no_matcher():
    owner, indexes = make(DOCS, ix([("a", 1), ("c", 1)]), ix("b"))
    assert indexes.plan({"_id": 3}).exact is True
    assert indexes.plan({"a": 1}).exact is True
    assert indexes.plan({"a": {"$in": [1, 2]}, "c": {"$gte": 3}}).exact is True  # points, then c
    assert indexes.plan({"a": {"$gte": 1}, "c": 3}).exact is False  # a range: c is not bounded
    assert indexes.plan({"a": 1, "c": {"$gte": 3, "$lt": 9}}).exact is True
    assert indexes.plan({"a": 1, "b": "s1"}).exact is False  # b is not in the chosen index
    assert indexes.plan({"a": {"$ne": 1}}).exact is False
    assert indexes.plan({"a": None}).exact is False
    assert indexes.plan({"c": 1}).exact is False  # collection scan
    assert indexes.plan({"a": 1, "$comment": "x"}).exact is False
    indexes.add(99, {"_id": 99, "a": [1, 2]})  # now multikey: {a: 1} also matches arrays
    assert indexes.plan({"a": 1}).exact is False


# -- NaN (server facts: jstests/core/nan.js gives the same results with and
# without an index; the bounds builder makes $lte/$gte NaN the point
# [nan.0, nan.0] and $lt/$gt NaN empty: NaN sorts below every number) --

NAN_DOCS = [{"_id": 0, "a": float("-inf")}, {"_id": 1, "a": -3}, {"_id": 2, "a": 0},
            {"_id": 3, "a": float("inf")}, {"_id": 4, "a": float("nan")},
            {"_id": 5, "a": -float("nan")}, {"_id": 6, "a": Decimal128("NaN")},
            {"_id": 7, "a": Decimal128("-NaN")}, {"_id": 8, "a": None}, {"_id": 9, "a": []},
            {"_id": 10, "a": "x"}, {"_id": 11, "b": 1}]
NANS = [float("nan"), Decimal128("NaN"), Decimal128("-NaN")]
ALL_NAN_IDS = [4, 5, 6, 7]


@pytest.mark.parametrize("layout", [ix("a"), ix([("a", -1)]), ix([("a", 1), ("b", 1)])])
@pytest.mark.parametrize("nan", NANS, ids=["float", "decimal", "decimal-neg"])
@pytest.mark.parametrize("query, expected", [
    (lambda n: {"a": n}, ALL_NAN_IDS),
    (lambda n: {"a": {"$eq": n}}, ALL_NAN_IDS),
    (lambda n: {"a": {"$in": [n]}}, ALL_NAN_IDS),
    (lambda n: {"a": {"$in": [n, 0]}}, [2] + ALL_NAN_IDS),
    (lambda n: {"a": {"$lte": n}}, ALL_NAN_IDS),
    (lambda n: {"a": {"$gte": n}}, ALL_NAN_IDS),
    (lambda n: {"a": {"$gte": n, "$lte": n}}, ALL_NAN_IDS),
    (lambda n: {"a": {"$lt": n}}, []),
    (lambda n: {"a": {"$gt": n}}, []),
    (lambda n: {"a": {"$gte": n, "$lt": 5}}, []),
], ids=["eq", "$eq", "$in", "$in2", "$lte", "$gte", "$gte$lte", "$lt", "$gt", "$gte$lt"])
def test_nan_through_an_index_matches_a_collection_scan(layout, nan, query, expected):
    from dongo.backends.memory.filters import compile_filter

    owner, indexes = make(NAN_DOCS, layout)
    spec = query(nan)
    matcher = compile_filter(spec)
    scanned = sorted(owner.records[rid][0]["_id"] for rid in indexes.plan(spec, hint={"$natural": 1}).record_ids
                     if matcher(owner.records[rid][0]))
    assert scanned == expected  # the collection scan (matcher) itself
    plan = indexes.plan(spec)
    assert plan.stage != "COLLSCAN"
    found = sorted(owner.records[rid][0]["_id"] for rid in plan.record_ids if matcher(owner.records[rid][0]))
    assert found == expected
    assert set(expected) <= set(ids(owner, plan.record_ids))


@pytest.mark.parametrize("op, bounds", [("$lte", ["[nan.0, nan.0]"]), ("$gte", ["[nan.0, nan.0]"]),
                                        ("$lt", []), ("$gt", [])])
def test_nan_range_bounds_are_the_servers(op, bounds):
    owner, indexes = make(NAN_DOCS, ix("a"))
    for nan in NANS:
        plan = indexes.plan({"a": {op: nan}})
        assert plan.explain()["winningPlan"]["inputStage"]["indexBounds"] == {"a": bounds}
        assert sorted(ids(owner, plan.record_ids)) == (ALL_NAN_IDS if bounds else [])


def test_nan_inside_elem_match_uses_the_nan_point():
    owner, indexes = make([{"_id": 1, "a": [float("nan"), 1]}, {"_id": 2, "a": [1, 2]}], ix("a"))
    plan = indexes.plan({"a": {"$elemMatch": {"$lte": float("nan")}}})
    assert ids(owner, plan.record_ids) == [1]


def test_count_of_an_exact_plan_touches_no_document():
    owner, indexes = make(DOCS + [{"_id": 100 + i, "a": [i]} for i in range(3)],
                          ix([("c", 1), ("b", -1)]), ix("b"))
    cases = [({"c": {"$gte": 3, "$lt": 9}}, 6), ({"c": {"$in": [1, 5, 7, 99]}}, 3),
             ({"c": 4, "b": "s1"}, 1), ({"c": 4, "b": {"$gt": "s1"}}, 0), ({"b": "s2"}, 4),
             ({"_id": 7}, 1), ({"_id": 700}, 0), ({}, 15)]
    expected = {}
    for spec, n in cases:
        plan = indexes.plan(spec)
        assert plan.exact, spec
        expected[repr(spec)] = n
    records = owner.records
    owner.records = {rid: None for rid in records}  # a document read would now fail
    for spec, n in cases:
        plan = indexes.plan(spec)
        assert plan.count() == n, spec
        assert plan._record_ids is None  # the candidates were not listed
    owner.records = records
    for spec, n in cases:
        assert len(indexes.plan(spec).record_ids) == n


def test_count_of_inexact_plans_counts_distinct_candidates():
    owner, indexes = make([{"_id": 1, "a": [1, 2, 3]}, {"_id": 2, "a": 2}, {"_id": 3, "a": 9}], ix("a"))
    plan = indexes.plan({"a": {"$gte": 1, "$lte": 3}})
    assert not plan.exact  # multikey: one predicate's bounds ([1, inf.0]) are used
    assert plan.count() == 3 == len(plan.record_ids)  # record 1 once, though it has 3 keys
    assert indexes.plan({"$or": [{"a": 2}, {"a": 3}]}).count() == 2
    assert indexes.plan({"b": 1}).count() == 3  # a collection scan: every record is a candidate
    assert indexes.plan({"b": 1}).exact is False


def test_a_large_in_list_still_uses_point_lookups():
    docs = [{"_id": i, "a": i} for i in range(10000)]
    owner, indexes = make(docs, ix("a"))
    wanted = list(range(0, 10000, 2))
    plan = indexes.plan({"a": {"$in": wanted}})
    assert plan.exact and len(plan.record_ids) == 5000
    assert len(plan.explain()["winningPlan"]["inputStage"]["indexBounds"]["a"]) == 5000
    assert len(indexes.plan({"_id": {"$in": wanted}}).record_ids) == 5000


# --------------------------------------------------------------------------
# The point-lookup fast path ({field: scalar}) plans exactly as the general planner
# --------------------------------------------------------------------------

POINT_LAYOUTS = [
    [ix("a")],
    [ix([("a", -1)])],
    [ix([("a", 1), ("b", -1)])],
    [ix("a.x"), ix([("b", 1), ("c", 1)])],
    [ix("b", collation={"locale": "en", "strength": 2}), ix("c", unique=True, sparse=False)],
]


def _general_plan(monkeypatch, indexes, spec, **kwargs):
    from dongo.backends.memory import planner

    with monkeypatch.context() as patched:
        patched.setattr(planner, "_point_lookup", lambda *args: None)
        return indexes.plan(spec, **kwargs)


@pytest.mark.parametrize("layout", range(len(POINT_LAYOUTS)))
def test_point_lookup_fast_path_is_the_general_plan(monkeypatch, layout):
    from dongo.backends.memory.planner import _PointScan

    rng = random.Random(layout)
    owner, indexes = make([], *POINT_LAYOUTS[layout], ix("n"))
    for rid in range(1, 80):
        doc = random_doc(rng, rid)
        doc["n"] = rng.choice([0, 1, 2, 2.0, Int64(1), True, "x", "X"])  # never an array
        try:
            indexes.add(rid, doc)
        except ServerError:
            continue
        owner.records[rid] = (doc, b"")
    values = [0, 1, 2, 2.0, Int64(1), "x", "X", True, Decimal128("1"), ObjectId("0" * 24)]
    matcher = _engine_matcher()
    taken = exacts = 0
    for field in ("a", "a.x", "b", "c", "n"):
        for value in values:
            for spec in ({field: value}, {field: {"$eq": value}}):
                fast = indexes.plan(spec)
                general = _general_plan(monkeypatch, indexes, spec)
                taken += isinstance(fast._scan, _PointScan)
                assert fast.explain() == general.explain(), spec
                assert fast.record_ids == general.record_ids, spec
                assert (fast.exact, fast.count()) == (general.exact, general.count()), spec
                exact = indexes.exact_lookup(spec)
                if exact is not None:
                    exacts += 1
                    assert list(exact) == fast.record_ids, spec
                    assert set(exact) == {rid for rid, (doc, _) in owner.records.items() if matcher(spec)(doc)}
                else:
                    assert not (isinstance(fast._scan, _PointScan) and fast.exact), spec
    assert taken and exacts  # the fast path and exact_lookup were exercised


def test_point_lookup_falls_back_when_the_choice_needs_the_general_planner():
    from dongo.backends.memory.planner import _PointScan

    docs = [{"_id": i, "a": i % 3, "s": "ab"[i % 2], "h": i} for i in range(10)]
    owner, indexes = make(docs, ix("a"), ix([("a", 1), ("h", 1)]), ix("s", sparse=True),
                          ix("h", partialFilterExpression={"h": {"$gt": 2}}),
                          ix([("c", "hashed")]), ix("t", collation={"locale": "fr"}))
    fast = lambda spec, **kw: isinstance(indexes.plan(spec, **kw)._scan, _PointScan)  # noqa: E731
    assert not fast({"a": 1})  # two indexes start with a: their estimates decide
    assert not fast({"s": "a"})  # sparse
    assert not fast({"h": 5})  # partial: the implication check decides
    assert not fast({"c": 5})  # hashed
    assert not fast({"t": "x"})  # a string under another collation than the index's
    assert fast({"t": 5})  # non-string values key the same under any collation
    assert fast({"t": "x"}, collation={"locale": "fr"})
    assert not fast({"t": 5}, sort={"t": 1})  # a sort: the general planner
    assert indexes.plan({"t": "x"}).stage == "COLLSCAN"


def test_point_lookup_over_a_compound_multikey_index_yields_each_record_once():
    docs = [{"_id": 1, "a": 1, "b": [3, 1, 2]}, {"_id": 2, "a": 2, "b": 1}, {"_id": 3, "a": 1, "b": 0}]
    owner, indexes = make(docs, ix([("a", 1), ("b", 1)]))
    plan = indexes.plan({"a": 1})
    assert ids(owner, plan.record_ids) == [3, 1] and plan.count() == 2
    assert list(plan.candidates()) == plan.record_ids
    assert plan.explain()["winningPlan"]["inputStage"]["indexBounds"] == \
        {"a": ["[1, 1]"], "b": ["[MinKey, MaxKey]"]}


def test_point_lookup_follows_index_creation_hiding_and_dropping():
    docs = [{"_id": i, "a": i % 3} for i in range(6)]
    owner, indexes = make(docs)
    stage = lambda: indexes.plan({"a": 1}).explain()["winningPlan"]  # noqa: E731
    assert stage()["stage"] == "COLLSCAN"
    indexes.create("a")
    assert stage()["inputStage"]["indexName"] == "a_1"
    indexes.modify("a_1", hidden=True)
    assert stage()["stage"] == "COLLSCAN"
    indexes.modify("a_1", hidden=False)
    indexes.create([("a", 1), ("b", 1)])
    assert indexes.led_by("a") is None  # two candidates: the general planner chooses
    assert stage()["inputStage"]["indexName"] == "a_1"  # fewer entries per key, then fewer fields
    indexes.drop_index("a_1")
    assert stage()["inputStage"]["indexName"] == "a_1_b_1"
    indexes.clear()
    assert indexes.plan({"a": 1}).record_ids == []
    indexes.drop_index("*")
    assert stage()["stage"] == "COLLSCAN"


def test_exact_lookup_answers_point_lookups_on_non_multikey_indexes_only():
    docs = [{"_id": 1, "a": 1, "s": "X", "t": [1]}, {"_id": 2, "a": 1.0, "s": "x", "t": 1},
            {"_id": 3, "a": True, "s": "y"}]
    owner, indexes = make(docs, ix("a"), ix("s", collation={"locale": "en", "strength": 2}), ix("t"))
    assert indexes.exact_lookup({"a": 1}) == (1, 2)  # 1 and 1.0, not true
    assert indexes.exact_lookup({"a": {"$eq": True}}) == (3,)
    assert indexes.exact_lookup({"a": 7}) == ()
    assert indexes.exact_lookup({"s": "x"}) is None  # the index keys strings case-insensitively
    assert indexes.exact_lookup({"s": "x"}, collation={"locale": "en", "strength": 2}) == (1, 2)
    assert indexes.exact_lookup({"t": 1}) is None  # multikey: the matcher decides
    assert indexes.exact_lookup({"_id": 2}) == (2,)
    for spec in ({"a": {"$gt": 0}}, {"a": [1]}, {"a": None}, {"a": 1, "s": "x"}, {"b": 1}, {"$and": [{"a": 1}]}):
        assert indexes.exact_lookup(spec) is None, spec
