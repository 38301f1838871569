"""Deterministic benchmark documents of a realistic shape.

Every engine gets the same documents, built from one seeded
``random.Random``, so two runs of the harness time exactly the same work
and every engine's answers can be checked against the raw-Python floor.

A stored document looks like a user record::

    {"_id": ObjectId(...), "uid": 17, "username": "u1c0ffee", "email": ...,
     "age": 34, "score": 51234, "status": "active", "category": "c07",
     "tags": ["python", "mongodb"], "profile": {"city": ..., "zip": ...,
     "verified": True}, "stats": {"visits": 12, "logins": 3},
     "created": datetime(2023, 4, 1, 12, 0, 0, 123000)}

Datetimes carry whole milliseconds, as BSON stores them, so a round trip
through any engine gives back the value that went in.
"""

from __future__ import annotations

import datetime as _dt
import random
import struct
from dataclasses import dataclass, field

from bson import ObjectId

STATUSES = ("active", "inactive", "pending", "banned")
STATUS_WEIGHTS = (50, 25, 15, 10)
CATEGORIES = tuple(f"c{i:02d}" for i in range(20))
TAGS = (
    "python", "mongodb", "rust", "go", "java", "sql", "linux", "docker",
    "k8s", "aws", "gcp", "azure", "ml", "ai", "web", "mobile", "ios",
    "android", "games", "music", "books", "travel", "food", "sports",
    "photo", "art", "design", "finance", "health", "science",
)
CITIES = (
    "Oslo", "Lima", "Pune", "Kyiv", "Lagos", "Quito", "Turin", "Porto",
    "Dakar", "Hanoi", "Osaka", "Perth", "Cork", "Graz", "Brno", "Split",
)
EPOCH = _dt.datetime(2020, 1, 1)
FIVE_YEARS_MS = 5 * 365 * 86_400 * 1000

# Sizes of the loop workloads (how many unit operations one run performs).
INSERT_OPS = 1_000
INDEXED_LOOKUPS = 200
UNINDEXED_LOOKUPS = 20


def object_id(i: int) -> ObjectId:
    """A deterministic, ascending ObjectId for document number ``i``."""
    return ObjectId(struct.pack(">I", 1_600_000_000 + i // 64) + i.to_bytes(8, "big"))


def _document(rng: random.Random, uid: int, name_number: int) -> dict:
    username = f"u{name_number:08x}"
    return {
        "uid": uid,
        "username": username,
        "email": f"{username}@example.org",
        "age": rng.randrange(18, 91),
        "score": rng.randrange(100_000),
        "status": rng.choices(STATUSES, STATUS_WEIGHTS)[0],
        "category": rng.choice(CATEGORIES),
        "tags": rng.sample(TAGS, rng.randrange(1, 5)),
        "profile": {
            "city": rng.choice(CITIES),
            "zip": f"{rng.randrange(100_000):05d}",
            "verified": rng.random() < 0.7,
        },
        "stats": {"visits": rng.randrange(1_000), "logins": rng.randrange(100)},
        "created": EPOCH + _dt.timedelta(milliseconds=rng.randrange(FIVE_YEARS_MS)),
    }


@dataclass
class Dataset:
    """``n`` stored documents plus the inputs the workloads draw from.

    >>> ds = Dataset.build(100)
    >>> len(ds.docs), ds.docs[0]["uid"], len(ds.new_docs)
    (100, 0, 1000)
    """

    n: int
    seed: int
    docs: list = field(repr=False)          # with _id, loaded before timing
    new_docs: list = field(repr=False)      # without _id, for insert workloads
    lookup_usernames: list = field(repr=False)  # existing, for indexed find_one
    lookup_uids: list = field(repr=False)       # existing, for unindexed find_one

    @classmethod
    def build(cls, n: int, seed: int = 20261127) -> "Dataset":
        rng = random.Random(seed * 1_000_003 + n)
        # Distinct random numbers make distinct usernames, shared out between
        # the stored documents and the ones the insert workloads add.
        names = rng.sample(range(16**8), n + INSERT_OPS)
        docs = []
        for i in range(n):
            doc = {"_id": object_id(i)}
            doc.update(_document(rng, i, names[i]))
            docs.append(doc)
        new_docs = [_document(rng, n + j, names[n + j]) for j in range(INSERT_OPS)]
        lookups = [docs[rng.randrange(n)]["username"] for _ in range(INDEXED_LOOKUPS)]
        # Unindexed lookups are spread evenly so a scan that stops at the
        # first match reads half the collection on average.
        step = n / UNINDEXED_LOOKUPS
        uids = [int(step * (j + 0.5)) for j in range(UNINDEXED_LOOKUPS)]
        rng.shuffle(uids)
        return cls(n, seed, docs, new_docs, lookups, uids)
