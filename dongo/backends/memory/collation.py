"""Collation specs: validation and an approximation of ICU string order.

A collation changes how *strings* compare (inside documents and arrays too);
every other type keeps the binary BSON order of :mod:`bsontypes`.

The engine implements what it can reproduce faithfully enough for Latin
text: ``strength`` 1 (base letters: case- and accent-insensitive), 2 (adds
accents: case-insensitive) and 3+ (adds case, lowercase first like ICU),
``caseLevel``, ``caseFirst``, ``numericOrdering``. Options it cannot honour
(``alternate: "shifted"``, ``backwards: true``) raise ``NotImplementedError``.

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

_DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Collation:
    """A validated, hashable collation (never the ``"simple"`` one)."""

    locale: str
    strength: int = 3
    case_level: bool = False
    case_first: str = "off"
    numeric_ordering: bool = False
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def string_key(self, s: str) -> tuple:
        """A comparison key for ``s`` under this collation (cached per string).

        Equal keys mean the strings compare equal under the collation.
        """
        key = self._cache.get(s)
        if key is None:
            key = self._compute(s)
            if len(self._cache) < 65536:
                self._cache[s] = key
        return key

    def _compute(self, s: str) -> tuple:
        decomposed = unicodedata.normalize("NFD", s)
        bases = []
        marks = []
        cases = []
        for ch in decomposed:
            if unicodedata.combining(ch):
                if marks:
                    marks[-1] += ch
                continue
            bases.append(ch.casefold())
            marks.append("")
            upper = ch != ch.lower()
            # ICU tertiary order: lowercase before uppercase unless caseFirst upper.
            cases.append((0 if upper else 1) if self.case_first == "upper" else (1 if upper else 0))
        primary_text = "".join(bases)
        if self.numeric_ordering:
            primary: Any = tuple(
                (0, int(piece), "") if piece.isdigit() else (1, 0, piece)
                for piece in _DIGITS.split(primary_text)
                if piece
            )
        else:
            primary = primary_text
        levels: list[Any] = [primary]
        if self.strength >= 2:
            levels.append(tuple(marks))
        if self.case_level or self.strength >= 3:
            levels.append(tuple(cases))
        if self.strength >= 5:
            levels.append(decomposed)  # identical level: code points break ties
        return tuple(levels)


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
        raise _bad(f"Field 'locale' is invalid in: {dict(spec)}")
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
    if alternate == "shifted":
        raise NotImplementedError("collation alternate 'shifted' is not supported by the memory engine")
    if spec.get("backwards", False):
        raise NotImplementedError("collation backwards is not supported by the memory engine")
    return Collation(
        locale=locale,
        strength=int(strength),
        case_level=bool(spec.get("caseLevel", False)),
        case_first=case_first,
        numeric_ordering=bool(spec.get("numericOrdering", False)),
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
