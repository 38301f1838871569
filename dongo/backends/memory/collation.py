"""Collation specs: validation and a pure-Python approximation of ICU string order.

A collation changes how *strings* compare (inside documents and arrays too);
every other type keeps the binary BSON order of :mod:`bsontypes`.

MongoDB collations are ICU collations: the CLDR root collation (the Unicode
Collation Algorithm with the DUCET order) plus per-locale tailorings. This
module reproduces that order for the common cases:

* **Primary order** (level 1) from a table of the CLDR root order for ASCII,
  Latin-1, Latin Extended-A/B, spacing modifier letters, general punctuation,
  currency signs, Greek and Cyrillic (``_ROOT_PRIMARY_GROUPS``, generated with
  ICU 77 from the characters that do not decompose canonically). The DUCET
  groups come in this order: whitespace < punctuation < symbols < currency <
  digits < letters, e.g. ``" " < "_" < "-" < "," < "!" < "." < "@" < "&" <
  "#" < "`" < "^" < "+" < "<" < "$" < "€" < "0" < "a"``. Accented letters are
  decomposed (NFD): the base letter gives the primary weight, the accents the
  secondary ones; "ß", "æ", "œ" expand to "ss", "ae", "oe" (level-2
  difference), compatibility characters ("ﬁ", "½", full-width) to their NFKD
  form (level-3 difference), katakana to hiragana (level 3); digits of every
  script weigh as ASCII digits; Han ideographs sort after all other letters.
* **Secondary** (level 2): accents, in ICU's order of combining marks
  (``_MARK_ORDER``); ``backwards: true`` (French, the ``fr_CA`` default)
  reverses them.
* **Tertiary** (level 3): case, lowercase first (``caseFirst: "off"`` and
  ``"lower"``) or uppercase first (``"upper"``); ``caseLevel: true`` adds the
  case as a level between secondary and tertiary (so strength 1 + caseLevel
  compares case but not accents).
* Levels compare like UCA sort keys: all primary weights of the whole string
  first, then all secondary weights, then tertiary — never character by
  character across levels (``"ab" < "Áb"`` but ``"áb" < "Ac"``).
* ``numericOrdering``: a run of decimal digits (any script) is one weight
  that compares by numeric value (leading zeros ignored, ``"01" == "1"``),
  placed where digits sort (after punctuation and symbols, before letters).
* ``alternate: "shifted"``: whitespace and punctuation (and with
  ``maxVariable: "space"`` only whitespace) are ignored at levels 1–3; at
  strength 4 they are compared on a quaternary level.
* strength 5 (identical) breaks ties on the NFD code points.
* Locales: those whose CLDR tailoring leaves this repertoire in root order
  (``_ROOT_LOCALES``, checked against ICU), and the tailorings ``es``
  (ñ after n), ``sv`` and ``fi`` (å ä ö after z, ü as y, ...). Every other
  locale MongoDB supports (``_TAILORED_LOCALES``: cs "ch", da/nb "aa", pl,
  hu, tr dotless ı, script reorderings such as ru, ...) and every
  ``@collation=`` variant raise ``NotImplementedError``; an unknown locale is
  the server's BadValue error.

Checked against ICU 77 on random strings over ASCII, Latin-1, Latin
Extended-A, Greek, Cyrillic, kana, Hangul, Han and compatibility characters,
for every option above: the orders agree except where noted below.

Known approximations (not modelled, so answers may differ from a server):
characters outside the table sort by General Category group (an unknown
punctuation mark after the known ones, an unknown letter after all known
letters, ...) and by code point inside it — so scripts other than Latin,
Greek and Cyrillic sort in code point order after them (DUCET orders most
scripts' common letters by code point too, except e.g. Hangul before Han);
root contractions (e.g. in Indic scripts) are ignored; the relative order of
level-3 variants other than case (full-width vs uppercase, superscripts) is
approximate; and the tailorings of ``ja``/``ko``/``zh``-like locales for
their own scripts are accepted with root order only when they leave Latin
text alone (``_ROOT_LOCALES``) — their own script follows the root order.

    >>> c = parse_collation({"locale": "en", "strength": 2})
    >>> c.string_key("Café") == c.string_key("CAFE\\u0301")
    True
    >>> parse_collation({"locale": "simple"}) is None
    True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from . import bsontypes as _bt
from .errors import BAD_VALUE, TYPE_MISMATCH, ServerError

__all__ = ["Collation", "parse_collation", "sort_key_for"]

_FIELDS = {
    "locale": str,
    "caseLevel": bool,
    "caseFirst": str,
    "strength": int,
    "numericOrdering": bool,
    "alternate": str,
    "maxVariable": str,
    "normalization": bool,
    "backwards": bool,
    "version": str,
}

# -- CLDR root order ---------------------------------------------------------------
#
# Groups of characters sharing one primary weight, in ascending CLDR root order
# (generated with ICU 77 `Collator(root, strength=primary)`; uppercase letters that
# lowercase to one character are left out: they weigh as their lowercase form).
_ROOT_PRIMARY_GROUPS = (
    "\x09", "\x0a", "\x0b", "\x0c", "\x0d", "\x85", "\u2028", "\u2029",
    "\x20\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u205f\xa0\u2007\u202f",
    "‾", "_", "‗", "-", "‐‑", "‒", "–", "—", "―", "⁓", ",", ";;", "⁏", ":", "!", "‼", "⁉", "¡",
    "?", "⁈", "⁇", "¿", "‽", ".․", "‥", "…", "··", "⁕", "⁖", "⁘", "⁙", "⁚", "⁛", "⁜", "⁝", "⁞",
    "'‘’‚‛", "‹", "›", "\"“”„‟", "«", "»", "(", ")", "[", "]", "{", "}", "⁅", "⁆", "‖", "§",
    "¶", "⁋", "@", "*", "⁎", "⁑", "/", "\\", "&", "⁊", "#", "%", "‰", "‱", "†", "‡", "•", "‣",
    "‧", "⁃", "⁌", "⁍", "′", "″", "‴", "⁗", "‵", "‶", "‷", "‸", "※", "‿", "⁔", "⁀", "⁐", "⁁",
    "⁂", "`", "´΄", "˜", "^", "¯", "˘", "˙", "¨", "˚", "˝", "¸", "˛", "ʹʹ", "͵", "ʺ", "˂", "˃",
    "˄", "˅", "ˆ", "ˇ", "ˈ", "ˉ", "ˊ", "ˋ", "ˌ", "ˍ", "ˎ", "ˏ", "˒", "˓", "˔", "˕", "˖", "˗",
    "˞", "˟", "˥", "˦", "˧", "˨", "˩", "˪", "˫", "ˬ", "˭", "˯", "˰", "˱", "˲", "˳", "˴", "˵",
    "˶", "˷", "˸", "˹", "˺", "˻", "˼", "˽", "˾", "˿", "°", "҂", "©", "®", "϶", "+", "±", "÷",
    "×", "<", "=", ">", "¬", "|", "¦", "~", "⁒", "⁄", "ː", "ˑ", "¤", "¢", "$", "£", "¥", "₠",
    "₡", "₢", "₣", "₤", "₥", "₦", "₩", "₪", "₫", "€", "₭", "₮", "₯", "₰", "₱", "₲", "₳", "₴",
    "₵", "₶", "₷", "₸", "₹", "₺", "₻", "₼", "₽", "₾", "₿", "⃀", "0", "1¹", "½", "¼", "2²", "3³",
    "¾", "4", "5", "6", "7", "8", "9", "aª", "æ", "ɐ", "ɑ", "ɒ", "b", "ʙ", "ƀ", "ɓ", "ƃ", "c",
    "ȼ", "ƈ", "ɕ", "dđð", "ȸ", "ǳʣǆ", "ʥ", "ʤ", "ɖ", "ɗ", "ƌ", "ȡ", "e", "ɇ", "ǝ", "ə", "ɛ",
    "ɘ", "ɚ", "ɜ", "ɝ", "ɞ", "ʚ", "ɤ", "f", "ʩ", "ƒ", "g", "ɡ", "ɢ", "ǥ", "ɠ", "ʛ", "ɣˠ", "ƣ",
    "hʰħ", "ʜ", "ƕ", "ɦʱ", "ɧ", "ʻ", "ʽ", "i", "ĳ", "ı", "ɪ", "ɨ", "ɩ", "jʲ", "ȷ", "ɉ", "ʝ",
    "ɟ", "ʄ", "k", "ƙ", "ʞ", "lˡłŀ", "ǉ", "ʪ", "ʫ", "ʟ", "ƚ", "ɫ", "ɬ", "ɭ", "ȴ", "ɮ", "ƛ", "ʎ",
    "m", "ɱ", "n", "ǌ", "ɴ", "ɲ", "ƞ", "ɳ", "ȵ", "ŋ", "oºø", "œ", "ɶ", "ɔ", "ɵ", "ɷ", "ȣ", "p",
    "₧", "ƥ", "ɸ", "q", "ȹ", "ʠ", "ɋ", "ĸ", "rʳ", "₨", "ʀ", "ɍ", "ɹʴ", "ɺ", "ɻʵ", "ɼ", "ɽ", "ɾ",
    "ɿ", "ʁʶ", "sˢſ", "ß", "ʂ", "ȿ", "ʃ", "ƪ", "ʅ", "ʆ", "t", "ʨ", "ƾʦ", "ʧ", "ŧ", "ƫ", "ƭ",
    "ʈ", "ȶ", "ʇ", "u", "ʉ", "ɥ", "ʮ", "ʯ", "ɯ", "ɰ", "ʊ", "v", "ʋ", "ʌ", "wʷ", "ʍ", "xˣ", "yʸ",
    "ʏ", "ɏ", "ƴ", "ȝ", "z", "ƍ", "ƶ", "ȥ", "ʐ", "ʑ", "ɀ", "ʒ", "ƹ", "ƺ", "ʓ", "þ", "ƿ", "ƻ",
    "ƨ", "ƽ", "ƅ", "ʔ", "ɂ", "ˀ", "ʼ", "ŉ", "ˮ", "ʾ", "ʕˤ", "ʿ", "ˁ", "ʡ", "ʢ", "ʖ", "ǀ", "ǁ",
    "ǂ", "ǃ", "ʗ", "ʘ", "ʬ", "ʭ", "α", "βϐ", "γ", "δ", "εϵ", "ϝ", "ͷ", "ϛ", "ζ", "ͱ", "η", "θϑ",
    "ιͺ", "ϳ", "κϰ", "ϗ", "λ", "μµ", "ν", "ξ", "ο", "πϖ", "ϻ", "ϟ", "ϙ", "ρϱ", "ϼ", "σϲς", "ͼ",
    "ͻ", "ͽ", "τ", "υϒ", "φϕ", "χ", "ψ", "ω", "ϡ", "ͳ", "ϸ", "ϣ", "ϥ", "ϧ", "ϩ", "ϫ", "ϭ", "ϯ",
    "а", "ә", "ӕ", "б", "в", "гґ", "ғ", "ӻ", "ҕ", "ӷ", "д", "ђ", "ҙ", "е", "є", "ж", "җ", "з",
    "ѕ", "ӡ", "и", "ҋ", "і", "ј", "к", "қ", "ӄ", "ҡ", "ҟ", "ҝ", "л", "ӆ", "љ", "м", "ӎ", "н",
    "ӊ", "ң", "ӈ", "ҥ", "њ", "о", "ө", "п", "ҧ", "ҁ", "р", "ҏ", "с", "ҫ", "т", "ҭ", "ћ", "у",
    "ү", "ұ", "ѹ", "ф", "х", "ӽ", "ӿ", "ҳ", "һ", "ѡ", "ѿ", "ѽ", "ѻ", "ц", "ҵ", "ч", "ҷ", "ӌ",
    "ҹ", "ҽ", "ҿ", "џ", "ш", "щ", "ъ", "ы", "ь", "ҍ", "ѣ", "э", "ю", "я", "ѥ", "ѧ", "ѫ", "ѩ",
    "ѭ", "ѯ", "ѱ", "ѳ", "ѵ", "ҩ", "ӏ",
)

# Combining marks (U+0300..U+036F) in ascending ICU secondary order.
_MARK_ORDER = (
    "\u034f\u0332\u0313\u0343\u0314\u0301\u0341\u0300\u0340\u0306\u0302\u030c\u030a\u0342"
    "\u0308\u0344\u030b\u0303\u0307\u0338\u0327\u0328\u0304\u030d\u030e\u0312\u0315\u031a"
    "\u033d\u033e\u033f\u0346\u034a\u034b\u034c\u0350\u0351\u0352\u0357\u035b\u035d\u035e"
    "\u0316\u0317\u0318\u0319\u031c\u031d\u031e\u031f\u0320\u0329\u032a\u032b\u032c\u032f"
    "\u0333\u033a\u033b\u033c\u0347\u0348\u0349\u034d\u034e\u0353\u0354\u0355\u0356\u0359"
    "\u035a\u035c\u035f\u0362\u0336\u0337\u0335\u0305\u0309\u030f\u0310\u0311\u031b\u0321"
    "\u0322\u0323\u0324\u0325\u0326\u032d\u032e\u0330\u0331\u0334\u0339\u0345\u0358\u0360"
    "\u0361\u0363\u0368\u0369\u0364\u036a\u0365\u036b\u0366\u036c\u036d\u0367\u036e\u036f"
)

# A primary weight is ``rank << _SHIFT | sub``: ``rank`` indexes _ROOT_PRIMARY_GROUPS,
# ``sub`` orders characters outside the table (by code point) or locale tailorings
# after the group they follow.
_SHIFT = 21


def _group_rank(first_char: str) -> int:
    return next(i for i, g in enumerate(_ROOT_PRIMARY_GROUPS) if first_char in g)


# Members of a group that ICU tells apart at level 2 by one level-2 weight below every
# accent's (the others differ at level 3 only), with that weight.
_LEVEL2_VARIANTS = {
    "\u2018": 1, "\u2019": 4, "\u201a": 7, "\u201b": 10,  # ‘ ’ ‚ ‛ (after ')
    "\u201c": 1, "\u201d": 3, "\u201e": 5, "\u201f": 7,  # “ ” „ ‟ (after ")
    "\u00f0": 1, "\u017f": 5, "\u0491": 1,  # ð (d), ſ (s), ґ (г)
}
# Letters ICU weighs exactly as a base letter plus an overlay mark (ø = o + U+0338).
_STROKED = {"\u00f8": "o\u0338", "\u0111": "d\u0335", "\u0127": "h\u0335", "\u0142": "l\u0335"}
_VARIANT_ACCENT = 1000  # level-2 weight of tailored variants: after every combining mark

# Table characters ICU weighs as their NFKD expansion (level 3 apart): looked up that way.
_COMPAT_EXPANSIONS = "\u203c\u2049\u2048\u2047\u2025\u2026\u2033\u2034\u2057\u2036\u2037" \
    "\u00bd\u00bc\u00be\u01c6\u01f3\u0133\u0140\u01c9\u01cc\u20a8\u0149"

# char -> (primary, level-2 weights, level-3 variant)
_ROOT_WEIGHTS: dict[str, tuple[int, tuple, int]] = {}
for _rank, _group in enumerate(_ROOT_PRIMARY_GROUPS):
    for _index, _ch in enumerate(_group):
        if _ch in _COMPAT_EXPANSIONS:
            continue
        if _ch in _LEVEL2_VARIANTS:
            _weight = (_rank << _SHIFT, (_LEVEL2_VARIANTS[_ch],), 0)
        else:
            _weight = (_rank << _SHIFT, (0,), _index)
        _ROOT_WEIGHTS[_ch] = _weight
        _up = _ch.upper()
        if len(_up) == 1 and _up != _ch and _up.lower() == _ch:
            _ROOT_WEIGHTS.setdefault(_up, _weight)

# Letters the root order expands to two letters' primaries, told apart at level 2.
_EXPANSIONS = {"\u00df": "ss", "\u00e6": "ae", "\u0153": "oe"}
_EXPANSION_VARIANT = 99

_MARK_WEIGHTS = {m: 20 + i for i, m in enumerate(_MARK_ORDER)}  # above _LEVEL2_VARIANTS

# Group boundaries (ranks of the last group of each DUCET group).
_LAST_SPACE = _group_rank(" ")
_FIRST_SYMBOL = _group_rank("`")
_LAST_PUNCT = _FIRST_SYMBOL - 1
_FIRST_CURRENCY = _group_rank("\u00a4")
_LAST_SYMBOL = _FIRST_CURRENCY - 1
_DIGIT_RANKS = [_group_rank(str(d)) for d in range(10)]
_LAST_CURRENCY = _DIGIT_RANKS[0] - 1
_LAST_DIGITISH = _group_rank("a") - 1
_LAST_GROUP = len(_ROOT_PRIMARY_GROUPS) - 1
# With numericOrdering a digit run weighs as [_NUMBER, length, digit, digit, ...].
_NUMBER = _DIGIT_RANKS[0] << _SHIFT


def _fallback_primary(ch: str) -> int:
    """Primary weight of a character outside the table: after its DUCET group's known members."""
    category = unicodedata.category(ch)
    digit = unicodedata.digit(ch, None) if category == "Nd" else None
    if digit is not None:  # DUCET: every script's digit d weighs as ASCII d
        return _DIGIT_RANKS[digit] << _SHIFT
    head = category[0]
    if head == "Z" or category == "Cc":
        rank = _LAST_SPACE
    elif head == "P":
        rank = _LAST_PUNCT
    elif category == "Sc":
        rank = _LAST_CURRENCY
    elif head == "N":
        rank = _LAST_DIGITISH
    elif head == "L":
        # DUCET: Han ideographs (implicit weights) after every script's letters
        rank = _LAST_GROUP + 1 if unicodedata.name(ch, "").startswith("CJK") else _LAST_GROUP
    else:
        rank = _LAST_SYMBOL
    return rank << _SHIFT | ord(ch)


