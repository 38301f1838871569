"""A client-agnostic runner for MongoDB's Unified Test Format, CRUD subset.

MongoDB's driver specifications ship their CRUD tests as JSON files in the
*Unified Test Format* (``source/unified-test-format/unified-test-format.md``
in ``mongodb/specifications``).  Each file names entities (clients,
databases, collections), seeds collections (``initialData``), runs
operations against the entities and asserts on results, errors and the
final collection contents (``outcome``).

This module runs those files against any pymongo-shaped client: the
``client_factory`` argument builds a fresh client per test (every test gets
its own storage, as a fresh server would give after ``initialData``)::

    >>> from tests.spec.unified_runner import run_spec_file
    >>> results = run_spec_file("../shared/mongodb-specs/crud/find.json",
    ...                         make_client("memory"))        # doctest: +SKIP
    >>> [r.status for r in results]                           # doctest: +SKIP
    ['passed', 'passed', 'not-applicable', ...]

What is emulated, and what is judged "not applicable"
-----------------------------------------------------

The engine under test emulates a **single MongoDB 7.0 server** (standalone or
a one-node replica set).  A test is *applicable* unless

* its ``runOnRequirements`` cannot be met by such a server (older
  ``maxServerVersion``, newer ``minServerVersion``, sharded/load-balanced-only
  topologies, serverless-only, auth or CSFLE);
* it uses a server fail point (``failPoint``: test-only server fault
  injection) or the client-level ``clientBulkWrite`` command (8.0+);
* its only assertions are command-monitoring events (``expectEvents``),
  which an in-process engine does not emit.  Tests that assert events *and*
  results/errors/outcome run with the event assertions ignored.

Tests blocked *only* because they need a server newer than 7.0 are kept as
``beyond_7`` cases: they are not applicable, but can still be run to report
how many pass anyway.

Unsupported features
--------------------

A ``NotImplementedError`` raised by the client is never treated as an
expected error: it fails the test, unless the test is covered by an entry of
:data:`EXPECTED_UNSUPPORTED` (a feature name with the reason it is missing),
in which case the pytest entry marks it as a strict xfail.

Command line (handy while building the engine)::

    python -m tests.spec.unified_runner --client memory -k hint -v
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import math
import re
import sys
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from bson import json_util
from bson.binary import Binary
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

# The server this runner pretends to talk to (see module docstring).
EMULATED_SERVER_VERSION = (7, 0, 0)
EMULATED_TOPOLOGIES = frozenset({"single", "replicaset"})
# Highest schemaVersion of the Unified Test Format this runner understands
# (for the parts the CRUD files use).
SUPPORTED_SCHEMA_VERSION = (1, 21)

# Where the spec files live: ``<checkout>/../shared/mongodb-specs/crud``.
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "mongodb-specs" / "crud"


@dataclass(frozen=True)
class Unsupported:
    """A feature the memory engine knowingly does not implement."""

    feature: str
    reason: str
    case_ids: tuple[str, ...]  # fnmatch patterns over ``SpecCase.id``

    def covers(self, case_id: str) -> bool:
        return any(fnmatch.fnmatchcase(case_id, pattern) for pattern in self.case_ids)


# Features the engine is *documented* not to support.  A covered test must
# raise NotImplementedError (strict xfail); everything else must pass.
# Keep this short and honest: an entry is a product decision, not a way to
# hide a bug.
EXPECTED_UNSUPPORTED: tuple[Unsupported, ...] = (
    Unsupported(
        feature="$listLocalSessions stage",
        reason="an in-process engine keeps no server sessions to list",
        case_ids=("db-aggregate::Aggregate with $listLocalSessions*",)),
    Unsupported(
        feature="collMod command",
        reason="collection options (here: a validator) cannot be changed after creation",
        case_ids=("findOneAndUpdate-errorResponse::findOneAndUpdate document validation errInfo is accessible",)),
)


class RunnerError(Exception):
    """The test file asks for something this runner does not implement."""


# --------------------------------------------------------------------------
# Loading and classifying test cases
# --------------------------------------------------------------------------


@dataclass
class SpecCase:
    """One test of one spec file, with its applicability decided."""

    file: str  # file stem, e.g. "find"
    description: str
    test: dict
    spec: dict  # the whole file (entities, initialData, ...)
    not_applicable: list[str] = field(default_factory=list)  # reasons; empty = applicable
    beyond_7: bool = False  # blocked only by needing a server newer than 7.0
    events_ignored: bool = False

    @property
    def id(self) -> str:
        return f"{self.file}::{self.description}"

    @property
    def applicable(self) -> bool:
        return not self.not_applicable

    def unsupported_entry(self) -> Unsupported | None:
        for entry in EXPECTED_UNSUPPORTED:
            if entry.covers(self.id):
                return entry
        return None


def _version(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in text.split(".")]
    return tuple((parts + [0, 0, 0])[:3])  # type: ignore[return-value]


def _requirement_problems(req: dict, version: tuple[int, int, int]) -> list[str]:
    """Why one runOnRequirement is not met by the emulated server ([] = met)."""
    problems = []
    if "minServerVersion" in req and version < _version(req["minServerVersion"]):
        problems.append(f"needs server >= {req['minServerVersion']}")
    if "maxServerVersion" in req and version > _version(req["maxServerVersion"]):
        problems.append(f"needs server <= {req['maxServerVersion']}")
    if "topologies" in req and not EMULATED_TOPOLOGIES & set(req["topologies"]):
        problems.append(f"needs topology {'/'.join(req['topologies'])}")
    if req.get("serverless") == "require":
        problems.append("needs serverless")
    if req.get("auth") is True or "authMechanism" in req:
        problems.append("needs authentication")
    if req.get("csfle") is True:
        problems.append("needs client-side field level encryption")
    if req.get("serverParameters"):
        problems.append("needs specific server parameters")
    return problems


def _requirements_problems(reqs: list[dict] | None, version) -> list[str]:
    """Problems of the best requirement ([] when any one of them is met)."""
    if not reqs:
        return []
    best = None
    for req in reqs:
        problems = _requirement_problems(req, version)
        if not problems:
            return []
        if best is None or len(problems) < len(best):
            best = problems
    return best or []


def _walk_operations(test: dict) -> Iterable[dict]:
    for op in test["operations"]:
        yield op


def _classify(case: SpecCase, server_version: tuple[int, int, int] = EMULATED_SERVER_VERSION) -> None:
    spec, test = case.spec, case.test
    reasons: list[str] = []
    if "skipReason" in test:
        reasons.append(f"skipped by the spec: {test['skipReason']}")
    for reqs in (spec.get("runOnRequirements"), test.get("runOnRequirements")):
        reasons.extend(_requirements_problems(reqs, server_version))
    version_only = bool(reasons) and not _requirements_problems(
        spec.get("runOnRequirements"), (99, 0, 0)) and not _requirements_problems(
        test.get("runOnRequirements"), (99, 0, 0)) and "skipReason" not in test

    other: list[str] = []
    for op in _walk_operations(test):
        if op["name"] == "failPoint":
            other.append("uses a server fail point (test-only fault injection)")
        elif op["name"] == "clientBulkWrite":
            other.append("uses client.bulkWrite (a MongoDB 8.0 command)")
    has_assertions = "outcome" in test or any(
        "expectResult" in op or "expectError" in op for op in test["operations"])
    if "expectEvents" in test:
        if has_assertions:
            case.events_ignored = True
        else:
            other.append("asserts only command-monitoring events")
    case.not_applicable = reasons + sorted(set(other))
    case.beyond_7 = version_only and not other


def load_spec_file(path: str | Path,
                   server_version: tuple[int, int, int] = EMULATED_SERVER_VERSION) -> list[SpecCase]:
    """Parse one spec file (Extended JSON) into cases classified for ``server_version``."""
    path = Path(path)
    spec = json_util.loads(path.read_text(encoding="utf-8"))
    schema = tuple(int(p) for p in spec["schemaVersion"].split(".")[:2])
    if schema[0] != SUPPORTED_SCHEMA_VERSION[0] or schema > SUPPORTED_SCHEMA_VERSION:
        raise RunnerError(f"{path.name}: unsupported schemaVersion {spec['schemaVersion']}")
    cases = []
    for test in spec["tests"]:
        case = SpecCase(file=path.stem, description=test["description"], test=test, spec=spec)
        _classify(case, server_version)
        cases.append(case)
    return cases


def load_cases(spec_dir: str | Path = DEFAULT_SPEC_DIR,
               server_version: tuple[int, int, int] = EMULATED_SERVER_VERSION) -> list[SpecCase]:
    """All cases of all ``*.json`` files in ``spec_dir``, in file order."""
    cases: list[SpecCase] = []
    for path in sorted(Path(spec_dir).glob("*.json")):
        cases.extend(load_spec_file(path, server_version))
    return cases


# MongoDB 8.0 behaviour that ``MemoryClient(server_version="8.0")`` emulates,
# with the spec files that test it.  Only these 8.0-only cases are run
# against the 8.0 emulation; other 8.0 features are not claimed.
EMULATED_8_0_FEATURES: dict[str, tuple[str, ...]] = {
    "sort option of updateOne/replaceOne": (
        "updateOne-sort", "replaceOne-sort", "bulkWrite-updateOne-sort", "bulkWrite-replaceOne-sort"),
}


def emulated_8_0_cases(spec_dir: str | Path = DEFAULT_SPEC_DIR) -> list[SpecCase]:
    """The 8.0-only cases of :data:`EMULATED_8_0_FEATURES`, classified for 8.0."""
    files = {name for names in EMULATED_8_0_FEATURES.values() for name in names}
    return [case for case in load_cases(spec_dir, (8, 0, 0))
            if case.file in files and case.applicable
            and _requirements_problems(case.spec.get("runOnRequirements"), EMULATED_SERVER_VERSION)
            + _requirements_problems(case.test.get("runOnRequirements"), EMULATED_SERVER_VERSION)]


def server_version_of(client: Any) -> tuple[int, int, int]:
    """The ``(major, minor, patch)`` a client's server reports."""
    return _version(client.server_info()["version"].split("-")[0])


