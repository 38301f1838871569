"""sort: spec normalisation, BSON order, array min/max rule, stability, top-k."""

import datetime
import random

import pymongo
import pytest
from bson import Int64, MaxKey, MinKey, ObjectId
from bson.son import SON

from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.sort import compile_sort, normalize_sort


def order(docs, spec, **kw):
    return [d["_id"] for d in compile_sort(spec, **kw).sorted(docs)]


def test_normalize_forms():
    assert normalize_sort(None) == []
    assert normalize_sort("a") == [("a", 1)]
    assert normalize_sort([("a", pymongo.DESCENDING), ("b", pymongo.ASCENDING)]) == [("a", -1), ("b", 1)]
    assert normalize_sort(SON([("b", 1), ("a", -1)])) == [("b", 1), ("a", -1)]
    assert normalize_sort({"a": Int64(-1), "b": 1.0}) == [("a", -1), ("b", 1)]
    assert normalize_sort({"a": 1.5}) == [("a", 1)]  # the server reads numberInt()


@pytest.mark.parametrize("value, code, message", [
    ("asc", 15974, 'Illegal key in $sort specification: a: "asc"'),
    ({"x": 1}, 15974, "Illegal key in $sort specification: a: { x: 1 }"),
    (2, 15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)"),
    (0, 15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)"),
    (42.12, 15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)"),
])
def test_bad_directions(value, code, message):
    with pytest.raises(ServerError) as info:
        normalize_sort({"a": value})
    assert (info.value.code, info.value.errmsg) == (code, message)


def test_meta_sort_not_implemented():
    with pytest.raises(NotImplementedError):
        compile_sort({"score": {"$meta": "textScore"}})


def test_cross_type_order_and_missing_as_null():
    values = [MaxKey(), True, "b", 3, None, {"x": 1}, [], datetime.datetime(2020, 1, 1),
              ObjectId("0" * 24), 1.5, MinKey()]
    docs = [{"_id": i, "a": v} for i, v in enumerate(values)] + [{"_id": "missing"}]
    # MinKey, [] (as undefined), null and missing (ties keep input order), numbers,
    # string, object, ObjectId, bool, date, MaxKey
    assert order(docs, {"a": 1}) == [10, 6, 4, "missing", 9, 3, 2, 5, 8, 1, 7, 0]
    assert order(docs, {"a": -1}) == [0, 7, 1, 8, 5, 2, 3, 9, 4, "missing", 6, 10]


def test_arrays_sort_by_min_ascending_and_max_descending():
    docs = [{"_id": "A", "s": [7, 11]}, {"_id": "B", "s": [8, 9, 10]}, {"_id": "C", "s": 9},
            {"_id": "D", "s": [6, 12]}]
    assert order(docs, {"s": 1}) == ["D", "A", "B", "C"]
    assert order(docs, {"s": -1}) == ["D", "A", "B", "C"]
    docs = [{"_id": 1, "a": [{"b": 5}, {"b": 1}]}, {"_id": 2, "a": {"b": 3}}, {"_id": 3, "a": [{"b": 2}, {}]}]
    assert order(docs, {"a.b": 1}) == [3, 1, 2]  # {} contributes null
    assert order(docs, {"a.b": -1}) == [1, 2, 3]
    assert order(docs, {"a.1.b": 1}) == [2, 3, 1]  # positional component


def test_numbers_compare_across_types_and_ties_are_stable():
    docs = [{"_id": i, "a": v} for i, v in enumerate([2, 1.0, Int64(1), 1, 0.5, 2.0])]
    assert order(docs, {"a": 1}) == [4, 1, 2, 3, 0, 5]
    assert order(docs, {"a": -1}) == [0, 5, 1, 2, 3, 4]


def test_compound_mixed_directions():
    docs = [{"_id": i, "a": a, "b": b} for i, (a, b) in enumerate([(1, 1), (0, 5), (1, 3), (0, 2), (1, 3)])]
    assert order(docs, [("a", 1), ("b", -1)]) == [1, 3, 2, 4, 0]
    assert order(docs, [("a", -1), ("b", -1)]) == [2, 4, 0, 1, 3]
    assert order(docs, [("b", 1), ("a", -1)]) == [0, 3, 2, 4, 1]


