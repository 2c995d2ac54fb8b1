"""All connections of the workers are terminated (``pg_terminate_backend``) again and again for
five seconds in the middle of a run: the workers reconnect and carry on; nothing is lost or done
twice.

Terminating backends stands in for a PostgreSQL restart without disturbing the other databases
on the shared server: only the backends of this test database are terminated, never the test's
own connection. The storm hits every moment of a worker's life (claiming, heartbeat, recording an
outcome, the LISTEN connection)."""

from __future__ import annotations

import random
import signal
import time

from django.db import connection
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue_many
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import wait_registered

JOBS = 400
STORM_SECONDS = 5


def terminate_worker_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def finished() -> int:
    return Job.objects.filter(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).count()


def test_workers_reconnect_after_their_connections_are_terminated(fleet):
    names = ["conn-1", "conn-2"]
    workers = [fleet(name, "--concurrency", "3") for name in names]
    wait_registered(*names)
    ids = [job.pk for job in enqueue_many("fault_effect", [{"ms": 100}] * JOBS)]

    wait_for(lambda: finished() >= JOBS * 0.2, timeout=120)
    rng = random.Random()
    storm_end = time.monotonic() + STORM_SECONDS
    terminations = terminated = 0
    while time.monotonic() < storm_end:
        last_fault = timezone.now()
        terminated += terminate_worker_connections()
        terminations += 1
        time.sleep(rng.uniform(0.02, 0.4))

    def all_finished() -> bool:
        """every job finished after the storm"""
        return finished() == JOBS

    wait_for(all_finished, timeout=120)
    for worker in workers:
        assert worker.process.poll() is None, f"a worker died:\n{worker.output()[-3000:]}"

    # Each worker finished a job it claimed after the last fault: it reconnected.
    recovery = 0.0
    for name in names:
        first = (
            JobAttempt.objects.filter(
                worker_id=name, started_at__gt=last_fault, outcome=JobAttempt.Outcome.SUCCEEDED
            )
            .order_by("finished_at")
            .first()
        )
        assert first is not None, f"worker {name} did no work after its connections were cut"
        recovery = max(recovery, (first.finished_at - last_fault).total_seconds())

    for worker in workers:
        worker.signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(60) == 0, worker.output()[-3000:]

    figures = outcome.check(
        "connections terminated (pg_terminate_backend storm), 2 workers",
        ids,
        recovery_seconds=recovery,
        notes=(
            f"{terminations} storms over {STORM_SECONDS}s killed {terminated} backends; "
            "recovery: last storm to a job finished by every worker"
        ),
    )
    assert figures.problems == []
