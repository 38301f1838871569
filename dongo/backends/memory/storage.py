"""Record storage of one collection: documents in natural order, BSON bytes, indexes.

A :class:`Namespace` is what a server keeps for one collection: records keyed
by an increasing *record id* (so a Python ``dict`` keeps them in natural,
insertion order; an update keeps its record id and therefore its place), each
record being a ``doc`` and its ``raw`` bytes, in two dicts with the same keys
(``records``: rid → doc, ``raws``: rid → raw; not one dict of ``(doc, raw)``
tuples, which would add a garbage-collected object per document):

* ``raw`` -- the document's BSON bytes, exactly what a client sent (validated
  and size-checked by ``bson.encode``);
* ``doc`` -- ``bson.decode(raw)`` with :data:`STORE_OPTIONS`, the stored form
  the query engine reads.  It is never handed to a caller: reads decode
  ``raw`` again (a C-speed deep copy).

It also owns the collection's indexes and the collection lock.  The surface
(``collection.py``) holds :attr:`Namespace.lock` around each single-document
write together with its index maintenance, so unique indexes hold under
concurrent writers.

    >>> ns = Namespace("db", "c")
    >>> raw = encode_document({"_id": 1, "x": 2})
    >>> rid = ns.insert(decode_stored(raw), raw)
    >>> ns.get(rid)[0]
    {'_id': 1, 'x': 2}
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Optional

import bson
from bson.codec_options import DEFAULT_CODEC_OPTIONS, CodecOptions
from bson.raw_bson import RawBSONDocument


# The form documents are kept in for matching: plain dicts, naive UTC
# datetimes (what the server compares), binary subtype 4 kept as Binary unless
# the client chose a UUID representation (see Namespace.store_options).
STORE_OPTIONS = CodecOptions(document_class=dict, tz_aware=False)

# A server refuses documents larger than this (``maxBsonObjectSize``).
MAX_BSON_SIZE = 16 * 1024 * 1024

Record = tuple  # (doc: dict, raw: bytes), as Namespace.get returns a record


def encode_document(doc: Any, codec_options: CodecOptions = DEFAULT_CODEC_OPTIONS) -> bytes:
    """``doc`` as BSON bytes, validated like pymongo validates an insert.

    Raises ``bson.errors.InvalidDocument`` for unencodable values and
    ``pymongo.errors.DocumentTooLarge`` above 16 MiB, as pymongo does before a
    document ever reaches a server.
    """
    if isinstance(doc, RawBSONDocument):
        raw = doc.raw
    else:
        raw = bson.encode(doc, False, codec_options)
    if len(raw) > MAX_BSON_SIZE:
        from pymongo.errors import DocumentTooLarge

        raise DocumentTooLarge(
            f"BSON document too large ({len(raw)} bytes) - the connected server "
            f"supports BSON document sizes up to {MAX_BSON_SIZE} bytes."
        )
    return raw


# ``bson.decode`` minus its argument checks (our codec options are always a
# CodecOptions): the C decoder itself, called once per document read.
decode_raw = getattr(bson, "_bson_to_dict", bson.decode)


def decode_stored(raw: bytes, options: CodecOptions = STORE_OPTIONS) -> dict:
    """The stored (matching) form of ``raw``."""
    return bson.decode(raw, options)


class Namespace:
    """One collection's records, indexes, options and lock."""

    def __init__(self, db_name: str, name: str, *, options: Optional[dict] = None,
                 store_options: CodecOptions = STORE_OPTIONS) -> None:
        self.db_name = db_name
        self.name = name
        self.options: dict = dict(options or {})
        self.store_options = store_options
        self.uuid = bson.Binary.from_uuid(uuid.uuid4())  # the collection's UUID
        self.records: dict[int, dict] = {}  # rid → stored doc, in natural order
        self.raws: dict[int, bytes] = {}  # rid → BSON bytes (the same keys)
        # A view: (source collection name, pipeline); it never holds records.
        self.view: Optional[tuple] = None
        self._next_rid = 1
        self.lock = threading.RLock()
        self.indexes = self._make_indexes()

    @property
    def full_name(self) -> str:
        return f"{self.db_name}.{self.name}"

    def _make_indexes(self) -> Any:
        from .indexes import IndexSet

        return IndexSet(self)

    # -- record access -------------------------------------------------------

    def __len__(self) -> int:
        return len(self.records)

    def get(self, rid: int) -> Optional[Record]:
        """The record ``rid`` as ``(doc, raw)``, or None when it has been deleted since."""
        with self.lock:  # the two dicts change together under the lock
            doc = self.records.get(rid)
            return None if doc is None else (doc, self.raws[rid])

    # -- planning and index management (delegated to the index set) -----------

    def plan(self, filter_spec: dict, sort: Any = None, hint: Any = None, *,
             collation: Any = None, limit: Optional[int] = None) -> Any:
        """A query plan (see ``planner.py``): ``.candidates()`` (lazy: iterate it
        while holding :attr:`lock`), ``.record_ids`` (the candidates as a list;
        materialise it under the lock), ``.provides_sort``, ``.explain()``."""
        return self.indexes.plan(filter_spec, sort, hint, collation=collation, limit=limit)

    def create_indexes(self, specs: list) -> None:
        self.indexes.create_indexes(specs)

    def drop_index(self, name: str) -> None:
        """Drop index ``name`` (``"*"``: all but ``_id_``)."""
        self.indexes.drop_index(name)

    def index_documents(self) -> list:
        """``listIndexes`` documents (``{v, key, name, ...}``)."""
        return self.indexes.index_documents()

    # -- writes (callers hold self.lock) ----------------------------------------

    def insert(self, doc: dict, raw: bytes) -> int:
        """Store a new record; index checks happen before anything changes."""
        with self.lock:
            rid = self._next_rid
            self.indexes.add(rid, doc)
            self._next_rid = rid + 1
            self.records[rid] = doc
            self.raws[rid] = raw
            return rid

    def replace(self, rid: int, doc: dict, raw: bytes) -> None:
        """Replace record ``rid`` in place (it keeps its natural position)."""
        with self.lock:
            old = self.records[rid]
            self.indexes.replace(rid, old, doc)
            self.records[rid] = doc
            self.raws[rid] = raw

    def delete(self, rid: int) -> bool:
        """Remove record ``rid``; False when it was already gone."""
        with self.lock:
            doc = self.records.get(rid)
            if doc is None:
                return False
            self.indexes.remove(rid, doc)
            del self.records[rid]
            del self.raws[rid]
            return True
