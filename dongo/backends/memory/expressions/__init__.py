"""Aggregation expressions, compiled once into closures.

An aggregation expression (``{"$add": ["$price", 1]}``, ``"$a.b"``,
``"$$ROOT"``, a literal ...) is compiled by :func:`compile_expression` into a
Python callable ``evaluate(doc, variables) -> value``.  All validation that a
server performs while *parsing* a pipeline (unknown operators, arity,
undefined variables, malformed operator arguments) happens at compile time, so
errors surface even when no document is ever evaluated.

    >>> f = compile_expression({"$multiply": ["$price", "$qty"]})
    >>> f({"price": 3, "qty": 4}, {})
    12

``variables`` passed at evaluation time maps user variable names (without the
``$$``) to values; the builtin ``NOW``/``CLUSTER_TIME``/``ROOT`` may also be
supplied there (``run_pipeline`` does).  A missing field evaluates to
:data:`bsontypes.MISSING`; callers decide what missing means ($project and
$addFields omit the field, $group turns it into null).

Numbers follow the server's typing: ``int`` in the int32 range is an int32,
``bson.int64.Int64`` (or a Python int outside the int32 range) is a long,
``float`` a double and ``Decimal128`` a decimal.  Integer arithmetic widens
int32 -> long -> double on overflow; any decimal operand makes a decimal
result computed with a 34-digit context.

:func:`compile_accumulator` builds the ``$group`` accumulators
(``$sum``, ``$push``, ``$topN`` ...): objects with ``add(doc, vars)`` and
``result()``.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import math
import random
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from bson import Regex
from bson.binary import Binary
from bson.code import Code
from bson.decimal128 import Decimal128, create_decimal128_context
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.timestamp import Timestamp

from .. import bsontypes
from ..bsontypes import MISSING
from ..errors import (BAD_VALUE, CONVERSION_FAILURE, FAILED_TO_PARSE, INVALID_PIPELINE_OPERATOR, TYPE_MISMATCH,
                     ServerError)

__all__ = ["compile_expression", "compile_accumulator", "ACCUMULATORS", "truthy", "is_operator_object"]

Evaluator = Callable[[Any, dict], Any]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DEC_CTX = create_decimal128_context()
_EPOCH = _dt.datetime(1970, 1, 1)
_UTC = _dt.timezone.utc
_MS = _dt.timedelta(milliseconds=1)

# Variables every expression may use without declaring them.
_BUILTIN_VARIABLES = frozenset(
    {"ROOT", "CURRENT", "NOW", "CLUSTER_TIME", "REMOVE", "DESCEND", "PRUNE", "KEEP",
     "SEARCH_META", "USER_ROLES"}
)

# ---------------------------------------------------------------------------
# Small value helpers shared by the operators
# ---------------------------------------------------------------------------


def _fail(code: int, msg: str) -> ServerError:
    return ServerError(code, msg)


def _nullish(v: Any) -> bool:
    """True for null and missing, the values most operators propagate as null."""
    return v is None or v is MISSING


def truthy(v: Any) -> bool:
    """The aggregation truthiness: false, null, missing, undefined and 0 are false."""
    if v is None or v is MISSING or v is False:
        return False
    t = type(v)
    if t is int or t is float or t is Int64:
        return v != 0
    if t is Decimal128:
        return v.to_decimal() != 0
    if t is bool:
        return v
    return True


def _type_name(v: Any) -> str:
    return "missing" if v is MISSING else bsontypes.type_name(v)


def _num_kind(v: Any) -> int:
    """0 int32, 1 long, 2 double, 3 decimal; -1 for a non-number (bool is not a number)."""
    t = type(v)
    if t is int:
        return 0 if INT32_MIN <= v <= INT32_MAX else 1
    if t is float:
        return 2
    if t is Int64:
        return 1
    if t is Decimal128:
        return 3
    return -1


def _int_result(x: int, kind: int) -> Any:
    """An exact integer result of an operation whose widest operand is ``kind``."""
    if kind == 0 and INT32_MIN <= x <= INT32_MAX:
        return x
    if INT64_MIN <= x <= INT64_MAX:
        return Int64(x)
    return float(x)


def _to_decimal(v: Any) -> Decimal:
    """A number as a :class:`Decimal` (doubles rounded to 15 digits like the server)."""
    t = type(v)
    if t is Decimal128:
        return v.to_decimal()
    if t is float:
        if math.isnan(v) or math.isinf(v):
            return Decimal(v)
        return _DEC_CTX.create_decimal(format(v, ".14e"))
    return Decimal(int(v))


def _dec(x: Decimal) -> Decimal128:
    return Decimal128(_DEC_CTX.create_decimal(x))


def _to_float(v: Any) -> float:
    if type(v) is Decimal128:
        return float(v.to_decimal())
    return float(v)


def _as_int(v: Any) -> int | None:
    """``v`` as an exact integer when it is a number with an integral value, else None."""
    k = _num_kind(v)
    if k in (0, 1):
        return int(v)
    if k == 2:
        return int(v) if math.isfinite(v) and v == int(v) else None
    if k == 3:
        d = v.to_decimal()
        return int(d) if d.is_finite() and d == d.to_integral_value() else None
    return None


def _as_int32(v: Any) -> int | None:
    i = _as_int(v)
    return i if i is not None and INT32_MIN <= i <= INT32_MAX else None


def _to_datetime(v: Any) -> _dt.datetime:
    """A naive UTC datetime, truncated to milliseconds like BSON stores it."""
    if v.tzinfo is not None:
        v = v.astimezone(_UTC).replace(tzinfo=None)
    if v.microsecond % 1000:
        v = v.replace(microsecond=v.microsecond - v.microsecond % 1000)
    return v


def _llround(x: float) -> int:
    """C's llround: halves round away from zero (Python's round() rounds them to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _date_to_ms(v: _dt.datetime) -> int:
    return (_to_datetime(v) - _EPOCH) // _MS


def _ms_to_date(ms: int) -> _dt.datetime:
    try:
        return _EPOCH + _dt.timedelta(milliseconds=ms)
    except OverflowError:
        raise _fail(15, "date overflow: the memory engine supports years 1 to 9999") from None


# ---------------------------------------------------------------------------
# Compilation core
# ---------------------------------------------------------------------------

_OPERATORS: dict[str, Callable[[Any, frozenset], Evaluator]] = {}


def _operator(*names: str):
    """Register the compile function of one or more ``$`` operators."""

    def register(fn):
        for name in names:
            _OPERATORS[name] = fn
        return fn

    return register


def is_operator_object(value: Any) -> bool:
    """True for a document whose first key is a ``$`` operator (``{"$add": ...}``)."""
    if isinstance(value, dict) and value:
        return next(iter(value)).startswith("$")
    return False


# The collation of the expression being compiled: (Collation, key function) or None.
# Comparison operators read it at compile time and close over it.
_COLLATION: contextvars.ContextVar = contextvars.ContextVar("dongo_expression_collation", default=None)


def _with_collation(collation: Any, compile_fn: Callable[[], Any]) -> Any:
    """Run ``compile_fn`` with ``collation`` (a spec or parsed Collation) as the compile-time collation."""
    if collation is None:
        return compile_fn()
    from ..collation import parse_collation, sort_key_for

    parsed = parse_collation(collation)
    token = _COLLATION.set((parsed, sort_key_for(parsed)) if parsed is not None else None)
    try:
        return compile_fn()
    finally:
        _COLLATION.reset(token)


def _value_key() -> Callable[[Any], tuple]:
    """The equality/order key of values under the compile-time collation (BSON order without one)."""
    current = _COLLATION.get()
    return current[1] if current is not None else bsontypes.sort_key


def compile_expression(expr: Any, *, variables: frozenset | set = frozenset(),
                       collation: Any = None) -> Evaluator:
    """Compile an aggregation expression into ``evaluate(doc, vars) -> value``.

    ``variables`` names the user variables in scope (``let`` of the command);
    using any other ``$$name`` raises code 17276 at compile time.  With a
    ``collation`` (spec or parsed), string comparisons in ``$eq``/``$cmp``/...,
    ``$in``, ``$indexOfArray``, the set operators, ``$min``/``$max`` and
    ``$sortArray`` follow it, as on a server.

        >>> compile_expression({"$concat": ["$first", " ", "$last"]})(
        ...     {"first": "Ada", "last": "Lovelace"}, {})
        'Ada Lovelace'

    Complexity: compiling is linear in the size of ``expr``; evaluation does no
    parsing or validation.
    """
    return _with_collation(collation, lambda: _compile(expr, frozenset(variables)))


def _compile(expr: Any, scope: frozenset) -> Evaluator:
    if isinstance(expr, str):
        if expr.startswith("$$"):
            return _compile_variable(expr[2:], scope)
        if expr.startswith("$"):
            return _compile_field_path(expr[1:])
        return _constant(expr)
    if isinstance(expr, dict):
        return _compile_object(expr, scope)
    if isinstance(expr, (list, tuple)):
        return _compile_array(expr, scope)
    return _constant(expr)


def _constant(value: Any) -> Evaluator:
    def constant(doc, vars, value=value):
        return value

    constant.constant = value  # lets operators fold or validate constant arguments
    return constant


def _is_constant(fn: Evaluator) -> bool:
    return hasattr(fn, "constant")


def _compile_array(items, scope: frozenset) -> Evaluator:
    fns = [_compile(item, scope) for item in items]
    if all(_is_constant(f) for f in fns):
        values = [None if f.constant is MISSING else f.constant for f in fns]
        return lambda doc, vars: list(values)

    def array(doc, vars):
        out = []
        for f in fns:
            v = f(doc, vars)
            out.append(None if v is MISSING else v)  # missing array elements become null
        return out

    return array


def _compile_object(spec: dict, scope: frozenset) -> Evaluator:
    if not spec:
        return lambda doc, vars: {}
    first = next(iter(spec))
    if first.startswith("$"):
        if len(spec) != 1:
            raise _fail(15983, "an expression specification must contain exactly one field, the name "
                               f"of the expression. Found {len(spec)} fields in {_show(spec)}")
        compile_op = _OPERATORS.get(first)
        if compile_op is None:
            raise _fail(INVALID_PIPELINE_OPERATOR, f"Unrecognized expression '{first}'")
        return compile_op(spec[first], scope)
    fields = []
    for key, value in spec.items():
        _check_field_name(key)
        fields.append((key, _compile(value, scope)))

    def obj(doc, vars):
        out = {}
        for key, f in fields:
            v = f(doc, vars)
            if v is not MISSING:
                out[key] = v
        return out

    return obj


def _check_field_name(key: str) -> None:
    if key.startswith("$"):
        raise _fail(16410, f"FieldPath field names may not start with '$'. Consider using $getField or $setField.")
    if "." in key:
        raise _fail(16412, "FieldPath field names may not contain '.'. Consider using $getField or $setField.")
    if not key:
        raise _fail(16411, "FieldPath field names may not be empty strings.")


def _show(value: Any) -> str:
    """A short rendering of a value for error messages."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, list):
        return "[ " + ", ".join(_show(v) for v in value) + " ]" if value else "[]"
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


# --- field paths -----------------------------------------------------------


def _split_field_path(path: str) -> list[str]:
    if not path:
        raise _fail(16872, "'$' by itself is not a valid FieldPath")
    parts = path.split(".")
    for part in parts:
        if not part:
            raise _fail(15998, "FieldPath field names may not be empty strings.")
        if part.startswith("$"):
            raise _fail(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
    return parts


def _walk(value: Any, parts: list[str], i: int) -> Any:
    """Follow ``parts[i:]`` from ``value`` with aggregation semantics.

    An array along the way maps the rest of the path over its documents
    (other elements, nested arrays included, are skipped, and so are documents
    where the path is missing), so ``$a.b`` on ``{a: [{b: 1}, {b: 2}]}`` is
    ``[1, 2]``.  Numeric components are field names, never array indexes.
    """
    n = len(parts)
    while i < n:
        if isinstance(value, dict):
            value = value.get(parts[i], MISSING)
            if value is MISSING:
                return MISSING
            i += 1
        elif isinstance(value, list):
            return _walk_array(value, parts, i)
        else:
            return MISSING
    return value


def _walk_array(arr: list, parts: list[str], i: int) -> list:
    out = []
    for el in arr:
        if isinstance(el, dict):
            v = el.get(parts[i], MISSING)
            if v is not MISSING:
                v = _walk(v, parts, i + 1)
                if v is not MISSING:
                    out.append(v)
        # Non-documents (scalars and nested arrays) contribute nothing, as in the server's
        # ExpressionFieldPath::evaluatePathArray.
    return out


def _compile_field_path(path: str) -> Evaluator:
    parts = _split_field_path(path)
    if len(parts) == 1:
        key = parts[0]

        def top_field(doc, vars):
            return doc.get(key, MISSING)

        top_field.field_path = path
        return top_field
    if len(parts) == 2:
        k0, k1 = parts

        def two_fields(doc, vars):
            v = doc.get(k0, MISSING)
            if type(v) is dict:
                return v.get(k1, MISSING)
            return _walk(v, parts, 1) if v is not MISSING else MISSING

        two_fields.field_path = path
        return two_fields

    def field(doc, vars):
        return _walk(doc, parts, 0)

    field.field_path = path
    return field


# --- variables ---------------------------------------------------------------

_VARIABLE_NAME = re.compile(r"^[a-z\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*$")


def validate_variable_name(name: str) -> None:
    """Raise the server's error for a user variable name it would refuse."""
    if not name:
        raise _fail(16866, "empty variable names are not allowed")
    if not (name[0].islower() and name[0].isascii() or not name[0].isascii()):
        raise _fail(16867, f"'{name}' starts with an invalid character for a user variable name")
    for ch in name[1:]:
        if not (ch.isascii() and (ch.isalnum() or ch == "_") or not ch.isascii()):
            raise _fail(16868, f"'{name}' contains an invalid character for a variable name: '{ch}'")


