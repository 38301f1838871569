"""Readable text tables from the results document (see ``run.py``)."""

from __future__ import annotations

SHORT_STATUS = {
    "not installed": "-",
    "unsupported": "unsup.",
    "mismatch": "MISMATCH",
    "error": "error",
    "timeout": "timeout",
    "skipped": "skipped",
    "pending": "-",
}


def format_time(seconds: float | None) -> str:
    """``1.5e-05`` → ``'15.0us'``; sizes chosen to keep 3 significant digits.

    >>> format_time(0.00001234), format_time(0.5), format_time(None)
    ('12.3us', '500ms', '-')
    """
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return "-"


def format_ratio(ratio: float | None, digits: int = 1) -> str:
    if ratio is None:
        return "-"
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    return f"{ratio:.{digits}f}x"


def _index(cells: list) -> dict:
    return {(c["n"], c["workload"], c["engine"]): c for c in cells}


def _cell_text(cell: dict | None, runs: int, timeout: float | None = None) -> str:
    if cell is None:
        return "-"
    if cell["status"] == "timeout" and timeout:
        return f">{timeout:g}s"
    if cell["status"] != "ok":
        return SHORT_STATUS.get(cell["status"], cell["status"])
    text = format_time(cell["median_s_per_op"])
    return text + ("*" if cell["runs"] < runs else "")   # fewer runs than asked for


def _table(header: list, rows: list, align: str) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = []
    for r in [header] + rows:
        parts = [str(v).ljust(w) if a == "<" else str(v).rjust(w)
                 for v, w, a in zip(r, widths, align)]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _notes(cells: list, engines_of: dict) -> list:
    seen, notes = set(), []
    for c in cells:
        if c["status"] in ("ok", "not installed", "pending"):
            continue
        if c["status"] == "skipped":   # one line per engine and size is enough
            key = (c["engine"], c["n"], "skipped")
            if key not in seen:
                seen.add(key)
                notes.append(f"  {c['engine']} (N={c['n']:,}): later workloads skipped: {c['detail']}")
            continue
        key = (c["workload"], c["engine"], c["status"], c["detail"])
        if key in seen:
            continue
        seen.add(key)
        notes.append(f"  {c['engine']} / {c['workload']} (N={c['n']:,}): {c['status']}: {c['detail']}")
    for name, reason in engines_of.items():
        if reason:
            notes.append(f"  {name}: {reason}")
    return notes


def engine_tables(results: dict) -> str:
    runs = results["meta"]["runs"]
    engines = [e["name"] for e in results["engines"]]
    cells = results["cells"]
    idx = _index(cells)
    out = []
    for n in results["meta"]["sizes"]:
        header = ["workload", "per"] + engines + ["dongo vs mongomock", "dongo / floor"]
        rows = []
        for w in results["workloads"]:
            row = [w["name"], w["unit"]]
            row += [_cell_text(idx.get((n, w["name"], e)), runs, results["meta"].get("timeout_s"))
                    for e in engines]
            dongo = idx.get((n, w["name"], "dongo"))
            mock = idx.get((n, w["name"], "mongomock"))
            floor = idx.get((n, w["name"], "floor"))
            d = dongo["median_s_per_op"] if dongo and dongo["status"] == "ok" else None
            m = mock["median_s_per_op"] if mock and mock["status"] == "ok" else None
            f = floor["median_s_per_op"] if floor and floor["status"] == "ok" else None
            row.append(format_ratio(m / d) + " faster" if d and m else "-")
            row.append(format_ratio(d / f, 2) if d and f else "-")
            rows.append(row)
        out.append(f"Engine workloads, N = {n:,}: median time per unit operation "
                   f"(median of {runs}+ runs; * = fewer runs, slow engine)")
        out.append(_table(header, rows, "<<" + ">" * (len(header) - 2)))
        out.append("")
    reasons = {e["name"]: e["reason"] for e in results["engines"] if not e["available"]}
    notes = _notes(cells, reasons)
    if notes:
        out.append("Not timed:")
        out.extend(notes)
        out.append("")
    out.append("Workloads:")
    for w in results["workloads"]:
        out.append(f"  {w['name']:<20} {w['label']}")
    return "\n".join(out)


