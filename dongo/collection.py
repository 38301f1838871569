"""DongoCollection: the base class of your models, one class per MongoDB collection.

    >>> from dongo import connect, DongoCollection
    >>> class Person(DongoCollection):          # may be declared before connect()
    ...     collection = "doc_persons"
    >>> _ = connect("collection_doctest", uri="memory://")
    >>> joe = Person.new(name="joe", age=21)
    >>> joe["age"] += 1                          # $set, written through at once
    >>> Person.get_one(name="joe")["age"]
    22
    >>> Person.get_collection().drop()

An instance wraps one document (a dict). Reads come from memory; writes
(``p['x'] = 1``, ``set``, ``inc``) go to the database first and change memory
only once the database accepted them, so an instance never claims a change
that was not stored. An instance that was never inserted (no ``_id``) just
changes in memory until :meth:`DongoCollection.insert`.
"""

from __future__ import annotations

import reprlib
import uuid
from collections.abc import Mapping
from typing import (
    Any,
    ClassVar,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

import bson
from bson import ObjectId
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from bson.binary import Binary
from pymongo.errors import BulkWriteError

from . import refs
from .bulk import DongoBulk, DongoLazyUpdater
from .connection import current_generation, get_client
from .errors import DongoCollectionError, DongoError, DongoLookupError, DongoResultError
from .jsonify import to_jsonable
from .lookups import compile_filter, compile_update
from .queryset import QuerySet, normalize_sort

__all__ = ["DongoCollection"]

T = TypeVar("T", bound="DongoCollection")

_MISSING = object()
_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 60
_repr.maxlist = 4
_repr.maxdict = 4


# ---------------------------------------------------------------- local paths
def _split(path: str) -> List[str]:
    if not isinstance(path, str) or not path:
        raise DongoLookupError(f"field names must be non-empty strings, got {path!r}")
    if path.startswith("$"):
        raise DongoLookupError(f"field name {path!r} starts with '$'; that is a query operator, not a field")
    return path.split(".")


def _get_path(data: Any, parts: Sequence[str]) -> Any:
    """Strict dotted lookup: numeric parts index lists; no fan-out through arrays."""
    current = data
    for part in parts:
        if isinstance(current, Mapping):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.isdigit():
            index = int(part)
            current = current[index] if index < len(current) else _MISSING
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


_STANDARD_UUIDS = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)


def _as_stored(fields: Dict[str, Any], collection: Any) -> Dict[str, Any]:
    """``fields`` as the database stored them: a BSON round trip turns tuples
    into lists and truncates datetimes to milliseconds, so the instance keeps
    exactly what a later read would return."""
    codec_options = getattr(collection, "codec_options", None)
    if not isinstance(codec_options, CodecOptions):  # a pymongo look-alike (mongomock)
        codec_options = _STANDARD_UUIDS
    return bson.decode(bson.encode(fields, codec_options=codec_options), codec_options=codec_options)


def _set_path(data: Dict[str, Any], parts: Sequence[str], value: Any) -> None:
    """Mirror of the server's ``$set`` on a path the server already accepted."""
    current: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(current, list):
            index = int(part)
            if index >= len(current):
                current.extend([None] * (index + 1 - len(current)))  # the server pads with null
            if last:
                current[index] = value
            else:
                if not isinstance(current[index], (dict, list)):
                    current[index] = {}
                current = current[index]
        else:
            if last:
                current[part] = value
            else:
                nxt = current.get(part)
                if not isinstance(nxt, (dict, list)):
                    nxt = current[part] = {}
                current = nxt


def _coerce_id(value: Any) -> Any:
    """A 24-hex string becomes an ObjectId; anything else is used as the _id as is."""
    if isinstance(value, str) and ObjectId.is_valid(value):
        return ObjectId(value)
    return value


