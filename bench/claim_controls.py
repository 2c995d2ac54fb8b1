"""What queue controls cost the claim (PostgreSQL): an unlimited queue's claim with no queue
records, with paused and limited queues present, and a limited queue's own claim.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobs_bench_controls \\
        .venv/bin/python -m bench.claim_controls --rows 1000000

Fills the table like ``bench.dashboard_queries`` (a few hundred queued jobs per 1M), then times
each claim of 10 jobs ``--repeat`` times inside a transaction that is rolled back (so every
repetition sees the same table; the commit is left out of every variant alike).
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


def once(func: Callable[[], Any]) -> float:
    from django.db import transaction

    with transaction.atomic():
        start = time.perf_counter()
        func()
        elapsed = (time.perf_counter() - start) * 1000
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    options = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    from bench.dashboard_queries import seed
    from jobs import queues as controls
    from jobs.controls import Queue
    from jobs.models import Job

    call_command("migrate", verbosity=0)
    print(f"{seed(options.rows):,} jobs, {Job.objects.filter(status='queued').count():,} queued")
    Queue.objects.all().delete()

    def worker_claim(queues: list[str]) -> Callable[[], Any]:
        snapshot = controls.Controls()  # read at most once a second, as in the worker

        def claim() -> Any:
            snapshot.refresh()
            plan = snapshot.plan(queues)
            jobs = Job.objects.claim(
                worker_id="bench", limit=10, queues=plan.queues, exclude_queues=plan.exclude
            )
            if plan.limited:
                jobs += controls.claim_limited_queues(
                    worker_id="bench", queues=plan.limited, limit=10 - len(jobs)
                )
            return jobs

        return claim

    def plain() -> Any:
        return Job.objects.claim(worker_id="bench", limit=10)

    def measure(rows: list[tuple[str, Callable[[], Any]]]) -> None:
        """Round-robin, so a slower moment of the machine hits every variant alike."""
        times: dict[str, list[float]] = {name: [] for name, _ in rows}
        for round_ in range(options.repeat + 1):
            for name, func in rows:
                elapsed = once(func)
                if round_:  # the first round warms the caches up
                    times[name].append(elapsed)
        for name, samples in times.items():
            print(
                f"  {name:46} median {statistics.median(samples):7.2f} ms"
                f"   worst {max(samples):7.2f} ms"
            )

    measure(
        [
            ("claim of before (no snapshot)", plain),
            ("worker claim, no queue records", worker_claim([])),
            ("worker claim on 'default', no records", worker_claim(["default"])),
        ]
    )
    controls.queue_pause(name="ai")
    controls.queue_set_limits(name="video", concurrency=1000)
    measure(
        [
            ("claim of before (no snapshot)", plain),
            ("worker claim, 'ai' paused + 'video' limited", worker_claim([])),
            ("worker claim on 'default', same records", worker_claim(["default"])),
            (
                "limited queue's own claim ('video')",
                lambda: controls.claim_limited(worker_id="bench", queue="video", limit=10),
            ),
        ]
    )
    Queue.objects.all().delete()


if __name__ == "__main__":
    main()
