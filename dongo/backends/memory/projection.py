"""Projections: ``find`` projections and the aggregation ``$project`` stage.

    >>> p = compile_projection({"item": 1, "status": 1})
    >>> p({"_id": 1, "item": "a", "qty": 5, "status": "A"})
    {'_id': 1, 'item': 'a', 'status': 'A'}
    >>> compile_projection({"qty": 0})({"_id": 1, "item": "a", "qty": 5})
    {'_id': 1, 'item': 'a'}

A projection is parsed (with the server's error codes, following its
``projection_ast`` parser) into a tree of path nodes whose leaves are:

* ``True``/``False`` — include / exclude the field;
* a computed value — an aggregation expression or a literal (inclusion
  projections only), evaluated against the whole document;
* find-only operators: ``$slice`` (keeps the field, sliced), ``$elemMatch``
  (the first matching element, placed after the other included fields) and
  the positional ``field.$`` (the element the query matched).

The projection type comes from the first non-``_id`` inclusion or exclusion
(or the server's defaults when there is none): inclusion keeps only what is
named (plus ``_id`` unless excluded), exclusion keeps everything else.

Through arrays, a path projects every element: inclusion keeps the matching
parts of embedded documents and drops scalars; exclusion leaves scalars alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from . import bsontypes as _bt
from .bsontypes import MISSING
from .collation import parse_collation
from .errors import INVALID_PIPELINE_OPERATOR, ServerError

__all__ = ["Projector", "compile_projection"]

INCLUSION = "inclusion"
EXCLUSION = "exclusion"


class _Computed:
    """A leaf computing its value from the root document: ``fn(root, vars)``."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any, dict], Any]):
        self.fn = fn


class _Slice:
    """find()'s ``{$slice: n}`` or ``{$slice: [skip, limit]}``."""

    __slots__ = ("skip", "limit")

    def __init__(self, skip: int | None, limit: int):
        self.skip = skip
        self.limit = limit

    def apply(self, value: Any) -> Any:
        if type(value) is not list and type(value) is not tuple:
            return value
        n = len(value)
        if self.skip is None:
            if self.limit >= 0:
                return list(value[: self.limit])
            return list(value[max(n + self.limit, 0) :])
        start = self.skip if self.skip >= 0 else max(n + self.skip, 0)
        return list(value[start : start + self.limit])


class _ElemMatch:
    """find()'s ``{field: {$elemMatch: ...}}``: the first matching element."""

    __slots__ = ("matcher",)

    def __init__(self, matcher: Any):
        self.matcher = matcher


class _Positional:
    """The leaf of ``path.$``: include, narrowing the first array to the matched element."""

    __slots__ = ()


_POSITIONAL = _Positional()


class _PathNode:
    """An internal node: children by field name, in projection order."""

    __slots__ = ("children", "has_positional", "has_computed")

    def __init__(self) -> None:
        self.children: dict[str, Any] = {}
        self.has_positional = False
        self.has_computed = False


def _err(code: int, msg: str) -> ServerError:
    return ServerError(code, msg)


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[ " + ", ".join(_fmt(v) for v in value) + " ]"
    return str(value)


