"""Arithmetic operators: ``$add`` ... ``$pow``, rounding, logarithms, trigonometry and bitwise.

Results follow the server's numeric typing (int32 -> long -> double widening,
decimal contagion); see the package docstring.

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> type(compile_expression({"$add": [2147483647, 1]})({}, {})).__name__
    'Int64'
"""

from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal
from typing import Any

from bson.int64 import Int64

from ..bsontypes import MISSING
from ..errors import BAD_VALUE, TYPE_MISMATCH
from .core import (INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, _args, _as_int, _as_int32, _constant, _date_to_ms,
                   _dec, _DEC_CTX, _fail, _int_result, _llround, _ms_to_date, _nullish, _num_kind, _operator,
                   _OPERATORS, _show, _simple, _to_decimal, _to_float, _type_name)


def _add_values(values: list, name: str = "$add") -> Any:
    """Sum numbers (and at most one date) left to right with the server's type widening.

    Like the server's AddState: integers add exactly until a long overflows
    (then the total becomes a double); once a double (or decimal) operand is
    met, the running total converts and later operands add in that type, in
    order (plain double addition, unlike $sum's compensated summation).
    """
    kind = 0
    total_int = 0
    total_float = 0.0
    total_dec = None
    date = None
    for v in values:
        k = _num_kind(v)
        if k < 0:
            if v is None or v is MISSING:
                return None
            if isinstance(v, _dt.datetime):
                if date is not None:
                    raise _fail(16612, "only one date allowed in an $add expression")
                date = v
                continue
            raise _fail(TYPE_MISMATCH, f"{name} only supports numeric or date types, not {_type_name(v)}")
        if k > kind:
            if k == 3:
                total_dec = _to_decimal(total_float) if kind == 2 else Decimal(total_int)
            elif k == 2:
                total_float = float(total_int)
            kind = k
        if kind == 3:
            total_dec = _DEC_CTX.add(total_dec, _to_decimal(v))
        elif kind == 2:
            total_float += float(v)
        else:
            total_int += int(v)
            if not INT64_MIN <= total_int <= INT64_MAX:
                kind = 2
                total_float = float(total_int)
    if date is not None:
        ms = total_int if kind <= 1 else total_float if kind == 2 else float(total_dec)
        if isinstance(ms, float):
            if not math.isfinite(ms):
                raise _fail(15, "date overflow")
            ms = _llround(ms)
        return _ms_to_date(_date_to_ms(date) + ms)
    if kind <= 1:
        return _int_result(total_int, kind)
    if kind == 2:
        return total_float
    return _dec(total_dec)


@_operator("$add")
def _c_add(spec, scope):
    fns = _args("$add", spec, scope)
    if len(fns) == 2:
        f0, f1 = fns

        def add2(doc, vars):
            a = f0(doc, vars)
            b = f1(doc, vars)
            if type(a) is int and type(b) is int:  # fast path: two int32s
                s = a + b
                if INT32_MIN <= a <= INT32_MAX and INT32_MIN <= b <= INT32_MAX:
                    return s if INT32_MIN <= s <= INT32_MAX else Int64(s)
            elif type(a) is float and type(b) is float:
                return a + b
            return _add_values([a, b])

        return add2
    return lambda doc, vars: _add_values([f(doc, vars) for f in fns])


def _subtract(a, b):
    ka, kb = _num_kind(a), _num_kind(b)
    if isinstance(a, _dt.datetime):
        if isinstance(b, _dt.datetime):
            return Int64(_date_to_ms(a) - _date_to_ms(b))
        if kb >= 0:
            ms = _llround(_to_float(b)) if kb >= 2 else int(b)
            return _ms_to_date(_date_to_ms(a) - ms)
        if kb < 0:
            raise _fail(TYPE_MISMATCH, f"can't $subtract {_type_name(b)} from Date")
    if ka < 0 or kb < 0:
        raise _fail(TYPE_MISMATCH, f"can't $subtract {_type_name(b)} from {_type_name(a)}")
    kind = max(ka, kb)
    if kind <= 1:
        return _int_result(int(a) - int(b), kind)
    if kind == 2:
        return float(a) - float(b)
    return _dec(_DEC_CTX.subtract(_to_decimal(a), _to_decimal(b)))


_simple("$subtract", 2, _subtract)


