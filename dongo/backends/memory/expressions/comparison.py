"""Comparison (``$eq``, ``$cmp`` ...) and boolean logic (``$and``, ``$or``, ``$not``).

Comparisons use BSON order, or the compile-time collation for strings.

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$gt": ["$a", 1]})({"a": 2}, {})
    True
"""

from __future__ import annotations

from .. import bsontypes
from .core import _args, _COLLATION, _operator, _OPERATORS, truthy, _value_key


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
