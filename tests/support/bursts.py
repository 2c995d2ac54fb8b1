"""Run a worker in burst mode until the queue settles."""

from __future__ import annotations

from django.core.management import call_command

from jobs.models import Job
from tests.conftest import wait_for


def run_burst(*args: str) -> None:
    call_command("runworker", "--burst", "--poll-interval", "0.05", *args)


def run_until_settled(*args: str, rounds: int = 50) -> None:
    """Burst repeatedly: a burst ends when nothing is ready, and a retried job is not ready
    until its backoff has passed, so wait for it between bursts."""
    for _ in range(rounds):
        run_burst(*args)
        if not Job.objects.live().exists():
            return
        wait_for(lambda: Job.objects.ready().exists() or not Job.objects.live().exists())
    raise AssertionError("jobs still live after all rounds")
