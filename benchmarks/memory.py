"""Memory: bytes each engine keeps per stored document (tracemalloc).

The documents an engine receives are allocated while tracing, and dropped
after the load, so whatever the engine keeps — its own copies, raw BSON,
index entries, or the caller's objects it held on to — is counted.  The
raw-Python size is the same documents as plain dicts and lists, built the
same way (``bson.decode`` of each, so nothing is shared with other data).
"""

from __future__ import annotations

import gc
import tracemalloc

import bson


def _fresh_copies(docs: list) -> list:
    return [bson.decode(bson.encode(d)) for d in docs]


def _traced(fn) -> int:
    """Bytes still allocated, while what ``fn()`` returned is alive."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        kept = fn()
        gc.collect()
        size = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del kept
    return size


def raw_bytes(docs: list) -> int:
    return _traced(lambda: _fresh_copies(docs))


def engine_bytes(engine, docs: list) -> int:
    """Bytes an engine keeps after loading ``docs`` into a new collection."""
    engine.open()
    try:
        def load():
            handle = engine.create("memory")
            inputs = _fresh_copies(docs)
            engine.insert_many(handle, inputs)
            del inputs
            return handle
        return _traced(load)
    finally:
        engine.close()


def measure_memory(engines: list, ds, log) -> dict:
    """``{n, raw_bytes_per_doc, engines: [{engine, bytes_per_doc, ratio}]}``."""
    n = len(ds.docs)
    raw = raw_bytes(ds.docs) / n
    rows = []
    for engine in engines:
        if not engine.available:
            continue
        try:
            per_doc = engine_bytes(engine, ds.docs) / n
        except Exception as exc:
            rows.append({"engine": engine.name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        rows.append({"engine": engine.name, "bytes_per_doc": per_doc, "ratio": per_doc / raw})
        log(f"  memory {engine.name:<10} {per_doc:8.0f} B/doc ({per_doc / raw:.2f}x raw)")
    return {"n": n, "raw_bytes_per_doc": raw, "engines": rows}