# -- Locales ------------------------------------------------------------------------
#
# MongoDB's supported locales (manual "Collation Locales and Default Parameters"),
# split by comparing each ICU locale collator against the root one on the table's
# repertoire plus two-letter words (contractions): equal -> _ROOT_LOCALES.
_ROOT_LOCALES = frozenset(
    "am ar hy as bn my ca chr nl dz en en_US fr ka de gu he hi id ga it ja kn km kok "
    "ko lo lb ms ml mr ne or ps fa pt pa si sw ta te bo ur ug wae zu".split()
)
_TAILORED_LOCALES = frozenset(
    "af sq az be bs bs_Cyrl bg zh zh_Hant hr cs da en_US_POSIX eo et ee fo fil "
    "gl el ha haw hu is ig smn kl kk ky lkt lt dsb mk mt mn se nb nn om pl ro ru "
    "sr sr_Latn sk sl th to tr uk hsb vi cy yo yi lv ln tk de_AT fa_AF vo cu".split()
)


def _after(base: str, step: int) -> tuple[int, tuple, int]:
    """A tailored weight: ``step`` positions after ``base``'s primary (CLDR ``&base<x``)."""
    return (_ROOT_WEIGHTS[base][0] | step, (0,), 0)


def _before(base: str, step: int) -> tuple[int, tuple, int]:
    """A tailored weight: ``step`` positions before ``base``'s primary (``&[before 1]base<x``)."""
    return (_ROOT_WEIGHTS[base][0] - step, (0,), 0)