def now_datetime() -> _dt.datetime:
    """The current time as BSON stores it: naive UTC, millisecond precision."""
    return _to_datetime(_dt.datetime.now(_UTC))


def _compile_variable(text: str, scope: frozenset) -> Evaluator:
    name, _, rest = text.partition(".")
    parts = _split_field_path(rest) if rest else []
    if name not in scope and name not in _BUILTIN_VARIABLES:
        if not name:
            raise _fail(16869, "empty variable names are not allowed")
        raise _fail(17276, f"Use of undefined variable: {name}")
    if name == "REMOVE":
        return lambda doc, vars: MISSING
    if name in ("DESCEND", "PRUNE", "KEEP"):
        return _constant(name)
    if name == "CURRENT" and name not in scope:
        base = lambda doc, vars: vars.get("CURRENT", doc)  # noqa: E731
    elif name == "ROOT":
        base = lambda doc, vars: vars.get("ROOT", doc)  # noqa: E731
    elif name == "NOW":
        base = lambda doc, vars: vars["NOW"] if "NOW" in vars else now_datetime()  # noqa: E731
    elif name == "CLUSTER_TIME":
        def base(doc, vars):
            if "CLUSTER_TIME" in vars:
                return vars["CLUSTER_TIME"]
            return Timestamp(int(_dt.datetime.now(_UTC).timestamp()), 1)
    elif name in ("SEARCH_META", "USER_ROLES") and name not in scope:
        raise NotImplementedError(f"$${name} is not supported by the memory engine")
    else:
        base = lambda doc, vars: vars.get(name, MISSING)  # noqa: E731
    if not parts:
        return base
    return lambda doc, vars: _walk(base(doc, vars), parts, 0)


# --- argument helpers ----------------------------------------------------------


def _arg_list(spec: Any) -> list:
    """Operator arguments: an array is the argument list, anything else one argument."""
    if isinstance(spec, (list, tuple)):
        return list(spec)
    return [spec]


def _args(name: str, spec: Any, scope: frozenset, n: int | None = None,
          lo: int | None = None, hi: int | None = None) -> list[Evaluator]:
    """Compile an operator's positional arguments, checking the server's arity rules."""
    items = _arg_list(spec)
    if n is not None and len(items) != n:
        raise _fail(16020, f"Expression {name} takes exactly {n} arguments. {len(items)} were passed in.")
    if lo is not None and len(items) < lo:
        if hi is None:
            raise _fail(16021, f"Expression {name} takes at least {lo} arguments, "
                               f"and {len(items)} were passed in.")
        raise _fail(28667, f"Expression {name} takes at least {lo} arguments, and at most {hi}, "
                           f"but {len(items)} were passed in.")
    if hi is not None and len(items) > hi:
        raise _fail(28667, f"Expression {name} takes at least {lo or 0} arguments, and at most {hi}, "
                           f"but {len(items)} were passed in.")
    return [_compile(item, scope) for item in items]


def _simple(name: str, n: int, fn: Callable, *, nulls: bool = True) -> None:
    """Register an operator of ``n`` positional arguments computed by ``fn(*values)``.

    With ``nulls`` the result is null as soon as one argument is null/missing.
    """

    def compile_simple(spec, scope):
        fns = _args(name, spec, scope, n=n)
        if n == 1:
            (f,) = fns
            if nulls:
                def one(doc, vars):
                    v = f(doc, vars)
                    return None if v is None or v is MISSING else fn(v)
                return one
            return lambda doc, vars: fn(f(doc, vars))
        if n == 2:
            f0, f1 = fns
            if nulls:
                def two(doc, vars):
                    a = f0(doc, vars)
                    b = f1(doc, vars)
                    if a is None or a is MISSING or b is None or b is MISSING:
                        return None
                    return fn(a, b)
                return two
            return lambda doc, vars: fn(f0(doc, vars), f1(doc, vars))

        def many(doc, vars):
            values = [f(doc, vars) for f in fns]
            if nulls and any(v is None or v is MISSING for v in values):
                return None
            return fn(*values)

        return many

    _OPERATORS[name] = compile_simple


# ---------------------------------------------------------------------------
# Literals, variables, JavaScript
# ---------------------------------------------------------------------------


@_operator("$literal")
def _c_literal(spec, scope):
    return _constant(spec)


@_operator("$let")
def _c_let(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(16874, "$let only supports an object as its argument")
    for key in spec:
        if key not in ("vars", "in"):
            raise _fail(16875, f"Unrecognized parameter to $let: {key}")
    if "vars" not in spec:
        raise _fail(16876, "Missing 'vars' parameter to $let")
    if "in" not in spec:
        raise _fail(16877, "Missing 'in' parameter to $let")
    if not isinstance(spec["vars"], dict):
        raise _fail(10065, f"invalid parameter: expected an object (vars)")
    bindings = []
    for name, value in spec["vars"].items():
        validate_variable_name(name)
        bindings.append((name, _compile(value, scope)))  # evaluated in the outer scope
    body = _compile(spec["in"], scope | {name for name, _ in bindings})

    def let(doc, vars):
        inner = dict(vars)
        for name, f in bindings:
            inner[name] = f(doc, vars)
        return body(doc, inner)

    return let


def _reject_javascript(name):
    def compile_js(spec, scope):
        raise _fail(31264, f"{name} is not allowed: the memory engine never executes server-side JavaScript")
    return compile_js


# ($where is a query operator, not an expression: {$expr: {$where: ...}} is code 168 like on a server.)
for _js in ("$function", "$accumulator"):
    _OPERATORS[_js] = _reject_javascript(_js)


@_operator("$rand")
def _c_rand(spec, scope):
    if spec != {}:
        raise _fail(3040501, "$rand does not currently accept arguments")
    return lambda doc, vars: random.random()


@_operator("$meta")
def _c_meta(spec, scope):
    raise NotImplementedError(f"$meta ({spec!r}) is not supported by the memory engine")


# ---------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------


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

# ---------------------------------------------------------------------------
# Comparison and boolean logic
# ---------------------------------------------------------------------------


_PLAIN_NUMBERS = (int, float)  # exact types only: bool and Int64 take the general path


def _comparison(name: str, test) -> None:
    def compile_cmp(spec, scope):
        f0, f1 = _args(name, spec, scope, n=2)
        if _COLLATION.get() is not None:
            key = _value_key()

            def collated(doc, vars):
                ka = key(f0(doc, vars))
                kb = key(f1(doc, vars))
                return test((ka > kb) - (ka < kb))

            return collated

        def evaluate(doc, vars):
            a = f0(doc, vars)
            b = f1(doc, vars)
            ta = type(a)
            # Fast path: same-kind scalars whose Python order is the BSON order
            # (str code points order like UTF-8 bytes; NaN is excluded).
            if (ta is type(b) and (ta is int or ta is str)) or (
                    ta in _PLAIN_NUMBERS and type(b) in _PLAIN_NUMBERS and a == a and b == b):
                return test((a > b) - (a < b))
            # A missing value compares below null (MinKey < missing < null), not as null.
            return test(bsontypes.compare(a, b))

        return evaluate

    _OPERATORS[name] = compile_cmp


_comparison("$eq", lambda c: c == 0)
_comparison("$ne", lambda c: c != 0)
_comparison("$gt", lambda c: c > 0)
_comparison("$gte", lambda c: c >= 0)
_comparison("$lt", lambda c: c < 0)
_comparison("$lte", lambda c: c <= 0)
_comparison("$cmp", lambda c: (c > 0) - (c < 0))


@_operator("$and")
def _c_and(spec, scope):
    fns = _args("$and", spec, scope)
    return lambda doc, vars: all(truthy(f(doc, vars)) for f in fns)


@_operator("$or")
def _c_or(spec, scope):
    fns = _args("$or", spec, scope)
    return lambda doc, vars: any(truthy(f(doc, vars)) for f in fns)


@_operator("$not")
def _c_not(spec, scope):
    (f,) = _args("$not", spec, scope, n=1)
    return lambda doc, vars: not truthy(f(doc, vars))


# ---------------------------------------------------------------------------
# Conditionals
# ---------------------------------------------------------------------------


@_operator("$cond")
def _c_cond(spec, scope):
    if isinstance(spec, dict):
        for key in spec:
            if key not in ("if", "then", "else"):
                raise _fail(17083, f"Unrecognized parameter to $cond: {key}")
        for key, code in (("if", 17080), ("then", 17081), ("else", 17082)):
            if key not in spec:
                raise _fail(code, f"Missing '{key}' parameter to $cond")
        items = [spec["if"], spec["then"], spec["else"]]
    else:
        items = spec
    f_if, f_then, f_else = _args("$cond", items, scope, n=3)

    def cond(doc, vars):
        return f_then(doc, vars) if truthy(f_if(doc, vars)) else f_else(doc, vars)

    return cond


@_operator("$ifNull")
def _c_if_null(spec, scope):
    items = _arg_list(spec)
    if len(items) < 2:
        raise _fail(1257300, f"$ifNull needs at least two arguments, had: {len(items)}")
    fns = [_compile(item, scope) for item in items]
    head, last = fns[:-1], fns[-1]

    def if_null(doc, vars):
        for f in head:
            v = f(doc, vars)
            if v is not None and v is not MISSING:
                return v
        return last(doc, vars)

    return if_null


@_operator("$switch")
def _c_switch(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(40060, "$switch requires an object as an argument, found: " + _type_name(spec))
    branches = []
    default = None
    for key, value in spec.items():
        if key == "branches":
            if not isinstance(value, list):
                raise _fail(40061, "$switch expected an array for 'branches', found: " + _type_name(value))
            for branch in value:
                if not isinstance(branch, dict):
                    raise _fail(40062, "$switch expected each branch to be an object, found: "
                                + _type_name(branch))
                for bkey in branch:
                    if bkey not in ("case", "then"):
                        raise _fail(40063, f"$switch found an unknown argument to a branch: {bkey}")
                if "case" not in branch:
                    raise _fail(40064, "$switch requires each branch have a 'case' expression")
                if "then" not in branch:
                    raise _fail(40065, "$switch requires each branch have a 'then' expression.")
                branches.append((_compile(branch["case"], scope), _compile(branch["then"], scope)))
        elif key == "default":
            default = _compile(value, scope)
        else:
            raise _fail(40067, f"$switch found an unknown argument: {key}")
    if not branches:
        raise _fail(40068, "$switch requires at least one branch.")

    def switch(doc, vars):
        for case, then in branches:
            if truthy(case(doc, vars)):
                return then(doc, vars)
        if default is None:
            raise _fail(40066, "$switch could not find a matching branch for an input, and no default was specified.")
        return default(doc, vars)

    return switch


# ---------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------


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
        if not isinstance(spec, dict):
            raise _fail(51103, f"{name} expects an object of named arguments but found: {_type_name(spec)}")
        for key in spec:
            if key not in ("input", "regex", "options"):
                raise _fail(31024, f"{name} found an unknown argument: {key}")
        if "input" not in spec:
            raise _fail(31022, f"{name} requires 'input' parameter")
        if "regex" not in spec:
            raise _fail(31023, f"{name} requires 'regex' parameter")
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
                compiled = cache[key] = _compile_pcre(name, pattern, flags)
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
    for ch in flags:
        if ch not in "imsxu":
            raise _fail(51108, f"{name} invalid flag in regex options: {ch}")
    return pattern, flags


def _regex_flag_string(flags: Any) -> str:
    if isinstance(flags, str):
        return flags
    out = ""
    for bit, ch in ((re.I, "i"), (re.M, "m"), (re.S, "s"), (re.X, "x")):
        if flags & bit:
            out += ch
    return out


def _compile_pcre(name: str, pattern: str, flags: str):
    f = 0
    for ch, bit in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X)):
        if ch in flags:
            f |= bit
    try:
        return re.compile(pattern, f)
    except re.error as exc:
        raise _fail(51111, f"Invalid Regex in {name}: {exc}") from None


def _regex_result(m: re.Match) -> dict:
    return {"match": m.group(0), "idx": m.start(),
            "captures": [g for g in m.groups()]}


_regex_operator("$regexMatch", "match")
_regex_operator("$regexFind", "find")
_regex_operator("$regexFindAll", "all")


