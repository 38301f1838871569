"""projection: find projections and $project, with MongoDB docs examples."""

import copy

import pytest

from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.filters import compile_filter
from dongo.backends.memory.projection import compile_projection

JOURNAL = {"_id": 1, "item": "journal", "status": "A", "size": {"h": 14, "w": 21, "uom": "cm"},
           "instock": [{"warehouse": "A", "qty": 5}]}


def project(spec, doc, query=None, **kw):
    matcher = compile_filter(query) if query is not None else None
    return compile_projection(spec, matcher=matcher, **kw)(copy.deepcopy(doc))


def err(spec, query=None, **kw):
    matcher = compile_filter(query) if query is not None else None
    with pytest.raises(ServerError) as info:
        compile_projection(spec, matcher=matcher, **kw)
    return info.value.code, info.value.errmsg


def test_docs_project_fields_to_return():
    assert project({"item": 1, "status": 1}, JOURNAL) == {"_id": 1, "item": "journal", "status": "A"}
    assert project({"item": 1, "status": 1, "_id": 0}, JOURNAL) == {"item": "journal", "status": "A"}
    assert project({"status": 0, "instock": 0}, JOURNAL) == {
        "_id": 1, "item": "journal", "size": {"h": 14, "w": 21, "uom": "cm"}}
    assert project({"item": 1, "status": 1, "size.uom": 1}, JOURNAL) == {
        "_id": 1, "item": "journal", "status": "A", "size": {"uom": "cm"}}
    assert project({"item": 1, "status": 1, "size": {"uom": 1}}, JOURNAL) == {
        "_id": 1, "item": "journal", "status": "A", "size": {"uom": "cm"}}
    assert project({"size.uom": 0}, JOURNAL) == {
        "_id": 1, "item": "journal", "status": "A", "size": {"h": 14, "w": 21},
        "instock": [{"warehouse": "A", "qty": 5}]}
    assert project({"item": 1, "status": 1, "instock.qty": 1}, JOURNAL) == {
        "_id": 1, "item": "journal", "status": "A", "instock": [{"qty": 5}]}
    assert project({"item": 1, "status": 1, "instock": {"$slice": -1}}, JOURNAL) == {
        "_id": 1, "item": "journal", "status": "A", "instock": [{"warehouse": "A", "qty": 5}]}


def test_inclusion_keeps_document_order_and_drops_scalars_in_arrays():
    doc = {"_id": 5, "b": 1, "a": [1, {"x": 1, "y": 2}, [{"x": 3}], {"y": 4}]}
    assert project({"a.x": 1, "b": 1}, doc) == {"_id": 5, "b": 1, "a": [{"x": 1}, [{"x": 3}], {}]}
    assert project({"a.x": 0}, doc) == {"_id": 5, "b": 1, "a": [1, {"y": 2}, [{}], {"y": 4}]}
    assert project({"nope": 1}, doc) == {"_id": 5}
    assert project({"_id": 0}, doc) == {"b": 1, "a": doc["a"]}
    assert project({"_id": 1}, doc) == {"_id": 5}


def test_empty_projection_is_identity():
    for spec in (None, {}):
        p = compile_projection(spec)
        assert p.is_identity
        assert p(dict(JOURNAL)) == JOURNAL
    assert not compile_projection({"_id": 0}).is_identity


