"""Set operators: ``$setUnion``, ``$setIntersection``, ``$setEquals`` ... and ``$allElementsTrue``.

Set membership uses the compile-time collation's key (BSON equality without one).

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$setIsSubset": [[1], [1, 2]]})({}, {})
    True
"""

from __future__ import annotations

from typing import Any, Callable

from .core import _args, _fail, _nullish, _operator, _simple, truthy, _type_name, _value_key


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
