"""String operators: concatenation, substrings, case, trimming, search, regex and replace.

Byte-based operators (``$substrBytes``, ``$strLenBytes`` ...) count UTF-8
bytes as the server does; the ``CP`` variants count code points.

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$toUpper": "$name"})({"name": "ada"}, {})
    'ADA'
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

from bson import Regex
from bson.code import Code
from bson.timestamp import Timestamp

from ..bsontypes import MISSING
from ..pcre import compile_pcre
from .core import (_args, _as_int, _as_int32, _check_arguments, _compile, _fail, _nullish, _num_kind, _operator,
                   _OPERATORS, _show, _simple, _to_datetime, _to_float, _type_name)
from .date_strings import _format_date


def _coerce_to_string(v: Any, name: str) -> str:
    """The server's string coercion used by $substr/$toLower/$strcasecmp."""
    if v is None or v is MISSING:
        return ""
    if isinstance(v, str):
        return v
    k = _num_kind(v)
    if k >= 0:
        return _number_to_string(v)
    if isinstance(v, _dt.datetime):
        return _format_date(_to_datetime(v), "%Y-%m-%dT%H:%M:%S.%LZ", None)
    if isinstance(v, Timestamp):
        return f"Timestamp({v.time}, {v.inc})"
    if isinstance(v, (Code,)):
        return str(v)
    raise _fail(16007, f"can't convert from BSON type {_type_name(v)} to String")


def _number_to_string(v: Any) -> str:
    k = _num_kind(v)
    if k <= 1:
        return str(int(v))
    if k == 3:
        return str(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "0" if math.copysign(1, v) > 0 else "-0"
    # MongoDB 7.0 streams doubles through its StringBuilder, i.e. printf "%g": six
    # significant digits ($toString: 3.14159265 is "3.14159"; 8.x prints all digits).
    return "%g" % v


@_operator("$concat")
def _c_concat(spec, scope):
    fns = _args("$concat", spec, scope)

    def concat(doc, vars):
        parts = []
        for f in fns:
            v = f(doc, vars)
            if v is None or v is MISSING:
                return None
            if not isinstance(v, str):
                raise _fail(16702, f"$concat only supports strings, not {_type_name(v)}")
            parts.append(v)
        return "".join(parts)

    return concat


def _substr_bytes(name: str):
    def compute(s, start, length):
        s = _coerce_to_string(s, name)
        if _num_kind(start) < 0:
            raise _fail(16034, f"{name}:  starting index must be a numeric type (is BSON type {_type_name(start)})")
        if _num_kind(length) < 0:
            raise _fail(16035, f"{name}:  length must be a numeric type (is BSON type {_type_name(length)})")
        data = s.encode("utf-8")
        i = int(_to_float(start))  # coerceToLong truncates
        if i < 0:
            raise _fail(50752, f"{name}:  starting index must be non-negative (got: {i})")
        n = int(_to_float(length))
        if i >= len(data):
            return ""
        end = len(data) if n < 0 else min(len(data), i + n)
        if i < len(data) and (data[i] & 0xC0) == 0x80:
            raise _fail(28656, f"{name}:  Invalid range, starting index is a UTF-8 continuation byte.")
        if end < len(data) and (data[end] & 0xC0) == 0x80:
            raise _fail(28657, f"{name}:  Invalid range, ending index is in the middle of a UTF-8 character.")
        return data[i:end].decode("utf-8")

    return compute


_simple("$substrBytes", 3, _substr_bytes("$substrBytes"), nulls=False)
_simple("$substr", 3, _substr_bytes("$substrBytes"), nulls=False)


def _substr_cp(s, start, length):
    s = _coerce_to_string(s, "$substrCP")
    if _num_kind(start) < 0:
        raise _fail(34450, f"$substrCP: starting index must be a numeric type (is BSON type {_type_name(start)})")
    i = _as_int32(start)
    if i is None:
        raise _fail(34451, "$substrCP: starting index cannot be represented as a 32-bit integral value")
    if _num_kind(length) < 0:
        raise _fail(34452, f"$substrCP: length must be a numeric type (is BSON type {_type_name(length)})")
    n = _as_int32(length)
    if n is None:
        raise _fail(34453, "$substrCP: length cannot be represented as a 32-bit integral value")
    if n < 0:
        raise _fail(34454, "$substrCP: length must be a nonnegative integer.")
    if i < 0:
        raise _fail(34455, "$substrCP: the starting index must be nonnegative integer.")
    return s[i:i + n]


_simple("$substrCP", 3, _substr_cp, nulls=False)


def _ascii_lower(s: str) -> str:
    return s.translate(_LOWER)


def _ascii_upper(s: str) -> str:
    return s.translate(_UPPER)


_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}

