"""Session summary for the CRUD unified spec suite (see test_crud_unified.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# The spec modules import each other by plain name; make that work however
# pytest was started (``pytest``, ``python -m pytest``, from any directory).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import unified_runner as ur  # noqa: E402

_MODULE = "test_crud_unified.py::"
_MAIN = _MODULE + "test_crud_unified["
_EXTRA_RUNS = {
    _MODULE + "test_crud_unified_emulating_8_0[": "MemoryClient(server_version='8.0'), the 8.0 behaviour it emulates",
    _MODULE + "test_crud_unified_on_real_server[": "the real server at DONGO_TEST_MONGODB_URI",
}


def _counts(stats: dict, prefix: str) -> dict[str, int]:
    """passed / failed / xfailed of the tests whose node id contains ``prefix``."""
    counts = {"passed": 0, "failed": 0, "xfailed": 0}
    for key in ("passed", "failed", "xfailed", "xpassed", "error"):
        for report in stats.get(key, []):
            nodeid = getattr(report, "nodeid", "")
            if prefix not in nodeid or getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if key == "passed" and report.when == "call":
                counts["passed"] += 1
            elif key == "xfailed":
                counts["xfailed"] += 1
            elif key in ("failed", "xpassed", "error"):
                counts["failed"] += 1
    return counts


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print ``crud unified spec: applicable=N passed=P ...`` when the suite ran."""
    if not ur.SESSION.cases:
        return
    counts = _counts(terminalreporter.stats, _MAIN)
    ran = sum(counts.values())
    if ran == 0:
        return
    summary = ur.SESSION.summary()
    beyond = ur.SESSION.beyond_7_passing()
    terminalreporter.write_sep("-", "MongoDB CRUD unified spec")
    terminalreporter.write_line(
        f"crud unified spec: applicable={summary['applicable']} passed={counts['passed']}"
        f" failed={counts['failed']} unsupported={counts['xfailed']}"
        f" not-applicable={summary['not_applicable']} (>7.x passing anyway: {beyond})")
    notes = [f"client: {ur.SESSION.client_name}"]
    if ran != summary["applicable"]:
        notes.append(f"only {ran} of the applicable tests were selected")
    notes.append(f"expectEvents assertions ignored in {summary['events_ignored']} applicable tests"
                 " (an in-process engine emits no command-monitoring events)")
    terminalreporter.write_line("  " + "; ".join(notes))
    for prefix, what in _EXTRA_RUNS.items():
        extra = _counts(terminalreporter.stats, prefix)
        if sum(extra.values()):
            terminalreporter.write_line(
                f"  on {what}: passed={extra['passed']} failed={extra['failed']}"
                f" unsupported={extra['xfailed']}")
