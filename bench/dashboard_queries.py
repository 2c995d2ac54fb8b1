"""How fast the /test-worker dashboard's queries are with a million jobs in the table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobs_bench_dashboard \\
        .venv/bin/python -m bench.dashboard_queries --rows 1000000

Creates the database's tables (migrate), fills the job table up to ``--rows`` rows with a
realistic mix (almost all finished over the last week, a few hundred queued and running), then
runs every query one dashboard refresh makes, ``--repeat`` times each, and prints the median
and worst time per query, the time of a whole refresh, and on PostgreSQL the plan of each query
(so a sequential scan over the table shows at once). Use a database of its own: the rows stay.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TYPES = [
    "transcribe",
    "sop_extract",
    "analysis",
    "render",
    "storyboard",
    "noop",
    "sleep",
    "asset_prep",
]
QUEUES = ["default", "ai", "video"]


def seed(rows: int) -> int:
    """Fill the job table up to ``rows`` rows in a few big INSERT … SELECT statements."""
    from django.db import connection

    from jobs.models import Job

    have = Job.objects.count()
    missing = rows - have
    if missing <= 0:
        return have
    types = "ARRAY[" + ",".join(f"'{t}'" for t in TYPES) + "]"
    queues = "ARRAY[" + ",".join(f"'{q}'" for q in QUEUES) + "]"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                INSERT INTO jobs_job (type, queue, priority, status, payload, error, traceback,
                    usage, attempts, max_attempts, run_at, timeout, created_at, started_at,
                    finished_at, worker_id, cancel_requested, progress, current_step, held_reason)
                SELECT ({types})[1 + i %% {len(TYPES)}], ({queues})[1 + i %% {len(QUEUES)}], 0,
                    CASE WHEN i %% 2000 = 0 THEN 'queued' WHEN i %% 20000 = 1 THEN 'running'
                         WHEN i %% 50 = 2 THEN 'failed' WHEN i %% 200 = 3 THEN 'cancelled'
                         ELSE 'succeeded' END,
                    '{{}}'::jsonb, CASE WHEN i %% 50 = 2 THEN 'RuntimeError: boom' ELSE '' END, '',
                    '{{}}'::jsonb, 1, 3, t, 300, t, t, CASE WHEN i %% 2000 = 0 OR i %% 20000 = 1
                    THEN NULL ELSE t + interval '3 seconds' END,
                    CASE WHEN i %% 20000 = 1 THEN 'bench-worker' ELSE '' END, false, 0, '', ''
                FROM (SELECT i, now() - (random() * interval '7 days') AS t
                      FROM generate_series(1, %s) AS i) AS s
                """,
                [missing],
            )
            cursor.execute("ANALYZE jobs_job")
        else:
            batch = 100_000
            done = 0
            while done < missing:
                n = min(batch, missing - done)
                cursor.execute(
                    """
                    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %s)
                    INSERT INTO jobs_job (type, queue, priority, status, payload, error,
                        traceback, usage, attempts, max_attempts, run_at, timeout, created_at,
                        started_at, finished_at, worker_id, cancel_requested, progress,
                        current_step, held_reason)
                    SELECT 'noop', 'default', 0,
                        CASE WHEN i %% 2000 = 0 THEN 'queued' WHEN i %% 50 = 2 THEN 'failed'
                             ELSE 'succeeded' END,
                        '{}', '', '', '{}', 1, 3, t, 300, t, t,
                        CASE WHEN i %% 2000 = 0 THEN NULL ELSE t END, '', 0, 0, '', ''
                    FROM (SELECT i, datetime('now', '-' || (abs(random()) %% 604800) || ' seconds')
                          AS t FROM s)
                    """,
                    [n],
                )
                done += n
            cursor.execute("ANALYZE")
    return Job.objects.count()


def queries() -> dict[str, Callable[[], Any]]:
    from jobs import insight, selectors

    return {
        "job_counts_by_status (all, exact)": selectors.job_counts_by_status,
        "dashboard_counts (totals cached)": selectors.dashboard_counts,
        "waiting (ready, scheduled, oldest)": selectors.waiting,
        "stuck_count": selectors.stuck_count,
        "queue_depths": selectors.queue_depths,
        "throughput (last hour)": selectors.throughput,
        "pending_jobs (20)": selectors.pending_jobs,
        "active_jobs (50)": selectors.active_jobs,
        "recent_failures (20)": selectors.recent_failures,
        "worker_statuses": selectors.worker_statuses,
        "queue_summaries (queue states)": insight.queue_summaries,
    }


def explain(name: str, func: Callable[[], Any]) -> list[str]:
    """The plans of the SQL statements ``func`` runs (PostgreSQL only)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        func()
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--plans", action="store_true", help="print query plans (PostgreSQL)")
    options = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    total = seed(options.rows)
    print(
        f"{connection.vendor}: {total:,} jobs (seeding took {time.perf_counter() - started:.1f}s)"
    )
    refresh = 0.0
    for name, func in queries().items():
        func()  # warm up
        times = []
        for _ in range(options.repeat):
            start = time.perf_counter()
            func()
            times.append((time.perf_counter() - start) * 1000)
        median = statistics.median(times)
        if not name.startswith("job_counts_by_status"):  # the jobstats command's, not ours
            refresh += median
        print(f"  {name:38} median {median:8.2f} ms   worst {max(times):8.2f} ms")
        if options.plans and connection.vendor == "postgresql":
            for plan in explain(name, func):
                print("    " + plan.replace("\n", "\n    "))
    print(f"  {'one dashboard refresh (sum of medians)':38} {refresh:8.2f} ms")
    pages(options.repeat)


def pages(repeat: int) -> None:
    """Whole pages through Django's test client: the dashboard and the admin's job list."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    for name, url in [
        ("page /test-worker/", "/test-worker/"),
        ("page /admin/jobs/job/", "/admin/jobs/job/"),
        ("page /admin/jobs/job/?status__exact=failed", "/admin/jobs/job/?status__exact=failed"),
    ]:
        times = []
        for _ in range(max(3, repeat // 4)):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"  {name:38} median {statistics.median(times):8.2f} ms   worst {max(times):8.2f} ms")


if __name__ == "__main__":
    main()
