"""MongoDB's CRUD spec tests (Unified Test Format) against the memory engine.

One pytest test per applicable spec test, with ids ``file::description``.
Tests that cannot apply to a single MongoDB 7.0 server (see
``unified_runner``) are not generated; their count is printed in the session
summary.  The spec files live beside the checkout in
``../shared/mongodb-specs/crud``; without them the module is skipped.

Set ``DONGO_SPEC_CLIENT=mongomock`` to point the suite at mongomock instead
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
