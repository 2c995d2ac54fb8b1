"""The database's own limit: a queue in plain SQL over psycopg, no framework at all.

A worker claims with ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)
RETURNING`` and completes with one ``UPDATE``, each statement its own transaction. With
``--batch 1`` that is one job at a time (the baseline the targets compare with); a larger batch
shows how far batching alone goes. ``python -m bench.raw schema|fill|worker|enqueue-rate``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import psycopg
from psycopg.types.json import Jsonb

SCHEMA = """
DROP TABLE IF EXISTS raw_job;
CREATE TABLE raw_job (
    id bigserial PRIMARY KEY,
    queue text NOT NULL DEFAULT 'default',
    priority integer NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'queued',
    payload jsonb NOT NULL DEFAULT '{}',
    result jsonb,
    attempts integer NOT NULL DEFAULT 0,
    run_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    worker_id text NOT NULL DEFAULT ''
);
CREATE INDEX raw_job_claim ON raw_job (queue, priority DESC, run_at, id)
    WHERE status = 'queued';
"""

CLAIM = """
UPDATE raw_job SET status = 'running', attempts = attempts + 1, started_at = now(),
    worker_id = %(worker)s
WHERE id IN (
    SELECT id FROM raw_job
    WHERE status = 'queued' AND queue = 'default' AND run_at <= now()
    ORDER BY priority DESC, run_at, id
    FOR UPDATE SKIP LOCKED
    LIMIT %(limit)s
)
RETURNING id, payload
"""

COMPLETE = """
UPDATE raw_job SET status = 'succeeded', result = %(result)s, finished_at = now()
WHERE id = ANY(%(ids)s) AND worker_id = %(worker)s AND status = 'running'
"""


def connect() -> psycopg.Connection:
    url = os.environ["BENCH_RAW_URL"].replace("postgres://", "postgresql://", 1)
    return psycopg.connect(url, autocommit=True)


def schema() -> dict:
    with connect() as conn:
        conn.execute(SCHEMA)
    return {}


def fill(count: int) -> dict:
    with connect() as conn:
        conn.execute("TRUNCATE raw_job RESTART IDENTITY")
        with conn.cursor().copy("COPY raw_job (payload) FROM STDIN") as copy:
            for key in range(count):
                copy.write_row([Jsonb({"key": key})])
        conn.execute("VACUUM ANALYZE raw_job")
    return {"filled": count}


def worker(batch: int) -> dict:
    worker_id = f"raw-{os.getpid()}"
    done = 0
    with connect() as conn:
        while True:
            rows = conn.execute(CLAIM, {"worker": worker_id, "limit": batch}).fetchall()
            if not rows:
                return {"done": done}
            if batch == 1:
                job_id, payload = rows[0]
                params = {"result": Jsonb(payload), "ids": [job_id], "worker": worker_id}
                conn.execute(COMPLETE, params)
            else:
                ids = [row[0] for row in rows]
                conn.execute(COMPLETE, {"result": Jsonb({}), "ids": ids, "worker": worker_id})
            done += len(rows)


def enqueue_rate(single: int, bulk: int) -> dict:
    with connect() as conn:
        started = time.perf_counter()
        for key in range(single):
            conn.execute("INSERT INTO raw_job (payload) VALUES (%s)", [Jsonb({"key": key})])
        single_rate = single / (time.perf_counter() - started)
        started = time.perf_counter()
        with conn.transaction(), conn.cursor().copy("COPY raw_job (payload) FROM STDIN") as copy:
            for key in range(bulk):
                copy.write_row([Jsonb({"key": key})])
        bulk_rate = bulk / (time.perf_counter() - started)
        conn.execute("TRUNCATE raw_job RESTART IDENTITY")
    return {"single": single_rate, "bulk": bulk_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="op", required=True)
    sub.add_parser("schema")
    p = sub.add_parser("fill")
    p.add_argument("--count", type=int, required=True)
    p = sub.add_parser("worker")
    p.add_argument("--batch", type=int, default=1)
    p = sub.add_parser("enqueue-rate")
    p.add_argument("--single", type=int, required=True)
    p.add_argument("--bulk", type=int, required=True)
    args = parser.parse_args()
    if args.op == "schema":
        result = schema()
    elif args.op == "fill":
        result = fill(args.count)
    elif args.op == "worker":
        result = worker(args.batch)
    else:
        result = enqueue_rate(args.single, args.bulk)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
