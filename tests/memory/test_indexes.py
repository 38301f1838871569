"""Secondary indexes: specs, key generation, maintenance, uniqueness, errors.

Expected values come from MongoDB's documentation and the server's own
messages (``index_key_validate.cpp``, ``index_catalog_impl.cpp``,
``duplicate_key_error_info.cpp``); ``IndexSet._check()`` verifies the
internal invariants after every scenario.
"""

from __future__ import annotations

import datetime
import random

import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.son import SON

from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.bsontypes import sort_key
from dongo.backends.memory.indexes import IndexSet, format_value, parse_index_spec


class Owner:
    """What storage.Namespace offers the index set: a name and the records."""

    full_name = "db.coll"

    def __init__(self) -> None:
        self.records: dict[int, tuple] = {}
        self.next_rid = 1


def make(*docs: dict) -> tuple[Owner, IndexSet]:
    owner = Owner()
    indexes = IndexSet(owner)
    for doc in docs:
        insert(owner, indexes, doc)
    return owner, indexes


def insert(owner: Owner, indexes: IndexSet, doc: dict) -> int:
    rid = owner.next_rid
    indexes.add(rid, doc)  # raises before anything changes
    owner.next_rid += 1
    owner.records[rid] = (doc, b"")
    return rid


def update(owner: Owner, indexes: IndexSet, rid: int, doc: dict) -> None:
    indexes.replace(rid, owner.records[rid][0], doc)
    owner.records[rid] = (doc, b"")


def delete(owner: Owner, indexes: IndexSet, rid: int) -> None:
    doc = owner.records.pop(rid)[0]
    indexes.remove(rid, doc)


def error(fn, *args, **kwargs) -> ServerError:
    with pytest.raises(ServerError) as info:
        fn(*args, **kwargs)
    return info.value


# --------------------------------------------------------------------------
# Specs, listing, names
# --------------------------------------------------------------------------


def test_new_collection_lists_only_the_id_index():
    _, indexes = make()
    assert indexes.index_documents() == [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]


def test_create_returns_generated_name_and_lists_options_in_order():
    _, indexes = make()
    assert indexes.create([("a", 1), ("b", -1)], unique=True) == "a_1_b_-1"
    assert indexes.create("c", sparse=True, name="by_c") == "by_c"
    docs = indexes.index_documents()
    assert docs[1] == {"v": 2, "key": SON([("a", 1), ("b", -1)]), "name": "a_1_b_-1", "unique": True}
    assert list(docs[1]) == ["v", "key", "name", "unique"]
    assert list(docs[1]["key"]) == ["a", "b"]
    assert docs[2] == {"v": 2, "key": {"c": 1}, "name": "by_c", "sparse": True}


def test_index_information_shape():
    _, indexes = make()
    indexes.create("x", expireAfterSeconds=60)
    assert indexes.information() == {
        "_id_": {"v": 2, "key": [("_id", 1)]},
        "x_1": {"v": 2, "key": [("x", 1)], "expireAfterSeconds": 60},
    }


def test_create_indexes_accepts_pymongo_index_model_documents():
    from pymongo import IndexModel

    _, indexes = make()
    models = [IndexModel([("a", 1)]), IndexModel("b", unique=True, name="ub")]
    assert indexes.create_indexes([m.document for m in models]) == ["a_1", "ub"]
    assert [d["name"] for d in indexes.index_documents()] == ["_id_", "a_1", "ub"]


def test_identical_index_is_a_no_op():
    owner, indexes = make({"_id": 1, "a": 1})
    indexes.create("a", unique=True)
    indexes.create("a", unique=True)
    assert len(indexes.index_documents()) == 2
    indexes._check()


def test_same_name_different_key_is_86():
    _, indexes = make()
    indexes.create("a", name="idx")
    err = error(indexes.create, "b", name="idx")
    assert err.code == 86
    assert err.errmsg.startswith(
        "An existing index has the same name as the requested index. When index names are not "
        "specified, they are auto generated and can cause conflicts. Please refer to our "
        'documentation. Requested index: { key: { b: 1 }, name: "idx" }, existing index: '
        '{ v: 2, key: { a: 1 }, name: "idx" }')


def test_same_name_different_unique_is_86_signature_option():
    _, indexes = make()
    indexes.create("a")
    assert error(indexes.create, "a", unique=True).code == 86


def test_same_key_other_name_is_85():
    _, indexes = make()
    indexes.create("a")
    err = error(indexes.create, "a", name="other")
    assert (err.code, err.errmsg) == (85, "Index already exists with a different name: a_1")


def test_same_key_same_name_different_ttl_is_85_equivalent():
    _, indexes = make()
    indexes.create("t", expireAfterSeconds=10)
    err = error(indexes.create, "t", expireAfterSeconds=20)
    assert err.code == 85
    assert err.errmsg.startswith("An equivalent index already exists with the same name but different options.")


def test_same_key_pattern_with_different_unique_is_a_different_index():
    _, indexes = make()
    indexes.create("a")
    assert indexes.create("a", unique=True, name="a_unique") == "a_unique"


