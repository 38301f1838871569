"""``$unwind`` and the nested-path helpers it (and other stages) use.

    >>> from dongo.backends.memory.aggregate import run_pipeline
    >>> list(run_pipeline([{"$unwind": "$a"}], [{"_id": 1, "a": [1, 2]}]))
    [{'_id': 1, 'a': 1}, {'_id': 1, 'a': 2}]
"""

from __future__ import annotations

from typing import Any

from ..bsontypes import MISSING
from ..expressions import core as _core
from .pipeline import Stage, _Compile, _fail, _stage
from .shaping import _field_path_parts


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
