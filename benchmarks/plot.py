"""The chart: log-scale bars of time per operation, per workload per engine.

matplotlib is optional (``pip install -e '.[bench]'``); it is imported only
when a chart is asked for, with a clear message when it is missing.
"""

from __future__ import annotations

COLORS = {
    "floor": "#9e9e9e", "dongo": "#1f77b4", "mongomock": "#d62728",
    "montydb": "#ff7f0e", "mongita": "#2ca02c",
    "dongo-raw": "#aec7e8", "mongomock-raw": "#ff9896", "mongoengine": "#9467bd",
}
MISSING_MARK = {"unsupported": "u", "mismatch": "!", "error": "e", "timeout": "t", "skipped": "s"}


class PlotUnavailable(RuntimeError):
    pass


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotUnavailable(
            "--plot needs matplotlib, which is not installed; install the bench "
            "extra: pip install -e '.[bench]'  (or: pip install matplotlib)") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _wrap(name: str) -> str:
    """Break a long workload name at its last underscore, so labels don't collide."""
    if len(name) <= 12 or "_" not in name:
        return name
    head, tail = name.rsplit("_", 1)
    return head + "_\n" + tail


def _bars(ax, title, workloads, units, engines, cells, n):
    idx = {(c["n"], c["workload"], c["engine"]): c for c in cells}
    width = 0.8 / max(1, len(engines))
    lowest = min((c["median_s_per_op"] for c in cells if c["status"] == "ok"
                  and c["median_s_per_op"]), default=1e-6)
    for i, engine in enumerate(engines):
        xs, ys = [], []
        for j, w in enumerate(workloads):
            c = idx.get((n, w, engine))
            x = j - 0.4 + width * (i + 0.5)
            if c and c["status"] == "ok" and c["median_s_per_op"]:
                xs.append(x)
                ys.append(c["median_s_per_op"])
            elif c and c["status"] in MISSING_MARK:
                ax.text(x, lowest / 2, MISSING_MARK[c["status"]], ha="center",
                        va="bottom", fontsize=7, color=COLORS.get(engine, "k"))
        ax.bar(xs, ys, width, label=engine, color=COLORS.get(engine))
    ax.set_yscale("log")
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([f"{_wrap(w)}\n(per {u})" for w, u in zip(workloads, units)], fontsize=8)
    ax.set_ylabel("seconds per operation (log)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.set_ylim(bottom=lowest / 4)
    ax.legend(fontsize=7, ncol=len(engines))


def draw(results: dict, path: str) -> None:
    """Write the chart for a results document to ``path`` (PNG)."""
    plt = _pyplot()
    sizes = results["meta"]["sizes"]
    odm = results.get("odm")
    panels = len(sizes) + (1 if odm else 0)
    fig, axes = plt.subplots(panels, 1, figsize=(13, 4.2 * panels), squeeze=False)
    engines = [e["name"] for e in results["engines"] if e["available"]]
    workloads = [w["name"] for w in results["workloads"]]
    units = [w["unit"] for w in results["workloads"]]
    for ax, n in zip(axes[:, 0], sizes):
        _bars(ax, f"Engine workloads, N = {n:,} (lower is better; "
                  f"u = unsupported, ! = wrong answer, e = error, t = timeout)",
              workloads, units, engines, results["cells"], n)
    if odm:
        stacks = [s["name"] for s in odm["stacks"] if s["available"]]
        _bars(axes[-1, 0], f"ODM workloads, N = {odm['n']:,}: dongo ODM vs its raw collection, "
                           f"MongoEngine vs raw mongomock",
              [w["name"] for w in odm["workloads"]], [w["unit"] for w in odm["workloads"]],
              stacks, odm["cells"], odm["n"])
    meta = results["meta"]
    fig.suptitle(f"dongo benchmarks ({meta['mode']}, {meta['date'][:10]}, "
                 f"Python {meta['python']}, {meta['cpus']} CPUs)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