@pytest.mark.parametrize("keys, message", [
    ([("a", 0)], "Values in the index key pattern cannot be 0."),
    ([("a", float("nan"))], "Values in the index key pattern cannot be NaN."),
    ([("a", True)], "Values in v:2 index key pattern cannot be of type bool. "
                    "Only numbers > 0, numbers < 0, and strings are allowed."),
    ([("a", {"x": 1})], "Values in v:2 index key pattern cannot be of type object. "
                        "Only numbers > 0, numbers < 0, and strings are allowed."),
    ([("a", "foo")], "Unknown index plugin 'foo'"),
    ([("a", 1), ("b", "hashed"), ("c", "2d")], "Can't use more than one index plugin for a single index."),
    ([("$a", 1)], "Index key contains an illegal field name: field name starts with '$'."),
    ([("a..b", 1)], "Index keys cannot contain an empty field."),
    ([("", 1)], "Index keys cannot be an empty field."),
    ([], "Index keys cannot be empty."),
])
def test_bad_key_patterns_are_67(keys, message):
    _, indexes = make()
    err = error(indexes.create_indexes, [{"key": SON(keys), "name": "n"}])
    assert err.code == 67
    assert err.errmsg == f"Error in specification {format_value({'key': SON(keys), 'name': 'n'})} :: caused by :: {message}"


def test_dbref_fields_may_start_with_dollar():
    _, indexes = make()
    assert indexes.create("ref.$id") == "ref.$id_1"


def test_unknown_option_is_197():
    _, indexes = make()
    err = error(indexes.create, "a", foo=1)
    assert err.code == 197
    assert err.errmsg == ("The field 'foo' is not valid for an index specification. "
                          'Specification: { key: { a: 1 }, name: "a_1", foo: 1 }')


def test_option_type_errors():
    _, indexes = make()
    assert error(indexes.create, "a", unique="yes").errmsg == \
        "The field 'unique has value unique: \"yes\", which is not convertible to bool"
    assert error(indexes.create, "a", name=5).code == 14
    assert error(indexes.create, "a", name="").code == 67
    assert error(indexes.create, "a", expireAfterSeconds=-1).code == 72
    assert error(indexes.create, "a", expireAfterSeconds="x").code == 67
    assert error(indexes.create, [("a", 1), ("b", 1)], expireAfterSeconds=5).code == 67


def test_id_index_rules():
    _, indexes = make()
    assert error(indexes.create, "_id", sparse=True).errmsg == "_id index cannot be sparse"
    assert error(indexes.create, "_id", unique=False).errmsg == "_id index cannot be non-unique"
    indexes.create([("_id", 1)], name="_id_")  # identical to the existing one: no-op
    assert error(indexes.create, [("_id", 1)]).code == 85  # name "_id_1"
    assert indexes.create([("_id", -1)]) == "_id_-1"


def test_unsupported_index_types_raise_not_implemented():
    _, indexes = make()
    for kind in ("text", "2dsphere", "2d"):
        with pytest.raises(NotImplementedError, match=f"{kind} indexes are not supported by the memory engine"):
            indexes.create([("loc", kind)])
    with pytest.raises(NotImplementedError, match="wildcard indexes"):
        indexes.create([("$**", 1)])
    assert indexes.create("a", collation={"locale": "simple"}) == "a_1"
    assert indexes.index_documents()[1] == {"v": 2, "key": {"a": 1}, "name": "a_1"}


CASE_INSENSITIVE = {"locale": "en", "strength": 2}


def test_collated_index_lists_the_full_collation():
    _, indexes = make()
    indexes.create("name", collation=CASE_INSENSITIVE)
    assert indexes.index_documents()[1] == {
        "v": 2, "key": {"name": 1}, "name": "name_1",
        "collation": {"locale": "en", "caseLevel": False, "caseFirst": "off", "strength": 2,
                      "numericOrdering": False, "alternate": "non-ignorable", "maxVariable": "punct",
                      "normalization": False, "backwards": False, "version": "57.1"},
    }
    # a different collation makes a different index (it must have another name)
    assert indexes.create("name", collation={"locale": "fr"}, name="name_fr") == "name_fr"
    assert error(indexes.create, "name").code == 86  # name_1 exists with another collation


def test_index_collation_lists_the_locale_defaults():
    # fr_CA sorts accents backwards by default (ICU's [backwards 2]): the server lists it so.
    _, indexes = make()
    indexes.create("name", collation={"locale": "fr_CA"})
    indexes.create("code", collation={"locale": "fr_CA", "backwards": False})
    indexes.create("other", collation={"locale": "fr"})
    listed = [doc["collation"]["backwards"] for doc in indexes.index_documents()[1:]]
    assert listed == [True, False, False]


def test_case_insensitive_unique_index():
    owner, indexes = make({"_id": 1, "email": "Ann@x.org"})
    indexes.create("email", unique=True, collation=CASE_INSENSITIVE)
    err = error(insert, owner, indexes, {"_id": 2, "email": "ann@X.ORG"})
    assert err.code == 11000
    assert err.errmsg.startswith("E11000 duplicate key error collection: db.coll index: email_1 "
                                 'collation: { locale: "en", caseLevel: false, caseFirst: "off", strength: 2, ')
    assert err.details == {"keyPattern": {"email": 1}, "keyValue": {"email": "ann@X.ORG"}}
    insert(owner, indexes, {"_id": 3, "email": "bob@x.org"})
    insert(owner, indexes, {"_id": 4, "email": 5})
    indexes._check()
    # the build also sees case-insensitive duplicates
    owner2, indexes2 = make({"_id": 1, "u": "X"}, {"_id": 2, "u": "x"})
    assert error(indexes2.create, "u", unique=True, collation=CASE_INSENSITIVE).code == 11000


def test_hashed_index_rules():
    owner, indexes = make({"_id": 1, "h": [1, 2]})
    assert error(indexes.create, [("h", "hashed")], unique=True).code == 16764
    err = error(indexes.create, [("h", "hashed")])
    assert err.code == 16766 and "hashed indexes do not currently support array values" in err.errmsg
    delete(owner, indexes, 1)
    indexes.create([("h", "hashed")])
    err = error(insert, owner, indexes, {"_id": 2, "h": [1]})
    assert err.code == 16766
    indexes._check()


