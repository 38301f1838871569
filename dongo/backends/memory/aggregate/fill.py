"""Gap filling stages: ``$fill`` and ``$densify``.

    >>> from dongo.backends.memory.aggregate import run_pipeline
    >>> list(run_pipeline([{"$densify": {"field": "a", "range": {"step": 1, "bounds": "full"}}}],
    ...                   [{"a": 1}, {"a": 3}]))
    [{'a': 1}, {'a': 2}, {'a': 3}]
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterator

from .. import expressions as _expr
from ..bsontypes import MISSING, compare, sort_key
from ..errors import FAILED_TO_PARSE, TYPE_MISMATCH
from ..expressions import arithmetic as _arith, core as _core
from .pipeline import Stage, _check_stage_fields, _Compile, compile_pipeline, _fail, _integral_value, _show, _stage
from .grouping import _value_key
from .shaping import _field_path_parts
from .unwind import _get_nested, _set_nested_create


@_stage("$fill")
def _fill(spec, c: _Compile) -> Stage:
    """``$fill``: what the server rewrites it to, $setWindowFields ($locf/$linearFill) then $ifNull values."""
    _check_stage_fields("$fill", spec, ("partitionBy", "partitionByFields", "sortBy", "output"), ("output",),
                        (TYPE_MISMATCH, "the {name} stage specification must be an object"))
    if "partitionBy" in spec and "partitionByFields" in spec:
        raise _fail(6050204, "Maximum one of 'partitionBy' and 'partitionByFields can be specified in '$fill'")
    output = spec["output"]
    if not isinstance(output, dict) or not output:
        raise _fail(TYPE_MISMATCH, "BSON field '$fill.output' must be a non-empty object")
    window_output, values = {}, {}
    for field, how in output.items():
        if not isinstance(how, dict) or len(how) != 1 or next(iter(how)) not in ("value", "method"):
            raise _fail(6050203, "Exactly one of 'value' or 'method' must be specified in a $fill output field")
        if "value" in how:
            values[field] = {"$ifNull": ["$" + field, how["value"]]}
        else:
            method = how["method"]
            if method not in ("locf", "linear"):
                raise _fail(6050202, f"Method must be either locf or linear, got: {_show(method)}")
            if method == "linear" and "sortBy" not in spec:
                raise _fail(6050201, "sortBy required for linear fill")
            window_output[field] = {"$locf" if method == "locf" else "$linearFill": "$" + field}
    stages: list = []
    if window_output:
        window: dict = {"output": window_output}
        if "partitionBy" in spec:
            window["partitionBy"] = spec["partitionBy"]
        elif "partitionByFields" in spec:
            fields = spec["partitionByFields"]
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                raise _fail(TYPE_MISMATCH, "partitionByFields must be an array of strings")
            window["partitionBy"] = {f: "$" + f for f in fields}
        if "sortBy" in spec:
            window["sortBy"] = spec["sortBy"]
        stages.append({"$setWindowFields": window})
    elif "sortBy" in spec:
        stages.append({"$sort": spec["sortBy"]})
    if values:
        stages.append({"$addFields": values})
    sub = compile_pipeline(stages, variables=c.scope, collation=c.collation, inside="$fill")
    return lambda docs, run: sub.run(docs, run.context, run.vars)


@_stage("$densify")
def _densify(spec, c: _Compile) -> Stage:
    """``$densify``: documents filling the gaps of a numeric or date field, by partition."""
    _check_stage_fields("$densify", spec, ("field", "partitionByFields", "range"), ("field", "range"),
                        (TYPE_MISMATCH, "the {name} stage specification must be an object"))
    field = spec["field"]
    if not isinstance(field, str):
        raise _fail(TYPE_MISMATCH, "BSON field '$densify.field' is the wrong type, expected type 'string'")
    if field.startswith("$"):
        raise _fail(16410, "FieldPath field names may not start with '$'.")
    field_parts = _field_path_parts(field, "$densify")
    partition_fields = spec.get("partitionByFields", [])
    if not isinstance(partition_fields, list) or not all(isinstance(f, str) for f in partition_fields):
        raise _fail(TYPE_MISMATCH, "BSON field '$densify.partitionByFields' must be an array of strings")
    partition_parts = [_field_path_parts(f, "$densify") for f in partition_fields]
    rng = spec["range"]
    if not isinstance(rng, dict) or "step" not in rng or "bounds" not in rng:
        raise _fail(40414, "BSON field '$densify.range.step' and 'bounds' are required")
    for key in rng:
        if key not in ("step", "unit", "bounds"):
            raise _fail(40415, f"BSON field '$densify.range.{key}' is an unknown field.")
    step, unit, bounds = rng["step"], rng.get("unit"), rng["bounds"]
    if isinstance(step, bool) or _core._num_kind(step) < 0 or _core._to_float(step) <= 0:
        raise _fail(5733401, "the step parameter in a range statement must be a strictly positive numeric value")
    if unit is not None:
        if unit not in ("millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year"):
            raise _fail(FAILED_TO_PARSE, f"unknown time unit value: {unit}")
        if _integral_value(step) is None:
            raise _fail(5733402, "The step parameter in a range satement must be a whole number when "
                                 "densifying a date range")
    if isinstance(bounds, list):
        if len(bounds) != 2 or not all(isinstance(b, _dt.datetime) if unit else
                                       (_core._num_kind(b) >= 0) for b in bounds):
            raise _fail(5733403, "a bounding array in a range statement must have exactly two elements of the "
                                 "field's type (dates with a unit, numbers without)")
        if compare(bounds[0], bounds[1]) > 0:
            raise _fail(5733404, "the lower bound of a range must not be greater than the upper bound")
    elif bounds not in ("full", "partition"):
        raise _fail(5946800, "bounds must be 'full', 'partition' or an array of two values")

    def advance(v: Any) -> Any:
        if unit is not None:
            return _expr.date_add(v, unit, int(step), None)
        return _arith._add_values([v, step])

    def check(v: Any) -> None:
        if unit is not None and not isinstance(v, _dt.datetime):
            raise _fail(5733501, f"Densify field type must be a date when a unit is given, found "
                                 f"{_core._type_name(v)}")
        if unit is None and _core._num_kind(v) < 0:
            raise _fail(5733201, f"Densify field type must be numeric, found {_core._type_name(v)}")

    def new_doc(value: Any, key_values: list) -> dict:
        doc = _set_nested_create({}, field_parts, value)
        for parts, kv in zip(partition_parts, key_values):
            if kv is not MISSING:
                doc = _set_nested_create(doc, parts, kv)
        return doc

    def fill(rows: list, key_values: list, lo: Any, hi: Any, hi_inclusive: bool) -> Iterator[dict]:
        current = lo
        for d in rows:
            v = _get_nested(d, field_parts)
            if v is MISSING or v is None:
                yield d
                continue
            if current is not None:
                while compare(current, v) < 0 and (hi is None or compare(current, hi) < 0):
                    yield new_doc(current, key_values)
                    current = advance(current)
                while current is not None and compare(current, v) <= 0:
                    current = advance(current)
            yield d
        if current is not None and hi is not None:
            while compare(current, hi) < 0 or (hi_inclusive and compare(current, hi) == 0):
                yield new_doc(current, key_values)
                current = advance(current)

    def densify(docs, run):
        pool = list(docs)
        for d in pool:
            v = _get_nested(d, field_parts)
            if v is not MISSING and v is not None:
                check(v)
        partitions: dict = {}
        key_of = _value_key(run)  # partition keys are equal under the aggregation's collation
        for d in pool:
            key_values = [_get_nested(d, parts) for parts in partition_parts]
            k = tuple(key_of(None if v is MISSING else v) for v in key_values)
            partitions.setdefault(k, (key_values, []))[1].append(d)
        values = [v for v in (_get_nested(d, field_parts) for d in pool) if v is not MISSING and v is not None]
        full_lo = min(values, key=sort_key) if values else None
        full_hi = max(values, key=sort_key) if values else None
        for k in sorted(partitions):
            key_values, rows = partitions[k]
            rows.sort(key=lambda d: sort_key(_none_if_missing(_get_nested(d, field_parts))))
            if isinstance(bounds, list):
                lo, hi = bounds
                inside = [d for d in rows if _in_range(_get_nested(d, field_parts), lo, hi)]
                before = [d for d in rows if d not in inside and _below(_get_nested(d, field_parts), lo)]
                after = [d for d in rows if d not in inside and d not in before]
                yield from before
                yield from fill(inside, key_values, lo, hi, False)
                yield from after
            elif bounds == "full":
                yield from fill(rows, key_values, full_lo, full_hi, False)
            else:
                present = [v for v in (_get_nested(d, field_parts) for d in rows) if v is not MISSING and v is not None]
                lo = min(present, key=sort_key) if present else None
                hi = max(present, key=sort_key) if present else None
                yield from fill(rows, key_values, lo, hi, False)

    return densify


def _none_if_missing(v: Any) -> Any:
    return None if v is MISSING else v


def _in_range(v: Any, lo: Any, hi: Any) -> bool:
    return v is not MISSING and v is not None and compare(v, lo) >= 0 and compare(v, hi) < 0


def _below(v: Any, lo: Any) -> bool:
    return v is MISSING or v is None or compare(v, lo) < 0