def test_limit_matches_full_sort_prefix():
    rng = random.Random(7)
    docs = [{"_id": i, "a": rng.choice([1, 2, 3, None, "x", [1, 5]]), "b": rng.randrange(5)} for i in range(300)]
    for spec in ({"a": 1}, {"a": -1}, [("a", 1), ("b", -1)], [("b", -1), ("a", -1)]):
        sorter = compile_sort(spec)
        full = sorter.sorted(docs)
        for limit in (1, 5, 50, 299, 1000):
            assert sorter.sorted(docs, limit=limit) == full[:limit]
        assert sorted(docs, key=sorter.sort_key) == full


def test_collation_sort():
    docs = [{"_id": i, "a": v} for i, v in enumerate(["b", "B", "a", "A", "c"])]
    assert order(docs, {"a": 1}) == [3, 1, 2, 0, 4]  # binary: uppercase first
    assert order(docs, {"a": 1}, collation={"locale": "en", "strength": 3}) == [2, 3, 0, 1, 4]
    assert order(docs, {"a": 1}, collation={"locale": "en", "strength": 1}) == [2, 3, 0, 1, 4]
    numeric = [{"_id": i, "a": v} for i, v in enumerate(["10", "9", "100"])]
    assert order(numeric, {"a": 1}, collation={"locale": "en", "numericOrdering": True}) == [1, 0, 2]


def test_sorted_with_doc_of_and_plain_value_fast_path():
    items = [(i, {"a": v}) for i, v in enumerate([3, 1.5, 2, float("nan"), True, "x"])]
    sorter = compile_sort({"a": 1})
    assert [i for i, _ in sorter.sorted(items, doc_of=lambda it: it[1])] == [3, 1, 2, 0, 5, 4]
    plain = [(i, {"a": v}) for i, v in enumerate([3, 1.5, 2, -1])]
    assert [i for i, _ in compile_sort({"a": -1}).sorted(plain, doc_of=lambda it: it[1])] == [0, 2, 1, 3]
    strings = [{"_id": i, "a": v} for i, v in enumerate(["b", "a", "B"])]
    assert [d["_id"] for d in compile_sort({"a": 1}).sorted(strings)] == [2, 1, 0]


def test_natural_order():
    docs = [{"_id": i, "a": 5 - i} for i in range(5)]
    assert order(docs, {"$natural": 1}) == [0, 1, 2, 3, 4]
    assert order(docs, {"$natural": -1}) == [4, 3, 2, 1, 0]
    assert compile_sort({"$natural": -1}).natural == -1
    assert [d["_id"] for d in compile_sort({"$natural": -1}).sorted(docs, limit=2)] == [4, 3]
    with pytest.raises(NotImplementedError):
        compile_sort([("$natural", 1), ("a", 1)])


@pytest.mark.parametrize("limit", [None, 1, 3, 50])
def test_mixed_directions_match_a_reference_sort(limit):
    # Numbers (the negated one-pass route), strings and arrays/missing (the
    # stable multi-pass route) all give the order of the wrapped-key sort.
    rng = random.Random(7)
    pool = [1, 2, 2.5, -3, "x", "y", None, [1, 5], [], Int64(2)]
    docs = [{"_id": i, "a": rng.choice([0, 1, 2]), "b": rng.choice(pool), "c": rng.randrange(4)}
            for i in range(120)]
    numeric = [dict(d, b=rng.randrange(5)) for d in docs]
    for sample in (docs, numeric):
        for spec in ([("a", -1), ("c", 1)], [("c", 1), ("b", -1), ("a", -1)], [("b", -1), ("a", 1)]):
            sorter = compile_sort(spec)
            expected = [d["_id"] for d in sorted(sample, key=sorter.sort_key)][:limit]
            got = [d["_id"] for d in sorter.sorted(sample, limit=limit)]
            assert got == expected, spec