# --------------------------------------------------------------------------
# Matching (the "Evaluating Matches" section of the format)
# --------------------------------------------------------------------------

_UNSET = object()  # an operation result or field that does not exist


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bson_type_name(value: Any) -> str:
    """The ``$type`` alias of a Python value as pymongo would encode it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "long"
    if isinstance(value, int):
        return "int" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, DBRef):
        return "object"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (Binary, bytes, uuid.UUID)):
        return "binData"
    if isinstance(value, ObjectId):
        return "objectId"
    if isinstance(value, datetime.datetime):
        return "date"
    if isinstance(value, (Regex, re.Pattern)):
        return "regex"
    if isinstance(value, Code):
        return "javascriptWithScope" if value.scope is not None else "javascript"
    if isinstance(value, Timestamp):
        return "timestamp"
    if isinstance(value, Decimal128):
        return "decimal"
    if isinstance(value, MinKey):
        return "minKey"
    if isinstance(value, MaxKey):
        return "maxKey"
    return type(value).__name__


def _scalar_equal(expected: Any, actual: Any) -> bool:
    """Same BSON type and value; numbers (not Decimal128) compare by value."""
    if _is_number(expected) and _is_number(actual):
        if isinstance(expected, float) and math.isnan(expected):
            return isinstance(actual, float) and math.isnan(actual)
        return expected == actual
    if isinstance(expected, datetime.datetime) and isinstance(actual, datetime.datetime):
        return _utc(expected) == _utc(actual)
    if bson_type_name(expected) != bson_type_name(actual):
        return False
    if isinstance(expected, (Regex, re.Pattern)):
        return _regex_parts(expected) == _regex_parts(actual)
    return expected == actual


def _utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _regex_parts(value: Any) -> tuple[str, int]:
    regex = value if isinstance(value, Regex) else Regex.from_native(value)
    return regex.pattern, regex.flags


def _fmt(value: Any) -> str:
    try:
        return json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS)
    except Exception:  # noqa: BLE001 - formatting must never fail
        return repr(value)


class MatchError(AssertionError):
    """An actual value does not match the expected one."""


def _fail(path: str, message: str) -> None:
    raise MatchError(f"at {path}: {message}")


def _special_key(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if isinstance(key, str) and key.startswith("$$"):
            return key
    return None


class Matcher:
    """Implements the format's matching rules over one test's entity map."""

    def __init__(self, entities: dict[str, Any]):
        self.entities = entities

    def match(self, expected: Any, actual: Any, *, root: bool, path: str = "$",
              root_elements: bool = False) -> None:
        """Assert ``actual`` matches ``expected``.

        ``root`` allows extra keys in ``actual`` when it is a document;
        ``root_elements`` does so for the documents of an iterable result
        (``find``/``aggregate``).
        """
        operator = _special_key(expected)
        if operator is not None:
            self._special(operator, expected[operator], actual, root=root, path=path,
                          root_elements=root_elements)
            return
        if isinstance(expected, dict):
            if actual is _UNSET or not isinstance(actual, Mapping):
                _fail(path, f"expected a document {_fmt(expected)}, got {_fmt_actual(actual)}")
            for key, exp_value in expected.items():
                sub = f"{path}.{key}"
                operator = _special_key(exp_value)
                if operator == "$$exists":
                    if bool(exp_value[operator]) != (key in actual):
                        _fail(sub, f"expected the field to {'exist' if exp_value[operator] else 'be absent'};"
                                   f" document is {_fmt(actual)}")
                    continue
                if operator == "$$unsetOrMatches" and key not in actual:
                    continue
                if key not in actual:
                    _fail(sub, f"missing field; expected {_fmt(exp_value)} in {_fmt(actual)}")
                self.match(exp_value, actual[key], root=False, path=sub)
            if not root:
                extra = [k for k in actual if k not in expected]
                if extra:
                    _fail(path, f"unexpected extra fields {extra} in {_fmt(actual)}"
                                f" (expected {_fmt(expected)})")
            return
        if isinstance(expected, list):
            if not isinstance(actual, (list, tuple)):
                _fail(path, f"expected an array {_fmt(expected)}, got {_fmt_actual(actual)}")
            if len(actual) != len(expected):
                _fail(path, f"expected {len(expected)} elements {_fmt(expected)},"
                            f" got {len(actual)}: {_fmt(list(actual))}")
            for index, (exp_item, act_item) in enumerate(zip(expected, actual)):
                self.match(exp_item, act_item, root=root_elements, path=f"{path}[{index}]")
            return
        if actual is _UNSET:
            _fail(path, f"expected {_fmt(expected)}, got nothing")
        if not _scalar_equal(expected, actual):
            _fail(path, f"expected {_fmt(expected)} ({bson_type_name(expected)}),"
                        f" got {_fmt(actual)} ({bson_type_name(actual)})")

    def _special(self, operator: str, arg: Any, actual: Any, *, root: bool, path: str,
                 root_elements: bool) -> None:
        if operator == "$$unsetOrMatches":
            if actual is not _UNSET:
                self.match(arg, actual, root=root, path=path, root_elements=root_elements)
        elif operator == "$$exists":
            if bool(arg) != (actual is not _UNSET):
                _fail(path, f"$$exists {arg} but got {_fmt_actual(actual)}")
        elif operator == "$$type":
            names = [arg] if isinstance(arg, str) else list(arg)
            if actual is _UNSET:
                _fail(path, f"expected a value of type {names}, got nothing")
            actual_type = bson_type_name(actual)
            if actual_type not in names and not ("number" in names and actual_type in
                                                  ("int", "long", "double", "decimal")):
                _fail(path, f"expected type {names}, got {actual_type}: {_fmt(actual)}")
        elif operator == "$$matchesEntity":
            if arg not in self.entities:
                raise RunnerError(f"$$matchesEntity: no entity {arg!r}")
            self.match(self.entities[arg], actual, root=root, path=path)
        elif operator == "$$sessionLsid":
            session = self.entities.get(arg)
            if session is None:
                raise RunnerError(f"$$sessionLsid: no session entity {arg!r}")
            self.match(session.session_id, actual, root=False, path=path)
        elif operator == "$$lte":
            if not (_is_number(actual) and actual <= arg):
                _fail(path, f"expected a number <= {arg}, got {_fmt_actual(actual)}")
        elif operator == "$$matchAsDocument":
            if not isinstance(actual, str):
                _fail(path, f"$$matchAsDocument needs an Extended JSON string, got {_fmt_actual(actual)}")
            self.match(arg, json_util.loads(actual), root=False, path=path)
        elif operator == "$$matchAsRoot":
            self.match(arg, actual, root=True, path=path)
        else:
            raise RunnerError(f"unsupported special operator {operator}")


def _fmt_actual(actual: Any) -> str:
    return "nothing" if actual is _UNSET else _fmt(actual)


def match_exact(expected: Any, actual: Any, path: str = "$") -> None:
    """Exact comparison for ``outcome``: no extra keys anywhere, any key order."""
    if isinstance(expected, dict):
        if not isinstance(actual, Mapping):
            _fail(path, f"expected a document {_fmt(expected)}, got {_fmt(actual)}")
        if set(expected) != set(actual):
            _fail(path, f"expected fields {list(expected)}, got {list(actual)}:"
                        f" expected {_fmt(expected)}, got {_fmt(actual)}")
        for key, value in expected.items():
            match_exact(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            _fail(path, f"expected {_fmt(expected)}, got {_fmt(actual)}")
        for index, (exp_item, act_item) in enumerate(zip(expected, actual)):
            match_exact(exp_item, act_item, f"{path}[{index}]")
    elif not _scalar_equal(expected, actual):
        _fail(path, f"expected {_fmt(expected)} ({bson_type_name(expected)}),"
                    f" got {_fmt(actual)} ({bson_type_name(actual)})")


# --------------------------------------------------------------------------
# Turning pymongo-shaped results into the format's documents
# --------------------------------------------------------------------------


def _upserted_ids(mapping: Mapping) -> dict[str, Any]:
    return {str(int(index)): value for index, value in (mapping or {}).items()}


def bulk_write_result_document(result: Any) -> dict[str, Any]:
    """A ``BulkWriteResult`` in the format's shape."""
    return {
        "deletedCount": result.deleted_count,
        "insertedCount": result.inserted_count,
        "matchedCount": result.matched_count,
        "modifiedCount": result.modified_count,
        "upsertedCount": result.upserted_count,
        "upsertedIds": _upserted_ids(result.upserted_ids),
    }


