"""An in-process MongoDB 7.x engine with a pymongo-shaped client.

    >>> from dongo.backends.memory import MemoryClient
    >>> coll = MemoryClient()["shop"]["orders"]
    >>> _ = coll.insert_one({"sku": "a1", "qty": 3})
    >>> coll.count_documents({"qty": {"$gte": 2}})
    1

See ``docs/memory-engine.md`` for how the modules fit together.
"""

from __future__ import annotations

__all__ = ["MemoryClient"]


def __getattr__(name: str):  # lazy, so engine modules import without the client
    if name == "MemoryClient":
        from .client import MemoryClient

        return MemoryClient
    raise AttributeError(name)
