"""The scenarios: each runs one system on one piece of work and returns its numbers."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import Processes, Sizes, conninfo, log, percentile
from bench.systems import System

# The rate is measured from this share of the jobs done, or this long after the first job
# finished, whichever comes first: process start-up is left out.
START_FRACTION = 0.02
START_SECONDS = 3.0


def watch(system: System, procs: Processes, total: int, cap: float) -> dict:
    """Poll the finished count until all ``total`` jobs are done, or ``cap`` seconds after the
    first one finished. The rate runs from START_FRACTION done (or START_SECONDS after the
    first job) to the last sample."""
    samples: list[tuple[float, int]] = []
    began = time.monotonic()
    first: float | None = None
    peak_mb = None
    count = system.done_counter()
    try:
        while True:
            done = count()
            now = time.monotonic()
            samples.append((now, done))
            peak_mb = procs.peak_memory_mb() or peak_mb
            if done and first is None:
                first = now
            if done >= total:
                break
            if first is not None and now - first >= cap:
                break
            if first is None and now - began > 120:
                logs = "\n".join(path.read_text()[-2000:] for path in procs.logs)
                raise RuntimeError(f"{system.label}: no job finished in 120 s\n{logs}")
            if not procs.alive():
                logs = "\n".join(path.read_text()[-2000:] for path in procs.logs)
                raise RuntimeError(f"{system.label}: its workers exited early\n{logs}")
            time.sleep(0.1)
    finally:
        system.close_counters()
    threshold = max(1, int(total * START_FRACTION))
    start = next(
        (s for s in samples if s[1] >= threshold or (first and s[0] >= first + START_SECONDS)),
        samples[0],
    )
    end = samples[-1]
    seconds = end[0] - start[0]
    rate = (end[1] - start[1]) / seconds if seconds > 0 else float("nan")
    return {
        "jobs_per_second": rate,
        "jobs_measured": end[1] - start[1],
        "seconds": seconds,
        "finished_all": end[1] >= total,
        "peak_memory_mb": peak_mb,
    }


def throughput(
    system: System,
    *,
    kind: str,
    jobs: int,
    processes: int,
    concurrency: int,
    cap: float,
    env: dict[str, str] | None = None,
    hold_snapshot: bool = False,
    label: str = "",
) -> dict:
    """``jobs`` jobs queued, then drained by ``processes`` worker processes. ``hold_snapshot``:
    an idle REPEATABLE READ transaction stays open on the system's database for the whole run
    (as a forgotten psql session or a long report would), so no dead row can be cleaned up."""
    system.reset()
    system.fill(kind, jobs)
    holder = None
    if hold_snapshot:
        holder = psycopg.connect(conninfo(system.url))
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        holder.execute("SELECT count(*) FROM pg_class")  # the snapshot is taken here
    try:
        with Processes() as procs:
            for index in range(processes):
                name = f"{system.key}-{kind}-{processes}p{index}{label}"
                procs.start(system.worker_cmd(concurrency), system.env | (env or {}), name)
            result = watch(system, procs, jobs, cap)
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
    log(
        f"{system.label} {kind} {processes}p{label}: {result['jobs_per_second']:.0f} jobs/s "
        f"({result['jobs_measured']} jobs in {result['seconds']:.1f}s)"
    )
    return result


def memory_growth(system: System, *, jobs: tuple[int, int], cap: float) -> dict:
    """One worker process (8 at once) drains ``jobs[1]`` no-op jobs; its resident memory is read
    when ``jobs[0]`` and when ``jobs[1]`` are done (or when ``cap`` seconds have passed)."""
    early, late = jobs
    system.reset()
    system.tool("fill-fast", "--count", str(late))
    readings: dict[str, float | None] = {}
    started = time.monotonic()
    count = system.done_counter()
    try:
        with Processes() as procs:
            procs.start(system.worker_cmd(8), system.env, f"{system.key}-memory")
            done = 0
            while done < late and time.monotonic() - started < cap:
                done = count()
                if done >= early and "early_mb" not in readings:
                    readings["early_mb"] = procs.resident_mb()
                    readings["early_jobs"] = done
                if not procs.alive():
                    raise RuntimeError(f"{system.label}: the worker exited early")
                time.sleep(0.2)
            readings["late_mb"] = procs.resident_mb()
            readings["late_jobs"] = done
    finally:
        system.close_counters()
    early_mb, late_mb = readings.get("early_mb"), readings.get("late_mb")
    readings["growth"] = late_mb / early_mb - 1 if early_mb and late_mb else None
    log(f"{system.label} memory: {readings}")
    system.reset()
    return readings


def latency(system: System, *, sizes: Sizes, concurrency: int) -> dict:
    system.reset()
    with tempfile.TemporaryDirectory() as tmp:
        stamps = Path(tmp) / "stamps.txt"
        commits = Path(tmp) / "commits.json"
        stamps.touch()
        env = system.env | {"BENCH_STAMP_FILE": str(stamps)}
        with Processes() as procs:
            procs.start(system.worker_cmd(concurrency, latency=True), env, f"{system.key}-latency")
            time.sleep(4)  # the worker is up and idle before the first job arrives
            system.latency_feed(sizes.latency_jobs, sizes.latency_mean_gap, str(commits))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if len(stamps.read_text().splitlines()) >= sizes.latency_jobs:
                    break
                time.sleep(0.1)
        committed = {int(key): value for key, value in json.loads(commits.read_text()).items()}
        started = {}
        for line in stamps.read_text().splitlines():
            key, at = line.split()
            started.setdefault(int(key), float(at))
    waits = [(started[key] - committed[key]) * 1000 for key in committed if key in started]
    result = {
        "p50_ms": percentile(waits, 50),
        "p99_ms": percentile(waits, 99),
        "max_ms": max(waits) if waits else None,
        "jobs": len(waits),
        "missing": len(committed) - len(waits),
    }
    log(f"{system.label} latency: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms")
    return result


def enqueue(system: System, *, sizes: Sizes) -> dict:
    system.reset()
    result = system.enqueue_rate(sizes.enqueue_single, sizes.enqueue_bulk)
    log(f"{system.label} enqueue: {result}")
    return result


def start_http_server(python: str) -> tuple[subprocess.Popen, str]:
    from bench.common import ROOT, base_env

    proc = subprocess.Popen(
        [python, "-m", "bench.httpserver", "--delay", "0.2"],
        cwd=ROOT,
        env=base_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    port = proc.stdout.readline().strip()
    return proc, f"http://127.0.0.1:{port}/v1/chat/completions"
