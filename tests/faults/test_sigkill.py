"""SIGKILL of 2 out of 4 workers at random moments while 2,000 jobs run: the jobs the dead
workers held are taken back when their leases expire and finish on the survivors, once each."""

from __future__ import annotations

import os
import random
import signal

import pytest
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue_many
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import LEASE_SECONDS, wait_registered

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = 2000


def finished() -> int:
    return Job.objects.filter(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).count()


def test_sigkill_two_of_four_workers_under_load(fleet):
    seed = int(os.environ.get("FAULTS_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    names = [f"kill-{n}" for n in range(1, 5)]
    workers = dict(zip(names, (fleet(name, "--concurrency", "3") for name in names), strict=True))
    wait_registered(*names)
    payloads = [{"ms": rng.randint(0, 10)} for _ in range(JOBS)]
    ids = [job.pk for job in enqueue_many("fault_effect", payloads)]

    kills = []
    moments = sorted(rng.uniform(0.1, 0.7) * JOBS for _ in range(2))
    for victim, moment in zip(rng.sample(names, 2), moments, strict=True):
        wait_for(lambda moment=moment: finished() >= moment, timeout=120)
        workers[victim].signal(signal.SIGKILL)
        workers[victim].wait(10)
        killed_at = timezone.now()
        held = list(
            Job.objects.filter(status=Job.Status.RUNNING, worker_id=victim).values_list(
                "pk", flat=True
            )
        )
        kills.append((victim, killed_at, held))

    def all_finished() -> bool:
        """every job finished after the kills"""
        return finished() == JOBS

    wait_for(all_finished, timeout=150)

    # Recovery: from the kill until the last job the dead worker held was taken back.
    recovery = 0.0
    for victim, killed_at, held in kills:
        taken_back = JobAttempt.objects.filter(
            job_id__in=held, worker_id=victim, outcome=JobAttempt.Outcome.LOST
        ).values_list("finished_at", flat=True)
        assert len(taken_back) == len(held), f"not every job of {victim} was taken back"
        recovery = max([recovery, *((end - killed_at).total_seconds() for end in taken_back)])
    survivors = [workers[name] for name in names if name not in {kill[0] for kill in kills}]
    for worker in survivors:
        worker.signal(signal.SIGTERM)
    for worker in survivors:
        assert worker.wait(60) == 0, worker.output()[-3000:]

    held_total = sum(len(kill[2]) for kill in kills)
    figures = outcome.check(
        "SIGKILL 2 of 4 workers",
        ids,
        recovery_seconds=recovery,
        notes=(
            f"seed {seed}; the dead workers held {held_total} job(s); lease {LEASE_SECONDS}s; "
            "recovery: kill to the last of their jobs taken back"
        ),
    )
    assert figures.problems == []
