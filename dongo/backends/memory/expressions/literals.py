"""``$literal``, ``$let``, ``$rand``, ``$meta`` and the refused JavaScript operators.

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$let": {"vars": {"x": 2}, "in": {"$multiply": ["$$x", 3]}}})({}, {})
    6
"""

from __future__ import annotations

import random

from .core import _check_arguments, _compile, _constant, _fail, _operator, _OPERATORS, validate_variable_name


@_operator("$literal")
def _c_literal(spec, scope):
    return _constant(spec)


@_operator("$let")
def _c_let(spec, scope):
    _check_arguments("$let", spec, ("vars", "in"), ("vars", "in"),
                     not_object=(16874, "{name} only supports an object as its argument"),
                     unknown=(16875, "Unrecognized parameter to {name}: {key}"),
                     missing=({"vars": 16876, "in": 16877}, "Missing '{key}' parameter to {name}"))
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
