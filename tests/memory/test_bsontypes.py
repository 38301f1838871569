"""bsontypes: canonical order, equality, type numbers (MongoDB "Comparison/Sort Order")."""

import datetime
import random
import re
import uuid

from bson import Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.datetime_ms import DatetimeMS
from bson.son import SON

from dongo.backends.memory.bsontypes import (
    MISSING,
    NUMBER_TYPES,
    TYPE_ALIASES,
    bson_equal,
    bson_type_number,
    canonical_rank,
    compare,
    is_number,
    regex_flags_string,
    resolve_type,
    sort_key,
    type_name,
)

UTC = datetime.timezone.utc


def test_missing_sentinel():
    assert repr(MISSING) == "MISSING"
    assert not MISSING
    assert type(MISSING)() is MISSING


def test_canonical_order_from_docs():
    # MongoDB docs "Comparison/Sort Order": MinKey, Null, Numbers, Symbol/String,
    # Object, Array, BinData, ObjectId, Boolean, Date, Timestamp, Regex, Code, MaxKey.
    ordered = [
        MinKey(),
        None,
        -5,
        "abc",
        {"a": 1},
        [1],
        b"\x00",
        ObjectId("000000000000000000000000"),
        False,
        datetime.datetime(2020, 1, 1),
        Timestamp(1, 1),
        Regex("a"),
        Code("x"),
        MaxKey(),
    ]
    shuffled = ordered[:]
    random.Random(1).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == ordered
    ranks = [canonical_rank(v) for v in ordered]
    assert ranks == [-1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 47, 50, 60, 127]
    assert canonical_rank(MISSING) == 0


def test_numbers_compare_by_value_across_types():
    assert bson_equal(1, 1.0)
    assert bson_equal(Int64(1), Decimal128("1"))
    assert bson_equal(Decimal128("1.0"), 1)
    assert hash(sort_key(1)) == hash(sort_key(Decimal128("1.00"))) == hash(sort_key(1.0))
    assert bson_equal(-0.0, 0)
    assert compare(2, 2.5) == -1
    assert compare(Decimal128("2.6"), 2.5) == 1
    assert compare(Int64(2**62), float(2**62)) == 0
    assert compare(2**62 + 1, float(2**62)) == 1  # exact long vs double comparison
    assert compare(float("-inf"), -(2**63)) == -1


def test_nan_equals_nan_and_sorts_below_numbers():
    nan = float("nan")
    assert bson_equal(nan, nan)
    assert bson_equal(nan, Decimal128("NaN"))
    assert compare(nan, float("-inf")) == -1
    assert compare(nan, None) == 1
    assert sort_key(nan) == sort_key(float("nan"))


def test_bool_is_not_a_number():
    assert not bson_equal(True, 1)
    assert not bson_equal(False, 0)
    assert compare(True, 100) == 1
    assert compare(False, True) == -1
    assert not is_number(True)


def test_strings_by_code_point():
    assert compare("B", "a") == -1  # binary order: uppercase first
    assert compare("a", "ab") == -1
    assert compare("\u00e9", "z") == 1
    assert compare("\U0001f600", "\uffff") == 1  # UTF-8 byte order = code point order


