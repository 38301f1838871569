"""A pymongo-shaped ``Database`` of the memory engine.

A :class:`MemoryDatabase` is a light handle (like pymongo's): the
collections' storage lives in its :class:`~.client.MemoryClient`, so any
number of handles to one database see the same data.  A collection exists
once something is written to it (or it is created explicitly), like on a
server.

    >>> from dongo.backends.memory import MemoryClient
    >>> db = MemoryClient().shop
    >>> db.orders.insert_one({"sku": "a"}).acknowledged
    True
    >>> db.list_collection_names()
    ['orders']
    >>> db.command("ping")
    {'ok': 1.0}
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from bson.codec_options import CodecOptions
from pymongo import common
from pymongo.errors import CollectionInvalid, InvalidName
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from .collection import MemoryCollection, validate_collection_name
from .options import OptionHolder
from .errors import ServerError
from .storage import Namespace
from .wire import raise_command_error

# The options a "create" command accepts and keeps (reported by
# list_collections / Collection.options()).
_CREATE_OPTIONS = frozenset({
    "capped", "size", "max", "validator", "validationLevel", "validationAction",
    "collation", "storageEngine", "indexOptionDefaults", "viewOn", "pipeline",
    "timeseries", "expireAfterSeconds", "clusteredIndex", "changeStreamPreAndPostImages",
    "encryptedFields", "comment",
})


def check_database_name(name: Any) -> None:
    """pymongo's client-side checks on a database name."""
    if not isinstance(name, str):
        raise TypeError(f"name must be an instance of str, not {type(name)}")
    if not name:
        raise InvalidName("database name cannot be the empty string")
    for invalid_char in [" ", ".", "$", "/", "\\", "\x00", '"']:
        if invalid_char in name:
            raise InvalidName(f"database names cannot contain the character {invalid_char!r}")