def odm_table(results: dict) -> str:
    odm = results.get("odm")
    if not odm:
        return "ODM workloads: not run"
    runs = results["meta"]["runs"]
    stacks = [s["name"] for s in odm["stacks"]]
    idx = _index(odm["cells"])
    n = odm["n"]
    header = ["workload", "per"] + stacks + ["ODM overhead", "MongoEngine / dongo"]
    rows = []
    for w in odm["workloads"]:
        row = [w["name"], w["unit"]]
        row += [_cell_text(idx.get((n, w["name"], s)), runs, results["meta"].get("timeout_s"))
                for s in stacks]
        get = {s: (idx.get((n, w["name"], s)) or {}) for s in stacks}
        t = {s: (c.get("median_s_per_op") if c.get("status") == "ok" else None) for s, c in get.items()}
        odm_t, raw_t, me_t = t.get("dongo"), t.get("dongo-raw"), t.get("mongoengine")
        row.append(format_ratio(odm_t / raw_t, 2) if odm_t and raw_t else "-")
        row.append(format_ratio(me_t / odm_t) if odm_t and me_t else "-")
        rows.append(row)
    out = [f"ODM workloads, N = {n:,}: median time per unit operation",
           _table(header, rows, "<<" + ">" * (len(header) - 2)), ""]
    reasons = {s["name"]: s["reason"] for s in odm["stacks"] if not s["available"]}
    notes = _notes(odm["cells"], reasons)
    if notes:
        out.append("Not timed:")
        out.extend(notes)
        out.append("")
    out.append("Workloads:")
    for w in odm["workloads"]:
        out.append(f"  {w['name']:<20} {w['label']}")
    return "\n".join(out)


def scaling_table(results: dict) -> str:
    scaling = results.get("scaling") or {}
    series = scaling.get("series", [])
    if not series:
        return "Scaling: not run"
    sizes = sorted({p[0] for s in series for p in s["points"]})
    header = ["workload", "engine"] + [f"N={n:,}" for n in sizes] + ["log-log slope"]
    rows = []
    for s in series:
        at = dict((p[0], p[1]) for p in s["points"])
        slope = s["slope"]
        rows.append([s["workload"], s["engine"]] + [format_time(at.get(n)) for n in sizes]
                    + ["-" if slope is None else f"{slope:+.2f}"])
    return ("Scaling: time per operation against N (slope 0 = flat, 1 = O(n) per op)\n"
            + _table(header, rows, "<<" + ">" * (len(header) - 2)))


def memory_table(results: dict) -> str:
    memory = results.get("memory")
    if not memory:
        return "Memory: not run"
    rows = [["raw Python dicts", f"{memory['raw_bytes_per_doc']:,.0f}", "1.00x"]]
    for row in memory["engines"]:
        if "error" in row:
            rows.append([row["engine"], "error", row["error"][:60]])
        else:
            rows.append([row["engine"], f"{row['bytes_per_doc']:,.0f}", f"{row['ratio']:.2f}x"])
    return (f"Memory: bytes kept per stored document (tracemalloc, N = {memory['n']:,})\n"
            + _table(["engine", "bytes/doc", "vs raw"], rows, "<>>"))


def targets_table(results: dict) -> str:
    rows = []
    for t in results.get("targets", []):
        mark = {True: "PASS", False: "MISS", None: "n/a"}[t["passed"]]
        rows.append([mark, t["target"], t["subject"], t["shown"]])
    if not rows:
        return "Targets: none evaluated"
    return ("Targets (goals, not assertions)\n"
            + _table(["", "target", "workload", "measured"], rows, "<<<<"))


def full_report(results: dict) -> str:
    meta = results["meta"]
    head = (f"dongo benchmarks ({meta['mode']} mode) {meta['date']} - Python {meta['python']}, "
            f"{meta['cpus']} CPUs, runs={meta['runs']}, budget {meta['budget_s']}s per cell")
    engines = ", ".join(
        f"{e['name']} {e['version']}".strip() if e["available"] else f"{e['name']} (not installed)"
        for e in results["engines"])
    if meta.get("loadavg_start") is not None:
        head += (f"\nmachine load average {meta['loadavg_start']} at start"
                 + (f", {meta['loadavg_end']} at end" if meta.get("loadavg_end") is not None else ""))
    parts = [head, "engines: " + engines, "", engine_tables(results), "",
             odm_table(results), "", scaling_table(results), "",
             memory_table(results), "", targets_table(results)]
    return "\n".join(parts)


