"""Briefs own their results: a brief run to completion by a real worker keeps its status and
every output (files on disk, JSON documents) after ``prunejobs`` deletes all of its jobs, and the
API still lists and serves them — to the owner and staff only."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F

from briefs.models import SOP, Artifact, Brief, BriefJob, Transcript
from briefs.services import brief_create, brief_start, brief_start_sop
from jobs.models import Job
from tests.api.conftest import ApiClient


def run_worker() -> None:
    call_command("runworker", "--burst", "--poll-interval", "0.05")


def prune_everything() -> None:
    """What JOB_RETENTION_DAYS does every week, for every finished job at once: the jobs are
    made a week old, then pruned."""
    Job.objects.update(finished_at=F("finished_at") - timedelta(days=7))
    call_command("prunejobs", "--older-than", "1d")
    assert not Job.objects.exists()


def snapshot(brief: Brief, media_root: Path) -> list[tuple]:
    """Each current output with what it holds: the file's bytes or the JSON document."""
    rows = []
    for artifact in Artifact.objects.filter(brief=brief, current=True).order_by("id"):
        held = (media_root / str(artifact.file.name)).read_bytes() if artifact.file else None
        rows.append(
            (artifact.pk, artifact.kind, artifact.step, artifact.size, held, artifact.document)
        )
    return rows


