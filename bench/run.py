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
    RedisServer,
    ensure_peers_venv,
    log,
    scalar,
)
from bench.systems import (
    Celery,
    DjangoTasksDB,
    Ours,
    OursQueueOnly,
    Procrastinate,
    RawSQL,
    System,
)

SCENARIOS = ("drain", "io", "latency", "enqueue", "longtx", "pgbouncer", "memory", "claim", "reads")
SYSTEMS = ("ours", "queue_only", "dtdb", "procrastinate", "celery", "raw")
DRAIN_CONCURRENCY = 8  # jobs at once per worker process: ours (threads) and Procrastinate


def run(*, only: list[str], systems: list[str], quick: bool, url: str, out: str | None) -> int:
    redis = None
    if {"dtdb", "procrastinate", "celery"} & set(systems):
        ensure_peers_venv()
    if "celery" in systems:
        redis = RedisServer()
        log(f"redis-server for Celery on {redis.url}")
    try:
        return _run(only, systems, quick, url, out, redis)
    finally:
        if redis is not None:
            redis.stop()


def _run(
    only: list[str],
    systems: list[str],
    quick: bool,
    url: str,
    out: str | None,
    redis: RedisServer | None,
) -> int:
    sizes = QUICK if quick else FULL
    results_dir = Path(out) if out else RESULTS
    results_dir.mkdir(parents=True, exist_ok=True)
    chosen = _systems(systems, url, redis.url if redis else "")
    started = time.time()
    results: dict[str, Any] = {
        "meta": _machine(url) | {"quick": quick, "sizes": sizes.__dict__},
        "systems": {s.key: s.label for s in chosen},
    }
    log(f"setting up {', '.join(s.label for s in chosen)}")
    for system in chosen:
        system.setup()
    _mark(results, "drain", only)
    if "drain" in only:
        results["drain"] = _drain(chosen, sizes)
    # The queue alone is only the drain's yardstick for what the hooks cost.
    chosen = [s for s in chosen if not isinstance(s, OursQueueOnly)]
    _mark(results, "io", only)
    if "io" in only:
        results["io"] = _io(chosen, sizes)
    _mark(results, "latency", only)
    if "latency" in only:
        results["latency"] = {
            s.key: scenarios.latency(s, sizes=sizes, concurrency=DRAIN_CONCURRENCY)
            for s in chosen
            if not isinstance(s, RawSQL)
        }
    _mark(results, "enqueue", only)
    if "enqueue" in only:
        results["enqueue"] = {
            s.key: scenarios.enqueue(s, sizes=sizes)
            for s in chosen
            if not (isinstance(s, RawSQL) and s.batch != 1)
        }
    ours = next((s for s in chosen if type(s) is Ours), None)
    _mark(results, "longtx", only)
    if "longtx" in only:
        results["longtx"] = _long_transaction(chosen, sizes)
    _mark(results, "pgbouncer", only)
    if "pgbouncer" in only and ours is not None:
        results["pgbouncer"] = _pgbouncer(ours, sizes)
    _mark(results, "memory", only)
    if "memory" in only and ours is not None:
        results["memory"] = scenarios.memory_growth(
            ours, jobs=sizes.memory_jobs, cap=sizes.memory_cap
        )
    _mark(results, "claim", only)
    if "claim" in only and ours is not None:
        results["claim"] = _claim(ours, sizes)
    _mark(results, "reads", only)
    if "reads" in only and ours is not None:
        results["reads"] = _reads(url, sizes)
    results["meta"]["seconds"] = round(time.time() - started)
    results["meta"]["load_after"] = os.getloadavg()
    results["targets"] = report.targets(results)
    (results_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (results_dir / "results.md").write_text(table)
    print(table)
    _chart(results_dir)
    return 0


def _mark(results: dict, scenario: str, only: list[str]) -> None:
    """The load average as a scenario starts (printed beside its table)."""
    if scenario in only:
        results["meta"].setdefault("loads", {})[scenario] = os.getloadavg()


def _systems(keys: list[str], url: str, broker: str) -> list[System]:
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
        elif key == "celery":
            chosen.append(Celery(url, broker))
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


def _long_transaction(chosen: list[System], sizes) -> dict:
    """Drain with 2 processes, clean and then with an idle REPEATABLE READ transaction open for
    the whole run, one after the other for each system (ours and raw SQL at 10 per claim)."""
    results: dict[str, dict[str, Any]] = {}
    for system in chosen:
        if system.key not in ("ours", "raw10"):
            continue
        results[system.key] = {
            state: scenarios.throughput(
                system,
                kind="noop",
                jobs=sizes.drain_jobs,
                processes=2,
                concurrency=DRAIN_CONCURRENCY,
                cap=sizes.drain_cap,
                hold_snapshot=state == "held",
                label=f"-{state}",
            )
            for state in ("clean", "held")
        }
    return results


def _pgbouncer(ours: Ours, sizes) -> dict:
    """Many worker processes straight to PostgreSQL, then the same through PgBouncer in
    transaction mode (prepared statements off, LISTEN direct), and straight again with
    prepared statements off: what the pooler and the unprepared statements each cost."""
    from tests.support.pgbouncer import PgBouncer, binary

    if binary() is None:
        log("no pgbouncer: scripts/install-system-deps installs it")
        return {}
    processes = sizes.pgbouncer_processes
    bouncer = PgBouncer(ours.url, pool_size=10)
    try:
        runs = {
            "direct": {},
            "pgbouncer": {
                "DATABASE_URL": bouncer.url(),
                "JOBS_LISTEN_DATABASE_URL": ours.url,
                "JOBS_PREPARED_STATEMENTS": "false",
            },
            "direct_unprepared": {"JOBS_PREPARED_STATEMENTS": "false"},
        }
        return {
            name: scenarios.throughput(
                ours,
                kind="noop",
                jobs=sizes.drain_jobs,
                processes=processes,
                concurrency=DRAIN_CONCURRENCY,
                cap=sizes.drain_cap,
                env=env,
                label=f"-{name}",
            )
            | {"processes": processes}
            for name, env in runs.items()
        }
    finally:
        bouncer.stop()


def _reads(url: str, sizes) -> dict:
    """The read paths (bench/read_paths.py) in a database of their own, ``<name>_reads``."""
    from bench.common import base_env, database_url, recreate_database, run_json

    reads_url = database_url(url, "reads")
    recreate_database(reads_url)
    log(f"read paths at {sizes.reads_rows:,} jobs (filling the table first)")
    result = run_json(
        [
            str(sys.executable),
            *("-m", "bench.read_paths", "--rows", str(sizes.reads_rows)),
            *("--last-hour", str(sizes.reads_last_hour), "--repeat", "15"),
        ],
        base_env(DATABASE_URL=reads_url, DJANGO_SETTINGS_MODULE="config.settings"),
    )
    log(f"read paths: {result['paths']}")
    return result


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
