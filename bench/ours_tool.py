"""Our side of the benchmark, run in the project's own environment with DATABASE_URL set:
``python -m bench.ours_tool reset|fill|enqueue-rate|latency …``; prints one JSON line."""

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
from jobs.services import enqueue, enqueue_many  # noqa: E402

CHUNK = 5_000


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


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="op", required=True)
    sub.add_parser("reset")
    p = sub.add_parser("fill")
    p.add_argument("--type", default="noop")
    p.add_argument("--count", type=int, required=True)
    p = sub.add_parser("enqueue-rate")
    p.add_argument("--single", type=int, required=True)
    p.add_argument("--bulk", type=int, required=True)
    p = sub.add_parser("latency")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--mean-gap", type=float, required=True)
    p.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.op == "reset":
        result = reset()
    elif args.op == "fill":
        result = fill(args.type, args.count)
    elif args.op == "enqueue-rate":
        result = enqueue_rate(args.single, args.bulk)
    else:
        result = latency(args.count, args.mean_gap, args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
