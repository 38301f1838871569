"""Pipeline compilation and execution: :class:`PipelineContext`, :class:`Pipeline`, the stage registry.

Each stage family module registers its compile functions with :func:`_stage`;
:func:`compile_pipeline` validates placement, looks every stage up once and
chains the compiled stages as generators.

    >>> from dongo.backends.memory.aggregate import run_pipeline
    >>> list(run_pipeline([{"$skip": 1}], [{"_id": 1}, {"_id": 2}]))
    [{'_id': 2}]
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from .. import expressions as _expr
from ..errors import INVALID_OPTIONS, ServerError, TYPE_MISMATCH
from ..expressions import core as _core


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
    from .ordering import _compile_sort, _limit_value, _sort_stage  # lazily: ordering imports this module

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


def _check_stage_fields(name: str, spec: Any, allowed: tuple, required: tuple, not_object: tuple[int, str]) -> None:
    """The checks of a stage the server parses with its IDL: an object (``not_object``),
    no unknown field (40415), every required field (40414).

        >>> try:
        ...     _check_stage_fields("$fill", {"output": {}, "x": 1}, ("output",), ("output",), (14, "not an object"))
        ... except ServerError as exc:
        ...     print(exc.code, exc.args[0])
        40415 BSON field '$fill.x' is an unknown field.
    """
    _core._check_arguments(name, spec, allowed, required, not_object=not_object,
                           unknown=(40415, "BSON field '{name}.{key}' is an unknown field."),
                           missing=(40414, "BSON field '{name}.{key}' is missing but a required field"))