# --------------------------------------------------------------------------
# Drop
# --------------------------------------------------------------------------


def test_drop_errors_and_star():
    _, indexes = make()
    indexes.create("a")
    indexes.create("b")
    err = error(indexes.drop_index, "_id_")
    assert (err.code, err.code_name, err.errmsg) == (72, "InvalidOptions", "cannot drop _id index")
    err = error(indexes.drop_index, "nope")
    assert (err.code, err.code_name, err.errmsg) == (27, "IndexNotFound", "index not found with name [nope]")
    indexes.drop_index([("b", 1)])
    assert [d["name"] for d in indexes.index_documents()] == ["_id_", "a_1"]
    indexes.drop_index("*")
    assert [d["name"] for d in indexes.index_documents()] == ["_id_"]


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


def index_keys(spec_keys, doc, **options):
    owner, indexes = make(doc)
    name = indexes.create(spec_keys, **options)
    index = indexes.get(name)
    keys, _ = index.keys_for(doc)
    return keys, index


def test_multikey_fans_out_distinct_elements():
    keys, index = index_keys("a", {"_id": 1, "a": [3, 1, 3, [4]]})
    from dongo.backends.memory.bsontypes import sort_key

    assert set(keys) == {(sort_key(3),), (sort_key(1),), (sort_key([4]),)}
    assert index.multikey and index.multikey_paths == [{"a"}]


def test_missing_is_null_and_empty_array_is_undefined():
    from dongo.backends.memory.indexes import NULL_KEY, UNDEFINED_KEY

    assert index_keys("a", {"_id": 1})[0] == ((NULL_KEY,),)
    assert index_keys("a", {"_id": 1, "a": None})[0] == ((NULL_KEY,),)
    assert index_keys("a", {"_id": 1, "a": []})[0] == ((UNDEFINED_KEY,),)


def test_dotted_paths_through_arrays_of_documents():
    from dongo.backends.memory.bsontypes import sort_key
    from dongo.backends.memory.indexes import NULL_KEY

    keys, index = index_keys("a.b", {"_id": 1, "a": [{"b": 1}, {"c": 2}, {"b": [2, 3]}]})
    assert set(keys) == {(sort_key(1),), (NULL_KEY,), (sort_key(2),), (sort_key(3),)}
    assert index.multikey_paths == [{"a", "a.b"}]


def test_compound_keys_pair_each_array_element_with_the_scalars():
    from dongo.backends.memory.bsontypes import sort_key

    keys, _ = index_keys([("a", 1), ("b", 1)], {"_id": 1, "a": [1, 2], "b": "x"})
    assert set(keys) == {(sort_key(1), sort_key("x")), (sort_key(2), sort_key("x"))}


def test_parallel_arrays_are_171():
    owner, indexes = make()
    indexes.create([("a", 1), ("b", 1)])
    err = error(insert, owner, indexes, {"_id": 1, "a": [1, 2], "b": [1, 2]})
    assert (err.code, err.errmsg) == (171, "cannot index parallel arrays [b] [a]")
    assert owner.records == {} and len(indexes.id_index) == 0
    # one array is fine, and arrays sharing a prefix are not parallel
    insert(owner, indexes, {"_id": 2, "a": [1, 2], "b": 1})
    indexes.create([("x.y", 1), ("x.z", 1)])
    insert(owner, indexes, {"_id": 3, "x": [{"y": 1, "z": 2}, {"y": 3, "z": 4}]})
    indexes._check()


def test_parallel_arrays_fail_an_index_build():
    owner, indexes = make({"_id": 1, "a": [1], "b": [2]})
    err = error(indexes.create, [("a", 1), ("b", 1)])
    assert err.code == 171 and err.errmsg.endswith(":: caused by :: cannot index parallel arrays [b] [a]")
    assert len(indexes.index_documents()) == 1


def test_sparse_skips_documents_missing_every_field():
    owner, indexes = make({"_id": 1}, {"_id": 2, "a": None}, {"_id": 3, "b": 1})
    indexes.create("a", sparse=True)
    indexes.create([("a", 1), ("b", 1)], sparse=True)
    assert set(indexes.get("a_1").keys_by_rid) == {2}
    assert set(indexes.get("a_1_b_1").keys_by_rid) == {2, 3}
    indexes._check()


# --------------------------------------------------------------------------
# Uniqueness
# --------------------------------------------------------------------------


def test_duplicate_key_error_format():
    owner, indexes = make({"_id": 1, "name": "x"})
    indexes.create("name", unique=True)
    err = error(insert, owner, indexes, {"_id": 2, "name": "x"})
    assert err.code == 11000
    assert err.errmsg == 'E11000 duplicate key error collection: db.coll index: name_1 dup key: { name: "x" }'
    assert err.details == {"keyPattern": {"name": 1}, "keyValue": {"name": "x"}}
    assert err.to_document()["codeName"] == "DuplicateKey"