class MemoryDatabase(OptionHolder):
    """One database of a :class:`~.client.MemoryClient` (pymongo ``Database`` shape)."""

    def __init__(self, client: Any, name: str, codec_options: Optional[CodecOptions] = None,
                 read_preference: Any = None, write_concern: Optional[WriteConcern] = None,
                 read_concern: Optional[ReadConcern] = None) -> None:
        check_database_name(name)
        self._client = client
        self._name = name
        self._set_options(codec_options, read_preference, write_concern, read_concern,
                          parent=client)

    # -- attributes -------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def client(self) -> Any:
        return self._client

    def with_options(self, codec_options: Optional[CodecOptions] = None,
                     read_preference: Any = None, write_concern: Optional[WriteConcern] = None,
                     read_concern: Optional[ReadConcern] = None) -> "MemoryDatabase":
        return MemoryDatabase(self._client, self._name, codec_options or self._codec_options,
                              read_preference or self._read_preference,
                              write_concern or self._write_concern,
                              read_concern or self._read_concern)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, MemoryDatabase):
            return self._client is other.client and self._name == other.name
        return NotImplemented

    def __ne__(self, other: Any) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((id(self._client), self._name))

    def __repr__(self) -> str:
        return f"MemoryDatabase({self._client!r}, {self._name!r})"

    def __bool__(self) -> bool:
        raise NotImplementedError(
            "Database objects do not implement truth value testing or bool(). "
            "Please compare with None instead: database is not None"
        )

    __iter__ = None  # type: ignore[assignment]

    def __next__(self) -> Any:
        raise TypeError("'Database' object is not iterable")

    next = __next__

    def __getattr__(self, name: str) -> MemoryCollection:
        if name.startswith("_"):
            raise AttributeError(
                f"Database has no attribute {name!r}. To access the {name}"
                f" collection, use database[{name!r}]."
            )
        return self.__getitem__(name)

    def __getitem__(self, name: str) -> MemoryCollection:
        return MemoryCollection(self, name)

    def get_collection(self, name: str, codec_options: Optional[CodecOptions] = None,
                       read_preference: Any = None, write_concern: Any = None,
                       read_concern: Any = None) -> MemoryCollection:
        return MemoryCollection(self, name, codec_options, read_preference, write_concern,
                                read_concern)

    # -- the collections registry (storage lives in the client) -------------------------

    def _collections(self, create: bool = False) -> Optional[dict[str, Namespace]]:
        return self._client._database_store(self._name, create=create)

    def _namespace(self, name: str, create: bool = False, options: Optional[dict] = None,
                   write: bool = False) -> Optional[Namespace]:
        """Collection ``name``'s storage; created when missing and ``create``.

        ``write``: the caller is about to write, which a view refuses (code 166).
        """
        colls = self._client._database_store(self._name, create=False)
        ns = colls.get(name) if colls is not None else None
        if write and ns is not None and ns.view is not None:
            raise ServerError(166, f"Namespace {self._name}.{name} is a view, not a collection")
        if ns is not None or not create:
            return ns
        with self._client._lock:
            colls = self._client._database_store(self._name, create=True)
            ns = colls.get(name)
            if ns is None:
                ns = Namespace(self._name, name, options=options,
                               store_options=self._client._store_options)
                colls[name] = ns
            return ns

    def _rename(self, old: str, new: str, drop_target: bool,
                target_db: Optional[str] = None) -> None:
        """``renameCollection`` ``old`` → ``target_db.new`` (default: this database)."""
        target_db = self._name if target_db is None else target_db
        if (target_db, new) == (self._name, old):
            raise ServerError(20, "Can't rename a collection to itself")
        with self._client._lock:
            colls = self._collections()
            if colls is None or old not in colls:
                raise ServerError(26, f"Source collection {self._name}.{old} does not exist")
            targets = self._client._database_store(target_db, create=True)
            if new in targets:
                if not drop_target:
                    raise ServerError(48, "target namespace exists")
                del targets[new]
            ns = colls.pop(old)
            ns.db_name, ns.name = target_db, new
            targets[new] = ns
            if not colls:
                self._client._drop_database_store(self._name)

    # -- collections --------------------------------------------------------------

    def list_collection_names(self, session: Any = None, filter: Optional[Mapping] = None,
                              comment: Any = None, **kwargs: Any) -> list[str]:
        """Names of the existing collections (optionally those matching ``filter``)."""
        if filter is None:
            colls = self._collections()
            return list(colls) if colls else []
        return [doc["name"] for doc in self.list_collections(filter=filter, nameOnly=True)]

    def _collection_infos(self) -> list[dict]:
        colls = self._collections() or {}
        infos = []
        for name, ns in list(colls.items()):
            if ns.view is not None:
                infos.append({"name": name, "type": "view", "options": dict(ns.options),
                              "info": {"readOnly": True}})
                continue
            infos.append({
                "name": name,
                "type": "collection",
                "options": dict(ns.options),
                "info": {"readOnly": False, "uuid": ns.uuid},
                "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
            })
        return infos

    def list_collections(self, session: Any = None, filter: Optional[Mapping] = None,
                         comment: Any = None, **kwargs: Any) -> Any:
        """A command cursor over ``{name, type, options, info, idIndex}`` documents."""
        from .cursor import MemoryCommandCursor

        infos = self._collection_infos()
        if kwargs.get("nameOnly"):
            infos = [{"name": i["name"], "type": i["type"]} for i in infos]
        if filter:
            common.validate_is_mapping("filter", filter)
            try:
                from .filters import compile_filter

                matcher = compile_filter(dict(filter))
            except ServerError as err:
                raise_command_error(err)
            infos = [i for i in infos if matcher(i)]
        probe = self["system.namespaces"]
        return MemoryCommandCursor(probe, [probe._decode_result(i) for i in infos])

    def create_collection(self, name: str, codec_options: Optional[CodecOptions] = None,
                          read_preference: Any = None, write_concern: Any = None,
                          read_concern: Any = None, session: Any = None,
                          check_exists: Optional[bool] = True, **kwargs: Any) -> MemoryCollection:
        """Create a collection explicitly (options are kept; capped/views/time series
        are not supported)."""
        validate_collection_name(name)
        kwargs.pop("comment", None)
        kwargs.pop("maxTimeMS", None)
        if check_exists and name in self.list_collection_names():
            raise CollectionInvalid(f"collection {name} already exists")
        try:
            self._create(name, kwargs)
        except ServerError as err:
            raise_command_error(err)
        return self.get_collection(name, codec_options, read_preference, write_concern,
                                   read_concern)

    def _create(self, name: str, options: Mapping[str, Any]) -> None:
        """The ``create`` command: ServerError 48 when the collection exists."""
        unknown = set(options) - _CREATE_OPTIONS
        if unknown:
            raise ServerError(40415, f"BSON field 'create.{sorted(unknown)[0]}' is an unknown "
                                     "field.")
        for unsupported in ("capped", "timeseries", "clusteredIndex",
                            "encryptedFields", "validator", "collation"):
            if options.get(unsupported) is not None and options.get(unsupported) is not False:
                raise NotImplementedError(f"create_collection({unsupported}=...) is not "
                                          "supported by the memory engine")
        view = _view_definition(options)
        with self._client._lock:
            colls = self._collections(create=True)
            if name in colls:
                raise ServerError(48, f"Collection {self._name}.{name} already exists.")
            ns = Namespace(self._name, name, options=dict(options),
                           store_options=self._client._store_options)
            ns.view = view
            colls[name] = ns

    def drop_collection(self, name_or_collection: Any, session: Any = None,
                        comment: Any = None, encrypted_fields: Any = None) -> dict:
        """Drop a collection; dropping a missing one succeeds (MongoDB 7.0)."""
        name = name_or_collection
        if isinstance(name, MemoryCollection):
            name = name.name
        if not isinstance(name, str):
            raise TypeError(f"name_or_collection must be an instance of str, not {type(name)}")
        with self._client._lock:
            colls = self._collections()
            ns = colls.pop(name, None) if colls else None
            if colls is not None and not colls:
                self._client._drop_database_store(self._name)
        if ns is None:
            return {"ok": 1.0}
        return {"nIndexesWas": len(ns.index_documents()), "ns": f"{self._name}.{name}",
                "ok": 1.0}

    def validate_collection(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("validate_collection is not supported by the memory engine")

    def aggregate(self, pipeline: list, session: Any = None, **kwargs: Any) -> Any:
        """A database-level aggregation (pipelines starting with ``$documents``)."""
        from .aggregation_context import run_database_pipeline

        return run_database_pipeline(self, pipeline, **kwargs)

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("change streams (watch) are not supported by the memory "
                                  "engine")

    def dereference(self, dbref: Any, session: Any = None, comment: Any = None,
                    **kwargs: Any) -> Any:
        """The document a DBRef points to (None when absent)."""
        from bson.dbref import DBRef

        if not isinstance(dbref, DBRef):
            raise TypeError(f"cannot dereference a {type(dbref)}")
        if dbref.database is not None and dbref.database != self._name:
            raise ValueError(f"trying to dereference a DBRef that points to another database "
                             f"({dbref.database!r} not {self._name!r})")
        return self[dbref.collection].find_one({"_id": dbref.id}, **kwargs)

    # -- commands --------------------------------------------------------------------

    def command(self, command: Any, value: Any = 1, check: bool = True,
                allowable_errors: Any = None, read_preference: Any = None,
                codec_options: Any = None, session: Any = None, comment: Any = None,
                **kwargs: Any) -> Any:
        """Run a database command (a subset: see :mod:`.commands`)."""
        from .commands import run_command

        if isinstance(command, str):
            command = {command: value, **kwargs}
        elif kwargs:
            command = {**command, **kwargs}
        if comment is not None:
            command["comment"] = comment
        try:
            reply = run_command(self, dict(command))
        except ServerError as err:
            if not check or (allowable_errors and (err.code in allowable_errors
                                                    or err.errmsg in allowable_errors)):
                return err.to_document()
            raise_command_error(err)
        if codec_options is not None:
            import bson

            return bson.decode(bson.encode(reply, False, self._client._store_options),
                               codec_options)
        return reply

    def cursor_command(self, command: Any, value: Any = 1, read_preference: Any = None,
                       codec_options: Any = None, session: Any = None, comment: Any = None,
                       max_await_time_ms: Any = None, **kwargs: Any) -> Any:
        """Run a cursor-returning command; returns a command cursor over its results."""
        from .cursor import MemoryCommandCursor

        reply = self.command(command, value, comment=comment, **kwargs)
        cursor = reply.get("cursor", {})
        ns = cursor.get("ns", f"{self._name}.$cmd")
        coll = self[ns.split(".", 1)[1]] if "." in ns else self["$cmd"]
        return MemoryCommandCursor(coll, cursor.get("firstBatch", []))


_OPTION_NOT_SUPPORTED_ON_VIEW = 167  # OptionNotSupportedOnView


def _view_definition(options: Mapping[str, Any]) -> Optional[tuple]:
    """``(source name, pipeline)`` for a ``create`` with ``viewOn``; validated like
    the server (the pipeline is checked when the view is read)."""
    if "viewOn" not in options:
        if "pipeline" in options:
            raise ServerError(9, "'pipeline' requires 'viewOn' to also be specified")
        return None
    source = options["viewOn"]
    pipeline = options.get("pipeline", [])
    if not isinstance(source, str):
        raise ServerError(14, "BSON field 'create.viewOn' is the wrong type, expected type "
                              "'string'")
    if not source:
        raise ServerError(73, "'viewOn' cannot be empty")
    if not isinstance(pipeline, list):
        raise ServerError(14, "BSON field 'create.pipeline' is the wrong type, expected type "
                              "'array'")
    for stage in pipeline:
        if isinstance(stage, Mapping) and any(k in stage for k in ("$out", "$merge")):
            name = "$out" if "$out" in stage else "$merge"
            raise ServerError(_OPTION_NOT_SUPPORTED_ON_VIEW,
                              f"{name} cannot be used in a view definition")
    return source, list(pipeline)

