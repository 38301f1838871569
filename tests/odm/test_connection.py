"""connect(), DongoClient, the backend registry and DONGO_URI (backend-independent)."""

import mongomock
import pymongo
import pytest
from bson.binary import UuidRepresentation

import dongo
from dongo import DongoClient, DongoConnectError, connect
from dongo.backends import Backend, EmbeddedBackend, PymongoBackend, register_backend, unregister_backend
from dongo.backends.base import backend_for, uri_scheme

from .models import Person


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.delenv("DONGO_URI", raising=False)
    yield
    dongo.disconnect()


class FakeBackend:
    """A backend recording what it was asked, serving a never-connecting pymongo client."""

    opened = []
    client = None

    def open(self, uri, **options):
        FakeBackend.opened.append((uri, options))
        opts = {k: v for k, v in options.items() if k == "uuidRepresentation"}
        FakeBackend.client = pymongo.MongoClient("mongodb://localhost/", connect=False, **opts)
        return FakeBackend.client

    def close(self):
        pass


@pytest.fixture
def fake():
    FakeBackend.opened.clear()
    register_backend("fake", FakeBackend)
    yield FakeBackend
    unregister_backend("fake")


def test_backends_satisfy_the_protocol():
    assert isinstance(PymongoBackend(), Backend)
    assert isinstance(EmbeddedBackend(), Backend)
    assert isinstance(backend_for("mongodb://h"), PymongoBackend)
    assert isinstance(backend_for("mongodb+srv://h"), PymongoBackend)
    assert isinstance(backend_for("MEMORY://"), EmbeddedBackend)


def test_unknown_scheme_and_no_scheme():
    with pytest.raises(DongoConnectError, match="no dongo backend for redis://"):
        connect("db", uri="redis://localhost")
    with pytest.raises(DongoConnectError, match="scheme"):
        uri_scheme("localhost:27017")


def test_uri_selects_backend_and_passes_options(fake):
    client = connect("shop", uri="fake://somewhere", w="majority")
    assert isinstance(client, DongoClient)
    assert fake.opened == [("fake://somewhere", {"w": "majority", "uuidRepresentation": "standard"})]
    assert client.database_name == "shop"
    assert client.client is fake.client
    assert dongo.get_client() is client


def test_database_from_uri_path(fake):
    assert connect(None, uri="fake://h:1/fromuri?x=1").database_name == "fromuri"
    assert connect("explicit", uri="fake://h/fromuri").database_name == "explicit"
    assert connect(None, uri="fake://h").database_name is None


def test_dongo_uri_overrides_everything(fake, monkeypatch):
    monkeypatch.setenv("DONGO_URI", "fake://override")
    other = mongomock.MongoClient()
    client = connect("appdb", host="10.0.0.1", replica_set="rs0", client=other)
    assert client.client is fake.client
    assert fake.opened == [("fake://override", {"uuidRepresentation": "standard"})]
    assert client.database_name == "appdb"


def test_host_port_hosts_replica_set_build_pymongo_clients():
    single = connect("db", host="db.example", port=27018, connect=False)
    assert isinstance(single.client, pymongo.MongoClient)
    assert single.uri == "mongodb://db.example:27018/"
    assert single.client.topology_description.server_descriptions().keys() == {("db.example", 27018)}
    single.close()
    rs = connect("db", hosts=["10.0.0.100", "10.0.0.101:27018"], replica_set="rs0", connect=False)
    assert rs.client.options.replica_set_name == "rs0"
    assert set(rs.client.topology_description.server_descriptions()) == {
        ("10.0.0.100", 27017),
        ("10.0.0.101", 27018),
    }
    rs.close()


def test_uuid_representation_default_and_legacy():
    std = connect("db", uri="mongodb://localhost/", connect=False)
    assert std.client.codec_options.uuid_representation == UuidRepresentation.STANDARD
    std.close()
    legacy = connect("db", uri="mongodb://localhost/", connect=False, uuid_representation="pythonLegacy")
    assert legacy.client.codec_options.uuid_representation == UuidRepresentation.PYTHON_LEGACY
    assert legacy["db"].codec_options.uuid_representation == UuidRepresentation.PYTHON_LEGACY
    legacy.close()
    with pytest.raises(DongoConnectError, match="pythonLegacy"):
        connect("db", uri="mongodb://localhost/", uuid_representation="weird")


def test_uuid_representation_applied_to_a_given_client():
    given = pymongo.MongoClient("mongodb://localhost/", connect=False)
    client = connect("db", client=given, uuid_representation="pythonLegacy")
    assert client.get_database().codec_options.uuid_representation == UuidRepresentation.PYTHON_LEGACY
    untouched = connect("db", client=given)
    assert untouched.get_database().codec_options == given.codec_options
    given.close()


def test_bad_uri_is_a_connect_error():
    with pytest.raises(DongoConnectError, match="cannot connect to mongodb://u:\\*\\*\\*@"):
        connect("db", uri="mongodb://u:secret@host:notaport/")


def test_not_connected():
    dongo.disconnect()
    with pytest.raises(DongoConnectError, match="call dongo.connect"):
        dongo.get_client()
    with pytest.raises(DongoConnectError, match="connect"):
        Person.filter().first()


def test_client_delegates_and_repr():
    client = connect("db", client=mongomock.MongoClient())
    assert client.list_database_names() == []
    assert repr(client) == "DongoClient('MongoClient', database='db')"
    assert client["other"].name == "other"


def test_memory_connections_share_one_server_and_dongo_uri_switches_to_it(memory_ready, monkeypatch):
    from dongo.backends.memory import MemoryClient

    first = connect("shared_db", uri="memory://")
    assert isinstance(first.client, MemoryClient)
    first["shared_db"]["things"].insert_one({"_id": 1})
    monkeypatch.setenv("DONGO_URI", "memory://")
    second = connect("shared_db", host="10.0.0.1", replica_set="rs0")
    assert second.client is first.client
    assert second.get_database()["things"].find_one() == {"_id": 1}
    second.drop_database()


def test_resolved_collection_follows_connect_and_the_class_names():
    class Cached(dongo.DongoCollection):
        collection = "cached_first"

    first = connect("cache_db_one", uri="memory://")
    resolved = Cached.get_collection()
    assert Cached.get_collection() is resolved  # cached, not looked up again
    assert (resolved.database.name, resolved.name) == ("cache_db_one", "cached_first")

    Cached.collection = "cached_second"  # renamed: resolved again
    assert Cached.get_collection().name == "cached_second"
    Cached.database = "cache_db_other"
    assert Cached.get_collection().database.name == "cache_db_other"

    second = connect("cache_db_two", uri="memory://")  # a new connection: resolved through it
    assert second is not first
    assert Cached.get_collection().database.client is second.client
    dongo.disconnect()
    with pytest.raises(DongoConnectError):
        Cached.get_collection()