def api_outputs(client: ApiClient, brief: Brief) -> list[dict]:
    response = client.get(f"/api/briefs/{brief.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == Brief.objects.get(pk=brief.pk).status
    return body["outputs"]


@pytest.mark.django_db(transaction=True)
def test_text_brief_keeps_status_and_outputs_after_all_its_jobs_are_pruned(user, media_root):
    brief = brief_create(owner=user, title="Launch", query="Announce it", media_type="text")
    brief_start(brief=brief, use_pipeline=True, storyboard=True)
    assert Brief.objects.get(pk=brief.pk).status == "processing"
    run_worker()
    assert Brief.objects.get(pk=brief.pk).status == "completed"
    kinds = [(a.step, a.kind) for a in Artifact.objects.filter(brief=brief).order_by("id")]
    assert kinds == [
        ("analysis", "analysis"),
        ("storyboard", "storyboard"),
        ("text_analysis", "text_analysis"),
        ("render", "render_document"),
    ]
    render = Artifact.objects.get(brief=brief, kind="render_document")
    assert render.document == Job.objects.get(type="render").result  # the step's whole result
    before = snapshot(brief, media_root)
    client = ApiClient(user)
    listed = api_outputs(client, brief)

    prune_everything()

    assert Brief.objects.get(pk=brief.pk).status == "completed"
    assert snapshot(brief, media_root) == before
    assert set(BriefJob.objects.filter(brief=brief).values_list("status", flat=True)) == {
        "succeeded"
    }
    after = api_outputs(client, brief)
    assert [{**o, "job_id": None} for o in listed] == after
    assert {o["kind"] for o in after} >= {"analysis", "render_document"}
    download = client.get(next(o["download_url"] for o in after if o["kind"] == "analysis"))
    assert download.status_code == 200
    assert json.loads(download.content) == Artifact.objects.get(kind="analysis").document
    assert "attachment" in download["Content-Disposition"]


@pytest.mark.django_db(transaction=True)
def test_image_pipeline_files_survive_pruning_and_only_owner_and_staff_download(
    user, other_user, media_root
):
    brief = brief_create(owner=user, title="Poster", query="A red poster", media_type="image")
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    assert Brief.objects.get(pk=brief.pk).status == "completed"
    image = Artifact.objects.get(brief=brief, kind="image")
    assert image.step == "image_processing" and image.content_type == "image/png"
    assert image.size == (media_root / image.file.name).stat().st_size > 0
    assert image.meta["width"] > 0 and image.job.type == "image_processing"
    before = snapshot(brief, media_root)

    prune_everything()

    image.refresh_from_db()
    assert image.job_id is None
    assert Brief.objects.get(pk=brief.pk).status == "completed"
    assert snapshot(brief, media_root) == before
    outputs = api_outputs(ApiClient(user), brief)
    url = next(o["download_url"] for o in outputs if o["kind"] == "image")
    assert next(o for o in outputs if o["kind"] == "image")["step"] == "image_processing"
    response = ApiClient(user).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == (media_root / image.file.name).read_bytes()
    assert ApiClient(other_user).get(url).status_code == 404
    assert ApiClient().get(url).status_code == 401
    staff = get_user_model().objects.create_user("root", is_staff=True)
    assert ApiClient(staff).get(url).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_failed_step_fails_the_brief_and_a_staff_requeue_makes_it_processing(
    user, file_server, media_root, settings
):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = True
    url = f"{file_server.url}/missing.png"
    brief = brief_create(
        owner=user, title="I", query="q", media_type="image", assets=[{"url": url}]
    )
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    brief.refresh_from_db()
    assert brief.status == "failed"
    assert "asset_prep" in brief.failure_reason and "404" in brief.failure_reason
    failed = Job.objects.get(type="asset_prep")
    assert failed.status == "failed"
    staff = get_user_model().objects.create_user("root", is_staff=True)
    response = ApiClient(staff).post(f"/api/jobs/{failed.pk}/requeue")
    assert response.status_code == 200
    assert Brief.objects.get(pk=brief.pk).status == "processing"
    assert BriefJob.objects.get(job=failed).status == "queued"
    run_worker()  # the URL is still missing: it fails again
    assert Brief.objects.get(pk=brief.pk).status == "failed"

    prune_everything()

    brief.refresh_from_db()
    assert brief.status == "failed"
    assert "asset_prep (job deleted)" in brief.failure_reason and "404" in brief.failure_reason
    assert Artifact.objects.filter(brief=brief, kind="analysis", job__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_video_to_sop_outputs_survive_pruning(user, uploaded_video, media_root):
    brief = brief_create(
        owner=user, title="Demo", query="How to", media_type="video", assets=[uploaded_video]
    )
    brief_start_sop(brief=brief)
    run_worker()
    assert Brief.objects.get(pk=brief.pk).status == "completed"
    slim = Artifact.objects.get(brief=brief, kind="slim_video")
    assert slim.file.name.endswith(".slim.mp4") and slim.step == "video_slim"
    before = snapshot(brief, media_root)
    transcript = Transcript.objects.get(brief=brief)
    sop = SOP.objects.get(brief=brief)

    prune_everything()

    assert Brief.objects.get(pk=brief.pk).status == "completed"
    assert snapshot(brief, media_root) == before
    assert (media_root / slim.file.name).stat().st_size == slim.size > 0
    kept = Transcript.objects.get(pk=transcript.pk)
    assert kept.segments == transcript.segments and kept.job_id is None
    kept_sop = SOP.objects.get(pk=sop.pk)
    assert kept_sop.data == sop.data and kept_sop.job_id is None
    body = ApiClient(user).get(f"/api/briefs/{brief.pk}").json()
    assert [o["kind"] for o in body["outputs"]] == ["slim_video"]
    assert body["transcript"]["id"] == transcript.pk and body["sop"]["id"] == sop.pk


@pytest.mark.django_db(transaction=True)
def test_running_a_step_again_supersedes_its_earlier_output(user):
    brief = brief_create(owner=user, title="Again", query="q", media_type="text")
    brief_start(brief=brief)
    run_worker()
    brief_start(brief=brief)
    run_worker()
    rows = list(Artifact.objects.filter(brief=brief, step="analysis").order_by("id"))
    assert [row.current for row in rows] == [False, True]
    outputs = ApiClient(user).get(f"/api/briefs/{brief.pk}").json()["outputs"]
    assert [o["id"] for o in outputs] == [rows[1].pk]
    # The superseded one is still there for whoever owns it.
    old = ApiClient(user).get(f"/api/outputs/{rows[0].pk}/download")
    assert old.status_code == 200