def result_document(result: Any) -> Any:
    """Convert a CRUD result object to what ``expectResult`` describes.

    Works on pymongo's result classes and on look-alikes (by class name).
    """
    kind = type(result).__name__
    if kind.endswith("Result") and getattr(result, "acknowledged", True) is False:
        return {"acknowledged": False}
    if kind == "InsertOneResult":
        return {"insertedId": result.inserted_id}
    if kind == "InsertManyResult":
        return {"insertedIds": {str(i): v for i, v in enumerate(result.inserted_ids)}}
    if kind == "UpdateResult":
        doc = {"matchedCount": result.matched_count, "modifiedCount": result.modified_count,
               "upsertedCount": 0 if result.upserted_id is None else 1}
        if result.upserted_id is not None:
            doc["upsertedId"] = result.upserted_id
        return doc
    if kind == "DeleteResult":
        return {"deletedCount": result.deleted_count}
    if kind == "BulkWriteResult":
        return bulk_write_result_document(result)
    return result


# --------------------------------------------------------------------------
# Operations: format names and arguments → pymongo calls
# --------------------------------------------------------------------------

# Format argument name → pymongo keyword, for arguments passed through as-is.
_SNAKE = {
    "arrayFilters": "array_filters",
    "bypassDocumentValidation": "bypass_document_validation",
    "batchSize": "batch_size",
    "maxTimeMS": "max_time_ms",
    "allowDiskUse": "allow_disk_use",
    "returnDocument": "return_document",
}


