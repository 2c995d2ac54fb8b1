"""Claiming ahead: while its jobs are short, a worker claims up to ``JOBS_CLAIM_AHEAD`` jobs per
slot beyond its free slots, and a job thread takes the next one as soon as its job ends. A job
claimed ahead is the worker's (running, leased, one attempt) but starts only when a slot is
free; it is given back, its attempt not counted, if no slot frees soon or the worker stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.utils import timezone

from jobs import worker as worker_module
from jobs.models import Job, JobAttempt
from jobs.services import enqueue
from jobs.worker import WorkerProcess
from tests.conftest import wait_for
from tests.handlers import GATES
from tests.jobs.test_worker import start_in_thread
from tests.support.bursts import run_burst


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = GATES["ahead"] = threading.Event()
    yield event
    event.set()  # never leave a handler waiting
    del GATES["ahead"]


def one_slot_busy_with_two_ahead(gate: threading.Event, grace_period: float = 0):
    """A one-slot worker that claims two jobs ahead (per slot): a short job first (so that it
    knows its jobs are short), then the gated job takes the slot while it holds ``a`` and
    ``b`` ahead of it."""
    enqueue("noop", {}, priority=10)
    gated = enqueue("test_gate", {"gate": "ahead"}, priority=5)
    a, b = enqueue("noop", {"n": 1}), enqueue("noop", {"n": 2})
    worker = WorkerProcess(
        concurrency=1, claim_ahead=2, poll_interval=0.05, listen=False, grace_period=grace_period
    )
    thread = start_in_thread(worker)
    wait_for(lambda: Job.objects.filter(pk__in=[a.pk, b.pk], worker_id=worker.id).count() == 2)
    return worker, thread, gated, a, b


@pytest.mark.django_db(transaction=True)
def test_short_jobs_are_claimed_ahead_and_start_when_the_slot_frees(gate, monkeypatch):
    monkeypatch.setattr(worker_module, "READY_MAX_SECONDS", 60.0)
    worker, thread, gated, a, b = one_slot_busy_with_two_ahead(gate)
    try:
        held = Job.objects.filter(pk__in=[gated.pk, a.pk, b.pk], status=Job.Status.RUNNING)
        assert held.count() == 3  # one slot, two held ahead of it
        assert {job.attempts for job in held} == {1}
        opened = timezone.now()
        gate.set()
        wait_for(lambda: Job.objects.filter(pk__in=[a.pk, b.pk], status="succeeded").count() == 2)
    finally:
        worker.stop()
        thread.join(30)
    for job in (a, b):
        job.refresh_from_db()
        attempt = job.attempt_history.get()
        assert (job.attempts, attempt.outcome) == (1, JobAttempt.Outcome.SUCCEEDED)
        # Its start is when its handler started (after the gate opened), not its claim.
        assert job.started_at >= opened
        assert attempt.started_at == job.started_at


@pytest.mark.django_db(transaction=True)
def test_jobs_held_ahead_go_back_when_no_slot_frees_in_time(gate, monkeypatch):
    monkeypatch.setattr(worker_module, "READY_MAX_SECONDS", 0.2)
    worker, thread, _, a, b = one_slot_busy_with_two_ahead(gate)
    try:
        wait_for(lambda: Job.objects.filter(pk__in=[a.pk, b.pk], status="queued").count() == 2)
        for job in (a, b):
            job.refresh_from_db()
            assert (job.attempts, job.worker_id, job.started_at) == (0, "", None)
            released = job.attempt_history.get()
            assert released.outcome == JobAttempt.Outcome.RELEASED
            assert "every slot of the worker was busy" in released.error
        gate.set()
        wait_for(lambda: Job.objects.filter(pk__in=[a.pk, b.pk], status="succeeded").count() == 2)
    finally:
        worker.stop()
        thread.join(30)
    a.refresh_from_db()
    assert a.attempts == 1  # the attempt given back did not count


@pytest.mark.django_db(transaction=True)
def test_a_stopping_worker_gives_back_what_it_claimed_ahead(gate, monkeypatch):
    monkeypatch.setattr(worker_module, "READY_MAX_SECONDS", 60.0)
    worker, thread, gated, a, b = one_slot_busy_with_two_ahead(gate, grace_period=30)
    worker.stop()
    wait_for(lambda: Job.objects.filter(pk__in=[a.pk, b.pk], status="queued").count() == 2)
    gate.set()  # the running job still finishes within the grace period
    thread.join(30)
    assert not thread.is_alive()
    gated.refresh_from_db()
    assert gated.status == Job.Status.SUCCEEDED
    for job in (a, b):
        job.refresh_from_db()
        assert (job.status, job.attempts, job.worker_id) == (Job.Status.QUEUED, 0, "")
        assert "shut down" in job.attempt_history.get().error


@pytest.mark.django_db(transaction=True)
def test_a_job_staff_cancelled_while_held_ahead_is_cancelled_not_run(gate, monkeypatch):
    monkeypatch.setattr(worker_module, "READY_MAX_SECONDS", 60.0)
    worker, thread, _, a, _ = one_slot_busy_with_two_ahead(gate, grace_period=30)
    a.refresh_from_db()
    assert a.cancel()  # running: asked to stop
    worker.stop()
    gate.set()
    thread.join(30)
    a.refresh_from_db()
    assert a.status == Job.Status.CANCELLED
    assert a.attempt_history.get().outcome == JobAttempt.Outcome.CANCELLED


def held_at_start(*args: str, count: int, seconds: float) -> list[int]:
    """How many jobs the worker held as each of ``count`` jobs ran (after ``seconds``)."""
    jobs = [enqueue("test_count_claimed", {"seconds": seconds}) for _ in range(count)]
    run_burst("--concurrency", "1", *args)
    results = dict(Job.objects.filter(pk__in=[job.pk for job in jobs]).values_list("pk", "result"))
    return [int((results[job.pk] or {})["held"]) for job in jobs]


@pytest.mark.django_db(transaction=True)
def test_only_short_jobs_are_claimed_ahead():
    # Jobs of 50 ms: the one-slot worker never holds more than the job it runs.
    assert set(held_at_start("--claim-ahead", "4", count=4, seconds=0.05)) == {1}
    # Short jobs: once a job has been short, it holds up to 1 + 4 at a time.
    held = held_at_start("--claim-ahead", "4", count=12, seconds=0)
    assert held[0] == 1 and max(held) > 1 and max(held) <= 5
    # --claim-ahead 0: never.
    assert set(held_at_start("--claim-ahead", "0", count=12, seconds=0)) == {1}
