"""Object operators: ``$mergeObjects``, ``$getField``/``$setField``/``$unsetField``, sizes, timestamps.

    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$mergeObjects": [{"a": 1}, {"b": 2}]})({}, {})
    {'a': 1, 'b': 2}
"""

from __future__ import annotations

from bson.binary import Binary
from bson.int64 import Int64
from bson.timestamp import Timestamp

from ..bsontypes import MISSING
from .core import (_args, _check_arguments, _compile, _fail, is_operator_object, _nullish, _operator, _OPERATORS,
                   _show, _simple, _type_name)


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
    _check_arguments("$getField", spec, ("field", "input"), ("field",), not_object=None,
                     unknown=(3041701, "{name} found an unknown argument: {key}"),
                     missing=(3041702, "{name} requires '{key}' to be specified"))
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
    _check_arguments(name, spec, allowed, allowed,
                     not_object=(4161100, "{name} only supports an object as its argument"),
                     unknown=(4161101, "{name} found an unknown argument: {key}"),
                     missing=(4161102, "{name} requires '{key}' to be specified"))
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
