"""The results as a table a person reads, and the issue's targets checked against them."""

from __future__ import annotations

from typing import Any

COLUMNS = ("ours", "dtdb", "procrastinate", "celery", "raw", "raw10")


def _get(results: dict, *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


READ_TARGETS = {  # path: (which figure, bar in ms), from issue 15
    "/metrics": ("median_ms", 100),
    "/api/health": ("median_ms", 50),
    "dashboard /test-worker/": ("worst_ms", 150),
    "admin jobs ?status=failed": ("median_ms", 300),
}


def targets(results: dict) -> list[dict]:
    """Each target of the issue: the measured value, the bar, and whether it was met."""
    checks: list[dict] = []
    names = results.get("systems", {})

    def check(name: str, value: float | None, bar: str, met: bool | None) -> None:
        checks.append({"target": name, "value": value, "bar": bar, "met": met})

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a and b else None

    ours2 = _get(results, "drain", "ours", "2", "jobs_per_second")
    check(
        "drain, 2 processes: ours (jobs/s, on a quiet machine)",
        ours2,
        ">= 5000",
        None if ours2 is None else ours2 >= 5000,
    )
    for key, bar in (("raw10", 0.35), ("procrastinate", 10), ("dtdb", 40), ("celery", None)):
        value = ratio(ours2, _get(results, "drain", key, "2", "jobs_per_second"))
        label = names.get(key, key)
        if bar is None:
            if value is not None:
                check(f"drain, 2 processes: ours / {label}", value, "(reported)", None)
            continue
        check(
            f"drain, 2 processes: ours / {label}",
            value,
            f">= {bar:g}" + ("" if key == "raw10" else "x"),
            None if value is None else value >= bar,
        )
    for processes in ("1", "2"):
        alone = _get(results, "drain", "queue_only", processes, "jobs_per_second")
        whole = _get(results, "drain", "ours", processes, "jobs_per_second")
        share = ratio(whole, alone)
        check(
            f"drain, {processes} process(es): the app with its hook receivers / the queue alone",
            share,
            ">= 0.95",
            None if share is None else share >= 0.95,
        )
    bulk = ratio(_get(results, "enqueue", "ours", "bulk"), _get(results, "enqueue", "raw", "bulk"))
    check("enqueue_many / raw COPY", bulk, ">= 0.25", None if bulk is None else bulk >= 0.25)
    single = ratio(
        _get(results, "enqueue", "ours", "single"), _get(results, "enqueue", "raw", "single")
    )
    check(
        "enqueue one per transaction / raw INSERT",
        single,
        ">= 0.6",
        None if single is None else single >= 0.6,
    )
    held = ratio(
        _get(results, "longtx", "ours", "held", "jobs_per_second"),
        _get(results, "longtx", "ours", "clean", "jobs_per_second"),
    )
    check(
        "drain under an idle REPEATABLE READ transaction / clean",
        held,
        ">= 0.5",
        None if held is None else held >= 0.5,
    )
    growth = _get(results, "memory", "growth")
    check(
        "worker memory growth, after the last / the first checkpoint - 1",
        growth,
        "<= 0.10",
        None if growth is None else growth <= 0.10,
    )
    for path, (figure, bar) in READ_TARGETS.items():
        value = _get(results, "reads", "paths", path, figure)
        check(
            f"{path} at {(_get(results, 'reads', 'rows') or 0):,} jobs, {figure[:-3]} (ms)",
            value,
            f"<= {bar}",
            None if value is None else value <= bar,
        )
    io = _get(results, "io", "ours", "jobs_per_second")
    check("I/O-bound, 1 process: ours (jobs/s)", io, ">= 100", None if io is None else io >= 100)
    p50 = _get(results, "latency", "ours", "p50_ms")
    p99 = _get(results, "latency", "ours", "p99_ms")
    check("latency p50: ours (ms)", p50, "< 20", None if p50 is None else p50 < 20)
    check("latency p99: ours (ms)", p99, "< 100", None if p99 is None else p99 < 100)
    steps = results.get("claim") or []
    if len(steps) >= 2:
        # Buffers touched: the claim's work, which the machine's load does not change.
        growth = _buffers(steps[-1]) / max(1, _buffers(steps[0]))
        flat = growth <= 1.5 and all(s["uses_index"] and not s["seq_scan"] for s in steps)
        check(
            f"claim flat from {steps[0]['rows']:,} to {steps[-1]['rows']:,} rows "
            "(buffers touched, last / first; index scan)",
            growth,
            "<= 1.5x, index",
            flat,
        )
    return checks


def _extra_tables(results: dict) -> list[str]:
    """The long-transaction, PgBouncer, memory and read-path results, one small table each."""
    lines: list[str] = []
    names = results.get("systems", {})
    longtx = results.get("longtx") or {}
    if longtx:
        lines += [
            "| drain, 2 processes (jobs/s) | clean | idle REPEATABLE READ open | held / clean |",
            "|---|---:|---:|---:|",
        ]
        for key, runs in longtx.items():
            clean = _get(runs, "clean", "jobs_per_second")
            held = _get(runs, "held", "jobs_per_second")
            share = held / clean if clean and held else None
            lines.append(
                f"| {names.get(key, key)} | {_fmt(clean)} | {_fmt(held)} | {_fmt(share, 2)} |"
            )
        lines.append("")
    bouncer = results.get("pgbouncer") or {}
    if bouncer:
        processes = next(iter(bouncer.values())).get("processes")
        lines += [
            f"| {processes} worker processes, ours (jobs/s) | drain `noop` |",
            "|---|---:|",
            f"| straight to PostgreSQL, prepared statements | "
            f"{_fmt(_get(bouncer, 'direct', 'jobs_per_second'))} |",
            f"| {processes} worker processes through PgBouncer (transaction mode, "
            f"prepared statements off) | {_fmt(_get(bouncer, 'pgbouncer', 'jobs_per_second'))} |",
            f"| straight to PostgreSQL, prepared statements off | "
            f"{_fmt(_get(bouncer, 'direct_unprepared', 'jobs_per_second'))} |",
            "",
        ]
    memory = results.get("memory") or {}
    if memory:
        lines += [
            "| one worker's resident memory (MiB) | after | MiB |",
            "|---|---:|---:|",
            f"| first checkpoint | {_fmt(memory.get('early_jobs'))} jobs | "
            f"{_fmt(memory.get('early_mb'), 1)} |",
            f"| last checkpoint | {_fmt(memory.get('late_jobs'))} jobs | "
            f"{_fmt(memory.get('late_mb'), 1)} |",
            "",
        ]
    reads = results.get("reads") or {}
    if reads:
        lines += [
            f"| read path, {reads.get('rows', 0):,} jobs ({reads.get('last_hour', 0):,} in "
            f"the last hour); load {_load(reads.get('load_before'))} | median (ms) | "
            "worst (ms) |",
            "|---|---:|---:|",
        ]
        for path, figures in (reads.get("paths") or {}).items():
            lines.append(
                f"| {path} | {_fmt(figures['median_ms'], 1)} | {_fmt(figures['worst_ms'], 1)} |"
            )
        lines.append("")
    return lines


def markdown(results: dict) -> str:
    names = results.get("systems", {})
    columns = [key for key in COLUMNS if key in names]
    header = "| | " + " | ".join(names[key] for key in columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    rows = []

    def row(label: str, values: list[str]) -> None:
        rows.append(f"| {label} | " + " | ".join(values) + " |")

    for processes, _ in (_get(results, "drain", "ours") or {}).items():
        row(
            f"drain `noop`, {processes} process{'es' if processes != '1' else ''} (jobs/s)",
            [_fmt(_get(results, "drain", k, processes, "jobs_per_second")) for k in columns],
        )
    if "io" in results:
        row(
            "I/O-bound, 1 process, 200 ms HTTP call (jobs/s)",
            [_fmt(_get(results, "io", k, "jobs_per_second"), 1) for k in columns],
        )
    if "latency" in results:
        for pct in ("p50", "p99"):
            row(
                f"latency commit → start, {pct} (ms)",
                [_fmt(_get(results, "latency", k, f"{pct}_ms"), 1) for k in columns],
            )
    if "enqueue" in results:
        row(
            "enqueue, one per transaction (jobs/s)",
            [_fmt(_get(results, "enqueue", k, "single")) for k in columns],
        )
        row("enqueue, bulk (jobs/s)", [_fmt(_get(results, "enqueue", k, "bulk")) for k in columns])
    if "drain" in results:
        row(
            "peak memory of one worker (MiB)",
            [_fmt(_get(results, "drain", k, "1", "peak_memory_mb"), 1) for k in columns],
        )
    if "io" in results:
        row(
            "peak memory, I/O-bound worker (MiB)",
            [_fmt(_get(results, "io", k, "peak_memory_mb"), 1) for k in columns],
        )
    lines = [header, rule, *rows, ""]
    lines += _extra_tables(results)
    steps = results.get("claim") or []
    if steps:
        lines += [
            "| jobs in the table (finished + waiting) | claim() of 10, median (ms) | "
            "execution in PostgreSQL (ms) | buffers | plan |",
            "|---|---:|---:|---|---|",
        ]
        for step in steps:
            plan = "index scan on job_ready_idx" if step["uses_index"] else "no index"
            if step["seq_scan"]:
                plan += ", with a sequential scan"
            lines.append(
                f"| {step['rows']:,} ({step['finished']:,} + {step['waiting']:,}) | "
                f"{step['median_ms']:.2f} | {step['execution_ms']:.2f} | "
                f"{step.get('buffers', '').replace('Buffers: ', '')} | {plan} |"
            )
        lines.append("")
    checks = results.get("targets") or []
    if checks:
        lines += ["| target | measured | bar | met |", "|---|---:|---:|:---:|"]
        for item in checks:
            value = item["value"]
            shown = "–" if value is None else f"{value:,.2f}"
            met = {True: "yes", False: "**no**", None: "–"}[item["met"]]
            lines.append(f"| {item['target']} | {shown} | {item['bar']} | {met} |")
        lines.append("")
    meta = results.get("meta", {})
    loads = meta.get("loads") or {}
    if loads:
        lines.append(
            "Load average (1/5/15 min) as each part started: "
            + "; ".join(f"{part} {_load(values)}" for part, values in loads.items())
            + "."
        )
        lines.append("")
    lines.append(
        f"Run {meta.get('date')} on {meta.get('cpu')}, {meta.get('cores')} cores, "
        f"{meta.get('memory_gb')} GiB; PostgreSQL {meta.get('postgresql')} "
        f"(synchronous_commit={meta.get('synchronous_commit')}), Python {meta.get('python')}; "
        f"load average before {_load(meta.get('load_before'))}, after "
        f"{_load(meta.get('load_after'))}; {meta.get('seconds')} s"
        + (" (--quick)" if meta.get("quick") else "")
        + "."
    )
    return "\n".join(lines) + "\n"


def _load(values: Any) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "?"


def _buffers(step: dict) -> int:
    """Pages the claim touched (shared hit + read), from its EXPLAIN (ANALYZE, BUFFERS)."""
    total = 0
    for part in step.get("buffers", "").replace("Buffers:", "").split():
        name, _, count = part.partition("=")
        if name in ("hit", "read") and count.isdigit():
            total += int(count)
    return total
