"""pymongo-shaped cursors: :class:`MemoryCursor` (``find``) and
:class:`MemoryCommandCursor` (``aggregate``, ``list_indexes``, ``list_collections``).

A ``MemoryCursor`` is lazy: nothing runs until it is iterated.  Then the
filter, projection and sort are compiled (errors surface as
``OperationFailure`` at that moment, like a server's first batch), the
planner snapshots candidate record ids under the collection lock, and
documents are produced one by one, so ``limit``/``find_one`` stop early
when no in-memory sort is needed.  Options set after iteration started raise
``InvalidOperation`` exactly like pymongo.

    >>> from dongo.backends.memory import MemoryClient
    >>> coll = MemoryClient().db.c
    >>> _ = coll.insert_many([{"_id": i} for i in range(5)])
    >>> [d["_id"] for d in coll.find().sort("_id", -1).skip(1).limit(2)]
    [3, 2]
    >>> coll.find()[4]
    {'_id': 4}
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any, Iterator, Mapping, Optional

from bson.code import Code
from pymongo import CursorType, common
from pymongo.collation import validate_collation_or_none
from pymongo.errors import InvalidOperation

from .collection import (
    normalize_hint,
    normalize_projection,
    validate_max_time_ms,
)
from .errors import ServerError
from .sort import compile_sort
from .wire import raise_command_error

try:  # pymongo >= 4.9
    from pymongo import helpers_shared as _helpers
except ImportError:  # pragma: no cover
    from pymongo import helpers as _helpers  # type: ignore[no-redef]

_CLONED = ("spec", "projection", "skip", "limit", "max_time_ms", "comment", "ordering",
           "hint", "batch_size", "collation", "empty", "allow_disk_use", "let", "max_scan")


class _IterationProtocol:
    """What pymongo's ``Cursor`` and ``CommandCursor`` share: iteration,
    ``with`` support and ``to_list``, built on each class's own ``next`` and
    ``close``."""

    def __iter__(self) -> Any:
        return self

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def to_list(self, length: Optional[int] = None) -> list:
        """The remaining documents (at most ``length``) as a list."""
        if isinstance(length, int) and length < 1:
            raise ValueError("to_list() length must be greater than 0")
        out = []
        for doc in self:
            out.append(doc)
            if length is not None and len(out) >= length:
                break
        return out


class MemoryCursor(_IterationProtocol):
    """The result of ``find`` (pymongo ``Cursor`` shape)."""

    def __init__(self, collection: Any, filter: Optional[Mapping[str, Any]] = None,
                 projection: Any = None, skip: int = 0, limit: int = 0,
                 no_cursor_timeout: bool = False, cursor_type: int = CursorType.NON_TAILABLE,
                 sort: Any = None, allow_partial_results: bool = False,
                 oplog_replay: bool = False, batch_size: int = 0, collation: Any = None,
                 hint: Any = None, max_scan: Any = None, max_time_ms: Optional[int] = None,
                 max: Any = None, min: Any = None, return_key: Optional[bool] = None,
                 show_record_id: Optional[bool] = None, snapshot: Optional[bool] = None,
                 comment: Any = None, session: Any = None,
                 allow_disk_use: Optional[bool] = None, let: Any = None) -> None:
        self._collection = collection
        self._killed = False
        spec = filter or {}
        common.validate_is_mapping("filter", spec)
        if not isinstance(skip, int):
            raise TypeError(f"skip must be an instance of int, not {type(skip)}")
        if not isinstance(limit, int):
            raise TypeError(f"limit must be an instance of int, not {type(limit)}")
        common.validate_boolean("no_cursor_timeout", no_cursor_timeout)
        if cursor_type not in (CursorType.NON_TAILABLE, CursorType.TAILABLE,
                               CursorType.TAILABLE_AWAIT, CursorType.EXHAUST):
            raise ValueError("not a valid value for cursor_type")
        if cursor_type != CursorType.NON_TAILABLE:
            raise NotImplementedError("tailable and exhaust cursors are not supported by the "
                                      "memory engine")
        common.validate_boolean("allow_partial_results", allow_partial_results)
        common.validate_boolean("oplog_replay", oplog_replay)
        if not isinstance(batch_size, int):
            raise TypeError(f"batch_size must be an integer, not {type(batch_size)}")
        if batch_size < 0:
            raise ValueError("batch_size must be >= 0")
        if allow_disk_use is not None:
            allow_disk_use = common.validate_boolean("allow_disk_use", allow_disk_use)
        if let is not None:
            common.validate_is_document_type("let", let)
        validate_max_time_ms(max_time_ms)
        if return_key or show_record_id:
            raise NotImplementedError("return_key/show_record_id are not supported by the "
                                      "memory engine")
        if max is not None or min is not None:
            raise NotImplementedError("min/max are not supported by the memory engine")
        self._spec = spec
        self._projection = normalize_projection(projection)
        self._skip = skip
        self._limit = limit
        self._batch_size = batch_size
        self._ordering = (sort and _helpers._index_document(sort)) or None
        self._hint = normalize_hint(hint)
        self._collation = validate_collation_or_none(collation)
        self._max_time_ms = max_time_ms
        self._max_scan = max_scan  # sent as maxScan, which 4.2+ servers reject (see _documents)
        self._comment = comment
        self._allow_disk_use = allow_disk_use
        self._let = let
        self._session = session
        self._empty = False
        self._reset()

    def _reset(self) -> None:
        self._iter: Optional[Iterator[Any]] = None
        self._data: deque = deque()
        self._retrieved = 0
        self._started = False
        self._exhausted = False

    # -- options (chainable until iteration starts) -------------------------------------

    def _check_okay_to_chain(self) -> None:
        if self._started:
            raise InvalidOperation("cannot set options after executing query")

    def limit(self, limit: int) -> "MemoryCursor":
        """At most ``abs(limit)`` documents (0: no limit; negative: one batch, like pymongo)."""
        if not isinstance(limit, int):
            raise TypeError(f"limit must be an integer, not {type(limit)}")
        self._check_okay_to_chain()
        self._empty = False
        self._limit = limit
        return self

    def skip(self, skip: int) -> "MemoryCursor":
        if not isinstance(skip, int):
            raise TypeError(f"skip must be an integer, not {type(skip)}")
        if skip < 0:
            raise ValueError("skip must be >= 0")
        self._check_okay_to_chain()
        self._skip = skip
        return self

    def batch_size(self, batch_size: int) -> "MemoryCursor":
        if not isinstance(batch_size, int):
            raise TypeError(f"batch_size must be an integer, not {type(batch_size)}")
        if batch_size < 0:
            raise ValueError("batch_size must be >= 0")
        self._check_okay_to_chain()
        self._batch_size = batch_size
        return self

    def sort(self, key_or_list: Any, direction: Any = None) -> "MemoryCursor":
        self._check_okay_to_chain()
        keys = _helpers._index_list(key_or_list, direction)
        self._ordering = _helpers._index_document(keys)
        return self

    def hint(self, index: Any) -> "MemoryCursor":
        self._check_okay_to_chain()
        self._hint = normalize_hint(index)
        return self

    def collation(self, collation: Any) -> "MemoryCursor":
        self._check_okay_to_chain()
        self._collation = validate_collation_or_none(collation)
        return self

    def max_time_ms(self, max_time_ms: Optional[int]) -> "MemoryCursor":
        """Validated and accepted; the memory engine never times a query out."""
        validate_max_time_ms(max_time_ms)
        self._check_okay_to_chain()
        self._max_time_ms = max_time_ms
        return self

    def comment(self, comment: Any) -> "MemoryCursor":
        self._check_okay_to_chain()
        self._comment = comment
        return self

    def allow_disk_use(self, allow_disk_use: bool) -> "MemoryCursor":
        if not isinstance(allow_disk_use, bool):
            raise TypeError(f"allow_disk_use must be a bool, not {type(allow_disk_use)}")
        self._check_okay_to_chain()
        self._allow_disk_use = allow_disk_use
        return self

    def where(self, code: Any) -> "MemoryCursor":
        self._check_okay_to_chain()
        if not isinstance(code, (str, Code)):
            raise TypeError(f"code must be an instance of str, not {type(code)}")
        raise NotImplementedError("$where (JavaScript) is not supported by the memory engine")

    def max(self, spec: Any) -> "MemoryCursor":
        raise NotImplementedError("cursor.max is not supported by the memory engine")

    def min(self, spec: Any) -> "MemoryCursor":
        raise NotImplementedError("cursor.min is not supported by the memory engine")

    def add_option(self, mask: int) -> "MemoryCursor":
        raise NotImplementedError("cursor flags are not supported by the memory engine")

    def remove_option(self, mask: int) -> "MemoryCursor":
        """Checked like pymongo; a memory cursor never has flags set, so nothing to remove."""
        if not isinstance(mask, int):
            raise TypeError(f"mask must be an int, not {type(mask)}")
        self._check_okay_to_chain()
        return self

    def max_await_time_ms(self, max_await_time_ms: Optional[int]) -> "MemoryCursor":
        """Checked like pymongo and ignored: it only applies to tailable-await cursors,
        which the memory engine does not have (pymongo ignores it on other cursors too)."""
        if not isinstance(max_await_time_ms, int) and max_await_time_ms is not None:
            raise TypeError(
                f"max_await_time_ms must be an integer or None, not {type(max_await_time_ms)}")
        self._check_okay_to_chain()
        return self

    def max_scan(self, max_scan: Optional[int]) -> "MemoryCursor":
        """Deprecated in pymongo; pymongo sends a non-zero value as ``maxScan``, which a
        4.2+ server rejects when the query runs (40415, an unknown field)."""
        self._check_okay_to_chain()
        self._max_scan = max_scan
        return self

    # -- attributes -------------------------------------------------------------------

    @property
    def collection(self) -> Any:
        return self._collection

    @property
    def retrieved(self) -> int:
        """The number of documents retrieved so far."""
        return self._retrieved

    @property
    def alive(self) -> bool:
        """Whether this cursor may still return documents."""
        return bool(len(self._data) or not (self._killed or self._exhausted))

    @property
    def cursor_id(self) -> Optional[int]:
        return None if not self._started else 0

    @property
    def address(self) -> Any:
        return self._collection.database.client.address if self._started else None

    @property
    def session(self) -> Any:
        return self._session

    # -- execution ----------------------------------------------------------------

    def _documents(self) -> Iterator[Any]:
        """The generator producing result documents (runs the query lazily)."""
        self._check_command_fields()
        coll = self._collection
        ns = coll._namespace()
        spec, matcher, collation = coll._prepare_query(self._spec, self._collation, self._let)
        reader = coll._reader(self._projection, matcher)
        if self._ordering:
            # Validated before planning, even for a missing collection, like a server.
            compile_sort(self._ordering, collation=collation)
        if ns is None:
            return
        for _rid, rec in coll._select(ns, spec, matcher, sort=self._ordering, skip=self._skip,
                                      limit=abs(self._limit), hint=self._hint,
                                      collation=collation):
            yield reader(rec[1])

    def _check_command_fields(self) -> None:
        """The find command's field checks a 7.x server makes before planning."""
        if self._max_scan:  # pymongo only sends a truthy maxScan
            raise ServerError(40415, "BSON field 'FindCommandRequest.maxScan' is an unknown "
                                     "field.")
        if self._skip < 0:  # pymongo's find(skip=-1) sends it as is (Cursor.skip refuses it)
            raise ServerError(51024, f"BSON field 'skip' value must be >= 0, actual value "
                                     f"'{self._skip}'")

    def next(self) -> Any:
        """Advance the cursor."""
        if self._data:
            self._retrieved += 1
            return self._data.popleft()
        if self._empty or self._killed or self._exhausted:
            raise StopIteration
        if self._iter is None:
            self._started = True
            self._iter = self._documents()
        try:
            doc = next(self._iter)
        except StopIteration:
            self._exhausted = True
            raise
        except ServerError as err:
            self._exhausted = True
            raise_command_error(err)
        self._retrieved += 1
        return doc

    __next__ = next

    def close(self) -> None:
        """Release the cursor; further iteration yields nothing."""
        self._killed = True
        self._data.clear()
        self._iter = None

    def rewind(self) -> "MemoryCursor":
        """Reset to the unevaluated state (the query runs again when iterated)."""
        self._killed = False
        self._reset()
        return self

    def clone(self) -> "MemoryCursor":
        """An unevaluated cursor with the same options."""
        return self._clone(True)

    def _clone(self, deepcopy: bool = True) -> "MemoryCursor":
        base = MemoryCursor(self._collection, session=self._session)
        for name in _CLONED:
            value = getattr(self, "_" + name)
            base.__dict__["_" + name] = copy.deepcopy(value) if deepcopy else value
        return base

    def __copy__(self) -> "MemoryCursor":
        return self._clone(deepcopy=False)

    def __deepcopy__(self, memo: Any) -> "MemoryCursor":
        return self._clone(deepcopy=True)

    def __getitem__(self, index: Any) -> Any:
        """``cursor[n]`` (one document) or ``cursor[a:b]`` (skip/limit), like pymongo."""
        self._check_okay_to_chain()
        self._empty = False
        if isinstance(index, slice):
            if index.step is not None:
                raise IndexError("Cursor instances do not support slice steps")
            skip = 0
            if index.start is not None:
                if index.start < 0:
                    raise IndexError("Cursor instances do not support negative indices")
                skip = index.start
            if index.stop is not None:
                limit = index.stop - skip
                if limit < 0:
                    raise IndexError(
                        f"stop index must be greater than start index for slice {index!r}")
                if limit == 0:
                    self._empty = True
            else:
                limit = 0
            self._skip = skip
            self._limit = limit
            return self
        if isinstance(index, int):
            if index < 0:
                raise IndexError("Cursor instances do not support negative indices")
            clone = self.clone()
            clone.skip(index + self._skip)
            clone.limit(-1)
            for doc in clone:
                return doc
            raise IndexError("no such item for Cursor instance")
        raise TypeError(f"index {index!r} cannot be applied to Cursor instances")

    def distinct(self, key: str) -> list:
        """Distinct values of ``key`` among this cursor's matches (skip/limit ignored)."""
        options: dict[str, Any] = {}
        if self._spec:
            options["query"] = self._spec
        if self._collation is not None:
            options["collation"] = self._collation
        return self._collection.distinct(key, **options)

    def explain(self) -> dict:
        """The query plan (``queryPlanner``/``executionStats``) as a server reports it."""
        coll = self._collection
        try:
            self._check_command_fields()
            spec, matcher, collation = coll._prepare_query(self._spec, self._collation,
                                                           self._let)
            ns = coll._namespace()
            if ns is not None and ns.view is not None:
                raise NotImplementedError("explain on a view is not supported by the memory "
                                          "engine")
            if ns is None:
                query_planner: dict = {"namespace": coll.full_name, "indexFilterSet": False,
                                       "parsedQuery": spec, "winningPlan": {"stage": "EOF"},
                                       "rejectedPlans": []}
                returned = examined = keys = 0
            else:
                with ns.lock:
                    plan = ns.plan(spec, self._ordering, self._hint, collation=collation)
                    examined = len(plan.record_ids)
                query_planner = plan.explain()
                keys = examined if query_planner["winningPlan"].get("stage") != "COLLSCAN" \
                    else 0
                returned = sum(1 for _ in coll._select(
                    ns, spec, matcher, sort=self._ordering, skip=self._skip,
                    limit=abs(self._limit), hint=self._hint, collation=collation))
        except ServerError as err:
            raise_command_error(err)
        command: dict[str, Any] = {"find": coll.name, "filter": dict(self._spec)}
        if self._ordering:
            command["sort"] = self._ordering
        if self._skip:
            command["skip"] = self._skip
        if self._limit:
            command["limit"] = abs(self._limit)
        if self._projection:
            command["projection"] = dict(self._projection)
        if self._hint is not None:
            command["hint"] = self._hint
        command["$db"] = coll.database.name
        return {
            "explainVersion": "1",
            "queryPlanner": query_planner,
            "executionStats": {
                "executionSuccess": True,
                "nReturned": returned,
                "executionTimeMillis": 0,
                "totalKeysExamined": keys,
                "totalDocsExamined": examined,
            },
            "command": command,
            "serverInfo": coll.database.client.server_info_brief(),
            "ok": 1.0,
        }