@pytest.mark.parametrize("value, shown", [
    ([], "undefined"),  # an empty array is indexed as undefined (keyValue: None)
    ([[]], "[]"),  # ... but a nested empty array is indexed whole
    ({"x": []}, "{ x: [] }"),
    (MinKey(), "MinKey"),
    (MaxKey(), "MaxKey"),
    (Regex("^a", "i"), "/^a/i"),
    (datetime.datetime(2020, 1, 1), "new Date(1577836800000)"),
    (ObjectId("5f0c5b6a1c9d440000a1b2c3"), "ObjectId('5f0c5b6a1c9d440000a1b2c3')"),
    (Binary(b"\x01\xff", 0), "BinData(0, 01FF)"),
    (Binary(b"\xab" * 81, 5), "BinData(5, " + "AB" * 70 + "...)"),
    (Timestamp(5, 6), "Timestamp(5, 6)"),
    (Decimal128("-1.50"), "-1.50"),
    (float("nan"), "nan.0"),
    (Code("f()"), "f()"),
    (Code("x" * 80), "x" * 70 + "..."),
    (Code("g()", {"a": 1}), "CodeWScope( g(), { a: 1 })"),
])
def test_duplicate_key_message_renders_values_as_the_server(value, shown):
    # BSONElement::toString (bsonelement.cpp): long BinData/Code are cut
    # after 70 bytes; an empty array is the key `undefined`.
    owner, indexes = make({"_id": 1, "v": value})
    indexes.create("v", unique=True)
    err = error(insert, owner, indexes, {"_id": 2, "v": value})
    assert err.errmsg == f"E11000 duplicate key error collection: db.coll index: v_1 dup key: {{ v: {shown} }}"
    key_value = err.details["keyValue"]["v"]
    if value == []:
        assert key_value is None  # BSON undefined decodes to None
    elif value == [[]]:
        assert key_value == []  # the key is the element
    else:
        assert key_value is value


def test_duplicate_key_message_of_compound_index_with_missing_and_empty_array():
    owner, indexes = make({"_id": 1, "a": []})
    indexes.create([("a", 1), ("b", -1)], unique=True)
    err = error(insert, owner, indexes, {"_id": 2, "a": [], "b": None})
    assert err.errmsg.endswith("index: a_1_b_-1 dup key: { a: undefined, b: null }")
    assert err.details["keyValue"] == {"a": None, "b": None}


def test_duplicate_id():
    owner, indexes = make({"_id": ObjectId("5f0c5b6a1c9d440000a1b2c3")})
    err = error(insert, owner, indexes, {"_id": ObjectId("5f0c5b6a1c9d440000a1b2c3")})
    assert err.errmsg == ("E11000 duplicate key error collection: db.coll index: _id_ dup key: "
                          "{ _id: ObjectId('5f0c5b6a1c9d440000a1b2c3') }")


def test_unique_numbers_compare_by_value():
    owner, indexes = make({"_id": 1, "n": 1})
    indexes.create("n", unique=True)
    err = error(insert, owner, indexes, {"_id": 2, "n": 1.0})
    assert err.errmsg.endswith("dup key: { n: 1.0 }")
    assert error(insert, owner, indexes, {"_id": 3, "n": Int64(1)}).code == 11000
    insert(owner, indexes, {"_id": 4, "n": "1"})
    indexes._check()


def test_unique_missing_fields_collide_as_null():
    owner, indexes = make({"_id": 1})
    indexes.create("email", unique=True)
    err = error(insert, owner, indexes, {"_id": 2})
    assert err.errmsg.endswith("index: email_1 dup key: { email: null }")
    assert err.details["keyValue"] == {"email": None}


def test_unique_sparse_allows_many_missing_but_not_two_nulls():
    owner, indexes = make({"_id": 1}, {"_id": 2})
    indexes.create("email", unique=True, sparse=True)
    insert(owner, indexes, {"_id": 3})
    insert(owner, indexes, {"_id": 4, "email": None})
    assert error(insert, owner, indexes, {"_id": 5, "email": None}).code == 11000
    indexes._check()


def test_unique_compound():
    owner, indexes = make({"_id": 1, "a": 1, "b": 1})
    indexes.create([("a", 1), ("b", -1)], unique=True)
    insert(owner, indexes, {"_id": 2, "a": 1, "b": 2})
    err = error(insert, owner, indexes, {"_id": 3, "a": 1, "b": 2.0})
    assert err.errmsg.endswith("index: a_1_b_-1 dup key: { a: 1, b: 2.0 }")
    assert err.details == {"keyPattern": {"a": 1, "b": -1}, "keyValue": {"a": 1, "b": 2.0}}


def test_unique_multikey_reports_the_first_conflicting_element():
    owner, indexes = make({"_id": 1, "tags": ["b", "c"]})
    indexes.create("tags", unique=True)
    insert(owner, indexes, {"_id": 2, "tags": ["a", "a"]})  # repeats within one document are fine
    err = error(insert, owner, indexes, {"_id": 3, "tags": ["z", "c", "b"]})
    assert err.errmsg.endswith('dup key: { tags: "b" }')
    assert err.details["keyValue"] == {"tags": "b"}


def test_failed_write_changes_no_index():
    owner, indexes = make({"_id": 1, "a": 1, "b": 1})
    indexes.create("a")
    indexes.create("b", unique=True)
    indexes.create([("a", 1), ("c", 1)])
    before = [list(i.entries) for i in indexes]
    assert error(insert, owner, indexes, {"_id": 2, "a": 5, "b": 1}).code == 11000
    assert error(update, owner, indexes, 1, {"_id": 1, "a": [7], "b": 2, "c": [0]}).code == 171
    assert [list(i.entries) for i in indexes] == before
    indexes._check()


def test_update_into_a_conflict_changes_nothing():
    owner, indexes = make({"_id": 1, "u": 1, "a": 1}, {"_id": 2, "u": 2, "a": 2})
    indexes.create("a")
    indexes.create("u", unique=True)
    before = [list(i.entries) for i in indexes]
    err = error(indexes.replace, 2, owner.records[2][0], {"_id": 2, "u": 1, "a": 99})
    assert err.errmsg.endswith("index: u_1 dup key: { u: 1 }")
    assert [list(i.entries) for i in indexes] == before
    indexes._check()


