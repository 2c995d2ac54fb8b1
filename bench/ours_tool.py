"""Our side of the benchmark, run in the project's own environment with DATABASE_URL set:
``python -m bench.ours_tool reset|fill|enqueue-rate|latency|fill-fast|claim-cost …``; prints
one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import random
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("JOBS_HANDLER_MODULES", "bench.handlers")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

import bench.handlers  # noqa: E402, F401 - registers the bench job types here too
from bench.peers.cli import add_common_ops  # noqa: E402
from jobs.services import enqueue, enqueue_many  # noqa: E402

CHUNK = 5_000
#: The job type of each kind of work bench/systems.py asks for.
TYPES = {"noop": "noop", "http": "bench_http", "stamp": "bench_stamp"}


def reset() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_jobattempt, jobs_job, jobs_worker RESTART IDENTITY CASCADE")
        cursor.execute("VACUUM ANALYZE jobs_job")
        cursor.execute("VACUUM ANALYZE jobs_jobattempt")
    return {}


def fill(job_type: str, count: int) -> dict:
    for start in range(0, count, CHUNK):
        payloads = [{"key": key} for key in range(start, min(count, start + CHUNK))]
        enqueue_many(job_type, payloads)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE jobs_job")
    return {"filled": count}


def fill_fast(count: int) -> dict:
    """Queue ``count`` noop jobs in one INSERT … SELECT (the memory scenario's fill, which is not
    what it measures)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO jobs_job (type, queue, priority, status, payload, error, traceback,"
            " usage, attempts, max_attempts, run_at, timeout, created_at, worker_id,"
            " cancel_requested, progress, current_step, held_reason)"
            " SELECT 'noop', 'default', 0, 'queued', jsonb_build_object('key', n), '', '',"
            " '{}'::jsonb, 0, 3, now() - interval '1 minute', 300, now(), '', false, 0, '', ''"
            " FROM generate_series(1, %s) AS n",
            [count],
        )
        cursor.execute("VACUUM ANALYZE jobs_job")
    return {"filled": count}


def enqueue_rate(single: int, bulk: int) -> dict:
    started = time.perf_counter()
    for key in range(single):
        with transaction.atomic():
            enqueue("noop", {"key": key})
    single_rate = single / (time.perf_counter() - started)
    started = time.perf_counter()
    enqueue_many("noop", [{"key": key} for key in range(bulk)])
    bulk_rate = bulk / (time.perf_counter() - started)
    return {"single": single_rate, "bulk": bulk_rate}


def latency(count: int, mean_gap: float, out: str) -> dict:
    committed = {}
    rng = random.Random(6)
    for key in range(count):
        time.sleep(rng.expovariate(1 / mean_gap))
        enqueue("bench_stamp", {"key": key})  # its own transaction; the NOTIFY goes at commit
        committed[key] = time.time()
    with open(out, "w") as fh:
        json.dump(committed, fh)
    return {"enqueued": count}


POPULATE = """
INSERT INTO jobs_job (type, queue, priority, status, payload, result, error, traceback, usage,
    attempts, max_attempts, run_at, timeout, created_at, started_at, finished_at, worker_id,
    lease_expires_at, cancel_requested, progress, current_step, held_reason)
SELECT 'noop', 'default', 0, %(status)s, jsonb_build_object('key', n),
    CASE WHEN %(status)s = 'succeeded' THEN '{}'::jsonb END, '', '', '{}'::jsonb,
    CASE WHEN %(status)s = 'succeeded' THEN 1 ELSE 0 END, 3,
    now() - interval '1 day' + n * interval '1 millisecond', 300,
    now() - interval '1 day', NULL,
    CASE WHEN %(status)s = 'succeeded' THEN now() - interval '1 hour' END, '', NULL, false,
    CASE WHEN %(status)s = 'succeeded' THEN 100 ELSE 0 END, '', ''
FROM generate_series(1, %(count)s) AS n
"""


def claim_cost(finished: int, waiting: int, claims: int, batch: int) -> dict:
    """With ``finished`` done jobs and ``waiting`` queued ones in the table: how long the claim
    of ``batch`` jobs takes (the worker's own call), and the plan PostgreSQL picks for it."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs import fastpath
    from jobs.models import Job

    reset()
    with connection.cursor() as cursor:
        # Finished jobs first, so the waiting ones are the newest rows, as in real life.
        for status, count in (("succeeded", finished), ("queued", waiting)):
            for start in range(0, count, 200_000):
                cursor.execute(POPULATE, {"status": status, "count": min(200_000, count - start)})
        cursor.execute("VACUUM ANALYZE jobs_job")
        cursor.execute("SELECT count(*) FROM jobs_job")
        rows = cursor.fetchone()[0]
    # The plan and its execution time first, on the freshly vacuumed table: the median of five
    # EXPLAIN ANALYZE runs, each rolled back.
    runs = []
    for _ in range(5):
        now = timezone.now()
        params = {
            "now": now,
            "limit": batch,
            "worker": "bench-explain",
            "lease": now + timedelta(seconds=30),
        }
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + fastpath._claim_sql(""), params)
            plan = [row[0] for row in cursor.fetchall()]
            transaction.set_rollback(True)
        execution = next(line for line in plan if line.startswith("Execution Time"))
        runs.append((float(execution.split(":")[1].split()[0]), plan))
    runs.sort(key=lambda run: run[0])
    execution_ms, plan = runs[len(runs) // 2]
    buffers = next((line.strip() for line in plan if "Buffers:" in line), "")
    # Then the worker's own call, timed: it includes the round trip and the commit.
    timings = []
    for _ in range(claims):
        started = time.perf_counter()
        jobs = Job.objects.claim(worker_id="bench-claim", limit=batch)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(jobs) == batch
    timings.sort()
    return {
        "execution_ms": execution_ms,
        "buffers": buffers,
        "rows": rows,
        "finished": finished,
        "waiting": waiting,
        "batch": batch,
        "claims": claims,
        "median_ms": timings[len(timings) // 2],
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "uses_index": any("job_ready_idx" in line for line in plan),
        "seq_scan": any("Seq Scan" in line for line in plan),
        "plan": plan,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="op", required=True)
    sub.add_parser("reset")
    add_common_ops(sub)
    p = sub.add_parser("fill-fast")
    p.add_argument("--count", type=int, required=True)
    p = sub.add_parser("claim-cost")
    p.add_argument("--finished", type=int, required=True)
    p.add_argument("--waiting", type=int, required=True)
    p.add_argument("--claims", type=int, default=50)
    p.add_argument("--batch", type=int, default=10)
    args = parser.parse_args()
    if args.op == "claim-cost":
        result = claim_cost(args.finished, args.waiting, args.claims, args.batch)
    elif args.op == "reset":
        result = reset()
    elif args.op == "fill-fast":
        result = fill_fast(args.count)
    elif args.op == "fill":
        result = fill(TYPES[args.kind], args.count)
    elif args.op == "enqueue-rate":
        result = enqueue_rate(args.single, args.bulk)
    else:
        result = latency(args.count, args.mean_gap, args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