def _multiply_values(values: list) -> Any:
    kind = 0
    for v in values:
        k = _num_kind(v)
        if k < 0:
            if v is None or v is MISSING:
                return None
            raise _fail(TYPE_MISMATCH, f"$multiply only supports numeric types, not {_type_name(v)}")
        kind = max(kind, k)
    if kind <= 1:
        p = 1
        for v in values:
            p *= int(v)
        return _int_result(p, kind)
    if kind == 2:
        p = 1.0
        for v in values:
            p *= float(v)
        return p
    d = Decimal(1)
    for v in values:
        d = _DEC_CTX.multiply(d, _to_decimal(v))
    return _dec(d)


@_operator("$multiply")
def _c_multiply(spec, scope):
    fns = _args("$multiply", spec, scope)
    if len(fns) == 2:
        f0, f1 = fns

        def multiply2(doc, vars):
            a = f0(doc, vars)
            b = f1(doc, vars)
            ta, tb = type(a), type(b)
            if ta is float and (tb is float or tb is int):
                return a * b
            if tb is float and ta is int:
                return a * b
            return _multiply_values([a, b])

        return multiply2
    return lambda doc, vars: _multiply_values([f(doc, vars) for f in fns])


def _divide(a, b):
    ka, kb = _num_kind(a), _num_kind(b)
    if ka < 0 or kb < 0:
        raise _fail(TYPE_MISMATCH, f"$divide only supports numeric types, not {_type_name(a)} and "
                                   f"{_type_name(b)}")
    if ka == 3 or kb == 3:
        db = _to_decimal(b)
        if db == 0:
            raise _fail(BAD_VALUE, "can't $divide by zero")
        return _dec(_DEC_CTX.divide(_to_decimal(a), db))
    fb = float(b)
    if fb == 0:
        raise _fail(BAD_VALUE, "can't $divide by zero")
    return float(a) / fb


_simple("$divide", 2, _divide)


def _mod(a, b):
    ka, kb = _num_kind(a), _num_kind(b)
    if ka < 0 or kb < 0:
        raise _fail(16611, f"$mod only supports numeric types, not {_type_name(a)} and {_type_name(b)}")
    if kb == 2 and ka <= 1 and _as_int32(b) is not None:
        b, kb = int(b), 0  # an integral double divisor keeps the dividend's integer type (server jstest)
    kind = max(ka, kb)
    if kind == 3:
        db = _to_decimal(b)
        if db == 0:
            raise _fail(16610, "can't $mod by zero")
        return _dec(_DEC_CTX.remainder(_to_decimal(a), db))
    if kind == 2:
        if float(b) == 0:
            raise _fail(16610, "can't $mod by zero")
        return math.fmod(float(a), float(b))
    ia, ib = int(a), int(b)
    if ib == 0:
        raise _fail(16610, "can't $mod by zero")
    r = abs(ia) % abs(ib)  # C semantics: the remainder takes the dividend's sign
    return _int_result(-r if ia < 0 else r, kind)


_simple("$mod", 2, _mod)


def _unary_numeric(name: str, int_fn, float_fn, dec_fn) -> None:
    def fn(v):
        k = _num_kind(v)
        if k < 0:
            raise _fail(28765, f"{name} only supports numeric types, not {_type_name(v)}")
        if k <= 1:
            return int_fn(int(v), k)
        if k == 2:
            return float_fn(v)
        return dec_fn(v.to_decimal())

    _simple(name, 1, fn)


def _abs_int(i, k):
    if i == INT64_MIN:
        raise _fail(28680, "can't take $abs of long long min")
    return _int_result(abs(i), k)


_unary_numeric("$abs", _abs_int, abs, lambda d: _dec(abs(d)))
_unary_numeric("$ceil", lambda i, k: _int_result(i, k), lambda f: float(math.ceil(f)) if math.isfinite(f) else f,
               lambda d: _dec(d.to_integral_value(rounding="ROUND_CEILING")))
_unary_numeric("$floor", lambda i, k: _int_result(i, k), lambda f: float(math.floor(f)) if math.isfinite(f) else f,
               lambda d: _dec(d.to_integral_value(rounding="ROUND_FLOOR")))
_unary_numeric("$exp", lambda i, k: math.exp(i), lambda f: math.exp(f) if f < 709.8 else math.inf,
               lambda d: _dec(_DEC_CTX.exp(d)))


