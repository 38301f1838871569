"""Profile one workload on one engine: where does its time go?

    python benchmarks/hotspots.py in_count                 # dongo, N = 10,000
    python benchmarks/hotspots.py first --odm --repeat 20  # an ODM workload
    python benchmarks/hotspots.py aggregate --engine mongomock --sort cumulative

Loads the same collections ``run.py`` uses, runs the workload ``--repeat``
times under cProfile (its prepare and undo steps are not profiled) and prints the
functions that dominate.  The findings for missed targets are written up in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import odm  # noqa: E402
from benchmarks.dataset import Dataset  # noqa: E402
from benchmarks.engines import all_engines  # noqa: E402
from benchmarks.workloads import BY_NAME, setup_collections  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload")
    parser.add_argument("--engine", default="dongo", help="engine (or ODM stack with --odm)")
    parser.add_argument("--odm", action="store_true", help="an ODM workload")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    args = parser.parse_args(argv)

    if args.odm:
        workloads = {w.name: w for w in odm.ODM_WORKLOADS}
        candidates, setup = odm.all_stacks(), odm.setup_odm
    else:
        workloads, candidates, setup = BY_NAME, all_engines(), setup_collections
    workload = workloads[args.workload]
    engine = next(e for e in candidates if e.name == args.engine)
    if not engine.available:
        print(f"{engine.name}: {engine.reason}")
        return 1
    ds = Dataset.build(args.n)
    engine.open()
    try:
        handle = setup(engine, ds)[workload.collection]
        gc.freeze()   # as run.py does: the loaded data is not the collector's business
        profiler = cProfile.Profile()
        for _ in range(args.repeat):
            state = workload.prepare(engine, handle, ds, workload.ops) if workload.prepare else None
            profiler.enable()
            result = workload.run(engine, handle, ds, workload.ops, state)
            profiler.disable()
            if workload.undo:
                workload.undo(engine, handle, ds, workload.ops, state, result)
    finally:
        engine.close()
    print(f"{workload.name} on {engine.name}, N = {args.n:,}, {args.repeat} runs of "
          f"{workload.ops} {workload.unit}(s)")
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
