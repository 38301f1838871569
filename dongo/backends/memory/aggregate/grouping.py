"""Grouping stages: ``$group``, ``$sortByCount``, ``$bucket``, ``$bucketAuto`` and ``$facet``.

    >>> from dongo.backends.memory.aggregate import run_pipeline
    >>> list(run_pipeline([{"$sortByCount": "$a"}], [{"a": "x"}, {"a": "y"}, {"a": "x"}]))
    [{'_id': 'x', 'count': 2}, {'_id': 'y', 'count': 1}]
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from .. import expressions as _expr
from ..bsontypes import MISSING, compare, sort_key
from ..expressions import core as _core
from .pipeline import Stage, _Compile, compile_pipeline, _fail, _integral_value, _Run, _show, _stage
from .shaping import _field_path_parts
from .unwind import _copy_value


def _group_spec(spec: Any, c: _Compile):
    """(id evaluator, [(field, accumulator spec)]) for a $group document."""
    if not isinstance(spec, dict):
        raise _fail(15947, "a group's fields must be specified in an object")
    if "_id" not in spec:
        raise _fail(15955, "a group specification must include an _id")
    id_fn = c.expression(spec["_id"])
    fields = []
    for name, value in spec.items():
        if name == "_id":
            continue
        if name.startswith("$"):
            raise _fail(40236, f"The field name '{name}' cannot be an operator name")
        if "." in name:
            raise _fail(40235, f"The field name '{name}' cannot contain '.'")
        if not isinstance(value, dict):
            raise _fail(40234, f"The field '{name}' must be an accumulator object")
        if len(value) != 1:
            raise _fail(40238, f"The field '{name}' must specify one accumulator")
        op, arg = next(iter(value.items()))
        fields.append((name, _expr.compile_accumulator(op, arg, variables=c.scope, collation=c.collation)))
    return id_fn, fields


def _value_key(run: _Run) -> Callable[[Any], tuple]:
    """The hashable equality key of values in this run: BSON equality under its collation."""
    if run.collation is None:
        return sort_key
    from ..collation import parse_collation, sort_key_for

    return sort_key_for(parse_collation(run.collation))


def _group_docs(docs: Iterable[dict], id_fn, fields, vars: dict,
                key_of: Callable[[Any], tuple] = sort_key) -> Iterator[dict]:
    """Group in first-seen order; O(n) with hashable BSON keys (collation-aware via ``key_of``)."""
    groups: dict = {}
    for d in docs:
        key_value = id_fn(d, vars)
        if key_value is MISSING:
            key_value = None
        k = key_of(key_value)
        entry = groups.get(k)
        if entry is None:
            entry = groups[k] = (key_value, [acc.new() for _, acc in fields])
        for state in entry[1]:
            state.add(d, vars)
    names = [name for name, _ in fields]
    for key_value, states in groups.values():
        out = {"_id": key_value}
        for name, state in zip(names, states):
            out[name] = state.result()
        yield out


@_stage("$group")
def _group(spec, c: _Compile) -> Stage:
    id_fn, fields = _group_spec(spec, c)
    return lambda docs, run: _group_docs(docs, id_fn, fields, run.vars, _value_key(run))


@_stage("$sortByCount")
def _sort_by_count(spec, c: _Compile) -> Stage:
    if isinstance(spec, dict):
        if not _expr.is_operator_object(spec):
            raise _fail(40147, "the sortByCount field must be specified as a $-prefixed path or as an "
                               "expression object")
    elif not (isinstance(spec, str) and spec.startswith("$")):
        raise _fail(40148, "the sortByCount field must be defined as a $-prefixed path or an expression")
    id_fn, fields = _group_spec({"_id": spec, "count": {"$sum": 1}}, c)

    def sort_by_count(docs, run):
        groups = list(_group_docs(docs, id_fn, fields, run.vars, _value_key(run)))
        groups.sort(key=lambda g: -g["count"])  # stable: ties keep first-seen order
        return iter(groups)

    return sort_by_count


def _output_fields(output: Any, c: _Compile, stage: str):
    if output is None:
        return [("count", _expr.compile_accumulator("$sum", 1))]
    if not isinstance(output, dict):
        raise _fail(40196, f"The $bucket 'output' field must be an object, but found type: "
                           f"{_core._type_name(output)}.")
    return _group_spec(dict({"_id": None}, **output), c)[1]


@_stage("$bucket")
def _bucket(spec, c: _Compile) -> Stage:
    _core._check_arguments("$bucket", spec, ("groupBy", "boundaries", "default", "output"), ("groupBy", "boundaries"),
                           not_object=(40201, "Argument to {name} stage must be an object, but found type: {type}."),
                           unknown=(40197, "Unrecognized option to {name}: {key}."),
                           missing=(40198, "{name} requires 'groupBy' and 'boundaries' to be specified."))
    group_by = spec["groupBy"]
    if not (isinstance(group_by, str) and group_by.startswith("$")) and not _expr.is_operator_object(group_by):
        raise _fail(40202, f"The $bucket 'groupBy' field must be defined as a $-prefixed path or an "
                           f"expression, but found: {_show(group_by)}.")
    bounds = spec["boundaries"]
    if not isinstance(bounds, list):
        raise _fail(40200, f"The $bucket 'boundaries' field must be an array, but found type: "
                           f"{_core._type_name(bounds)}.")
    if len(bounds) < 2:
        raise _fail(40192, f"The $bucket 'boundaries' field must have at least 2 values, but found "
                           f"{len(bounds)} value(s).")
    from ..bsontypes import canonical_rank

    for i in range(1, len(bounds)):
        if canonical_rank(bounds[i]) != canonical_rank(bounds[i - 1]):
            raise _fail(40193, f"All values in the the 'boundaries' option to $bucket must have the same "
                               f"type. Found conflicting types {_core._type_name(bounds[i - 1])} and "
                               f"{_core._type_name(bounds[i])}.")
        if compare(bounds[i - 1], bounds[i]) >= 0:
            raise _fail(40194, f"The 'boundaries' option to $bucket must be sorted in ascending order, but "
                               f"elements {i - 1} and {i} are not in ascending order ({_show(bounds[i - 1])} "
                               f"is not less than {_show(bounds[i])}).")
    has_default = "default" in spec
    default = spec.get("default")
    if has_default and canonical_rank(default) == canonical_rank(bounds[0]) and (
            compare(default, bounds[0]) >= 0 and compare(default, bounds[-1]) < 0):
        raise _fail(40199, "The $bucket 'default' field must be less than the lowest boundary or greater "
                           "than or equal to the highest boundary.")
    f_group = c.expression(group_by)
    fields = _output_fields(spec.get("output"), c, "$bucket")
    def bucket(docs, run):
        import bisect

        key_of = _value_key(run)  # boundaries compare under the collation, like the server's $switch
        keys = [key_of(b) for b in bounds]

        def bucket_of(d, vars):
            v = f_group(d, vars)
            k = key_of(None if v is MISSING else v)
            if keys[0] <= k < keys[-1]:
                return bounds[bisect.bisect_right(keys, k) - 1]
            if has_default:
                return default
            raise _fail(40066, "$switch could not find a matching branch for an input, and no default was "
                               "specified.")

        groups = list(_group_docs(docs, bucket_of, fields, run.vars))
        groups.sort(key=lambda g: sort_key(g["_id"]))
        return iter(groups)

    return bucket


@_stage("$bucketAuto")
def _bucket_auto(spec, c: _Compile) -> Stage:
    _core._check_arguments("$bucketAuto", spec, ("groupBy", "buckets", "output", "granularity"), ("groupBy", "buckets"),
                           not_object=(40240, "The argument to {name} must be an object, but found type: {type}."),
                           unknown=(40245, "Unrecognized option to {name}: {key}."),
                           missing=(40246, "{name} requires 'groupBy' and 'buckets' to be specified"))
    if "granularity" in spec:
        raise NotImplementedError("$bucketAuto granularity is not supported by the memory engine")
    n_buckets = _integral_value(spec["buckets"])
    if n_buckets is None or n_buckets <= 0:
        raise _fail(40243, f"The $bucketAuto 'buckets' field must be greater than 0, but found: "
                           f"{_show(spec['buckets'])}")
    group_by = spec["groupBy"]
    if not (isinstance(group_by, str) and group_by.startswith("$")) and not _expr.is_operator_object(group_by):
        raise _fail(40239, f"The $bucketAuto 'groupBy' field must be defined as a $-prefixed path or an "
                           f"expression object, but found: {_show(group_by)}.")
    f_group = c.expression(group_by)
    fields = _output_fields(spec.get("output"), c, "$bucketAuto")

    def bucket_auto(docs, run):
        vars = run.vars
        key_of = _value_key(run)  # the server sorts and compares under the collation
        keyed = []
        for d in docs:
            v = f_group(d, vars)
            v = None if v is MISSING else v
            keyed.append((key_of(v), v, d))
        keyed.sort(key=lambda t: t[0])
        if not keyed:
            return
        size = max(1, int(len(keyed) / n_buckets + 0.5))  # std::round: halves away from zero
        buckets = []
        i = 0
        while i < len(keyed):
            j = min(i + size, len(keyed))
            while j < len(keyed) and keyed[j][0] == keyed[j - 1][0]:
                j += 1  # equal values never straddle two buckets
            if len(buckets) == n_buckets - 1:
                j = len(keyed)
            buckets.append(keyed[i:j])
            i = j
        for b, rows in enumerate(buckets):
            upper = buckets[b + 1][0][1] if b + 1 < len(buckets) else rows[-1][1]
            states = [acc.new() for _, acc in fields]
            for _, _, d in rows:
                for state in states:
                    state.add(d, vars)
            out = {"_id": {"min": rows[0][1], "max": upper}}
            for (name, _), state in zip(fields, states):
                out[name] = state.result()
            yield out

    return bucket_auto


@_stage("$facet")
def _facet(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict) or not spec:
        raise _fail(40169, "the $facet specification must be a non-empty object")
    facets = []
    for name, pipeline in spec.items():
        _field_path_parts(name, "$facet")
        if "." in name:
            raise _fail(40412, f"$facet pipeline names may not contain '.': {name}")
        if not isinstance(pipeline, list):
            raise _fail(40170, f"arguments to $facet must be arrays, {name} is type "
                               f"{_core._type_name(pipeline)}")
        for stage in pipeline:
            if isinstance(stage, dict) and len(stage) == 1:
                stage_name = next(iter(stage))
                if stage_name in ("$facet", "$collStats", "$indexStats", "$geoNear", "$changeStream",
                                  "$documents", "$unionWith") and stage_name != "$unionWith":
                    raise _fail(40600, f"{stage_name} is not allowed to be used within a $facet stage")
        facets.append((name, compile_pipeline(pipeline, variables=c.scope, collation=c.collation,
                                              inside="$facet")))

    def facet(docs, run):
        pool = list(docs)
        out = {}
        last = len(facets) - 1
        for i, (name, sub) in enumerate(facets):
            # Stages may edit their input in place ($project exclusions do), so every
            # facet but the last works on its own copy of the documents.
            inputs = pool if i == last else [_copy_value(d) for d in pool]
            out[name] = list(sub.run(iter(inputs), run.context, run.vars))
        yield out

    return facet
