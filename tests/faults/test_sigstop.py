"""A worker frozen with SIGSTOP past its lease, then resumed: another worker takes its jobs back
and finishes them; the frozen worker's late results are discarded (the side effect written
through ``ctx.on_success`` exists once), and the resumed worker carries on.

The naive side effect, written by the handler itself, can appear twice here: that is what the
fence protects from, and why side effects belong in ``ctx.on_success``."""

from __future__ import annotations

import signal

import pytest
from django.db import connection
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue_many
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import LEASE_SECONDS, wait_registered
from tests.faults.handlers import EFFECTS
from tests.processes import get_health, health_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LONG_JOBS = 4


def count(**filters) -> int:
    return Job.objects.filter(**filters).count()


def test_frozen_worker_comes_back_and_its_late_results_are_discarded(fleet):
    frozen = fleet("frozen", "--concurrency", str(LONG_JOBS), "--health-port", "0")
    url = health_url(frozen)
    wait_registered("frozen")
    long_jobs = [job.pk for job in enqueue_many("fault_effect", [{"ms": 3000}] * LONG_JOBS)]
    wait_for(lambda: count(status=Job.Status.RUNNING, worker_id="frozen") == LONG_JOBS)

    frozen.signal(signal.SIGSTOP)
    frozen_at = timezone.now()
    try:
        rescuer = fleet("rescuer", "--concurrency", str(LONG_JOBS))

        def rescued() -> bool:
            """the rescuer finished every job of the frozen worker"""
            return count(pk__in=long_jobs, status=Job.Status.SUCCEEDED) == LONG_JOBS

        wait_for(rescued, timeout=60)
    finally:
        frozen.signal(signal.SIGCONT)

    def let_go() -> bool:
        """the resumed worker noticed it lost its jobs and let go of them"""
        code, body = get_health(url)
        return code == 200 and body["active_jobs"] == 0

    wait_for(let_go, timeout=60)
    # The resumed worker carries on with new work alongside the rescuer.
    short_jobs = [job.pk for job in enqueue_many("fault_effect", [{"ms": 5}] * 100)]
    wait_for(lambda: count(pk__in=short_jobs, status=Job.Status.SUCCEEDED) == len(short_jobs))

    for worker in (frozen, rescuer):
        worker.signal(signal.SIGTERM)
    for worker in (frozen, rescuer):
        assert worker.wait(60) == 0, worker.output()[-3000:]

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT worker FROM {EFFECTS} WHERE job_id = ANY(%s)", [long_jobs])
        assert [row[0] for row in cursor.fetchall()] == ["rescuer"]
    lost = JobAttempt.objects.filter(job_id__in=long_jobs, outcome=JobAttempt.Outcome.LOST)
    assert {attempt.worker_id for attempt in lost} == {"frozen"}
    assert lost.count() == LONG_JOBS
    recovery = max((attempt.finished_at - frozen_at).total_seconds() for attempt in lost)
    figures = outcome.check(
        "SIGSTOP past the lease, then SIGCONT",
        long_jobs + short_jobs,
        recovery_seconds=recovery,
        notes=(
            f"lease {LEASE_SECONDS}s; recovery: freeze to the last of its jobs taken back "
            "(the rescuer starts after the freeze)"
        ),
    )
    assert figures.problems == []
