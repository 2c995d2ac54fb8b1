"""django-tasks-db's side of the benchmark (runs in the peers' environment):
``python -m bench.peers.dtdb_tool setup|reset|fill|enqueue-rate|latency …``."""

from __future__ import annotations

import json
import os
import random
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.peers.dtdb_settings"

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_tasks_db.models import DBTaskResult, get_date_max  # noqa: E402

from bench.peers import dtdb_tasks  # noqa: E402
from bench.peers.cli import tool_parser  # noqa: E402

TASKS = {"noop": dtdb_tasks.noop, "http": dtdb_tasks.http, "stamp": dtdb_tasks.stamp}


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {DBTaskResult._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {DBTaskResult._meta.db_table}")


def fill(kind: str, count: int) -> dict:
    """Queue ``count`` tasks quickly: the rows ``enqueue`` writes, created in bulk (the backend
    has no bulk enqueue; this is set-up for the drain, not the measured enqueue)."""
    task = TASKS[kind]
    backend = task.get_backend()
    chunk = 5_000
    for start in range(0, count, chunk):
        rows = [
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs={"args": [], "kwargs": {"key": key}},
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                run_after=task.run_after or get_date_max(),  # as its pre_save does
                backend_name=backend.alias,
            )
            for key in range(start, min(count, start + chunk))
        ]
        DBTaskResult.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {DBTaskResult._meta.db_table}")
    return {"filled": count}


def enqueue_rate(single: int) -> dict:
    started = time.perf_counter()
    for key in range(single):
        with transaction.atomic():
            dtdb_tasks.noop.enqueue(key=key)
    return {"single": single / (time.perf_counter() - started), "bulk": None}


def latency(count: int, mean_gap: float, out: str) -> dict:
    committed = {}
    rng = random.Random(6)
    for key in range(count):
        time.sleep(rng.expovariate(1 / mean_gap))
        with transaction.atomic():
            dtdb_tasks.stamp.enqueue(key=key)
        committed[key] = time.time()
    with open(out, "w") as fh:
        json.dump(committed, fh)
    return {"enqueued": count}


def main() -> None:
    args = tool_parser().parse_args()
    result: dict = {}
    if args.op == "setup":
        call_command("migrate", verbosity=0, interactive=False)
    elif args.op == "reset":
        reset()
    elif args.op == "fill":
        result = fill(args.kind, args.count)
    elif args.op == "enqueue-rate":
        result = enqueue_rate(args.single)
        reset()
    else:
        result = latency(args.count, args.mean_gap, args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
