"""Collation string order: the MongoDB manual's "Collation" examples and facts of ICU's
CLDR root collation (UCA/DUCET) and CLDR locale tailorings.

Expected orders are the ones ICU produces (MongoDB collations are ICU collators);
each list below was checked against ICU's ``Collator`` for the same options.
"""

import pytest
from pymongo.errors import DuplicateKeyError, OperationFailure

from dongo.backends.memory import MemoryClient
from dongo.backends.memory.collation import parse_collation, sort_key_for
from dongo.backends.memory.errors import ServerError


@pytest.fixture
def db():
    return MemoryClient()["test"]


def ordered(values, **spec):
    """``values`` sorted under the collation ``{"locale": "en", **spec}`` (stable)."""
    spec.setdefault("locale", "en")
    key = parse_collation(spec).string_key
    return sorted(values, key=key)


def same(a, b, **spec):
    spec.setdefault("locale", "en")
    key = parse_collation(spec).string_key
    return key(a) == key(b)


# -- Manual "Collation" examples, end to end ------------------------------------------

@pytest.fixture
def my_coll(db):
    db.myColl.insert_many([
        {"_id": 1, "category": "café", "status": "A"},
        {"_id": 2, "category": "cafe", "status": "a"},
        {"_id": 3, "category": "cafE", "status": "a"},
    ])
    return db.myColl


def test_strength_1_ignores_case_and_accents_in_find_and_count(my_coll):
    ci = {"locale": "fr", "strength": 1}
    assert [d["_id"] for d in my_coll.find({"category": "cafe"}, collation=ci).sort("_id", 1)] == [1, 2, 3]
    assert my_coll.count_documents({"category": "cafe"}, collation=ci) == 3


def test_strength_2_ignores_case_only(my_coll):
    ci = {"locale": "fr", "strength": 2}
    assert [d["_id"] for d in my_coll.find({"category": "cafe"}, collation=ci).sort("_id", 1)] == [2, 3]
    assert my_coll.count_documents({"category": {"$gt": "cafe"}}, collation=ci) == 1  # café


def test_case_first_upper_sorts_uppercase_first(my_coll):
    got = my_coll.find({}, {"_id": 1}).sort("category", 1).collation({"locale": "fr", "caseFirst": "upper"})
    assert [d["_id"] for d in got] == [3, 2, 1]  # cafE, cafe, café


def test_default_tertiary_sorts_lowercase_first(my_coll):
    got = my_coll.find({}, {"_id": 1}).sort("category", 1).collation({"locale": "fr"})
    assert [d["_id"] for d in got] == [2, 3, 1]  # cafe, cafE, café


def test_numeric_ordering_in_find_sort(db):
    db.c.insert_many([{"_id": i, "a": v} for i, v in enumerate(["2", "10", "1", "a10", "a2"])])
    numeric = db.c.find().sort("a", 1).collation({"locale": "en", "numericOrdering": True})
    assert [d["a"] for d in numeric] == ["1", "2", "10", "a2", "a10"]
    plain = db.c.find().sort("a", 1).collation({"locale": "en"})
    assert [d["a"] for d in plain] == ["1", "10", "2", "a10", "a2"]


def test_unique_index_with_strength_2_collation(db):
    db.c.create_index("name", unique=True, collation={"locale": "en", "strength": 2})
    db.c.insert_one({"name": "cafe"})
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"name": "CAFE"})
    db.c.insert_one({"name": "café"})  # differs at level 2: allowed
    assert db.c.count_documents({}) == 2


# -- CLDR root order (DUCET groups) ---------------------------------------------------

def test_ascii_in_root_order():
    ascii_chars = [chr(c) for c in range(0x20, 0x7F)]
    assert "".join(ordered(ascii_chars)) == (
        " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789"
        "aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZ")


def test_whitespace_punctuation_symbols_currency_digits_letters():
    assert ordered(["a", "1", "_", " ", "$", "€", "-"]) == [" ", "_", "-", "$", "€", "1", "a"]
    assert ordered(["€", "$", "£", "¥", "¢"]) == ["¢", "$", "£", "¥", "€"]
    assert ordered(["+", "©", "°", "§", "‐", "_", " ", "\n", "\t"]) == [
        "\t", "\n", " ", "_", "‐", "§", "°", "©", "+"]


