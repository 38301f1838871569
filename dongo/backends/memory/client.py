"""``MemoryClient``: a pymongo-shaped ``MongoClient`` that is its own server.

Each ``MemoryClient()`` is an independent in-process "server" that starts
empty.  It accepts ``MongoClient``'s arguments: the codec options
(``document_class``, ``tz_aware``, ``tzinfo``, ``uuidRepresentation``,
``type_registry``, ``unicode_decode_error_handler``, ``datetime_conversion``)
are honoured exactly as pymongo applies them, and so are the read
preference, write concern (``w=0``: unacknowledged) and read concern;
connection options (host, port, timeouts, TLS, credentials ...) are accepted
and otherwise ignored.  Every option, in keywords or in the URI (``mongodb://``
or ``memory://``, read alike), is checked by pymongo's own validators, so a
bad one fails as ``MongoClient`` fails (an unknown keyword is a
``ConfigurationError``, an unknown URI option a ``UserWarning``);
``client.options`` is pymongo's ``ClientOptions``.

    >>> client = MemoryClient("mongodb://localhost:27017", tz_aware=True)
    >>> client.app.users.insert_one({"name": "Ada"}).acknowledged
    True
    >>> client.list_database_names()
    ['app']

Sessions: ``start_session()`` returns a :class:`MemorySession` usable as a
context manager; the engine accepts it everywhere and ignores it (there are
no transactions: ``start_transaction`` raises ``NotImplementedError``).

Emulated server version: ``MemoryClient(server_version="7.0")`` (the
default) behaves as MongoDB 7.0; ``server_version="8.0"`` additionally
accepts 8.0's ``sort`` option of ``update_one``/``replace_one`` and bulk
``UpdateOne``/``ReplaceOne`` (a 7.0 server rejects it with
``OperationFailure`` 40415).  ``buildInfo``, ``serverStatus``, ``hello``
(``maxWireVersion``) and ``server_info()`` report the chosen version.

    >>> MemoryClient(server_version="8.0").server_info()["version"]
    '8.0.0'
"""

from __future__ import annotations

import threading
import time
from typing import Any, Mapping, Optional

from bson.timestamp import Timestamp
from pymongo import common, uri_parser
from pymongo.client_options import ClientOptions
from pymongo.client_session import SessionOptions
from pymongo.driver_info import DriverInfo
from pymongo.errors import ConfigurationError

try:  # pymongo >= 4.9 keeps its URI option helpers here
    from pymongo.uri_parser_shared import (
        _check_options,
        _handle_option_deprecations,
        _handle_security_options,
        _normalize_options,
        _validate_uri,
    )

    def _parse_uri(uri: str, port: int) -> dict:
        """pymongo's parse of a ``mongodb://`` URI, as ``MongoClient`` does it."""
        return _validate_uri(uri, port, validate=True, warn=True, normalize=False)
except ImportError:  # pragma: no cover - pymongo 4.6 - 4.8
    from pymongo.uri_parser import (  # type: ignore[no-redef]
        _check_options,
        _handle_option_deprecations,
        _handle_security_options,
        _normalize_options,
    )

    def _parse_uri(uri: str, port: int) -> dict:
        """pymongo's parse of a ``mongodb://`` URI, as ``MongoClient`` does it."""
        return uri_parser.parse_uri(uri, port, validate=True, warn=True, normalize=False)

from .database import MemoryDatabase, check_database_name
from .options import OptionHolder
from .storage import STORE_OPTIONS

SERVER_VERSION = "7.0.0"  # the default emulated version

# Emulated versions → (version string, maxWireVersion the server reports).
_VERSIONS = {"7.0": ("7.0.0", 21), "8.0": ("8.0.0", 25)}

