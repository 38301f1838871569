"""Aggregation pipelines: validated once, then run as a chain of generators.

    >>> docs = [{"_id": 1, "item": "a", "qty": 2}, {"_id": 2, "item": "b", "qty": 5},
    ...         {"_id": 3, "item": "a", "qty": 1}]
    >>> list(run_pipeline([{"$group": {"_id": "$item", "total": {"$sum": "$qty"}}},
    ...                    {"$sort": {"total": -1}}], docs))
    [{'_id': 'b', 'total': 5}, {'_id': 'a', 'total': 3}]

:func:`compile_pipeline` parses and validates every stage (unknown stages,
malformed arguments, ``$out``/``$merge`` placement, expressions) before a
single document flows, like the server does; :class:`Pipeline` ``.run(docs,
context)`` then streams documents through one generator per stage.  Stages
that need the rest of the database (``$lookup``, ``$graphLookup``,
``$unionWith``, ``$out``, ``$merge``) reach it through a
:class:`PipelineContext`, which the collection layer implements.

Documents handed to ``run`` must be private copies: stages may reuse them in
their output (``$addFields`` copies only the top level and the paths it
changes, so unchanged sub-documents are shared between input and output).

Stages: ``$match $project $addFields/$set $unset $replaceRoot $replaceWith
$redact $sort $skip $limit $sample $count $group $sortByCount $bucket
$bucketAuto (no granularity) $facet $unwind $lookup $graphLookup $unionWith
$documents $setWindowFields $fill $densify $out $merge``.  Stages that need a
server's machinery (``$geoNear``, ``$search``, ``$changeStream``,
``$collStats``, ``$indexStats``, ``$currentOp`` ...) raise
``NotImplementedError`` naming themselves.  With a collation, ``$sort``,
``$match``, ``$group`` keys, ``$lookup`` joins and expression comparisons
follow it.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import random
from typing import Any, Callable, Iterable, Iterator

from .. import expressions as _expr
from ..expressions import arithmetic as _arith, core as _core, dates as _dates
from ..bsontypes import MISSING, compare, sort_key
from ..errors import BAD_VALUE, FAILED_TO_PARSE, INVALID_OPTIONS, TYPE_MISMATCH, ServerError

__all__ = ["PipelineContext", "Pipeline", "compile_pipeline", "run_pipeline", "UPDATE_STAGES",
           "merge_matched_document"]

#: The stages an update pipeline (``update_one(filter, [...])``) may use.
UPDATE_STAGES = frozenset({"$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith"})


def _fail(code: int, msg: str) -> ServerError:
    return ServerError(code, msg)


class PipelineContext:
    """What a pipeline needs from the database it runs in.

    The collection layer subclasses this (or provides an object with the same
    attributes).  The defaults suit a pipeline over plain documents: no other
    collections, no writes.

    - ``collation``: the parsed collation (``collation.parse_collation``) or None.
    - ``variables``: the command's ``let`` values, ``{name: value}``.
    - ``now``: the ``$$NOW`` of this command (naive UTC datetime), or None for
      the current time.
    - ``resolve(name)``: fresh private copies of collection ``name``'s documents
      in the same database (``[]`` when it does not exist), for ``$lookup``,
      ``$graphLookup`` and ``$unionWith``.
    - ``out(db, coll, docs)``: ``$out``: atomically replace ``db.coll`` (db None
      means the current database) with ``docs``.
    - ``merge(db, coll, docs, on, when_matched, when_not_matched, let)``:
      ``$merge``.  ``on`` is a tuple of field paths; ``when_matched`` is
      ``"replace"``, ``"keepExisting"``, ``"merge"``, ``"fail"`` or a pipeline
      (a list); ``when_not_matched`` is ``"insert"``, ``"discard"`` or
      ``"fail"``; ``let`` is the ``$merge`` ``let`` spec (None means
      ``{new: "$$ROOT"}``).  :func:`merge_matched_document` computes the
      document that replaces a matched one.
    """

    collation: Any = None
    variables: dict = {}
    now: Any = None

    def __init__(self, *, collation: Any = None, variables: dict | None = None, now: Any = None,
                 collections: dict[str, list] | None = None) -> None:
        self.collation = collation
        self.variables = dict(variables or {})
        self.now = now
        self._collections = collections or {}

    def resolve(self, name: str) -> Iterable[dict]:
        import bson

        return [bson.decode(bson.encode(d)) for d in self._collections.get(name, [])]

    def out(self, db: str | None, coll: str, docs: list[dict]) -> None:
        raise NotImplementedError("$out is not supported without a database context")

    def merge(self, db: str | None, coll: str, docs: list[dict], on: tuple, when_matched: Any,
              when_not_matched: str, let: dict | None) -> None:
        raise NotImplementedError("$merge is not supported without a database context")


def merge_matched_document(existing: dict, new: dict, when_matched: Any, let: dict | None,
                           context: PipelineContext | None = None) -> dict | None:
    """The document ``$merge`` writes over a matched ``existing`` one.

    Returns None for ``keepExisting``; raises code 11000-like errors for
    ``fail`` (the caller reports it).  A pipeline runs on ``existing`` with
    ``$$new`` (or the ``let`` variables, evaluated against ``new``).

        >>> merge_matched_document({"_id": 1, "a": 1}, {"_id": 1, "b": 2}, "merge", None)
        {'_id': 1, 'a': 1, 'b': 2}
    """
    if when_matched == "replace":
        return new
    if when_matched == "keepExisting":
        return None
    if when_matched == "merge":
        out = dict(existing)
        out.update(new)
        return out
    if when_matched == "fail":
        raise _fail(11000, "$merge with whenMatched: fail found an existing document with the same values "
                           "for the 'on' fields")
    let_spec = {"new": "$$ROOT"} if let is None else let
    ctx = context or PipelineContext()
    variables = dict(ctx.variables)
    for name, spec in let_spec.items():
        variables[name] = _expr.compile_expression(spec, variables=frozenset(ctx.variables))(new, {})
    sub = PipelineContext(collation=ctx.collation, variables=variables, now=ctx.now)
    results = list(compile_pipeline(when_matched, variables=frozenset(variables),
                                    allowed=UPDATE_STAGES).run([existing], sub))
    return results[0] if results else existing


# ---------------------------------------------------------------------------
# Pipeline compilation
# ---------------------------------------------------------------------------

Stage = Callable[[Iterator[dict], "_Run"], Iterator[dict]]


class _Run:
    """Per-execution state: the context and the variables of this run."""

    __slots__ = ("context", "vars", "collation")

    def __init__(self, context: PipelineContext, vars: dict) -> None:
        self.context = context
        self.vars = vars
        self.collation = getattr(context, "collation", None)


class Pipeline:
    """A validated pipeline; ``run(docs, context)`` yields the output documents."""

    def __init__(self, stages: list[Stage], names: list[str]) -> None:
        self._stages = stages
        self.stage_names = names

    def run(self, docs: Iterable[dict], context: PipelineContext | None = None,
            variables: dict | None = None) -> Iterator[dict]:
        """Stream ``docs`` (private copies) through the stages.

        ``variables`` overrides the run's variable values (sub-pipelines use it).
        """
        context = context if context is not None else PipelineContext()
        if variables is None:
            variables = dict(getattr(context, "variables", None) or {})
            now = getattr(context, "now", None)
            variables["NOW"] = now if now is not None else _expr.now_datetime()
        run = _Run(context, variables)
        stream: Iterator[dict] = iter(docs)
        for stage in self._stages:
            stream = stage(stream, run)
        return stream


def run_pipeline(pipeline: list, docs: Iterable[dict], *, context: PipelineContext | None = None
                 ) -> Iterator[dict]:
    """Run an aggregation ``pipeline`` over ``docs`` (an iterable of private copies).

    Validation happens before the first document is read; the result is a
    lazy iterator.

        >>> list(run_pipeline([{"$match": {"a": {"$gt": 1}}}, {"$project": {"_id": 0, "a": 1}}],
        ...                   [{"_id": 1, "a": 1}, {"_id": 2, "a": 2}]))
        [{'a': 2}]
    """
    names = frozenset((getattr(context, "variables", None) or {}) if context is not None else ())
    collation = getattr(context, "collation", None) if context is not None else None
    return compile_pipeline(pipeline, variables=names, collation=collation).run(docs, context)


# Stages with no memory-engine implementation: named, never silently ignored.
_UNSUPPORTED = ("$geoNear", "$search", "$searchMeta", "$vectorSearch", "$changeStream",
                "$changeStreamSplitLargeEvent", "$collStats", "$indexStats", "$currentOp", "$listSessions",
                "$listLocalSessions", "$planCacheStats", "$listSearchIndexes",
                "$shardedDataDistribution", "$listSampledQueries")


def compile_pipeline(pipeline: Any, *, variables: frozenset | set = frozenset(), collation: Any = None,
                     allowed: frozenset | None = None, inside: str | None = None) -> Pipeline:
    """Validate ``pipeline`` and compile each stage.

    ``variables`` names the ``let`` variables in scope; ``allowed`` restricts
    the stage names (update pipelines); ``inside`` names the enclosing stage
    (``"$facet"``, ``"$lookup"``) for the server's placement errors.
    """
    if not isinstance(pipeline, list):
        raise _fail(TYPE_MISMATCH, "'pipeline' option must be specified as an array")
    scope = frozenset(variables)
    stages: list[Stage] = []
    names: list[str] = []
    for i, spec in enumerate(pipeline):
        if not isinstance(spec, dict) or len(spec) != 1:
            raise _fail(40323, "A pipeline stage specification object must contain exactly one field.")
        name, arg = next(iter(spec.items()))
        if allowed is not None and name not in allowed:
            if name in _COMPILERS or name in _UNSUPPORTED:
                raise _fail(INVALID_OPTIONS, f"{name} is not allowed to be used within an update")
        if name in ("$out", "$merge"):
            if inside is not None:
                raise _fail(40600 if inside == "$facet" else 51047,
                            f"{name} is not allowed to be used within a {inside} stage" if inside == "$facet"
                            else f"{name} is not allowed within a {inside}'s sub-pipeline")
            if i != len(pipeline) - 1:
                raise _fail(40601, f"{name} can only be the final stage in the pipeline")
        if name == "$documents" and i != 0:
            raise _fail(40602, "$documents is only valid as the first stage in a pipeline")
        if name in _UNSUPPORTED:
            raise NotImplementedError(f"the {name} stage is not supported by the memory engine")
        compile_stage = _COMPILERS.get(name)
        if compile_stage is None:
            raise _fail(40324, f"Unrecognized pipeline stage name: '{name}'")
        stages.append(compile_stage(arg, _Compile(scope, collation, inside)))
        names.append(name)
    _fuse_sort_limit(stages, names, pipeline, collation)
    return Pipeline(stages, names)


class _Compile:
    """Compile-time facts a stage needs: variable names in scope, collation, nesting."""

    __slots__ = ("scope", "collation", "inside")

    def __init__(self, scope: frozenset, collation: Any, inside: str | None) -> None:
        self.scope = scope
        self.collation = collation
        self.inside = inside

    def expression(self, spec: Any):
        return _expr.compile_expression(spec, variables=self.scope, collation=self.collation)


def _fuse_sort_limit(stages: list, names: list, pipeline: list, collation: Any) -> None:
    """$sort followed by $limit keeps only the top k while sorting (heap, O(n log k))."""
    for i in range(len(names) - 1):
        if names[i] == "$sort" and names[i + 1] == "$limit":
            sorter = _compile_sort(pipeline[i]["$sort"], collation)
            stages[i] = _sort_stage(sorter, limit=_limit_value(pipeline[i + 1]["$limit"]))


_COMPILERS: dict[str, Callable[[Any, _Compile], Stage]] = {}


def _stage(*names: str):
    def register(fn):
        for name in names:
            _COMPILERS[name] = fn
        return fn

    return register


def _integral_value(v: Any) -> int | None:
    from bson.decimal128 import Decimal128

    if isinstance(v, bool) or not (isinstance(v, (int, float, Decimal128))):
        return None
    if isinstance(v, Decimal128):
        d = v.to_decimal()
        return int(d) if d.is_finite() and d == d.to_integral_value() else None
    if isinstance(v, float):
        return int(v) if v == v and v not in (float("inf"), float("-inf")) and v == int(v) else None
    return int(v)


def _show(v: Any) -> str:
    return _core._show(v)


# ---------------------------------------------------------------------------
# Filtering and shaping
# ---------------------------------------------------------------------------


def _check_match_clauses(spec: Any) -> None:
    """The clauses $match refuses: $where, and geo $near/$nearSphere (server codes 16395/16424/16426)."""
    if not isinstance(spec, dict):
        return
    for key, value in spec.items():
        if key == "$where":
            raise _fail(16395, "$where is not allowed inside of a $match aggregation expression")
        if key in ("$and", "$or", "$nor") and isinstance(value, list):
            for sub in value:
                _check_match_clauses(sub)
        elif isinstance(value, dict):
            if "$near" in value:
                raise _fail(16424, "$near is not allowed inside of a $match aggregation expression")
            if "$nearSphere" in value:
                raise _fail(16426, "$nearSphere is not allowed inside of a $match aggregation expression")


def _compile_filter(spec: dict, collation: Any, variables: dict | None):
    from ..filters import compile_filter

    # Expressions compiled for $expr inside the filter follow the collation too.
    return _core._with_collation(
        collation, lambda: compile_filter(spec, collation=collation, variables=variables))


@_stage("$match")
def _match(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(15959, "the match filter must be an expression in an object")
    _check_match_clauses(spec)
    # Validate now (names only); the run compiles again when variables carry values.
    _compile_filter(spec, c.collation, {name: None for name in c.scope})
    uses_variables = "$$" in repr(spec) or "$expr" in repr(spec)
    static = None if uses_variables else _compile_filter(spec, c.collation, None)

    def match(docs, run):
        matcher = static
        if matcher is None:
            matcher = _compile_filter(spec, run.collation, {k: v for k, v in run.vars.items()})
        return (d for d in docs if matcher(d))

    return match


@_stage("$project")
def _project(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(15969, "$project specification must be an object")
    if not spec:
        raise _fail(51272, "Invalid $project :: caused by :: projection specification must have at least "
                           "one field")
    from ..projection import compile_projection

    projector, takes_vars = _projector_for(compile_projection, spec, c)
    if takes_vars:
        return lambda docs, run: (projector(d, run.vars) for d in docs)
    return lambda docs, run: (projector(d) for d in docs)


def _projector_for(compile_projection, spec: dict, c: _Compile):
    """(projector, whether it takes the run's variables).

    ``projection.compile_projection`` may accept ``variables`` (names in scope)
    and its projector a ``vars`` argument; older signatures take neither, and
    then computed fields see no ``let`` variables.
    """
    import inspect

    params = inspect.signature(compile_projection).parameters
    if "variables" in params:
        projector = _core._with_collation(
            c.collation, lambda: compile_projection(spec, for_find=False, variables=c.scope))
    else:
        projector = _core._with_collation(c.collation, lambda: compile_projection(spec, for_find=False))
    call_params = inspect.signature(projector.__call__).parameters
    return projector, len(call_params) >= 2


@_stage("$unset")
def _unset(spec, c: _Compile) -> Stage:
    if not isinstance(spec, (str, list)):
        raise _fail(31002, "$unset specification must be a string or an array")
    fields = [spec] if isinstance(spec, str) else spec
    if not fields:
        raise _fail(31119, "$unset specification must be a string or an array with at least one field")
    if not all(isinstance(f, str) for f in fields):
        raise _fail(31120, "$unset specification must be a string or an array containing only string values")
    return _project({f: 0 for f in fields}, c)


class _FieldTree:
    """The computed fields of an ``$addFields`` spec as a tree of paths.

    ``{"a.b": e1, "c": {"d": e2}}`` becomes ``a -> {b: e1}``, ``c -> {d: e2}``:
    nested plain objects are sub-trees (they merge into an existing
    sub-document, and apply to each document of an array), operator objects
    and everything else are expressions.
    """

    __slots__ = ("children",)

    def __init__(self) -> None:
        self.children: dict[str, Any] = {}  # name -> _FieldTree or evaluator

    def add(self, path: str, value: Any, c: _Compile, stage: str) -> None:
        parts = _field_path_parts(path, stage)
        node = self
        for part in parts[:-1]:
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _FieldTree()
            elif not isinstance(child, _FieldTree):
                raise _path_collision(path, stage)
            node = child
        last = parts[-1]
        if last in node.children:
            raise _path_collision(path, stage)
        if isinstance(value, dict) and value and not _expr.is_operator_object(value):
            sub = _FieldTree()
            for key, v in value.items():
                sub.add(key, v, c, stage)
            node.children[last] = sub
        else:
            node.children[last] = c.expression(value)

    def apply(self, doc: dict, root: dict, vars: dict) -> dict:
        """A copy of ``doc`` with the fields set (copy-on-write along changed paths)."""
        out = dict(doc)
        for name, child in self.children.items():
            if type(child) is _FieldTree:
                out[name] = child._apply_value(doc.get(name, MISSING), root, vars)
            else:
                v = child(root, vars)
                if v is MISSING:
                    out.pop(name, None)  # $$REMOVE or a missing value removes the field
                else:
                    out[name] = v
        return out

    def _apply_value(self, value: Any, root: dict, vars: dict) -> Any:
        if isinstance(value, dict):
            return self.apply(value, root, vars)
        if isinstance(value, list):
            return [self._apply_value(v, root, vars) for v in value]
        return self.apply({}, root, vars)


def _field_path_parts(path: str, stage: str) -> list[str]:
    if not isinstance(path, str) or not path:
        raise _fail(40352, "FieldPath cannot be constructed with empty string")
    if path.startswith("$"):
        raise _fail(16410, f"FieldPath field names may not start with '$'. Consider using $getField or "
                           f"$setField.")
    parts = path.split(".")
    if "" in parts:
        raise _fail(15998, "FieldPath field names may not be empty strings.")
    return parts


def _path_collision(path: str, stage: str) -> ServerError:
    return _fail(40176, f"Invalid {stage} :: caused by :: specification contains two conflicting paths. "
                        f"Cannot specify both '{path}' and a path it overlaps")


@_stage("$addFields", "$set")
def _add_fields(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(40272, "$addFields specification stage must be an object, got " + _core._type_name(spec))
    if not spec:
        raise _fail(40177, "Invalid $addFields :: caused by :: specification must have at least one field")
    tree = _FieldTree()
    for path, value in spec.items():
        tree.add(path, value, c, "$addFields")
    return lambda docs, run: (tree.apply(d, d, run.vars) for d in docs)


def _replace_root(new_root, c: _Compile, what: str) -> Stage:
    f = c.expression(new_root)

    def replace(docs, run):
        vars = run.vars
        for d in docs:
            v = f(d, vars)
            if not isinstance(v, dict):
                raise _fail(40228, f"'{what}' must evaluate to an object, but resulting value was: "
                                   f"{'MISSING' if v is MISSING else _show(v)}. Type of resulting value: "
                                   f"'{_core._type_name(v)}'. Input document: {_show(d)}")
            yield v

    return replace


@_stage("$replaceRoot")
def _replace_root_stage(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(40229, f"expected an object as specification for $replaceRoot stage, got "
                           f"{_core._type_name(spec)}")
    for key in spec:
        if key != "newRoot":
            raise _fail(40415, f"BSON field '$replaceRoot.{key}' is an unknown field.")
    if "newRoot" not in spec:
        raise _fail(40414, "BSON field '$replaceRoot.newRoot' is missing but a required field")
    return _replace_root(spec["newRoot"], c, "newRoot")


@_stage("$replaceWith")
def _replace_with(spec, c: _Compile) -> Stage:
    return _replace_root(spec, c, "replacement document")


@_stage("$redact")
def _redact(spec, c: _Compile) -> Stage:
    f = c.expression(spec)

    def redact_value(value, root, vars):
        if isinstance(value, dict):
            return redact_doc(value, root, vars)
        if isinstance(value, list):
            out = []
            for v in value:
                if isinstance(v, (dict, list)):
                    r = redact_value(v, root, vars)
                    if r is not MISSING:
                        out.append(r)
                else:
                    out.append(v)
            return out
        return value

    def redact_doc(doc, root, vars):
        action = f(doc, vars)
        if action == "KEEP":
            return doc
        if action == "PRUNE":
            return MISSING
        if action != "DESCEND":
            raise _fail(17053, "$redact's expression should not return anything aside from the variables "
                               f"$$KEEP, $$DESCEND, and $$PRUNE, but returned {_show(action)}")
        out = {}
        for k, v in doc.items():
            r = redact_value(v, root, vars) if isinstance(v, (dict, list)) else v
            if r is not MISSING:
                out[k] = r
        return out

    def redact(docs, run):
        for d in docs:
            vars = dict(run.vars)
            vars["ROOT"] = d
            r = redact_doc(d, d, vars)
            if r is not MISSING:
                yield r

    return redact


# ---------------------------------------------------------------------------
# Ordering and slicing
# ---------------------------------------------------------------------------


def _compile_sort(spec, collation):
    from ..sort import compile_sort

    return compile_sort(spec, collation=collation)


def _sort_stage(sorter, limit: int | None = None) -> Stage:
    return lambda docs, run: iter(sorter.sorted(list(docs), limit=limit))


@_stage("$sort")
def _sort(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(15973, "the $sort key specification must be an object")
    if not spec:
        raise _fail(15976, "$sort stage must have at least one sort key")
    return _sort_stage(_compile_sort(spec, c.collation))


def _limit_value(spec) -> int:
    n = _integral_value(spec)
    if n is None:
        raise _fail(5107201, f"invalid argument to $limit stage: Expected a number in: $limit: {_show(spec)}"
                    if not isinstance(spec, (int, float)) or isinstance(spec, bool) else
                    f"invalid argument to $limit stage: Expected an integer: $limit: {_show(spec)}")
    if n < 0:
        raise _fail(5107201, f"invalid argument to $limit stage: Expected a non-negative number in: "
                             f"$limit: {n}")
    if n == 0:
        raise _fail(15958, "the limit must be positive")
    return n


@_stage("$limit")
def _limit(spec, c: _Compile) -> Stage:
    n = _limit_value(spec)
    return lambda docs, run: itertools.islice(docs, n)


@_stage("$skip")
def _skip(spec, c: _Compile) -> Stage:
    n = _integral_value(spec)
    if n is None:
        raise _fail(5107200, f"invalid argument to $skip stage: Expected a number in: $skip: {_show(spec)}"
                    if not isinstance(spec, (int, float)) or isinstance(spec, bool) else
                    f"invalid argument to $skip stage: Expected an integer: $skip: {_show(spec)}")
    if n < 0:
        raise _fail(5107200, f"invalid argument to $skip stage: Expected a non-negative number in: $skip: {n}")
    return lambda docs, run: itertools.islice(docs, n, None)


@_stage("$sample")
def _sample(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(28745, "the $sample stage specification must be an object")
    for key in spec:
        if key != "size":
            raise _fail(28748, f"unrecognized option to $sample: {key}")
    if "size" not in spec:
        raise _fail(28749, "$sample stage must specify a size")
    size = spec["size"]
    if isinstance(size, bool) or _integral_value(size) is None and not isinstance(size, float):
        raise _fail(28746, "size argument to $sample must be a number")
    n = int(size)
    if n < 0:
        raise _fail(28747, "size argument to $sample must not be negative")

    def sample(docs, run):
        pool = list(docs)
        rng = random.Random()
        if n >= len(pool):
            rng.shuffle(pool)
            return iter(pool)
        return iter(rng.sample(pool, n))

    return sample


@_stage("$count")
def _count(spec, c: _Compile) -> Stage:
    if not isinstance(spec, str) or not spec:
        raise _fail(40156, "the count field must be a non-empty string")
    if spec.startswith("$"):
        raise _fail(40158, "the count field cannot be a $-prefixed path")
    if "." in spec:
        raise _fail(40160, "the count field cannot contain '.'")

    def count(docs, run):
        n = sum(1 for _ in docs)
        if n:
            yield {spec: n}

    return count


# ---------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------


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
    if not isinstance(spec, dict):
        raise _fail(40201, f"Argument to $bucket stage must be an object, but found type: "
                           f"{_core._type_name(spec)}.")
    for key in spec:
        if key not in ("groupBy", "boundaries", "default", "output"):
            raise _fail(40197, f"Unrecognized option to $bucket: {key}.")
    if "groupBy" not in spec or "boundaries" not in spec:
        raise _fail(40198, "$bucket requires 'groupBy' and 'boundaries' to be specified.")
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
    if not isinstance(spec, dict):
        raise _fail(40240, f"The argument to $bucketAuto must be an object, but found type: "
                           f"{_core._type_name(spec)}.")
    for key in spec:
        if key not in ("groupBy", "buckets", "output", "granularity"):
            raise _fail(40245, f"Unrecognized option to $bucketAuto: {key}.")
    if "groupBy" not in spec or "buckets" not in spec:
        raise _fail(40246, "$bucketAuto requires 'groupBy' and 'buckets' to be specified")
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
        keyed = []
        for d in docs:
            v = f_group(d, vars)
            v = None if v is MISSING else v
            keyed.append((sort_key(v), v, d))
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


# ---------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------


def _copy_value(value: Any) -> Any:
    """A structural copy of documents and arrays (other values are immutable or treated as such)."""
    t = type(value)
    if t is dict:
        return {k: _copy_value(v) for k, v in value.items()}
    if t is list:
        return [_copy_value(v) for v in value]
    return value


def _set_nested(doc: dict, parts: list[str], value: Any) -> dict:
    """A copy of ``doc`` with ``parts`` set to ``value`` (parents copied, others shared)."""
    out = dict(doc)
    if len(parts) == 1:
        out[parts[0]] = value
    else:
        out[parts[0]] = _set_nested(doc[parts[0]], parts[1:], value)
    return out


def _unset_nested(doc: dict, parts: list[str]) -> dict:
    out = dict(doc)
    if len(parts) == 1:
        out.pop(parts[0], None)
    else:
        out[parts[0]] = _unset_nested(doc[parts[0]], parts[1:])
    return out


def _get_nested(doc: dict, parts: list[str]) -> Any:
    """Strict document-only lookup ($unwind never indexes or fans out arrays)."""
    cur: Any = doc
    for part in parts:
        if not isinstance(cur, dict):
            return MISSING
        cur = cur.get(part, MISSING)
        if cur is MISSING:
            return MISSING
    return cur


@_stage("$unwind")
def _unwind(spec, c: _Compile) -> Stage:
    include_index = None
    preserve = False
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "path":
                continue
            if key == "includeArrayIndex":
                if not isinstance(value, str) or not value:
                    raise _fail(28810, "expected a non-empty string for the includeArrayIndex  option to "
                                       f"$unwind stage, got {_core._type_name(value)}")
                if value.startswith("$"):
                    raise _fail(28822, f"includeArrayIndex option to $unwind stage should not be prefixed "
                                       f"with a '$': {value}")
                include_index = value.split(".")
            elif key == "preserveNullAndEmptyArrays":
                if not isinstance(value, bool):
                    raise _fail(28809, "expected a boolean for the preserveNullAndEmptyArrays option to "
                                       f"$unwind stage, got {_core._type_name(value)}")
                preserve = value
            else:
                raise _fail(28811, f"unrecognized option to $unwind stage: {key}")
        if "path" not in spec:
            raise _fail(28812, "no path specified to $unwind stage")
        path = spec["path"]
        if not isinstance(path, str):
            raise _fail(28808, f"expected a string as the path for $unwind stage, got "
                               f"{_core._type_name(path)}")
    elif isinstance(spec, str):
        path = spec
    else:
        raise _fail(15981, f"expected either a string or an object as specification for $unwind stage, "
                           f"got {_core._type_name(spec)}")
    if not path:
        raise _fail(40352, "FieldPath cannot be constructed with empty string")
    if not path.startswith("$"):
        raise _fail(28818, f"path option to $unwind stage should be prefixed with a '$': {path}")
    parts = _field_path_parts(path[1:], "$unwind")

    def unwind(docs, run):
        from bson.int64 import Int64

        for d in docs:
            value = _get_nested(d, parts)
            if isinstance(value, list):
                if value:
                    for i, el in enumerate(value):
                        out = _set_nested(d, parts, el)
                        if include_index is not None:
                            out = _set_nested_create(out, include_index, Int64(i))
                        yield out
                elif preserve:
                    out = _unset_nested(d, parts)
                    yield _set_nested_create(out, include_index, None) if include_index else out
            elif value is None or value is MISSING:
                if preserve:
                    yield _set_nested_create(d, include_index, None) if include_index else d
            else:
                yield _set_nested_create(d, include_index, None) if include_index else d

    return unwind


def _set_nested_create(doc: dict, parts: list[str], value: Any) -> dict:
    """Like :func:`_set_nested` but creating (or replacing non-document) parents."""
    out = dict(doc)
    if len(parts) == 1:
        out[parts[0]] = value
    else:
        child = doc.get(parts[0])
        out[parts[0]] = _set_nested_create(child if isinstance(child, dict) else {}, parts[1:], value)
    return out


# ---------------------------------------------------------------------------
# Other collections
# ---------------------------------------------------------------------------


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
    if not isinstance(spec, dict):
        raise _fail(FAILED_TO_PARSE, "the $graphLookup specification must be an Object")
    allowed = ("from", "startWith", "connectFromField", "connectToField", "as", "maxDepth", "depthField",
               "restrictSearchWithMatch")
    for key in spec:
        if key not in allowed:
            raise _fail(40104, f"Unknown argument to $graphLookup: {key}")
    for key in ("from", "startWith", "connectFromField", "connectToField", "as"):
        if key not in spec:
            raise _fail(40105, f"$graphLookup requires '{key}' to be specified")
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


def _target(spec: Any, stage: str) -> tuple[str | None, str]:
    if isinstance(spec, str):
        if not spec:
            raise _fail(73, f"Invalid {stage} target namespace: ''")
        return None, spec
    if isinstance(spec, dict):
        db, coll = spec.get("db"), spec.get("coll")
        if not isinstance(coll, str) or (db is not None and not isinstance(db, str)):
            raise _fail(13111 if stage == "$out" else 51178,
                        f"{stage} target must specify 'coll' as a string (and optionally 'db')")
        return db, coll
    raise _fail(13111 if stage == "$out" else 51178,
                f"{stage} only supports a string or object argument, not {_core._type_name(spec)}")


@_stage("$out")
def _out(spec, c: _Compile) -> Stage:
    db, coll = _target(spec, "$out")
    if coll.startswith("system."):
        raise _fail(17385, f"Can't $out to special collection: {coll}")

    def out(docs, run):
        run.context.out(db, coll, list(docs))
        return iter(())

    return out


@_stage("$merge")
def _merge(spec, c: _Compile) -> Stage:
    if isinstance(spec, str):
        spec = {"into": spec}
    if not isinstance(spec, dict):
        raise _fail(51182, f"$merge only supports a string or object argument, not {_core._type_name(spec)}")
    for key in spec:
        if key not in ("into", "on", "let", "whenMatched", "whenNotMatched"):
            raise _fail(40415, f"BSON field '$merge.{key}' is an unknown field.")
    if "into" not in spec:
        raise _fail(40414, "BSON field '$merge.into' is missing but a required field")
    db, coll = _target(spec["into"], "$merge")
    on = spec.get("on", "_id")
    on_fields = (on,) if isinstance(on, str) else tuple(on) if isinstance(on, list) else None
    if not on_fields or not all(isinstance(f, str) for f in on_fields):
        raise _fail(51186, "Cannot find index to verify that join fields will be unique")
    when_matched = spec.get("whenMatched", "merge")
    if isinstance(when_matched, list):
        compile_pipeline(when_matched, variables=c.scope | set((spec.get("let") or {"new": 1}).keys()),
                         allowed=UPDATE_STAGES)
    elif when_matched not in ("replace", "keepExisting", "merge", "fail"):
        raise _fail(BAD_VALUE, f"Enumeration value '{when_matched}' for field '$merge.whenMatched' is not a "
                               "valid value.")
    when_not_matched = spec.get("whenNotMatched", "insert")
    if when_not_matched not in ("insert", "discard", "fail"):
        raise _fail(BAD_VALUE, f"Enumeration value '{when_not_matched}' for field '$merge.whenNotMatched' is "
                               "not a valid value.")
    let = spec.get("let")

    def merge(docs, run):
        run.context.merge(db, coll, list(docs), on_fields, when_matched, when_not_matched, let)
        return iter(())

    return merge


# ---------------------------------------------------------------------------
# $setWindowFields
# ---------------------------------------------------------------------------

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


def _window_values(out: _WindowOutput, rows: list[dict], keys: list, vars: dict) -> list:
    """The output value of ``out`` for every row of one sorted partition."""
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
            if i == 0 or compare(keys[i], keys[i - 1]) != 0:
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
    if not isinstance(spec, dict):
        raise _fail(TYPE_MISMATCH, "the $setWindowFields stage specification must be an object")
    for key in spec:
        if key not in ("partitionBy", "sortBy", "output"):
            raise _fail(40415, f"BSON field '$setWindowFields.{key}' is an unknown field.")
    if "output" not in spec:
        raise _fail(40414, "BSON field '$setWindowFields.output' is missing but a required field")
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
        for d in pool:
            key = partition(d, vars) if partition is not None else None
            key = None if key is MISSING else key
            partitions.setdefault(sort_key(key), []).append(d)
        sorter = _compile_sort(sort_spec, run.collation) if sort_spec else None
        for pkey in sorted(partitions):
            rows = partitions[pkey]
            if sorter is not None:
                rows = sorter.sorted(rows)
            keys = [_core._walk(d, first_sort_path, 0) for d in rows] if first_sort_path else []
            keys = [None if k is MISSING else k for k in keys]
            columns = [_window_values(out, rows, keys, vars) for out in outputs]
            for i, d in enumerate(rows):
                for out, column in zip(outputs, columns):
                    d = _set_nested_create(d, out.path, column[i])
                yield d

    return set_window_fields


@_stage("$fill")
def _fill(spec, c: _Compile) -> Stage:
    """``$fill``: what the server rewrites it to, $setWindowFields ($locf/$linearFill) then $ifNull values."""
    if not isinstance(spec, dict):
        raise _fail(TYPE_MISMATCH, "the $fill stage specification must be an object")
    for key in spec:
        if key not in ("partitionBy", "partitionByFields", "sortBy", "output"):
            raise _fail(40415, f"BSON field '$fill.{key}' is an unknown field.")
    if "output" not in spec:
        raise _fail(40414, "BSON field '$fill.output' is missing but a required field")
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
    if not isinstance(spec, dict):
        raise _fail(TYPE_MISMATCH, "the $densify stage specification must be an object")
    for key in spec:
        if key not in ("field", "partitionByFields", "range"):
            raise _fail(40415, f"BSON field '$densify.{key}' is an unknown field.")
    for key in ("field", "range"):
        if key not in spec:
            raise _fail(40414, f"BSON field '$densify.{key}' is missing but a required field")
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
        for d in pool:
            key_values = [_get_nested(d, parts) for parts in partition_parts]
            k = tuple(sort_key(None if v is MISSING else v) for v in key_values)
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