def _replace_operator(name: str, count: int):
    def compile_replace(spec, scope):
        if not isinstance(spec, dict):
            raise _fail(51751, f"{name} requires an object as an argument, found: {_type_name(spec)}")
        for key in spec:
            if key not in ("input", "find", "replacement"):
                raise _fail(51750, f"{name} found an unknown argument: {key}")
        for key, code in (("input", 51749), ("find", 51748), ("replacement", 51747)):
            if key not in spec:
                raise _fail(code, f"{name} requires '{key}' to be specified")
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

# ---------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------


def _array_elem_at(arr, idx):
    if not isinstance(arr, list):
        raise _fail(28689, f"$arrayElemAt's first argument must be an array, but is {_type_name(arr)}")
    if _num_kind(idx) < 0:
        raise _fail(28690, f"$arrayElemAt's second argument must be a numeric value, but is {_type_name(idx)}")
    i = _as_int32(idx)
    if i is None:
        raise _fail(28691, f"$arrayElemAt's second argument must be representable as a 32-bit integer: {_show(idx)}")
    if i < 0:
        i += len(arr)
        if i < 0:
            return MISSING
    return arr[i] if i < len(arr) else MISSING


_simple("$arrayElemAt", 2, _array_elem_at)


def _first_or_last(name: str, index: int):
    def compute(arr):
        if not isinstance(arr, list):
            raise _fail(28689, f"{name}'s argument must be an array, but is {_type_name(arr)}")
        return arr[index] if arr else MISSING

    return compute


_simple("$first", 1, _first_or_last("$first", 0))
_simple("$last", 1, _first_or_last("$last", -1))


@_operator("$concatArrays")
def _c_concat_arrays(spec, scope):
    fns = _args("$concatArrays", spec, scope)

    def concat_arrays(doc, vars):
        out = []
        for f in fns:
            v = f(doc, vars)
            if v is None or v is MISSING:
                return None
            if not isinstance(v, list):
                raise _fail(28664, f"$concatArrays only supports arrays, not {_type_name(v)}")
            out.extend(v)
        return out

    return concat_arrays


def _bind_as(name: str, spec: dict, default: str = "this") -> str:
    var = spec.get("as", default)
    if not isinstance(var, str):
        raise _fail(16866, f"{name}: 'as' must be a string")
    validate_variable_name(var)
    return var