def _checked_log(name: str, code: int, fn, dec_fn) -> None:
    def compute(v):
        k = _num_kind(v)
        if k < 0:
            raise _fail(28765, f"{name} only supports numeric types, not {_type_name(v)}")
        if k == 3:
            d = v.to_decimal()
            if not d > 0 and not d.is_nan():
                raise _fail(code, f"{name}'s argument must be a positive number, but is {_show(v)}")
            return _dec(dec_fn(d))
        f = float(v)
        if math.isnan(f):
            return f
        if f <= 0:
            raise _fail(code, f"{name}'s argument must be a positive number, but is {_show(v)}")
        return fn(f)

    _simple(name, 1, compute)


_checked_log("$ln", 28766, math.log, _DEC_CTX.ln)
_checked_log("$log10", 28761, math.log10, _DEC_CTX.log10)


def _sqrt(v):
    k = _num_kind(v)
    if k < 0:
        raise _fail(28765, f"$sqrt only supports numeric types, not {_type_name(v)}")
    if k == 3:
        d = v.to_decimal()
        if d < 0:
            raise _fail(28714, "$sqrt's argument must be greater than or equal to 0")
        return _dec(_DEC_CTX.sqrt(d))
    f = float(v)
    if f < 0:
        raise _fail(28714, "$sqrt's argument must be greater than or equal to 0")
    return math.sqrt(f)


_simple("$sqrt", 1, _sqrt)


def _log(x, base):
    kx, kb = _num_kind(x), _num_kind(base)
    if kx < 0:
        raise _fail(28756, f"$log's argument must be numeric, not {_type_name(x)}")
    if kb < 0:
        raise _fail(28757, f"$log's base must be numeric, not {_type_name(base)}")
    if kx == 3 or kb == 3:
        dx, db = _to_decimal(x), _to_decimal(base)
        if dx <= 0:
            raise _fail(28758, f"$log's argument must be a positive number, but is {_show(x)}")
        if db <= 0 or db == 1:
            raise _fail(28759, f"$log's base must be a positive number not equal to 1, but is {_show(base)}")
        return _dec(_DEC_CTX.divide(_DEC_CTX.ln(dx), _DEC_CTX.ln(db)))
    fx, fb = float(x), float(base)
    if fx <= 0:
        raise _fail(28758, f"$log's argument must be a positive number, but is {_show(x)}")
    if fb <= 0 or fb == 1:
        raise _fail(28759, f"$log's base must be a positive number not equal to 1, but is {_show(base)}")
    return math.log(fx) / math.log(fb)


_simple("$log", 2, _log)


def _pow(base, exp):
    kb, ke = _num_kind(base), _num_kind(exp)
    if kb < 0:
        raise _fail(28762, f"$pow's base must be numeric, not {_type_name(base)}")
    if ke < 0:
        raise _fail(28763, f"$pow's exponent must be numeric, not {_type_name(exp)}")
    if _to_float(base) == 0 and _to_float(exp) < 0:
        raise _fail(28764, "$pow cannot take a base of 0 and a negative exponent")
    kind = max(kb, ke)
    if kind == 3:
        return _dec(_DEC_CTX.power(_to_decimal(base), _to_decimal(exp)))
    if kind <= 1:
        b, e = int(base), int(exp)
        if e >= 0:
            return _int_result(b ** e, kind) if abs(b) < 2 or e < 64 else float(b) ** e
        if b == 1:
            return _int_result(1, kind)
        if b == -1:
            return _int_result(1 if e % 2 == 0 else -1, kind)
        return float(b) ** e
    try:
        return float(base) ** float(exp)
    except OverflowError:
        return math.inf
    except (ValueError, ZeroDivisionError):
        return math.nan


_simple("$pow", 2, _pow)


