"""Filtering and shaping stages: ``$match``, ``$project``, ``$addFields``/``$set``, ``$unset``,
``$replaceRoot``/``$replaceWith`` and ``$redact``.

    >>> from dongo.backends.memory.aggregate import run_pipeline
    >>> list(run_pipeline([{"$set": {"b": {"$add": ["$a", 1]}}}], [{"a": 1}]))
    [{'a': 1, 'b': 2}]
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

from .. import expressions as _expr
from ..bsontypes import MISSING
from ..errors import ServerError
from ..expressions import core as _core
from .pipeline import Stage, _check_stage_fields, _Compile, _fail, _show, _stage


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
    """The stage's matcher; ``$expr`` inside it follows ``collation`` too (filters passes it on)."""
    from ..filters import compile_filter

    return compile_filter(spec, collation=collation, variables=variables)


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
        # filter() over the bare predicate: no generator frame per document.
        return filter(matcher.fn, docs)

    return match


@_stage("$project")
def _project(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(15969, "$project specification must be an object")
    if not spec:
        raise _fail(51272, "Invalid $project :: caused by :: projection specification must have at least "
                           "one field")
    from ..projection import compile_projection

    projector = compile_projection(spec, for_find=False, variables=c.scope, collation=c.collation)
    return lambda docs, run: map(projector, docs, repeat(run.vars))


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
    _check_stage_fields("$replaceRoot", spec, ("newRoot",), ("newRoot",),
                        (40229, "expected an object as specification for {name} stage, got {type}"))
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
        if action == "keep":
            return doc
        if action == "prune":
            return MISSING
        if action != "descend":
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
