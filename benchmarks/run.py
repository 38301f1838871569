"""Benchmark dongo's memory engine and ODM against what users would pick instead.

    python benchmarks/run.py --quick                      # ~1 minute, N = 10,000
    python benchmarks/run.py --json out.json --plot out.png   # full: N = 10k and 100k

Everything runs in one process: for each size every engine holds the same
documents, and each run goes ``for workload: for engine`` so machine noise
is shared fairly.  Prints the tables, the targets with pass/miss marks, and
optionally writes the results (``--json``) and a chart (``--plot``).
``--from-json`` redraws the report and chart from saved results.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __package__ in (None, ""):
    # Run as a script: import the harness, and dongo, from this source tree.
    sys.path.insert(0, _ROOT)

from benchmarks import memory, odm, plot, report, scaling, targets  # noqa: E402
from benchmarks.dataset import Dataset  # noqa: E402
from benchmarks.engines import all_engines  # noqa: E402
from benchmarks.runner import Suite  # noqa: E402
from benchmarks.workloads import WORKLOADS, setup_collections  # noqa: E402

ODM_N = 10_000
MEMORY_N = {"quick": 2_000, "full": 10_000}   # bytes per document hardly depend on N


_T0 = time.perf_counter()


def log(text: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {text}", file=sys.stderr, flush=True)


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=_ROOT,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _loadavg():
    """The 1-minute load average: how busy the (shared) machine was."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _describe(items) -> list:
    return [{"name": x.name, "label": x.label, "available": x.available,
             "version": x.version, "reason": x.reason} for x in items]


def _workload_info(workloads) -> list:
    return [{"name": w.name, "label": w.label, "kind": w.kind, "unit": w.unit, "ops": w.ops}
            for w in workloads]


def _suite(engines, workloads, setup, ds, args) -> list:
    cells = Suite(engines, workloads, setup, ds, runs=args.runs, budget=args.budget,
                  timeout=args.timeout, log=log).run()
    return [cell.as_json() for cell in cells.values()]


def run_all(args) -> dict:
    engines = [e for e in all_engines() if not args.engines or e.name in args.engines]
    results = {
        "meta": {
            "mode": "quick" if args.quick else "full",
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "runs": args.runs, "budget_s": args.budget,
            "timeout_s": args.timeout, "loadavg_start": _loadavg(),
            "sizes": args.sizes, "git_commit": _git_commit(),
        },
        "engines": _describe(engines),
        "workloads": _workload_info(WORKLOADS),
        "cells": [],
    }
    datasets = {}
    for n in args.sizes:
        log(f"engine workloads, N = {n:,}")
        datasets[n] = ds = Dataset.build(n)
        results["cells"] += _suite(engines, list(WORKLOADS), setup_collections, ds, args)

    if "scaling" not in args.skip:
        extra = [n for n in args.scaling_sizes if n not in args.sizes]
        few_engines = [e for e in engines if e.name in scaling.SCALING_ENGINES]
        few_workloads = [w for w in WORKLOADS if w.name in scaling.SCALING_WORKLOADS]
        cells = list(results["cells"])
        for n in extra:
            log(f"scaling, N = {n:,}")
            cells += _suite(few_engines, few_workloads, setup_collections, Dataset.build(n), args)
        results["scaling"] = {"sizes": sorted(set(args.sizes) | set(extra)),
                              "series": scaling.scaling_series(cells)}

    if "odm" not in args.skip:
        log(f"ODM workloads, N = {ODM_N:,}")
        stacks = odm.all_stacks()
        ds = datasets.get(ODM_N) or Dataset.build(ODM_N)
        results["odm"] = {
            "n": ODM_N, "stacks": _describe(stacks),
            "workloads": _workload_info(odm.ODM_WORKLOADS),
            "cells": _suite(stacks, list(odm.ODM_WORKLOADS), odm.setup_odm, ds, args),
        }

    if "memory" not in args.skip:
        n = MEMORY_N[results["meta"]["mode"]]
        log(f"memory, N = {n:,}")
        ds = datasets.get(n) or Dataset.build(n)
        results["memory"] = memory.measure_memory(engines, ds, log)

    results["targets"] = targets.evaluate(results)
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="N = 10,000 only, 3 runs, small time budget (about a minute)")
    parser.add_argument("--json", metavar="PATH", help="write the results document here")
    parser.add_argument("--plot", metavar="PATH.png", help="draw the chart here (needs matplotlib)")
    parser.add_argument("--markdown", metavar="PATH.md", help="also write markdown tables here")
    parser.add_argument("--from-json", metavar="PATH", help="report (and plot) saved results; run nothing")
    parser.add_argument("--runs", type=int, help="timed runs per cell (default 3 quick, 5 full)")
    parser.add_argument("--sizes", help="comma-separated N values (default 10000 quick, 10000,100000 full)")
    parser.add_argument("--budget", type=float,
                        help="seconds one engine may spend on one workload's timed runs "
                             "(default 0.5 quick, 2 full); slow engines run fewer operations")
    parser.add_argument("--timeout", type=float,
                        help="seconds after which one verification run is abandoned and "
                             "reported as a timeout (default 20 quick, 60 full)")
    parser.add_argument("--engines", help="comma-separated engine names (default: all installed)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: scaling,odm,memory")
    args = parser.parse_args(argv)
    args.runs = args.runs or (3 if args.quick else 5)
    args.budget = args.budget or (0.5 if args.quick else 2.0)
    args.timeout = args.timeout or (20.0 if args.quick else 60.0)
    if args.sizes:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    else:
        args.sizes = [10_000] if args.quick else [10_000, 100_000]
    args.scaling_sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    args.engines = set(args.engines.split(",")) if args.engines else None
    if args.engines:
        args.engines.add("floor")   # the reference every answer is checked against
    args.skip = set(filter(None, args.skip.split(",")))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    if args.from_json:
        with open(args.from_json) as fh:
            results = json.load(fh)
    else:
        results = run_all(args)
        results["meta"]["elapsed_s"] = round(time.perf_counter() - start, 1)
        results["meta"]["loadavg_end"] = _loadavg()
    print(report.full_report(results))
    if "elapsed_s" in results["meta"]:
        print(f"\n(finished in {results['meta']['elapsed_s']}s)")
    if args.json and not args.from_json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=str)
            fh.write("\n")
        log(f"results written to {args.json}")
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(report.markdown_summary(results) + "\n")
        log(f"markdown written to {args.markdown}")
    if args.plot:
        try:
            plot.draw(results, args.plot)
        except plot.PlotUnavailable as exc:
            log(f"error: {exc}")
            return 2
        log(f"chart written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
