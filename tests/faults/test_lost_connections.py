"""All connections of the workers are terminated (``pg_terminate_backend``) again and again for
four seconds in the middle of a run: the workers reconnect and carry on; nothing is lost or done
twice.

Terminating backends stands in for a PostgreSQL restart without disturbing the other databases
on the shared server: only the backends of this test database are terminated, never the test's
own connection. The storm hits every moment of a worker's life (claiming, heartbeat, recording an
outcome, the LISTEN connection)."""

from __future__ import annotations

import random
import signal
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue_many
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import wait_registered

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = 300
STORM_SECONDS = 4


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
    # Work that can only be done after the storm, whatever the speed of the machine.
    ids += [job.pk for job in enqueue_many("fault_effect", [{"ms": 100}] * 30)]

    def all_finished() -> bool:
        """every job finished after the storm"""
        return finished() == len(ids)

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


def listening_since(moment) -> int:
    """Backends of this database that run LISTEN and connected after ``moment``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query = 'LISTEN jobs_queued' AND backend_start > %s",
            [moment],
        )
        return cursor.fetchone()[0]


def test_an_idle_worker_listens_again_after_its_connections_are_terminated(fleet):
    """With polling all but off, only a NOTIFY can wake the idle worker: the job runs only if
    its LISTEN connection came back."""
    worker = fleet("listener", "--poll-interval", "3600")
    wait_registered("listener")
    wait_for(lambda: listening_since(timezone.now() - timedelta(hours=1)) == 1)
    cut = timezone.now()
    assert terminate_worker_connections() >= 1

    wait_for(lambda: listening_since(cut) == 1, timeout=60)
    ids = [job.pk for job in enqueue_many("fault_effect", [{"ms": 0}] * 3)]

    def done() -> bool:
        """the NOTIFY woke the worker and it ran the jobs"""
        return Job.objects.filter(pk__in=ids, status=Job.Status.SUCCEEDED).count() == 3

    wait_for(done, timeout=60)
    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output()[-3000:]
    assert outcome.check("LISTEN after terminated connections", ids, record=False).problems == []


OUTAGE_SECONDS = 8


def allow_connections(allowed: bool) -> None:
    """Let the test database accept new connections or not (from the maintenance database:
    PostgreSQL refuses to change it from a connection to itself)."""
    params = connection.get_connection_params()
    name = params.pop("dbname")
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')


def test_workers_carry_on_after_the_database_is_unreachable_for_a_while(fleet):
    """For eight seconds the workers' connections are cut and new ones refused (as while
    PostgreSQL restarts): outcomes that cannot be written are left to their leases, and the
    workers pick up where they left off when the database is back."""
    names = ["outage-1", "outage-2"]
    workers = [fleet(name, "--concurrency", "3") for name in names]
    wait_registered(*names)
    ids = [job.pk for job in enqueue_many("fault_effect", [{"ms": 50}] * 200)]
    wait_for(lambda: finished() >= 60, timeout=120)

    allow_connections(False)
    try:
        terminate_worker_connections()
        time.sleep(OUTAGE_SECONDS)  # the length of the outage, not a wait for a result
    finally:
        allow_connections(True)
    back = timezone.now()
    ids += [job.pk for job in enqueue_many("fault_effect", [{"ms": 50}] * 30)]

    def all_finished() -> bool:
        """every job finished after the outage (a dead worker would leave some running)"""
        return finished() == len(ids)

    wait_for(all_finished, timeout=120)
    for worker in workers:
        assert worker.process.poll() is None, f"a worker died:\n{worker.output()[-3000:]}"
    recovery = 0.0
    for name in names:
        first = (
            JobAttempt.objects.filter(
                worker_id=name, started_at__gt=back, outcome=JobAttempt.Outcome.SUCCEEDED
            )
            .order_by("finished_at")
            .first()
        )
        assert first is not None, f"worker {name} did no work after the outage"
        recovery = max(recovery, (first.finished_at - back).total_seconds())
    for worker in workers:
        worker.signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(60) == 0, worker.output()[-3000:]

    figures = outcome.check(
        f"database unreachable for {OUTAGE_SECONDS}s, 2 workers",
        ids,
        recovery_seconds=recovery,
        notes="recovery: database back to a job finished by every worker",
    )
    assert figures.problems == []


def test_a_worker_started_while_the_database_is_down_waits_for_it(fleet):
    """A worker (re)started by its supervisor while PostgreSQL restarts must wait for the
    database, not crash."""
    allow_connections(False)
    terminate_worker_connections()  # and a pooler's (PgBouncer) server connections with them
    try:
        worker = fleet("early")

        def waiting() -> bool:
            """the worker says it cannot reach the database yet"""
            return "cannot reach the database" in worker.output()

        wait_for(waiting, timeout=60)
        assert worker.process.poll() is None, worker.output()[-3000:]
    finally:
        allow_connections(True)
    wait_registered("early")
    ids = [job.pk for job in enqueue_many("fault_effect", [{"ms": 0}] * 3)]
    wait_for(lambda: Job.objects.filter(pk__in=ids, status=Job.Status.SUCCEEDED).count() == 3)
    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output()[-3000:]


def test_a_worker_waiting_for_the_database_stops_on_sigterm(fleet):
    allow_connections(False)
    terminate_worker_connections()
    try:
        worker = fleet("never-connected")
        wait_for(lambda: "cannot reach the database" in worker.output(), timeout=60)
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0, worker.output()[-3000:]
    finally:
        allow_connections(True)
