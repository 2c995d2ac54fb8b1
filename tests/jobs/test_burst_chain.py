"""Regression: a burst worker must not exit while a finished job's dependents are ready."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from jobs.models import Job
from jobs.services import enqueue


@pytest.mark.django_db(transaction=True)
def test_burst_worker_runs_a_whole_chain_of_dependent_jobs():
    previous = None
    chain = []
    for step in range(6):
        previous = enqueue("sleep", {"seconds": 0.05 * (step % 2)}, depends_on=previous)
        chain.append(previous.pk)
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.01")
    statuses = list(
        Job.objects.filter(pk__in=chain).order_by("pk").values_list("status", flat=True)
    )
    assert statuses == ["succeeded"] * 6


@pytest.mark.django_db(transaction=True)
def test_worker_threads_close_their_connections(postgres_only):
    """Regression: job threads kept their PostgreSQL sessions open after the worker stopped."""
    from django.db import connection

    from tests.conftest import wait_for

    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]

    before = sessions()
    enqueue_chain = [enqueue("sleep", {"seconds": 0}) for _ in range(4)]
    call_command("runworker", "--burst", "--concurrency", "3", "--poll-interval", "0.01")
    assert all(job.status == "queued" for job in enqueue_chain)  # in-memory copies
    wait_for(lambda: sessions() <= before, timeout=10)