class MemorySession:
    """A stand-in for ``ClientSession``: a context manager the engine ignores."""

    def __init__(self, client: "MemoryClient", options: Optional[dict] = None) -> None:
        self._client = client
        self.options = options or {}
        self._ended = False
        self._implicit = False

    @property
    def client(self) -> "MemoryClient":
        return self._client

    @property
    def has_ended(self) -> bool:
        return self._ended

    @property
    def in_transaction(self) -> bool:
        return False

    @property
    def session_id(self) -> dict:
        return {"id": id(self)}

    def end_session(self) -> None:
        self._ended = True

    def __enter__(self) -> "MemorySession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.end_session()

    def start_transaction(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("transactions are not supported by the memory engine")

    def with_transaction(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("transactions are not supported by the memory engine")


class MemoryClient(OptionHolder):
    """An in-process MongoDB "server" (7.0 by default, or 8.0: see the module
    docstring) with pymongo's ``MongoClient`` interface."""

    HOST = "localhost"
    PORT = 27017

    def __init__(self, host: Any = None, port: Any = None, document_class: Any = None,
                 tz_aware: Optional[bool] = None, connect: Optional[bool] = None,
                 type_registry: Any = None, server_version: str = "7.0",
                 **kwargs: Any) -> None:
        version = _VERSIONS.get(server_version if isinstance(server_version, str) else None)
        if version is None:
            raise ValueError(f"server_version must be one of {sorted(_VERSIONS)}, "
                             f"not {server_version!r}")
        self._server_version, self._max_wire_version = version
        self._options, self._default_database_name, self._seeds = _client_options(
            host, port, document_class, tz_aware, connect, type_registry, kwargs)
        self._codec_options = self._options.codec_options
        self._store_options = STORE_OPTIONS.with_options(
            uuid_representation=self._codec_options.uuid_representation)
        self._read_preference = self._options.read_preference
        self._write_concern = self._options.write_concern
        self._read_concern = self._options.read_concern
        self._lock = threading.RLock()
        self._last_timestamp = (0, 0)
        # db name → collection name → storage.Namespace
        self._databases: dict[str, dict] = {}
        self._closed = False

    # -- attributes -----------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return (self.HOST, self.PORT)

    @property
    def primary(self) -> tuple[str, int]:
        return self.address

    @property
    def is_primary(self) -> bool:
        return True

    @property
    def is_mongos(self) -> bool:
        return False

    @property
    def nodes(self) -> frozenset:
        return frozenset({self.address})

    @property
    def options(self) -> ClientOptions:
        """pymongo's ``ClientOptions`` resolved from the URI and keyword arguments."""
        return self._options

    @property
    def arbiters(self) -> set:
        """A standalone server has no arbiters."""
        return set()

    @property
    def secondaries(self) -> set:
        """A standalone server has no secondaries."""
        return set()

    def eq_props(self) -> tuple:
        """pymongo's identity tuple (seeds, replica set, SRV host, SRV service).
        Two memory clients are two servers, so ``==`` stays identity."""
        return (tuple(sorted(self._seeds)), self._options.replica_set_name, None,
                common.SRV_SERVICE_NAME)

    def append_metadata(self, driver_info: DriverInfo) -> None:
        """Checked like pymongo; there is no handshake to carry the metadata."""
        if not isinstance(driver_info, DriverInfo):
            raise TypeError(
                f"driver_info must be an instance of DriverInfo, not {type(driver_info)}")

    @property
    def topology_description(self) -> Any:
        raise NotImplementedError("topology_description is not supported by the memory engine")

    def __repr__(self) -> str:
        return f"MemoryClient(id={id(self):#x})"

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    # -- databases ------------------------------------------------------------------------

    __iter__ = None  # type: ignore[assignment]  # as pymongo: not iterable

    def __next__(self) -> Any:
        raise TypeError("'MemoryClient' object is not iterable")

    next = __next__

    def __getattr__(self, name: str) -> MemoryDatabase:
        if name.startswith("_"):
            raise AttributeError(
                f"MemoryClient has no attribute {name!r}. To access the {name}"
                f" database, use client[{name!r}]."
            )
        return self.__getitem__(name)

    def __getitem__(self, name: str) -> MemoryDatabase:
        return MemoryDatabase(self, name)

    def get_database(self, name: Optional[str] = None, codec_options: Any = None,
                     read_preference: Any = None, write_concern: Any = None,
                     read_concern: Any = None) -> MemoryDatabase:
        if name is None:
            raise ConfigurationError("No default database name defined or provided.")
        return MemoryDatabase(self, name, codec_options, read_preference, write_concern,
                              read_concern)

    def get_default_database(self, default: Optional[str] = None, codec_options: Any = None,
                             read_preference: Any = None, write_concern: Any = None,
                             read_concern: Any = None) -> MemoryDatabase:
        """The URI's database (``memory:///shop``), else ``default``."""
        if self._default_database_name is None and default is None:
            raise ConfigurationError("No default database name defined or provided.")
        return self.get_database(self._default_database_name or default, codec_options,
                                 read_preference, write_concern, read_concern)

    def list_database_names(self, session: Any = None, comment: Any = None) -> list[str]:
        """Databases that hold at least one collection."""
        with self._lock:
            return [name for name, colls in self._databases.items() if colls]

    def list_databases(self, session: Any = None, comment: Any = None, **kwargs: Any) -> Any:
        from .cursor import MemoryCommandCursor

        docs = [{"name": name, "sizeOnDisk": 0, "empty": False}
                for name in self.list_database_names()]
        return MemoryCommandCursor(self["admin"]["$cmd"], docs)

    def drop_database(self, name_or_database: Any, session: Any = None,
                      comment: Any = None) -> None:
        name = name_or_database
        if isinstance(name, MemoryDatabase):
            name = name.name
        if not isinstance(name, str):
            raise TypeError(
                f"name_or_database must be an instance of str or a Database, not {type(name)}")
        check_database_name(name)
        self._drop_database_store(name)

    def _database_store(self, name: str, create: bool = False) -> Optional[dict]:
        colls = self._databases.get(name)
        if colls is None and create:
            with self._lock:
                colls = self._databases.setdefault(name, {})
        return colls

    def _next_timestamp(self) -> Timestamp:
        """A fresh, strictly increasing cluster timestamp (seconds, counter)."""
        with self._lock:
            now = int(time.time())
            last_time, last_inc = self._last_timestamp
            self._last_timestamp = (now, 1) if now > last_time else (last_time, last_inc + 1)
            return Timestamp(*self._last_timestamp)

    def _drop_database_store(self, name: str) -> None:
        with self._lock:
            self._databases.pop(name, None)

    # -- sessions, lifecycle, server info ------------------------------------------------

    def start_session(self, causal_consistency: Optional[bool] = None,
                      default_transaction_options: Any = None,
                      snapshot: Optional[bool] = False) -> MemorySession:
        """A session object; accepted everywhere and ignored by the engine (its
        options are checked by pymongo's ``SessionOptions``)."""
        SessionOptions(causal_consistency, default_transaction_options, snapshot)
        return MemorySession(self, {"causal_consistency": causal_consistency,
                                    "snapshot": snapshot})

    def close(self) -> None:
        """Accepted for compatibility; the data stays available (the server is in-process)."""
        self._closed = True

    def __enter__(self) -> "MemoryClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def server_version(self) -> str:
        """The emulated server version, e.g. ``"7.0.0"``."""
        return self._server_version

    @property
    def _supports_update_sort(self) -> bool:
        """MongoDB 8.0 added ``sort`` to single-document update statements."""
        return self._max_wire_version >= 25

    def server_info(self, session: Any = None) -> dict:
        return self.admin.command("buildInfo")

    def server_info_brief(self) -> dict:
        """The ``serverInfo`` block of explain output."""
        return {"host": self.HOST, "port": self.PORT, "version": self._server_version,
                "gitVersion": "memory"}

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("change streams (watch) are not supported by the memory "
                                  "engine")

    def bulk_write(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("MongoClient.bulk_write is not supported by the memory "
                                  "engine")


def _client_options(host: Any, port: Any, document_class: Any, tz_aware: Any, connect: Any,
                    type_registry: Any,
                    kwargs: Mapping[str, Any]) -> tuple[ClientOptions, Optional[str], set]:
    """The options ``MongoClient(host, port, ..., **kwargs)`` would resolve (with the
    URI's default database and the seed addresses), checked
    by pymongo's own validators in pymongo's order (so every bad value raises
    pymongo's exception and message; an unknown keyword is a ConfigurationError,
    an unknown URI option a UserWarning).  A ``memory://`` URI is read as a
    ``mongodb://`` one.  Nothing is resolved over the network: an SRV URI is
    parsed as a plain host.

        >>> options, _db, _seeds = _client_options("memory://?w=0", None, None, None, None, None, {})
        >>> options.write_concern
        WriteConcern(w=0)
    """
    if port is None:
        port = MemoryClient.PORT
    if not isinstance(port, int):
        raise TypeError(f"port must be an instance of int, not {type(port)}")
    keyword_opts = common._CaseInsensitiveDictionary(dict(kwargs))
    keyword_opts["document_class"] = document_class or dict
    hosts = [MemoryClient.HOST if host is None else host]
    if not isinstance(host, (str, type(None))):
        hosts = list(host)
    if len([h for h in hosts if "/" in h]) > 1:
        raise ConfigurationError("host must not contain multiple MongoDB URIs")
    seeds: set = set()
    username = password = dbase = None
    opts = common._CaseInsensitiveDictionary()
    for entity in hosts:
        if "/" not in entity:
            seeds.update(uri_parser.split_hosts(entity, port))
            continue
        scheme, sep, rest = entity.partition("://")
        if sep and scheme in ("memory", "mongodb+srv"):
            if rest[:1] in ("", "/", "?"):  # no host: the memory client's own address
                rest = MemoryClient.HOST + ("/" + rest if rest[:1] == "?" else rest)
            entity = "mongodb://" + rest
        parsed = _parse_uri(entity, port)
        seeds.update(parsed["nodelist"])
        username = parsed["username"] or username
        password = parsed["password"] or password
        dbase = parsed["database"] or dbase
        opts = common._CaseInsensitiveDictionary(parsed["options"])
    if not seeds:
        raise ConfigurationError("need to specify at least one host")
    if type_registry is not None:
        keyword_opts["type_registry"] = type_registry
    keyword_opts["tz_aware"] = opts.get("tz_aware", False) if tz_aware is None else tz_aware
    keyword_opts["connect"] = opts.get("connect", True) if connect is None else connect
    keyword_opts = _handle_option_deprecations(keyword_opts)
    opts.update(common._CaseInsensitiveDictionary(dict(
        common.validate(keyword_opts.cased_key(k), v) for k, v in keyword_opts.items())))
    opts = _normalize_options(_handle_security_options(opts))
    _check_options(seeds, opts)
    options = ClientOptions(opts.get("username", username), opts.get("password", password),
                            dbase, opts)
    return options, dbase, seeds
