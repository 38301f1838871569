"""``$setWindowFields``: partitions, document and range windows, rank and sequence functions.

    >>> from dongo.backends.memory.aggregate import run_pipeline
    >>> list(run_pipeline([{"$setWindowFields": {"sortBy": {"a": 1},
    ...                     "output": {"r": {"$rank": {}}}}}], [{"a": 5}, {"a": 3}]))
    [{'a': 3, 'r': 1}, {'a': 5, 'r': 2}]
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable

from .. import expressions as _expr
from ..bsontypes import MISSING, compare, sort_key
from ..errors import FAILED_TO_PARSE, TYPE_MISMATCH
from ..expressions import arithmetic as _arith, core as _core, dates as _dates
from .pipeline import Stage, _check_stage_fields, _Compile, _fail, _integral_value, _show, _stage
from .grouping import _value_key
from .shaping import _field_path_parts
from .ordering import _compile_sort
from .unwind import _set_nested_create


_RANK_FUNCTIONS = ("$rank", "$denseRank", "$documentNumber")
_SEQUENCE_FUNCTIONS = ("$shift", "$locf", "$expMovingAvg", "$linearFill")
_WINDOWED_FUNCTIONS = ("$derivative", "$integral", "$covariancePop", "$covarianceSamp")
_WINDOW_ACCUMULATORS = frozenset(_expr.ACCUMULATORS) - {"$mergeObjects"}


class _WindowOutput:
    """One ``output`` field of $setWindowFields: its function and window bounds."""

    __slots__ = ("path", "name", "arg", "acc", "expr", "kind", "lower", "upper", "unit", "extra")


def _window_bound(v: Any, kind: str, stage: str) -> Any:
    if v in ("unbounded", "current"):
        return v
    if kind == "documents":
        n = _integral_value(v)
        if n is None:
            raise _fail(FAILED_TO_PARSE, "Numeric document-based bounds must be an integer")
        return n
    if isinstance(v, bool) or _core._num_kind(v) < 0:
        raise _fail(FAILED_TO_PARSE, "Range-based bounds expression must be a number")
    return v


def _parse_window_output(path: str, spec: Any, c: _Compile, has_sort: bool, sort_fields: int) -> _WindowOutput:
    if not isinstance(spec, dict):
        raise _fail(FAILED_TO_PARSE, "Expected a $-prefixed window function")
    out = _WindowOutput()
    out.path = _field_path_parts(path, "$setWindowFields")
    names = [k for k in spec if k != "window"]
    if len(names) != 1 or not names[0].startswith("$"):
        raise _fail(FAILED_TO_PARSE, "Expected a $-prefixed window function" if not names
                    else f"Unrecognized window function, {names[0]}")
    name = names[0]
    arg = spec[name]
    out.name, out.arg = name, arg
    out.acc = out.expr = None
    out.extra = {}
    window = spec.get("window")
    out.kind, out.lower, out.upper, out.unit = "documents", "unbounded", "unbounded", None
    if window is not None:
        if not isinstance(window, dict):
            raise _fail(FAILED_TO_PARSE, "'window' field must be an object")
        for key in window:
            if key not in ("documents", "range", "unit"):
                raise _fail(FAILED_TO_PARSE, f"'window' field can only contain 'documents' as the only "
                                             f"argument or 'range' with an optional 'unit' field; found {key}")
        if "documents" in window and "range" in window:
            raise _fail(FAILED_TO_PARSE, "Window bounds can specify either 'documents' or 'unit', not both.")
        kind = "range" if "range" in window else "documents"
        bounds = window.get(kind)
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise _fail(FAILED_TO_PARSE, f"Window bounds must be a 2-element array: {kind}: {_show(bounds)}")
        out.kind = kind
        out.lower = _window_bound(bounds[0], kind, "$setWindowFields")
        out.upper = _window_bound(bounds[1], kind, "$setWindowFields")
        out.unit = window.get("unit")
        if out.unit is not None and out.unit not in _dates._UNITS:
            raise _fail(FAILED_TO_PARSE, f"unknown time unit value: {out.unit}")
        if (out.lower, out.upper) != ("unbounded", "unbounded") and not has_sort:
            raise _fail(5339901, "Document-based bounds require a sortBy" if kind == "documents"
                        else "Range-based window require sortBy a single field")
        if kind == "range" and sort_fields != 1:
            raise _fail(5339902, "Range-based bounds require sortBy a single field")
        lo, hi = out.lower, out.upper
        if lo not in ("unbounded", "current") and hi not in ("unbounded", "current") and \
                compare(lo, hi) > 0:
            raise _fail(5339900, "Lower bound must not exceed upper bound")
    if name in _RANK_FUNCTIONS:
        if arg != {}:
            raise _fail(5371601, f"{name} must be specified with '{{}}' as the value")
        if window is not None:
            raise _fail(5371601, f"{name} does not accept a window argument")
        if sort_fields != 1 and name != "$documentNumber":
            raise _fail(5371602, f"{name} must be specified with a top level sortBy expression with exactly "
                                 "one element")
        if not has_sort:
            raise _fail(5371602, f"{name} must be specified with a top level sortBy expression with exactly "
                                 "one element")
    elif name in _SEQUENCE_FUNCTIONS:
        if window is not None:
            raise _fail(FAILED_TO_PARSE, f"{name} does not accept a 'window' field")
        if name != "$locf" and not has_sort:
            raise _fail(FAILED_TO_PARSE, f"{name} requires a sortBy")
        if name == "$shift":
            if not isinstance(arg, dict) or "output" not in arg or "by" not in arg:
                raise _fail(FAILED_TO_PARSE, "$shift requires 'output' and 'by' fields")
            by = _integral_value(arg["by"])
            if by is None:
                raise _fail(FAILED_TO_PARSE, "'$shift:by' field must be an integer, but found "
                                             f"{_show(arg['by'])}")
            out.expr = c.expression(arg["output"])
            out.extra = {"by": by, "default": c.expression(arg.get("default"))}
        elif name == "$expMovingAvg":
            if not isinstance(arg, dict) or "input" not in arg or ("N" in arg) == ("alpha" in arg):
                raise _fail(FAILED_TO_PARSE, "$expMovingAvg requires an 'input' and exactly one of 'N' and "
                                             "'alpha'")
            if "N" in arg:
                n = _integral_value(arg["N"])
                if n is None or n <= 0:
                    raise _fail(FAILED_TO_PARSE, "'N' field must be an integer greater than zero")
                alpha = 2.0 / (n + 1)
            else:
                alpha = arg["alpha"]
                if _core._num_kind(alpha) < 0 or not 0 < float(alpha) < 1:
                    raise _fail(FAILED_TO_PARSE, "'alpha' must be between 0 and 1 (exclusive)")
            out.expr = c.expression(arg["input"])
            out.extra = {"alpha": _core._to_float(alpha)}
        else:
            out.expr = c.expression(arg)
    elif name in _WINDOWED_FUNCTIONS:
        if name in ("$derivative", "$integral"):
            if not isinstance(arg, dict) or "input" not in arg:
                raise _fail(FAILED_TO_PARSE, f"{name} requires an 'input' expression")
            if name == "$derivative" and window is None:
                raise _fail(5490704, "$derivative requires explicit window bounds")
            out.expr = c.expression(arg["input"])
            out.extra = {"unit": arg.get("unit")}
        else:
            if not isinstance(arg, list) or len(arg) != 2:
                raise _fail(FAILED_TO_PARSE, f"{name} requires two expressions")
            out.expr = (c.expression(arg[0]), c.expression(arg[1]))
    elif name in _WINDOW_ACCUMULATORS:
        out.acc = _expr.compile_accumulator(name, arg, variables=c.scope, collation=c.collation)
    else:
        raise _fail(FAILED_TO_PARSE, f"Unrecognized window function, {name}")
    return out


def _window_rows(out: _WindowOutput, keys: list, i: int, n: int) -> range:
    """Positions of the rows in document ``i``'s window (``keys``: sortBy values for range windows)."""
    if out.kind == "documents":
        lo = 0 if out.lower == "unbounded" else i if out.lower == "current" else max(0, i + out.lower)
        hi = n - 1 if out.upper == "unbounded" else i if out.upper == "current" else min(n - 1, i + out.upper)
        return range(lo, hi + 1) if lo <= hi else range(0)
    v = keys[i]
    if _core._num_kind(v) < 0 and not isinstance(v, _dt.datetime):
        raise _fail(5429513, "Invalid range: Expected the sortBy field to be a number or date, but it was "
                             + _core._type_name(v))
    lo_v = None if out.lower == "unbounded" else v if out.lower == "current" else _offset(v, out.lower, out.unit)
    hi_v = None if out.upper == "unbounded" else v if out.upper == "current" else _offset(v, out.upper, out.unit)
    rows = [j for j in range(n)
            if (lo_v is None or compare(keys[j], lo_v) >= 0) and (hi_v is None or compare(keys[j], hi_v) <= 0)]
    return range(rows[0], rows[-1] + 1) if rows else range(0)