@_operator("$filter")
def _c_filter(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(28646, "$filter only supports an object as its argument")
    for key in spec:
        if key not in ("input", "as", "cond", "limit"):
            raise _fail(28647, f"Unrecognized parameter to $filter: {key}")
    if "input" not in spec:
        raise _fail(28648, "Missing 'input' parameter to $filter")
    if "cond" not in spec:
        raise _fail(28650, "Missing 'cond' parameter to $filter")
    var = _bind_as("$filter", spec)
    f_input = _compile(spec["input"], scope)
    f_cond = _compile(spec["cond"], scope | {var})
    f_limit = _compile(spec["limit"], scope) if "limit" in spec else None

    def filter_(doc, vars):
        arr = f_input(doc, vars)
        if _nullish(arr):
            return None
        if not isinstance(arr, list):
            raise _fail(28651, f"input to $filter must be an array not {_type_name(arr)}")
        limit = None
        if f_limit is not None:
            lv = f_limit(doc, vars)
            if not _nullish(lv):
                limit = _as_int32(lv)
                if limit is None:
                    raise _fail(327391, f"$filter: limit must be represented as a 32-bit integral value: "
                                        f"{_show(lv)}")
                if limit < 1:
                    raise _fail(327392, f"$filter: limit must be greater than 0: {limit}")
        inner = dict(vars)
        out = []
        for el in arr:
            inner[var] = el
            if truthy(f_cond(doc, inner)):
                out.append(el)
                if limit is not None and len(out) >= limit:
                    break
        return out

    return filter_


@_operator("$map")
def _c_map(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(16878, "$map only supports an object as its argument")
    for key in spec:
        if key not in ("input", "as", "in"):
            raise _fail(16879, f"Unrecognized parameter to $map: {key}")
    if "input" not in spec:
        raise _fail(16880, "Missing 'input' parameter to $map")
    if "in" not in spec:
        raise _fail(16882, "Missing 'in' parameter to $map")
    var = _bind_as("$map", spec)
    f_input = _compile(spec["input"], scope)
    f_in = _compile(spec["in"], scope | {var})

    def map_(doc, vars):
        arr = f_input(doc, vars)
        if _nullish(arr):
            return None
        if not isinstance(arr, list):
            raise _fail(16883, f"input to $map must be an array not {_type_name(arr)}")
        inner = dict(vars)
        out = []
        for el in arr:
            inner[var] = el
            v = f_in(doc, inner)
            out.append(None if v is MISSING else v)
        return out

    return map_


@_operator("$reduce")
def _c_reduce(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(40075, f"$reduce only supports an object as its argument, found: {_type_name(spec)}")
    for key in spec:
        if key not in ("input", "initialValue", "in"):
            raise _fail(40076, f"$reduce found an unknown argument: {key}")
    for key, code in (("input", 40077), ("initialValue", 40078), ("in", 40079)):
        if key not in spec:
            raise _fail(code, f"$reduce requires '{key}' to be specified")
    f_input = _compile(spec["input"], scope)
    f_init = _compile(spec["initialValue"], scope)
    f_in = _compile(spec["in"], scope | {"this", "value"})

    def reduce_(doc, vars):
        arr = f_input(doc, vars)
        if _nullish(arr):
            return None
        if not isinstance(arr, list):
            raise _fail(40080, f"$reduce requires that 'input' be an array, found: {_show(arr)}")
        acc = f_init(doc, vars)
        inner = dict(vars)
        for el in arr:
            inner["value"] = acc
            inner["this"] = el
            acc = f_in(doc, inner)
        return acc

    return reduce_


@_operator("$in")
def _c_in(spec, scope):
    f_value, f_array = _args("$in", spec, scope, n=2)
    key = _value_key()

    def in_(doc, vars):
        value = f_value(doc, vars)
        arr = f_array(doc, vars)
        if not isinstance(arr, list):
            raise _fail(40081, f"$in requires an array as a second argument, found: {_type_name(arr)}")
        k = key(value)  # a missing value equals no element
        return any(key(el) == k for el in arr)

    return in_


@_operator("$indexOfArray")
def _c_index_of_array(spec, scope):
    fns = _args("$indexOfArray", spec, scope, lo=2, hi=4)
    key = _value_key()

    def index_of_array(doc, vars):
        values = [f(doc, vars) for f in fns]
        arr, search = values[0], values[1]
        if _nullish(arr):
            return None
        if not isinstance(arr, list):
            raise _fail(40090, f"$indexOfArray requires an array as a first argument, found: {_type_name(arr)}")
        bounds = []
        for v in values[2:]:
            i = _as_int(v)
            if i is None:
                raise _fail(40096, f"$indexOfArray requires an integral starting index, found a value of type: "
                                   f"{_type_name(v)}, with value: {_show(v)}")
            if i < 0:
                raise _fail(40097, f"$indexOfArray requires a nonnegative start index, found: {i}")
            bounds.append(i)
        start = bounds[0] if bounds else 0
        end = min(bounds[1], len(arr)) if len(bounds) > 1 else len(arr)
        wanted = key(search)
        for i in range(start, end):
            if key(arr[i]) == wanted:
                return i
        return -1

    return index_of_array


_simple("$isArray", 1, lambda v: isinstance(v, list), nulls=False)


def _size(v):
    if not isinstance(v, list):
        raise _fail(17124, f"The argument to $size must be an array, but was of type: {_type_name(v)}")
    return len(v)


_simple("$size", 1, _size, nulls=False)


def _reverse_array(v):
    if not isinstance(v, list):
        raise _fail(34435, f"The argument to $reverseArray must be an array, but was of type: {_type_name(v)}")
    return v[::-1]


_simple("$reverseArray", 1, _reverse_array)


@_operator("$slice")
def _c_slice(spec, scope):
    fns = _args("$slice", spec, scope, lo=2, hi=3)

    def slice_(doc, vars):
        values = [f(doc, vars) for f in fns]
        if any(_nullish(v) for v in values):
            return None
        arr = values[0]
        if not isinstance(arr, list):
            raise _fail(28724, f"First argument to $slice must be an array, but is of type: {_type_name(arr)}")
        second = _as_int32(values[1])
        if second is None:
            raise _fail(28725, f"Second argument to $slice must be a numeric value, but is of type: "
                               f"{_type_name(values[1])}")
        if len(values) == 2:
            return arr[second:] if second < 0 else arr[:second]
        n = _as_int32(values[2])
        if n is None:
            raise _fail(28726, f"Third argument to $slice must be numeric, but is of type: "
                               f"{_type_name(values[2])}")
        if n <= 0:
            raise _fail(28729, f"Third argument to $slice must be positive: {_show(values[2])}")
        start = max(0, len(arr) + second) if second < 0 else second
        return arr[start:start + n]

    return slice_


def _range(start, end, step=1):
    for v, what, c1, c2 in ((start, "starting value", 34443, 34444), (end, "ending value", 34445, 34446)):
        if _num_kind(v) < 0:
            raise _fail(c1, f"$range requires a numeric {what}, found value of type: {_type_name(v)}")
        if _as_int32(v) is None:
            raise _fail(c2, f"$range requires a {what} that can be represented as a 32-bit integer, "
                            f"found value: {_show(v)}")
    if _num_kind(step) < 0:
        raise _fail(34447, f"$range requires a numeric step value, found value of type: {_type_name(step)}")
    s = _as_int32(step)
    if s is None:
        raise _fail(34448, f"$range requires a step value that can be represented as a 32-bit integer, "
                           f"found value: {_show(step)}")
    if s == 0:
        raise _fail(34449, "$range requires a non-zero step value")
    return list(range(_as_int32(start), _as_int32(end), s))


@_operator("$range")
def _c_range(spec, scope):
    fns = _args("$range", spec, scope, lo=2, hi=3)
    return lambda doc, vars: _range(*[f(doc, vars) for f in fns])


@_operator("$zip")
def _c_zip(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(34460, f"$zip only supports an object as an argument, found {_type_name(spec)}")
    for key in spec:
        if key not in ("inputs", "useLongestLength", "defaults"):
            raise _fail(34464, f"$zip found an unknown argument: {key}")
    if "inputs" not in spec:
        raise _fail(34465, "$zip requires at least one input array")
    if not isinstance(spec["inputs"], list):
        raise _fail(34461, f"inputs must be an array of expressions, found {_type_name(spec['inputs'])}")
    longest = spec.get("useLongestLength", False)
    if not isinstance(longest, bool):
        raise _fail(34463, f"useLongestLength must be a bool, found {_type_name(longest)}")
    if "defaults" in spec and not longest:
        raise _fail(34466, "cannot specify defaults unless useLongestLength is true")
    if "defaults" in spec and not isinstance(spec["defaults"], list):
        raise _fail(34462, f"defaults must be an array of expressions, found {_type_name(spec['defaults'])}")
    inputs = [_compile(e, scope) for e in spec["inputs"]]
    defaults = [_compile(e, scope) for e in spec.get("defaults", [])]
    if defaults and len(defaults) != len(inputs):
        raise _fail(34467, "defaults and inputs must have the same length")

    def zip_(doc, vars):
        arrays = []
        for f in inputs:
            v = f(doc, vars)
            if _nullish(v):
                return None
            if not isinstance(v, list):
                raise _fail(34468, f"$zip found a non-array expression in input: {_show(v)}")
            arrays.append(v)
        fill = [None if v is MISSING else v for v in (d(doc, vars) for d in defaults)] if defaults \
            else [None] * len(arrays)
        if not arrays:
            return []
        n = max(map(len, arrays)) if longest else min(map(len, arrays))
        return [[a[i] if i < len(a) else fill[j] for j, a in enumerate(arrays)] for i in range(n)]

    return zip_


def _array_to_object(arr):
    if not isinstance(arr, list):
        raise _fail(40386, f"$arrayToObject requires an array input, found: {_type_name(arr)}")
    out: dict = {}
    if not arr:
        return out
    # The first element decides the format: [[k, v], ...] or [{k: ..., v: ...}, ...].
    if isinstance(arr[0], list):
        pairs_form = True
    elif isinstance(arr[0], dict):
        pairs_form = False
    else:
        raise _fail(40398, f"Unrecognised input type format for $arrayToObject: {_type_name(arr[0])}")
    for el in arr:
        if pairs_form:
            if not isinstance(el, list):
                raise _fail(40396, "$arrayToObject requires a consistent input format. Elements mustall be "
                                   f"arrays or all be objects. Array was detected, now found: {_type_name(el)}")
            if len(el) != 2:
                raise _fail(40397, f"$arrayToObject requires an array of size 2 arrays,found array of size: "
                                   f"{len(el)}")
            k, v = el
            if not isinstance(k, str):
                raise _fail(40395, f"$arrayToObject requires an array of key-value pairs, where the key must be "
                                   f"of type string. Found key type: {_type_name(k)}")
            null_code = 4940400
        else:
            if not isinstance(el, dict):
                raise _fail(40391, "$arrayToObject requires a consistent input format. Elements mustall be "
                                   f"arrays or all be objects. Object was detected, now found: {_type_name(el)}")
            if len(el) != 2:
                raise _fail(40392, "$arrayToObject requires an object keys of 'k' and 'v'. Found incorrect "
                                   f"number of keys:{len(el)}")
            if "k" not in el or "v" not in el:
                raise _fail(40393, "$arrayToObject requires an object with keys 'k' and 'v'. Missing either or "
                                   f"both keys from: {_show(el)}")
            k, v = el["k"], el["v"]
            if not isinstance(k, str):
                raise _fail(40394, f"$arrayToObject requires an object with keys 'k' and 'v', where the value "
                                   f"of 'k' must be of type string. Found type: {_type_name(k)}")
            null_code = 4940401
        if "\x00" in k:
            raise _fail(null_code, "Key field cannot contain an embedded null byte")
        out[k] = v  # a repeated name keeps its last value (MongoDB 5.0+)
    return out


_simple("$arrayToObject", 1, _array_to_object)


def _object_to_array(obj):
    if not isinstance(obj, dict):
        raise _fail(40390, f"$objectToArray requires a document input, found: {_type_name(obj)}")
    return [{"k": k, "v": v} for k, v in obj.items()]


_simple("$objectToArray", 1, _object_to_array)


@_operator("$sortArray")
def _c_sort_array(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(2942500, f"$sortArray requires an object as an argument, found: {_type_name(spec)}")
    for key in spec:
        if key not in ("input", "sortBy"):
            raise _fail(2942501, f"$sortArray found an unknown argument: {key}")
    if "input" not in spec:
        raise _fail(2942502, "$sortArray requires 'input' to be specified")
    if "sortBy" not in spec:
        raise _fail(2942503, "$sortArray requires 'sortBy' to be specified")
    f_input = _compile(spec["input"], scope)
    key_fn, reverse = _sort_by_key(spec["sortBy"], "$sortArray")

    def sort_array(doc, vars):
        arr = f_input(doc, vars)
        if _nullish(arr):
            return None
        if not isinstance(arr, list):
            raise _fail(2942504, f"$sortArray requires an array as input, found: {_type_name(arr)}")
        return sorted(arr, key=key_fn, reverse=reverse)

    return sort_array


def _sort_by_key(sort_by: Any, name: str):
    """(key function, reverse) for a ``sortBy`` of 1/-1 or a sort document (under the collation)."""
    if sort_by in (1, -1) and not isinstance(sort_by, bool):
        return _value_key(), sort_by == -1
    if not isinstance(sort_by, dict) or not sort_by:
        raise _fail(2942505, f"{name} requires 'sortBy' to be 1, -1 or a non-empty sort document")
    from ..sort import compile_sort

    current = _COLLATION.get()
    sorter = compile_sort(sort_by, collation=current[0] if current is not None else None)
    return sorter.sort_key, False


# --- sets ---------------------------------------------------------------------


def _dedupe(values, key: Callable[[Any], tuple]) -> list:
    """Distinct values by BSON equality (under ``key``), in first-seen order; O(n)."""
    seen: set = set()
    out: list = []
    for v in values:
        k = key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def _key_set(values, key: Callable[[Any], tuple]) -> set:
    return {key(v) for v in values}


def _set_operands(name: str, values: list, code: int) -> list | None:
    for v in values:
        if _nullish(v):
            return None
    for v in values:
        if not isinstance(v, list):
            raise _fail(code, f"All operands of {name} must be arrays. One argument is of type: {_type_name(v)}")
    return values


@_operator("$setUnion")
def _c_set_union(spec, scope):
    fns = _args("$setUnion", spec, scope)
    key = _value_key()

    def set_union(doc, vars):
        values = _set_operands("$setUnion", [f(doc, vars) for f in fns], 17043)
        if values is None:
            return None
        # The server collects into an ordered set: the result is in BSON order.
        return sorted(_dedupe((v for arr in values for v in arr), key), key=key)

    return set_union


@_operator("$setIntersection")
def _c_set_intersection(spec, scope):
    fns = _args("$setIntersection", spec, scope)
    key = _value_key()

    def set_intersection(doc, vars):
        values = _set_operands("$setIntersection", [f(doc, vars) for f in fns], 17047)
        if values is None:
            return None
        if not values:
            return []
        others = [_key_set(other, key) for other in values[1:]]
        return sorted((v for v in _dedupe(values[0], key) if all(key(v) in o for o in others)), key=key)

    return set_intersection


@_operator("$setDifference")
def _c_set_difference(spec, scope):
    f_a, f_b = _args("$setDifference", spec, scope, n=2)
    key = _value_key()

    def set_difference(doc, vars):
        a, b = f_a(doc, vars), f_b(doc, vars)
        if _nullish(a) or _nullish(b):
            return None
        if not isinstance(a, list):
            raise _fail(17048, f"both operands of $setDifference must be arrays. First argument is of type: "
                               f"{_type_name(a)}")
        if not isinstance(b, list):
            raise _fail(17049, f"both operands of $setDifference must be arrays. Second argument is of type: "
                               f"{_type_name(b)}")
        exclude = _key_set(b, key)
        return [v for v in _dedupe(a, key) if key(v) not in exclude]

    return set_difference


@_operator("$setEquals")
def _c_set_equals(spec, scope):
    fns = _args("$setEquals", spec, scope)
    if len(fns) < 2:
        raise _fail(17045, f"$setEquals needs at least two arguments had: {len(fns)}")
    key = _value_key()

    def set_equals(doc, vars):
        values = [f(doc, vars) for f in fns]
        for v in values:
            if not isinstance(v, list):
                raise _fail(17044, f"All operands of $setEquals must be arrays. One argument is of type: "
                                   f"{_type_name(v)}")
        first = _key_set(values[0], key)
        return all(_key_set(other, key) == first for other in values[1:])

    return set_equals


@_operator("$setIsSubset")
def _c_set_is_subset(spec, scope):
    f_a, f_b = _args("$setIsSubset", spec, scope, n=2)
    key = _value_key()

    def set_is_subset(doc, vars):
        a, b = f_a(doc, vars), f_b(doc, vars)
        if not isinstance(a, list):
            raise _fail(17046, f"both operands of $setIsSubset must be arrays. First argument is of type: "
                               f"{_type_name(a)}")
        if not isinstance(b, list):
            raise _fail(17042, f"both operands of $setIsSubset must be arrays. Second argument is of type: "
                               f"{_type_name(b)}")
        return _key_set(a, key) <= _key_set(b, key)

    return set_is_subset


def _elements_true(name: str, code: int, combine):
    def compute(arr):
        if not isinstance(arr, list):
            raise _fail(code, f"{name}'s argument must be an array, but is {_type_name(arr)}")
        return combine(truthy(v) for v in arr)

    return compute


_simple("$anyElementTrue", 1, _elements_true("$anyElementTrue", 17041, any), nulls=False)
_simple("$allElementsTrue", 1, _elements_true("$allElementsTrue", 17040, all), nulls=False)

# ---------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------


def merge_objects(values, name: str = "$mergeObjects") -> dict:
    """Merge documents left to right; null and missing are skipped."""
    out: dict = {}
    for i, v in enumerate(values):
        if v is None or v is MISSING:
            continue
        if not isinstance(v, dict):
            raise _fail(40400, f"$mergeObjects requires object inputs, but input {_show(v)} is of type "
                               f"{_type_name(v)}")
        out.update(v)
    return out


@_operator("$mergeObjects")
def _c_merge_objects(spec, scope):
    fns = _args("$mergeObjects", spec, scope)
    return lambda doc, vars: merge_objects([f(doc, vars) for f in fns])


def _field_argument(name: str, spec: dict) -> str:
    """The constant field name of $getField/$setField/$unsetField (a '$' name must come in $literal)."""
    field = spec["field"]
    if isinstance(field, dict) and set(field) == {"$literal"}:
        field = field["$literal"]
    elif isinstance(field, str) and field.startswith("$"):
        raise _fail(4161108 if name != "$getField" else 5654602,
                    f"{name}: 'field' cannot be a field path; use $literal for a '$'-prefixed name")
    if not isinstance(field, str):
        raise _fail(3041704, f"{name} requires 'field' to evaluate to a constant of type String")
    return field


@_operator("$getField")
def _c_get_field(spec, scope):
    if not isinstance(spec, dict) or is_operator_object(spec):
        spec = {"field": spec}
    for key in spec:
        if key not in ("field", "input"):
            raise _fail(3041701, f"$getField found an unknown argument: {key}")
    if "field" not in spec:
        raise _fail(3041702, "$getField requires 'field' to be specified")
    field = _field_argument("$getField", spec)
    f_input = _compile(spec.get("input", "$$CURRENT"), scope)

    def get_field(doc, vars):
        obj = f_input(doc, vars)
        if obj is None:
            return None
        if obj is MISSING:
            return MISSING
        if not isinstance(obj, dict):
            return MISSING
        return obj.get(field, MISSING)

    return get_field


def _compile_set_field(name: str, spec, scope, unset: bool):
    allowed = ("field", "input") if unset else ("field", "input", "value")
    if not isinstance(spec, dict):
        raise _fail(4161100, f"{name} only supports an object as its argument")
    for key in spec:
        if key not in allowed:
            raise _fail(4161101, f"{name} found an unknown argument: {key}")
    for key in allowed:
        if key not in spec:
            raise _fail(4161102, f"{name} requires '{key}' to be specified")
    field = _field_argument(name, spec)
    f_input = _compile(spec["input"], scope)
    f_value = None if unset else _compile(spec["value"], scope)

    def set_field(doc, vars):
        obj = f_input(doc, vars)
        if _nullish(obj):
            return None
        if not isinstance(obj, dict):
            raise _fail(4161105, f"{name} requires 'input' to evaluate to type Object")
        out = dict(obj)
        value = MISSING if f_value is None else f_value(doc, vars)
        if value is MISSING:
            out.pop(field, None)
        else:
            out[field] = value
        return out

    return set_field


_OPERATORS["$setField"] = lambda spec, scope: _compile_set_field("$setField", spec, scope, False)
_OPERATORS["$unsetField"] = lambda spec, scope: _compile_set_field("$unsetField", spec, scope, True)


def _bson_size(v):
    if not isinstance(v, dict):
        raise _fail(31393, f"$bsonSize requires a document input, found: {_type_name(v)}")
    import bson

    return len(bson.encode(v))


def _binary_size(v):
    if isinstance(v, str):
        return len(v.encode("utf-8"))
    if isinstance(v, (bytes, Binary)):
        return len(v)
    raise _fail(51276, f"$binarySize requires a string or BinData argument, found: {_type_name(v)}")


_simple("$bsonSize", 1, _bson_size)
_simple("$binarySize", 1, _binary_size)


def _timestamp_part(name: str, attr: str):
    def compute(v):
        if not isinstance(v, Timestamp):
            raise _fail(5687301, f"Argument to {name} must be a timestamp, but is {_type_name(v)}")
        return Int64(getattr(v, attr))

    return compute


_simple("$tsSecond", 1, _timestamp_part("$tsSecond", "time"))
_simple("$tsIncrement", 1, _timestamp_part("$tsIncrement", "inc"))

# ---------------------------------------------------------------------------
# Types and conversion
# ---------------------------------------------------------------------------

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
    if not isinstance(spec, dict):
        raise _fail(FAILED_TO_PARSE, f"$convert expects an object of named arguments but found: "
                                          f"{_type_name(spec)}")
    for key in spec:
        if key not in ("input", "to", "onError", "onNull"):
            raise _fail(FAILED_TO_PARSE, f"$convert found an unknown argument: {key}")
    if "input" not in spec:
        raise _fail(FAILED_TO_PARSE, "Missing 'input' parameter to $convert")
    if "to" not in spec:
        raise _fail(FAILED_TO_PARSE, "Missing 'to' parameter to $convert")
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

# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})?$")
_tz_cache: dict = {}


def _parse_timezone(tz: Any) -> Any:
    """A tzinfo for an Olson name or a ``±HH``, ``±HHMM``, ``±HH:MM`` offset; None means UTC."""
    if tz is None or tz is MISSING:
        return None
    if not isinstance(tz, str):
        raise _fail(40517, f"timezone must evaluate to a string, found {_type_name(tz)}")
    cached = _tz_cache.get(tz)
    if cached is not None:
        return cached
    m = _OFFSET.match(tz)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        zone = _dt.timezone(_dt.timedelta(minutes=-minutes if m.group(1) == "-" else minutes))
    elif tz in ("UTC", "GMT", "Z"):
        zone = _UTC
    else:
        try:
            import zoneinfo

            zone = zoneinfo.ZoneInfo(tz)
        except Exception:
            raise _fail(40485, f'unrecognized time zone identifier: "{tz}"') from None
    _tz_cache[tz] = zone
    return zone


def _to_local(date: _dt.datetime, tz: Any) -> _dt.datetime:
    """Naive local wall-clock time of the naive-UTC ``date`` in ``tz``."""
    if tz is None or tz is _UTC:
        return date
    return date.replace(tzinfo=_UTC).astimezone(tz).replace(tzinfo=None)


def _from_local(local: _dt.datetime, tz: Any) -> _dt.datetime:
    """Naive UTC instant of the naive local wall-clock time ``local`` in ``tz``."""
    if tz is None or tz is _UTC:
        return local
    return local.replace(tzinfo=tz).astimezone(_UTC).replace(tzinfo=None)


def _utc_offset_minutes(date: _dt.datetime, tz: Any) -> int:
    if tz is None:
        return 0
    return int(date.replace(tzinfo=_UTC).astimezone(tz).utcoffset().total_seconds() // 60)


def _date_arg(v: Any, code: int = 16006) -> _dt.datetime:
    """A date operand: a date, an ObjectId (its timestamp) or a Timestamp."""
    if isinstance(v, _dt.datetime):
        return _to_datetime(v)
    if isinstance(v, ObjectId):
        return v.generation_time.replace(tzinfo=None)
    if isinstance(v, Timestamp):
        return _ms_to_date(v.time * 1000)
    raise _fail(code, f"can't convert from BSON type {_type_name(v)} to Date")


def _sunday_week(d: _dt.datetime) -> int:
    """Week of the year with weeks starting on Sunday (``%U``): 0 before the first Sunday."""
    yday = d.timetuple().tm_yday - 1
    wday = (d.weekday() + 1) % 7  # Sunday = 0
    return (yday + 7 - wday) // 7


_DATE_PARTS = {
    "$year": lambda d: d.year,
    "$month": lambda d: d.month,
    "$dayOfMonth": lambda d: d.day,
    "$hour": lambda d: d.hour,
    "$minute": lambda d: d.minute,
    "$second": lambda d: d.second,
    "$millisecond": lambda d: d.microsecond // 1000,
    "$dayOfYear": lambda d: d.timetuple().tm_yday,
    "$dayOfWeek": lambda d: (d.weekday() + 1) % 7 + 1,
    "$week": _sunday_week,
    "$isoWeek": lambda d: d.isocalendar()[1],
    "$isoWeekYear": lambda d: d.isocalendar()[0],
    "$isoDayOfWeek": lambda d: d.isocalendar()[2],
}


def _compile_date_part(name: str, part):
    def compile_part(spec, scope):
        if isinstance(spec, dict) and not is_operator_object(spec):
            for key in spec:
                if key not in ("date", "timezone"):
                    raise _fail(40535, f'unrecognized option to {name}: "{key}"')
            if "date" not in spec:
                raise _fail(40539, f"missing 'date' argument to {name}, provided: {_show(spec)}")
            f_date = _compile(spec["date"], scope)
            f_tz = _compile(spec["timezone"], scope) if "timezone" in spec else None
        else:
            (f_date,) = _args(name, spec, scope, n=1)
            f_tz = None

        def date_part(doc, vars):
            v = f_date(doc, vars)
            if _nullish(v):
                return None
            tz = None
            if f_tz is not None:
                tzv = f_tz(doc, vars)
                if _nullish(tzv):
                    return None
                tz = _parse_timezone(tzv)
            return part(_to_local(_date_arg(v), tz))

        return date_part

    _OPERATORS[name] = compile_part


for _name, _part in _DATE_PARTS.items():
    _compile_date_part(_name, _part)

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_FORMAT_SPECIFIERS = set("dGHjLmMSuUVwYzZbB%")


def _check_format(fmt: str) -> None:
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            if i + 1 >= len(fmt):
                raise _fail(18535, "Unmatched '%' at end of format string")
            if fmt[i + 1] not in _FORMAT_SPECIFIERS:
                raise _fail(18536, f"Invalid format character '%{fmt[i + 1]}' in format string")
            i += 2
        else:
            i += 1


def _format_date(date: _dt.datetime, fmt: str, tz: Any) -> str:
    """``$dateToString`` formatting of the naive-UTC ``date`` in ``tz``."""
    local = _to_local(date, tz)
    out = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        spec = fmt[i + 1]
        i += 2
        if spec == "Y":
            out.append(f"{local.year:04d}")
        elif spec == "m":
            out.append(f"{local.month:02d}")
        elif spec == "d":
            out.append(f"{local.day:02d}")
        elif spec == "H":
            out.append(f"{local.hour:02d}")
        elif spec == "M":
            out.append(f"{local.minute:02d}")
        elif spec == "S":
            out.append(f"{local.second:02d}")
        elif spec == "L":
            out.append(f"{local.microsecond // 1000:03d}")
        elif spec == "j":
            out.append(f"{local.timetuple().tm_yday:03d}")
        elif spec == "w":
            out.append(str((local.weekday() + 1) % 7 + 1))
        elif spec == "u":
            out.append(str(local.isocalendar()[2]))
        elif spec == "U":
            out.append(f"{_sunday_week(local):02d}")
        elif spec == "V":
            out.append(f"{local.isocalendar()[1]:02d}")
        elif spec == "G":
            out.append(f"{local.isocalendar()[0]:04d}")
        elif spec in "zZ":
            minutes = _utc_offset_minutes(date, tz)
            sign = "-" if minutes < 0 else "+"
            if spec == "z":
                out.append(f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}")
            else:
                out.append(str(minutes))  # "60", "-240": no sign for positive offsets (server jstest)
        elif spec == "b":
            out.append(_MONTHS[local.month - 1][:3])
        elif spec == "B":
            out.append(_MONTHS[local.month - 1])
        elif spec == "%":
            out.append("%")
    return "".join(out)


def _optional(spec: dict, key: str, scope: frozenset) -> Evaluator | None:
    return _compile(spec[key], scope) if key in spec else None


def _check_named(name: str, spec: Any, allowed: tuple, required: tuple, code: Any) -> None:
    """Validate a document-shaped argument.

    ``code`` is either a base code (not an object: base, unknown field: base+1,
    missing field: base+2) or a tuple ``(not_object, unknown, {field: missing_code})``.
    """
    if isinstance(code, tuple):
        not_object, unknown, missing = code
    else:
        not_object, unknown, missing = code, code + 1, {}
        missing = {key: code + 2 for key in required}
    if not isinstance(spec, dict):
        raise _fail(not_object, f"{name} only supports an object as its argument")
    for key in spec:
        if key not in allowed:
            raise _fail(unknown, f"Unrecognized argument to {name}: {key}. "
                                 f"Expected arguments are {', '.join(allowed)}")
    for key in required:
        if key not in spec:
            raise _fail(missing[key], f"Missing '{key}' parameter to {name}")


def _timezone_of(f_tz: Evaluator | None, doc, vars) -> tuple[bool, Any]:
    """(ok, tzinfo); ok is False when the timezone expression is null/missing."""
    if f_tz is None:
        return True, None
    v = f_tz(doc, vars)
    if _nullish(v):
        return False, None
    return True, _parse_timezone(v)


@_operator("$dateToString")
def _c_date_to_string(spec, scope):
    _check_named("$dateToString", spec, ("date", "format", "timezone", "onNull"), ("date",),
                 (18629, 18534, {"date": 18628}))
    f_date = _compile(spec["date"], scope)
    f_format = _optional(spec, "format", scope)
    f_tz = _optional(spec, "timezone", scope)
    f_on_null = _optional(spec, "onNull", scope)
    if f_format is not None and _is_constant(f_format):
        if not isinstance(f_format.constant, str) and not _nullish(f_format.constant):
            raise _fail(18533, f"$dateToString requires that 'format' be a string, found: "
                               f"{_type_name(f_format.constant)} with value {_show(f_format.constant)}")
        if isinstance(f_format.constant, str):
            _check_format(f_format.constant)

    def date_to_string(doc, vars):
        v = f_date(doc, vars)
        fmt = None
        if f_format is not None:
            fmt = f_format(doc, vars)
            if _nullish(fmt):
                return None
            if not isinstance(fmt, str):
                raise _fail(18533, f"$dateToString requires that 'format' be a string, found: "
                                   f"{_type_name(fmt)} with value {_show(fmt)}")
            _check_format(fmt)
        ok, tz = _timezone_of(f_tz, doc, vars)
        if not ok:
            return None
        if _nullish(v):
            return f_on_null(doc, vars) if f_on_null is not None else None
        if fmt is None:
            # MongoDB 7.0 always appends "Z" (7.1+ drops it for a non-UTC timezone, not backported).
            fmt = "%Y-%m-%dT%H:%M:%S.%LZ"
        return _format_date(_date_arg(v), fmt, tz)

    return date_to_string


# --- $dateFromString parsing ---------------------------------------------------
#
# Without a format the server parses with timelib, which accepts ISO 8601 and a
# range of "wacky" human formats; the common ones are reproduced here.  A zone
# written in the string (Z, +hh[:mm], GMT+hh:mm, an abbreviation such as EST or a
# military letter) may not be combined with the 'timezone' argument.

# Time zone abbreviations timelib knows (minutes east of UTC), plus military letters.
_ZONE_ABBREVIATIONS = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "MET": 60,
    "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "IST": 330, "JST": 540, "KST": 540, "HKT": 480,
    "AEST": 600, "AEDT": 660, "ACST": 570, "AWST": 480, "NZST": 720, "NZDT": 780, "EST": -300, "EDT": -240,
    "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480,
    "HST": -600,
}
_ZONE_ABBREVIATIONS.update({letter: 60 * (i + 1) for i, letter in enumerate("ABCDEFGHI")})
_ZONE_ABBREVIATIONS.update({"K": 600, "L": 660, "M": 720})
_ZONE_ABBREVIATIONS.update({letter: -60 * (i + 1) for i, letter in enumerate("NOPQRSTUVWXY")})

_ZONE = r"(?P<zone>\s*(?:(?P<abbr>[A-Za-z]{1,5})(?P<aoff>[+-]\d{1,2}(?::?\d{2})?)?|(?P<off>[+-]\d{1,2}(?::?\d{2})?)))"

# Parsing: each format specifier as a regex group.
_PARSE_SPECIFIERS = {
    "Y": r"(?P<Y>\d{1,4})", "m": r"(?P<m>\d{1,2})", "d": r"(?P<d>\d{1,2})", "H": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{1,2})", "S": r"(?P<S>\d{1,2})", "L": r"(?P<L>\d{1,3})", "j": r"(?P<j>\d{1,3})",
    "z": _ZONE, "Z": r"(?P<Z>[+-]?\d+)", "G": r"(?P<G>\d{1,4})", "V": r"(?P<V>\d{1,2})",
    "u": r"(?P<u>\d)", "w": r"(?P<w>\d)", "U": r"(?P<U>\d{1,2})",
    "b": r"(?P<b>[A-Za-z]{3})", "B": r"(?P<B>[A-Za-z]+)", "%": "%",
}

_TIME = (r"(?:(?:[T ]|\s+)(?P<H>\d{1,2})(?::(?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:\.(?P<L>\d+))?)?)?"
         r"\s*(?P<ampm>[aApP][mM])?)?")
_DEFAULT_FORMATS = [re.compile("^" + pattern + "$") for pattern in (
    r"(?P<Y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + _ZONE + "?",
    r"(?P<Y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})" + _TIME + _ZONE + "?",
    r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{2}|\d{4})" + _TIME + _ZONE + "?",
    r"(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<Y>\d{4})" + _TIME + _ZONE + "?",
    r"(?P<Y>\d{4})-(?P<b>[A-Za-z]{3,9})-(?P<d>\d{1,2})(?:\s+(?P<word>noon|midnight))?" + _TIME + _ZONE + "?",
    r"(?P<b>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<Y>\d{4})" + _TIME + _ZONE + "?",
    r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<b>[A-Za-z]{3,9})\.?,?\s+(?P<Y>\d{4})" + _TIME + _ZONE + "?",
)]
# Strings with a time or a month but no year: timelib's "incomplete" error.
_INCOMPLETE = re.compile(r"^\s*(?:\d{1,2}:\d{2}(?::\d{2})?|[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?)\s*$")


def _format_regex(fmt: str):
    parts = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            parts.append(_PARSE_SPECIFIERS[fmt[i + 1]])
            i += 2
        else:
            parts.append(re.escape(fmt[i]))
            i += 1
    return re.compile("^" + "".join(parts) + "$")


def _offset_minutes(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
    return sign * (int(hours) * 60 + int(minutes))


def _zone_offset(g: dict) -> int | None:
    """Minutes east of UTC written in the parsed string, or None."""
    if g.get("off"):
        return _offset_minutes(g["off"])
    if g.get("abbr"):
        base = _ZONE_ABBREVIATIONS.get(g["abbr"].upper())
        if base is None:
            raise ValueError(f"unknown time zone abbreviation {g['abbr']}")
        return base + (_offset_minutes(g["aoff"]) if g.get("aoff") else 0)
    if "Z" in g:
        return int(g["Z"])
    return None


def _month_number(name: str) -> int:
    names = [n[:3].lower() for n in _MONTHS]
    key = name[:3].lower()
    if key not in names or (len(name) > 3 and not _MONTHS[names.index(key)].lower().startswith(name.lower())):
        raise ValueError(f"invalid month name {name}")
    return names.index(key) + 1


def _parse_date_string(s: str, fmt: str | None, tz: Any) -> _dt.datetime:
    """Parse ``s`` like ``$dateFromString``; returns a naive UTC datetime."""
    def bad(reason: str) -> ServerError:
        return _fail(CONVERSION_FAILURE, f"Error parsing date string '{s}'; {reason}")

    if fmt is None:
        text = s.strip()
        m = next((m for m in (rx.match(text) for rx in _DEFAULT_FORMATS) if m), None)
        if m is None:
            if _INCOMPLETE.match(text):
                raise _fail(CONVERSION_FAILURE, f"an incomplete date/time string has been found, with elements "
                                                f"missing: '{s}'")
            raise bad("The string does not match a known date format")
    else:
        m = _format_regex(fmt).match(s)
        if m is None:
            raise bad("Data missing or trailing data: the string does not match the format")
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    if ({"G", "V", "u"} & set(g)) and ({"Y", "m", "d", "j", "b", "B"} & set(g)):
        raise bad("Mixing of ISO dates with natural dates is not allowed")
    try:
        offset = _zone_offset(g)
    except ValueError as exc:
        raise bad(str(exc)) from None
    if offset is not None and tz is not None:
        raise _fail(CONVERSION_FAILURE, "you cannot pass in a date/time string with GMT offset together with a "
                                        "timezone argument")
    try:
        if "G" in g:  # week and day overflow into the next year, as timelib does
            base = _dt.datetime.fromisocalendar(int(g["G"]), 1, 1) + _dt.timedelta(
                weeks=int(g.get("V", 1)) - 1, days=int(g.get("u", 1)) - 1)
        elif {"V", "u"} & set(g):
            raise bad("The parsed date was invalid")
        elif "j" in g and "Y" in g:
            base = _dt.datetime(int(g["Y"]), 1, 1) + _dt.timedelta(days=int(g["j"]) - 1)
        else:
            if "y" in g:  # two-digit years: 70-99 are 19xx, 00-69 are 20xx
                year = int(g["y"])
                g["Y"] = str(year + (1900 if 70 <= year <= 99 else 2000) if len(g["y"]) == 2 else year)
            if "Y" not in g:
                raise bad("The parsed date was invalid")
            month = _month_number(g.get("B") or g["b"]) if ("b" in g or "B" in g) else int(g.get("m", 1))
            base = _dt.datetime(int(g["Y"]), month, int(g.get("d", 1)))
        hour = int(g.get("H", 0))
        if g.get("ampm"):
            if not 1 <= hour <= 12:
                raise bad("invalid 12-hour time")
            hour = hour % 12 + (12 if g["ampm"].lower() == "pm" else 0)
        if g.get("word") == "noon":
            hour = 12
        ms = int((g.get("L", "0") + "00")[:3])
        local = base.replace(hour=hour, minute=int(g.get("M", 0)), second=int(g.get("S", 0)),
                             microsecond=ms * 1000)
    except (ValueError, OverflowError) as exc:
        raise bad(f"The parsed date was invalid ({exc})") from None
    if offset is not None:
        return local - _dt.timedelta(minutes=offset)
    return _from_local(local, tz)


@_operator("$dateFromString")
def _c_date_from_string(spec, scope):
    _check_named("$dateFromString", spec, ("dateString", "format", "timezone", "onError", "onNull"),
                 ("dateString",), 40540)
    f_string = _compile(spec["dateString"], scope)
    f_format = _optional(spec, "format", scope)
    f_tz = _optional(spec, "timezone", scope)
    f_on_error = _optional(spec, "onError", scope)
    f_on_null = _optional(spec, "onNull", scope)
    if f_format is not None and _is_constant(f_format) and isinstance(f_format.constant, str):
        _check_format(f_format.constant)

    def date_from_string(doc, vars):
        s = f_string(doc, vars)
        fmt = None
        if f_format is not None:
            fmt = f_format(doc, vars)
            if _nullish(fmt):
                return None
            if not isinstance(fmt, str):
                raise _fail(40684, f"$dateFromString requires that 'format' be a string, found: "
                                   f"{_type_name(fmt)} with value {_show(fmt)}")
            _check_format(fmt)
        ok, tz = _timezone_of(f_tz, doc, vars)
        if not ok:
            return None
        if _nullish(s):
            return f_on_null(doc, vars) if f_on_null is not None else None
        try:
            if not isinstance(s, str):
                raise _fail(CONVERSION_FAILURE, f"$dateFromString requires that 'dateString' be a string, "
                                                f"found: {_type_name(s)} with value {_show(s)}")
            return _parse_date_string(s, fmt, tz)
        except ServerError as exc:
            if f_on_error is not None and exc.code == CONVERSION_FAILURE:
                return f_on_error(doc, vars)
            raise

    return date_from_string


_NATURAL_PARTS = ("year", "month", "day", "hour", "minute", "second", "millisecond")
_ISO_PARTS = ("isoWeekYear", "isoWeek", "isoDayOfWeek", "hour", "minute", "second", "millisecond")


@_operator("$dateFromParts")
def _c_date_from_parts(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(40519, "$dateFromParts only supports an object as its argument")
    for key in spec:
        if key not in _NATURAL_PARTS and key not in _ISO_PARTS and key != "timezone":
            raise _fail(40518, f"Unrecognized argument to $dateFromParts: {key}")
    natural = any(k in spec for k in ("year", "month", "day"))
    iso = any(k in spec for k in ("isoWeekYear", "isoWeek", "isoDayOfWeek"))
    if natural and iso:
        raise _fail(40489, "$dateFromParts does not allow mixing natural dates with ISO dates")
    if not natural and not iso or (natural and "year" not in spec) or (iso and "isoWeekYear" not in spec):
        raise _fail(40516, "$dateFromParts requires either 'year' or 'isoWeekYear' to be present")
    names = _ISO_PARTS if iso else _NATURAL_PARTS
    fns = [(name, _compile(spec[name], scope)) for name in names if name in spec]
    f_tz = _optional(spec, "timezone", scope)

    def date_from_parts(doc, vars):
        parts = {}
        for name, f in fns:
            v = f(doc, vars)
            if _nullish(v):
                return None
            i = _as_int(v)
            if i is None:
                raise _fail(40515, f"'{name}' must evaluate to an integer, found {_type_name(v)} with value "
                                   f"{_show(v)}")
            if name in ("year", "isoWeekYear"):
                if not 1 <= i <= 9999:
                    raise _fail(40523, f"'{name}' must evaluate to an integer in the range 1 to 9999, found {i}")
            elif name not in ("second", "millisecond") and not -32768 <= i <= 32767:
                raise _fail(31034, f"'{name}' must evaluate to a value in the range [-32768, 32767]; value {i} "
                                   "is not in range")
            parts[name] = i
        ok, tz = _timezone_of(f_tz, doc, vars)
        if not ok:
            return None
        try:
            if iso:
                base = _dt.datetime.fromisocalendar(parts["isoWeekYear"], 1, 1) + _dt.timedelta(
                    weeks=parts.get("isoWeek", 1) - 1, days=parts.get("isoDayOfWeek", 1) - 1)
            else:
                months = parts["year"] * 12 + parts.get("month", 1) - 1
                base = _dt.datetime(months // 12, months % 12 + 1, 1) + _dt.timedelta(days=parts.get("day", 1) - 1)
            local = base + _dt.timedelta(hours=parts.get("hour", 0), minutes=parts.get("minute", 0),
                                         seconds=parts.get("second", 0), milliseconds=parts.get("millisecond", 0))
        except (ValueError, OverflowError):
            raise _fail(40523, "'year' must evaluate to an integer in the range 1 to 9999") from None
        return _from_local(local, tz)

    return date_from_parts


@_operator("$dateToParts")
def _c_date_to_parts(spec, scope):
    _check_named("$dateToParts", spec, ("date", "timezone", "iso8601"), ("date",), 40524)
    f_date = _compile(spec["date"], scope)
    f_tz = _optional(spec, "timezone", scope)
    f_iso = _optional(spec, "iso8601", scope)

    def date_to_parts(doc, vars):
        v = f_date(doc, vars)
        ok, tz = _timezone_of(f_tz, doc, vars)
        iso = False
        if f_iso is not None:
            iso_v = f_iso(doc, vars)
            if _nullish(iso_v):
                return None
            if not isinstance(iso_v, bool):
                raise _fail(40521, f"iso8601 must evaluate to a bool, found {_type_name(iso_v)}")
            iso = iso_v
        if not ok or _nullish(v):
            return None
        d = _to_local(_date_arg(v), tz)
        if iso:
            y, w, wd = d.isocalendar()
            head = {"isoWeekYear": y, "isoWeek": w, "isoDayOfWeek": wd}
        else:
            head = {"year": d.year, "month": d.month, "day": d.day}
        head.update(hour=d.hour, minute=d.minute, second=d.second, millisecond=d.microsecond // 1000)
        return head

    return date_to_parts


_UNIT_MS = {"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000,
            "week": 7 * 86_400_000}
_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond")
_WEEKDAYS = {"monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
             "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6}


def _unit(name: str, v: Any, type_code: int = 5439013, value_code: int = 5439014) -> str:
    if not isinstance(v, str):
        raise _fail(type_code, f"{name} requires 'unit' to be a string, but got {_type_name(v)}")
    if v not in _UNITS:
        raise _fail(value_code, f"{name} parameter 'unit' value cannot be recognized as a time unit: {v}")
    return v


def _start_of_week(name: str, v: Any) -> int:
    if not isinstance(v, str):
        raise _fail(5439015, f"{name} requires 'startOfWeek' to be a string, but got {_type_name(v)}")
    if v.lower() not in _WEEKDAYS:
        raise _fail(5439016, f"{name} parameter 'startOfWeek' value cannot be recognized as a day of a week: "
                             f"{v}")
    return _WEEKDAYS[v.lower()]


def _present(*values) -> bool:
    """True when no argument is null/missing (date operators answer null first, then validate)."""
    return not any(v is None or v is MISSING for v in values)


def _optional_value(f: Evaluator | None, doc, vars, default: Any) -> Any:
    return default if f is None else f(doc, vars)


def _add_months(local: _dt.datetime, months: int) -> _dt.datetime:
    """Calendar month addition; the day is clamped to the target month's length."""
    total = local.year * 12 + local.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise _fail(5166406, "$dateAdd overflowed")
    import calendar

    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def date_add(date: _dt.datetime, unit: str, amount: int, tz: Any) -> _dt.datetime:
    """``date`` plus ``amount`` ``unit`` s, calendar units computed in ``tz``."""
    if unit in ("year", "quarter", "month"):
        months = amount * {"year": 12, "quarter": 3, "month": 1}[unit]
        return _from_local(_add_months(_to_local(date, tz), months), tz)
    if unit in ("day", "week") and tz is not None:
        days = amount * (7 if unit == "week" else 1)
        return _from_local(_to_local(date, tz) + _dt.timedelta(days=days), tz)
    return _ms_to_date(_date_to_ms(date) + amount * _UNIT_MS[unit])


def _compile_date_add(name: str, sign: int):
    def compile_add(spec, scope):
        required = ("startDate", "unit", "amount")
        _check_named(name, spec, required + ("timezone",), required,
                     (5166400, 5166401, {key: 5166402 for key in required}))
        f_start = _compile(spec["startDate"], scope)
        f_unit = _compile(spec["unit"], scope)
        f_amount = _compile(spec["amount"], scope)
        f_tz = _optional(spec, "timezone", scope)
        if _is_constant(f_unit) and not _nullish(f_unit.constant):
            _unit(name, f_unit.constant, 5166404, FAILED_TO_PARSE)

        def add(doc, vars):
            start, unit, amount = f_start(doc, vars), f_unit(doc, vars), f_amount(doc, vars)
            tz = _optional_value(f_tz, doc, vars, MISSING)
            if not _present(start, unit, amount) or (f_tz is not None and _nullish(tz)):
                return None
            if not isinstance(start, (_dt.datetime, ObjectId, Timestamp)):
                raise _fail(5166403, f"{name} requires startDate to be convertible to a date")
            unit = _unit(name, unit, 5166404, FAILED_TO_PARSE)
            n = _as_int(amount) if _num_kind(amount) >= 0 else None
            if n is None or not INT64_MIN <= n <= INT64_MAX:
                raise _fail(5166405, f"{name} expects integer amount of time units")
            return date_add(_date_arg(start), unit, sign * n, _parse_timezone(tz))

        return add

    _OPERATORS[name] = compile_add


_compile_date_add("$dateAdd", 1)
_compile_date_add("$dateSubtract", -1)


def _week_start_ordinal(local: _dt.datetime, start_of_week: int) -> int:
    ordinal = local.toordinal()
    return ordinal - (local.weekday() - start_of_week) % 7


def date_diff(start: _dt.datetime, end: _dt.datetime, unit: str, tz: Any, start_of_week: int = 6) -> int:
    """Number of ``unit`` boundaries crossed from ``start`` to ``end`` (the server's $dateDiff)."""
    if unit in ("millisecond", "second", "minute", "hour"):
        off_s = _utc_offset_minutes(start, tz) * 60_000
        off_e = _utc_offset_minutes(end, tz) * 60_000
        size = _UNIT_MS[unit]
        return (_date_to_ms(end) + off_e) // size - (_date_to_ms(start) + off_s) // size
    ls, le = _to_local(start, tz), _to_local(end, tz)
    if unit == "day":
        return le.toordinal() - ls.toordinal()
    if unit == "week":
        return (_week_start_ordinal(le, start_of_week) - _week_start_ordinal(ls, start_of_week)) // 7
    if unit == "month":
        return (le.year * 12 + le.month) - (ls.year * 12 + ls.month)
    if unit == "quarter":
        return (le.year * 4 + (le.month - 1) // 3) - (ls.year * 4 + (ls.month - 1) // 3)
    return le.year - ls.year


@_operator("$dateDiff")
def _c_date_diff(spec, scope):
    required = ("startDate", "endDate", "unit")
    _check_named("$dateDiff", spec, required + ("timezone", "startOfWeek"), required,
                 (5166301, 5166302, {"startDate": 5166303, "endDate": 5166304, "unit": 5166305}))
    f_start = _compile(spec["startDate"], scope)
    f_end = _compile(spec["endDate"], scope)
    f_unit = _compile(spec["unit"], scope)
    f_tz = _optional(spec, "timezone", scope)
    f_sow = _optional(spec, "startOfWeek", scope)
    if _is_constant(f_unit) and not _nullish(f_unit.constant):
        _unit("$dateDiff", f_unit.constant)

    def diff(doc, vars):
        start, end, unit = f_start(doc, vars), f_end(doc, vars), f_unit(doc, vars)
        tz = _optional_value(f_tz, doc, vars, MISSING)
        sow = _optional_value(f_sow, doc, vars, "sunday")
        if not _present(start, end, unit, sow) or (f_tz is not None and _nullish(tz)):
            return None
        for v, what in ((start, "startDate"), (end, "endDate")):
            if not isinstance(v, (_dt.datetime, ObjectId, Timestamp)):
                raise _fail(5166307, f"$dateDiff requires '{what}' to be a date, but got {_type_name(v)}")
        unit = _unit("$dateDiff", unit)
        zone = _parse_timezone(tz)
        week_start = _start_of_week("$dateDiff", sow) if unit == "week" else 6
        return Int64(date_diff(_date_arg(start), _date_arg(end), unit, zone, week_start))

    return diff


def date_trunc(date: _dt.datetime, unit: str, bin_size: int, tz: Any, start_of_week: int = 6) -> _dt.datetime:
    """Truncate ``date`` to a bin of ``bin_size`` ``unit`` s, bins counted from 2000-01-01 in ``tz``."""
    local = _to_local(date, tz)
    if unit in ("year", "quarter", "month"):
        months = {"year": 12, "quarter": 3, "month": 1}[unit] * bin_size
        since = (local.year - 2000) * 12 + local.month - 1
        start = since - since % months
        year, month = divmod(2000 * 12 + start, 12)
        return _from_local(_dt.datetime(year, month + 1, 1), tz)
    if unit == "week":
        ref = _dt.datetime(2000, 1, 1)
        ref = ref + _dt.timedelta(days=(start_of_week - ref.weekday()) % 7)  # first week start in 2000
        days = (local.toordinal() - ref.toordinal())
        start = days - days % (7 * bin_size)
        return _from_local(ref + _dt.timedelta(days=start), tz)
    size = _UNIT_MS[unit] * bin_size
    ref = _dt.datetime(2000, 1, 1)
    local_ms = (local - ref) // _MS
    return _from_local(ref + _dt.timedelta(milliseconds=local_ms - local_ms % size), tz)


@_operator("$dateTrunc")
def _c_date_trunc(spec, scope):
    _check_named("$dateTrunc", spec, ("date", "unit", "binSize", "timezone", "startOfWeek"), ("date", "unit"),
                 (5439007, 5439008, {"date": 5439009, "unit": 5439010}))
    f_date = _compile(spec["date"], scope)
    f_unit = _compile(spec["unit"], scope)
    f_bin = _optional(spec, "binSize", scope)
    f_tz = _optional(spec, "timezone", scope)
    f_sow = _optional(spec, "startOfWeek", scope)
    if _is_constant(f_unit) and not _nullish(f_unit.constant):
        _unit("$dateTrunc", f_unit.constant)

    def trunc(doc, vars):
        v, unit = f_date(doc, vars), f_unit(doc, vars)
        bin_v = _optional_value(f_bin, doc, vars, 1)
        tz = _optional_value(f_tz, doc, vars, MISSING)
        sow = _optional_value(f_sow, doc, vars, "sunday")
        if not _present(v, unit, bin_v, sow) or (f_tz is not None and _nullish(tz)):
            return None
        if not isinstance(v, (_dt.datetime, ObjectId, Timestamp)):
            raise _fail(5439012, f"$dateTrunc requires 'date' to be a date, but got {_type_name(v)}")
        unit = _unit("$dateTrunc", unit)
        size = _as_int(bin_v) if _num_kind(bin_v) >= 0 else None
        if size is None or not INT64_MIN <= size <= INT64_MAX:
            raise _fail(5439017, f"$dateTrunc requires 'binSize' to be a 64-bit integer, but got value "
                                 f"'{_show(bin_v)}' of type {_type_name(bin_v)}")
        if size <= 0:
            raise _fail(5439018, f"$dateTrunc requires 'binSize' to be greater than 0, but got value {size}")
        zone = _parse_timezone(tz)
        week_start = _start_of_week("$dateTrunc", sow) if unit == "week" else 6
        return date_trunc(_date_arg(v), unit, size, zone, week_start)

    return trunc


# ---------------------------------------------------------------------------
# Accumulators ($group) and their expression forms ($sum: [...] in $project)
# ---------------------------------------------------------------------------


class _Sum:
    """Running sum with the server's widening: int32 -> long -> double, any decimal -> decimal."""

    # Doubles are summed with Neumaier compensation (``floats`` + ``comp``): the
    # server sums doubles in double-double precision, so naive addition would
    # differ from it in the last bits.
    __slots__ = ("kind", "ints", "floats", "comp", "dec", "count")

    def __init__(self):
        self.kind = 0
        self.ints = 0
        self.floats = 0.0
        self.comp = 0.0
        self.dec = None
        self.count = 0

    def add(self, v) -> None:
        t = type(v)
        if t is int and INT32_MIN <= v <= INT32_MAX:  # the common cases first
            self.ints += v
            self.count += 1
            return
        if t is float:
            self._add_float(v)
            self.count += 1
            if self.kind < 2:
                self.kind = 2
            return
        k = _num_kind(v)
        if k < 0:
            return  # non-numeric values are ignored by $sum/$avg
        self.count += 1
        if k > self.kind:
            self.kind = k
        if k <= 1:
            self.ints += int(v)
        else:
            d = v.to_decimal()
            self.dec = d if self.dec is None else _DEC_CTX.add(self.dec, d)

    def _add_float(self, x: float) -> None:
        s = self.floats
        total = s + x
        if math.isfinite(total):
            if abs(s) >= abs(x):
                self.comp += (s - total) + x
            else:
                self.comp += (x - total) + s
        self.floats = total

    def _float_total(self) -> float:
        total = self.floats + self.comp if math.isfinite(self.floats) else self.floats
        return total + self.ints if self.ints else total

    def total(self):
        if self.kind <= 1:
            return _int_result(self.ints, self.kind)
        if self.kind == 2:
            return self._float_total()
        d = self.dec if self.dec is not None else Decimal(0)
        d = _DEC_CTX.add(d, Decimal(self.ints))
        if self.floats:
            d = _DEC_CTX.add(d, _to_decimal(self.floats + self.comp))
        return _dec(d)

    def average(self):
        if not self.count:
            return None
        if self.kind == 3:
            return _dec(_DEC_CTX.divide(self.total().to_decimal(), Decimal(self.count)))
        if self.kind <= 1:
            return self.ints / self.count
        return self._float_total() / self.count


class _StdDev:
    __slots__ = ("n", "mean", "m2", "sample")

    def __init__(self, sample: bool):
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.sample = sample

    def add(self, v) -> None:
        if _num_kind(v) < 0:
            return
        x = _to_float(v)
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def result(self):
        if self.n == 0 or (self.sample and self.n < 2):
            return None
        return math.sqrt(self.m2 / (self.n - 1 if self.sample else self.n))


def _positional_or_array(values: list) -> list:
    """Expression-form accumulators: one array argument means its elements."""
    if len(values) == 1 and isinstance(values[0], list):
        return values[0]
    return values


def _sum_of(values):
    s = _Sum()
    for v in values:
        s.add(v)
    return s.total()


def _avg_of(values):
    s = _Sum()
    for v in values:
        s.add(v)
    return s.average()


def _extreme_of(values, sign: int, key: Callable[[Any], tuple] = bsontypes.sort_key):
    best = MISSING
    best_key = None
    for v in values:
        if v is None or v is MISSING:
            continue
        k = key(v)
        if best is MISSING or (k > best_key if sign > 0 else k < best_key):
            best, best_key = v, k
    return None if best is MISSING else best


def _std_dev_of(values, sample: bool):
    acc = _StdDev(sample)
    for v in values:
        acc.add(v)
    return acc.result()


def _expression_accumulator(name: str, fn) -> None:
    def compile_acc(spec, scope):
        fns = _args(name, spec, scope)

        def evaluate(doc, vars):
            values = _positional_or_array([f(doc, vars) for f in fns])
            return fn(values)

        return evaluate

    _OPERATORS[name] = compile_acc


_expression_accumulator("$sum", _sum_of)
_expression_accumulator("$avg", _avg_of)
def _extreme_expression(name: str, sign: int) -> None:
    def compile_extreme(spec, scope):
        fns = _args(name, spec, scope)
        key = _value_key()
        return lambda doc, vars: _extreme_of(_positional_or_array([f(doc, vars) for f in fns]), sign, key)

    _OPERATORS[name] = compile_extreme


_extreme_expression("$max", 1)
_extreme_expression("$min", -1)
_expression_accumulator("$stdDevPop", lambda values: _std_dev_of(values, False))
_expression_accumulator("$stdDevSamp", lambda values: _std_dev_of(values, True))


def _n_value(name: str, v: Any) -> int:
    if _num_kind(v) < 0 or _as_int(v) is None:
        raise _fail(5787902, f"Value for 'n' must be of integral type, but found {_show(v)}")
    n = _as_int(v)
    if n <= 0:
        raise _fail(5787908, f"'n' must be greater than 0, found {n}")
    return n


def _array_n_expression(name: str, pick) -> None:
    """$firstN/$lastN/$maxN/$minN as expressions: {n, input} over an array."""

    def compile_n(spec, scope):
        if not isinstance(spec, dict):
            raise _fail(5787801, f"specification must be an object; found {_show(spec)}")
        for key in spec:
            if key not in ("n", "input"):
                raise _fail(5787901, f"Unknown argument for 'n' operator: {key}")
        if "n" not in spec:
            raise _fail(5787906, f"Missing value for 'n'")
        if "input" not in spec:
            raise _fail(5787907, f"Missing value for 'input'")
        f_n = _compile(spec["n"], scope)
        f_input = _compile(spec["input"], scope)

        def evaluate(doc, vars):
            n = _n_value(name, f_n(doc, vars))
            arr = f_input(doc, vars)
            if not isinstance(arr, list):
                raise _fail(5788200, f"Input must be an array")
            return pick(arr, n)

        return evaluate

    _OPERATORS[name] = compile_n


def _sorted_present(arr, reverse: bool):
    present = [v for v in arr if v is not None and v is not MISSING]
    return sorted(present, key=bsontypes.sort_key, reverse=reverse)


_array_n_expression("$firstN", lambda arr, n: arr[:n])
_array_n_expression("$lastN", lambda arr, n: arr[-n:])
_array_n_expression("$maxN", lambda arr, n: _sorted_present(arr, True)[:n])
_array_n_expression("$minN", lambda arr, n: _sorted_present(arr, False)[:n])


def _percentile_spec(name: str, spec: Any, scope: frozenset):
    """(input evaluator, list of p values or None for $median) of $percentile / $median."""
    allowed = ("input", "p", "method") if name == "$percentile" else ("input", "method")
    if not isinstance(spec, dict):
        raise _fail(7436100, f"specification must be an object; found {_show(spec)}")
    for key in spec:
        if key not in allowed:
            raise _fail(40415, f"BSON field '{name}.{key}' is an unknown field.")
    for key in allowed:
        if key not in spec:
            raise _fail(40414, f"BSON field '{name}.{key}' is missing but a required field")
    if spec["method"] not in ("approximate", "discrete", "continuous"):
        raise _fail(BAD_VALUE, f"Enumeration value '{spec['method']}' for field '{name}.method' is not a "
                               "valid value.")
    if spec["method"] == "continuous":
        raise NotImplementedError(f"{name} method 'continuous' is not supported by the memory engine")
    ps = None
    if name == "$percentile":
        ps = spec["p"]
        if not isinstance(ps, list) or not ps or not all(
                _num_kind(p) >= 0 and 0 <= _to_float(p) <= 1 for p in ps):
            raise _fail(7750301, f"The $percentile 'p' field must be an array of numbers from [0.0, 1.0], "
                                 f"but found: {_show(ps)}")
        ps = [_to_float(p) for p in ps]
    return _compile(spec["input"], scope), ps


def _percentiles(values: list, ps: list | None):
    """Discrete percentiles (the value at rank ceil(p*n)), as doubles; $median when ``ps`` is None."""
    numbers = sorted(_to_float(v) for v in values if _num_kind(v) >= 0 and not (
        isinstance(v, float) and math.isnan(v)))
    wanted = [0.5] if ps is None else ps
    if not numbers:
        return None
    n = len(numbers)
    out = [numbers[min(n - 1, max(0, math.ceil(p * n) - 1))] for p in wanted]
    return out[0] if ps is None else out


def _percentile_expression(name: str):
    def compile_percentile(spec, scope):
        f_input, ps = _percentile_spec(name, spec, scope)

        def percentile(doc, vars):
            v = f_input(doc, vars)
            return _percentiles(v if isinstance(v, list) else [v], ps)

        return percentile

    _OPERATORS[name] = compile_percentile


_percentile_expression("$percentile")
_percentile_expression("$median")


class Accumulator:
    """One group's running state; ``add(doc, vars)`` then ``result()``."""

    __slots__ = ()

    def add(self, doc, vars) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def result(self):  # pragma: no cover - interface
        raise NotImplementedError


class _AccSpec:
    """A compiled accumulator: ``new()`` makes the per-group state."""

    __slots__ = ("name", "factory")

    def __init__(self, name, factory):
        self.name = name
        self.factory = factory

    def new(self) -> Accumulator:
        return self.factory()


class _CountingSumAcc(Accumulator):
    """``{$sum: 1}``: counts documents (an int32 count widening to long)."""

    __slots__ = ("n",)

    def __init__(self):
        self.n = 0

    def add(self, doc, vars):
        self.n += 1

    def result(self):
        return _int_result(self.n, 0)


def _simple_acc(name: str, arg: Any, scope: frozenset, make):
    if name == "$sum" and type(arg) is int and arg == 1:
        return _AccSpec(name, _CountingSumAcc)
    f = _compile(arg, scope)
    if isinstance(arg, list) and name not in ("$push", "$addToSet", "$first", "$last", "$mergeObjects"):
        raise _fail(40237, f"The {name} accumulator is a unary operator")
    return _AccSpec(name, lambda: make(f))


class _SumAcc(_Sum):
    """$sum / $avg over the group (a _Sum fed by an expression)."""

    __slots__ = ("f", "avg")

    def __init__(self, f, avg=False):
        _Sum.__init__(self)
        self.f = f
        self.avg = avg

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if type(v) is int and INT32_MIN <= v <= INT32_MAX:
            self.ints += v
            self.count += 1
        else:
            _Sum.add(self, v)

    def result(self):
        return self.average() if self.avg else self.total()


class _ExtremeAcc(Accumulator):
    __slots__ = ("f", "best", "best_key", "sign", "key")

    def __init__(self, f, sign, key=bsontypes.sort_key):
        self.f = f
        self.best = MISSING
        self.best_key = None
        self.sign = sign
        self.key = key

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if v is None or v is MISSING:
            return
        k = self.key(v)
        if self.best is MISSING or (k > self.best_key if self.sign > 0 else k < self.best_key):
            self.best, self.best_key = v, k

    def result(self):
        return None if self.best is MISSING else self.best


class _FirstAcc(Accumulator):
    __slots__ = ("f", "value", "seen")

    def __init__(self, f):
        self.f = f
        self.value = None
        self.seen = False

    def add(self, doc, vars):
        if not self.seen:
            self.seen = True
            v = self.f(doc, vars)
            self.value = None if v is MISSING else v

    def result(self):
        return self.value


class _LastAcc(_FirstAcc):
    __slots__ = ()

    def add(self, doc, vars):
        v = self.f(doc, vars)
        self.value = None if v is MISSING else v


class _PushAcc(Accumulator):
    __slots__ = ("f", "items")

    def __init__(self, f):
        self.f = f
        self.items = []

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if v is not MISSING:
            self.items.append(v)

    def result(self):
        return self.items


class _AddToSetAcc(Accumulator):
    __slots__ = ("f", "items", "keys", "key")

    def __init__(self, f, key=bsontypes.sort_key):
        self.f = f
        self.items = []
        self.keys = set()
        self.key = key

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if v is MISSING:
            return
        k = self.key(v)
        if k not in self.keys:
            self.keys.add(k)
            self.items.append(v)

    def result(self):
        return self.items


class _MergeAcc(Accumulator):
    __slots__ = ("f", "out")

    def __init__(self, f):
        self.f = f
        self.out = {}

    def add(self, doc, vars):
        v = self.f(doc, vars)
        self.out.update(merge_objects([v]))

    def result(self):
        return self.out


class _StdDevAcc(Accumulator):
    __slots__ = ("f", "s")

    def __init__(self, f, sample):
        self.f = f
        self.s = _StdDev(sample)

    def add(self, doc, vars):
        self.s.add(self.f(doc, vars))

    def result(self):
        return self.s.result()


class _PercentileAcc(Accumulator):
    __slots__ = ("f", "ps", "values")

    def __init__(self, f, ps):
        self.f = f
        self.ps = ps
        self.values = []

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if _num_kind(v) >= 0:
            self.values.append(v)

    def result(self):
        return _percentiles(self.values, self.ps)


class _CountAcc(Accumulator):
    __slots__ = ("n",)

    def __init__(self):
        self.n = 0

    def add(self, doc, vars):
        self.n += 1

    def result(self):
        return self.n


class _NAcc(Accumulator):
    """$firstN/$lastN/$maxN/$minN/$topN/$bottomN/$top/$bottom over the group."""

    __slots__ = ("spec", "items", "n", "seq")

    def __init__(self, spec):
        self.spec = spec
        self.items = []
        self.n = None
        self.seq = 0

    def add(self, doc, vars):
        spec = self.spec
        if self.n is None:
            self.n = 1 if spec.single else _n_value(spec.name, spec.f_n(doc, vars))
        v = spec.f_value(doc, vars)
        if spec.skip_null and (v is None or v is MISSING):
            return
        if v is MISSING:
            v = None
        if spec.mode == "first":
            if len(self.items) < self.n:
                self.items.append(v)
            return
        if spec.mode == "last":
            self.items.append(v)
            if len(self.items) > self.n:
                del self.items[0]
            return
        key = spec.key(doc, v)
        self.seq += 1
        self.items.append((key, self.seq, v))
        if len(self.items) > 4 * self.n + 16:  # keep memory bounded: trim to the best n now and then
            self._trim()

    def _trim(self):
        spec = self.spec
        self.items.sort(key=lambda t: (t[0], t[1]), reverse=False)
        del self.items[self.n:]

    def result(self):
        spec = self.spec
        if spec.mode in ("first", "last"):
            out = self.items
        else:
            if self.n is not None:
                self._trim()
            if spec.name in ("$bottom", "$bottomN"):
                # Chosen from the end (ties keep the earlier input), output in sort order.
                self.items.sort(key=lambda t: (t[0].k, t[1]))
            out = [v for _, _, v in self.items]
        if spec.single:
            return out[0] if out else None
        return out


class _NSpec:
    __slots__ = ("name", "mode", "single", "f_n", "f_value", "skip_null", "key")


def _compile_n_accumulator(name: str, arg: Any, scope: frozenset) -> _AccSpec:
    spec = _NSpec()
    spec.name = name
    spec.single = name in ("$top", "$bottom")
    sort_based = name in ("$top", "$bottom", "$topN", "$bottomN")
    allowed = {"n", "sortBy", "output"} if sort_based else {"n", "input"}
    if spec.single:
        allowed.discard("n")
    if not isinstance(arg, dict):
        raise _fail(5787801, f"specification must be an object; found {_show(arg)}")
    for key in arg:
        if key not in allowed:
            raise _fail(5788002 if sort_based else 5787901, f"Unknown argument to {name} '{key}'")
    for key in sorted(allowed):
        if key not in arg:
            raise _fail(5788003 if sort_based else 5787906, f"Missing value for '{key}'")
    spec.f_n = None if spec.single else _compile(arg["n"], scope)
    if sort_based:
        spec.f_value = _compile(arg["output"], scope)
        spec.skip_null = False
        spec.mode = "sort"
        if not isinstance(arg["sortBy"], dict):
            raise _fail(5788604, f"{name} requires 'sortBy' to be an object")
        from ..sort import compile_sort

        current = _COLLATION.get()
        sorter = compile_sort(arg["sortBy"], collation=current[0] if current is not None else None)
        descending = name in ("$bottom", "$bottomN")
        if descending:
            # bottom = the last n in sort order: reverse each key component.
            spec.key = lambda doc, v, k=sorter.sort_key: _Reversed(k(doc))
        else:
            spec.key = lambda doc, v, k=sorter.sort_key: k(doc)
    else:
        spec.f_value = _compile(arg["input"], scope)
        spec.skip_null = name in ("$maxN", "$minN")
        if name == "$firstN":
            spec.mode = "first"
        elif name == "$lastN":
            spec.mode = "last"
        else:
            spec.mode = "sort"
            if name == "$maxN":
                spec.key = lambda doc, v: _Reversed(bsontypes.sort_key(v))
            else:
                spec.key = lambda doc, v: bsontypes.sort_key(v)
    return _AccSpec(name, lambda: _NAcc(spec))


class _Reversed:
    """Inverts the order of a sort key (for $bottomN/$maxN)."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __lt__(self, other):
        return other.k < self.k

    def __gt__(self, other):
        return other.k > self.k

    def __eq__(self, other):
        return self.k == other.k


ACCUMULATORS = frozenset({
    "$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet", "$count", "$mergeObjects",
    "$stdDevPop", "$stdDevSamp", "$top", "$bottom", "$topN", "$bottomN", "$firstN", "$lastN", "$maxN", "$minN",
    "$median", "$percentile",
})


def compile_accumulator(name: str, arg: Any, *, variables: frozenset | set = frozenset(),
                        collation: Any = None) -> _AccSpec:
    """Compile a ``$group`` accumulator; ``.new()`` gives a state with ``add``/``result``.

        >>> acc = compile_accumulator("$sum", "$qty").new()
        >>> for d in ({"qty": 2}, {"qty": 3}, {}):
        ...     acc.add(d, {})
        >>> acc.result()
        5
    """
    return _with_collation(collation, lambda: _compile_accumulator(name, arg, frozenset(variables)))


def _compile_accumulator(name: str, arg: Any, scope: frozenset) -> _AccSpec:
    key = _value_key()
    if name == "$sum":
        return _simple_acc(name, arg, scope, lambda f: _SumAcc(f))
    if name == "$avg":
        return _simple_acc(name, arg, scope, lambda f: _SumAcc(f, avg=True))
    if name == "$max":
        return _simple_acc(name, arg, scope, lambda f: _ExtremeAcc(f, 1, key))
    if name == "$min":
        return _simple_acc(name, arg, scope, lambda f: _ExtremeAcc(f, -1, key))
    if name == "$first":
        return _simple_acc(name, arg, scope, _FirstAcc)
    if name == "$last":
        return _simple_acc(name, arg, scope, _LastAcc)
    if name == "$push":
        return _simple_acc(name, arg, scope, _PushAcc)
    if name == "$addToSet":
        return _simple_acc(name, arg, scope, lambda f: _AddToSetAcc(f, key))
    if name == "$mergeObjects":
        return _simple_acc(name, arg, scope, _MergeAcc)
    if name == "$stdDevPop":
        return _simple_acc(name, arg, scope, lambda f: _StdDevAcc(f, False))
    if name == "$stdDevSamp":
        return _simple_acc(name, arg, scope, lambda f: _StdDevAcc(f, True))
    if name == "$count":
        if arg != {}:
            raise _fail(BAD_VALUE, "$count takes no arguments, i.e. $count:{}")
        return _AccSpec(name, _CountAcc)
    if name in ("$top", "$bottom", "$topN", "$bottomN", "$firstN", "$lastN", "$maxN", "$minN"):
        return _compile_n_accumulator(name, arg, scope)
    if name == "$accumulator":
        _reject_javascript(name)(arg, scope)
    if name in ("$median", "$percentile"):
        f_input, ps = _percentile_spec(name, arg, scope)
        return _AccSpec(name, lambda: _PercentileAcc(f_input, ps))
    raise _fail(15952, f"unknown group operator '{name}'")
