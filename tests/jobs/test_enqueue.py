from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jobs import registry
from jobs.exceptions import InvalidPayload, UnknownJobType
from jobs.models import Job
from jobs.registry import register
from jobs.services import enqueue, enqueue_many

pytestmark = pytest.mark.django_db


def test_enqueue_creates_a_queued_job_with_defaults():
    job = enqueue("noop", {"hello": "world"})

    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.payload == {"hello": "world"}
    assert job.queue == "default"
    assert job.attempts == 0
    assert job.max_attempts == 3
    assert job.run_at <= timezone.now()


def test_enqueue_inside_a_rolled_back_transaction_leaves_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue("noop", {})
        raise RuntimeError("the caller's transaction fails")

    assert not Job.objects.exists()


def test_unknown_type_is_refused_with_the_known_types():
    with pytest.raises(UnknownJobType, match=r"Unknown job type 'nope'.*noop"):
        enqueue("nope", {})
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "must be a JSON object, not an array"),
        ("text", "must be a JSON object, not a string"),
        ({"when": timezone.now()}, "not valid JSON"),
        ({"x": float("nan")}, "not valid JSON"),
    ],
)
def test_payload_that_is_not_a_json_object_is_refused(payload, message):
    with pytest.raises(InvalidPayload, match=message):
        enqueue("noop", payload)
    assert not Job.objects.exists()


def test_oversized_payload_is_refused(settings):
    settings.JOBS_MAX_PAYLOAD_BYTES = 1000
    with pytest.raises(InvalidPayload, match="limit is 1,000 bytes"):
        enqueue("noop", {"blob": "x" * 2000})
    assert not Job.objects.exists()


def test_handler_validation_rejects_bad_sleep_payload():
    with pytest.raises(InvalidPayload, match="seconds"):
        enqueue("sleep", {"seconds": "ten"})
    with pytest.raises(InvalidPayload, match="between 0 and 3600"):
        enqueue("sleep", {"seconds": -1})
    assert not Job.objects.exists()


def test_delay_and_run_at_schedule_the_job():
    delayed = enqueue("noop", {}, delay=60)
    at = timezone.now() + timedelta(hours=1)
    scheduled = enqueue("noop", {}, run_at=at)

    assert delayed.run_at > timezone.now() + timedelta(seconds=55)
    assert scheduled.run_at == at
    with pytest.raises(ValueError, match="not both"):
        enqueue("noop", {}, delay=1, run_at=at)
    with pytest.raises(ValueError, match="negative"):
        enqueue("noop", {}, delay=-5)


def test_unique_key_returns_the_live_job_instead_of_a_duplicate():
    first = enqueue("noop", {"n": 1}, unique_key="report:42")
    second = enqueue("noop", {"n": 2}, unique_key="report:42")

    assert second.pk == first.pk
    assert Job.objects.count() == 1


def test_unique_key_is_free_again_once_the_job_finished():
    first = enqueue("noop", {}, unique_key="report:42")
    Job.objects.filter(pk=first.pk).update(status=Job.Status.SUCCEEDED)

    second = enqueue("noop", {}, unique_key="report:42")

    assert second.pk != first.pk


def test_a_job_depending_on_a_failed_job_is_cancelled_at_once():
    parent = enqueue("noop", {})
    Job.objects.filter(pk=parent.pk).update(status=Job.Status.FAILED)
    parent.refresh_from_db()

    child = enqueue("noop", {}, depends_on=parent)

    child.refresh_from_db()
    assert child.status == Job.Status.CANCELLED
    assert f"Dependency #{parent.pk}" in child.error


def test_enqueue_many_writes_all_jobs_or_none():
    jobs = enqueue_many("noop", [{"i": i} for i in range(250)], queue="bulk", priority=5)

    assert len(jobs) == 250
    assert Job.objects.filter(queue="bulk", priority=5).count() == 250

    with pytest.raises(InvalidPayload):
        enqueue_many("noop", [{"i": 1}, ["bad"]])
    assert Job.objects.count() == 250


@pytest.mark.parametrize(
    "payload", [{"a": "x\x00y"}, {"k\x00": 1}, {"nested": [{"deep": ["\x00"]}]}]
)
def test_nul_characters_are_refused_on_every_database(payload):
    with pytest.raises(InvalidPayload, match="NUL"):
        enqueue("noop", payload)
    assert not Job.objects.exists()


def test_a_literal_backslash_u0000_is_ordinary_text():
    job = enqueue("noop", {"text": "\\u0000"})

    job.refresh_from_db()
    assert job.payload == {"text": "\\u0000"}


def test_enqueue_many_returns_exactly_what_it_stored(django_user_model):
    """enqueue_many's rows (COPY on PostgreSQL) and the jobs it returns match field for field,
    whatever the payload holds: tabs, newlines, backslashes, quotes, \\N, non-ASCII text."""
    owner = django_user_model.objects.create_user("bulk-owner")
    run_at = timezone.now() + timedelta(minutes=5)
    payloads = [
        {"text": "tab\there\nnew line\r\\ back\\slash \\N \"quoted\" 'single'"},
        {"unicode": "naïve — 東京 🚀", "nested": {"list": [1, 2.5, None, True, "\\t"]}},
        {},
        {"n": 3},
    ]
    jobs = enqueue_many(
        "noop",
        payloads,
        queue="bulk",
        priority=7,
        run_at=run_at,
        owner=owner,
        max_attempts=5,
        timeout=42,
    )

    assert [job.payload for job in jobs] == payloads
    assert len({job.pk for job in jobs}) == 4
    assert [job.pk for job in jobs] == sorted(job.pk for job in jobs)
    for job in jobs:
        stored = Job.objects.get(pk=job.pk)
        for field in Job._meta.concrete_fields:
            assert getattr(job, field.attname) == getattr(stored, field.attname), field.name
        assert job.owner == owner
        assert not job._state.adding
    jobs[0].usage["tokens"] = 1
    assert jobs[1].usage == {}  # no value shared between the returned jobs


def test_enqueue_many_stores_what_the_types_validator_made_of_each_payload():
    jobs = enqueue_many("sleep", [{"seconds": 1, "extra": "dropped"}, {"seconds": 2, "x": [1]}])

    stored = list(Job.objects.filter(pk__in=[job.pk for job in jobs]).order_by("pk"))
    assert [job.payload for job in stored] == [{"seconds": 1}, {"seconds": 2}]
    assert [job.payload for job in jobs] == [{"seconds": 1}, {"seconds": 2}]


def test_enqueue_many_stores_a_payload_its_validator_changed_in_place():
    def fill_in(payload: dict) -> dict:
        payload.setdefault("level", "normal")
        return payload

    register("test_fills_in", validate=fill_in)(lambda payload, ctx: payload)
    try:
        jobs = enqueue_many("test_fills_in", [{"n": 1}, {"n": 2}])
    finally:
        registry._registry.pop("test_fills_in")
    stored = Job.objects.filter(pk__in=[job.pk for job in jobs]).order_by("pk")
    assert [job.payload for job in stored] == [
        {"n": 1, "level": "normal"},
        {"n": 2, "level": "normal"},
    ]


def test_enqueue_many_rolls_back_with_the_callers_transaction():
    with transaction.atomic():
        enqueue_many("noop", [{"i": i} for i in range(30)])
        assert Job.objects.count() == 30
        transaction.set_rollback(True)
    assert Job.objects.count() == 0
