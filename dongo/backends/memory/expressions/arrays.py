"""Array operators: element access, ``$filter``/``$map``/``$reduce``, slicing, ``$zip``, sorting.

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$filter": {"input": "$a", "cond": {"$gt": ["$$this", 1]}}})({"a": [1, 2, 3]}, {})
    [2, 3]
"""

from __future__ import annotations

from typing import Any

from ..bsontypes import MISSING
from .core import (_args, _as_int, _as_int32, _check_arguments, _COLLATION, _compile, _fail, _nullish, _num_kind,
                   _operator, _show, _simple, truthy, _type_name, validate_variable_name, _value_key)


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
    _check_arguments("$filter", spec, ("input", "as", "cond", "limit"), ("input", "cond"),
                     not_object=(28646, "{name} only supports an object as its argument"),
                     unknown=(28647, "Unrecognized parameter to {name}: {key}"),
                     missing=({"input": 28648, "cond": 28650}, "Missing '{key}' parameter to {name}"))
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
    _check_arguments("$map", spec, ("input", "as", "in"), ("input", "in"),
                     not_object=(16878, "{name} only supports an object as its argument"),
                     unknown=(16879, "Unrecognized parameter to {name}: {key}"),
                     missing=({"input": 16880, "in": 16882}, "Missing '{key}' parameter to {name}"))
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
    _check_arguments("$reduce", spec, ("input", "initialValue", "in"), ("input", "initialValue", "in"),
                     not_object=(40075, "{name} only supports an object as its argument, found: {type}"),
                     unknown=(40076, "{name} found an unknown argument: {key}"),
                     missing=({"input": 40077, "initialValue": 40078, "in": 40079},
                              "{name} requires '{key}' to be specified"))
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
    _check_arguments("$zip", spec, ("inputs", "useLongestLength", "defaults"), ("inputs",),
                     not_object=(34460, "{name} only supports an object as an argument, found {type}"),
                     unknown=(34464, "{name} found an unknown argument: {key}"),
                     missing=(34465, "{name} requires at least one input array"))
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
    _check_arguments("$sortArray", spec, ("input", "sortBy"), ("input", "sortBy"),
                     not_object=(2942500, "{name} requires an object as an argument, found: {type}"),
                     unknown=(2942501, "{name} found an unknown argument: {key}"),
                     missing=({"input": 2942502, "sortBy": 2942503}, "{name} requires '{key}' to be specified"))
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