def test_slice_docs_examples():
    socks = {"_id": 1, "item": "socks", "qty": 100,
             "details": {"colors": ["blue", "red"], "sizes": ["S", "M", "L"]}}
    assert project({"qty": 1, "details.colors": {"$slice": 1}}, socks) == {
        "_id": 1, "qty": 100, "details": {"colors": ["blue"]}}
    assert project({"_id": 0, "details.colors": {"$slice": 1}}, socks) == {
        "item": "socks", "qty": 100, "details": {"colors": ["blue"], "sizes": ["S", "M", "L"]}}
    arr = {"_id": 1, "a": [0, 1, 2, 3, 4], "b": 1}
    assert project({"a": {"$slice": 2}}, arr) == {"_id": 1, "a": [0, 1], "b": 1}
    assert project({"a": {"$slice": -2}}, arr) == {"_id": 1, "a": [3, 4], "b": 1}
    assert project({"a": {"$slice": [1, 2]}}, arr) == {"_id": 1, "a": [1, 2], "b": 1}
    assert project({"a": {"$slice": [-2, 5]}}, arr) == {"_id": 1, "a": [3, 4], "b": 1}
    assert project({"a": {"$slice": [10, 1]}}, arr) == {"_id": 1, "a": [], "b": 1}
    assert project({"b": {"$slice": 1}}, arr) == arr  # not an array: unchanged
    assert project({"_id": 1, "a": {"$slice": 1}}, arr) == {"_id": 1, "a": [0]}  # {_id: 1} makes it inclusion


SCHOOLS = [
    {"_id": 1, "zipcode": "63109", "students": [{"name": "john", "school": 102, "age": 10},
                                                {"name": "jess", "school": 102, "age": 11},
                                                {"name": "jeff", "school": 108, "age": 15}]},
    {"_id": 3, "zipcode": "63109", "students": [{"name": "ajax", "school": 100, "age": 7},
                                                {"name": "achilles", "school": 100, "age": 8}]},
    {"_id": 4, "zipcode": "63109", "students": [{"name": "barney", "school": 102, "age": 7},
                                                {"name": "ruth", "school": 102, "age": 16}]},
]


def test_elem_match_projection_docs():
    spec = {"students": {"$elemMatch": {"school": 102}}}
    assert [project(spec, d) for d in SCHOOLS] == [
        {"_id": 1, "students": [{"name": "john", "school": 102, "age": 10}]},
        {"_id": 3},
        {"_id": 4, "students": [{"name": "barney", "school": 102, "age": 7}]},
    ]
    spec = {"students": {"$elemMatch": {"school": 102, "age": {"$gt": 10}}}}
    assert [project(spec, d) for d in SCHOOLS] == [
        {"_id": 1, "students": [{"name": "jess", "school": 102, "age": 11}]},
        {"_id": 3},
        {"_id": 4, "students": [{"name": "ruth", "school": 102, "age": 16}]},
    ]
    # 4.4+: the $elemMatch field comes after the other included fields
    spec = {"students": {"$elemMatch": {"school": 108}}, "zipcode": 1}
    assert list(project(spec, SCHOOLS[0])) == ["_id", "zipcode", "students"]