def _field_path(path: str) -> tuple[str, ...]:
    """FieldPath validation (the server's codes for bad projection paths)."""
    if path == "":
        raise _err(40352, "FieldPath cannot be constructed with empty string")
    parts = tuple(path.split("."))
    for part in parts:
        if part == "":
            raise _err(15998, "FieldPath field names may not be empty strings.")
        if part.startswith("$"):
            raise _err(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
        if "\x00" in part:
            raise _err(16411, "FieldPath field names may not contain '\\0'.")
    return parts


def _add(root: _PathNode, parts: tuple[str, ...], leaf: Any) -> None:
    """addNodeAtPath with the server's collision errors (31249, 31250)."""
    node = root
    full = ".".join(parts)
    for i, part in enumerate(parts):
        child = node.children.get(part)
        if i == len(parts) - 1:
            if child is not None:
                raise _err(31250, f"Path collision at {full}")
            node.children[part] = leaf
            return
        if child is None:
            child = _PathNode()
            node.children[part] = child
        elif not isinstance(child, _PathNode):
            raise _err(31249, f"Path collision at {full} remaining portion {'.'.join(parts[1:])}")
        node = child


def _find_positional(path: str) -> tuple[int, int] | None:
    """Where the first positional ``$`` component is (findFirstPositionalOperator)."""
    first = path.find(".$.")
    if first != -1:
        return first, first + 3
    if path.endswith(".$"):
        return len(path) - 2, len(path)
    if path == "$":
        return 0, len(path)
    return None


def _query_prefixes(spec: Any) -> set[str]:
    """First components of every path a query filter constrains."""
    out: set[str] = set()
    if not isinstance(spec, Mapping):
        return out
    for key, value in spec.items():
        if key in ("$and", "$or", "$nor") and isinstance(value, (list, tuple)):
            for sub in value:
                out |= _query_prefixes(sub)
        elif isinstance(key, str) and not key.startswith("$"):
            out.add(key.split(".")[0])
    return out


def _true_value(value: Any) -> bool:
    if value is None or value is False:
        return False
    if _bt.is_number(value):
        return _bt.to_python_number(value) != 0
    return True


def _is_inclusion_or_exclusion(value: Any) -> bool:
    return isinstance(value, bool) or _bt.is_number(value)


class _Parser:
    """Builds the projection tree (projection_parser.cpp, in Python)."""

    def __init__(self, spec: Mapping, matcher: Any, for_find: bool, scope: frozenset = frozenset(),
                 collation: Any = None):
        self.spec = spec
        self.scope = scope
        self.collation = collation
        self.matcher = matcher
        self.for_find = for_find
        self.root = _PathNode()
        self.type: str | None = None
        self.id_specified = False
        self.id_included = False
        self.id_excluded = False
        self.has_positional = False
        self.has_elem_match = False
        self.has_find_slice = False
        self.elem_matches: list[tuple[str, Any]] = []

    # -- element kinds -----------------------------------------------------

    def parse(self) -> None:
        for name, value in self.spec.items():
            self.id_specified |= name == "_id" or name.startswith("_id.")
            self._element(name, value, None, self.root)
        if self.type is None:
            if self.has_find_slice:
                self.type = INCLUSION if self.id_included else EXCLUSION
            elif self.has_elem_match:
                self.type = INCLUSION
            elif self.id_included:
                self.type = INCLUSION
            else:
                self.type = EXCLUSION
        if not self.id_specified and self.type == INCLUSION:
            _add(self.root, ("_id",), True)
        if self.type == EXCLUSION and self.id_included:
            del self.root.children["_id"]

    def _element(self, name: str, value: Any, parent_path: tuple[str, ...] | None, parent: _PathNode) -> None:
        positional = _find_positional(name)
        if positional is not None and not self.for_find:
            raise _err(31324, "Cannot use positional projection in aggregation projection")
        if ".$." in name:  # the pre-4.4 form a.$.b (SERVER-43334); the text is the server's
            raise _err(31394, "As of 4.4, it's illegal to specify positional operator in the middle "
                       "of a path.Positional projection may only be used at the end, for example: "
                       "a.b.$. If the query previously used a form like a.b.$.d, remove the parts "
                       "following the '$' and the results will be equivalent.")
        if isinstance(value, Mapping):
            if positional is not None:
                raise _err(31271, "positional projection cannot be used with an expression or sub object")
            self._sub_object(name, value, parent_path, parent)
        elif _is_inclusion_or_exclusion(value):
            if _true_value(value):
                self._inclusion(name, parent, parent_path, positional)
            else:
                self._exclusion(name, parent)
        else:
            if positional is not None:
                raise _err(31308, "positional projection cannot be used with a literal")
            self._literal(name, value, parent, parent_path)

    def _inclusion(self, name: str, parent: _PathNode, parent_path: tuple[str, ...] | None,
                   positional: tuple[int, int] | None) -> None:
        top_level_id = name == "_id" and parent is self.root
        if positional is None:
            _add(parent, _field_path(name), True)
            if top_level_id:
                self.id_included = True
        else:
            if self.has_positional:
                raise _err(31276, "Cannot specify more than one positional projection per query.")
            if self.has_elem_match:
                raise _err(31256, "Cannot specify positional operator and $elemMatch.")
            match_field = parent_path[0] if parent_path else name.split(".")[0]
            if self.matcher is None:
                raise _err(51050, "Projections with a positional operator require a matcher")
            if match_field not in _query_prefixes(getattr(self.matcher, "spec", None)):
                raise _err(31277, f"Positional projection '{name}' does not match the query document.")
            if name.endswith(".$."):
                raise _err(31270, "Path cannot end with '.$.'")
            begin, end = positional
            rest = name[end:]
            if _find_positional(rest) is not None or rest == "$":
                raise _err(31287, f"Cannot use positional operator twice: {name}")
            parts = _field_path(name[:begin])
            _add(parent, parts, _POSITIONAL)
            self.has_positional = True
            self._flag_path(parent_path, parts, "has_positional")
        if not top_level_id:
            if self.type == EXCLUSION:
                raise _err(31253, f"Cannot do inclusion on field {name} in exclusion projection")
            self.type = INCLUSION

    def _exclusion(self, name: str, parent: _PathNode) -> None:
        _add(parent, _field_path(name), False)
        if name == "_id" and parent is self.root:
            self.id_excluded = True
            return
        if self.type == INCLUSION:
            raise _err(31254, f"Cannot do exclusion on field {name} in inclusion projection")
        self.type = EXCLUSION

    def _literal(self, name: str, value: Any, parent: _PathNode, parent_path: tuple[str, ...] | None) -> None:
        parts = _field_path(name)
        _add(parent, parts, _Computed(_operand(value, self.scope, self.collation)))
        self._flag_path(parent_path, parts, "has_computed")
        if self.type == EXCLUSION:
            raise _err(31310, f"Cannot use an expression {name}: {_fmt(value)} in an exclusion projection")
        self.type = INCLUSION

    def _sub_object(self, name: str, obj: Mapping, parent_path: tuple[str, ...] | None, parent: _PathNode) -> None:
        parts = _field_path(name)
        if len(obj) == 1:
            first = next(iter(obj))
            if isinstance(first, str) and first.startswith("$"):
                if self._expression(name, parts, obj, parent, parent_path):
                    return
                raise _err(31325, f"Unknown expression {first}")
        if not obj:
            raise _err(51270, "An empty sub-projection is not a valid value. Found empty object at path")
        child = parent.children.get(parts[0]) if len(parts) == 1 else None
        if len(parts) == 1 and child is not None and not isinstance(child, _PathNode):
            raise _err(31250, f"Path collision at {name}")
        node = _PathNode()
        if len(parts) == 1 and isinstance(child, _PathNode):
            node = child
        else:
            _add(parent, parts, node)
        full = (parent_path or ()) + parts
        for key, value in obj.items():
            self._element(key, value, full, node)

    def _flag_path(self, parent_path: tuple[str, ...] | None, parts: tuple[str, ...], attr: str) -> None:
        """Mark every path node from the root down to the new leaf."""
        full = (parent_path or ()) + parts
        node = self.root
        setattr(node, attr, True)
        for part in full[:-1]:
            node = node.children.get(part)
            if not isinstance(node, _PathNode):
                return
            setattr(node, attr, True)

    def _expression(self, name: str, parts: tuple[str, ...], obj: Mapping, parent: _PathNode,
                    parent_path: tuple[str, ...] | None) -> bool:
        op, arg = next(iter(obj.items()))
        if op == "$meta":
            raise NotImplementedError("$meta projections are not supported by the memory engine")
        if self.for_find and op == "$slice":
            self._find_slice(parts, arg, parent, obj)
            return True
        if op == "$elemMatch":
            if not self.for_find:
                raise _err(INVALID_PIPELINE_OPERATOR, "Cannot use $elemMatch in this context")
            self._elem_match(name, parts, arg, parent)
            return True
        compiled = _compile_expression_or_none(obj, self.scope, self.collation)
        if compiled is None:
            return False
        if self.type == EXCLUSION:
            raise _err(31252, "Cannot use expression other than $meta in exclusion projection")
        self.type = INCLUSION
        _add(parent, parts, _Computed(compiled))
        self._flag_path(parent_path, parts, "has_computed")
        return True

    def _find_slice(self, parts: tuple[str, ...], arg: Any, parent: _PathNode, obj: Mapping) -> None:
        if _bt.is_number(arg):
            leaf = _Slice(None, _number_int(arg))
        elif isinstance(arg, (list, tuple)):
            if len(arg) != 2:
                raise _err(31272, "$slice array argument should be of form [skip, limit]")
            skip, limit = arg
            if not _bt.is_number(skip):
                raise _err(31257, f"$slice expects the skip argument to be a number, got {_bt.type_name(skip)}")
            if not _bt.is_number(limit):
                raise _err(31258, f"$slice expects the limit argument to be a number, got {_bt.type_name(limit)}")
            if _number_int(limit) <= 0:
                raise _err(31259, f"$slice limit must be positive, got {_number_int(limit)}")
            leaf = _Slice(_number_int(skip), _number_int(limit))
        else:
            raise _err(31273, "$slice only supports numbers and [skip, limit] arrays")
        _add(parent, parts, leaf)
        self.has_find_slice = True

    def _elem_match(self, name: str, parts: tuple[str, ...], arg: Any, parent: _PathNode) -> None:
        if not isinstance(arg, Mapping):
            raise _err(31274, f"elemMatch: Invalid argument, object required, but got {_bt.type_name(arg)}")
        if self.has_positional:
            raise _err(31255, "Cannot specify positional operator and $elemMatch.")
        if len(parts) != 1 or parent is not self.root:
            raise _err(31275, "Cannot use $elemMatch projection on a nested field.")
        from .filters import compile_filter

        matcher = compile_filter({name: {"$elemMatch": arg}}, collation=self.collation)
        _add(parent, parts, _ElemMatch(matcher))
        self.has_elem_match = True
        self.root.has_computed = True  # evaluated in the second pass, after inclusions


def _number_int(value: Any) -> int:
    """BSONElement::numberInt(): truncation, saturating like the server's casts."""
    number = _bt.to_python_number(value)
    try:
        n = int(number)
    except (ValueError, OverflowError):
        return 0
    return max(-(2**31), min(2**31 - 1, n))


def _compile_expression_or_none(obj: Mapping, scope: frozenset,
                                collation: Any) -> Callable[[Any, dict], Any] | None:
    """Compile ``{$op: ...}`` as an aggregation expression; None if ``$op`` is unknown."""
    from .expressions import compile_expression  # lazy: owned by the aggregation module

    try:
        return compile_expression(obj, variables=scope, collation=collation)
    except ServerError as exc:
        if exc.code in (INVALID_PIPELINE_OPERATOR, 31325) and "nrecognized expression" in exc.errmsg:
            return None
        raise


def _operand(value: Any, scope: frozenset, collation: Any) -> Callable[[Any, dict], Any]:
    """A literal projection value: constant, or an expression for '$paths' and arrays."""
    if (isinstance(value, str) and value.startswith("$")) or isinstance(value, (list, tuple)):
        from .expressions import compile_expression

        return compile_expression(value, variables=scope, collation=collation)
    return lambda doc, vars_: value


# ==========================================================================
# Execution
# ==========================================================================


def _is_array(v: Any) -> bool:
    t = type(v)
    return t is list or t is tuple


class _Run:
    """Per-document state: root and variables (for expressions), positional index."""

    __slots__ = ("root", "vars", "position")

    def __init__(self, root: Any, vars_: dict, position: int | None):
        self.root = root
        self.vars = vars_
        self.position = position


def _include(node: _PathNode, doc: Mapping, run: _Run) -> dict:
    out: dict = {}
    children = node.children
    for name, value in doc.items():
        child = children.get(name)
        if child is None or child is False:
            continue
        if child is True:
            out[name] = value
        elif isinstance(child, _PathNode):
            sub = _include_value(child, value, run)
            if sub is not MISSING:
                out[name] = sub
        elif isinstance(child, _Slice):
            out[name] = child.apply(value)
        elif child is _POSITIONAL:
            out[name] = _narrow(value, run)
    if node.has_computed:
        for name, child in children.items():
            if isinstance(child, _Computed):
                value = child.fn(run.root, run.vars)
                if value is not MISSING:
                    out[name] = value
            elif isinstance(child, _PathNode) and child.has_computed and name not in doc:
                out[name] = _include(child, {}, run)
            elif isinstance(child, _ElemMatch):
                value = _elem_match_value(name, child, run.root)
                if value is not MISSING:
                    out[name] = value
    return out


def _include_value(node: _PathNode, value: Any, run: _Run) -> Any:
    if isinstance(value, Mapping):
        return _include(node, value, run)
    if _is_array(value):
        if node.has_positional and run.position is not None:
            picked = _include_value(node, _pick(value, run), run)
            return [] if picked is MISSING else [picked]
        out = []
        for element in value:
            if isinstance(element, Mapping) or _is_array(element):
                out.append(_include_value(node, element, run))
            elif node.has_computed:
                out.append(_include(node, {}, run))
        return out
    if node.has_computed:
        return _include(node, {}, run)
    return MISSING


def _pick(array: Any, run: _Run) -> Any:
    position = run.position
    run.position = None  # only the first array on the path is narrowed
    if position >= len(array):
        raise _err(51246, "positional operator '.$' couldn't find a matching element in the array")
    return array[position]


def _narrow(value: Any, run: _Run) -> Any:
    if _is_array(value) and run.position is not None:
        return [_pick(value, run)]
    return value


def _elem_match_value(name: str, leaf: _ElemMatch, root: Any) -> Any:
    ok, position = leaf.matcher.match_position(root)
    if not ok or position is None:
        return MISSING
    return [root[name][position]]


def _exclude(node: _PathNode, doc: dict) -> dict:
    """Exclusion applied in place to the private copy ``doc``."""
    for name, child in node.children.items():
        if name not in doc:
            continue
        if child is False:
            del doc[name]
        elif isinstance(child, _PathNode):
            doc[name] = _exclude_value(child, doc[name])
        elif isinstance(child, _Slice):
            doc[name] = child.apply(doc[name])
    return doc


def _exclude_value(node: _PathNode, value: Any) -> Any:
    if isinstance(value, dict):
        return _exclude(node, value)
    if isinstance(value, Mapping):
        return _exclude(node, dict(value))
    if _is_array(value):
        return [_exclude_value(node, e) for e in value]
    return value


class Projector:
    """A compiled projection: ``projector(doc) -> dict``.

    ``doc`` must be a private copy (an exclusion projection edits it in place).
    ``is_identity`` is true when the projection returns documents unchanged.
    """

    __slots__ = ("spec", "type", "is_identity", "_root", "_matcher", "_needs_position", "_vars")

    def __init__(self, spec: Mapping, parser: _Parser | None, vars_: dict | None = None):
        self.spec = spec
        self._vars = vars_ or {}
        if parser is None:
            self.type = EXCLUSION
            self.is_identity = True
            self._root = _PathNode()
            self._matcher = None
            self._needs_position = False
            return
        self.type = parser.type
        self._root = parser.root
        self._matcher = parser.matcher
        self._needs_position = parser.has_positional
        self.is_identity = self.type == EXCLUSION and not self._root.children

    def __call__(self, doc: Any, vars: dict | None = None) -> dict:
        """Project ``doc``; ``vars`` are the variable values expressions see."""
        if self.is_identity:
            return doc
        if self.type == EXCLUSION:
            if type(doc) is not dict:
                doc = dict(doc)
            return _exclude(self._root, doc)
        position = None
        if self._needs_position:
            _, position = self._matcher.match_position(doc)
        return _include(self._root, doc, _Run(doc, self._vars if vars is None else vars, position))

    def __repr__(self) -> str:
        return f"Projector({self.spec!r}, {self.type})"


def compile_projection(spec: Any, *, matcher: Any = None, for_find: bool = True,
                       variables: Any = None, collation: Any = None) -> Projector:
    """Compile a projection, validating it like the server.

    ``matcher`` is the query's :class:`filters.Matcher` (needed by ``field.$``);
    ``for_find=False`` gives the aggregation ``$project`` rules (no positional,
    ``$elemMatch`` or find ``$slice``; ``$slice`` is then the expression).
    ``variables`` names the user variables in scope (a set), or gives their
    values (a mapping, e.g. find's ``let``); call ``projector(doc, vars)`` to
    supply values per run.  ``collation`` (spec or parsed) governs the string
    comparisons of expressions and ``$elemMatch``; when not given, a find
    projection follows ``matcher.collation`` -- the query's collation, as on
    a server, where one collation applies to the whole find.

        >>> compile_projection({"a": {"$slice": -1}})({"_id": 0, "a": [1, 2, 3], "b": 1})
        {'_id': 0, 'a': [3], 'b': 1}
    """
    if spec is None:
        return Projector({}, None)
    if not isinstance(spec, Mapping):
        raise _err(14, "projection must be an object")
    if not spec:
        if for_find:
            return Projector(spec, None)
        raise _err(51272, "Invalid $project :: caused by :: projection specification must have at least one field")
    values = dict(variables) if isinstance(variables, Mapping) else None
    scope = frozenset(variables) if variables is not None else frozenset()
    if collation is None:
        collation = getattr(matcher, "collation", None)
    else:
        collation = parse_collation(collation)
    parser = _Parser(spec, matcher, for_find, scope, collation)
    try:
        parser.parse()
    except ServerError as exc:
        if for_find:
            raise
        # the aggregation stage reports its parse errors with this context
        raise ServerError(exc.code, f"Invalid $project :: caused by :: {exc.errmsg}") from None
    return Projector(spec, parser, values)
