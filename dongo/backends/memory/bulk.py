"""``bulk_write`` and ``insert_many`` executed the way pymongo and a server do.

pymongo's write models add themselves to a bulk object through
``add_insert``/``add_update``/``add_replace``/``add_delete``
(``request._add_to_bulk(bulk)``); :class:`BulkRun` offers that interface, so
the models' own client-side validation runs unchanged.  Execution then
mirrors pymongo's bulk API against a server:

* operations are grouped into *runs* of one kind (insert/update/delete).
  Ordered: consecutive operations of a kind form a run, runs go in order and
  the first write error stops everything.  Unordered: all inserts, then all
  updates, then all deletes, and every operation is attempted;
* the result accumulates ``nInserted``, ``nMatched``, ``nModified``,
  ``nRemoved``, ``nUpserted``, ``upserted: [{index, _id}]``;
* each failed operation adds ``{index, code, errmsg, [keyPattern, keyValue],
  op}`` to ``writeErrors`` (``index`` in the caller's list, ``op`` the
  insert document or the update/delete statement as pymongo builds it), and
  a result with errors raises ``BulkWriteError(details)``.

    >>> from pymongo import InsertOne, DeleteOne
    >>> from dongo.backends.memory import MemoryClient
    >>> coll = MemoryClient().db.c
    >>> coll.bulk_write([InsertOne({"_id": 1}), DeleteOne({"_id": 1})]).bulk_api_result
    ... # doctest: +NORMALIZE_WHITESPACE
    {'writeErrors': [], 'writeConcernErrors': [], 'nInserted': 1, 'nUpserted': 0,
     'nMatched': 0, 'nModified': 0, 'nRemoved': 1, 'upserted': []}
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from bson import ObjectId
from bson.raw_bson import RawBSONDocument
from pymongo import common
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    InvalidOperation,
    OperationFailure,
)
from pymongo.results import BulkWriteResult

from .collection import Statement, normalize_hint
from .errors import ServerError
from .wire import new_bulk_result, raise_command_error, write_error_document

_INSERT, _UPDATE, _DELETE = 0, 1, 2


def _statement_document(base: dict[str, Any], **options: Any) -> dict[str, Any]:
    """An update/delete statement as pymongo sends it: ``base`` plus the
    options that were given (pymongo leaves out the ones that are None)."""
    base.update((name, value) for name, value in options.items() if value is not None)
    return base

class BulkRun:
    """Collects write operations, then executes them against one collection."""

    def __init__(self, collection: Any, ordered: bool, let: Optional[Mapping[str, Any]] = None,
                 ) -> None:
        if let is not None:
            common.validate_is_document_type("let", let)
        self.collection = collection
        self.ordered = ordered
        self.let = let
        # (kind, op as reported in writeErrors, document or Statement)
        self.ops: list[tuple[int, Any, Any]] = []

    # -- the interface pymongo's write models call ------------------------------------

    def add_insert(self, document: Any) -> None:
        common.validate_is_document_type("document", document)
        if not (isinstance(document, RawBSONDocument) or "_id" in document):
            document["_id"] = ObjectId()
        self.ops.append((_INSERT, document, document))

    def add_update(self, selector: Mapping[str, Any], update: Any, multi: bool = False,
                   upsert: Optional[bool] = None, collation: Any = None,
                   array_filters: Any = None, hint: Any = None, sort: Any = None,
                   **_ignored: Any) -> None:
        common.validate_ok_for_update(update)
        cmd = _statement_document({"q": selector, "u": update, "multi": multi}, upsert=upsert,
                                  collation=collation, arrayFilters=array_filters, hint=hint,
                                  sort=sort)
        stmt = Statement(selector, update, multi=multi, upsert=bool(upsert),
                         collation=collation, array_filters=array_filters,
                         hint=normalize_hint(hint), sort=sort)
        self.ops.append((_UPDATE, cmd, stmt))

    def add_replace(self, selector: Mapping[str, Any], replacement: Mapping[str, Any],
                    upsert: Optional[bool] = None, collation: Any = None, hint: Any = None,
                    sort: Any = None, **_ignored: Any) -> None:
        common.validate_ok_for_replace(replacement)
        cmd = _statement_document({"q": selector, "u": replacement}, upsert=upsert,
                                  collation=collation, hint=hint, sort=sort)
        stmt = Statement(selector, replacement, upsert=bool(upsert), is_replace=True,
                         collation=collation, hint=normalize_hint(hint), sort=sort)
        self.ops.append((_UPDATE, cmd, stmt))

    def add_delete(self, selector: Mapping[str, Any], limit: int, collation: Any = None,
                   hint: Any = None, **_ignored: Any) -> None:
        cmd = _statement_document({"q": selector, "limit": limit}, collation=collation, hint=hint)
        stmt = Statement(selector, multi=not limit, collation=collation,
                         hint=normalize_hint(hint))
        self.ops.append((_DELETE, cmd, stmt))

    # -- execution -----------------------------------------------------------------

    def _runs(self) -> list[list[int]]:
        """Indexes of the operations of each run, in execution order."""
        if self.ordered:
            runs: list[list[int]] = []
            last_kind = None
            for idx, (kind, _op, _arg) in enumerate(self.ops):
                if kind != last_kind:
                    runs.append([])
                    last_kind = kind
                runs[-1].append(idx)
            return runs
        by_kind: list[list[int]] = [[], [], []]
        for idx, (kind, _op, _arg) in enumerate(self.ops):
            by_kind[kind].append(idx)
        return [run for run in by_kind if run]

    def add_statement(self, kind: str, op: Any, arg: Any) -> None:
        """Add a raw statement (``"insert"``/``"update"``/``"delete"``) as a server
        command carries it; used by the ``insert``/``update``/``delete`` commands."""
        self.ops.append(({"insert": _INSERT, "update": _UPDATE, "delete": _DELETE}[kind], op,
                         arg))

    def execute(self) -> dict[str, Any]:
        """Run every operation; returns the bulk result or raises BulkWriteError."""
        if not self.ops:
            raise InvalidOperation("No operations to execute")
        result = self.execute_collecting_errors()
        if result["writeErrors"]:
            raise BulkWriteError(result)
        return result

    def execute_collecting_errors(self) -> dict[str, Any]:
        """Run every operation; returns the bulk result, write errors included."""
        coll = self.collection
        result = new_bulk_result()
        # Inserts create the collection even when every insert fails.
        coll._namespace(create=any(kind == _INSERT for kind, _o, _a in self.ops))
        for run in self._runs():
            self._check_run(run)
            for idx in run:
                kind, op, arg = self.ops[idx]
                try:
                    self._execute_one(kind, arg, idx, result)
                except ServerError as err:
                    error = write_error_document(err, idx)
                    error["op"] = op
                    result["writeErrors"].append(error)
                    if self.ordered:
                        break
            if self.ordered and result["writeErrors"]:
                break
        result["writeErrors"].sort(key=lambda error: error["index"])
        return result

    def _check_run(self, run: list[int]) -> None:
        """Command-level validation of one run (a 7.0 server has no update ``sort``)."""
        for idx in run:
            kind, _op, arg = self.ops[idx]
            if kind == _UPDATE and arg.sort is not None:
                try:
                    self.collection._check_update_sort()
                except ServerError as err:
                    raise_command_error(err)

    def execute_result(self, bypass_document_validation: Optional[bool] = None,
                       ) -> BulkWriteResult:
        """``bulk_write``'s result: acknowledged, or ``BulkWriteResult({}, False)``."""
        result = self.execute_for_write_concern(bypass_document_validation)
        return BulkWriteResult({}, False) if result is None else BulkWriteResult(result, True)

    def execute_for_write_concern(self, bypass_document_validation: Optional[bool] = None,
                                  ) -> Optional[dict[str, Any]]:
        """Run the operations under the collection's write concern: the bulk result
        (``BulkWriteError`` on write errors) when acknowledged; ``None`` for
        ``w=0``, where the server reports nothing, so no error reaches the caller.
        An ordered ``w=0`` bulk still stops at its first error (pymongo sends it
        acknowledged internally to know where to stop); an unordered one tries
        every operation."""
        if self.collection._acknowledged:
            return self.execute()
        if not self.ops:
            raise InvalidOperation("No operations to execute")
        self._check_unacknowledged(bypass_document_validation)
        try:
            self.execute_collecting_errors()
        except OperationFailure:
            pass  # a command-level error: not reported to a w=0 caller either
        return None

    def _check_unacknowledged(self, bypass_document_validation: Optional[bool]) -> None:
        """pymongo's client-side refusals for a ``w=0`` bulk, in its order."""
        statements = [arg for kind, _op, arg in self.ops if kind != _INSERT]
        if any(stmt.collation is not None for stmt in statements):
            raise ConfigurationError("Collation is unsupported for unacknowledged writes.")
        if any(stmt.array_filters is not None for stmt in statements):
            raise ConfigurationError("arrayFilters is unsupported for unacknowledged writes.")
        if any(stmt.sort is not None for stmt in statements):
            self.collection._check_unacknowledged_sort()
        if bypass_document_validation:
            raise OperationFailure(
                "Cannot set bypass_document_validation with unacknowledged write concern")

    def _execute_one(self, kind: int, arg: Any, idx: int, result: dict[str, Any]) -> None:
        coll = self.collection
        if kind == _INSERT:
            coll._insert_document(coll._namespace(create=True, write=True), arg)
            result["nInserted"] += 1
        elif kind == _UPDATE:
            matched, modified, upserted_id = coll._execute_update(arg, self.let)
            result["nMatched"] += matched
            result["nModified"] += modified
            if upserted_id is not None:
                result["nUpserted"] += 1
                result["upserted"].append({"index": idx, "_id": upserted_id})
        else:
            result["nRemoved"] += coll._execute_delete(arg, self.let)