def test_update_keeping_own_unique_key_is_fine():
    owner, indexes = make({"_id": 1, "u": [1, 2]})
    indexes.create("u", unique=True)
    update(owner, indexes, 1, {"_id": 1, "u": [2, 3]})
    indexes._check()


def test_build_over_duplicates_fails_and_creates_nothing():
    owner, indexes = make({"_id": 1, "a": 5}, {"_id": 2, "a": 3}, {"_id": 3, "a": 3}, {"_id": 4, "a": 5})
    err = error(indexes.create, "a", unique=True)
    assert err.code == 11000
    assert err.errmsg.startswith("Index build failed: ")
    assert err.errmsg.endswith(":: caused by :: E11000 duplicate key error collection: db.coll "
                               "index: a_1 dup key: { a: 3 }")
    assert err.details == {"keyPattern": {"a": 1}, "keyValue": {"a": 3}}
    assert [d["name"] for d in indexes.index_documents()] == ["_id_"]


def test_create_indexes_is_all_or_nothing():
    owner, indexes = make({"_id": 1, "a": 1, "b": 1}, {"_id": 2, "a": 2, "b": 1})
    err = error(indexes.create_indexes, [{"key": {"a": 1}, "name": "a_1"},
                                         {"key": {"b": 1}, "name": "b_1", "unique": True}])
    assert err.code == 11000
    assert [d["name"] for d in indexes.index_documents()] == ["_id_"]


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------


def test_format_value_matches_server_to_string():
    assert format_value({"a": 1, "b": 2.5, "c": 3.0, "d": Int64(7)}) == "{ a: 1, b: 2.5, c: 3.0, d: 7 }"
    assert format_value([]) == "[]" and format_value({}) == "{}"
    assert format_value([1, "x", None, True]) == '[ 1, "x", null, true ]'
    assert format_value(datetime.datetime(1970, 1, 1, 0, 0, 1)) == "new Date(1000)"
    assert format_value(MinKey()) == "MinKey" and format_value(MaxKey()) == "MaxKey"
    assert format_value(1e20) == "1e+20.0"  # appendDoubleNice's quirk
    assert format_value(float("inf")) == "inf.0"


# --------------------------------------------------------------------------
# Random maintenance stress: invariants always hold
# --------------------------------------------------------------------------

VALUES = [None, 0, 1, 1.0, 2, Int64(2), -1.5, "a", "b", "", True, False, [], [1], [1, 2], [2, [3]],
          {"x": 1}, {"x": [1, 2]}, [{"x": 1}, {"x": 2}], [{"y": 1}], datetime.datetime(2020, 1, 1),
          ObjectId("5f0c5b6a1c9d440000a1b2c3"), MinKey(), MaxKey()]


def random_doc(rng: random.Random, _id: int) -> dict:
    doc: dict = {"_id": _id}
    for field in ("a", "b", "c"):
        if rng.random() < 0.8:
            doc[field] = rng.choice(VALUES)
    if rng.random() < 0.5:
        doc["d"] = {"e": rng.choice(VALUES)}
    return doc


@pytest.mark.parametrize("seed", range(6))
def test_random_writes_keep_every_invariant(seed):
    rng = random.Random(seed)
    owner, indexes = make()
    indexes.create("a")
    indexes.create([("b", -1)], sparse=True)
    indexes.create([("a", 1), ("d.e", -1)])
    indexes.create("c", unique=True, sparse=True)
    indexes.create("x.y")
    next_id = 0
    for _ in range(300):
        op = rng.random()
        try:
            if op < 0.5 or not owner.records:
                next_id += 1
                insert(owner, indexes, random_doc(rng, next_id))
            elif op < 0.8:
                rid = rng.choice(list(owner.records))
                update(owner, indexes, rid, random_doc(rng, owner.records[rid][0]["_id"]))
            else:
                delete(owner, indexes, rng.choice(list(owner.records)))
        except ServerError as err:
            assert err.code in (11000, 171)
    indexes._check()
    # an index built afterwards over the same data is identical to the maintained one
    fresh = IndexSet(owner)
    for doc in indexes.index_documents()[1:]:
        if doc["name"] == "c_1":
            continue
        fresh.create_indexes([{k: v for k, v in doc.items() if k != "v"}])
    for index in list(fresh)[1:]:
        assert list(index.entries) == list(indexes.get(index.name).entries)


def test_parse_index_spec_default_name():
    assert parse_index_spec({"key": {"a": 1, "b": -1}}).name == "a_1_b_-1"
    assert parse_index_spec({"key": SON([("h", "hashed")])}).name == "h_hashed"


def test_too_many_compound_keys():
    _, indexes = make()
    err = error(indexes.create, [(f"f{i}", 1) for i in range(33)])
    assert (err.code, err.errmsg) == (13103, "too many compound keys")
    indexes.create([(f"f{i}", 1) for i in range(32)])


def test_modify_hides_and_unhides_an_index():
    owner, indexes = make({"_id": 1, "a": 1})
    indexes.create("a", expireAfterSeconds=10)
    assert indexes.modify("a_1", hidden=True) == {"hidden_old": False, "hidden_new": True}
    assert indexes.index_documents()[1] == {"v": 2, "key": {"a": 1}, "name": "a_1",
                                            "expireAfterSeconds": 10, "hidden": True}
    assert indexes.plan({"a": 1}).stage == "COLLSCAN"
    assert indexes.modify([("a", 1)], hidden=False, expire_after_seconds=20) == {
        "hidden_old": True, "hidden_new": False,
        "expireAfterSeconds_old": 10, "expireAfterSeconds_new": 20}
    assert indexes.plan({"a": 1}).stage == "IXSCAN"
    assert error(indexes.modify, "_id_", hidden=True).errmsg == "can't hide _id index"
    assert error(indexes.modify, "nope", hidden=True).code == 27
    indexes._check()


