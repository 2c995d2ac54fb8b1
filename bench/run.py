"""One benchmark run: set up every system, run the scenarios, write and print the results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import report, scenarios
from bench.common import (
    FULL,
    PEERS_PYTHON,
    QUICK,
    RESULTS,
    ROOT,
    ensure_peers_venv,
    log,
    scalar,
)
from bench.systems import DjangoTasksDB, Ours, OursQueueOnly, Procrastinate, RawSQL, System

SCENARIOS = ("drain", "io", "latency", "enqueue", "claim")
SYSTEMS = ("ours", "queue_only", "dtdb", "procrastinate", "raw")
DRAIN_CONCURRENCY = 8  # jobs at once per worker process: ours (threads) and Procrastinate


def run(*, only: list[str], systems: list[str], quick: bool, url: str, out: str | None) -> int:
    sizes = QUICK if quick else FULL
    results_dir = Path(out) if out else RESULTS
    results_dir.mkdir(parents=True, exist_ok=True)
    if {"dtdb", "procrastinate"} & set(systems):
        ensure_peers_venv()
    chosen = _systems(systems, url)
    started = time.time()
    results: dict[str, Any] = {
        "meta": _machine(url) | {"quick": quick, "sizes": sizes.__dict__},
        "systems": {s.key: s.label for s in chosen},
    }
    log(f"setting up {', '.join(s.label for s in chosen)}")
    for system in chosen:
        system.setup()
    if "drain" in only:
        results["drain"] = _drain(chosen, sizes)
    # The queue alone is only the drain's yardstick for what the hooks cost.
    chosen = [s for s in chosen if not isinstance(s, OursQueueOnly)]
    if "io" in only:
        results["io"] = _io(chosen, sizes)
    if "latency" in only:
        results["latency"] = {
            s.key: scenarios.latency(s, sizes=sizes, concurrency=DRAIN_CONCURRENCY)
            for s in chosen
            if not isinstance(s, RawSQL)
        }
    if "enqueue" in only:
        results["enqueue"] = {
            s.key: scenarios.enqueue(s, sizes=sizes)
            for s in chosen
            if not (isinstance(s, RawSQL) and s.batch != 1)
        }
    if "claim" in only and any(type(s) is Ours for s in chosen):
        results["claim"] = _claim(next(s for s in chosen if type(s) is Ours), sizes)
    results["meta"]["seconds"] = round(time.time() - started)
    results["meta"]["load_after"] = os.getloadavg()
    results["targets"] = report.targets(results)
    (results_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (results_dir / "results.md").write_text(table)
    print(table)
    _chart(results_dir)
    return 0


def _systems(keys: list[str], url: str) -> list[System]:
    chosen: list[System] = []
    for key in keys:
        if key == "ours":
            chosen.append(Ours(url))
        elif key == "queue_only":
            chosen.append(OursQueueOnly(url))
        elif key == "dtdb":
            chosen.append(DjangoTasksDB(url))
        elif key == "procrastinate":
            chosen.append(Procrastinate(url))
        elif key == "raw":
            chosen += [RawSQL(url, batch=1), RawSQL(url, batch=10)]
    return chosen


def _drain(chosen: list[System], sizes) -> dict:
    results: dict[str, dict[str, Any]] = {s.key: {} for s in chosen}
    # Process counts outside, systems inside: drift in the machine's load hits all alike.
    for processes in sizes.drain_processes:
        for system in chosen:
            results[system.key][str(processes)] = scenarios.throughput(
                system,
                kind="noop",
                jobs=sizes.drain_jobs,
                processes=processes,
                concurrency=DRAIN_CONCURRENCY,
                cap=sizes.drain_cap,
            )
    return results


def _io(chosen: list[System], sizes) -> dict:
    server, http_url = scenarios.start_http_server(str(Path(sys.executable)))
    results = {}
    try:
        for system in chosen:
            if isinstance(system, RawSQL):
                continue
            system.env["BENCH_HTTP_URL"] = http_url
            results[system.key] = scenarios.throughput(
                system,
                kind="http",
                jobs=sizes.io_jobs,
                processes=1,
                concurrency=sizes.io_concurrency,
                cap=sizes.io_cap,
            )
            results[system.key]["concurrency"] = (
                sizes.io_concurrency if system.concurrency_option else 1
            )
    finally:
        server.terminate()
        server.wait(10)
    return results


def _claim(ours: Ours, sizes) -> list[dict]:
    steps = []
    for finished in sizes.claim_finished:
        waiting = sizes.claim_waiting if finished >= 1_000_000 else max(1_000, finished // 9)
        log(f"claim cost with {finished:,} finished and {waiting:,} waiting jobs")
        step = ours.tool("claim-cost", "--finished", str(finished), "--waiting", str(waiting))
        log(
            f"  {step['rows']:,} rows: claim {step['median_ms']:.2f} ms (median), "
            f"execution {step['execution_ms']:.2f} ms, index={step['uses_index']}"
        )
        steps.append(step)
    ours.reset()
    return steps


def _machine(url: str) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory_gb = round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "postgresql": str(scalar(url.rsplit("/", 1)[0] + "/postgres", "SHOW server_version")),
        "synchronous_commit": str(
            scalar(url.rsplit("/", 1)[0] + "/postgres", "SHOW synchronous_commit")
        ),
        "load_before": os.getloadavg(),
    }


def _chart(results_dir: Path) -> None:
    if not PEERS_PYTHON.exists():
        log("no chart: the peers' environment (with matplotlib) is not installed")
        return
    done = subprocess.run(
        [str(PEERS_PYTHON), "-m", "bench.chart", str(results_dir / "results.json")],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        log(f"chart failed: {done.stderr[-2000:]}")
    else:
        log(f"chart: {results_dir / 'results.png'}")