def test_levels_compare_whole_strings_primary_first():
    # case (level 3) of the first letter loses against a base-letter difference later
    assert ordered(["Ac", "ac", "Áb", "áb", "Ab", "ab"]) == ["ab", "Ab", "áb", "Áb", "ac", "Ac"]


def test_expansions_sharp_s():
    assert ordered(["Strassf", "Straße", "Strasse", "strasse", "Strase"]) == [
        "Strase", "strasse", "Strasse", "Straße", "Strassf"]
    assert same("Straße", "STRASSE", strength=1)
    assert not same("Straße", "strasse", strength=2)


def test_compatibility_characters_weigh_as_their_decomposition():
    assert same("\ufb01x", "fix", strength=2)  # the "ﬁ" ligature
    assert not same("\ufb01x", "fix", strength=3)


def test_other_script_digits_are_digits():
    assert same("\u0663", "3", strength=1)  # ARABIC-INDIC DIGIT THREE
    assert ordered(["b", "\u0663", "!"]) == ["!", "\u0663", "b"]


def test_stroked_letters_are_base_letters_with_an_accent():
    assert same("Ø", "o", strength=1) and not same("ø", "o", strength=2)
    assert same("ø", "o\u0338", strength=3)  # ICU: o + COMBINING LONG SOLIDUS OVERLAY
    assert ordered(["ø", "ö", "o", "p"]) == ["o", "ö", "ø", "p"]


def test_kana_han_and_hangul():
    assert same("\u30a2", "\u3042", strength=2)  # katakana A = hiragana A at levels 1-2
    assert ordered(["\u30a2", "\u3042"]) == ["\u3042", "\u30a2"]
    assert ordered(["\u6f22", "\ud55c", "z"]) == ["z", "\ud55c", "\u6f22"]  # Hangul before Han


def test_leading_accent_counts_at_level_2():
    assert same("\u0301", "", strength=1)
    assert not same("\u0301", "", strength=2)


# -- strength, caseLevel, caseFirst ---------------------------------------------------

@pytest.mark.parametrize("spec, equal_pairs, different_pairs", [
    ({"strength": 1}, [("a", "A"), ("a", "á"), ("A", "á")], [("a", "b")]),
    ({"strength": 2}, [("a", "A"), ("café", "CAFÉ")], [("a", "á"), ("cafe", "café")]),
    ({"strength": 3}, [("café", "cafe\u0301")], [("a", "A"), ("a", "á")]),
    ({"strength": 1, "caseLevel": True}, [("a", "á"), ("Resume", "Résumé")], [("a", "A")]),
    ({"strength": 2, "caseLevel": True}, [], [("a", "A"), ("a", "á")]),
])
def test_equality_by_strength(spec, equal_pairs, different_pairs):
    for a, b in equal_pairs:
        assert same(a, b, **spec), (a, b)
    for a, b in different_pairs:
        assert not same(a, b, **spec), (a, b)


def test_case_first():
    assert ordered(["a", "B", "b", "A"], caseFirst="lower") == ["a", "A", "b", "B"]
    assert ordered(["a", "B", "b", "A"], caseFirst="upper") == ["A", "a", "B", "b"]
    assert ordered(["a", "B", "b", "A"]) == ["a", "A", "b", "B"]  # "off": lowercase first


def test_strength_5_compares_canonically_equivalent_strings_equal():
    assert same("café", "cafe\u0301", strength=5)  # the identical level compares NFD
    assert not same("café", "cafe", strength=5)


# -- numericOrdering ------------------------------------------------------------------

def test_numeric_ordering_keeps_digits_between_punctuation_and_letters():
    assert ordered(["10", "9", "1", " ", "!", "a"], numericOrdering=True) == [" ", "!", "1", "9", "10", "a"]


def test_numeric_ordering_compares_values_and_ignores_leading_zeros():
    assert ordered(["a10", "a2", "a02", "a1b"], numericOrdering=True) == ["a1b", "a2", "a02", "a10"]
    assert same("01", "1", numericOrdering=True)
    assert same("a007", "A7", numericOrdering=True, strength=2)
    assert ordered(["100", "99", "1000", "0"], numericOrdering=True) == ["0", "99", "100", "1000"]


def test_numeric_ordering_only_folds_decimal_digits():
    # "½" is a compatibility form of "1⁄2": ICU does not read its digits as a number
    assert ordered(["1B", "\u00bd"]) == ["\u00bd", "1B"]
    assert ordered(["\u00bd", "1B"], numericOrdering=True) == ["1B", "\u00bd"]