# --------------------------------------------------------------------------
# Key generation cases from the server's btree key generator behaviour
# --------------------------------------------------------------------------

UNDEF = object()


def expected_keys(*tuples):
    from dongo.backends.memory.bsontypes import sort_key
    from dongo.backends.memory.indexes import UNDEFINED_KEY

    return {tuple(UNDEFINED_KEY if v is UNDEF else sort_key(v) for v in t) for t in tuples}


def generated(pattern, doc, **options):
    owner, indexes = make()
    index = indexes.get(indexes.create(pattern, **options))
    keys, _ = index.keys_for(doc)
    return None if keys is None else set(keys), index


@pytest.mark.parametrize("pattern, doc, keys", [
    ("a.b.c", {"a": [1, 2, {"b": {"c": [3, 4]}}]}, [(None,), (3,), (4,)]),
    ("a.b", {"a": [1, 2]}, [(None,)]),
    ("a.b", {"a": []}, [(None,)]),
    ("a.b", {"a": [{"foo": 41}, {"b": 1}]}, [(None,), (1,)]),
    ("a", {"a": [[2]]}, [([2],)]),
    ("a", {"a": [0, Int64(0), 0.0]}, [(0,)]),
    ([("a.b", 1), ("a.c", 1)], {"a": [{"b": 1}, {"c": 2}]}, [(None, 2), (1, None)]),
    ([("a", 1), ("a.b", 1)], {"a": []}, [(UNDEF, None)]),
    ([("a", 1), ("a.b", 1)], {"a": [{"b": 1}]}, [({"b": 1}, 1)]),
    ([("a", 1), ("a.b", 1)], {"a": [{"b": []}]}, [({"b": []}, UNDEF)]),
    ([("a.b.c", 1), ("a.b.d", 1)], {"a": [1, 2, {"b": {"c": [3, 4], "d": 5}}]},
     [(None, None), (3, 5), (4, 5)]),
    ([("a.b.c.d", 1), ("a.g", 1), ("a.b.f", 1), ("a.b.c", 1), ("a.b.e", 1)],
     {"a": [1, {"b": [2, {"c": [3, {"d": 1}], "e": 4}, 5, {"f": 6}], "g": 7}]},
     [(None, None, None, None, None), (None, 7, None, None, None), (None, 7, None, 3, 4),
      (None, 7, 6, None, None), (1, 7, None, {"d": 1}, 4)]),
])
def test_keys_match_the_server_key_generator(pattern, doc, keys):
    found, _ = generated(pattern, doc)
    assert found == expected_keys(*keys)


def test_multikey_paths_of_nested_arrays():
    _, index = generated("a.b.c", {"a": [1, 2, {"b": {"c": [3, 4]}}]})
    index.insert(1, *index.keys_for({"a": [1, 2, {"b": {"c": [3, 4]}}]}))
    assert index.multikey_paths == [{"a", "a.b.c"}]


@pytest.mark.parametrize("pattern, doc, message", [
    ([("a.b", 1), ("a.c", 1)], {"a": [{"b": [1], "c": [2]}]}, "cannot index parallel arrays [c] [b]"),
    ([("a", 1), ("b", 1)], {"a": [], "b": []}, "cannot index parallel arrays [b] [a]"),
    ([("a.a", 1), ("b.a", 1)], {"a": {"a": [1]}, "b": {"a": [1]}}, "cannot index parallel arrays [a] [a]"),
])
def test_parallel_array_cases(pattern, doc, message):
    owner, indexes = make()
    index = indexes.get(indexes.create(pattern))
    with pytest.raises(ServerError) as info:
        index.keys_for(doc)
    assert (info.value.code, info.value.errmsg) == (171, message)


@pytest.mark.parametrize("doc, keys", [
    ({"a": 1}, None),
    ({"a": []}, None),
    ({"a": [{"c": 1}]}, None),
    ({"a": [1, {"b": 1}]}, [(1,)]),
    ({"a": [{"b": None}]}, [(None,)]),
])
def test_sparse_drops_keys_whose_fields_are_all_missing(doc, keys):
    found, _ = generated("a.b", doc, sparse=True)
    assert found == (None if keys is None else expected_keys(*keys))


def test_sparse_compound_keeps_keys_with_one_present_field():
    found, _ = generated([("a.b", 1), ("a", 1)], {"a": []}, sparse=True)
    assert found == expected_keys((None, UNDEF))


def test_id_index_spec_with_unique_true_is_the_id_index():
    _, indexes = make()
    indexes.create_indexes([{"key": {"_id": 1}, "name": "_id_", "unique": True}])  # identical: no-op
    assert indexes.index_documents() == [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]


def test_indexes_inherit_the_collection_default_collation():
    owner = Owner()
    owner.options = {"collation": {"locale": "en", "strength": 2}}
    indexes = IndexSet(owner)
    full = {"locale": "en", "caseLevel": False, "caseFirst": "off", "strength": 2, "numericOrdering": False,
            "alternate": "non-ignorable", "maxVariable": "punct", "normalization": False,
            "backwards": False, "version": "57.1"}
    assert indexes.index_documents() == [{"v": 2, "key": {"_id": 1}, "name": "_id_", "collation": full}]
    indexes.create("name", unique=True)
    indexes.create("code", collation={"locale": "simple"}, name="binary")
    assert indexes.index_documents()[1]["collation"] == full
    assert "collation" not in indexes.index_documents()[2]
    indexes.add(1, {"_id": "A", "name": "Bob", "code": "x"})
    assert error(indexes.add, 2, {"_id": "a"}).code == 11000  # _id_ is case-insensitive too
    assert error(indexes.add, 3, {"_id": "b", "name": "BOB"}).code == 11000


