"""Stages that read other collections: ``$lookup``, ``$graphLookup``, ``$unionWith`` and ``$documents``.

Foreign collections come from the run's :class:`PipelineContext`; equality
joins index the foreign side once per run (hash join) instead of scanning it
per input document.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import expressions as _expr
from ..bsontypes import MISSING, sort_key
from ..errors import FAILED_TO_PARSE, TYPE_MISMATCH
from ..expressions import core as _core
from .pipeline import Stage, _Compile, compile_pipeline, _fail, _integral_value, _show, _stage
from .shaping import _compile_filter, _field_path_parts
from .grouping import _value_key
from .unwind import _copy_value, _set_nested_create


def _values_at(doc: dict, path: str) -> list:
    """Local values of a $lookup: the field (array elements spread), missing as null."""
    from ..paths import iter_path_values, split_path_lenient

    out = []
    for v in iter_path_values(doc, split_path_lenient(path), expand_arrays=False):
        if isinstance(v, list):
            out.extend(v)  # an array matches by its elements
        elif v is not MISSING:
            out.append(v)
    if not out:
        out.append(None)  # no value at all (missing, or an empty array) joins as null
    return out


def _index_foreign(foreign: list[dict], path: str, key_of: Callable[[Any], tuple] = sort_key) -> dict:
    """Foreign documents by each value their ``path`` holds (array elements and arrays, missing as null)."""
    from ..paths import iter_path_values, split_path_lenient

    parts = split_path_lenient(path)
    index: dict = {}
    for pos, d in enumerate(foreign):
        seen = set()
        for v in iter_path_values(d, parts, expand_arrays=True):
            k = key_of(None if v is MISSING else v)
            if k not in seen:
                seen.add(k)
                index.setdefault(k, []).append(pos)
    return index


def _correlation_hint(pipeline: list, let_names: set) -> tuple[list, str] | None:
    """(field path parts, variable) when the sub-pipeline starts with ``{$match: {$expr: {$eq:
    ["$field", "$$var"]}}}`` (alone or inside an ``$and``): the classic correlated $lookup.

    The $match still runs on the candidates; the hint only narrows them, through an index of
    the foreign documents by the field's value (the whole value, as ``$eq`` compares it).
    """
    first = pipeline[0] if pipeline else None
    if not (isinstance(first, dict) and list(first) == ["$match"]):
        return None
    match = first["$match"]
    if not (isinstance(match, dict) and list(match) == ["$expr"]):
        return None
    expr = match["$expr"]
    terms = expr["$and"] if isinstance(expr, dict) and list(expr) == ["$and"] and \
        isinstance(expr["$and"], list) else [expr]
    for term in terms:
        if not (isinstance(term, dict) and list(term) == ["$eq"] and isinstance(term["$eq"], list)
                and len(term["$eq"]) == 2):
            continue
        a, b = term["$eq"]
        for path, var in ((a, b), (b, a)):
            if (isinstance(path, str) and path.startswith("$") and not path.startswith("$$")
                    and isinstance(var, str) and var.startswith("$$") and var[2:] in let_names):
                return path[1:].split("."), var[2:]
    return None


def _index_expression_path(foreign: list[dict], parts: list, key_of: Callable[[Any], tuple]) -> dict:
    """Positions of the foreign documents by the aggregation value of a field path."""
    index: dict = {}
    for pos, d in enumerate(foreign):
        index.setdefault(key_of(_core._walk(d, parts, 0)), []).append(pos)
    return index


@_stage("$lookup")
def _lookup(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(FAILED_TO_PARSE, "the $lookup specification must be an Object")
    for key, value in spec.items():
        if key not in ("from", "localField", "foreignField", "as", "let", "pipeline"):
            raise _fail(FAILED_TO_PARSE, f"unknown argument to $lookup: {key}")
        if key in ("from", "localField", "foreignField", "as") and not isinstance(value, str):
            if key == "from" and isinstance(value, dict):
                raise NotImplementedError("$lookup from another database is not supported by the memory engine")
            raise _fail(FAILED_TO_PARSE, f"$lookup argument '{key}: {_show(value)}' must be a string, is "
                                         f"type {_core._type_name(value)}")
    if "as" not in spec:
        raise _fail(FAILED_TO_PARSE, "must specify 'as' field for a $lookup")
    as_parts = _field_path_parts(spec["as"], "$lookup")
    has_local, has_foreign = "localField" in spec, "foreignField" in spec
    if has_local != has_foreign:
        raise _fail(FAILED_TO_PARSE, "$lookup requires both or neither of 'localField' and 'foreignField' to "
                                     "be specified")
    if not has_local and "pipeline" not in spec:
        raise _fail(FAILED_TO_PARSE, "$lookup requires either 'pipeline' or both 'localField' and "
                                     "'foreignField' to be specified")
    if "let" in spec and "pipeline" not in spec:
        raise _fail(FAILED_TO_PARSE, "$lookup with 'let' must also specify 'pipeline'")
    pipeline = spec.get("pipeline")
    starts_with_documents = (isinstance(pipeline, list) and pipeline and isinstance(pipeline[0], dict)
                             and "$documents" in pipeline[0])
    if "from" not in spec and not starts_with_documents:
        raise _fail(FAILED_TO_PARSE, "must specify 'from' field for a $lookup")
    from_name = spec.get("from")
    let_spec = spec.get("let", {})
    if not isinstance(let_spec, dict):
        raise _fail(FAILED_TO_PARSE, "$lookup argument 'let' must be an object")
    lets = []
    for name, value in let_spec.items():
        _expr.validate_variable_name(name)
        lets.append((name, c.expression(value)))
    head = sub = None
    if pipeline is not None:
        scope = c.scope | {n for n, _ in lets}
        compile_pipeline(pipeline, variables=scope, collation=c.collation, inside="$lookup")  # validate whole
        # Leading $match stages never edit documents: they run on the shared foreign
        # documents, and only the survivors are copied for the rest of the sub-pipeline.
        n_match = 0
        while n_match < len(pipeline) and isinstance(pipeline[n_match], dict) and \
                list(pipeline[n_match]) == ["$match"]:
            n_match += 1
        head = compile_pipeline(pipeline[:n_match], variables=scope, collation=c.collation, inside="$lookup")
        sub = compile_pipeline(pipeline[n_match:], variables=scope, collation=c.collation, inside="$lookup")
    local_field, foreign_field = spec.get("localField"), spec.get("foreignField")

    hint = _correlation_hint(pipeline, {n for n, _ in lets}) if pipeline else None

    def lookup(docs, run):
        foreign = list(run.context.resolve(from_name)) if from_name is not None else []
        key_of = _value_key(run)
        index = _index_foreign(foreign, foreign_field, key_of) if has_local else None
        correlated = _index_expression_path(foreign, hint[0], key_of) if hint else None
        for d in docs:
            vars = run.vars
            if sub is not None:
                vars = dict(run.vars)
                for name, f in lets:
                    vars[name] = f(d, run.vars)
            if has_local:
                positions = set()
                for v in _values_at(d, local_field):
                    positions.update(index.get(key_of(v), ()))
                if correlated is not None:
                    positions &= set(correlated.get(key_of(vars[hint[1]]), ()))
                matches = [foreign[p] for p in sorted(positions)]
            elif correlated is not None:
                matches = [foreign[p] for p in correlated.get(key_of(vars[hint[1]]), ())]
            else:
                matches = foreign
            if sub is not None:
                survivors = head.run(matches, run.context, vars)
                fresh = [_copy_value(m) for m in survivors]  # the rest of the sub-pipeline owns its copies
                matches = list(sub.run(fresh, run.context, vars))
            else:
                matches = [dict(m) for m in matches]
            yield _set_nested_create(d, as_parts, matches)

    return lookup


@_stage("$graphLookup")
def _graph_lookup(spec, c: _Compile) -> Stage:
    allowed = ("from", "startWith", "connectFromField", "connectToField", "as", "maxDepth", "depthField",
               "restrictSearchWithMatch")
    required = ("from", "startWith", "connectFromField", "connectToField", "as")
    _core._check_arguments("$graphLookup", spec, allowed, required,
                           not_object=(FAILED_TO_PARSE, "the {name} specification must be an Object"),
                           unknown=(40104, "Unknown argument to {name}: {key}"),
                           missing=(40105, "{name} requires '{key}' to be specified"))
    for key in ("from", "connectFromField", "connectToField", "as", "depthField"):
        if key in spec and not isinstance(spec[key], str):
            raise _fail(40103, f"expected string as argument for {key}, found: {_show(spec[key])}")
    max_depth = None
    if "maxDepth" in spec:
        max_depth = _integral_value(spec["maxDepth"])
        if max_depth is None or max_depth < 0:
            raise _fail(40101, f"maxDepth requires a nonnegative argument, found: {_show(spec['maxDepth'])}")
    restrict = spec.get("restrictSearchWithMatch")
    if restrict is not None:
        if not isinstance(restrict, dict):
            raise _fail(40185, "restrictSearchWithMatch must be an object")
        restrict_matcher = _compile_filter(restrict, c.collation, None)
    else:
        restrict_matcher = None
    start_with = c.expression(spec["startWith"])
    as_parts = _field_path_parts(spec["as"], "$graphLookup")
    from_name, connect_from, connect_to = spec["from"], spec["connectFromField"], spec["connectToField"]
    depth_field = spec.get("depthField")

    def graph_lookup(docs, run):
        from bson.int64 import Int64

        from ..paths import iter_path_values, split_path_lenient

        foreign = [f for f in run.context.resolve(from_name) if restrict_matcher is None or restrict_matcher(f)]
        key_of = _value_key(run)
        index = _index_foreign(foreign, connect_to, key_of)
        from_parts = split_path_lenient(connect_from)
        for d in docs:
            start = start_with(d, run.vars)
            frontier = start if isinstance(start, list) else [start]
            frontier = [None if v is MISSING else v for v in frontier]
            found: dict[int, int] = {}
            depth = 0
            seen_values: set = set()
            while frontier and (max_depth is None or depth <= max_depth):
                next_values = []
                for v in frontier:
                    k = key_of(v)
                    if k in seen_values:
                        continue
                    seen_values.add(k)
                    for pos in index.get(k, ()):
                        if pos in found:
                            continue
                        found[pos] = depth
                        for nv in iter_path_values(foreign[pos], from_parts):
                            if nv is MISSING:
                                continue
                            next_values.extend(nv if isinstance(nv, list) else [nv])
                frontier = next_values
                depth += 1
            results = []
            for pos, dep in found.items():
                r = dict(foreign[pos])
                if depth_field:
                    r = _set_nested_create(r, depth_field.split("."), Int64(dep))
                results.append(r)
            yield _set_nested_create(d, as_parts, results)

    return graph_lookup


@_stage("$unionWith")
def _union_with(spec, c: _Compile) -> Stage:
    if isinstance(spec, str):
        coll, pipeline = spec, None
    elif isinstance(spec, dict):
        for key in spec:
            if key not in ("coll", "pipeline"):
                raise _fail(40415, f"BSON field '$unionWith.{key}' is an unknown field.")
        coll, pipeline = spec.get("coll"), spec.get("pipeline")
        if coll is None and pipeline is None:
            raise _fail(40414, "BSON field '$unionWith.coll' is missing but a required field")
        if coll is not None and not isinstance(coll, str):
            raise _fail(TYPE_MISMATCH, f"BSON field '$unionWith.coll' is the wrong type "
                                       f"'{_core._type_name(coll)}', expected type 'string'")
    else:
        raise _fail(TYPE_MISMATCH, f"the $unionWith stage specification must be an object or string, but "
                                   f"found {_core._type_name(spec)}")
    sub = compile_pipeline(pipeline, variables=c.scope, collation=c.collation, inside="$unionWith") \
        if pipeline is not None else None

    def union_with(docs, run):
        yield from docs
        other = run.context.resolve(coll) if coll is not None else []
        if sub is not None:
            yield from sub.run(other, run.context, run.vars)
        else:
            yield from other

    return union_with


@_stage("$documents")
def _documents(spec, c: _Compile) -> Stage:
    f = c.expression(spec)

    def documents(docs, run):
        for _ in docs:
            pass
        value = f({}, run.vars)
        if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
            raise _fail(5858203, "error during lookup of $documents: $documents must evaluate to an array "
                                 "of objects")
        yield from value

    return documents