def _index_list(spec: Any) -> Any:
    """A key document → the ``[(key, direction)]`` list pymongo takes."""
    if isinstance(spec, Mapping):
        return list(spec.items())
    return spec


def _return_document(value: str) -> bool:
    from pymongo import ReturnDocument

    return {"before": ReturnDocument.BEFORE, "after": ReturnDocument.AFTER}[value.lower()]


def _kwargs(args: dict, allowed: Iterable[str], *, camel: Iterable[str] = ()) -> dict[str, Any]:
    """Translate format arguments to keywords; unknown ones are runner errors.

    Names in ``camel`` are passed through in camelCase (pymongo forwards them
    in ``**kwargs`` to the command, e.g. ``aggregate(batchSize=...)``).
    """
    allowed, camel = set(allowed), set(camel)
    out: dict[str, Any] = {}
    for name, value in args.items():
        if name == "session":
            continue  # sessions add nothing on a single in-process engine
        if name == "rawData":
            raise RunnerError("rawData is a MongoDB 8.2 option the runner does not pass")
        if name in camel:
            out[name] = value
            continue
        if name not in allowed:
            raise RunnerError(f"unsupported argument {name!r}")
        if name == "sort":
            value = _index_list(value)
        elif name == "hint":
            value = _index_list(value)
        elif name == "returnDocument":
            value = _return_document(value)
        out[_SNAKE.get(name, name)] = value
    return out


def _write_model(request: dict) -> Any:
    from pymongo import operations as ops

    (name, args), = request.items()
    args = dict(args)
    if name == "insertOne":
        return ops.InsertOne(args.pop("document"), **_kwargs(args, ()))
    if name in ("updateOne", "updateMany", "replaceOne"):
        first = args.pop("filter")
        second = args.pop("replacement" if name == "replaceOne" else "update")
        sort = args.pop("sort", None)
        kwargs = _kwargs(args, ("upsert", "collation", "arrayFilters", "hint"))
        if sort is not None:
            kwargs["sort"] = sort  # write models take the sort document as-is
        model = {"updateOne": ops.UpdateOne, "updateMany": ops.UpdateMany,
                 "replaceOne": ops.ReplaceOne}[name]
        return model(first, second, **kwargs)
    if name in ("deleteOne", "deleteMany"):
        model = ops.DeleteOne if name == "deleteOne" else ops.DeleteMany
        return model(args.pop("filter"), **_kwargs(args, ("collation", "hint")))
    raise RunnerError(f"unsupported bulk write model {name}")