# --------------------------------------------------------------------------
# Through the pymongo-shaped surface
# --------------------------------------------------------------------------


def test_surface_duplicate_key_error_and_index_information():
    from pymongo.errors import DuplicateKeyError, OperationFailure

    from dongo.backends.memory import MemoryClient

    coll = MemoryClient()["db"]["people"]
    assert coll.create_index([("email", 1)], unique=True) == "email_1"
    coll.insert_one({"_id": 1, "email": "a@x"})
    with pytest.raises(DuplicateKeyError) as info:
        coll.insert_one({"_id": 2, "email": "a@x"})
    assert info.value.code == 11000
    assert info.value.details["keyPattern"] == {"email": 1}
    assert info.value.details["keyValue"] == {"email": "a@x"}
    assert info.value.details["errmsg"] == (
        'E11000 duplicate key error collection: db.people index: email_1 dup key: { email: "a@x" }')
    assert coll.count_documents({}) == 1
    assert coll.index_information() == {"_id_": {"v": 2, "key": [("_id", 1)]},
                                         "email_1": {"v": 2, "key": [("email", 1)], "unique": True}}
    with pytest.raises(OperationFailure) as info:
        coll.drop_index("nope")
    assert (info.value.code, info.value.details["codeName"]) == (27, "IndexNotFound")
    with pytest.raises(OperationFailure) as info:
        coll.find({}).hint("nope").to_list()
    assert info.value.code == 2


def test_surface_explain_shows_the_index_scan():
    from dongo.backends.memory import MemoryClient

    coll = MemoryClient()["db"]["c"]
    coll.insert_many([{"_id": i, "a": i % 3} for i in range(9)])
    coll.create_index("a")
    plan = coll.find({"a": 2}).explain()["queryPlanner"]["winningPlan"]
    assert plan["stage"] == "FETCH" and plan["inputStage"]["indexName"] == "a_1"
    assert [d["_id"] for d in coll.find({"a": 2})] == [2, 5, 8]
    # a backward index scan: ties come in descending record order, as on a server
    assert [d["_id"] for d in coll.find({}).sort("a", -1).limit(3)] == [8, 5, 2]


@pytest.mark.parametrize("doc, multikey_paths", [
    ({"a": [1]}, {"a": ["a"], "b": []}),  # one element is enough (btree_key_generator.cpp)
    ({"a": []}, {"a": ["a"], "b": []}),
    ({"a": 1, "b": {"c": [2]}}, {"a": [], "b": ["b.c"]}),
    ({"a": 1, "b": {"c": 2}}, {"a": [], "b": []}),
])
def test_explain_reports_multikey_for_any_array(doc, multikey_paths):
    # Server facts: jstests/core/index/index_multikey.js (isMultiKey/multiKeyPaths in explain);
    # the key generator records a multikey component for every array it expands, whatever
    # its length, and the index is marked multikey when any path component is.
    from dongo.backends.memory import MemoryClient

    coll = MemoryClient()["db"]["c"]
    coll.create_index([("a", 1), ("b.c", 1)])
    coll.insert_one(doc)
    ixscan = coll.find().hint([("a", 1), ("b.c", 1)]).explain()["queryPlanner"]["winningPlan"]["inputStage"]
    assert ixscan["isMultiKey"] is any(multikey_paths.values())
    assert ixscan["multiKeyPaths"] == {"a": multikey_paths["a"], "b.c": multikey_paths["b"]}


@pytest.mark.parametrize("pattern, doc, shown", [
    ("a.0", {"a": [5, {"0": 7}]}, "field: '0' for array: { 0: 5, 1: { 0: 7 } }"),
    ("a.0", {"a": [{"0": 7}]}, "field: '0' for array: { 0: { 0: 7 } }"),
    ("a.1.b", {"a": [{"1": 1}, {"b": 2}]}, "field: '1' for array: { 0: { 1: 1 }, 1: { b: 2 } }"),
])
def test_positional_path_naming_an_element_and_a_field_is_16746(pattern, doc, shown):
    # btree_key_generator.cpp: the positionally indexed element and a numeric field of an
    # embedded document would both answer the path; the server refuses the document.
    owner, indexes = make()
    indexes.create(pattern)
    err = error(insert, owner, indexes, doc)
    assert err.code == 16746
    assert err.errmsg == ("Ambiguous field name found in array (do not use numeric field names in "
                          "embedded elements in an array), " + shown)
    assert owner.records == {}


@pytest.mark.parametrize("doc, keys", [
    ({"a": [1, 2]}, [(1,)]),  # the element at position 0 only
    ({"a": [[1, 2], 3]}, [(1,), (2,)]),  # (the server keys [1, 2] whole; see _walk_doc)
    ({"a": [{"1": 1}]}, [({"1": 1},), (None,)]),  # (+ null: {"a.0": null} matches it)
    ({"a": [7, {"1": 2}]}, [(7,), (None,)]),
    ({"a": {"0": 3}}, [(3,)]),
    ({"a": []}, [(None,)]),
    ({"a": [{"0": 4}, 5][1:]}, [(5,)]),
])
def test_positional_paths_without_ambiguity_are_indexed(doc, keys):
    found, _ = generated("a.0", doc)
    assert found == expected_keys(*keys)


