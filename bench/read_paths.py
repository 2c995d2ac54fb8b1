"""The read paths at a million jobs: ``/metrics``, ``/api/health``, the dashboard's full page
and the admin's job list filtered by status, each timed as server time through Django's test
client (no network), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobs_bench_reads \\
        .venv/bin/python -m bench.read_paths --rows 1000000 --last-hour 100000

Fills the job table (its own database: the rows stay, a second run reuses them) with
``--rows`` finished jobs, ``--last-hour`` of them finished in the last hour and the rest over
the week before, plus a few hundred queued and running ones, then times each path ``--repeat``
times after one warm-up and prints one JSON line: the median and the worst per path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("METRICS_TOKEN", "bench-metrics-token-0123456789")
os.environ.setdefault("LOG_LEVEL", "WARNING")

TYPES = ["transcribe", "sop_extract", "analysis", "render", "storyboard", "noop", "asset_prep"]
QUEUES = ["default", "ai", "video"]

FILL = """
INSERT INTO jobs_job (type, queue, priority, status, payload, error, traceback, usage,
    attempts, max_attempts, run_at, timeout, created_at, started_at, finished_at, worker_id,
    cancel_requested, progress, current_step, held_reason)
SELECT ({types})[1 + i %% {ntypes}], ({queues})[1 + i %% {nqueues}], 0,
    CASE WHEN i %% 50 = 2 THEN 'failed' WHEN i %% 200 = 3 THEN 'cancelled' ELSE 'succeeded' END,
    '{{}}'::jsonb, CASE WHEN i %% 50 = 2 THEN 'RuntimeError: boom' ELSE '' END, '',
    '{{}}'::jsonb, 1, 3, t - interval '3 seconds', 300, t - interval '3 seconds',
    t - interval '2 seconds', t, '', false, 100, '', ''
FROM (SELECT i, now() - %(span)s * random() - %(offset)s AS t
      FROM generate_series(1, %(count)s) AS i) AS s
"""

LIVE = """
INSERT INTO jobs_job (type, queue, priority, status, payload, error, traceback, usage,
    attempts, max_attempts, run_at, timeout, created_at, started_at, finished_at, worker_id,
    lease_expires_at, cancel_requested, progress, current_step, held_reason)
SELECT 'noop', 'default', 0, %(status)s, '{}'::jsonb, '', '', '{}'::jsonb,
    CASE WHEN %(status)s = 'running' THEN 1 ELSE 0 END, 3, now() - interval '5 seconds', 300,
    now() - interval '5 seconds', CASE WHEN %(status)s = 'running' THEN now() END, NULL,
    CASE WHEN %(status)s = 'running' THEN 'bench-reads' ELSE '' END,
    CASE WHEN %(status)s = 'running' THEN now() + interval '1 hour' END, false, 0, '', ''
FROM generate_series(1, %(count)s)
"""


def seed(rows: int, last_hour: int) -> int:
    from datetime import timedelta

    from django.db import connection

    from jobs.models import Job

    if Job.objects.count() >= rows:
        return Job.objects.count()
    types = "ARRAY[" + ",".join(f"'{t}'" for t in TYPES) + "]"
    queues = "ARRAY[" + ",".join(f"'{q}'" for q in QUEUES) + "]"
    sql = FILL.format(types=types, ntypes=len(TYPES), queues=queues, nqueues=len(QUEUES))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_jobattempt, jobs_job RESTART IDENTITY CASCADE")
        older = rows - last_hour
        for start in range(0, older, 200_000):
            count = min(200_000, older - start)
            cursor.execute(
                sql,
                {"span": timedelta(days=7), "offset": timedelta(hours=1), "count": count},
            )
        cursor.execute(
            sql, {"span": timedelta(minutes=59), "offset": timedelta(0), "count": last_hour}
        )
        # One attempt row per job that ran, as the worker writes them; a few retries.
        cursor.execute(
            "INSERT INTO jobs_jobattempt (job_id, number, worker_id, started_at, finished_at,"
            " outcome, error) SELECT id, 1, 'bench', started_at, finished_at,"
            " CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE status END, error"
            " FROM jobs_job WHERE started_at IS NOT NULL"
        )
        cursor.execute(LIVE, {"status": "queued", "count": 500})
        cursor.execute(LIVE, {"status": "running", "count": 8})
        cursor.execute("VACUUM ANALYZE jobs_job")
        cursor.execute("VACUUM ANALYZE jobs_jobattempt")
    return Job.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--last-hour", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from jobs.models import Worker

    assert connection.vendor == "postgresql", "the read paths are measured on PostgreSQL"
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    total = seed(options.rows, options.last_hour)
    seeded = time.perf_counter() - started
    Worker.objects.update_or_create(
        pk="bench-reads", defaults={"hostname": "bench", "pid": 1, "concurrency": 8}
    )
    user, _ = get_user_model().objects.get_or_create(
        username="bench-reads", defaults={"is_staff": True, "is_superuser": True}
    )
    staff = Client()
    staff.force_login(user)
    anonymous = Client()
    token = {"Authorization": f"Bearer {os.environ['METRICS_TOKEN']}"}
    paths = {
        "/metrics": lambda: anonymous.get("/metrics", headers=token),
        "/api/health": lambda: anonymous.get("/api/health"),
        "dashboard /test-worker/": lambda: staff.get("/test-worker/"),
        "admin jobs ?status=failed": lambda: staff.get("/admin/jobs/job/?status__exact=failed"),
    }
    results = {}
    load = os.getloadavg()  # after the fill: the machine's load as the timing starts
    for name, call in paths.items():
        response = call()  # warm-up
        assert response.status_code in (200, 503), (name, response.status_code)
        times = []
        for _ in range(options.repeat):
            begin = time.perf_counter()
            call()
            times.append((time.perf_counter() - begin) * 1000)
        results[name] = {"median_ms": statistics.median(times), "worst_ms": max(times)}
        print(
            f"{name:32} median {results[name]['median_ms']:8.1f} ms  "
            f"worst {results[name]['worst_ms']:8.1f} ms",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "rows": total,
                "last_hour": options.last_hour,
                "seeded_s": seeded,
                "paths": results,
                "load_before": load,
            }
        )
    )


if __name__ == "__main__":
    main()
