"""dongo's benchmark harness (not a test suite; pytest never collects it).

Run it as a script from the repository root::

    python benchmarks/run.py --quick            # about a minute on 2 cores
    python benchmarks/run.py --json out.json --plot out.png

Layout, top to bottom:

- ``dataset.py``   deterministic, seeded documents of a realistic shape
- ``engines.py``   one ``Engine`` adapter per engine (setup, teardown, the
                   operations), including the raw-Python floor
- ``workloads.py`` the engine workloads, each a few lines over an adapter
- ``runner.py``    the interleaved runner: probe, verify against a reference,
                   then ``for run: for workload: for engine`` timings
- ``odm.py``       ODM workloads: dongo's ODM against its raw collection,
                   and MongoEngine on mongomock
- ``scaling.py``   log-log slopes of per-operation cost against N
- ``memory.py``    bytes per stored document (tracemalloc)
- ``targets.py``   the performance targets, each marked pass or miss
- ``report.py``    text tables and the JSON document
- ``plot.py``      the chart (matplotlib, optional ``[bench]`` extra)
"""
