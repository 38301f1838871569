"""Reading and writing data in dongo 0.4's shapes (pythonLegacy UUIDs, _dref references)."""

import uuid

import pytest
from bson.binary import Binary, UuidRepresentation
from bson.codec_options import CodecOptions

import dongo
from dongo import deref

from .models import Tagged

U = uuid.UUID("13bef77b-2a36-4d59-9339-42a5aa098833")
LEGACY = Binary.from_uuid(U, UuidRepresentation.PYTHON_LEGACY)  # subtype 3, pymongo 3 byte order


def raw_tagged(conn):
    """The collection without UUID decoding, to see the stored bytes."""
    options = CodecOptions(uuid_representation=UuidRepresentation.UNSPECIFIED)
    return conn.client.get_database(conn.database_name, codec_options=options)["odm_tagged"]


def reconnect(conn, **options):
    if conn.uri:
        return dongo.connect(conn.database_name, uri=conn.uri, **options)
    return dongo.connect(conn.database_name, client=conn.client, **options)


@pytest.mark.xfail_backend("mongomock", reason="mongomock does not support uuid representations")
def test_python_legacy_uuids_written_by_0_4(conn):
    raw = raw_tagged(conn)
    raw.insert_one({"name": "old", "_uuid": LEGACY})
    reconnect(conn, uuid_representation="pythonLegacy")
    old = Tagged.by_uuid(str(U))
    assert old is not None and old["name"] == "old"
    assert old["_uuid"] == U
    assert deref({"_dref": U, "_coll": "odm_tagged"}) == old
    new = Tagged.new(name="new")
    stored = raw.find_one({"name": "new"})["_uuid"]
    assert isinstance(stored, Binary) and stored.subtype == 3
    assert stored.as_uuid(UuidRepresentation.PYTHON_LEGACY) == new["_uuid"]


@pytest.mark.xfail_backend("mongomock", reason="mongomock does not support uuid representations")
def test_standard_is_the_default(conn):
    reconnect(conn)
    t = Tagged.new(name="new")
    stored = raw_tagged(conn).find_one({"name": "new"})["_uuid"]
    assert isinstance(stored, Binary) and stored.subtype == 4
    assert stored.as_uuid(UuidRepresentation.STANDARD) == t["_uuid"]