def _offset(v: Any, delta: Any, unit: str | None) -> Any:
    if isinstance(v, _dt.datetime):
        if unit is None:
            raise _fail(5429513, "Invalid range: Expected the sortBy field to be a number, but it was date")
        return _expr.date_add(v, unit, int(delta), None)
    if unit is not None:
        raise _fail(5429513, "Invalid range: Expected the sortBy field to be a date, but it was "
                             + _core._type_name(v))
    return _arith._add_values([v, delta])


def _copy_result(v: Any) -> Any:
    if isinstance(v, list):
        return list(v)
    if isinstance(v, dict):
        return dict(v)
    return v


def _window_values(out: _WindowOutput, rows: list[dict], keys: list, vars: dict,
                   key_of: Callable[[Any], tuple] = sort_key) -> list:
    """The output value of ``out`` for every row of one sorted partition.

    ``key_of`` is the equality key of values under the aggregation's collation
    (ties of ``$rank``/``$denseRank``).
    """
    n = len(rows)
    name = out.name
    if out.acc is not None:
        if out.kind == "documents" and out.lower == "unbounded" and out.upper == "unbounded":
            state = out.acc.new()
            for d in rows:
                state.add(d, vars)
            value = state.result()
            return [_copy_result(value) for _ in rows]
        if out.kind == "documents" and out.lower == "unbounded" and out.upper == "current":
            state = out.acc.new()
            values = []
            for d in rows:
                state.add(d, vars)
                values.append(_copy_result(state.result()))
            return values
        values = []
        for i in range(n):
            state = out.acc.new()
            for j in _window_rows(out, keys, i, n):
                state.add(rows[j], vars)
            values.append(_copy_result(state.result()))
        return values
    if name == "$documentNumber":
        return list(range(1, n + 1))
    if name in ("$rank", "$denseRank"):
        values, rank, dense = [], 0, 0
        for i in range(n):
            if i == 0 or key_of(keys[i]) != key_of(keys[i - 1]):
                rank = i + 1
                dense += 1
            values.append(rank if name == "$rank" else dense)
        return values
    if name == "$shift":
        by, default = out.extra["by"], out.extra["default"]
        values = []
        for i in range(n):
            j = i + by
            if 0 <= j < n:
                v = out.expr(rows[j], vars)
            else:
                v = default(rows[i], vars)
            values.append(None if v is MISSING else v)
        return values
    if name == "$locf":
        values, last = [], None
        for d in rows:
            v = out.expr(d, vars)
            if v is not None and v is not MISSING:
                last = v
            values.append(last)
        return values
    if name == "$linearFill":
        raw = [out.expr(d, vars) for d in rows]
        values = [None if v is MISSING else v for v in raw]
        known = [i for i, v in enumerate(values) if v is not None]
        for a, b in zip(known, known[1:]):
            if b - a > 1:
                x0, x1 = _as_number(keys[a]), _as_number(keys[b])
                y0, y1 = _core._to_float(values[a]), _core._to_float(values[b])
                for i in range(a + 1, b):
                    values[i] = y0 + (y1 - y0) * (_as_number(keys[i]) - x0) / (x1 - x0)
        return values
    if name == "$expMovingAvg":
        alpha = out.extra["alpha"]
        values, current = [], None
        for d in rows:
            v = out.expr(d, vars)
            if _core._num_kind(v) >= 0:
                x = _core._to_float(v)
                current = x if current is None else alpha * x + (1 - alpha) * current
            values.append(current)
        return values
    if name in ("$derivative", "$integral"):
        unit = out.extra["unit"]
        scale = _dates._UNIT_MS[unit] if unit else 1
        values = []
        for i in range(n):
            window = list(_window_rows(out, keys, i, n))
            points = [(_as_number(keys[j]), out.expr(rows[j], vars)) for j in window]
            points = [(x, _core._to_float(y)) for x, y in points if _core._num_kind(y) >= 0]
            if name == "$derivative":
                if len(points) < 2 or points[-1][0] == points[0][0]:
                    values.append(None)
                else:
                    values.append((points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0]) * scale)
            else:
                total = 0.0
                for (x0, y0), (x1, y1) in zip(points, points[1:]):
                    total += (x1 - x0) * (y0 + y1) / 2
                values.append(total / scale if points else None)
        return values
    if name in ("$covariancePop", "$covarianceSamp"):
        fx, fy = out.expr
        values = []
        for i in range(n):
            pairs = []
            for j in _window_rows(out, keys, i, n):
                x, y = fx(rows[j], vars), fy(rows[j], vars)
                if _core._num_kind(x) >= 0 and _core._num_kind(y) >= 0:
                    pairs.append((_core._to_float(x), _core._to_float(y)))
            m = len(pairs) - (1 if name == "$covarianceSamp" else 0)
            if m <= 0:
                values.append(None)
                continue
            mx = sum(p[0] for p in pairs) / len(pairs)
            my = sum(p[1] for p in pairs) / len(pairs)
            values.append(sum((x - mx) * (y - my) for x, y in pairs) / m)
        return values
    raise AssertionError(name)