_simple("$toLower", 1, lambda v: _ascii_lower(_coerce_to_string(v, "$toLower")), nulls=False)
_simple("$toUpper", 1, lambda v: _ascii_upper(_coerce_to_string(v, "$toUpper")), nulls=False)


def _strcasecmp(a, b):
    # The server upper-cases (ASCII) both sides and compares bytes.
    a = _ascii_upper(_coerce_to_string(a, "$strcasecmp")).encode("utf-8")
    b = _ascii_upper(_coerce_to_string(b, "$strcasecmp")).encode("utf-8")
    return (a > b) - (a < b)


_simple("$strcasecmp", 2, _strcasecmp, nulls=False)


def _str_len_bytes(v):
    if not isinstance(v, str):
        raise _fail(34473, f"$strLenBytes requires a string argument, found: {_type_name(v)}")
    return len(v.encode("utf-8"))


def _str_len_cp(v):
    if not isinstance(v, str):
        raise _fail(34471, f"$strLenCP requires a string argument, found: {_type_name(v)}")
    return len(v)


_simple("$strLenBytes", 1, _str_len_bytes, nulls=False)
_simple("$strLenCP", 1, _str_len_cp, nulls=False)


def _split(s, sep):
    if _nullish(s):
        return None
    if not isinstance(s, str):
        raise _fail(40085, f"$split requires an expression that evaluates to a string as a first argument, "
                           f"found: {_type_name(s)}")
    if not isinstance(sep, str):
        raise _fail(40086, f"$split requires an expression that evaluates to a string as a second argument, "
                           f"found: {_type_name(sep)}")
    if not sep:
        raise _fail(40087, "$split requires a non-empty separator")
    return s.split(sep)


_simple("$split", 2, _split, nulls=False)

