"""The interleaved runner: probe, verify, then time.

For one dataset it holds every engine's collections in memory at once and

1. **verifies**: runs each workload once on every engine (workload by
   workload, the reference engine first) and compares the answer with the
   reference's; a mismatch or an unsupported operation is reported and that
   cell is never timed.  For a loop workload a slow engine first runs one
   unit operation as a probe, and then runs only as many as fit the time
   budget (``k``); times are per unit operation, so that stays comparable.
2. **times**: ``for run in runs: for workload: for engine`` — interleaved,
   so drift in machine load (two shared cores) spreads over every engine
   instead of landing on one.  A cell whose single run already costs more
   than the budget keeps fewer runs (at least the verification run); a
   cheap cell gets up to ``EXTRA_RUNS`` times as many, for a steadier median.

A verification run that exceeds ``timeout`` seconds is interrupted (a
timer signal, where the platform has one) and reported as a timeout; if the
workload writes, the engine's collections are in an unknown state and its
remaining workloads at that size are skipped.

Timing is ``time.perf_counter`` around the workload's ``run`` only; the
reported figure is the median over runs of seconds per unit operation.  The
loaded data is moved out of the garbage collector's reach (``gc.freeze``),
so one engine's stored documents do not slow another engine's collections;
each engine still pays for the garbage its own operations create.
"""

from __future__ import annotations

import gc
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .engines import is_unsupported

READ_ONLY_KINDS = ("indexed", "scan", "query", "odm")
EXTRA_RUNS = 3


class RunTimeout(BaseException):
    """Raised by the timer inside an engine that ran past the timeout.

    A ``BaseException``, like ``KeyboardInterrupt``, so an engine's own
    ``except Exception`` cannot swallow it."""


class _Deadline:
    """``with _Deadline(seconds):`` raises :class:`RunTimeout` when exceeded."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds if seconds and hasattr(signal, "setitimer") else None

    def _fire(self, signum, frame):
        raise RunTimeout()

    def __enter__(self):
        if self.seconds:
            self._old = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)
        return False


@dataclass
class Cell:
    """One workload on one engine at one size."""

    workload: str
    engine: str
    n: int
    status: str = "pending"   # ok | mismatch | unsupported | error | timeout | skipped | not installed
    detail: str = ""
    k: int = 0                # unit operations per timed run
    runs_wanted: int = 0
    samples: list = field(default_factory=list)   # seconds per unit operation

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def as_json(self) -> dict:
        return {
            "workload": self.workload, "engine": self.engine, "n": self.n,
            "status": self.status, "detail": self.detail, "ops_per_run": self.k,
            "runs": len(self.samples), "median_s_per_op": self.median,
            "samples_s_per_op": self.samples,
        }


def same(a: Any, b: Any) -> bool:
    """Equality that also requires equal types (``1 != 1.0 != True`` here),
    treats dict subclasses as dicts and ignores key order in documents."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_difference(got: Any, expected: Any) -> str:
    """A one-line account of where two checked values first differ."""
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        if len(got) != len(expected):
            return f"{len(got)} items, expected {len(expected)}"
        for i, (x, y) in enumerate(zip(got, expected)):
            if not same(x, y):
                return f"item {i}: " + describe_difference(x, y)
    if isinstance(got, dict) and isinstance(expected, dict):
        for key in list(expected) + [k for k in got if k not in expected]:
            if key not in got:
                return f"missing field {key!r}"
            if key not in expected:
                return f"unexpected field {key!r}"
            if not same(got[key], expected[key]):
                return f"field {key!r}: " + describe_difference(got[key], expected[key])
    return f"got {_short(got)}, expected {_short(expected)}"


def _classify(exc: BaseException) -> tuple[str, str]:
    status = "unsupported" if is_unsupported(exc) else "error"
    return status, f"{type(exc).__name__}: {_short(str(exc), 200)}"


