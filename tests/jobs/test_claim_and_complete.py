"""The claim and the success, on both databases. On PostgreSQL they run as one prepared
statement each (jobs/fastpath.py); these tests hold them to the ORM path's semantics."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue, enqueue_many

pytestmark = pytest.mark.django_db


def test_claim_takes_ready_jobs_in_priority_then_age_order():
    low = enqueue("noop", {"n": 1})
    high = enqueue("noop", {"n": 2}, priority=5)
    later = enqueue("noop", {"n": 3})
    enqueue("noop", {"n": 4}, delay=3600)

    jobs = Job.objects.claim(worker_id="w1", limit=10)

    assert [job.pk for job in jobs] == [high.pk, low.pk, later.pk]
    for job in jobs:
        assert job.status == Job.Status.RUNNING
        assert job.worker_id == "w1"
        assert job.attempts == 1
        assert job.lease_expires_at > timezone.now()
        assert isinstance(job.payload, dict)
        row = Job.objects.get(pk=job.pk)
        assert (row.status, row.worker_id, row.attempts) == ("running", "w1", 1)
        assert row.started_at == job.started_at
        attempt = JobAttempt.objects.get(job=job)
        assert (attempt.number, attempt.worker_id, attempt.outcome) == (1, "w1", "running")
        assert attempt.finished_at is None


def test_claim_stops_at_the_limit_and_never_takes_a_job_twice():
    enqueue_many("noop", [{"n": n} for n in range(5)])

    first = Job.objects.claim(worker_id="w1", limit=2)
    second = Job.objects.claim(worker_id="w2", limit=10)
    third = Job.objects.claim(worker_id="w3", limit=10)

    assert len(first) == 2
    assert len(second) == 3
    assert third == []
    assert not {job.pk for job in first} & {job.pk for job in second}
    assert JobAttempt.objects.count() == 5


def test_claim_filters_by_queue():
    default = enqueue("noop", {}, queue="default")
    ai = enqueue("noop", {}, queue="ai")
    video = enqueue("noop", {}, queue="video")

    assert [job.pk for job in Job.objects.claim(worker_id="w", limit=5, queues=["ai"])] == [ai.pk]
    both = Job.objects.claim(worker_id="w", limit=5, queues=["video", "default"])
    assert {job.pk for job in both} == {default.pk, video.pk}


def test_claim_waits_for_dependencies_to_succeed():
    first = enqueue("noop", {})
    second = enqueue("noop", {}, depends_on=first)

    claimed = Job.objects.claim(worker_id="w", limit=5)
    assert [job.pk for job in claimed] == [first.pk]
    assert Job.objects.claim(worker_id="w", limit=5) == []

    assert claimed[0].mark_succeeded({"ok": True})
    assert [job.pk for job in Job.objects.claim(worker_id="w", limit=5)] == [second.pk]


def test_a_retried_job_counts_its_attempts():
    enqueue("noop", {})
    job = Job.objects.claim(worker_id="w1", limit=1)[0]
    assert job.mark_failed("boom")
    Job.objects.filter(pk=job.pk).update(run_at=timezone.now() - timedelta(seconds=1))

    again = Job.objects.claim(worker_id="w2", limit=1)[0]

    assert again.pk == job.pk
    assert again.attempts == 2
    assert list(
        JobAttempt.objects.filter(job=job).values_list("number", "worker_id", "outcome")
    ) == [(1, "w1", "failed"), (2, "w2", "running")]


def test_success_records_the_result_and_ends_the_attempt():
    enqueue("noop", {})
    job = Job.objects.claim(worker_id="w", limit=1)[0]

    assert job.mark_succeeded({"answer": 42, "text": "ünïcode"})

    row = Job.objects.get(pk=job.pk)
    assert row.status == Job.Status.SUCCEEDED
    assert row.result == {"answer": 42, "text": "ünïcode"}
    assert row.progress == 100
    assert row.lease_expires_at is None
    assert row.finished_at == job.finished_at
    attempt = JobAttempt.objects.get(job=job)
    assert attempt.outcome == JobAttempt.Outcome.SUCCEEDED
    assert attempt.finished_at == row.finished_at


@pytest.mark.parametrize("result", [None, [], "text", 0, {"nested": {"list": [1, None]}}])
def test_success_stores_any_json_result_as_given(result):
    enqueue("noop", {})
    job = Job.objects.claim(worker_id="w", limit=1)[0]

    assert job.mark_succeeded(result)

    assert Job.objects.get(pk=job.pk).result == result


def test_success_of_a_job_taken_back_changes_nothing():
    """A late worker (lease expired, the job re-claimed by another) must not overwrite it."""
    enqueue("noop", {})
    late = Job.objects.claim(worker_id="late", limit=1)[0]
    Job.objects.filter(pk=late.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    Job.objects.recover_stuck()
    Job.objects.filter(pk=late.pk).update(run_at=timezone.now() - timedelta(seconds=1))
    current = Job.objects.claim(worker_id="current", limit=1)[0]

    assert not late.mark_succeeded({"from": "late"})

    row = Job.objects.get(pk=late.pk)
    assert (row.status, row.worker_id, row.attempts, row.result) == ("running", "current", 2, None)
    attempts = JobAttempt.objects.filter(job=late).order_by("number")
    assert [(a.number, a.outcome) for a in attempts] == [(1, "lost"), (2, "running")]
    assert current.mark_succeeded({"from": "current"})
    assert Job.objects.get(pk=late.pk).result == {"from": "current"}


def test_success_of_a_job_cancelled_meanwhile_changes_nothing():
    enqueue("noop", {})
    job = Job.objects.claim(worker_id="w", limit=1)[0]
    Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED)

    assert not job.mark_succeeded({"too": "late"})

    assert Job.objects.get(pk=job.pk).result is None
    assert JobAttempt.objects.get(job=job).outcome == JobAttempt.Outcome.RUNNING


def test_on_success_callbacks_run_once_with_the_success():
    enqueue("noop", {})
    job = Job.objects.claim(worker_id="w", limit=1)[0]
    calls = []

    assert job.mark_succeeded({"ok": 1}, on_success=[lambda: calls.append("done")])
    assert not job.mark_succeeded({"ok": 2}, on_success=[lambda: calls.append("again")])

    assert calls == ["done"]
    assert Job.objects.get(pk=job.pk).result == {"ok": 1}


def test_claim_inside_a_transaction_rolls_back_with_it():
    enqueue("noop", {})

    with pytest.raises(RuntimeError), transaction.atomic():
        assert len(Job.objects.claim(worker_id="w", limit=1)) == 1
        raise RuntimeError("roll back")

    assert Job.objects.get().status == Job.Status.QUEUED
    assert not JobAttempt.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_on_postgresql_take_disjoint_jobs(postgres_only):
    """Four threads, four connections, claiming at once: every job is taken exactly once."""
    enqueue_many("noop", [{"n": n} for n in range(200)])
    taken: list[list[int]] = []
    start = threading.Barrier(4)

    def claim_all(name: str) -> None:
        mine: list[int] = []
        try:
            start.wait()
            while batch := Job.objects.claim(worker_id=name, limit=7):
                mine.extend(job.pk for job in batch)
            taken.append(mine)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    every = [pk for mine in taken for pk in mine]
    assert len(taken) == 4
    assert len(every) == len(set(every)) == 200
    assert JobAttempt.objects.count() == 200


@pytest.mark.django_db(transaction=True)
def test_the_fast_claim_prepares_its_statement_once(postgres_only):
    enqueue_many("noop", [{"n": n} for n in range(3)])
    for _ in range(3):
        Job.objects.claim(worker_id="w", limit=1)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%FOR UPDATE SKIP LOCKED%"],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_prepared_statements_can_be_turned_off(postgres_only, settings):
    settings.JOBS_PREPARED_STATEMENTS = False
    connection.close()
    enqueue("noop", {})

    job = Job.objects.claim(worker_id="w", limit=1)[0]
    assert job.mark_succeeded({"ok": True})

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0


def test_succeed_and_claim_ends_held_jobs_and_takes_new_ones():
    enqueue_many("noop", [{"n": n} for n in range(4)])
    first, second = Job.objects.claim(worker_id="w", limit=2)
    Job.objects.filter(pk=second.pk).update(worker_id="someone-else")

    held, claimed = Job.objects.succeed_and_claim(
        [(first, {"r": 1}), (second, None)], worker_id="w", limit=5
    )

    assert held == {first.pk}
    assert first.status == Job.Status.SUCCEEDED
    assert second.status == Job.Status.RUNNING
    assert len(claimed) == 2
    assert {job.pk for job in claimed}.isdisjoint({first.pk, second.pk})
    assert Job.objects.get(pk=first.pk).result == {"r": 1}
    assert Job.objects.get(pk=second.pk).worker_id == "someone-else"
    outcomes = dict(JobAttempt.objects.values_list("job_id", "outcome"))
    assert outcomes[first.pk] == "succeeded"
    assert outcomes[second.pk] == "running"
    assert all(outcomes[job.pk] == "running" for job in claimed)


def test_succeed_and_claim_with_nothing_to_claim_still_records_successes():
    enqueue("noop", {})
    job = Job.objects.claim(worker_id="w", limit=1)[0]

    held, claimed = Job.objects.succeed_and_claim([(job, [1, 2])], worker_id="w", limit=3)

    assert (held, claimed) == ({job.pk}, [])
    assert Job.objects.get(pk=job.pk).result == [1, 2]


def test_succeed_and_claim_without_successes_is_a_claim():
    enqueue("noop", {})

    held, claimed = Job.objects.succeed_and_claim([], worker_id="w", limit=0)
    assert (held, claimed) == (set(), [])
    held, claimed = Job.objects.succeed_and_claim([], worker_id="w", limit=1)
    assert held == set()
    assert len(claimed) == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_drains_the_queue_and_records_every_attempt():
    """The worker's loop hands successes to the claim (one statement per pass on
    PostgreSQL): every job ends succeeded, with its result and one finished attempt."""
    from django.core.management import call_command

    enqueue_many("noop", [{"n": n} for n in range(60)])

    call_command("runworker", "--burst", "--concurrency", "5")

    assert Job.objects.filter(status=Job.Status.SUCCEEDED).count() == 60
    assert sorted(Job.objects.values_list("result__n", flat=True)) == list(range(60))
    assert JobAttempt.objects.filter(outcome="succeeded", finished_at__isnull=False).count() == 60
    assert JobAttempt.objects.count() == 60


def test_enqueue_inside_a_transaction_is_undone_with_it():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue("noop", {})
        raise RuntimeError("the caller changes its mind")

    assert not Job.objects.exists()


def test_enqueue_with_a_taken_unique_key_inside_a_transaction_returns_the_live_job():
    with transaction.atomic():
        first = enqueue("noop", {"n": 1}, unique_key="report-7")
        second = enqueue("noop", {"n": 2}, unique_key="report-7")
        other = enqueue("noop", {"n": 3})

    assert second.pk == first.pk
    assert Job.objects.count() == 2
    assert other.pk != first.pk


@pytest.mark.django_db(transaction=True)
def test_enqueue_wakes_listeners_at_commit_on_postgresql(postgres_only):
    """The jobs table's trigger sends one NOTIFY per statement and queue, at commit only."""
    import psycopg

    from jobs.listener import CHANNEL
    from tests.conftest import database_url

    with psycopg.connect(database_url(), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with transaction.atomic():
            enqueue("noop", {}, queue="ai")
            enqueue_many("noop", [{}, {}], queue="video")
            assert list(listener.notifies(timeout=0.2, stop_after=1)) == []
        payloads = sorted(n.payload for n in listener.notifies(timeout=5, stop_after=2))
        assert payloads == ["ai", "video"]

        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue("noop", {}, queue="rolled-back")
            raise RuntimeError("no commit, no wake-up")
        assert list(listener.notifies(timeout=0.3, stop_after=1)) == []
