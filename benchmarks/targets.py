"""The performance targets, each printed with a pass or miss mark.

They are goals the engine is measured against, never assertions: a miss is
reported (and profiled in docs/benchmarks.md), the run still succeeds.
Ratios vs mongomock and the floor are taken at N = 10,000, the size both
``--quick`` and full runs measure.
"""

from __future__ import annotations

from .scaling import FLAT_SLOPE

TARGET_N = 10_000


def _median(cells, n, workload, engine):
    for c in cells:
        if (c["n"], c["workload"], c["engine"]) == (n, workload, engine):
            return c["median_s_per_op"] if c["status"] == "ok" else None
    return None


def _target(rows, goal, subject, value, passed, shown):
    rows.append({"target": goal, "subject": subject, "value": value,
                 "passed": passed, "shown": shown})


def evaluate(results: dict) -> list:
    """``[{target, subject, value, passed (True/False/None), shown}]``."""
    cells = results["cells"]
    kinds = {w["name"]: w["kind"] for w in results["workloads"]}
    rows: list = []

    def speedup_vs_mongomock(workload, minimum, goal):
        dongo = _median(cells, TARGET_N, workload, "dongo")
        mock = _median(cells, TARGET_N, workload, "mongomock")
        ratio = mock / dongo if dongo and mock else None
        _target(rows, goal, workload, ratio, None if ratio is None else ratio >= minimum,
                "n/a" if ratio is None else f"{ratio:,.1f}x faster")

    def within_floor(workload, maximum, goal):
        dongo = _median(cells, TARGET_N, workload, "dongo")
        floor = _median(cells, TARGET_N, workload, "floor")
        ratio = dongo / floor if dongo and floor else None
        _target(rows, goal, workload, ratio, None if ratio is None else ratio <= maximum,
                "n/a" if ratio is None else f"{ratio:.2f}x the floor")

    for name, kind in kinds.items():
        if kind in ("indexed", "scan", "query"):
            speedup_vs_mongomock(name, 10, "query workloads >= 10x faster than mongomock")
    for name, kind in kinds.items():
        if kind == "indexed":
            speedup_vs_mongomock(name, 300, "indexed find_one >= 300x faster than mongomock")
    for series in results.get("scaling", {}).get("series", []):
        if series["engine"] == "dongo" and series["workload"] == "find_one_indexed":
            slope = series["slope"]
            span = f"{series['points'][0][0]:,}..{series['points'][-1][0]:,}"
            _target(rows, f"indexed find_one flat over N (log-log slope <= {FLAT_SLOPE})",
                    f"find_one_indexed, N={span}", slope,
                    None if slope is None else slope <= FLAT_SLOPE,
                    "n/a" if slope is None else f"slope {slope:+.2f}")
    for name, kind in kinds.items():
        if kind == "insert":
            speedup_vs_mongomock(name, 2, "inserts >= 2x faster than mongomock")
        elif kind == "insert_unique":
            speedup_vs_mongomock(name, 50, "inserts with a unique index >= 50x faster than mongomock")
    for name, kind in kinds.items():
        if kind == "scan":
            within_floor(name, 3, "unindexed scans within 3x of the raw floor")
        elif kind == "indexed":
            within_floor(name, 5, "indexed lookups within 5x of the raw floor")

    odm = results.get("odm") or {}
    odm_cells = odm.get("cells", [])
    odm_n = odm.get("n")
    for w in odm.get("workloads", []):
        name = w["name"]
        odm_t = _median(odm_cells, odm_n, name, "dongo")
        raw_t = _median(odm_cells, odm_n, name, "dongo-raw")
        if name == "instantiate":
            me = _median(odm_cells, odm_n, name, "mongoengine")
            ratio = me / odm_t if me and odm_t else None
            _target(rows, "instantiating documents >= 10x faster than MongoEngine", name, ratio,
                    None if ratio is None else ratio >= 10,
                    "n/a" if ratio is None else f"{ratio:,.1f}x faster")
            continue
        ratio = odm_t / raw_t if odm_t and raw_t else None
        _target(rows, "ODM overhead <= 1.3x the raw collection call", name, ratio,
                None if ratio is None else ratio <= 1.3,
                "n/a" if ratio is None else f"{ratio:.2f}x raw")

    memory = results.get("memory") or {}
    for row in memory.get("engines", []):
        if row["engine"] == "dongo":
            ratio = row.get("ratio")
            _target(rows, "memory per document <= 3x raw Python", "bytes per stored doc", ratio,
                    None if ratio is None else ratio <= 3,
                    "n/a" if ratio is None else
                    f"{row['bytes_per_doc']:,.0f} B vs {memory['raw_bytes_per_doc']:,.0f} B ({ratio:.2f}x)")
    return rows