def test_documents_field_order_matters():
    assert not bson_equal({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert bson_equal({"a": 1, "b": 2}, SON([("a", 1.0), ("b", 2)]))
    # element by element: type rank first, then field name, then value
    assert compare({"a": "x"}, {"a": 5}) == 1
    assert compare({"a": 1}, {"b": 0}) == -1
    assert compare({"a": 1}, {"a": 1, "b": 1}) == -1
    assert compare({}, {"a": MinKey()}) == -1


def test_arrays_elementwise():
    assert compare([1, 2], [1, 3]) == -1
    assert compare([1, 2], [1]) == 1
    assert compare([], [MinKey()]) == -1
    assert compare([2], [1, 5]) == 1
    assert bson_equal([1, [2]], (1.0, [Int64(2)]))
    assert compare([1], {"a": 1}) == 1  # array rank above object


def test_binary_length_then_subtype_then_bytes():
    assert compare(b"\xff", b"\x00\x00") == -1
    assert compare(Binary(b"a", 0), Binary(b"a", 5)) == -1
    assert bson_equal(b"abc", Binary(b"abc", 0))
    u = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    assert bson_equal(u, Binary(u.bytes, 4))
    assert type_name(u) == "binData"


def test_dates():
    naive = datetime.datetime(2021, 5, 1, 12, 0)
    aware = datetime.datetime(2021, 5, 1, 14, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert bson_equal(naive, aware)
    assert bson_equal(naive, DatetimeMS(naive.replace(tzinfo=UTC)))
    assert compare(naive, naive + datetime.timedelta(milliseconds=1)) == -1
    assert compare(DatetimeMS(-1), datetime.datetime(1970, 1, 1)) == -1
    # date ranks below timestamp; bool below date
    assert compare(True, naive) == -1
    assert compare(naive, Timestamp(0, 0)) == -1


def test_timestamp_regex_code_dbref():
    assert compare(Timestamp(1, 5), Timestamp(2, 0)) == -1
    assert compare(Timestamp(1, 5), Timestamp(1, 6)) == -1
    assert bson_equal(Regex("a", "i"), re.compile("a", re.I | re.U)) is False  # stored flags differ ("iu")
    assert bson_equal(Regex("a", "iu"), re.compile("a", re.I))
    assert compare(Regex("a", "m"), Regex("b", "")) == -1
    assert compare(Regex("a", ""), Regex("a", "i")) == -1
    assert regex_flags_string(Regex("x", "xsmi")) == "imsx"
    assert compare(Code("a"), Code("a", {"x": 1})) == -1
    ref = DBRef("c", 1)
    assert bson_equal(ref, {"$ref": "c", "$id": 1})
    assert canonical_rank(ref) == 20


def test_type_numbers_and_names():
    cases = [
        (1.5, 1, "double"),
        ("s", 2, "string"),
        ({}, 3, "object"),
        ([], 4, "array"),
        (b"", 5, "binData"),
        (ObjectId(), 7, "objectId"),
        (True, 8, "bool"),
        (datetime.datetime(2020, 1, 1), 9, "date"),
        (None, 10, "null"),
        (Regex("a"), 11, "regex"),
        (Code("f"), 13, "javascript"),
        (Code("f", {}), 15, "javascriptWithScope"),
        (5, 16, "int"),
        (Timestamp(0, 0), 17, "timestamp"),
        (2**31, 18, "long"),
        (-(2**31) - 1, 18, "long"),
        (Int64(3), 18, "long"),
        (Decimal128("1"), 19, "decimal"),
        (MinKey(), -1, "minKey"),
        (MaxKey(), 127, "maxKey"),
    ]
    for value, number, name in cases:
        assert bson_type_number(value) == number, value
        assert type_name(value) == name, value
    assert bson_type_number(MISSING) is None
    assert type_name(MISSING) == "missing"


def test_type_aliases():
    assert TYPE_ALIASES["string"] == 2
    assert TYPE_ALIASES["long"] == 18
    assert TYPE_ALIASES["number"] == NUMBER_TYPES == frozenset({1, 16, 18, 19})
    assert resolve_type("number") == NUMBER_TYPES
    assert resolve_type(2) == frozenset({2})
    assert resolve_type(2.0) == frozenset({2})
    assert resolve_type(2.5) is None
    assert resolve_type(99) is None
    assert resolve_type("strin") is None
    assert resolve_type(-1) == frozenset({-1})


def test_is_number():
    assert [is_number(v) for v in (1, 1.0, Int64(1), Decimal128("1"), "1", None, True)] == [
        True, True, True, True, False, False, False,
    ]


def _random_value(rng, depth=0):
    choice = rng.randrange(16 if depth < 2 else 12)
    if choice == 0:
        return rng.choice([0, 1, -1, 2, 2**40, -(2**40)])
    if choice == 1:
        return rng.choice([0.0, -0.0, 1.0, 1.5, float("nan"), float("inf"), -2.0])
    if choice == 2:
        return rng.choice([Decimal128("1"), Decimal128("1.50"), Decimal128("NaN"), Decimal128("-0")])
    if choice == 3:
        return Int64(rng.choice([0, 1, 2]))
    if choice == 4:
        return rng.choice(["", "a", "B", "ab", "\u00e9"])
    if choice == 5:
        return rng.choice([None, MinKey(), MaxKey()])
    if choice == 6:
        return rng.choice([True, False])
    if choice == 7:
        return rng.choice([b"", b"a", Binary(b"a", 5), b"ab"])
    if choice == 8:
        return ObjectId(rng.choice(["0" * 24, "1" * 24]))
    if choice == 9:
        return datetime.datetime(2020, 1, 1) + datetime.timedelta(milliseconds=rng.randrange(3))
    if choice == 10:
        return rng.choice([Timestamp(1, 1), Timestamp(1, 2), Regex("a", "i"), Regex("a"), Code("x")])
    if choice == 11:
        return rng.choice([MISSING, None, 1])
    if choice in (12, 13):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    keys = rng.sample(["a", "b", "c"], rng.randrange(3))
    return {k: _random_value(rng, depth + 1) for k in keys if True}


def test_sort_key_is_a_total_order_consistent_with_compare_and_equality():
    rng = random.Random(20240601)
    values = [_random_value(rng) for _ in range(400)]
    values = [v for v in values if v is not MISSING]
    keys = [sort_key(v) for v in values]
    for _ in range(3000):
        i, j, k = rng.randrange(len(values)), rng.randrange(len(values)), rng.randrange(len(values))
        a, b, c = keys[i], keys[j], keys[k]
        # trichotomy
        assert (a < b) + (a == b) + (a > b) == 1
        # antisymmetry with compare
        assert compare(values[i], values[j]) == -compare(values[j], values[i])
        assert (compare(values[i], values[j]) == 0) == bson_equal(values[i], values[j]) == (a == b)
        if a == b:
            assert hash(a) == hash(b)
        # transitivity
        if a <= b and b <= c:
            assert a <= c
    # sorting twice is stable and idempotent
    once = sorted(values, key=sort_key)
    assert [sort_key(v) for v in sorted(once, key=sort_key)] == [sort_key(v) for v in once]