def _pop(args: dict, name: str, default: Any = _UNSET) -> Any:
    if name in args:
        return args.pop(name)
    if default is _UNSET:
        raise RunnerError(f"missing required argument {name!r}")
    return default


_COMMON = ("comment", "let")


def _collection_op(coll: Any, name: str, args: dict) -> tuple[Any, bool]:
    """Run one collection operation; returns (result, is_iterable_of_documents)."""
    if name == "find":
        filter_ = _pop(args, "filter", {})
        kwargs = _kwargs(args, _COMMON + ("sort", "skip", "limit", "batchSize", "projection",
                                          "allowDiskUse", "collation", "hint", "maxTimeMS",
                                          "min", "max", "noCursorTimeout", "returnKey",
                                          "showRecordId"))
        return list(coll.find(filter_, **kwargs)), True
    if name == "findOne":
        filter_ = _pop(args, "filter", {})
        kwargs = _kwargs(args, _COMMON + ("sort", "skip", "projection", "allowDiskUse",
                                          "collation", "hint", "maxTimeMS"))
        return coll.find_one(filter_, **kwargs), False
    if name == "aggregate":
        pipeline = _pop(args, "pipeline")
        kwargs = _kwargs(args, _COMMON, camel=("batchSize", "allowDiskUse", "collation",
                                                "maxTimeMS", "bypassDocumentValidation", "hint"))
        return list(coll.aggregate(pipeline, **kwargs)), True
    if name == "countDocuments":
        filter_ = _pop(args, "filter")
        kwargs = _kwargs(args, ("comment",), camel=("skip", "limit", "collation", "hint", "maxTimeMS"))
        return coll.count_documents(filter_, **kwargs), False
    if name == "estimatedDocumentCount":
        return coll.estimated_document_count(**_kwargs(args, ("comment",), camel=("maxTimeMS",))), False
    if name == "count":
        return _legacy_count(coll, args), False
    if name == "distinct":
        key = _pop(args, "fieldName")
        filter_ = _pop(args, "filter", {})
        kwargs = _kwargs(args, ("comment", "hint"), camel=("collation", "maxTimeMS"))
        return coll.distinct(key, filter_, **kwargs), False
    if name == "insertOne":
        document = _pop(args, "document")
        return coll.insert_one(document, **_kwargs(args, ("comment", "bypassDocumentValidation"))), False
    if name == "insertMany":
        documents = _pop(args, "documents")
        kwargs = _kwargs(args, ("comment", "bypassDocumentValidation", "ordered"))
        return coll.insert_many(documents, **kwargs), False
    if name in ("deleteOne", "deleteMany"):
        filter_ = _pop(args, "filter")
        kwargs = _kwargs(args, _COMMON + ("collation", "hint"))
        return getattr(coll, "delete_one" if name == "deleteOne" else "delete_many")(filter_, **kwargs), False
    if name in ("updateOne", "updateMany", "replaceOne"):
        filter_ = _pop(args, "filter")
        second = _pop(args, "replacement" if name == "replaceOne" else "update")
        sort = args.pop("sort", None)
        allowed = _COMMON + ("upsert", "collation", "hint", "bypassDocumentValidation")
        if name != "replaceOne":
            allowed += ("arrayFilters",)
        kwargs = _kwargs(args, allowed)
        if sort is not None:
            kwargs["sort"] = sort  # update_one/replace_one take the sort document (pymongo 4.11+)
        method = {"updateOne": "update_one", "updateMany": "update_many",
                  "replaceOne": "replace_one"}[name]
        return getattr(coll, method)(filter_, second, **kwargs), False
    if name == "findOneAndDelete":
        filter_ = _pop(args, "filter")
        kwargs = _kwargs(args, _COMMON + ("projection", "sort", "hint"), camel=("collation", "maxTimeMS"))
        return coll.find_one_and_delete(filter_, **kwargs), False
    if name in ("findOneAndReplace", "findOneAndUpdate"):
        filter_ = _pop(args, "filter")
        second = _pop(args, "replacement" if name == "findOneAndReplace" else "update")
        allowed = _COMMON + ("projection", "sort", "upsert", "returnDocument", "hint")
        if name == "findOneAndUpdate":
            allowed += ("arrayFilters",)
        kwargs = _kwargs(args, allowed, camel=("collation", "maxTimeMS", "bypassDocumentValidation"))
        method = coll.find_one_and_replace if name == "findOneAndReplace" else coll.find_one_and_update
        return method(filter_, second, **kwargs), False
    if name == "bulkWrite":
        requests = [_write_model(r) for r in _pop(args, "requests")]
        kwargs = _kwargs(args, _COMMON + ("ordered", "bypassDocumentValidation"))
        return coll.bulk_write(requests, **kwargs), False
    if name == "createIndex":
        keys = _index_list(_pop(args, "keys"))
        kwargs = _kwargs(args, ("comment",), camel=("unique", "name", "sparse", "expireAfterSeconds",
                                                     "partialFilterExpression", "collation"))
        return coll.create_index(keys, **kwargs), False
    if name == "drop":
        return coll.drop(**_kwargs(args, ("comment",))), False
    raise RunnerError(f"unsupported collection operation {name}")


def _legacy_count(coll: Any, args: dict) -> int:
    """The deprecated ``count`` helper: pymongo 4 only has the command."""
    from bson.son import SON

    command = SON([("count", coll.name), ("query", _pop(args, "filter", {}))])
    for name in ("skip", "limit", "collation", "hint", "maxTimeMS", "comment"):
        if name in args:
            command[name] = args.pop(name)
    _kwargs(args, ())  # reject anything left
    reply = coll.database.command(command)
    return reply["n"]


