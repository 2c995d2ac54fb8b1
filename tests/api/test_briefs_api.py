from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from briefs.models import SOP, Brief, BriefJob, Transcript
from credits import services as credits
from jobs.models import Job

pytestmark = pytest.mark.django_db

BRIEF = {
    "title": "My Video Project",
    "description": "Create a video about AI",
    "query": "Generate a video about artificial intelligence",
    "media_type": "video",
}


def test_create_a_draft_brief(as_alice, alice):
    response = as_alice.post("/api/briefs", BRIEF)

    assert response.status_code == 201, response.content
    body = response.json()
    brief = Brief.objects.get(pk=body["id"])
    assert brief.owner == alice
    assert body["status"] == "draft"
    assert body["jobs"] == []
    assert body["status_url"] == f"/api/briefs/{brief.pk}"
    assert body["transcript"] is None and body["sop"] is None


def test_the_earlier_systems_body_with_use_pipeline_starts_the_pipeline(as_alice, alice):
    # The earlier system sent user_id; the owner is always the caller, the field is ignored.
    response = as_alice.post(
        "/api/briefs", BRIEF | {"user_id": "someone-else", "use_pipeline": True}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "processing"
    assert [job["type"] for job in body["jobs"]] == [
        "analysis",
        "asset_prep",
        "video_generation",
        "render",
    ]
    assert Brief.objects.get().owner == alice
    assert all(job.owner == alice for job in Job.objects.all())


def test_start_without_the_pipeline_is_the_analysis_step(as_alice):
    body = as_alice.post("/api/briefs", BRIEF | {"start": True, "storyboard": True}).json()

    assert [job["type"] for job in body["jobs"]] == ["analysis", "storyboard"]


def test_invalid_briefs_name_the_fields(as_alice):
    response = as_alice.post("/api/briefs", {"title": "", "query": "x", "media_type": "film"})

    assert response.status_code == 422
    fields = {item["field"] for item in response.json()["fields"]}
    assert fields == {"title", "media_type"}
    assert not Brief.objects.exists()


def test_asset_errors_from_the_service_name_the_field(as_alice):
    response = as_alice.post(
        "/api/briefs", BRIEF | {"assets": [{"url": "ftp://example.com/a.mp4"}]}
    )

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "assets"
    assert "http" in response.json()["fields"][0]["message"]


def test_a_user_cannot_use_another_users_upload(as_alice, as_bob):
    uploaded = as_bob.client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("clip.mp4", b"not really a video")},
        headers=as_bob.headers,
    ).json()

    for name in (uploaded["file"], f"briefs/uploads/{as_alice.user.pk}/../{as_bob.user.pk}/x.mp4"):
        response = as_alice.post("/api/briefs", BRIEF | {"assets": [{"file": name}]})
        assert response.status_code == 422
        assert response.json()["fields"][0]["field"] == "assets.0.file"
    assert not Brief.objects.exists()


def test_upload_then_use_it_in_a_brief(as_alice):
    response = as_alice.client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("demo.mp4", b"\x00\x01video bytes")},
        headers=as_alice.headers,
    )

    assert response.status_code == 201, response.content
    asset = response.json()
    assert asset["kind"] == "video"
    assert asset["file"].startswith(f"briefs/uploads/{as_alice.user.pk}/")
    created = as_alice.post("/api/briefs", BRIEF | {"assets": [asset]})
    assert created.status_code == 201, created.content
    assert created.json()["assets"][0]["file"] == asset["file"]


def test_upload_of_an_unknown_kind_is_refused(as_alice):
    response = as_alice.client.post(
        "/api/uploads", {"file": SimpleUploadedFile("notes.xyz", b"?")}, headers=as_alice.headers
    )

    assert response.status_code == 422


def test_integrate_starts_an_existing_brief_once(as_alice):
    brief_id = as_alice.post("/api/briefs", BRIEF | {"media_type": "text"}).json()["id"]

    response = as_alice.post("/api/briefs/integrate", {"brief_id": brief_id, "use_pipeline": True})

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["brief_id"] == brief_id
    assert body["status"] == "processing"
    assert len(body["jobs"]) == 3
    assert all(job["status_url"].startswith("/api/jobs/") for job in body["jobs"])
    again = as_alice.post("/api/briefs/integrate", {"brief_id": brief_id})
    assert again.status_code == 409
    assert "already processing" in again.json()["message"]
    assert Job.objects.count() == 3


def test_another_users_brief_is_404_everywhere(as_alice, as_bob):
    brief_id = as_alice.post("/api/briefs", BRIEF).json()["id"]

    assert as_bob.get(f"/api/briefs/{brief_id}").status_code == 404
    assert as_bob.post("/api/briefs/integrate", {"brief_id": brief_id}).status_code == 404
    assert as_bob.post(f"/api/briefs/{brief_id}/sop").status_code == 404
    assert as_bob.get("/api/jobs", action="by_brief", brief_id=brief_id).status_code == 404
    assert (
        as_bob.post("/api/jobs/analysis/start", {"payload": {"brief_id": brief_id}}).status_code
        == 404
    )
    assert as_bob.get("/api/briefs").json()["briefs"] == []
    assert not Job.objects.exists()


