"""Celery's side of the benchmark (runs in the peers' environment):
``python -m bench.peers.celery_tool reset|fill|done|enqueue-rate|latency …``.

Enqueueing as a careful Django team does: inside ``transaction.atomic()`` on PostgreSQL, the
task sent with ``transaction.on_commit`` so that a worker never sees a task whose data did not
commit. The transaction writes nothing else, so the "one per transaction" row measures the
publish to Redis after an (empty) commit; Celery has no bulk send, so the bulk row sends a
``group`` of tasks in one call.
"""

from __future__ import annotations

import json
import os
import random
import time
from urllib.parse import urlsplit

import django
import redis
from django.conf import settings

from bench.peers.celery_app import DONE_KEY, app, http, noop, stamp
from bench.peers.cli import tool_parser

TASKS = {"noop": noop, "http": http, "stamp": stamp}


def _django() -> None:
    url = urlsplit(os.environ["BENCH_CELERY_DB_URL"])
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": url.path.lstrip("/"),
                "USER": url.username or "postgres",
                "PASSWORD": url.password or "",
                "HOST": url.hostname or "127.0.0.1",
                "PORT": url.port or 5432,
                "CONN_MAX_AGE": 60,
                "CONN_HEALTH_CHECKS": True,
            }
        },
        USE_TZ=True,
    )
    django.setup()


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["BENCH_CELERY_BROKER"])


def reset() -> dict:
    _redis().flushdb()
    return {}


def done() -> dict:
    return {"done": int(_redis().get(DONE_KEY) or 0)}


def fill(kind: str, count: int) -> dict:
    task = TASKS[kind]
    with app.producer_or_acquire() as producer:
        for key in range(count):
            task.apply_async((key,), producer=producer)
    return {"filled": count}


def enqueue_rate(single: int, bulk: int) -> dict:
    from celery import group
    from django.db import transaction

    _django()
    started = time.perf_counter()
    for key in range(single):
        with transaction.atomic():
            transaction.on_commit(lambda key=key: noop.delay(key))
    single_rate = single / (time.perf_counter() - started)
    started = time.perf_counter()
    with transaction.atomic():
        transaction.on_commit(lambda: group(noop.s(key) for key in range(bulk)).apply_async())
    bulk_rate = bulk / (time.perf_counter() - started)
    reset()
    return {"single": single_rate, "bulk": bulk_rate}


def latency(count: int, mean_gap: float, out: str) -> dict:
    from django.db import transaction

    _django()
    committed: dict[int, float] = {}
    rng = random.Random(6)

    def send(key: int) -> None:
        committed[key] = time.time()  # the commit has happened; now the publish
        stamp.delay(key)

    for key in range(count):
        time.sleep(rng.expovariate(1 / mean_gap))
        with transaction.atomic():
            transaction.on_commit(lambda key=key: send(key))
    with open(out, "w") as fh:
        json.dump(committed, fh)
    return {"enqueued": count}


def main() -> None:
    args = tool_parser("done").parse_args()
    result: dict = {}
    if args.op in ("setup", "reset"):
        result = reset()
    elif args.op == "done":
        result = done()
    elif args.op == "fill":
        result = fill(args.kind, args.count)
    elif args.op == "enqueue-rate":
        result = enqueue_rate(args.single, args.bulk)
    else:
        result = latency(args.count, args.mean_gap, args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