def test_positional_projection_docs():
    students = [
        {"_id": 1, "semester": 1, "grades": [70, 87, 90]},
        {"_id": 2, "semester": 1, "grades": [90, 88, 92]},
        {"_id": 3, "semester": 1, "grades": [85, 100, 90]},
        {"_id": 4, "semester": 2, "grades": [79, 85, 80]},
    ]
    query = {"semester": 1, "grades": {"$gte": 85}}
    m = compile_filter(query)
    got = [project({"grades.$": 1}, d, query) for d in students if m(d)]
    assert got == [{"_id": 1, "grades": [87]}, {"_id": 2, "grades": [90]}, {"_id": 3, "grades": [85]}]
    docs = [
        {"_id": 7, "grades": [{"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 5},
                              {"grade": 90, "mean": 85, "std": 3}]},
        {"_id": 8, "grades": [{"grade": 92, "mean": 88, "std": 8}, {"grade": 78, "mean": 90, "std": 5},
                              {"grade": 88, "mean": 85, "std": 3}]},
    ]
    assert [project({"grades.$": 1}, d, {"grades.mean": {"$gt": 70}}) for d in docs] == [
        {"_id": 7, "grades": [{"grade": 80, "mean": 75, "std": 8}]},
        {"_id": 8, "grades": [{"grade": 92, "mean": 88, "std": 8}]},
    ]
    query = {"grades": {"$elemMatch": {"mean": {"$gt": 70}, "grade": {"$gt": 90}}}}
    assert project({"grades.$": 1}, docs[1], query) == {"_id": 8, "grades": [{"grade": 92, "mean": 88, "std": 8}]}
    # a field that is not an array is returned whole
    assert project({"a.$": 1}, {"_id": 1, "a": 5}, {"a": 5}) == {"_id": 1, "a": 5}
    # nested: the first array on the path is narrowed
    doc = {"_id": 1, "a": {"b": [{"c": 1, "d": 1}, {"c": 2, "d": 2}]}}
    assert project({"a.b.$": 1}, doc, {"a.b.c": 2}) == {"_id": 1, "a": {"b": [{"c": 2, "d": 2}]}}


def test_computed_fields_and_literals():
    doc = {"_id": 1, "first": "Ada", "last": "Lovelace", "n": [1, 2, 3]}
    assert project({"name": {"$concat": ["$first", " ", "$last"]}, "first": 1}, doc) == {
        "_id": 1, "first": "Ada", "name": "Ada Lovelace"}
    assert project({"tag": "x", "copy": "$last", "_id": 0}, doc) == {"tag": "x", "copy": "Lovelace"}
    assert project({"a.b": "$first"}, doc) == {"_id": 1, "a": {"b": "Ada"}}
    assert project({"missing": "$nope"}, doc) == {"_id": 1}
    assert project({"n": {"$slice": ["$n", 1]}}, doc, for_find=False) == {"_id": 1, "n": [1]}
    assert project({"_id": 0, "first": 0}, doc, for_find=False) == {"last": "Lovelace", "n": [1, 2, 3]}


@pytest.mark.parametrize("spec, code, message", [
    ({"document_id": False, "array": True}, 31253, "Cannot do inclusion on field array in exclusion projection"),
    ({"array": True, "document_id": False}, 31254, "Cannot do exclusion on field document_id in inclusion projection"),
    ({"a": 1, "a.b": 1}, 31249, "Path collision at a.b remaining portion b"),
    ({"a.b": 1, "a": 1}, 31250, "Path collision at a"),
    ({"a.b.c": 1, "a.b": 0}, 31250, "Path collision at a.b"),
    ({"a": 0, "b": "$x"}, 31310, 'Cannot use an expression b: "$x" in an exclusion projection'),
    ({"a": 0, "b": {"$add": [1, 2]}}, 31252, "Cannot use expression other than $meta in exclusion projection"),
    ({"a": {"$slice": [1]}}, 31272, "$slice array argument should be of form [skip, limit]"),
    ({"a": {"$slice": [1, 0]}}, 31259, "$slice limit must be positive, got 0"),
    ({"a": {"$slice": "x"}}, 31273, "$slice only supports numbers and [skip, limit] arrays"),
    ({"a.b": {"$elemMatch": {"x": 1}}}, 31275, "Cannot use $elemMatch projection on a nested field."),
    ({"a": {"$elemMatch": 1}}, 31274, "elemMatch: Invalid argument, object required, but got int"),
    ({"a": {"$foo": 1}}, 31325, "Unknown expression $foo"),
    ({"a.$": 1}, 51050, "Projections with a positional operator require a matcher"),
    ({"$a": 1}, 16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField."),
    ({"a..b": 1}, 15998, "FieldPath field names may not be empty strings."),
])
def test_projection_errors(spec, code, message):
    assert err(spec) == (code, message)


def test_positional_errors():
    assert err({"b.$": 1}, {"a": 1}) == (31277, "Positional projection 'b.$' does not match the query document.")
    assert err({"a.$": 1, "b.$": 1}, {"a": 1, "b": 1}) == (
        31276, "Cannot specify more than one positional projection per query.")
    assert err({"a.$": 1, "b": {"$elemMatch": {"x": 1}}}, {"a": 1}) == (
        31255, "Cannot specify positional operator and $elemMatch.")
    assert err({"a.$": 1}, {"a": 1}, for_find=False) == (
        31324, "Invalid $project :: caused by :: Cannot use positional projection in aggregation projection")
    assert err({"v": {}}, for_find=False) == (
        51270, "Invalid $project :: caused by :: An empty sub-projection is not a valid value. "
               "Found empty object at path")
    assert err({"a": {"$elemMatch": {"x": 1}}}, for_find=False) == (
        168, "Invalid $project :: caused by :: Cannot use $elemMatch in this context")
    assert err({"a.$": {"x": 1}}, {"a": 1}) == (
        31271, "positional projection cannot be used with an expression or sub object")
    # $or branches count as constraining the array
    assert compile_projection({"a.$": 1}, matcher=compile_filter({"$or": [{"a.b": 1}]}))
    with pytest.raises(ServerError) as info:
        project({"a.$": 1}, {"_id": 1, "a": [1], "b": [1, 2, 3]}, {"a": 1, "b": 3})
    assert info.value.code == 51246


_MID_PATH_POSITIONAL = (
    "As of 4.4, it's illegal to specify positional operator in the middle of a path.Positional "
    "projection may only be used at the end, for example: a.b.$. If the query previously used a "
    "form like a.b.$.d, remove the parts following the '$' and the results will be equivalent.")


def test_positional_in_the_middle_of_a_path_is_rejected():
    # "$ (projection)" Path Restrictions: since 4.4 the $ may only end the path
    # (server code 31394, SERVER-43334; the message is the server's, missing space included).
    assert err({"grades.$.x": 1}, {"grades": 85}) == (31394, _MID_PATH_POSITIONAL)
    assert err({"a.b.$.c.d": 1}, {"a.b": 1}) == (31394, _MID_PATH_POSITIONAL)
    assert err({"a.$.": 1}, {"a": 1}) == (31394, _MID_PATH_POSITIONAL)
    assert err({"x": {"a.$.b": 1}}, {"x": 1}) == (31394, _MID_PATH_POSITIONAL)
    # aggregation refuses any positional first
    assert err({"a.$.b": 1}, for_find=False)[0] == 31324
    # the end of a path is still fine
    assert project({"grades.$": 1}, {"_id": 1, "grades": [80, 85]}, {"grades": 85}) == {
        "_id": 1, "grades": [85]}


CI = {"locale": "en_US", "strength": 2}


def test_expressions_follow_the_collation():
    # jstests/core/query/projection/projection_with_collation.js: a find
    # projection's expressions use the find's collation.
    doc = {"_id": 0, "str": "a", "array": [{"str": "b"}, {"str": "A"}, {"str": "B"}, {"str": "a"}]}
    spec = {"sortedArray": {"$sortArray": {"input": "$array", "sortBy": {"str": 1}}}}
    assert project(spec, doc, collation=CI) == {
        "_id": 0, "sortedArray": [{"str": "A"}, {"str": "a"}, {"str": "b"}, {"str": "B"}]}
    assert project(spec, doc) == {
        "_id": 0, "sortedArray": [{"str": "A"}, {"str": "B"}, {"str": "a"}, {"str": "b"}]}
    assert project({"o": {"$eq": ["$str", "A"]}}, doc, collation=CI) == {"_id": 0, "o": True}
    assert project({"o": ["$str", {"$eq": ["$str", "A"]}]}, doc, collation=CI) == {
        "_id": 0, "o": ["a", True]}
    assert project({"o": {"$eq": ["$str", "A"]}}, doc, collation={"locale": "simple"}) == {
        "_id": 0, "o": False}


def test_find_projection_follows_the_query_collation_by_default():
    doc = {"_id": 1, "str": "A"}
    matcher = compile_filter({}, collation=CI)
    assert compile_projection({"o": {"$eq": ["$str", "a"]}}, matcher=matcher)(doc) == {"_id": 1, "o": True}
    # an explicit collation wins over the matcher's
    assert compile_projection({"o": {"$eq": ["$str", "a"]}}, matcher=matcher,
                              collation={"locale": "simple"})(doc) == {"_id": 1, "o": False}


def test_elem_match_projection_follows_the_collation():
    doc = {"_id": 1, "a": [{"s": "x"}, {"s": "B"}, {"s": "b"}]}
    assert project({"a": {"$elemMatch": {"s": "b"}}}, doc, collation=CI) == {"_id": 1, "a": [{"s": "B"}]}
    assert project({"a": {"$elemMatch": {"s": "b"}}}, doc) == {"_id": 1, "a": [{"s": "b"}]}


def test_aggregation_projection_takes_a_collation():
    p = compile_projection({"o": {"$in": ["$s", ["A"]]}, "_id": 0}, for_find=False, collation=CI)
    assert p({"s": "a"}) == {"o": True}


def test_meta_not_implemented():
    with pytest.raises(NotImplementedError):
        compile_projection({"score": {"$meta": "textScore"}})


def test_variables_in_computed_fields():
    p = compile_projection({"v": "$$x", "_id": 0}, for_find=False, variables=frozenset({"x"}))
    assert p({"a": 1}, {"x": 7}) == {"v": 7}
    p = compile_projection({"v": {"$add": ["$$x", "$a"]}, "_id": 0}, variables={"x": 2})
    assert p({"a": 1}) == {"v": 3}
    with pytest.raises(ServerError) as info:
        compile_projection({"v": "$$nope"})
    assert info.value.code == 17276


def test_find_and_find_and_modify_projections_use_the_collation():
    # jstests/core/query/projection/projection_with_collation.js, through the client.
    from pymongo import ReturnDocument

    from dongo.backends.memory import MemoryClient

    coll = MemoryClient()["db"]["c"]
    coll.insert_many([
        {"_id": 0, "str": "a", "array": [{"str": "b"}, {"str": "A"}, {"str": "B"}, {"str": "a"}]},
        {"_id": 1, "str": "a", "elemMatch": [{"str": "A"}, "ignored"]},
        {"_id": 2, "str": "A", "elemMatch": ["ignored", {"str": "a"}]},
        {"_id": 3, "str": "B"},
    ])
    query = {"str": "A", "elemMatch": {"$elemMatch": {"str": "a"}}}
    assert list(coll.find(query, {"_id": 1, "elemMatch.$": 1}, collation=CI)) == [
        {"_id": 1, "elemMatch": [{"str": "A"}]}, {"_id": 2, "elemMatch": [{"str": "a"}]}]
    sort_array = {"$sortArray": {"input": "$array", "sortBy": {"str": 1}}}
    assert list(coll.find({"str": "A"}, {"sortedArray": sort_array}, collation=CI)) == [
        {"_id": 0, "sortedArray": [{"str": "A"}, {"str": "a"}, {"str": "b"}, {"str": "B"}]},
        {"_id": 1, "sortedArray": None}, {"_id": 2, "sortedArray": None}]
    assert coll.find_one_and_update(
        {"_id": 0, "str": "A"}, {"$set": {"updated": True}},
        projection={"_id": 1, "str": 1, "sortedArray": sort_array}, collation=CI,
        return_document=ReturnDocument.AFTER) == {
            "_id": 0, "str": "a", "sortedArray": [{"str": "A"}, {"str": "a"}, {"str": "b"}, {"str": "B"}]}
    assert coll.find_one_and_delete(
        {"_id": 1, **query}, projection={"_id": 1, "elemMatch.$": 1}, collation=CI) == {
            "_id": 1, "elemMatch": [{"str": "A"}]}
    # the simple collation: binary comparison
    assert list(coll.find(query, {"_id": 1, "elemMatch.$": 1}, collation={"locale": "simple"})) == [
        {"_id": 2, "elemMatch": [{"str": "a"}]}]