def test_jobs_by_brief(as_alice):
    brief_id = as_alice.post("/api/briefs", BRIEF | {"use_pipeline": True}).json()["id"]

    body = as_alice.get("/api/jobs", action="by_brief", brief_id=brief_id).json()

    assert body["action"] == "by_brief"
    assert [job["type"] for job in body["jobs"]] == [
        "analysis",
        "asset_prep",
        "video_generation",
        "render",
    ]
    assert all(job["brief_id"] == brief_id for job in body["jobs"])


def test_starting_a_job_on_an_own_brief_links_it(as_alice):
    brief_id = as_alice.post("/api/briefs", BRIEF).json()["id"]

    job_id = as_alice.post("/api/jobs/analysis/start", {"payload": {"brief_id": brief_id}}).json()[
        "job_id"
    ]

    link = BriefJob.objects.get(job_id=job_id)
    assert (link.brief_id, link.job_type, link.status) == (brief_id, "analysis", "queued")
    assert Brief.objects.get(pk=brief_id).status == "processing"
    assert as_alice.get(f"/api/jobs/{job_id}").json()["brief_id"] == brief_id
    # A job type that does not work for briefs is not linked (it would never move the status).
    payload = {"text": "ok", "brief_id": brief_id}
    other = as_alice.post("/api/jobs/sentiment_analysis/start", {"payload": payload})
    assert other.status_code == 202
    assert not BriefJob.objects.filter(job_id=other.json()["job_id"]).exists()
    bad = as_alice.post("/api/jobs/analysis/start", {"payload": {"brief_id": 2**80}})
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "payload.brief_id"


def test_without_credits_nothing_is_created_and_the_answer_is_402(as_alice, alice, settings):
    settings.CREDITS_STARTING_BALANCE = 3  # the video pipeline costs 1 + 5 + 1

    response = as_alice.post("/api/briefs", BRIEF | {"use_pipeline": True})

    assert response.status_code == 402
    assert response.json()["error"] == "insufficient_credits"
    assert "Nothing was started" in response.json()["message"]
    assert not Brief.objects.exists()
    assert not Job.objects.exists()
    assert credits.balance(alice) == 3


def test_the_job_limit_covers_a_whole_pipeline(as_alice, settings):
    settings.MAX_JOBS_PER_USER = 3

    response = as_alice.post("/api/briefs", BRIEF | {"use_pipeline": True})

    assert response.status_code == 429
    assert "needs 4 more" in response.json()["message"]
    assert not Brief.objects.exists()


def test_sop_needs_an_uploaded_video(as_alice):
    brief_id = as_alice.post("/api/briefs", BRIEF).json()["id"]

    response = as_alice.post(f"/api/briefs/{brief_id}/sop")

    assert response.status_code == 409
    assert "no uploaded video" in response.json()["message"]


def test_brief_detail_has_its_transcript_and_sop_and_they_are_private(as_alice, as_bob, alice):
    brief_id = as_alice.post("/api/briefs", BRIEF).json()["id"]
    brief = Brief.objects.get(pk=brief_id)
    transcript = Transcript.objects.create(
        brief=brief,
        segments=[{"start": 0, "end": 2, "kind": "speech", "text": "Open the app"}],
        model="offline",
        prompt_version="t1",
    )
    sop = SOP.objects.create(
        brief=brief,
        owner=alice,
        transcript=transcript,
        data={"title": "Open the app", "steps": []},
        model="offline",
        prompt_version="s1",
    )

    body = as_alice.get(f"/api/briefs/{brief_id}").json()

    assert body["transcript"]["id"] == transcript.pk
    assert "Open the app" in body["transcript"]["text"]
    assert body["sop"]["title"] == "Open the app"
    assert as_alice.get(f"/api/transcripts/{transcript.pk}").status_code == 200
    assert as_alice.get(f"/api/sops/{sop.pk}").json()["transcript_id"] == transcript.pk
    assert as_bob.get(f"/api/transcripts/{transcript.pk}").status_code == 404
    assert as_bob.get(f"/api/sops/{sop.pk}").status_code == 404


def test_list_briefs_by_status(as_alice):
    as_alice.post("/api/briefs", BRIEF)
    as_alice.post("/api/briefs", BRIEF | {"use_pipeline": True})

    assert as_alice.get("/api/briefs").json()["count"] == 2
    processing = as_alice.get("/api/briefs", status="processing").json()["briefs"]
    assert [brief["status"] for brief in processing] == ["processing"]


@pytest.mark.django_db(transaction=True)
def test_a_brief_runs_to_completed_through_the_cron_endpoint(as_alice, settings):
    settings.WEBHOOK_SECRET = "cron-secret-for-tests-0123456789"
    brief_id = as_alice.post("/api/briefs", BRIEF | {"media_type": "text", "start": True}).json()[
        "id"
    ]

    ran = (
        Client()
        .post(
            "/api/cron/process-jobs",
            {"maxJobs": 5},
            content_type="application/json",
            headers={"X-Webhook-Secret": settings.WEBHOOK_SECRET},
        )
        .json()
    )

    assert ran["succeeded"] == 1, ran
    body = as_alice.get(f"/api/briefs/{brief_id}").json()
    assert body["status"] == "completed"
    assert body["jobs"][0]["result"]