def _compile_rounding(name: str, mode: str):
    def compile_round(spec, scope):
        fns = _args(name, spec, scope, lo=1, hi=2)
        value_fn = fns[0]
        place_fn = fns[1] if len(fns) > 1 else _constant(0)

        def evaluate(doc, vars):
            v = value_fn(doc, vars)
            p = place_fn(doc, vars)
            if _nullish(v) or _nullish(p):
                return None
            if _num_kind(p) < 0 or _as_int(p) is None:
                raise _fail(51082, f"precision argument to {name} must be a integral value")
            place = _as_int(p)
            if not -20 <= place <= 100:
                raise _fail(51083, f"cannot apply {name} with precision value {place} value must be in "
                                   "[-20, 100]")
            k = _num_kind(v)
            if k < 0:
                raise _fail(51081, f"{name} only supports numeric types, not {_type_name(v)}")
            if k <= 1:
                if place >= 0:
                    return v
                q = int(Decimal(int(v)).quantize(Decimal(1).scaleb(-place), rounding=mode, context=_DEC_CTX))
                if not INT64_MIN <= q <= INT64_MAX:
                    raise _fail(51080, f"invalid conversion from Decimal128 result in {name} resulting from "
                                       f"arguments: [{int(v)}, {place}]")
                return _int_result(q, k)
            if k == 2 and not math.isfinite(v):
                return v
            # A double becomes Decimal128(double, kRoundTo34Digits) first, like on the server:
            # 2.675 is really 2.67499999..., so it rounds to 2.67.
            d = v.to_decimal() if k == 3 else _DEC_CTX.create_decimal(Decimal(float(v)))
            if not d.is_finite():
                return v
            # Never more than the 34 significant digits a Decimal128 holds.
            exponent = max(-place, d.adjusted() - 33) if d else -place
            q = d.quantize(Decimal(1).scaleb(exponent), rounding=mode, context=_DEC_CTX)
            return _dec(q) if k == 3 else float(q)

        return evaluate

    _OPERATORS[name] = compile_round


_compile_rounding("$round", "ROUND_HALF_EVEN")
_compile_rounding("$trunc", "ROUND_DOWN")


def _trig(name: str, fn, domain=None):
    def compute(v):
        k = _num_kind(v)
        if k < 0:
            raise _fail(28765, f"{name} only supports numeric types, not {_type_name(v)}")
        f = _to_float(v)
        if domain is not None and not math.isnan(f) and not domain(f):
            raise _fail(50989, f"cannot apply {name} to {_show(v)}, value must be in the valid range")
        r = fn(f)
        return _dec(_to_decimal(r)) if k == 3 else r

    _simple(name, 1, compute)


for _name, _fn, _domain in (
    ("$sin", math.sin, math.isfinite), ("$cos", math.cos, math.isfinite), ("$tan", math.tan, math.isfinite),
    ("$asin", math.asin, lambda f: -1 <= f <= 1), ("$acos", math.acos, lambda f: -1 <= f <= 1),
    ("$atan", math.atan, None), ("$asinh", math.asinh, None), ("$acosh", math.acosh, lambda f: f >= 1),
    ("$atanh", math.atanh, lambda f: -1 <= f <= 1), ("$sinh", math.sinh, None), ("$cosh", math.cosh, None),
    ("$tanh", math.tanh, None), ("$degreesToRadians", math.radians, None), ("$radiansToDegrees", math.degrees, None),
):
    _trig(_name, _fn, _domain)


def _atan2(y, x):
    if _num_kind(y) < 0 or _num_kind(x) < 0:
        raise _fail(51044, f"$atan2 only supports numeric types, not {_type_name(y)} and {_type_name(x)}")
    r = math.atan2(_to_float(y), _to_float(x))
    return _dec(_to_decimal(r)) if 3 in (_num_kind(y), _num_kind(x)) else r


_simple("$atan2", 2, _atan2)

def _bitwise(name: str, combine) -> None:
    """$bitAnd/$bitOr/$bitXor (7.0): int and long operands only (TypeMismatch otherwise)."""

    def compile_bitwise(spec, scope):
        fns = _args(name, spec, scope)

        def bitwise(doc, vars):
            kind, result = 0, None
            for f in fns:
                v = f(doc, vars)
                if v is None or v is MISSING:
                    return None
                k = _num_kind(v)
                if k not in (0, 1):
                    raise _fail(TYPE_MISMATCH, f"{name} only supports int and long operands.")
                kind = max(kind, k)
                result = int(v) if result is None else combine(result, int(v))
            if result is None:
                return {"$bitAnd": -1}.get(name, 0)
            return Int64(result) if kind == 1 else result

        return bitwise

    _OPERATORS[name] = compile_bitwise


_bitwise("$bitAnd", lambda a, b: a & b)
_bitwise("$bitOr", lambda a, b: a | b)
_bitwise("$bitXor", lambda a, b: a ^ b)


def _bit_not(v):
    k = _num_kind(v)
    if k not in (0, 1):
        raise _fail(TYPE_MISMATCH, f"$bitNot only supports int and long operands.")
    return Int64(~int(v)) if k == 1 else ~int(v)


_simple("$bitNot", 1, _bit_not)