# -- markdown (README and docs/benchmarks.md) ----------------------------------
def _md_table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_summary(results: dict) -> str:
    """Markdown tables: engine workloads per N, ODM, scaling, memory, targets."""
    runs = results["meta"]["runs"]
    timeout = results["meta"].get("timeout_s")
    engines = [e["name"] for e in results["engines"] if e["available"]]
    idx = _index(results["cells"])
    out = []
    for n in results["meta"]["sizes"]:
        rows = []
        for w in results["workloads"]:
            row = [f"`{w['name']}` (per {w['unit']})"]
            row += [_cell_text(idx.get((n, w["name"], e)), runs, timeout) for e in engines]
            d, m, f = (idx.get((n, w["name"], e)) for e in ("dongo", "mongomock", "floor"))
            t = [c["median_s_per_op"] if c and c["status"] == "ok" else None for c in (d, m, f)]
            row.append(format_ratio(t[1] / t[0]) if t[0] and t[1] else "-")
            row.append(format_ratio(t[0] / t[2], 2) if t[0] and t[2] else "-")
            rows.append(row)
        out.append(f"**N = {n:,}** (median time per operation; `*` fewer runs)\n")
        out.append(_md_table(["workload"] + engines + ["dongo speed-up vs mongomock",
                                                      "dongo ÷ floor"], rows))
        out.append("")
    odm = results.get("odm")
    if odm:
        stacks = [s["name"] for s in odm["stacks"] if s["available"]]
        oidx = _index(odm["cells"])
        rows = []
        for w in odm["workloads"]:
            row = [f"`{w['name']}` (per {w['unit']})"]
            row += [_cell_text(oidx.get((odm["n"], w["name"], s)), runs, timeout) for s in stacks]
            t = {}
            for s in ("dongo", "dongo-raw", "mongoengine"):
                c = oidx.get((odm["n"], w["name"], s))
                t[s] = c["median_s_per_op"] if c and c["status"] == "ok" else None
            row.append(format_ratio(t["dongo"] / t["dongo-raw"], 2)
                       if t["dongo"] and t["dongo-raw"] else "-")
            row.append(format_ratio(t["mongoengine"] / t["dongo"])
                       if t["dongo"] and t["mongoengine"] else "-")
            rows.append(row)
        out.append(f"**ODM, N = {odm['n']:,}**\n")
        out.append(_md_table(["workload"] + stacks + ["ODM overhead", "MongoEngine ÷ dongo"], rows))
        out.append("")
    series = (results.get("scaling") or {}).get("series", [])
    if series:
        sizes = sorted({p[0] for s in series for p in s["points"]})
        rows = []
        for s in series:
            at = dict((p[0], p[1]) for p in s["points"])
            rows.append([f"`{s['workload']}`", s["engine"]] + [format_time(at.get(n)) for n in sizes]
                        + ["-" if s["slope"] is None else f"{s['slope']:+.2f}"])
        out.append("**Scaling** (time per operation; log-log slope 0 = flat, 1 = O(n))\n")
        out.append(_md_table(["workload", "engine"] + [f"N={n:,}" for n in sizes] + ["slope"], rows))
        out.append("")
    memory = results.get("memory")
    if memory:
        rows = [["raw Python dicts", f"{memory['raw_bytes_per_doc']:,.0f}", "1.00x"]]
        rows += [[r["engine"], f"{r['bytes_per_doc']:,.0f}", f"{r['ratio']:.2f}x"]
                 for r in memory["engines"] if "error" not in r]
        out.append(f"**Memory** (bytes kept per stored document, N = {memory['n']:,})\n")
        out.append(_md_table(["engine", "bytes/doc", "vs raw"], rows))
        out.append("")
    if results.get("targets"):
        rows = [[{True: "✅ pass", False: "❌ miss", None: "n/a"}[t["passed"]], t["target"],
                 f"`{t['subject']}`", t["shown"]] for t in results["targets"]]
        out.append("**Targets**\n")
        out.append(_md_table(["", "target", "workload", "measured"], rows))
    return "\n".join(out)