def _database_op(db: Any, name: str, args: dict) -> tuple[Any, bool]:
    if name == "aggregate":
        pipeline = _pop(args, "pipeline")
        kwargs = _kwargs(args, _COMMON, camel=("batchSize", "allowDiskUse", "collation", "maxTimeMS",
                                                "bypassDocumentValidation", "hint"))
        return list(db.aggregate(pipeline, **kwargs)), True
    if name == "createCollection":
        coll_name = _pop(args, "collection")
        kwargs = _kwargs(args, (), camel=("viewOn", "pipeline", "capped", "size", "max",
                                          "validator", "collation", "timeseries",
                                          "clusteredIndex", "changeStreamPreAndPostImages",
                                          "expireAfterSeconds", "validationLevel", "validationAction"))
        db.create_collection(coll_name, **kwargs)
        return None, False
    if name == "dropCollection":
        db.drop_collection(_pop(args, "collection"), **_kwargs(args, ("comment",)))
        return None, False
    if name == "modifyCollection":
        from bson.son import SON

        command = SON([("collMod", _pop(args, "collection"))])
        command.update(args)
        args.clear()
        return db.command(command), False
    if name == "runCommand":
        command = _pop(args, "command")
        args.pop("commandName", None)
        _kwargs(args, ())
        return db.command(command), False
    raise RunnerError(f"unsupported database operation {name}")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def _is_server_error(exc: BaseException) -> bool:
    from pymongo.errors import OperationFailure

    return isinstance(exc, OperationFailure)


def _error_details(exc: BaseException) -> dict:
    details = getattr(exc, "details", None)
    return details if isinstance(details, Mapping) else {}


def _check_error(expected: dict, exc: BaseException, matcher: Matcher) -> None:
    """Assert an operation's exception against an ``expectedError`` object."""
    from pymongo.errors import BulkWriteError, PyMongoError

    description = f"{type(exc).__name__}: {exc}"
    for key, value in expected.items():
        if key == "isError":
            continue  # an exception was raised
        elif key == "isClientError":
            # A client error is raised by the driver before anything reaches
            # the server (pymongo: ValueError/TypeError/InvalidOperation...).
            # A TypeError about keywords is a surface/signature bug, not the
            # validation error the test expects.
            is_client = not _is_server_error(exc) and (
                not isinstance(exc, PyMongoError) or type(exc).__name__ in (
                    "InvalidOperation", "ConfigurationError", "InvalidName", "DocumentTooLarge")
            ) and not (isinstance(exc, TypeError) and "keyword argument" in str(exc))
            if is_client != value:
                raise MatchError(f"expected a {'client' if value else 'server'} error, got {description}")
        elif key == "errorContains":
            text = str(exc.details) if isinstance(exc, BulkWriteError) else str(exc)
            if value.lower() not in text.lower():
                raise MatchError(f"expected error containing {value!r}, got {description}")
        elif key == "errorCode":
            code = _error_details(exc).get("code", getattr(exc, "code", None))
            if code != value:
                raise MatchError(f"expected error code {value}, got {code}: {description}")
        elif key == "errorCodeName":
            name = _error_details(exc).get("codeName")
            if name != value:
                raise MatchError(f"expected codeName {value}, got {name}: {description}")
        elif key in ("errorLabelsContain", "errorLabelsOmit"):
            has = getattr(exc, "has_error_label", lambda label: False)
            for label in value:
                if has(label) != (key == "errorLabelsContain"):
                    raise MatchError(f"{key} {label}: {description}")
        elif key == "errorResponse":
            matcher.match(value, _error_details(exc), root=True, path="$errorResponse")
        elif key == "expectResult":
            partial = _bulk_error_result(exc) if isinstance(exc, BulkWriteError) else _UNSET
            matcher.match(value, partial, root=True, path="$partialResult")
        else:
            raise RunnerError(f"unsupported expectedError key {key}")


def _bulk_error_result(exc: Any) -> dict[str, Any]:
    """The partial result carried by a ``BulkWriteError`` (its ``details``)."""
    details = _error_details(exc)
    upserted = details.get("upserted") or []
    return {
        "deletedCount": details.get("nRemoved", 0),
        "insertedCount": details.get("nInserted", 0),
        "matchedCount": details.get("nMatched", 0),
        "modifiedCount": details.get("nModified", 0),
        "upsertedCount": details.get("nUpserted", len(upserted)),
        "upsertedIds": {str(int(u["index"])): u["_id"] for u in upserted},
    }


# --------------------------------------------------------------------------
# Running a test
# --------------------------------------------------------------------------


ClientFactory = Callable[[], Any]


def _with_options(obj: Any, options: dict | None) -> Any:
    if not options:
        return obj
    from pymongo import ReadPreference
    from pymongo.read_concern import ReadConcern
    from pymongo.read_preferences import read_pref_mode_from_name, make_read_preference
    from pymongo.write_concern import WriteConcern

    kwargs: dict[str, Any] = {}
    for name, value in options.items():
        if name == "writeConcern":
            kwargs["write_concern"] = WriteConcern(**value)
        elif name == "readConcern":
            kwargs["read_concern"] = ReadConcern(**value)
        elif name == "readPreference":
            value = dict(value)
            mode = read_pref_mode_from_name(value.pop("mode"))
            kwargs["read_preference"] = make_read_preference(
                mode, tag_sets=value.pop("tagSets", None),
                max_staleness=value.pop("maxStalenessSeconds", -1))
        else:
            raise RunnerError(f"unsupported entity option {name}")
    del ReadPreference
    return obj.with_options(**kwargs)


