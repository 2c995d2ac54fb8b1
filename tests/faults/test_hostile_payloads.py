"""Every job type of the app, given malformed, oversized and hostile payloads: each is refused at
enqueue with a clear ``JobError`` (``InvalidPayload``…) and nothing is written, or the job runs
and ends ``succeeded`` or ``failed`` with a readable reason. Either way no other row changes and
no file is written outside ``MEDIA_ROOT``.

Parametrized over the registry: a new job type is covered without anyone adding it here. Runs
on SQLite and PostgreSQL (some inputs, such as integers past 64 bits or NUL characters, are
refused only by PostgreSQL's types)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from briefs.models import Brief
from briefs.services import brief_create
from jobs import registry
from jobs.exceptions import JobError
from jobs.models import Job, JobAttempt
from jobs.services import enqueue

TRAVERSAL = "../../etc/passwd"
UNDECODABLE = b"caf\xe9 \xff\xfe".decode("utf-8", "surrogateescape")  # what non-UTF-8 bytes become

#: Keys the app's job types read; hostile payloads set them all at once.
TEXT_KEYS = ("text", "prompt", "review_text", "tone", "business_name", "task", "name", "file")
NUMBER_KEYS = ("brief_id", "asset_index", "transcript_id", "seconds", "rating")


def app_types() -> list[str]:
    """The job types of the app itself (the test suite's own types are left out)."""
    return [
        job_type.name
        for job_type in registry.all_types()
        if not job_type.handler.__module__.startswith("tests.")
    ]


def hostile_payloads(brief_id: int) -> dict[str, Any]:
    nested: Any = "x"
    for _ in range(150):
        nested = {"a": nested}
    return {
        "not an object": ["brief_id", brief_id],
        "empty": {},
        "huge": {key: "x" * 1_100_000 for key in ("text", "prompt")} | {"brief_id": brief_id},
        "many keys": {f"k{n}": n for n in range(60_000)},
        "deep": {"brief_id": brief_id, "text": nested},
        "NUL": dict.fromkeys(TEXT_KEYS, "a\x00b") | {"brief_id": brief_id},
        "NUL key": {"brief_id": brief_id, "text\x00": "x", "prompt": "ok"},
        "non-UTF-8": dict.fromkeys(TEXT_KEYS, UNDECODABLE) | {"brief_id": brief_id},
        "wrong types": {key: ["x"] for key in TEXT_KEYS} | dict.fromkeys(NUMBER_KEYS, "1"),
        "objects": {key: {"$gt": ""} for key in TEXT_KEYS + NUMBER_KEYS},
        "booleans": dict.fromkeys(NUMBER_KEYS, True),
        "negative": dict.fromkeys(NUMBER_KEYS, -1),
        "past 64 bits": dict.fromkeys(NUMBER_KEYS, 10**30),
        "huge float": dict.fromkeys(NUMBER_KEYS, 1e308),
        "path traversal": dict.fromkeys(TEXT_KEYS, TRAVERSAL)
        | {"brief_id": brief_id, "asset_index": 0, "args": [TRAVERSAL], "seconds": 0},
        "absolute path": dict.fromkeys(TEXT_KEYS, "/etc/passwd")
        | {"brief_id": brief_id, "asset_index": 1},
        "next asset": {"brief_id": brief_id, "asset_index": 2, "transcript_id": 1},
        "no such asset": {"brief_id": brief_id, "asset_index": 99},
        "importable function": {"task": "os.system", "args": ["touch /tmp/owned"]},
        "importable module": {"task": "os", "kwargs": {"path": TRAVERSAL}},
    }


def snapshot() -> dict[str, Any]:
    """Every row the hostile jobs must leave alone."""
    return {
        "users": sorted(get_user_model().objects.values_list("pk", "username", "is_staff")),
        "briefs": sorted(
            Brief.objects.values_list("pk", "owner_id", "title", "query", "media_type", "assets")
        ),
        "bystanders": sorted(
            Job.objects.filter(queue="bystanders").values_list("pk", "status", "payload")
        ),
    }


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def hostile_brief(settings, tmp_path) -> Brief:
    """A brief of user A whose assets point outside MEDIA_ROOT (as an old import or a
    hand-edited row might), and a bystander's brief and job that nothing may touch."""
    settings.MEDIA_ROOT = str(tmp_path / "inside" / "media")
    settings.OPENAI_API_KEY = ""  # the offline provider
    owner = get_user_model().objects.create_user("mallory")
    bystander = get_user_model().objects.create_user("bystander")
    brief_create(owner=bystander, title="Keep me", query="Leave this alone", media_type="text")
    enqueue("noop", {"keep": True}, queue="bystanders", delay=3600, owner=bystander)
    brief = brief_create(owner=owner, title="Hostile", query="Read /etc/passwd", media_type="video")
    Brief.objects.filter(pk=brief.pk).update(
        assets=[
            {"kind": "video", "file": TRAVERSAL, "name": TRAVERSAL},
            {"kind": "image", "file": "/etc/passwd", "name": "/etc/passwd"},
            {"kind": "text", "url": "file:///etc/passwd", "name": f"../{TRAVERSAL}.txt"},
        ]
    )
    return Brief.objects.get(pk=brief.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("job_type", app_types())
def test_hostile_payloads_are_refused_or_fail_readably(job_type, hostile_brief, tmp_path):
    before, files_before = snapshot(), files_under(tmp_path)
    accepted: dict[str, Job] = {}
    runs: set[str] = set()  # payloads the type cleans to the same input run once
    for case, payload in hostile_payloads(hostile_brief.pk).items():
        try:
            cleaned = repr(payload)
            if isinstance(payload, dict):
                cleaned = json.dumps(registry.get(job_type).clean(dict(payload)), sort_keys=True)
                if cleaned in runs:
                    continue
            accepted[case] = enqueue(job_type, payload, owner=hostile_brief.owner)
            runs.add(cleaned)
        except JobError as exc:
            message = str(exc)
            assert message and "Traceback" not in message, (case, message)
            assert len(message) < 2000, (case, "the message repeats the whole input")
            assert snapshot() == before, case
    assert (
        not Job.objects.exclude(queue="bystanders")
        .exclude(pk__in=[job.pk for job in accepted.values()])
        .exists()
    ), "a refused payload left a job behind"

    ids = [job.pk for job in accepted.values()]
    for _ in range(20):  # a retry waits out its (short) backoff between bursts
        call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")
        if not Job.objects.filter(pk__in=ids).exclude(status__in=Job.FINISHED_STATUSES).exists():
            break
        time.sleep(0.1)

    for case, job in accepted.items():
        job.refresh_from_db()
        assert job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED), (case, job.status)
        if job.status == Job.Status.FAILED:
            assert job.error and "Traceback" not in job.error, (case, job.error)
            assert str(tmp_path) not in job.error, (case, "a server path in the reason")
            assert not job.error.startswith(("KeyError", "TypeError", "AttributeError")), (
                case,
                f"an unreadable reason: {job.error}",
            )
    assert snapshot() == before
    new_files = files_under(tmp_path) - files_before
    media_root = tmp_path / "inside" / "media"
    outside = [path for path in new_files if media_root not in path.parents]
    assert outside == [], "files written outside MEDIA_ROOT"
    assert not JobAttempt.objects.filter(job__queue="bystanders").exists()