def test_positionally_selected_element_is_not_multikey():
    # btree_key_generator.cpp: "Indexing an array element by its position selects a particular
    # element ... It therefore cannot cause the index to be multikey."
    owner, indexes = make({"_id": 1, "a": [1, 2, 3]}, {"_id": 2, "a": [9, 8]})
    index = indexes.get(indexes.create("a.0"))
    assert index.multikey is False
    assert sorted(k[0] for k in index.entries) == [sort_key(1), sort_key(9)]
    insert(owner, indexes, {"_id": 3, "a": [[5, 6]]})  # expanded here: multikey
    assert index.multikey_paths == [{"a.0"}]
    b = indexes.get(indexes.create("a.5"))  # position 5 exists nowhere: each element is expanded
    assert b.multikey_paths == [{"a"}]


# --------------------------------------------------------------------------
# Updates re-key only the indexes whose fields changed
# --------------------------------------------------------------------------

TWINS = [1, 1.0, True, Int64(1), Decimal128("1"), Decimal128("1.0"), float("nan"), {"x": 1, "y": 2},
         {"y": 2, "x": 1}, {"x": 1.0, "y": 2}, [1, 2], [1.0, 2], [[1]], "1", b"1", Binary(b"1", 5),
         Regex("a", "i"), Regex("a"), Code("x", {"a": 1}), Code("x", {"a": 1.0}),
         datetime.datetime(2020, 1, 1), datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)]


@pytest.mark.parametrize("hinted", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_updates_touching_some_fields_keep_every_invariant(seed, hinted):
    rng = random.Random(seed)
    owner, indexes = make()
    indexes.create("a")
    indexes.create([("b", 1), ("a.x", -1)])
    indexes.create("c", unique=True, sparse=True)
    indexes.create("d", partialFilterExpression={"a": {"$gt": 0}})
    for n in range(1, 40):
        try:
            insert(owner, indexes, {"_id": n, **{f: rng.choice(TWINS) for f in "abcd" if rng.random() < 0.8}})
        except ServerError as err:
            assert err.code in (11000, 171)  # a duplicate; parallel arrays (b and a.x)
    for _ in range(300):
        rid = rng.choice(list(owner.records))
        doc = dict(owner.records[rid][0])
        touched = set(rng.sample("abcd", rng.randint(1, 2)))
        for field in touched:
            if rng.random() < 0.2:
                doc.pop(field, None)
            else:
                doc[field] = rng.choice(TWINS)
        try:
            indexes.replace(rid, owner.records[rid][0], doc, changed=touched if hinted else None)
        except ServerError as err:
            assert err.code in (11000, 171)
            continue
        owner.records[rid] = (doc, b"")
    indexes._check()


def test_update_recomputes_only_indexes_reading_changed_fields(monkeypatch):
    from dongo.backends.memory import indexes as module

    owner, indexes = make({"_id": 1, "a": 1, "b": {"x": 1}, "c": "s"})
    indexes.create("a")
    indexes.create([("b.x", 1), ("c", 1)])
    indexes.create("c", partialFilterExpression={"a": {"$gte": 1}})
    keyed: list = []
    original = module.Index.keys_for
    monkeypatch.setattr(module.Index, "keys_for", lambda self, doc: keyed.append(self.name) or original(self, doc))

    update(owner, indexes, 1, {"_id": 1, "a": 1, "b": {"x": 1}, "c": "s", "n": 5})
    assert keyed == ["c_1"]  # a partial index's filter may read any field
    keyed.clear()
    update(owner, indexes, 1, {"_id": 1, "a": True, "b": {"x": 1}, "c": "s", "n": 5})
    assert keyed == ["a_1", "c_1"]  # 1 -> true is another key
    keyed.clear()
    update(owner, indexes, 1, {"_id": 1, "a": True, "b": {"x": 1.0}, "c": "s", "n": 5})
    assert keyed == ["b.x_1_c_1", "c_1"]
    keyed.clear()
    indexes.replace(1, owner.records[1][0], {"_id": 1, "a": True, "b": {"x": 1.0}, "c": "t", "n": 5},
                    changed={"c"})
    assert keyed == ["b.x_1_c_1", "c_1"]
    assert indexes.plan({"c": "t"}, hint="b.x_1_c_1").count() == 1
    assert indexes.plan({"a": True}, hint="a_1").count() == 1
    assert indexes.plan({"a": 1}, hint="a_1").count() == 0


@pytest.mark.parametrize("layout", ["pairs", "docs", "callable"])
def test_records_may_be_docs_pairs_or_read_through_a_callable(layout):
    docs = {rid: {"_id": rid, "a": rid % 2} for rid in range(1, 6)}

    class Docs:
        full_name = "db.coll"
        records = {rid: (doc, b"") for rid, doc in docs.items()} if layout == "pairs" else \
            dict(docs) if layout == "docs" else None

    owner = Docs()
    indexes = IndexSet(owner, documents=(lambda: docs) if layout == "callable" else None)
    for rid, doc in docs.items():
        indexes.add(rid, doc)
    indexes.create("b", unique=True, sparse=True)
    indexes.create("a")  # built from the records
    assert indexes.plan({"a": 1}, hint="a_1").record_ids == [1, 3, 5]
    assert indexes.plan({"b": {"$exists": False}}).record_ids == [1, 2, 3, 4, 5]  # a collection scan
    assert indexes.plan({}, sort={"$natural": -1}).record_ids == [5, 4, 3, 2, 1]
    assert indexes.plan({}).count() == 5
    indexes._check()
    docs[6] = {"_id": 6, "b": 1, "a": 1}
    if layout != "callable":
        owner.records[6] = (docs[6], b"") if layout == "pairs" else docs[6]
    indexes.create([("a", 1), ("_id", -1)])  # a build reads the records as they are now
    assert indexes.plan({"a": 1}, hint="a_1__id_-1").record_ids == [6, 5, 3, 1]
    assert error(indexes.create, "a", name="a_unique", unique=True).code == 11000
