"""Procrastinate's side of the benchmark (runs in the peers' environment):
``python -m bench.peers.procrastinate_tool setup|reset|fill|enqueue-rate|latency …``."""

from __future__ import annotations

import json
import os
import random
import time

import psycopg

from bench.peers.cli import tool_parser
from bench.peers.procrastinate_app import app, http, noop, stamp

TASKS = {"noop": noop, "http": http, "stamp": stamp}


def _sql(statement: str) -> None:
    url = os.environ["BENCH_PROCRASTINATE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


def reset() -> None:
    _sql("TRUNCATE procrastinate_jobs CASCADE")
    _sql("VACUUM ANALYZE procrastinate_jobs")


def fill(kind: str, count: int) -> dict:
    task = TASKS[kind]
    chunk = 5_000
    with app.open():
        for start in range(0, count, chunk):
            task.batch_defer(*({"key": key} for key in range(start, min(count, start + chunk))))
    _sql("ANALYZE procrastinate_jobs")
    return {"filled": count}


def enqueue_rate(single: int, bulk: int) -> dict:
    with app.open():
        started = time.perf_counter()
        for key in range(single):
            noop.defer(key=key)  # each defer is its own transaction
        single_rate = single / (time.perf_counter() - started)
        started = time.perf_counter()
        noop.batch_defer(*({"key": key} for key in range(bulk)))
        bulk_rate = bulk / (time.perf_counter() - started)
    return {"single": single_rate, "bulk": bulk_rate}


def latency(count: int, mean_gap: float, out: str) -> dict:
    committed = {}
    rng = random.Random(6)
    with app.open():
        for key in range(count):
            time.sleep(rng.expovariate(1 / mean_gap))
            stamp.defer(key=key)
            committed[key] = time.time()
    with open(out, "w") as fh:
        json.dump(committed, fh)
    return {"enqueued": count}


def main() -> None:
    args = tool_parser().parse_args()
    result: dict = {}
    if args.op == "setup":
        with app.open():
            app.schema_manager.apply_schema()
    elif args.op == "reset":
        reset()
    elif args.op == "fill":
        result = fill(args.kind, args.count)
    elif args.op == "enqueue-rate":
        result = enqueue_rate(args.single, args.bulk)
        reset()
    else:
        result = latency(args.count, args.mean_gap, args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
