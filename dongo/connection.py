"""``connect()``: choose the server (or the in-process engine) dongo talks to.

    >>> from dongo import connect
    >>> client = connect("shop", uri="memory://")
    >>> client.database_name
    'shop'

The URI's scheme picks the backend (``mongodb://``/``mongodb+srv://`` → pymongo,
``memory://`` → the embedded engine). The ``DONGO_URI`` environment variable,
when set, overrides where every ``connect()`` points, so an application's
test run can switch to ``memory://`` without code changes.

The connection is process-wide: ``DongoCollection`` classes resolve their
collection at first use, through whatever ``connect()`` was called last.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, Iterable, Optional, Union
from urllib.parse import quote, unquote

from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions

from .backends import backend_for
from .errors import DongoConnectError

__all__ = ["connect", "disconnect", "get_client", "DongoClient", "ENV_URI"]

#: Environment variable that overrides where ``connect()`` points.
ENV_URI = "DONGO_URI"

_UUID_REPRESENTATIONS: Dict[str, int] = {
    "standard": UuidRepresentation.STANDARD,
    "pythonlegacy": UuidRepresentation.PYTHON_LEGACY,
    "javalegacy": UuidRepresentation.JAVA_LEGACY,
    "csharplegacy": UuidRepresentation.CSHARP_LEGACY,
    "unspecified": UuidRepresentation.UNSPECIFIED,
}
_UUID_NAMES = {number: name for name, number in _UUID_REPRESENTATIONS.items()}
# MongoClient's spelling of each representation (its uuidRepresentation option).
_PYMONGO_UUID_OPTION = {
    UuidRepresentation.STANDARD: "standard",
    UuidRepresentation.PYTHON_LEGACY: "pythonLegacy",
    UuidRepresentation.JAVA_LEGACY: "javaLegacy",
    UuidRepresentation.CSHARP_LEGACY: "csharpLegacy",
    UuidRepresentation.UNSPECIFIED: "unspecified",
}


def _uuid_representation(value: Union[str, int]) -> int:
    """``'pythonLegacy'`` (any case) or a ``bson.binary.UuidRepresentation`` value → the number."""
    if isinstance(value, int) and value in _UUID_NAMES:
        return value
    if isinstance(value, str) and value.lower() in _UUID_REPRESENTATIONS:
        return _UUID_REPRESENTATIONS[value.lower()]
    raise DongoConnectError(
        f"unknown uuid_representation {value!r}; use 'standard' (the default), "
        f"'pythonLegacy' (data written by dongo 0.4 / pymongo 3), 'javaLegacy', "
        f"'csharpLegacy' or 'unspecified'"
    )


class DongoClient:
    """A connection: the backend's pymongo-shaped client plus the default database.

    ``client[name]`` and :meth:`get_database` return databases with this
    connection's codec options; anything else (``list_database_names``,
    ``start_session``, ``admin`` …) is the underlying client's own.

        >>> c = connect("shop", uri="memory://")
        >>> c.get_database().name, c["other"].name
        ('shop', 'other')
    """

    def __init__(
        self,
        client: Any,
        database_name: Optional[str] = None,
        *,
        uri: Optional[str] = None,
        backend: Any = None,
        uuid_representation: Optional[int] = None,
    ) -> None:
        self.client = client
        self.database_name = database_name
        self.uri = uri
        self.backend = backend
        self.uuid_representation = uuid_representation
        self._codec_options = self._codec_options_for(client, uuid_representation)

    @staticmethod
    def _codec_options_for(client: Any, uuid_representation: Optional[int]) -> Optional[CodecOptions]:
        # Only override what the client does not already do: clients dongo
        # opened carry the representation already; a client handed in keeps
        # its own options unless the caller asked for a representation.
        if uuid_representation is None:
            return None
        current = getattr(client, "codec_options", None)
        if current is not None and getattr(current, "uuid_representation", None) == uuid_representation:
            return None
        if current is not None and hasattr(current, "with_options"):
            return current.with_options(uuid_representation=uuid_representation)
        return CodecOptions(uuid_representation=uuid_representation)

    def get_database(self, name: Optional[str] = None) -> Any:
        """The database ``name``, or the default database given to ``connect()``."""
        name = name or self.database_name
        if not name:
            raise DongoConnectError(
                "no database name: pass one to connect('mydatabase'), or set "
                "database = 'mydatabase' on the DongoCollection class"
            )
        if self._codec_options is None:
            return self.client[name]
        return self.client.get_database(name, codec_options=self._codec_options)

    def __getitem__(self, name: str) -> Any:
        return self.get_database(name)

    def drop_database(self, name: Optional[str] = None) -> None:
        """Drop ``name`` (default: the connection's default database)."""
        self.client.drop_database(name or self.database_name)

    def close(self) -> None:
        """Close the client dongo opened (a shared memory:// server keeps its data).

        A client handed in with ``connect(client=...)`` belongs to the caller
        and is left open.
        """
        if self.backend is not None:
            self.backend.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "client":
            raise AttributeError(name)
        return getattr(self.client, name)

    def __repr__(self) -> str:
        where = self.uri or type(self.client).__name__
        return f"DongoClient({where!r}, database={self.database_name!r})"


class _State:
    """The process-wide current connection; ``generation`` changes on every connect()."""

    def __init__(self) -> None:
        self.client: Optional[DongoClient] = None
        self.generation = 0
        self.lock = threading.Lock()


_state = _State()


def get_client() -> DongoClient:
    """The current connection, or :class:`DongoConnectError` if ``connect()`` was never called."""
    client = _state.client
    if client is None:
        raise DongoConnectError(
            "dongo is not connected: call dongo.connect('mydatabase') (or "
            "connect('mydatabase', uri='memory://') for the in-process engine) first"
        )
    return client


def current_generation() -> int:
    """A number that changes whenever the connection changes (collections re-resolve)."""
    return _state.generation


def disconnect() -> None:
    """Close and forget the current connection; models raise DongoConnectError until the next connect().

    ``connect()`` does not close the previous connection (someone may still
    hold it); call ``disconnect()`` first to release it.
    """
    with _state.lock:
        client, _state.client = _state.client, None
        _state.generation += 1
    if client is not None:
        client.close()


def _has_port(host: str) -> bool:
    """``'h:27018'`` and ``'[::1]:27018'`` carry a port; ``'h'`` and ``'[::1]'`` do not."""
    if host.startswith("["):
        return "]:" in host
    return ":" in host


def _host_uri(host: str, port: int, hosts: Optional[Iterable[str]]) -> str:
    if hosts:
        return "mongodb://" + ",".join(str(h) for h in hosts) + "/"
    if _has_port(host):
        return f"mongodb://{host}/"
    return f"mongodb://{host}:{int(port)}/"


def _uri_option(uri: str, name: str) -> Optional[str]:
    """The value of the URI option ``name`` (case-insensitive, as MongoDB URIs are), or None.

        >>> _uri_option("mongodb://h/db?uuidrepresentation=pythonLegacy&w=1", "uuidRepresentation")
        'pythonLegacy'
    """
    query = uri.split("?", 1)[1] if "?" in uri else ""
    for pair in query.replace(";", "&").split("&"):
        key, _, value = pair.partition("=")
        if key.lower() == name.lower():
            return unquote(value)
    return None


def _uri_database(uri: str) -> Optional[str]:
    """The default database named in a URI's path (``mongodb://h/db?x`` → ``db``)."""
    rest = uri.split("://", 1)[1]
    path = rest.split("?", 1)[0]
    if "/" not in path:
        return None
    name = path.split("/", 1)[1]
    return name or None


def connect(
    database: Optional[str] = None,
    host: str = "localhost",
    port: int = 27017,
    uri: Optional[str] = None,
    hosts: Optional[Iterable[str]] = None,
    replica_set: Optional[str] = None,
    *,
    client: Any = None,
    uuid_representation: Optional[Union[str, int]] = None,
    **client_options: Any,
) -> DongoClient:
    """Connect dongo to a server (or the in-process engine) and return the connection.

    ``database`` is the default database of every ``DongoCollection`` without
    its own ``database = '...'``; ``connect(None)`` sets none (or takes the one
    in the URI's path). Where to connect, first match wins:

    1. the ``DONGO_URI`` environment variable (overrides everything below);
    2. ``client=``: a ready pymongo-compatible client, used as is;
    3. ``uri=``: ``mongodb://``, ``mongodb+srv://`` or ``memory://``;
    4. ``hosts=[...]`` with ``replica_set=``, or ``host``/``port``.

    ``uuid_representation`` is ``'standard'`` by default; pass
    ``'pythonLegacy'`` to read UUIDs written by dongo 0.4 (pymongo 3).
    Every other keyword is a :class:`pymongo.MongoClient` option and passes
    through (``tls=True``, ``w='majority'``, ``readPreference='secondary'``).

        connect('mydatabase')                                   # localhost:27017
        connect('mydatabase', host='10.0.0.90')
        connect('mydatabase', hosts=['10.0.0.90', '10.0.0.91:27018'], replica_set='a0')
        connect('mydatabase', uri='mongodb+srv://user:pw@cluster0.example.net/')
        connect('mydatabase', uri='memory://')                  # in-process engine
        connect('mydatabase', client=mongomock.MongoClient())   # any pymongo-like client
    """
    env_uri = os.environ.get(ENV_URI)
    if env_uri:
        uri, client, replica_set = env_uri, None, None
    representation = None if uuid_representation is None else _uuid_representation(uuid_representation)

    if client is not None:
        connection = DongoClient(client, database, uuid_representation=representation)
    else:
        if uri is None:
            uri = _host_uri(host, port, hosts)
        if replica_set is not None:
            client_options.setdefault("replicaSet", replica_set)
        if representation is None:
            # connect(uri='...?uuidRepresentation=pythonLegacy') or the same
            # MongoClient keyword: honour it (a keyword would override the URI).
            named = client_options.pop("uuidRepresentation", None) or _uri_option(uri, "uuidRepresentation")
            representation = UuidRepresentation.STANDARD if named is None else _uuid_representation(named)
        client_options["uuidRepresentation"] = _PYMONGO_UUID_OPTION[representation]
        backend = backend_for(uri)
        try:
            opened = backend.open(uri, **client_options)
        except DongoConnectError:
            raise
        except Exception as exc:  # pymongo's ConfigurationError / InvalidURI, say what to do
            raise DongoConnectError(f"cannot connect to {_redact(uri)}: {exc}") from exc
        connection = DongoClient(
            opened,
            database if database is not None else _uri_database(uri),
            uri=uri,
            backend=backend,
            uuid_representation=representation,
        )
    with _state.lock:
        _state.client = connection
        _state.generation += 1
    return connection


def __getattr__(name: str) -> Any:
    """dongo 0.4's module globals ``CLIENT`` and ``DATABASE_NAME``, read from the current connection."""
    if name == "CLIENT":
        return _state.client
    if name == "DATABASE_NAME":
        return None if _state.client is None else _state.client.database_name
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _redact(uri: str) -> str:
    """The URI without its password, for error messages."""
    scheme, _, rest = uri.partition("://")
    if "@" in rest.split("/", 1)[0]:
        creds, _, hostpart = rest.partition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{quote(user, safe='%')}:***@{hostpart}"
    return uri
