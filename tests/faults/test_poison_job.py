"""A poison job that kills every worker that runs it (a segfault, the OOM killer): it is taken
back after each crash, and once it has used its attempts it ends ``failed`` with the reason; it
does not go on killing workers, and the other jobs all finish."""

from __future__ import annotations

import os
import signal

import pytest

from jobs.models import Job, JobAttempt
from jobs.services import enqueue, enqueue_many
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import LEASE_SECONDS, wait_registered

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_poison_job_fails_after_its_attempts_and_the_rest_finish(fleet):
    names = ["poisoned-1", "poisoned-2", "poisoned-3"]
    workers = {name: fleet(name, "--concurrency", "2") for name in names}
    wait_registered(*names)
    poison = enqueue("fault_poison", {"spare_pid": os.getpid()}, max_attempts=2)
    others = [job.pk for job in enqueue_many("fault_effect", [{"ms": 50}] * 60)]

    def poison_failed() -> bool:
        """the poison job failed for good"""
        poison.refresh_from_db()
        return poison.status == Job.Status.FAILED

    wait_for(poison_failed, timeout=120)
    wait_for(lambda: Job.objects.filter(pk__in=others, status=Job.Status.SUCCEEDED).count() == 60)

    dead = [name for name, worker in workers.items() if worker.process.poll() is not None]
    assert len(dead) == 2, f"expected the two workers that ran it to die, not {dead}"
    assert [worker.process.returncode for name, worker in workers.items() if name in dead] == [
        -signal.SIGKILL
    ] * 2
    assert poison.attempts == 2
    assert poison.error.startswith("Lease expired")
    history = list(poison.attempt_history.values_list("worker_id", "outcome"))
    assert sorted(history) == sorted((name, JobAttempt.Outcome.LOST) for name in dead)

    (survivor,) = (workers[name] for name in names if name not in dead)
    survivor.signal(signal.SIGTERM)
    assert survivor.wait(60) == 0, survivor.output()[-3000:]
    last_death = max(poison.attempt_history.values_list("started_at", flat=True))
    figures = outcome.check(
        "poison job kills each worker that runs it",
        [poison.pk, *others],
        recovery_seconds=(poison.finished_at - last_death).total_seconds(),
        notes=(
            f"max_attempts 2, lease {LEASE_SECONDS}s: 2 of 3 workers died, then the job failed; "
            "recovery: last crash to the job failed"
        ),
    )
    assert figures.problems == []
