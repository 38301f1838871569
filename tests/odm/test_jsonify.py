"""JSON-serialisable output of BSON values (backend-independent)."""

import datetime
import decimal
import json
import re
import uuid

from bson import ObjectId
from bson.binary import Binary, UuidRepresentation
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.regex import Regex
from bson.timestamp import Timestamp

from dongo.jsonify import to_jsonable

U = uuid.UUID("13bef77b-2a36-4d59-9339-42a5aa098833")


def test_every_bson_type_becomes_json():
    value = {
        "oid": ObjectId("6725b84b2401323bfda626e7"),
        "uuid": U,
        "std": Binary.from_uuid(U, UuidRepresentation.STANDARD),
        "legacy": Binary.from_uuid(U, UuidRepresentation.PYTHON_LEGACY),
        "bin": Binary(b"\x00\x01", 0),
        "bytes": b"hi",
        "dt": datetime.datetime(2000, 2, 1, 3, 4, 5, 6000),
        "date": datetime.date(2000, 2, 1),
        "dec": Decimal128("1.10"),
        "pydec": decimal.Decimal("2.5"),
        "i64": Int64(7),
        "re": Regex("^a", "i"),
        "pyre": re.compile("b$", re.M),
        "ref": DBRef("coll", ObjectId("6725b84b2401323bfda626e7"), "db"),
        "ts": Timestamp(5, 1),
        "min": MinKey(),
        "max": MaxKey(),
        "nested": [{"x": (1, 2.5, None, True)}],
    }
    assert to_jsonable(value) == {
        "oid": "6725b84b2401323bfda626e7",
        "uuid": str(U),
        "std": str(U),
        "legacy": str(U),
        "bin": "AAE=",
        "bytes": "aGk=",
        "dt": "2000-02-01T03:04:05.006000",
        "date": "2000-02-01",
        "dec": "1.10",
        "pydec": "2.5",
        "i64": 7,
        "re": "/^a/i",
        "pyre": "/b$/m",
        "ref": {"$ref": "coll", "$id": "6725b84b2401323bfda626e7", "$db": "db"},
        "ts": {"t": 5, "i": 1},
        "min": {"$minKey": 1},
        "max": {"$maxKey": 1},
        "nested": [{"x": [1, 2.5, None, True]}],
    }
    json.dumps(to_jsonable(value))
    assert type(to_jsonable(Int64(7))) is int


def test_datetime_format():
    assert to_jsonable({"d": datetime.datetime(2000, 2, 1)}, "%d/%m/%Y") == {"d": "01/02/2000"}
