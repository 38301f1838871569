"""paths: splitting, strict lookup and the query-side array fan-out."""

import pytest

from dongo.backends.memory.bsontypes import MISSING
from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.paths import (
    get_path,
    iter_path_positions,
    iter_path_values,
    split_path,
    split_path_lenient,
)


def test_split_path_cached_and_validated():
    assert split_path("a.b.0") == ("a", "b", "0")
    assert split_path("a.b.0") is split_path("a.b.0")
    for bad in ("", "a..b", "a.", ".a"):
        with pytest.raises(ServerError) as info:
            split_path(bad)
        assert info.value.code == 56
    assert split_path_lenient("a..b") == ("a", "", "b")


def test_get_path_strict():
    doc = {"a": {"b": [10, {"c": 3}]}, "x": 1}
    assert get_path(doc, ("a", "b", "0")) == 10
    assert get_path(doc, ("a", "b", "1", "c")) == 3
    assert get_path(doc, ("a", "b", "2")) is MISSING
    assert get_path(doc, ("a", "b", "c")) is MISSING  # no fan-out
    assert get_path(doc, ("x", "y")) is MISSING
    assert get_path(doc, ("nope",), default=None) is None
    assert get_path({"a": {"0": 5}}, ("a", "0")) == 5  # numeric key of a document


def values(doc, path, **kw):
    return list(iter_path_values(doc, tuple(path.split(".")), **kw))


def test_fan_out_through_arrays_of_documents():
    doc = {"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}, 5, [{"b": 6}]]}
    # scalars and nested arrays in the middle of a path contribute nothing;
    # documents without the field contribute MISSING
    assert values(doc, "a.b") == [1, [2, 3], MISSING]
    assert values(doc, "a.b", expand_arrays=True) == [1, 2, 3, [2, 3], MISSING]


def test_missing_and_scalars_mid_path():
    assert values({}, "a.b") == [MISSING]
    assert values({"a": 4}, "a.b") == [MISSING]
    assert values({"a": None}, "a") == [None]
    # an array with no embedded documents yields nothing → reported as missing,
    # unless the caller (the matcher) asks for no filling
    assert values({"a": [1, 2]}, "a.b") == [MISSING]
    assert values({"a": []}, "a.b") == [MISSING]
    assert values({"a": [1, 2]}, "a.b", fill_missing=False) == []
    assert list(iter_path_positions({"a": []}, ("a", "b"), fill_missing=False)) == []


def test_leaf_array_expansion():
    assert values({"a": [1, [2]]}, "a", expand_arrays=True) == [1, [2], [1, [2]]]
    assert values({"a": [1, [2]]}, "a") == [[1, [2]]]
    assert values({"a": []}, "a", expand_arrays=True) == [[]]


def test_numeric_components():
    # index into an array, and field name of embedded documents
    assert values({"a": [7, 8]}, "a.1") == [8]
    assert values({"a": [{"0": "x"}, 9]}, "a.0") == ["x", {"0": "x"}]
    assert values({"a": [[1, 2], [3]]}, "a.0") == [[1, 2]]
    assert values({"a": [[{"b": 1}], [{"b": 2}]]}, "a.1.b") == [2]
    assert values({"a": {"0": 5}}, "a.0") == [5]
    assert values({"a": [1]}, "a.01") == [MISSING]  # "01" is not the element name "1"


def test_positions_report_outermost_implicit_array():
    doc = {"a": [{"b": [1, 2]}, {"b": [3]}]}
    got = list(iter_path_positions(doc, ("a", "b"), expand_arrays=True))
    assert got == [(1, 0), (2, 0), ([1, 2], 0), (3, 1), ([3], 1)]
    got = list(iter_path_positions({"a": [5, 6]}, ("a",), expand_arrays=True))
    assert got == [(5, 0), (6, 1), ([5, 6], None)]
    # an explicit index is not an implicit traversal
    got = list(iter_path_positions({"a": [{"b": 1}, {"b": [4, 5]}]}, ("a", "1", "b"), expand_arrays=True))
    assert got == [(MISSING, 0), (MISSING, 1), (4, 0), (5, 1), ([4, 5], None)]


def test_decoded_dbrefs_are_documents_on_paths():
    import bson

    doc = bson.decode(bson.encode({"r": {"$ref": "c", "$id": 5}, "rs": [{"$ref": "c", "$id": 6}]}))
    assert get_path(doc, ("r", "$id")) == 5
    assert values(doc, "r.$ref") == ["c"]
    assert values(doc, "rs.$id") == [6]
