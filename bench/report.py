"""The results as a table a person reads, and the issue's targets checked against them."""

from __future__ import annotations

from typing import Any

COLUMNS = ("ours", "dtdb", "procrastinate", "raw", "raw10")


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


def targets(results: dict) -> list[dict]:
    """Each target of the issue: the measured value, the bar, and whether it was met."""
    checks: list[dict] = []

    def check(name: str, value: float | None, bar: str, met: bool | None) -> None:
        checks.append({"target": name, "value": value, "bar": bar, "met": met})

    ours2 = _get(results, "drain", "ours", "2", "jobs_per_second")
    for key, factor in (("dtdb", 10), ("procrastinate", 5)):
        peer = _get(results, "drain", key, "2", "jobs_per_second")
        ratio = ours2 / peer if ours2 and peer else None
        label = results.get("systems", {}).get(key, key)
        check(
            f"drain, 2 processes: ours / {label}",
            ratio,
            f">= {factor}x",
            None if ratio is None else ratio >= factor,
        )
    raw = _get(results, "drain", "raw", "2", "jobs_per_second")
    ratio = ours2 / raw if ours2 and raw else None
    check(
        "drain, 2 processes: ours / raw SQL (1 job per claim)",
        ratio,
        ">= 0.7",
        None if ratio is None else ratio >= 0.7,
    )
    for processes in ("1", "2"):
        alone = _get(results, "drain", "queue_only", processes, "jobs_per_second")
        whole = _get(results, "drain", "ours", processes, "jobs_per_second")
        ratio = whole / alone if whole and alone else None
        check(
            f"drain, {processes} process(es): the app with its hook receivers / the queue alone",
            ratio,
            ">= 0.95",
            None if ratio is None else ratio >= 0.95,
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