class Suite:
    """Run ``workloads`` on ``engines`` for one dataset.

    ``setup(engine, ds)`` returns ``{collection name: handle or exception}``.
    The first engine that answers a workload is the reference every other
    answer is checked against (the raw floor, for engine workloads).
    """

    def __init__(self, engines: list, workloads: list, setup: Callable, ds: Any, *,
                 runs: int, budget: float, timeout: float | None = None,
                 log: Callable[[str], None] | None = None):
        self.engines = engines
        self.workloads = workloads
        self.setup = setup
        self.ds = ds
        self.n = getattr(ds, "n", 0)
        self.runs = runs
        self.budget = budget
        self.timeout = timeout
        self.broken: dict = {}      # engine name -> why its collections can't be trusted
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.cells = {(w.name, e.name): Cell(w.name, e.name, self.n)
                      for w in workloads for e in engines}
        self.handles: dict = {}
        self._refs: dict = {}       # workload name -> its reference engine
        self._expected: dict = {}   # (workload name, k) -> reference answer

    # -- one execution -----------------------------------------------------
    def _execute(self, workload, engine, handle, k: int, verify: bool = True) -> tuple[float, Any]:
        """Time one run of ``k`` unit operations; the checked answer if ``verify``."""
        ds = self.ds
        state = workload.prepare(engine, handle, ds, k) if workload.prepare else None
        gc.collect()
        start = time.perf_counter()
        result = workload.run(engine, handle, ds, k, state)
        elapsed = time.perf_counter() - start
        checked = None
        if verify:
            checked = workload.check(result)
            if workload.verify is not None:
                checked = [checked, workload.verify(engine, handle, ds, k, state, result)]
        if workload.undo is not None:
            workload.undo(engine, handle, ds, k, state, result)
        return elapsed, checked

    def _reference(self, workload, k: int):
        """The reference engine's checked answer for ``k`` unit operations."""
        key = (workload.name, k)
        if key not in self._expected:
            ref = self._refs[workload.name]
            handle = self.handles[ref.name][workload.collection]
            self._expected[key] = self._execute(workload, ref, handle, k)[1]
        return self._expected[key]

    # -- phases ------------------------------------------------------------
    def _open(self) -> None:
        for engine in self.engines:
            if not engine.available:
                for w in self.workloads:
                    self.cells[w.name, engine.name].status = "not installed"
                continue
            start = time.perf_counter()
            try:
                engine.open()
                self.handles[engine.name] = self.setup(engine, self.ds)
            except Exception as exc:
                status, detail = _classify(exc)
                for w in self.workloads:
                    self.cells[w.name, engine.name].status = status
                    self.cells[w.name, engine.name].detail = "setup: " + detail
                continue
            self.log(f"  loaded {engine.name:<10} in {time.perf_counter() - start:6.2f}s")
        gc.freeze()

    def _handle(self, workload, engine):
        handles = self.handles.get(engine.name)
        if handles is None:
            return None
        handle = handles.get(workload.collection)
        if isinstance(handle, BaseException):
            cell = self.cells[workload.name, engine.name]
            cell.status, cell.detail = _classify(handle)
            cell.detail = f"{workload.collection} collection: {cell.detail}"
            return None
        return handle

    def _verify(self, workload, engine) -> None:
        """Run once, compare with the reference, decide ``k`` and the runs.

        The first engine that answers a workload is its reference (the
        floor, for engine workloads); the others are checked against it.
        """
        cell = self.cells[workload.name, engine.name]
        handle = self._handle(workload, engine)
        if handle is None:
            return
        if engine.name in self.broken:
            cell.status, cell.detail = "skipped", self.broken[engine.name]
            return
        ref = self._refs.get(workload.name)
        try:
            with _Deadline(self.timeout):
                k = workload.ops
                probed = None
                if workload.loop and ref is not None:
                    elapsed, checked = self._execute(workload, engine, handle, 1)
                    k = max(1, min(workload.ops, int(self.budget / (elapsed * (self.runs + 1)))))
                    if k == 1:
                        probed = (elapsed, checked)
                elapsed, checked = probed or self._execute(workload, engine, handle, k)
            if ref is None:
                self._refs[workload.name] = ref = engine
                self._expected[workload.name, k] = checked
            expected = self._reference(workload, k)
        except RunTimeout:
            cell.status = "timeout"
            cell.detail = (f"one verification run (with its untimed read-back and undo) "
                           f"took over {self.timeout:g}s")
            if workload.kind not in READ_ONLY_KINDS:
                self.broken[engine.name] = (f"after the {workload.name} timeout its "
                                            f"collections are in an unknown state")
            return
        except Exception as exc:
            cell.status, cell.detail = _classify(exc)
            return
        if not same(checked, expected):
            cell.status = "mismatch"
            cell.detail = f"answer differs from {ref.name}'s: " + \
                describe_difference(checked, expected)
            return
        cell.status, cell.k = "ok", k
        # Cheap cells get up to EXTRA_RUNS times the runs, within the budget:
        # a median over more samples steadies the fast engines' figures.
        cap = self.runs * EXTRA_RUNS
        cell.runs_wanted = min(cap, int(self.budget / elapsed)) if elapsed > 0 else cap
        if cell.runs_wanted == 0:   # too slow to repeat: keep the verification run
            cell.samples.append(elapsed / k)

    def reference_for(self, workload_name: str) -> str | None:
        ref = self._refs.get(workload_name)
        return None if ref is None else ref.name

    def run(self) -> dict:
        """Run every phase; returns ``{(workload, engine): Cell}``."""
        self._open()
        try:
            for workload in self.workloads:
                for engine in self.engines:
                    if engine.name in self.handles:
                        self._verify(workload, engine)
                self._log_row(workload, "verified")
            total = max((c.runs_wanted for c in self.cells.values()), default=0)
            for run in range(total):
                for workload in self.workloads:
                    for engine in self.engines:
                        cell = self.cells[workload.name, engine.name]
                        if cell.status != "ok" or run >= cell.runs_wanted:
                            continue
                        handle = self.handles[engine.name][workload.collection]
                        try:
                            elapsed, _ = self._execute(workload, engine, handle, cell.k,
                                                       verify=False)
                        except Exception as exc:
                            cell.status, cell.detail = _classify(exc)
                            cell.samples.clear()
                            continue
                        cell.samples.append(elapsed / cell.k)
                self.log(f"  run {run + 1}/{total} done")
        finally:
            self._close()
        return self.cells

    def _close(self) -> None:
        gc.unfreeze()
        for engine in self.engines:
            if engine.name in self.handles:
                try:
                    engine.close()
                except Exception:
                    pass
        self.handles.clear()
        gc.collect()

    def _log_row(self, workload, what: str) -> None:
        marks = []
        for engine in self.engines:
            cell = self.cells[workload.name, engine.name]
            if cell.status not in ("ok", "not installed"):
                marks.append(f"{engine.name}={cell.status}")
        extra = ("  [" + ", ".join(marks) + "]") if marks else ""
        self.log(f"  {what} {workload.name}{extra}")
