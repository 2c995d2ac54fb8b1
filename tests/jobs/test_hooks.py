"""The queue's hooks: sent inside the transition's transaction, only for the types a receiver
asked for, and able to refuse an enqueue or a requeue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from jobs import hooks, registry
from jobs.exceptions import EnqueueRefused
from jobs.models import Job
from jobs.registry import register
from jobs.services import enqueue, enqueue_many
from tests.support.bursts import run_until_settled

pytestmark = pytest.mark.django_db(transaction=True)


@register("test_hooked")
def hooked(payload, ctx):
    if payload.get("fail"):
        raise RuntimeError("hooked job failed")
    return {"ok": True}


class Heard:
    """Records what each hook told, and whether it was told inside a transaction."""

    def __init__(self) -> None:
        self.jobs: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.outside_transaction: list[str] = []
        self.receivers = {}
        for hook in hooks.ALL:
            self.receivers[hook.name] = self._receiver(hook.name)

    def _receiver(self, name: str):
        def receive(*, jobs):
            if not connection.in_atomic_block:
                self.outside_transaction.append(name)
            self.jobs[name].extend((job.pk, job.status) for job in jobs)

        return receive


@pytest.fixture
def heard() -> Iterator[Heard]:
    heard = Heard()
    for hook in hooks.ALL:
        hook.connect(heard.receivers[hook.name], job_types={"test_hooked"})
    yield heard
    for hook in hooks.ALL:
        hook.disconnect(heard.receivers[hook.name])


def test_a_job_life_is_told_inside_its_transactions(heard):
    done = enqueue("test_hooked", {})
    failing = enqueue("test_hooked", {"fail": True}, max_attempts=2)
    other = enqueue("noop", {})  # a type nobody listens for
    run_until_settled("--concurrency", "2")
    assert heard.jobs["enqueued"] == [(done.pk, "queued"), (failing.pk, "queued")]
    started = [pk for pk, status in heard.jobs["started"]]
    assert sorted(started) == sorted([done.pk, failing.pk, failing.pk])  # two attempts
    assert {status for _, status in heard.jobs["started"]} == {"running"}
    assert heard.jobs["succeeded"] == [(done.pk, "succeeded")]
    assert heard.jobs["failed"] == [(failing.pk, "failed")]  # once, for good, not per attempt
    assert other.pk not in {pk for told in heard.jobs.values() for pk, _ in told}
    assert heard.outside_transaction == []


def test_cancel_and_requeue_are_told(heard):
    job = enqueue("test_hooked", {}, delay=3600)
    assert Job.objects.get(pk=job.pk).cancel()
    assert heard.jobs["cancelled"] == [(job.pk, "cancelled")]
    assert Job.objects.get(pk=job.pk).requeue()
    assert heard.jobs["requeued"] == [(job.pk, "queued")]
    assert heard.outside_transaction == []


def test_enqueue_many_tells_once_with_every_job(heard):
    jobs = enqueue_many("test_hooked", [{}, {}, {}])
    assert heard.jobs["enqueued"] == [(job.pk, "queued") for job in jobs]


class Refused(EnqueueRefused):
    http_status = 402
    code = "refused"


def refuse(*, jobs):
    raise Refused(f"No room for {len(jobs)} job(s).")


@pytest.fixture
def refusing() -> Iterator[None]:
    hooks.enqueued.connect(refuse, job_types={"test_hooked"})
    hooks.requeued.connect(refuse, job_types={"test_hooked"})
    yield
    hooks.enqueued.disconnect(refuse)
    hooks.requeued.disconnect(refuse)


def test_a_refusal_enqueues_nothing_and_leaves_the_callers_transaction_usable(refusing):
    with transaction.atomic():
        kept = enqueue("noop", {})
        with pytest.raises(Refused, match="No room for 1 job"):
            enqueue("test_hooked", {})
        with pytest.raises(Refused, match="No room for 2 job"):
            enqueue_many("test_hooked", [{}, {}])
        after = enqueue("noop", {})  # the transaction still works
    assert set(Job.objects.values_list("pk", flat=True)) == {kept.pk, after.pk}


def test_a_refused_requeue_changes_nothing(refusing):
    hooks.enqueued.disconnect(refuse)
    job = enqueue("test_hooked", {"fail": True}, max_attempts=1)
    run_until_settled("--concurrency", "2")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    with pytest.raises(Refused):
        job.requeue()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.attempts == 1


def test_a_receiver_hears_only_the_types_it_chose():
    told = []

    def receive(*, jobs):
        told.extend(job.type for job in jobs)

    hooks.enqueued.connect(receive, job_types=lambda name: name.startswith("test_hook"))
    try:
        assert hooks.enqueued.wants("test_hooked")
        assert not hooks.enqueued.wants("noop")
        enqueue("noop", {})
        enqueue("test_hooked", {})
    finally:
        hooks.enqueued.disconnect(receive)
    assert told == ["test_hooked"]


def test_a_type_registered_later_is_asked_again():
    hooks.succeeded.connect(refuse, job_types=lambda name: name in registry.names())
    try:
        assert not hooks.succeeded.wants("test_hooked_late")  # not registered yet: remembered
        register("test_hooked_late")(hooked)
        assert hooks.succeeded.wants("test_hooked_late")
    finally:
        hooks.succeeded.disconnect(refuse)
    assert not hooks.succeeded.wants("test_hooked_late")