def _at(base: str, variant: int) -> tuple[int, tuple, int]:
    """A tailored weight: ``base``'s primary, level-2 ``variant`` (CLDR ``&base<<x``)."""
    return (_ROOT_WEIGHTS[base][0], (0, _VARIANT_ACCENT + variant), 0)


def _like(weight: tuple[int, tuple, int], variant: int) -> tuple[int, tuple, int]:
    """A tailored letter sorting as ``weight``'s letter at level 1, after it at level 2."""
    return (weight[0], (0, _VARIANT_ACCENT + variant), 0)


# CLDR (ICU 77) rules. Nordic letters go "&[before 1]ǀ": after every Latin letter of the
# table. A string value is an expansion told apart at level 3 ("&t<<<þ/h": þ as "th").
_LAST_LATIN = "\u01c0"
_NORDIC = {
    "\u00e5": _before(_LAST_LATIN, 3),  # å
    "\u00e4": _before(_LAST_LATIN, 2),  # ä
    "\u00e6": _like(_before(_LAST_LATIN, 2), 1),  # æ <<ä
    "\u00f6": _before(_LAST_LATIN, 1),  # ö
    "\u00f8": _like(_before(_LAST_LATIN, 1), 1),  # ø <<ö
    "\u00fc": _at("y", 1),  # ü <<y
}
_TAILORINGS: dict[str, dict[str, Any]] = {
    # es: &N<ñ
    "es": {"\u00f1": _after("n", 1)},
    # sv: &D<<đ<<ð &t<<<þ/h &Y<<ü<<ű &[before 1]ǀ<å<ä<<æ<<ę<ö<<ø<<ő<<œ<<ô
    "sv": {**_NORDIC, "\u0111": _at("d", 1), "\u00f0": _at("d", 2), "\u00fe": "th",
           "\u0171": _at("y", 2), "\u0119": _like(_NORDIC["\u00e4"], 2),
           "\u0151": _like(_NORDIC["\u00f6"], 2), "\u0153": _like(_NORDIC["\u00f6"], 3),
           "\u00f4": _like(_NORDIC["\u00f6"], 4)},
    # fi: &D̵<<đ &G̵<<ǥ &N̵<<ŋ &T̵<<ŧ &Y<<ü &Z̵<<ʒ &[before 1]ǀ<å<ä<<æ<ö<<ø
    "fi": {**_NORDIC, "\u0111": _at("d", 1), "\u01e5": _at("g", 1), "\u014b": _at("n", 1),
           "\u0167": _at("t", 1), "\u0292": _at("z", 1)},
}
# Locale defaults that differ from the root ones (manual: French Canadian sorts accents backwards).
_LOCALE_DEFAULTS = {"fr_CA": {"backwards": True}}


