"""Output stages ``$out`` and ``$merge``, and :func:`merge_matched_document` (``whenMatched``).

The writes themselves go through the run's :class:`PipelineContext`.
"""

from __future__ import annotations

from typing import Any

from .. import expressions as _expr
from ..errors import BAD_VALUE
from ..expressions import core as _core
from .pipeline import (PipelineContext, Stage, UPDATE_STAGES, _check_stage_fields, _Compile, compile_pipeline,
                       _fail, _stage)


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
    _check_stage_fields("$merge", spec, ("into", "on", "let", "whenMatched", "whenNotMatched"), ("into",),
                        (51182, "{name} only supports a string or object argument, not {type}"))
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
