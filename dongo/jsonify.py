"""Turn BSON values into JSON-serialisable Python values.

    >>> import datetime, uuid
    >>> from bson import ObjectId, Decimal128, Int64
    >>> to_jsonable({"_id": ObjectId("6725b84b2401323bfda626e7"),
    ...              "at": datetime.datetime(2000, 2, 1),
    ...              "price": Decimal128("9.99"), "n": Int64(3)})
    {'_id': '6725b84b2401323bfda626e7', 'at': '2000-02-01T00:00:00.000000', 'price': '9.99', 'n': 3}
    >>> to_jsonable(datetime.datetime(2000, 2, 1), datetime_format="%d/%m/%Y")
    '01/02/2000'

Choices, each lossless where JSON allows: ObjectId, UUID, Decimal128 and
Decimal as strings (a float would lose digits); datetimes as ISO 8601 with
microseconds (or ``datetime_format``); Int64 as int; UUID binaries (subtypes
3 and 4) as UUID strings; other binary data as base64 text; regexes as
``/pattern/flags``; DBRef as ``{"$ref", "$id"}`` (and ``"$db"``); Timestamp as
``{"t", "i"}``; MinKey/MaxKey as ``{"$minKey": 1}``/``{"$maxKey": 1}``.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import re
import uuid
from collections.abc import Mapping
from typing import Any, Optional

from bson import ObjectId
from bson.binary import Binary, UuidRepresentation
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.regex import Regex
from bson.timestamp import Timestamp

__all__ = ["to_jsonable"]

_REGEX_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))


def _regex_flags(flags: Any) -> str:
    if isinstance(flags, str):
        return flags
    return "".join(letter for bit, letter in _REGEX_FLAGS if flags & bit)


def _binary(value: bytes) -> Any:
    if isinstance(value, Binary) and value.subtype in (3, 4) and len(value) == 16:
        representation = (
            UuidRepresentation.STANDARD if value.subtype == 4 else UuidRepresentation.PYTHON_LEGACY
        )
        return str(value.as_uuid(representation))
    return base64.b64encode(bytes(value)).decode("ascii")


def to_jsonable(value: Any, datetime_format: Optional[str] = None) -> Any:
    """A copy of ``value`` that :func:`json.dumps` accepts (see the module doc)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Int64):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, datetime_format) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, datetime_format) for v in value]
    if isinstance(value, (ObjectId, uuid.UUID, Decimal128, decimal.Decimal)):
        return str(value)
    if isinstance(value, datetime.datetime):
        if datetime_format:
            return value.strftime(datetime_format)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.strftime(datetime_format) if datetime_format else value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return _binary(value)
    if isinstance(value, (Regex, re.Pattern)):
        return f"/{value.pattern}/{_regex_flags(value.flags)}"
    if isinstance(value, DBRef):
        ref = {"$ref": value.collection, "$id": to_jsonable(value.id, datetime_format)}
        if value.database is not None:
            ref["$db"] = value.database
        return ref
    if isinstance(value, Timestamp):
        return {"t": value.time, "i": value.inc}
    if isinstance(value, MinKey):
        return {"$minKey": 1}
    if isinstance(value, MaxKey):
        return {"$maxKey": 1}
    if isinstance(value, Code):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v, datetime_format) for v in value]
    return str(value)