def locale_defaults(locale: str) -> dict[str, Any]:
    """The collation options whose default ``locale`` changes from the root's.

        >>> locale_defaults("fr_CA"), locale_defaults("en")
        ({'backwards': True}, {})
    """
    return dict(_LOCALE_DEFAULTS.get(locale.partition("@")[0], {}))


def _tailoring(locale: str, spec: Mapping) -> dict[str, Any]:
    """The primary-weight overrides of ``locale``; raises for what is not modelled."""
    base, _, variant = locale.partition("@")
    if variant:
        raise NotImplementedError(
            f"collation locale variant '{locale}' is not supported by the memory engine")
    language = base.split("_")[0]
    if base in _TAILORINGS or language in _TAILORINGS and base not in _TAILORED_LOCALES:
        return _TAILORINGS.get(base) or _TAILORINGS[language]
    if base in _TAILORED_LOCALES or language in _TAILORED_LOCALES and base not in _ROOT_LOCALES:
        raise NotImplementedError(
            f"collation locale '{locale}' (a CLDR tailoring) is not supported by the memory engine")
    if base in _ROOT_LOCALES or language in _ROOT_LOCALES:
        return {}
    raise _invalid_locale(spec)


def _invalid_locale(spec: Mapping) -> ServerError:
    from .indexes import format_value  # the server's rendering of the spec (lazy: no cycle)

    return ServerError(BAD_VALUE, f"Field 'locale' is invalid in: {format_value(dict(spec))}")


