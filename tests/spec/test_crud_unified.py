"""MongoDB's CRUD spec tests (Unified Test Format) against the memory engine.

One pytest test per applicable spec test, with ids ``file::description``.
Tests that cannot apply to a single MongoDB 7.0 server (see
``unified_runner``) are not generated; their count is printed in the session
summary.  The spec files live beside the checkout in
``../shared/mongodb-specs/crud``; without them the module is skipped.

Two more runs join the first:

* the 8.0-only tests of the MongoDB 8.0 behaviour the engine emulates with
  ``MemoryClient(server_version="8.0")`` (``unified_runner.EMULATED_8_0_FEATURES``);
* every test applicable to a real server when ``DONGO_TEST_MONGODB_URI`` is
  set, classified for that server's version, so the same expectations are
  checked against MongoDB itself.

Set ``DONGO_SPEC_CLIENT=mongomock`` to point the main run at mongomock instead
(only useful to debug the runner: mongomock fails many of these tests).
"""

from __future__ import annotations

import os

import pytest

import unified_runner as ur

SPEC_DIR = ur.DEFAULT_SPEC_DIR
if not SPEC_DIR.is_dir():
    pytest.skip(f"MongoDB spec files not found at {SPEC_DIR}", allow_module_level=True)

CLIENT_NAME = os.environ.get("DONGO_SPEC_CLIENT", "memory")
CASES = ur.load_cases(SPEC_DIR)
ur.SESSION.register(CASES, CLIENT_NAME)


def _param(case: ur.SpecCase):
    entry = case.unsupported_entry()
    marks = []
    if entry is not None:
        marks.append(pytest.mark.xfail(strict=True, raises=NotImplementedError,
                                       reason=f"{entry.feature}: {entry.reason}"))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c.applicable])
def test_crud_unified(case: ur.SpecCase) -> None:
    # The memory engine promises pymongo's own result and exception classes.
    ur.run_case(case, ur.make_client(CLIENT_NAME), pymongo_types=CLIENT_NAME == "memory")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ur.emulated_8_0_cases(SPEC_DIR)])
def test_crud_unified_emulating_8_0(case: ur.SpecCase) -> None:
    ur.run_case(case, ur.make_client("memory-8.0"), pymongo_types=True)


def _real_server_cases() -> list:
    if not os.environ.get("DONGO_TEST_MONGODB_URI"):
        return []
    factory = ur.make_client("mongodb")
    client = factory()
    try:
        version = ur.server_version_of(client)
    finally:
        client.close()
    return [pytest.param(c, id=c.id) for c in ur.load_cases(SPEC_DIR, version) if c.applicable]


@pytest.mark.skipif(not os.environ.get("DONGO_TEST_MONGODB_URI"),
                    reason="no real MongoDB: set DONGO_TEST_MONGODB_URI")
@pytest.mark.parametrize("case", _real_server_cases())
def test_crud_unified_on_real_server(case: ur.SpecCase) -> None:
    ur.run_case(case, ur.make_client("mongodb"))