class MemoryCommandCursor(_IterationProtocol):
    """A cursor over a command's results (pymongo ``CommandCursor`` shape).

    ``documents`` is any iterable; a generator runs lazily and its
    ``ServerError`` becomes ``OperationFailure`` at the failing ``next``.
    """

    def __init__(self, collection: Any, documents: Any, *, address: Any = None) -> None:
        self._collection = collection
        self._iter = iter(documents)
        self._data: deque = deque()
        self._killed = False
        self._retrieved = 0

    @property
    def alive(self) -> bool:
        return not self._killed

    @property
    def cursor_id(self) -> int:
        return 0

    @property
    def address(self) -> Any:
        return self._collection.database.client.address

    @property
    def session(self) -> Any:
        return None

    def batch_size(self, batch_size: int) -> "MemoryCommandCursor":
        if not isinstance(batch_size, int):
            raise TypeError(f"batch_size must be an integer, not {type(batch_size)}")
        if batch_size < 0:
            raise ValueError("batch_size must be >= 0")
        return self

    def next(self) -> Any:
        if self._killed:
            raise StopIteration
        try:
            doc = next(self._iter)
        except StopIteration:
            self._killed = True
            raise
        except ServerError as err:
            self._killed = True
            raise_command_error(err)
        self._retrieved += 1
        return doc

    __next__ = next

    def try_next(self) -> Any:
        try:
            return self.next()
        except StopIteration:
            return None

    def close(self) -> None:
        self._killed = True
        self._iter = iter(())