@lru_cache(maxsize=None)
def _tailoring_of(locale: str) -> dict[str, Any]:
    return _tailoring(locale, {"locale": locale})


# -- Collation keys -----------------------------------------------------------------

_HIGH = 1 << 62  # quaternary weight of non-variable characters (alternate "shifted")
_NO_PRIMARY = -1  # primary of an accent with no letter before it


@dataclass(frozen=True)
class Collation:
    """A validated, hashable collation (never the ``"simple"`` one)."""

    locale: str
    strength: int = 3
    case_level: bool = False
    case_first: str = "off"
    numeric_ordering: bool = False
    alternate: str = "non-ignorable"
    max_variable: str = "punct"
    backwards: bool = False
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def string_key(self, s: str) -> tuple:
        """A comparison key for ``s`` under this collation (cached per string).

        Equal keys mean the strings compare equal under the collation; keys order
        like ICU sort keys. O(len(s)) on a cache miss.
        """
        key = self._cache.get(s)
        if key is None:
            key = self._compute(s)
            if len(self._cache) < 65536:
                self._cache[s] = key
        return key

    def _elements(self, s: str) -> list[tuple[int, tuple, int, int]]:
        """``s`` as collation elements ``(primary, level-2 weights, level-3 variant, is_upper)``.

        The level-2 weights of an element are its own (0 for a plain letter, a variant
        weight for e.g. "ø") followed by those of the accents that follow it.
        """
        tailoring = _tailoring_of(self.locale)
        if not tailoring:
            return _root_elements(unicodedata.normalize("NFD", s))
        elements: list[tuple[int, tuple, int, int]] = []
        # A tailored letter is looked up precomposed (sv "å" is a letter, not a + ring).
        for ch in unicodedata.normalize("NFC", s):
            lower = ch.lower()
            weight = tailoring.get(lower)
            if weight is None:
                parts = unicodedata.normalize("NFD", ch)
                weight = tailoring.get(parts[0].lower())  # sv "ǽ": tailored æ + acute
                if weight is None or type(weight) is str:
                    _append_root(elements, parts)
                    continue
                upper = int(parts[0] != parts[0].lower())
                elements.append((weight[0], weight[1], weight[2], upper))
                _append_root(elements, parts[1:])
            elif type(weight) is str:  # a tailored expansion: its letters, level 3 apart
                upper = int(ch != lower)
                elements.extend((e[0], e[1], e[2] + 1, upper) for e in self._elements(weight))
            else:
                elements.append((weight[0], weight[1], weight[2], int(ch != lower)))
        return elements

    def _compute(self, s: str) -> tuple:
        elements = self._elements(s)
        if self.numeric_ordering:
            elements = _numbers(elements)
        variable_top = _LAST_SPACE if self.max_variable == "space" else _LAST_PUNCT
        variable_limit = (variable_top + 1) << _SHIFT
        shifted = self.alternate == "shifted"
        primaries: list[int] = []
        secondaries: list[int] = []
        cases: list[int] = []
        tertiaries: list[int] = []
        quaternaries: list[int] = []
        upper_first = self.case_first == "upper"
        for primary, seconds, third, upper in elements:
            if type(primary) is tuple:  # a number (numericOrdering): one weight per level
                primaries.extend(primary)
                secondaries.append(0)
                cases.append(0)
                tertiaries.append(0)
                quaternaries.append(_HIGH)
                continue
            if primary == _NO_PRIMARY:
                secondaries.extend(seconds)
                continue
            if shifted and primary < variable_limit:
                quaternaries.append(primary)  # ignored at levels 1-3
                continue
            case = 1 - upper if upper_first else upper
            primaries.append(primary)
            secondaries.extend(seconds)
            cases.append(case)
            tertiaries.append(case + 2 * third)
            quaternaries.append(_HIGH)
        if self.backwards:  # French: accents compare from the end of the string
            secondaries.reverse()
        levels: list[Any] = [tuple(primaries)]
        if self.strength >= 2:
            levels.append(tuple(secondaries))
        if self.case_level:
            levels.append(tuple(cases))
        if self.strength >= 3:
            levels.append(tuple(tertiaries))
        if self.strength >= 4 and shifted:
            levels.append(tuple(quaternaries))
        if self.strength >= 5:
            levels.append(tuple(map(ord, unicodedata.normalize("NFD", s))))
        return tuple(levels)