# The server's default $trim characters: ASCII and Unicode whitespace and NUL.
_TRIM_DEFAULT = ("\x00 \t\n\x0b\x0c\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                 "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _trim_operator(name: str, left: bool, right: bool):
    def compile_trim(spec, scope):
        if not isinstance(spec, dict):
            raise _fail(50696, f"{name} only supports an object as an argument, found: {_type_name(spec)}")
        for key in spec:
            if key not in ("input", "chars"):
                raise _fail(50694, f"{name} found an unknown argument: {key}")
        if "input" not in spec:
            raise _fail(50695, f"{name} requires an 'input' field")
        f_input = _compile(spec["input"], scope)
        f_chars = _compile(spec["chars"], scope) if "chars" in spec else None

        def trim(doc, vars):
            s = f_input(doc, vars)
            if _nullish(s):
                return None
            if not isinstance(s, str):
                raise _fail(50699, f"{name} requires its input to be a string, got {_show(s)} "
                                   f"(of type {_type_name(s)}) instead.")
            chars = _TRIM_DEFAULT
            if f_chars is not None:
                chars = f_chars(doc, vars)
                if _nullish(chars):
                    return None
                if not isinstance(chars, str):
                    raise _fail(50700, f"{name} requires 'chars' to be a string, got {_show(chars)} "
                                       f"(of type {_type_name(chars)}) instead.")
            if left and right:
                return s.strip(chars)
            return s.lstrip(chars) if left else s.rstrip(chars)

        return trim

    _OPERATORS[name] = compile_trim


_trim_operator("$trim", True, True)
_trim_operator("$ltrim", True, False)
_trim_operator("$rtrim", False, True)


def _index_of_string(name: str, use_bytes: bool):
    def compile_index(spec, scope):
        fns = _args(name, spec, scope, lo=2, hi=4)

        def index_of(doc, vars):
            values = [f(doc, vars) for f in fns]
            s, sub = values[0], values[1]
            if _nullish(s):
                return None
            if not isinstance(s, str):
                raise _fail(40091 if use_bytes else 40093,
                            f"{name} requires a string as the first argument, found: {_type_name(s)}")
            if not isinstance(sub, str):
                raise _fail(40092 if use_bytes else 40094,
                            f"{name} requires a string as the second argument, found: {_type_name(sub)}")
            bounds = []
            for v in values[2:]:
                i = _as_int(v)
                if i is None:
                    raise _fail(40096, f"{name} requires an integral starting index, found a value of type: "
                                       f"{_type_name(v)}, with value: {_show(v)}")
                if i < 0:
                    raise _fail(40097, f"{name} requires a nonnegative start index, found: {i}")
                bounds.append(i)
            start = bounds[0] if bounds else 0
            if use_bytes:
                hay, needle = s.encode("utf-8"), sub.encode("utf-8")
                end = min(bounds[1], len(hay)) if len(bounds) > 1 else len(hay)
                if start > len(hay) or end < start:
                    return -1
                return hay.find(needle, start, end)  # the match must end before 'end'
            end = min(bounds[1], len(s)) if len(bounds) > 1 else len(s)
            if end < start:
                return -1
            if not s and not sub and start == 0:
                return 0
            # The match must start before 'end' but may run past it (server semantics).
            for i in range(start, end):
                if s.startswith(sub, i):
                    return i
            return -1

        return index_of

    _OPERATORS[name] = compile_index


_index_of_string("$indexOfBytes", True)
_index_of_string("$indexOfCP", False)


def _regex_operator(name: str, mode: str):
    """$regexMatch / $regexFind / $regexFindAll: {input, regex, options}."""

    def compile_regex(spec, scope):
        _check_arguments(name, spec, ("input", "regex", "options"), ("input", "regex"),
                         not_object=(51103, "{name} expects an object of named arguments but found: {type}"),
                         unknown=(31024, "{name} found an unknown argument: {key}"),
                         missing=({"input": 31022, "regex": 31023}, "{name} requires '{key}' parameter"))
        f_input = _compile(spec["input"], scope)
        f_regex = _compile(spec["regex"], scope)
        f_options = _compile(spec["options"], scope) if "options" in spec else None
        cache: dict = {}

        def evaluate(doc, vars):
            s = f_input(doc, vars)
            rx = f_regex(doc, vars)
            opts = f_options(doc, vars) if f_options else MISSING
            pattern, flags = _regex_parts(name, rx, opts)
            if _nullish(s) or pattern is None:
                return False if mode == "match" else None if mode == "find" else []
            if not isinstance(s, str):
                raise _fail(51104, f"{name} needs 'input' to be of type string")
            key = (pattern, flags)
            compiled = cache.get(key)
            if compiled is None:
                compiled = cache[key] = compile_pcre(pattern, flags, name)
            if mode == "match":
                return compiled.search(s) is not None
            if mode == "find":
                m = compiled.search(s)
                return None if m is None else _regex_result(m)
            return [_regex_result(m) for m in compiled.finditer(s)]

        return evaluate

    _OPERATORS[name] = compile_regex


def _regex_parts(name: str, rx: Any, opts: Any) -> tuple:
    if isinstance(rx, Regex):
        pattern, flags = rx.pattern, _regex_flag_string(rx.flags)
        if not _nullish(opts) and flags:
            raise _fail(51107, f"{name}: found regex option(s) specified in both 'regex' and 'option' fields")
    elif isinstance(rx, re.Pattern):
        pattern, flags = rx.pattern, _regex_flag_string(rx.flags)
    elif isinstance(rx, str):
        pattern, flags = rx, ""
    elif _nullish(rx):
        return None, ""
    else:
        raise _fail(51105, f"{name} needs 'regex' to be of type string or regex")
    if not _nullish(opts):
        if not isinstance(opts, str):
            raise _fail(51106, f"{name} needs 'options' to be of type string")
        flags = opts
    return pattern, flags  # compile_pcre checks NUL bytes, then the flags, as the server does


def _regex_flag_string(flags: Any) -> str:
    if isinstance(flags, str):
        return flags
    out = ""
    for bit, ch in ((re.I, "i"), (re.M, "m"), (re.S, "s"), (re.X, "x")):
        if flags & bit:
            out += ch
    return out


def _regex_result(m: re.Match) -> dict:
    return {"match": m.group(0), "idx": m.start(),
            "captures": [g for g in m.groups()]}


_regex_operator("$regexMatch", "match")
_regex_operator("$regexFind", "find")
_regex_operator("$regexFindAll", "all")


def _replace_operator(name: str, count: int):
    def compile_replace(spec, scope):
        _check_arguments(name, spec, ("input", "find", "replacement"), ("input", "find", "replacement"),
                         not_object=(51751, "{name} requires an object as an argument, found: {type}"),
                         unknown=(51750, "{name} found an unknown argument: {key}"),
                         missing=({"input": 51749, "find": 51748, "replacement": 51747},
                                  "{name} requires '{key}' to be specified"))
        fi, ff, fr = (_compile(spec[k], scope) for k in ("input", "find", "replacement"))

        def replace(doc, vars):
            values = (fi(doc, vars), ff(doc, vars), fr(doc, vars))
            for label, v, code in zip(("input", "find", "replacement"), values, (51746, 51745, 51744)):
                if not _nullish(v) and not isinstance(v, str):
                    raise _fail(code, f"{name} requires that '{label}' be a string, found: {_show(v)}")
            if any(_nullish(v) for v in values):
                return None
            s, find, repl = values
            return s.replace(find, repl, count) if count else s.replace(find, repl)

        return replace

    _OPERATORS[name] = compile_replace


_replace_operator("$replaceOne", 1)
_replace_operator("$replaceAll", 0)
