"""Conditionals: ``$cond``, ``$ifNull`` and ``$switch``.

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$ifNull": ["$a", "default"]})({}, {})
    'default'
"""

from __future__ import annotations

from ..bsontypes import MISSING
from .core import _arg_list, _args, _check_arguments, _compile, _fail, _operator, truthy, _type_name


@_operator("$cond")
def _c_cond(spec, scope):
    if isinstance(spec, dict):
        _check_arguments("$cond", spec, ("if", "then", "else"), ("if", "then", "else"), not_object=None,
                         unknown=(17083, "Unrecognized parameter to {name}: {key}"),
                         missing=({"if": 17080, "then": 17081, "else": 17082}, "Missing '{key}' parameter to {name}"))
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