# char -> its root collation elements (a tuple), or its level-2 weight (an int) for a mark.
_CHAR_ELEMENTS: dict[str, Any] = {}


def _root_elements(text: str) -> list[tuple[int, tuple, int, int]]:
    """The root collation elements of ``text`` (already NFD). O(len(text))."""
    elements: list[tuple[int, tuple, int, int]] = []
    _append_root(elements, text)
    return elements


def _append_root(elements: list, text: str) -> None:
    for ch in text:
        info = _CHAR_ELEMENTS.get(ch)
        if info is None:
            info = _CHAR_ELEMENTS[ch] = _char_elements(ch)
        if type(info) is int:  # an accent: a level-2 weight of the preceding element
            if elements:
                primary, seconds, third, upper = elements[-1]
                elements[-1] = (primary, seconds + (info,), third, upper)
            else:  # a leading accent weighs at level 2 only
                elements.append((_NO_PRIMARY, (info,), 0, 0))
        else:
            elements.extend(info)


def _char_elements(ch: str) -> Any:
    """The root collation elements of one NFD character (see ``_CHAR_ELEMENTS``)."""
    mark = _MARK_WEIGHTS.get(ch)
    if mark is None and unicodedata.combining(ch):
        mark = len(_MARK_WEIGHTS) + ord(ch)
    if mark is not None:
        return mark
    upper = int(ch != ch.lower())
    expansion = _EXPANSIONS.get(ch.lower())
    if expansion is not None:  # ß -> s s, æ -> a e, told apart at level 2
        first, *rest = expansion
        return ((_ROOT_WEIGHTS[first][0], (0, _EXPANSION_VARIANT), 0, upper),
                *((_ROOT_WEIGHTS[c][0], (0,), 0, upper) for c in rest))
    stroked = _STROKED.get(ch.lower())
    if stroked is not None:
        return ((_ROOT_WEIGHTS[stroked[0]][0], (0, _MARK_WEIGHTS[stroked[1]]), 0, upper),)
    weight = _ROOT_WEIGHTS.get(ch)
    if weight is None and "\u30a1" <= ch <= "\u30f6":  # katakana: its hiragana, level 3 apart
        return tuple((e[0], e[1], e[2] + 1, e[3]) for e in _char_elements(chr(ord(ch) - 0x60)))
    if weight is None:
        compat = unicodedata.normalize("NFKD", ch)
        if compat != ch:  # "ﬁ", "²", full-width...: weighed as their NFKD form, level 3 apart
            return tuple((e[0], e[1], e[2] + 1, e[3]) for e in _root_elements(compat))
        weight = (_fallback_primary(ch), (0,), 0)
    return ((weight[0], weight[1], weight[2], upper),)

