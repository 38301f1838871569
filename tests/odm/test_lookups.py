"""Compile-only tests: the exact filter and update documents lookups produce."""

import re

import pytest
from bson.regex import Regex

from dongo.errors import DongoError, DongoLookupError
from dongo.lookups import (
    compile_filter,
    compile_update,
    field_path,
    merge_filters,
    parse_lookup,
    regex_escape,
)

END = "(?![\\s\\S])"  # absolute end of text, in PCRE and Python


@pytest.mark.parametrize(
    "lookups, expected",
    [
        ({"name": "joe"}, {"name": "joe"}),
        ({"x": 5, "foo": "bar"}, {"x": 5, "foo": "bar"}),
        ({"accounts__creditcard": 1000}, {"accounts.creditcard": 1000}),
        ({"x__gte": 5}, {"x": {"$gte": 5}}),
        ({"accounts__creditcard__gt": 10000}, {"accounts.creditcard": {"$gt": 10000}}),
        ({"color__in": ["red", "blue"]}, {"color": {"$in": ["red", "blue"]}}),
        ({"color__in": ("red",)}, {"color": {"$in": ["red"]}}),
        ({"color__ne": "blue"}, {"color": {"$ne": "blue"}}),
        (
            {"color__nin": ["red", "blue"], "age__gt": 50, "age__lte": 60},
            {"color": {"$nin": ["red", "blue"]}, "age": {"$gt": 50, "$lte": 60}},
        ),
        ({"age__lt": 3}, {"age": {"$lt": 3}}),
        ({"age__eq": 3}, {"age": 3}),
        ({"age": 5, "age__ne": None}, {"age": {"$eq": 5, "$ne": None}}),
        ({"name__regex": "^queen"}, {"name": {"$regex": "^queen"}}),
        ({"start__exists": 0}, {"start": {"$exists": False}}),
        ({"age__exists": 1}, {"age": {"$exists": True}}),
        ({"tags__size": 2}, {"tags": {"$size": 2}}),
        ({"tags__all": ["a", "b"]}, {"tags": {"$all": ["a", "b"]}}),
        ({"n__mod": [4, 0]}, {"n": {"$mod": [4, 0]}}),
        ({"n__type": "string"}, {"n": {"$type": "string"}}),
        ({"tags__0": "rock"}, {"tags.0": "rock"}),
        ({"nested__field1": 1}, {"nested.field1": 1}),
        ({"stats__size__eq": 3}, {"stats.size": 3}),
        ({"meta": {"$gt": 1}}, {"meta": {"$eq": {"$gt": 1}}}),
        ({"meta": {"a": 1}}, {"meta": {"$eq": {"a": 1}}}),
        ({"age__not__gt": 5}, {"age": {"$not": {"$gt": 5}}}),
        ({"age__not": {"gt": 5, "lt": 1}}, {"age": {"$not": {"$gt": 5, "$lt": 1}}}),
        ({"age__not": 5}, {"age": {"$not": {"$eq": 5}}}),
        ({"name__iexact": "Joe"}, {"name": {"$regex": "^Joe" + END, "$options": "i"}}),
        ({"name__contains": "a.b"}, {"name": {"$regex": "a\\.b"}}),
        ({"name__icontains": "x"}, {"name": {"$regex": "x", "$options": "i"}}),
        ({"name__startswith": "q("}, {"name": {"$regex": "^q\\("}}),
        ({"name__istartswith": "q"}, {"name": {"$regex": "^q", "$options": "i"}}),
        ({"name__endswith": "$"}, {"name": {"$regex": "\\$" + END}}),
        ({"name__iendswith": "e"}, {"name": {"$regex": "e" + END, "$options": "i"}}),
        (
            {"results__elemmatch": {"product": "xyz", "score__gte": 8}},
            {"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 8}}}},
        ),
        (
            {"scores__elemmatch": {"gte": 80, "lt": 85}},
            {"scores": {"$elemMatch": {"$gte": 80, "$lt": 85}}},
        ),
        (
            {"name__startswith": "a", "name__endswith": "z"},
            {"name": {"$regex": "^a"}, "$and": [{"name": {"$regex": "z" + END}}]},
        ),
        (
            {"name__icontains": "a", "name__endswith": "z"},
            {"name": {"$regex": "a", "$options": "i"}, "$and": [{"name": {"$regex": "z" + END}}]},
        ),
    ],
)
def test_compile_filter(lookups, expected):
    assert compile_filter(lookups) == expected


def test_literal_regex_equality_uses_eq():
    pattern = Regex("^a")
    assert compile_filter({"name": pattern}) == {"name": {"$eq": pattern}}


def test_regex_lookup_accepts_compiled_pattern():
    pattern = re.compile("^a", re.I)
    assert compile_filter({"name__regex": pattern}) == {"name": {"$regex": pattern}}


@pytest.mark.parametrize(
    "key, path, lookup, negated",
    [
        ("name", "name", "eq", False),
        ("size", "size", "eq", False),  # a lone segment is always a field
        ("a__b__c", "a.b.c", "eq", False),
        ("a__b__gt", "a.b", "gt", False),
        ("a__not__in", "a", "in", True),
        ("a__not", "a", "not", False),
        ("tags__0", "tags.0", "eq", False),
    ],
)
def test_parse_lookup(key, path, lookup, negated):
    assert tuple(parse_lookup(key)) == (path, lookup, negated)


def test_unknown_lookup_close_to_a_name_hints():
    with pytest.raises(DongoLookupError) as info:
        compile_filter({"age__gtt": 3})
    assert "did you mean 'gt'?" in str(info.value)
    assert "age__gtt__eq" in str(info.value)


def test_lookup_error_is_a_value_error_and_dongo_error():
    with pytest.raises(ValueError):
        compile_filter({"name__icontain": "x"})
    with pytest.raises(DongoError):
        compile_filter({"name__startwith": "x"})


def test_final_segment_far_from_lookups_is_a_path():
    assert compile_filter({"nested__field1": 1}) == {"nested.field1": 1}


@pytest.mark.parametrize("key", ["$where", "$or", "$gt"])
def test_dollar_keywords_refused(key):
    with pytest.raises(DongoError, match="starts with '\\$'"):
        compile_filter({key: "1"})
    with pytest.raises(DongoError):
        compile_update({key: 1})


@pytest.mark.parametrize("key", ["a____b", "__a", "a__"])
def test_empty_segments_refused(key):
    with pytest.raises(DongoLookupError, match="empty segment"):
        parse_lookup(key)


@pytest.mark.parametrize(
    "lookups",
    [
        {"color__in": "red"},
        {"name__contains": 3},
        {"n__mod": [1]},
        {"tags__elemmatch": {}},
        {"a__not": {"bogus": 1}},
        {"name__regex": 5},
    ],
)
def test_bad_values_refused(lookups):
    with pytest.raises(DongoLookupError):
        compile_filter(lookups)


def test_compile_update():
    assert compile_update({"a__b": 1}) == {"$set": {"a.b": 1}}
    assert compile_update({"age": 1, "n__x": 2}, "$inc") == {"$inc": {"age": 1, "n.x": 2}}
    assert compile_update({"nested.field1": 1}) == {"$set": {"nested.field1": 1}}
    with pytest.raises(DongoLookupError):
        compile_update({})


def test_field_path():
    assert field_path("nested__field1") == "nested.field1"
    assert field_path("plain") == "plain"


def test_regex_escape_matches_literally_in_python_and_is_pcre_safe():
    text = "a.b*c+(d)[e]{f}|g^h$i?j\\k l-m#n&o~p"
    escaped = regex_escape(text)
    assert re.fullmatch(escaped, text)
    # Every escape is a backslash before a non-alphanumeric char: literal in PCRE.
    for i, ch in enumerate(escaped):
        if ch == "\\" and (i == 0 or escaped[i - 1] != "\\"):
            assert not escaped[i + 1].isalnum()


def test_merge_filters():
    assert merge_filters({}, {"a": 1}) == {"a": 1}
    assert merge_filters({"a": 1}, {"b": 2}) == {"a": 1, "b": 2}
    assert merge_filters({"a": 1}, {"a": {"$gt": 0}}) == {"$and": [{"a": 1}, {"a": {"$gt": 0}}]}
    assert merge_filters({"$or": [{"a": 1}]}, {"b": 2}) == {"$or": [{"a": 1}], "b": 2}
    assert merge_filters({"$or": [{"a": 1}]}, {"$or": [{"b": 2}]}) == {
        "$and": [{"$or": [{"a": 1}]}, {"$or": [{"b": 2}]}]
    }
    assert merge_filters() == {}


# --------------------------------------------------------------- properties
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _python_flags(spec):
    return re.IGNORECASE if spec.get("$options") == "i" else 0


@settings(max_examples=200, deadline=None)
@given(needle=st.text(max_size=8), hay=st.text(max_size=12))
def test_string_lookups_match_exactly_the_literal_text(needle, hay):
    """The compiled patterns mean what the lookup names say, for any text."""
    checks = {
        "contains": needle in hay,
        "startswith": hay.startswith(needle),
        "endswith": hay.endswith(needle),
    }
    if needle.isascii() and hay.isascii():  # Unicode case folding differs between engines
        checks["iexact"] = needle.lower() == hay.lower()
    for lookup, expected in checks.items():
        spec = compile_filter({f"f__{lookup}": needle})["f"]
        assert bool(re.search(spec["$regex"], hay, _python_flags(spec))) is expected


# ------------------------------------------- the cached fast path (compile_filter)
@pytest.mark.parametrize(
    "lookups, expected",
    [
        ({"fp_name": "joe"}, {"fp_name": "joe"}),
        ({"fp_status": "a", "fp_score__gte": 5}, {"fp_status": "a", "fp_score": {"$gte": 5}}),
        ({"fp_tags__0": "x"}, {"fp_tags.0": "x"}),
        # two keywords on one field are merged, never overwritten
        ({"fp_age": 5, "fp_age__ne": None}, {"fp_age": {"$eq": 5, "$ne": None}}),
        ({"fp_age__gt": 50, "fp_age__lte": 60}, {"fp_age": {"$gt": 50, "$lte": 60}}),
        ({"fp_a__eq": 1, "fp_a": 2}, {"fp_a": 1, "$and": [{"fp_a": {"$eq": 2}}]}),
        # a value that is not a plain scalar goes the general way even for a known keyword
        ({"fp_name": {"$gt": 1}}, {"fp_name": {"$eq": {"$gt": 1}}}),
        ({"fp_name": Regex("^a")}, {"fp_name": {"$eq": Regex("^a")}}),
        ({"fp_age__ne": [1, 2]}, {"fp_age": {"$ne": [1, 2]}}),
    ],
)
def test_compile_filter_is_the_same_once_keywords_are_cached(lookups, expected):
    first = compile_filter(lookups)
    for key, value in lookups.items():  # prime every keyword's cache entry alone too
        compile_filter({key: 0 if isinstance(value, (dict, Regex, list)) else value})
    assert first == expected
    assert compile_filter(lookups) == expected
    assert compile_filter(lookups) == expected


def test_cached_keyword_result_is_a_fresh_dict_each_time():
    one = compile_filter({"fp_fresh__gt": 1})
    one["fp_fresh"]["$gt"] = 99
    assert compile_filter({"fp_fresh__gt": 1}) == {"fp_fresh": {"$gt": 1}}