def _create_entities(spec_entities: list[dict], client: Any, entities: dict[str, Any],
                     kinds: dict[str, str]) -> None:
    for entry in spec_entities:
        (kind, conf), = entry.items()
        ident = conf["id"]
        if ident in entities:
            raise RunnerError(f"duplicate entity {ident}")
        kinds[ident] = kind
        if kind == "client":
            # One in-process engine per test: every client entity (and the
            # internal client) sees the same storage, as clients of one
            # server would.  uriOptions (w:1, readConcernLevel, retry flags)
            # change nothing observable on it.
            entities[ident] = client
        elif kind == "database":
            db = entities[conf["client"]][conf["databaseName"]]
            entities[ident] = _with_options(db, conf.get("databaseOptions"))
        elif kind == "collection":
            coll = entities[conf["database"]][conf["collectionName"]]
            entities[ident] = _with_options(coll, conf.get("collectionOptions"))
        elif kind == "session":
            entities[ident] = entities[conf["client"]].start_session()
        else:
            raise RunnerError(f"unsupported entity type {kind}")


def _load_initial_data(client: Any, initial_data: list[dict]) -> None:
    for entry in initial_data:
        db = client[entry["databaseName"]]
        db.drop_collection(entry["collectionName"])
        options = entry.get("createOptions")
        if options:
            db.create_collection(entry["collectionName"], **options)
        if entry["documents"]:
            db[entry["collectionName"]].insert_many(entry["documents"])
        elif not options:
            db.create_collection(entry["collectionName"])


def _check_outcome(client: Any, outcome: list[dict]) -> None:
    for entry in outcome:
        coll = client[entry["databaseName"]][entry["collectionName"]]
        actual = list(coll.find({}, sort=[("_id", 1)]))
        where = f"outcome {entry['databaseName']}.{entry['collectionName']}"
        try:
            match_exact(entry["documents"], actual)
        except MatchError as exc:
            raise MatchError(f"{where}: {exc}\n  expected: {_fmt(entry['documents'])}\n"
                             f"  actual:   {_fmt(actual)}") from None


_BUG_ERRORS = (AttributeError, KeyError, IndexError, NameError, RecursionError,
               ZeroDivisionError, AssertionError)


def _check_pymongo_type(value: Any) -> None:
    """Results must be ``pymongo.results`` classes, errors pymongo's (or builtins)."""
    cls = type(value)
    if isinstance(value, BaseException):
        if cls.__module__ not in ("pymongo.errors", "bson.errors", "builtins"):
            raise MatchError(f"raised {cls.__module__}.{cls.__name__}, not a pymongo/builtin"
                             f" exception: {value}")
    elif cls.__name__.endswith("Result") and cls.__module__ != "pymongo.results":
        raise MatchError(f"returned {cls.__module__}.{cls.__name__}, not a pymongo.results class")


