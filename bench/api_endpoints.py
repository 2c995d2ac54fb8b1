"""How long the monitoring endpoints and the API take as the jobs table grows.

    python bench/api_endpoints.py [--jobs 10000 100000] [--repeat 20]

Uses its own database: a fresh SQLite file in var/ unless DATABASE_URL is set (then that
database must be a throwaway one: the bench adds jobs to it). Prints one line per measure with
the median and the 90th percentile in milliseconds; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "DATABASE_URL" not in os.environ:
    database = ROOT / "var" / "bench_api.sqlite3"
    database.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("METRICS_TOKEN", "bench-metrics-token-0123456789")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from api.models import ApiToken  # noqa: E402
from jobs.models import Job  # noqa: E402
from jobs.services import enqueue_many  # noqa: E402


def measure(label: str, call, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 500, response.content[:200]
    times.sort()
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    print(f"{label:<44} median {statistics.median(times):8.1f} ms   p90 {p90:8.1f} ms")


def grow_to(total: int, owner) -> None:
    missing = total - Job.objects.count()
    now = timezone.now()
    while missing > 0:
        batch = min(missing, 5000)
        jobs = enqueue_many("noop", [{"i": i} for i in range(batch)], owner=owner)
        # Most jobs in a real table are finished: make 90% of them so, over the last hour.
        done = [job.pk for job in jobs[: batch * 9 // 10]]
        Job.objects.filter(pk__in=done).update(
            status=Job.Status.SUCCEEDED, started_at=now, finished_at=now, progress=100
        )
        missing -= batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True})
    _, raw = ApiToken.objects.create_token(user=user, name="bench")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    metrics = Client(headers={"Authorization": f"Bearer {os.environ['METRICS_TOKEN']}"})
    print(f"database: {django.db.connection.vendor}")
    for total in sorted(args.jobs):
        grow_to(total, user)
        print(f"--- {Job.objects.count():,} jobs")
        for client, path in (
            (api, "/api/health"),
            (metrics, "/metrics"),
            (api, "/api/jobs?action=stats"),
            (api, "/api/jobs?action=pending"),
        ):
            measure(f"GET {path}", lambda client=client, path=path: client.get(path), args.repeat)
        measure(
            "POST /api/jobs/noop/start",
            lambda: api.post("/api/jobs/noop/start", {}, content_type="application/json"),
            args.repeat,
        )


if __name__ == "__main__":
    main()
