"""PostgreSQL goes away and comes back while jobs run (issue 11, holes 5 and 13).

The workers run with ``JOBS_DEFAULT_MAX_ATTEMPTS=1``: a single counted attempt lost to the
outage would fail a job for good. Every job calls ``ctx.progress()`` again and again, so the
outage reaches handlers as ``OperationalError``. Losing the database is the worker's problem:
each such attempt is given back without counting, every job succeeds exactly once, and each
worker says so in a few clear lines instead of a flood of tracebacks.

As in ``test_lost_connections.py``, refusing new connections and terminating the backends of
the test database stands in for a restart of the shared server."""

from __future__ import annotations

import re
import signal
import time

import pytest
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue_many
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import wait_registered
from tests.faults.test_lost_connections import allow_connections, terminate_worker_connections

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OUTAGE_SECONDS = 8
JOBS = 60


def succeeded() -> int:
    return Job.objects.filter(status=Job.Status.SUCCEEDED).count()


def test_a_restart_uses_up_no_attempts_and_is_reported_once(fleet, settings):
    settings.JOBS_DEFAULT_MAX_ATTEMPTS = 1  # the jobs are enqueued here
    names = ["restart-1", "restart-2"]
    env = {"JOBS_DEFAULT_MAX_ATTEMPTS": "1", "JOBS_OUTAGE_REMINDER_SECONDS": "3"}
    workers = [fleet(name, "--concurrency", "3", env=env) for name in names]
    wait_registered(*names)
    ids = [job.pk for job in enqueue_many("fault_progress", [{"steps": 20, "ms": 100}] * JOBS)]
    assert {job.max_attempts for job in Job.objects.filter(pk__in=ids)} == {1}
    wait_for(lambda: succeeded() >= 6 and Job.objects.filter(status="running").count() >= 4)

    allow_connections(False)
    try:
        terminate_worker_connections()
        time.sleep(OUTAGE_SECONDS)  # the length of the outage, not a wait for a result
    finally:
        allow_connections(True)
    back = timezone.now()

    def all_succeeded() -> bool:
        """every job succeeded after the restart (one failed for good would never)"""
        return Job.objects.filter(pk__in=ids, status=Job.Status.SUCCEEDED).count() == JOBS

    wait_for(all_succeeded, timeout=180)
    failed = list(Job.objects.filter(pk__in=ids).exclude(status="succeeded").values("pk", "error"))
    assert failed == []
    given_back = JobAttempt.objects.filter(
        job_id__in=ids, outcome=JobAttempt.Outcome.RELEASED, error__contains="does not count"
    ).count()
    assert given_back >= 1, "no attempt was interrupted by the outage: the test proved nothing"
    recovery = max(
        (
            JobAttempt.objects.filter(
                worker_id=name, started_at__gt=back, outcome=JobAttempt.Outcome.SUCCEEDED
            )
            .order_by("finished_at")
            .values_list("finished_at", flat=True)
            .first()
            - back
        ).total_seconds()
        for name in names
    )

    for worker in workers:
        worker.signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(60) == 0, worker.output()[-3000:]

    for worker in workers:
        log = worker.output()
        down = re.findall(
            r"database unreachable since \d\d:\d\d:\d\d \(while .*\); retrying every (\S+)s", log
        )
        assert len(down) == 1, log[-4000:]
        assert down[0] == "1"  # the interval it says is the one it uses (poll interval 1 s)
        reminders = log.count("database still unreachable, for")
        lines = [line for line in log.splitlines() if "database" in line]
        assert 1 <= reminders <= OUTAGE_SECONDS // 3 + 1, lines
        assert len(re.findall(r"database reachable again after \d+\.\ds", log)) == 1, log[-4000:]
        assert "Traceback" not in log, log[-4000:]
        assert "event=failed" not in log

    figures = outcome.check(
        f"PostgreSQL restart ({OUTAGE_SECONDS}s) with JOBS_DEFAULT_MAX_ATTEMPTS=1, 2 workers",
        ids,
        recovery_seconds=recovery,
        notes=f"{given_back} attempts given back without counting; recovery: database back "
        "to a job finished by every worker",
    )
    assert figures.problems == []