def _run_operation(op: dict, entities: dict[str, Any], kinds: dict[str, str],
                   matcher: Matcher, pymongo_types: bool) -> None:
    name, target = op["name"], op["object"]
    if target == "testRunner":
        raise RunnerError(f"unsupported testRunner operation {name}")
    obj = entities.get(target)
    if obj is None:
        raise RunnerError(f"unknown entity {target}")
    args = dict(op.get("arguments", {}))
    kind = kinds.get(target, "value")
    try:
        if kind == "collection":
            result, iterable = _collection_op(obj, name, args)
        elif kind == "database":
            result, iterable = _database_op(obj, name, args)
        else:
            raise RunnerError(f"unsupported {kind} operation {name}")
    except (NotImplementedError, RunnerError):
        raise  # unsupported by the engine or by this runner: never "expected"
    except _BUG_ERRORS as exc:
        # Neither a driver nor a server reports a user error this way: it is
        # a crash, and must not satisfy an ``expectError: {isError: true}``.
        raise MatchError(f"crashed with {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the operation's own error
        if pymongo_types:
            _check_pymongo_type(exc)
        if op.get("ignoreResultAndError"):
            return
        if "expectError" not in op:
            raise MatchError(f"unexpected error {type(exc).__name__}: {exc}") from exc
        _check_error(op["expectError"], exc, matcher)
        return
    if pymongo_types:
        _check_pymongo_type(result)
    if op.get("ignoreResultAndError"):
        return
    if "expectError" in op:
        raise MatchError(f"expected an error {_fmt(op['expectError'])}, got result"
                         f" {_fmt(result_document(result))}")
    document = result_document(result)
    if "expectResult" in op:
        matcher.match(op["expectResult"], document, root=True, root_elements=iterable)
    if "saveResultAsEntity" in op:
        entities[op["saveResultAsEntity"]] = document


def run_case(case: SpecCase, client_factory: ClientFactory, *, pymongo_types: bool = False) -> None:
    """Run one test; raises ``AssertionError`` (a ``MatchError``) on failure.

    ``NotImplementedError`` from the client and ``RunnerError`` propagate.
    With ``pymongo_types``, results and errors must also be pymongo's own
    classes (the memory engine promises that; mongomock has its own).
    """
    client = client_factory()
    try:
        _load_initial_data(client, case.spec.get("initialData", []))
        entities: dict[str, Any] = {}
        kinds: dict[str, str] = {}  # entity name -> "client", "database", ...
        _create_entities(case.spec.get("createEntities", []), client, entities, kinds)
        matcher = Matcher(entities)
        for index, op in enumerate(case.test["operations"]):
            try:
                _run_operation(op, entities, kinds, matcher, pymongo_types)
            except MatchError as exc:
                raise MatchError(f"operation {index} {op['name']}"
                                 f" {_fmt(op.get('arguments', {}))}: {exc}") from exc.__cause__
        _check_outcome(client, case.test.get("outcome", []))
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()


@dataclass
class CaseResult:
    case: SpecCase
    status: str  # passed, failed, unsupported, not-applicable
    message: str = ""


def run_one(case: SpecCase, client_factory: ClientFactory, *,
            pymongo_types: bool = False) -> CaseResult:
    """Run a case and classify the outcome instead of raising."""
    try:
        run_case(case, client_factory, pymongo_types=pymongo_types)
    except NotImplementedError as exc:
        return CaseResult(case, "unsupported", f"NotImplementedError: {exc}")
    except AssertionError as exc:
        return CaseResult(case, "failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - report, don't crash the run
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return CaseResult(case, "failed", f"{type(exc).__name__}: {exc}\n" + "".join(tb[-3:]))
    return CaseResult(case, "passed")


def run_spec_file(path: str | Path, client_factory: ClientFactory, *,
                  include_not_applicable: bool = False,
                  pymongo_types: bool = False) -> list[CaseResult]:
    """Run every applicable test of one spec file against fresh clients.

    Not-applicable tests are reported with status ``not-applicable`` (and run
    anyway when ``include_not_applicable`` is set and they are only blocked by
    needing a server newer than 7.0).
    """
    results = []
    for case in load_spec_file(path):
        if case.applicable:
            results.append(run_one(case, client_factory, pymongo_types=pymongo_types))
        elif include_not_applicable and case.beyond_7:
            result = run_one(case, client_factory, pymongo_types=pymongo_types)
            results.append(CaseResult(case, "not-applicable", f"(>7.x, run anyway: {result.status})"))
        else:
            results.append(CaseResult(case, "not-applicable", "; ".join(case.not_applicable)))
    return results


class _Session:
    """What the pytest entry registered, for the end-of-session summary."""

    def __init__(self) -> None:
        self.cases: list[SpecCase] = []
        self.client_name = "memory"

    def register(self, cases: list[SpecCase], client_name: str) -> None:
        self.cases, self.client_name = cases, client_name

    def summary(self) -> dict[str, int]:
        applicable = [c for c in self.cases if c.applicable]
        return {"applicable": len(applicable),
                "not_applicable": len(self.cases) - len(applicable),
                "events_ignored": sum(c.events_ignored for c in applicable)}

    def beyond_7_passing(self) -> str:
        """``"passed/total"`` of the tests that only need a newer server."""
        beyond = [c for c in self.cases if c.beyond_7]
        try:
            factory = make_client(self.client_name)
        except ImportError as exc:
            return f"n/a ({exc})"
        strict = self.client_name == "memory"
        passed = sum(run_one(c, factory, pymongo_types=strict).status == "passed" for c in beyond)
        return f"{passed}/{len(beyond)}"


SESSION = _Session()


def make_client(name: str) -> ClientFactory:
    """A factory of fresh clients.

    ``"memory"`` (dongo's engine as MongoDB 7.0), ``"memory-8.0"`` (as 8.0),
    ``"mongodb"`` (a real server at ``DONGO_TEST_MONGODB_URI``) or
    ``"mongomock"``.
    """
    if name in ("memory", "memory-8.0"):
        from dongo.backends.memory import MemoryClient

        if name == "memory-8.0":
            return lambda: MemoryClient(server_version="8.0")
        return MemoryClient
    if name == "mongodb":
        import os

        import pymongo

        uri = os.environ["DONGO_TEST_MONGODB_URI"]
        return lambda: pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    if name == "mongomock":
        import mongomock

        return mongomock.MongoClient
    raise ValueError(f"unknown client {name!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", default="memory", choices=("memory", "mongomock"))
    parser.add_argument("-k", dest="pattern", default=None,
                        help="only cases whose 'file::description' contains this (case-insensitive)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure")
    parser.add_argument("--spec-dir", default=str(DEFAULT_SPEC_DIR))
    parser.add_argument("--json", dest="json_out", default=None,
                        help="write every result as JSON lines to this file")
    options = parser.parse_args(argv)
    factory = make_client(options.client)
    strict = options.client == "memory"  # results/errors must be pymongo's classes
    totals = {"passed": 0, "failed": 0, "unsupported": 0, "not-applicable": 0}
    beyond_pass = beyond_total = 0
    records = []
    started = time.perf_counter()
    by_file: dict[str, list[SpecCase]] = {}
    for case in load_cases(options.spec_dir):
        if options.pattern and options.pattern.lower() not in f"{case.file}.json::{case.description}".lower():
            continue
        by_file.setdefault(case.file, []).append(case)
    for file, cases in by_file.items():
        counts = {key: 0 for key in totals}
        lines = []
        for case in cases:
            if case.applicable:
                result = run_one(case, factory, pymongo_types=strict)
            else:
                result = CaseResult(case, "not-applicable", "; ".join(case.not_applicable))
                if case.beyond_7:
                    beyond_total += 1
                    beyond_pass += run_one(case, factory, pymongo_types=strict).status == "passed"
            counts[result.status] += 1
            records.append({"id": case.id, "status": result.status, "message": result.message})
            if result.status in ("failed", "unsupported") and options.verbose:
                lines.append(f"  {result.status.upper()} {case.description}\n    "
                             + result.message.replace("\n", "\n    "))
        for key in totals:
            totals[key] += counts[key]
        print(f"{file}.json: passed={counts['passed']} failed={counts['failed']}"
              f" unsupported={counts['unsupported']} n/a={counts['not-applicable']}")
        for line in lines:
            print(line)
    applicable = totals["passed"] + totals["failed"] + totals["unsupported"]
    print(f"crud unified spec ({options.client}): applicable={applicable} passed={totals['passed']}"
          f" failed={totals['failed']} unsupported={totals['unsupported']}"
          f" not-applicable={totals['not-applicable']} (>7.x passing anyway: {beyond_pass}/{beyond_total})"
          f" in {time.perf_counter() - started:.1f}s")
    if options.json_out:
        Path(options.json_out).write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return 0 if totals["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