def _coerce_uuid(value: Any) -> Any:
    if isinstance(value, (uuid.UUID, Binary)):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise DongoLookupError(f"{value!r} is not a UUID; pass a uuid.UUID or its string form")


def _index_keys(args: Tuple[Any, ...]) -> Any:
    if len(args) == 1 and not isinstance(args[0], str):
        return args[0]  # already [(field, direction), ...]
    if all(isinstance(a, str) for a in args) and args:
        return normalize_sort(list(args))
    raise DongoError(
        "create_index takes a field name ('name', '-age' for descending) or a list of "
        "(field, direction) pairs like [('name', 1), ('age', -1)]"
    )


class DongoCollection:
    """Base class of dongo models. Subclasses set ``collection`` (and optionally ``database``).

        class Person(DongoCollection):
            collection = 'persons'      # required
            database = 'otherdb'        # optional: default is connect()'s database
            use_uuid = True             # optional: insert() adds a '_uuid' field

    A base class meant only to be inherited from sets ``abstract = True``.
    ``database`` and ``use_uuid`` are inherited by subclasses.
    """

    collection: ClassVar[str]
    database: ClassVar[Optional[str]] = None
    use_uuid: ClassVar[bool] = False
    abstract: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        cls.abstract = False
        name = getattr(cls, "collection", None)
        if not isinstance(name, str) or not name:
            raise DongoCollectionError(
                f"class {cls.__name__}(DongoCollection) needs a collection name: add "
                f"collection = '{cls.__name__.lower()}s' to its body (or abstract = True "
                f"if it is only a base for other models)"
            )
        if name.startswith("system.") or "$" in name or "\x00" in name:
            raise DongoCollectionError(f"{name!r} is not a valid MongoDB collection name for {cls.__name__}")
        # A subclass that only inherits its parent's collection (to add methods)
        # does not take the collection over: deref() keeps returning the class
        # that named it.
        if "collection" in cls.__dict__ or name not in refs.registered_classes():
            refs.register(cls)

    # ------------------------------------------------------------ resolution
    @classmethod
    def get_collection_name(cls) -> str:
        """The MongoDB collection name (``cls.collection``)."""
        cls._check_concrete()
        return cls.collection

    @classmethod
    def _check_concrete(cls) -> None:
        if cls.__dict__.get("abstract", False) or cls is DongoCollection:
            raise DongoCollectionError(
                f"{cls.__name__} is abstract (no collection); use a subclass that sets collection = '...'"
            )

    @classmethod
    def get_collection(cls) -> Any:
        """The backend collection (pymongo-shaped) for this class, via the current ``connect()``.

        Resolved at first use and again after every ``connect()``; raises
        :class:`DongoConnectError` if ``connect()`` was never called.
        """
        # Cached per class: valid while the connection generation (bumped by
        # connect()/disconnect()) and the class's collection/database names
        # are the ones it was resolved with. Checked by identity, as this
        # runs on every query.
        cached = cls.__dict__.get("_dongo_resolved")
        if (
            cached is not None
            and cached[0] == current_generation()
            and cached[1] is cls.collection
            and cached[2] is cls.database
        ):
            return cached[3]
        cls._check_concrete()
        generation, name, database = current_generation(), cls.collection, cls.database
        collection = get_client().get_database(database)[name]
        cls._dongo_resolved = (generation, name, database, collection)
        return collection

    # ----------------------------------------------------------- construction
    def __init__(self, data: Optional[Mapping[str, Any]] = None, **fields: Any) -> None:
        """Wrap a document (not inserted yet): ``Person({'name': 'joe'})`` or ``Person(name='joe')``."""
        if data is not None and not isinstance(data, Mapping):
            raise DongoError(f"{type(self).__name__}() takes a dict of fields, got {type(data).__name__}")
        self._data: Dict[str, Any] = dict(data or {})
        self._data.update(fields)

    @classmethod
    def _from_db(cls: Type[T], document: Dict[str, Any]) -> T:
        instance = cls.__new__(cls)
        instance._data = document
        return instance

    # --------------------------------------------------------- dict-like reads
    @property
    def id(self) -> Any:
        """The document's ``_id`` (``None`` before insert)."""
        return self._data.get("_id")

    @property
    def uuid(self) -> Any:
        """The document's ``_uuid`` (``None`` if it has none)."""
        return self._data.get("_uuid")

    def __getitem__(self, key: str) -> Any:
        if key in self._data:
            return self._data[key]
        value = _get_path(self._data, _split(key))
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, field: str, default: Any = None) -> Any:
        """The value at ``field`` (dotted paths and list indexes: ``'a.b'``, ``'tags.0'``) or ``default``."""
        if field in self._data:
            return self._data[field]
        value = _get_path(self._data, _split(field))
        return default if value is _MISSING else value

    def __contains__(self, field: object) -> bool:
        if not isinstance(field, str):
            return False
        return field in self._data or _get_path(self._data, _split(field)) is not _MISSING

    def keys(self) -> Any:
        """The document's top-level field names (so ``dict(instance)`` works)."""
        return self._data.keys()

    def items(self) -> Any:
        """The document's top-level (field, value) pairs."""
        return self._data.items()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def to_dict(self) -> Dict[str, Any]:
        """A shallow copy of the document."""
        return dict(self._data)

    # ----------------------------------------------------------------- writes
    def _filter_self(self) -> Dict[str, Any]:
        return {"_id": self._data["_id"]}

    def _write(self, update: Dict[str, Any]) -> Any:
        """Send ``update`` for this document; raise if it no longer exists."""
        result = type(self).get_collection().update_one(self._filter_self(), update)
        if result.acknowledged and result.matched_count == 0:
            raise DongoResultError(
                f"{type(self).__name__} {self._data['_id']!r} is not in the database any more "
                f"(deleted?); nothing was changed — insert() it again or refresh"
            )
        return result

    def _apply_set(self, fields: Mapping[str, Any]) -> None:
        for path, value in fields.items():
            if path in self._data or "." not in path:
                self._data[path] = value
            else:
                _set_path(self._data, path.split("."), value)

    def _set(self, fields: Dict[str, Any]) -> Any:
        for path in fields:
            _split(path)
        result = None
        if "_id" in self._data:
            result = self._write({"$set": fields})
            fields = _as_stored(fields, type(self).get_collection())
        self._apply_set(fields)
        return result

    def __setitem__(self, key: str, value: Any) -> None:
        """``p['color'] = 'red'`` (or ``p['nested.field1'] = 1``) sets it in the database too."""
        self._set({key: value})

    def set(self, **fields: Any) -> Any:
        """``$set`` fields in the database and in memory; ``a__b`` means the path ``a.b``.

            person.set(name='new name', nested__field1=1)

        Returns pymongo's UpdateResult (``None`` if the instance was never inserted).
        """
        return self._set(compile_update(fields)["$set"])

    def inc(self, field: str, amt: Union[int, float] = 1) -> Any:
        """``$inc`` a field (created at ``amt`` if absent): ``person.inc('money', amt=100)``.

        Afterwards the instance holds the value the database computed (one
        more read). Returns pymongo's UpdateResult (``None`` if never inserted).
        """
        parts = _split(field.replace("__", "."))
        path = ".".join(parts)
        current = _get_path(self._data, parts)
        if "_id" not in self._data:
            self._apply_set({path: (0 if current is _MISSING else current) + amt})
            return None
        result = self._write({"$inc": {path: amt}})
        # Read the outcome back rather than add locally: the local value may be
        # stale (another writer, a projection) and the server's arithmetic is
        # BSON's (Decimal128 + int, Int64 overflow), not Python's.
        stored = type(self).get_collection().find_one(self._filter_self(), {parts[0]: 1})
        value = _get_path(stored or {}, parts)
        if value is not _MISSING:
            self._apply_set({path: value})
        return result

    def insert(self, use_uuid: Optional[bool] = None, **kwargs: Any) -> ObjectId:
        """Insert the document; returns its new ``_id``.

        ``use_uuid`` (default: the class's ``use_uuid``) adds a ``_uuid``
        field if the document has none. Extra keywords go to ``insert_one``.
        If the insert fails, the instance is left as it was.
        """
        if use_uuid is None:
            use_uuid = type(self).use_uuid
        added = [key for key in ("_id", "_uuid") if key not in self._data]
        if use_uuid and "_uuid" not in self._data:
            self._data["_uuid"] = uuid.uuid4()
        try:
            result = type(self).get_collection().insert_one(self._data, **kwargs)
        except BaseException:
            for key in added:
                self._data.pop(key, None)
            raise
        self._data["_id"] = result.inserted_id
        return result.inserted_id

    def delete(self, **kwargs: Any) -> Any:
        """Delete this document from the database; returns pymongo's DeleteResult."""
        if "_id" not in self._data:
            raise DongoCollectionError(f"cannot delete a {type(self).__name__} that was never inserted")
        return type(self).get_collection().delete_one(self._filter_self(), **kwargs)

    def refresh_from_db(self) -> None:
        """Reload the document from the database (raises DongoResultError if it is gone)."""
        if "_id" not in self._data:
            raise DongoCollectionError(f"cannot refresh a {type(self).__name__} that was never inserted")
        document = type(self).get_collection().find_one(self._filter_self())
        if document is None:
            raise DongoResultError(f"{type(self).__name__} {self._data['_id']!r} is not in the database any more")
        self._data = document

    @classmethod
    def refresh_all_from_db(cls, instances: Iterable["DongoCollection"]) -> None:
        """Reload many instances with ONE query per collection (e.g. after a bulk save).

        Raises DongoResultError naming the documents that no longer exist
        (the others are refreshed).
        """
        groups: Dict[type, List[DongoCollection]] = {}
        for instance in instances:
            if "_id" not in instance._data:
                raise DongoCollectionError(f"cannot refresh a {type(instance).__name__} that was never inserted")
            groups.setdefault(type(instance), []).append(instance)
        missing = []
        for klass, members in groups.items():
            ids = [m._data["_id"] for m in members]
            found = {doc["_id"]: doc for doc in klass.get_collection().find({"_id": {"$in": ids}})}
            for member in members:
                document = found.get(member._data["_id"])
                if document is None:
                    missing.append(member._data["_id"])
                else:
                    member._data = document
        if missing:
            raise DongoResultError(f"not in the database any more: {missing!r}")

    def lazy(self) -> DongoLazyUpdater:
        """A :class:`DongoLazyUpdater`: change fields now, write them on ``save()``."""
        return DongoLazyUpdater(self)

    def ref(self) -> Dict[str, Any]:
        """A dongo reference ``{'_dref': _uuid or _id, '_coll': collection}`` for :func:`dongo.deref`."""
        target = self._data.get("_uuid")
        if target is None:
            target = self._data.get("_id")
        if target is None:
            raise DongoCollectionError(f"cannot reference a {type(self).__name__} that was never inserted")
        return {"_dref": target, "_coll": type(self).get_collection_name()}

    def json(self, datetime_format: Optional[str] = None) -> Dict[str, Any]:
        """The document as JSON-serialisable data (ObjectId/UUID as str, datetimes ISO 8601).

            p.json()                          # {'_id': '67…', 'birthday': '2000-02-01T00:00:00.000000'}
            p.json(datetime_format='%d/%m/%Y')
        """
        return to_jsonable(self._data, datetime_format)

    # ------------------------------------------------------------- identity
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DongoCollection):
            return NotImplemented
        if type(self) is not type(other):
            return False
        mine = self._data.get("_id")
        if mine is None:
            return self is other
        return mine == other._data.get("_id")

    def __hash__(self) -> int:
        _id = self._data.get("_id")
        return hash((type(self), _id)) if _id is not None else id(self)

    def __repr__(self) -> str:
        # _id first, wherever insert() appended it, so instances read alike.
        items = sorted(self._data.items(), key=lambda item: item[0] != "_id")
        fields = ", ".join(f"{k}={_repr.repr(v)}" for k, v in items)
        return f"{type(self).__name__}({fields})"

    # ---------------------------------------------------------- class queries
    @classmethod
    def filter(cls: Type[T], **lookups: Any) -> QuerySet[T]:
        """A lazy QuerySet of matches: ``Person.filter(age__gte=21, color__in=['red', 'blue'])``."""
        cls._check_concrete()
        return QuerySet._of(cls, compile_filter(lookups))

    @classmethod
    def filter_raw(cls: Type[T], query: Mapping[str, Any]) -> QuerySet[T]:
        """A QuerySet for a ready MongoDB filter document (trusted: operators are honoured)."""
        cls._check_concrete()
        return QuerySet(cls, query)

    @classmethod
    def exclude(cls: Type[T], **lookups: Any) -> QuerySet[T]:
        """Everything except the matches: ``Person.exclude(color='red')``."""
        return cls.filter().exclude(**lookups)

    @classmethod
    def filter_or(cls: Type[T]) -> QuerySet[T]:
        """An empty ``$or`` to append to: ``qs = Person.filter_or(); qs += Person.filter(age=18)``."""
        cls._check_concrete()
        return QuerySet(cls, combine="$or")

    @classmethod
    def filter_and(cls: Type[T]) -> QuerySet[T]:
        """An empty ``$and`` to append to with ``+=``."""
        cls._check_concrete()
        return QuerySet(cls, combine="$and")

    @classmethod
    def new(cls: Type[T], data: Optional[Mapping[str, Any]] = None, **fields: Any) -> T:
        """Create and insert at once: ``Person.new(name='joe')`` or ``Person.new({'name': 'joe'})``."""
        instance = cls(data, **fields)
        instance.insert()
        return instance

    @classmethod
    def bulk(cls, ops: Optional[list] = None) -> DongoBulk:
        """A :class:`DongoBulk` for this class: queue writes, send them with ``save()``."""
        cls._check_concrete()
        return DongoBulk(cls, ops)

    @classmethod
    def bulk_create(
        cls, objs: Iterable[Union[Mapping[str, Any], "DongoCollection"]], use_uuid: Optional[bool] = None, **kwargs: Any
    ) -> Any:
        """Insert many dicts or instances with one ``insert_many``; returns its InsertManyResult.

        Instances (and dicts, as pymongo does) get their ``_id`` set; documents
        that failed to insert are left without the ``_id``/``_uuid`` added here.
        """
        if use_uuid is None:
            use_uuid = cls.use_uuid
        documents: List[Dict[str, Any]] = []
        added: List[List[str]] = []
        for obj in objs:
            if isinstance(obj, DongoCollection):
                document = obj._data
            elif isinstance(obj, dict):
                document = obj
            elif isinstance(obj, Mapping):
                document = dict(obj)
            else:
                raise DongoError(f"bulk_create takes dicts or {cls.__name__} instances, got {obj!r}")
            added.append([key for key in ("_id", "_uuid") if key not in document])
            if use_uuid and "_uuid" not in document:
                document["_uuid"] = uuid.uuid4()
            documents.append(document)
        if not documents:
            raise DongoError("bulk_create needs at least one document")
        ordered = kwargs.get("ordered", True)
        try:
            return cls.get_collection().insert_many(documents, **kwargs)
        except BulkWriteError as exc:
            details = exc.details or {}
            if ordered:
                failed = range(details.get("nInserted", 0), len(documents))
            else:
                failed = [error["index"] for error in details.get("writeErrors", [])]
            for index in failed:
                for key in added[index]:
                    documents[index].pop(key, None)
            raise

    @classmethod
    def by_id(cls: Type[T], _id: Any, **kwargs: Any) -> Optional[T]:
        """The document with this ``_id`` (ObjectId or its hex string) or ``None``."""
        return cls.filter_raw({"_id": _coerce_id(_id)}).first(**kwargs)

    @classmethod
    def by_ids(cls: Type[T], ids: Iterable[Any], **kwargs: Any) -> QuerySet[T]:
        """A QuerySet of the documents with these ``_id`` values; keywords are more lookups.

            Person.by_ids(['6725b84b2401323bfda626e7', other_id], age__gte=21)
        """
        return cls.filter_raw({"_id": {"$in": [_coerce_id(i) for i in ids]}}).filter(**kwargs)

    @classmethod
    def map_by_ids(cls: Type[T], ids: Iterable[Any], **kwargs: Any) -> Dict[Any, Optional[T]]:
        """``{id as passed: instance or None}`` with one query; keywords go to ``iter`` (projection …)."""
        wanted = {i: _coerce_id(i) for i in ids}
        query = cls.filter_raw({"_id": {"$in": list(wanted.values())}})
        found = {inst._data["_id"]: inst for inst in query.iter(**kwargs)}
        return {given: found.get(coerced) for given, coerced in wanted.items()}

    @classmethod
    def by_uuid(cls: Type[T], instance_uuid: Any, **kwargs: Any) -> Optional[T]:
        """The document whose ``_uuid`` is this UUID (or its string) or ``None``."""
        return cls.filter_raw({"_uuid": _coerce_uuid(instance_uuid)}).first(**kwargs)

    @classmethod
    def by_uuids(cls: Type[T], uuids: Iterable[Any], **kwargs: Any) -> QuerySet[T]:
        """A QuerySet of the documents with these ``_uuid`` values; keywords are more lookups."""
        return cls.filter_raw({"_uuid": {"$in": [_coerce_uuid(u) for u in uuids]}}).filter(**kwargs)

    @classmethod
    def map_by_uuids(cls: Type[T], uuids: Iterable[Any], **kwargs: Any) -> Dict[Any, Optional[T]]:
        """``{uuid as passed: instance or None}`` with one query; keywords go to ``iter``."""
        wanted = {u: _coerce_uuid(u) for u in uuids}
        query = cls.filter_raw({"_uuid": {"$in": list(wanted.values())}})
        found = {refs._key(inst._data.get("_uuid")): inst for inst in query.iter(**kwargs)}
        return {given: found.get(refs._key(coerced)) for given, coerced in wanted.items()}

    @classmethod
    def get_one(cls: Type[T], **lookups: Any) -> T:
        """Exactly one match, like Django's ``get``; DongoResultError for none or several."""
        matches = cls.filter(**lookups).list(limit=2)
        if not matches:
            raise DongoResultError(f"no {cls.__name__} matches {compile_filter(lookups)!r}")
        if len(matches) > 1:
            raise DongoResultError(
                f"more than one {cls.__name__} matches {compile_filter(lookups)!r}; "
                f"narrow the query or use filter(...).first()"
            )
        return matches[0]

    @classmethod
    def create_index(cls, *keys: Any, **kwargs: Any) -> str:
        """Create an index; returns its name.

            Person.create_index('name')
            Person.create_index([('name', 1), ('age', -1)], unique=True)

        ``background=True`` is sent unless given: servers before 4.2 build
        in the background then, newer ones ignore the option.
        """
        kwargs.setdefault("background", True)
        return cls.get_collection().create_index(_index_keys(keys), **kwargs)

    @classmethod
    def count(cls, **lookups: Any) -> int:
        """How many documents match: ``Person.count(color='red')``."""
        return cls.filter(**lookups).count()
