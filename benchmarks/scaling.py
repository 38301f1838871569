"""Scaling: does a per-operation cost grow with the collection?

Per-operation times of a few workloads at several sizes (1k, 10k, 100k)
are fitted by least squares on a log-log scale.  The slope is the exponent
``b`` in ``time ≈ a · N^b``: 0 is flat (a hash or tree lookup), 1 is a
hidden O(n) (a scan per operation).
"""

from __future__ import annotations

import math

SCALING_WORKLOADS = ("find_one_indexed", "insert_one", "insert_unique")
SCALING_ENGINES = ("floor", "dongo", "mongomock")
FLAT_SLOPE = 0.1   # at most ×1.6 over two decades of N


def loglog_slope(points: list) -> float | None:
    """Least-squares slope of log(time) against log(n).

    >>> round(loglog_slope([(1_000, 1e-6), (100_000, 1e-4)]), 3)
    1.0
    """
    pts = [(math.log(n), math.log(t)) for n, t in points if t and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def scaling_series(cells: list) -> list:
    """``[{workload, engine, points: [[n, s/op]], slope}]`` from cell dicts."""
    series = []
    for workload in SCALING_WORKLOADS:
        for engine in SCALING_ENGINES:
            points = sorted(
                (c["n"], c["median_s_per_op"]) for c in cells
                if c["workload"] == workload and c["engine"] == engine
                and c["status"] == "ok" and c["median_s_per_op"]
            )
            if points:
                series.append({
                    "workload": workload, "engine": engine,
                    "points": [list(p) for p in points],
                    "slope": loglog_slope(points),
                })
    return series