_DIGIT_VALUES = {rank << _SHIFT: value for value, rank in enumerate(_DIGIT_RANKS)}


def _numbers(elements: list) -> list:
    """Fold each run of digit elements into one number element (numericOrdering).

    A number weighs ``(_NUMBER, count of significant digits, digit, ...)``: it sorts
    where digits sort and compares by value; leading zeros do not count.
    """
    out: list = []
    digits: list[int] = []
    for element in elements + [None]:
        # decimal digits only: not "²" or "½" (compatibility forms, level-3 variants)
        digit = _DIGIT_VALUES.get(element[0]) if element is not None and not element[2] else None
        if digit is not None:
            digits.append(digit)
            continue
        if digits:
            while len(digits) > 1 and digits[0] == 0:
                digits.pop(0)
            out.append(((_NUMBER, len(digits), *digits), (0,), 0, 0))
            digits = []
        if element is not None:
            out.append(element)
    return out


def _bad(msg: str, code: int = BAD_VALUE) -> ServerError:
    return ServerError(code, msg)


def parse_collation(spec: Any) -> Collation | None:
    """Validate a collation document; ``None`` for absent or ``{locale: "simple"}``.

        >>> parse_collation({"locale": "fr", "strength": 1}).strength
        1

    Raises ``ServerError`` for what a server rejects, ``NotImplementedError``
    for options the engine cannot reproduce.
    """
    if spec is None:
        return None
    if isinstance(spec, Collation):
        return spec
    if not isinstance(spec, Mapping):
        raise _bad("collation must be an object", TYPE_MISMATCH)
    for name, value in spec.items():
        expected = _FIELDS.get(name)
        if expected is None:
            raise _bad(f"BSON field '{name}' is an unknown field.", 40415)
        if expected is int:
            ok = _bt.is_number(value)
        elif expected is bool:
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        if not ok:
            type_word = {int: "int", bool: "bool", str: "string"}[expected]
            raise _bad(
                f"BSON field 'collation.{name}' is the wrong type '{_bt.type_name(value)}', "
                f"expected type '{type_word}'",
                TYPE_MISMATCH,
            )
    if "locale" not in spec:
        raise _bad("BSON field 'locale' is missing but a required field", 40414)
    locale = spec["locale"]
    if locale == "simple":
        if len(spec) > 1:
            raise _bad("Collation with locale 'simple' cannot have other options set")
        return None
    if not re.fullmatch(r"[A-Za-z]{2,3}([_@][A-Za-z0-9_=@;-]+)?", locale):
        raise _invalid_locale(spec)
    strength = spec.get("strength", 3)
    if strength != int(strength) or not 1 <= int(strength) <= 5:
        raise _bad(f"Field 'strength' must be an integer 1 through 5. Got: {strength}")
    case_first = spec.get("caseFirst", "off")
    if case_first not in ("upper", "lower", "off"):
        raise _bad(f"Field 'caseFirst' must be 'upper', 'lower', or 'off'. Got: {case_first}")
    alternate = spec.get("alternate", "non-ignorable")
    if alternate not in ("non-ignorable", "shifted"):
        raise _bad(f"Field 'alternate' must be 'non-ignorable' or 'shifted'. Got: {alternate}")
    max_variable = spec.get("maxVariable", "punct")
    if max_variable not in ("punct", "space"):
        raise _bad(f"Field 'maxVariable' must be 'punct' or 'space'. Got: {max_variable}")
    _tailoring(locale, spec)  # raises for unknown or unsupported locales
    defaults = locale_defaults(locale)
    return Collation(
        locale=locale,
        strength=int(strength),
        case_level=bool(spec.get("caseLevel", False)),
        case_first=case_first,
        numeric_ordering=bool(spec.get("numericOrdering", False)),
        alternate=alternate,
        max_variable=max_variable,
        backwards=bool(spec.get("backwards", defaults.get("backwards", False))),
    )