def _as_number(v: Any) -> float:
    if isinstance(v, _dt.datetime):
        return float(_core._date_to_ms(v))
    return _core._to_float(v)


@_stage("$setWindowFields")
def _set_window_fields(spec, c: _Compile) -> Stage:
    _check_stage_fields("$setWindowFields", spec, ("partitionBy", "sortBy", "output"), ("output",),
                        (TYPE_MISMATCH, "the {name} stage specification must be an object"))
    if not isinstance(spec["output"], dict):
        raise _fail(TYPE_MISMATCH, "BSON field '$setWindowFields.output' is the wrong type, expected type "
                                   "'object'")
    partition = c.expression(spec["partitionBy"]) if "partitionBy" in spec else None
    sort_spec = spec.get("sortBy")
    if sort_spec is not None and not isinstance(sort_spec, dict):
        raise _fail(TYPE_MISMATCH, "BSON field '$setWindowFields.sortBy' is the wrong type, expected type "
                                   "'object'")
    sort_fields = len(sort_spec) if sort_spec else 0
    if sort_spec:
        _compile_sort(sort_spec, c.collation)
    outputs = [_parse_window_output(path, value, c, bool(sort_spec), sort_fields)
               for path, value in spec["output"].items()]
    first_sort_path = next(iter(sort_spec)).split(".") if sort_spec else None

    def set_window_fields(docs, run):
        vars = run.vars
        pool = list(docs)
        partitions: dict = {}
        # Partitions are runs of equal keys under the aggregation's collation
        # (the server sorts by partitionBy and compares with its value comparator).
        key_of = _value_key(run)
        for d in pool:
            key = partition(d, vars) if partition is not None else None
            key = None if key is MISSING else key
            if type(key) is list:
                raise _fail(TYPE_MISMATCH, "Cannot 'partitionBy' an expression of type array")
            partitions.setdefault(key_of(key), []).append(d)
        sorter = _compile_sort(sort_spec, run.collation) if sort_spec else None
        for pkey in sorted(partitions):
            rows = partitions[pkey]
            if sorter is not None:
                rows = sorter.sorted(rows)
            keys = [_core._walk(d, first_sort_path, 0) for d in rows] if first_sort_path else []
            keys = [None if k is MISSING else k for k in keys]
            columns = [_window_values(out, rows, keys, vars, key_of) for out in outputs]
            for i, d in enumerate(rows):
                for out, column in zip(outputs, columns):
                    d = _set_nested_create(d, out.path, column[i])
                yield d

    return set_window_fields