# -- alternate / maxVariable / backwards ----------------------------------------------

def test_alternate_shifted_ignores_whitespace_and_punctuation():
    assert same("a-b", "ab", alternate="shifted")
    assert same("a b", "a_b", alternate="shifted")
    assert not same("a$b", "ab", alternate="shifted")  # symbols are not variable
    assert not same("a-b", "aB", alternate="shifted")


def test_alternate_shifted_strength_4_orders_variable_characters():
    assert ordered(["a-b", "ab", "a b", "a_b"], alternate="shifted", strength=4) == [
        "a b", "a_b", "a-b", "ab"]


def test_max_variable_space_only_ignores_whitespace():
    assert same("a b", "ab", alternate="shifted", maxVariable="space")
    assert not same("a-b", "ab", alternate="shifted", maxVariable="space")


def test_backwards_compares_accents_from_the_end():
    words = ["côté", "coté", "côte", "cote"]
    assert ordered(words, locale="fr") == ["cote", "coté", "côte", "côté"]
    assert ordered(words, locale="fr", backwards=True) == ["cote", "côte", "coté", "côté"]
    assert ordered(words, locale="fr_CA") == ["cote", "côte", "coté", "côté"]  # locale default


# -- locales --------------------------------------------------------------------------

def test_swedish_letters_after_z():
    words = ["Ärger", "Zebra", "Arm", "Öl", "Ofen", "Åsa", "Yxa", "ära"]
    assert ordered(words, locale="sv") == ["Arm", "Ofen", "Yxa", "Zebra", "Åsa", "ära", "Ärger", "Öl"]
    assert ordered(words[:7], locale="en") == ["Ärger", "Arm", "Åsa", "Ofen", "Öl", "Yxa", "Zebra"]
    assert ordered(["a\u030asa", "zz"], locale="sv") == ["zz", "a\u030asa"]  # decomposed å too
    assert ordered(["\u01fd", "z", "\u00e4"], locale="sv") == ["z", "\u00e4", "\u01fd"]  # ǽ = æ + acute
    assert same("\u00fe", "th", locale="sv", strength=2)  # &t<<<þ/h


def test_finnish_letters_after_z():
    assert ordered(["ö", "z", "å", "a", "ä"], locale="fi") == ["a", "z", "å", "ä", "ö"]


def test_spanish_n_tilde_is_a_letter():
    assert ordered(["ñandú", "nube", "oso", "Ñu", "nz"], locale="es") == ["nube", "nz", "ñandú", "Ñu", "oso"]
    assert ordered(["ñu", "nz", "o"], locale="en") == ["ñu", "nz", "o"]  # root: n with an accent
    assert not same("ñ", "n", locale="es", strength=1)


@pytest.mark.parametrize("locale", ["en", "en_US", "fr", "de", "it", "pt", "nl", "ja", "ar", "simple"])
def test_root_order_locales_are_accepted(locale):
    parse_collation({"locale": locale})


@pytest.mark.parametrize("locale", ["da", "nb", "nn", "cs", "sk", "pl", "hu", "tr", "az", "hr", "lt",
                                    "et", "lv", "ro", "cy", "is", "ru", "zh", "de_AT", "en_US_POSIX",
                                    "de@collation=phonebook", "es@collation=traditional"])
def test_tailored_locales_not_modelled_raise(locale):
    with pytest.raises(NotImplementedError, match="collation locale"):
        parse_collation({"locale": locale})


def test_unknown_locale_is_a_server_error(db):
    with pytest.raises(ServerError) as exc:
        parse_collation({"locale": "xx", "strength": 1})
    assert exc.value.code == 2
    assert exc.value.errmsg == "Field 'locale' is invalid in: { locale: \"xx\", strength: 1 }"
    db.c.insert_one({"a": "x"})
    with pytest.raises(OperationFailure) as exc:
        list(db.c.find().collation({"locale": "xx"}))
    assert exc.value.code == 2


# -- keys -----------------------------------------------------------------------------

def test_keys_are_hashable_and_nest_inside_documents():
    key = sort_key_for(parse_collation({"locale": "en", "strength": 1}))
    assert hash(key({"a": ["Á", "b"]})) == hash(key({"a": ["a", "B"]}))
    assert key({"a": "b"}) > key({"a": "A"})
    assert key(5) < key("0")  # numbers before strings, as in the binary order