@lru_cache(maxsize=64)
def sort_key_for(collation: Collation | None) -> Callable[[Any], tuple]:
    """A :func:`bsontypes.sort_key` replacement applying ``collation`` to strings.

    Strings anywhere inside documents and arrays use the collation key; other
    values keep their binary key. ``None`` returns ``bsontypes.sort_key``.

        >>> key = sort_key_for(parse_collation({"locale": "en", "strength": 1}))
        >>> key({"a": ["X"]}) == key({"a": ["x"]})
        True
    """
    if collation is None:
        return _bt.sort_key
    string_key = collation.string_key
    base = _bt.sort_key

    def key(v: Any) -> tuple:
        t = type(v)
        if t is str:
            return (_bt.RANK_STRING, string_key(v))
        if t is dict or (isinstance(v, Mapping) and not isinstance(v, str)):
            elements = []
            for name, value in v.items():
                k = key(value)
                elements.append((k[0], name) + k[1:])
            return (_bt.RANK_OBJECT, tuple(elements))
        if t is list or t is tuple:
            return (_bt.RANK_ARRAY, tuple([key(e) for e in v]))
        if isinstance(v, str) and not isinstance(v, _bt.Code):
            return (_bt.RANK_STRING, string_key(str(v)))
        if isinstance(v, _bt.DBRef):
            return key(v.as_doc())
        return base(v)

    return key
