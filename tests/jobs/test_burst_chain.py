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
