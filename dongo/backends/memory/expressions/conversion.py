"""Types and conversion: ``$type``, ``$isNumber``, ``$convert`` and the ``$toInt``-style shorthands.

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$toInt": "42"})({}, {})
    42
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.timestamp import Timestamp

from .. import bsontypes
from ..bsontypes import MISSING
from ..errors import BAD_VALUE, CONVERSION_FAILURE, FAILED_TO_PARSE, ServerError
from .core import (Evaluator, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, _args, _as_int, _check_arguments,
                   _compile, _date_to_ms, _dec, _DEC_CTX, _fail, _is_constant, _ms_to_date, _nullish, _num_kind,
                   _operator, _OPERATORS, _show, _simple, _to_datetime, _to_decimal, _to_float, truthy, _type_name)
from .strings import _number_to_string
from .date_strings import _format_date, _parse_date_string


_simple("$type", 1, _type_name, nulls=False)
_simple("$isNumber", 1, bsontypes.is_number, nulls=False)

_CONVERT_TARGETS = {"double": 1, "string": 2, "objectId": 7, "bool": 8, "date": 9, "int": 16, "long": 18,
                    "decimal": 19}
_TARGET_NAMES = {v: k for k, v in _CONVERT_TARGETS.items()}


class _ConversionError(Exception):
    """A value could not be converted; $convert turns it into onError or code 241."""


def _unsupported(v: Any, target: int) -> _ConversionError:
    target_name = "missing" if target == 0 else bsontypes.TYPE_NAMES.get(target, str(target))
    return _ConversionError(f"Unsupported conversion from {_type_name(v)} to {target_name}")


def _parse_integer(s: str, target: int) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        raise _ConversionError(f"Failed to parse number '{s}'")
    i = int(s)
    lo, hi = (INT32_MIN, INT32_MAX) if target == 16 else (INT64_MIN, INT64_MAX)
    if not lo <= i <= hi:
        raise _ConversionError(f"Failed to parse number '{s}': Overflow")
    return i


def _float_to_integer(f: float, target: int, original: Any) -> int:
    if math.isnan(f):
        raise _ConversionError("Attempt to convert NaN value to integer type")
    if math.isinf(f):
        raise _ConversionError("Attempt to convert infinity value to integer type")
    i = int(f)
    lo, hi = (INT32_MIN, INT32_MAX) if target == 16 else (INT64_MIN, INT64_MAX)
    if not lo <= i <= hi:
        raise _ConversionError(f"Conversion would overflow target type: {_show(original)}")
    return i


def _convert_value(v: Any, target: int) -> Any:
    """Convert a non-null value to BSON type number ``target`` (raises _ConversionError)."""
    k = _num_kind(v)
    if target == 8:  # bool
        if isinstance(v, bool):
            return v
        if k >= 0:
            return truthy(v)
        return True  # every other BSON type converts to true (docs: $toBool behaviour table)
    if target in (16, 18):  # int, long
        wrap = int if target == 16 else Int64
        if isinstance(v, bool):
            return wrap(int(v))
        if k in (0, 1):
            lo, hi = (INT32_MIN, INT32_MAX) if target == 16 else (INT64_MIN, INT64_MAX)
            if not lo <= int(v) <= hi:
                raise _ConversionError(f"Conversion would overflow target type: {_show(v)}")
            return wrap(int(v))
        if k == 2:
            return wrap(_float_to_integer(v, target, v))
        if k == 3:
            d = v.to_decimal()
            if d.is_nan():
                raise _ConversionError("Attempt to convert NaN value to integer type")
            if d.is_infinite():
                raise _ConversionError("Attempt to convert infinity value to integer type")
            i = int(d)
            lo, hi = (INT32_MIN, INT32_MAX) if target == 16 else (INT64_MIN, INT64_MAX)
            if not lo <= i <= hi:
                raise _ConversionError(f"Conversion would overflow target type: {_show(v)}")
            return wrap(i)
        if isinstance(v, str):
            return wrap(_parse_integer(v, target))
        if target == 18 and isinstance(v, _dt.datetime):
            return Int64(_date_to_ms(v))
        raise _unsupported(v, target)
    if target == 1:  # double
        if isinstance(v, bool):
            return float(v)
        if k >= 0:
            return _to_float(v)
        if isinstance(v, str):
            text = v.strip()
            if v != text or not re.fullmatch(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|"
                                            r"[Ii]nf(inity)?|[Nn]a[Nn])", v):
                raise _ConversionError(f"Failed to parse number '{v}'")
            return float(v)
        if isinstance(v, _dt.datetime):
            return float(_date_to_ms(v))
        raise _unsupported(v, target)
    if target == 19:  # decimal
        if isinstance(v, bool):
            return Decimal128(Decimal(int(v)))
        if k >= 0:
            return v if k == 3 else _dec(_to_decimal(v))
        if isinstance(v, str):
            try:
                d = _DEC_CTX.create_decimal(v)
            except InvalidOperation:
                raise _ConversionError(f"Failed to parse number '{v}'") from None
            if d.is_nan() and v.strip().lower() not in ("nan", "-nan"):
                raise _ConversionError(f"Failed to parse number '{v}'")
            return Decimal128(d)
        if isinstance(v, _dt.datetime):
            return Decimal128(Decimal(_date_to_ms(v)))
        raise _unsupported(v, target)
    if target == 2:  # string
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if k >= 0:
            return _number_to_string(v)
        if isinstance(v, ObjectId):
            return str(v)
        if isinstance(v, _dt.datetime):
            return _format_date(_to_datetime(v), "%Y-%m-%dT%H:%M:%S.%LZ", None)
        raise _unsupported(v, target)
    if target == 7:  # objectId
        if isinstance(v, ObjectId):
            return v
        if isinstance(v, str):
            if len(v) != 24:
                raise _ConversionError(f"Failed to parse objectId '{v}': Invalid string length for parsing "
                                       f"to OID, expected 24 but found {len(v)}")
            try:
                return ObjectId(v)
            except Exception:
                raise _ConversionError(f"Failed to parse objectId '{v}': Invalid character found in hex "
                                       "string") from None
        raise _unsupported(v, target)
    if target == 9:  # date
        if isinstance(v, _dt.datetime):
            return _to_datetime(v)
        if k in (1, 2, 3):
            f = _to_float(v)
            if math.isnan(f) or math.isinf(f):
                raise _ConversionError(f"Conversion would overflow target type: {_show(v)}")
            return _ms_to_date(int(v) if k == 1 else int(f))
        if isinstance(v, ObjectId):
            return v.generation_time.replace(tzinfo=None)
        if isinstance(v, Timestamp):
            return _ms_to_date(v.time * 1000)
        if isinstance(v, str):
            try:
                return _parse_date_string(v, None, None)
            except ServerError as exc:
                raise _ConversionError(exc.errmsg) from None
        raise _unsupported(v, target)
    raise _unsupported(v, target)


def _resolve_target(to: Any) -> int:
    """The BSON type number a ``to`` names (types that are no conversion target included)."""
    if isinstance(to, str):
        if to in _CONVERT_TARGETS:
            return _CONVERT_TARGETS[to]
        if to == "missing":
            return 0
        number = bsontypes.TYPE_ALIASES.get(to)
        if number is None or isinstance(number, frozenset):
            raise _fail(BAD_VALUE, f"Unknown type name: {to}")
        return number
    number = _as_int(to) if _num_kind(to) >= 0 else None
    if number is None or number not in bsontypes.TYPE_NAMES:
        raise _fail(FAILED_TO_PARSE, f"In $convert, numeric value for 'to' does not correspond to a BSON "
                                          f"type: {_show(to)}")
    return number


@_operator("$convert")
def _c_convert(spec, scope):
    _check_arguments("$convert", spec, ("input", "to", "onError", "onNull"), ("input", "to"),
                     not_object=(FAILED_TO_PARSE, "{name} expects an object of named arguments but found: {type}"),
                     unknown=(FAILED_TO_PARSE, "{name} found an unknown argument: {key}"),
                     missing=(FAILED_TO_PARSE, "Missing '{key}' parameter to {name}"))
    f_to = _compile(spec["to"], scope)
    fixed = _resolve_target(f_to.constant) if _is_constant(f_to) and not _nullish(f_to.constant) else None
    return _convert_evaluator(_compile(spec["input"], scope), fixed, f_to,
                              _compile(spec["onError"], scope) if "onError" in spec else None,
                              _compile(spec["onNull"], scope) if "onNull" in spec else None)


def _convert_evaluator(f_input, fixed_target, f_to, f_on_error, f_on_null) -> Evaluator:
    def convert(doc, vars):
        v = f_input(doc, vars)
        if v is None or v is MISSING:  # onNull wins even when 'to' is null (server jstest)
            return f_on_null(doc, vars) if f_on_null is not None else None
        target = fixed_target
        if target is None:
            to = f_to(doc, vars)
            if _nullish(to):
                return None
            target = _resolve_target(to)
        try:
            return _convert_value(v, target)
        except _ConversionError as exc:
            if f_on_error is not None:
                return f_on_error(doc, vars)
            raise _fail(CONVERSION_FAILURE, f"{exc} in $convert with no onError value") from None

    return convert


def _shorthand_convert(name: str, target: int) -> None:
    def compile_to(spec, scope):
        (f,) = _args(name, spec, scope, n=1)
        return _convert_evaluator(f, target, None, None, None)

    _OPERATORS[name] = compile_to


for _name, _target in (("$toInt", 16), ("$toLong", 18), ("$toDouble", 1), ("$toDecimal", 19),
                       ("$toString", 2), ("$toBool", 8), ("$toDate", 9), ("$toObjectId", 7)):
    _shorthand_convert(_name, _target)
