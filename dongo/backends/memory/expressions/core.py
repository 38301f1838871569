"""The expression compiler: value helpers, the operator registry, field paths and variables.

Every operator family module registers its compile functions in
:data:`_OPERATORS` with the :func:`_operator` decorator (or helpers such as
:func:`_simple` built on it).  :func:`_compile` looks an operator up once, at
compile time, and the closure it returns is called directly for each
document, so the registry costs nothing per evaluation.

    >>> _compile({"$literal": "$a"}, frozenset())({}, {})   # after the package is imported
    '$a'
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import math
import re
from decimal import Decimal
from typing import Any, Callable, Iterable

from bson.decimal128 import Decimal128, create_decimal128_context
from bson.int64 import Int64
from bson.timestamp import Timestamp

from .. import bsontypes
from ..bsontypes import MISSING
from ..errors import INVALID_PIPELINE_OPERATOR, ServerError


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
        # the server's values for $redact's actions are these lowercase strings
        return _constant(name.lower())
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


def _check_arguments(name: str, spec: Any, allowed: Iterable[str], required: Iterable[str] = (), *,
                     not_object: tuple[int, str] | None, unknown: tuple[int, str],
                     missing: tuple[Any, str] | None = None) -> None:
    """Validate a document of named arguments the way the server parses one.

    In the server's order: ``spec`` must be an object (``not_object``; None
    when the caller has already handled other shapes), every field must be in
    ``allowed`` (``unknown``), every field of ``required`` present, checked in
    that order (``missing``, whose code may be a ``{field: code}`` dict).  Each
    is a ``(code, message)`` pair; the message is a ``str.format`` template
    with ``{name}``, ``{key}`` (the field), ``{type}`` (the argument's type
    name), ``{spec}`` (the argument shown) and ``{allowed}`` (", "-joined).

        >>> try:
        ...     _check_arguments("$map", {"input": []}, ("input", "as", "in"), ("input", "in"),
        ...                      not_object=(16878, "{name} only supports an object as its argument"),
        ...                      unknown=(16879, "Unrecognized parameter to {name}: {key}"),
        ...                      missing=(16882, "Missing '{key}' parameter to {name}"))
        ... except ServerError as exc:
        ...     print(exc.code, exc.args[0] if exc.args else exc)
        16882 Missing 'in' parameter to $map
    """
    if not_object is not None and not isinstance(spec, dict):
        raise _argument_error(not_object[0], not_object[1], name, spec, None, allowed)
    for key in spec:
        if key not in allowed:
            raise _argument_error(unknown[0], unknown[1], name, spec, key, allowed)
    for key in required:
        if key not in spec:
            code = missing[0][key] if isinstance(missing[0], dict) else missing[0]
            raise _argument_error(code, missing[1], name, spec, key, allowed)


def _argument_error(code: int, template: str, name: str, spec: Any, key: Any, allowed: Iterable[str]
                    ) -> ServerError:
    # Only the fields the message names are computed (showing a large argument is not free).
    fields = {"name": name, "key": key}
    if "{type}" in template:
        fields["type"] = _type_name(spec)
    if "{spec}" in template:
        fields["spec"] = _show(spec)
    if "{allowed}" in template:
        fields["allowed"] = ", ".join(allowed)
    return _fail(code, template.format(**fields))


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
