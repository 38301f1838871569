"""Shared fixtures: ONE ODM suite, parametrised over backends (like tinydb's storages).

``conn`` connects dongo to a fresh database on each backend and drops it after:

* ``memory``   — the in-process engine (``memory://``);
* ``mongomock``— the pymongo backend on a ``mongomock.MongoClient`` (a
  pymongo-compatible client handed to ``connect(client=...)``);
* ``mongodb``  — a real server, only when ``DONGO_TEST_MONGODB_URI`` is set.

Tests mark behaviours mongomock gets wrong with
``@pytest.mark.xfail_backend("mongomock", reason=...)`` (strict: if mongomock
gets fixed the mark must go).
"""

from __future__ import annotations

import os
import uuid

import pytest

BACKENDS = ["memory", "mongomock"]
if os.environ.get("DONGO_TEST_MONGODB_URI"):
    BACKENDS.append("mongodb")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "xfail_backend(name, reason): expected failure on one backend (strict)"
    )


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    """The backend name; applies the test's xfail_backend marks for it."""
    name = request.param
    monkeypatch.delenv("DONGO_URI", raising=False)
    for mark in request.node.iter_markers("xfail_backend"):
        if mark.args[0] == name:
            request.applymarker(pytest.mark.xfail(reason=mark.kwargs["reason"], strict=True))
    return name


@pytest.fixture
def conn(backend):
    """A dongo connection to a fresh, uniquely named database; dropped afterwards."""
    import dongo

    database = f"dongo_test_{uuid.uuid4().hex[:12]}"
    if backend == "memory":
        client = dongo.connect(database, uri="memory://")
    elif backend == "mongomock":
        import mongomock

        client = dongo.connect(database, client=mongomock.MongoClient())
    else:
        client = dongo.connect(
            database, uri=os.environ["DONGO_TEST_MONGODB_URI"], serverSelectionTimeoutMS=5000
        )
    yield client
    try:
        client.drop_database(database)
    finally:
        dongo.disconnect()


@pytest.fixture
def memory_ready(monkeypatch):
    """For tests that run on the memory engine only: clears ``DONGO_URI``."""
    monkeypatch.delenv("DONGO_URI", raising=False)
