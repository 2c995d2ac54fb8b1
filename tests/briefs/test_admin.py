"""The briefs admin: jobs inline, start actions with permissions and credits, readable
transcripts and SOPs, and the links between jobs, briefs, transcripts and SOPs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from briefs.models import SOP, Brief, Transcript
from briefs.services import brief_start
from jobs.models import Job
from tests.support.transitions import finish

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:briefs_brief_changelist")

SOP_DATA = {
    "title": "Export a report",
    "purpose": "Send the monthly numbers to finance.",
    "prerequisites": ["An account with the reports role"],
    "steps": [
        {
            "number": 1,
            "title": "Open the reports page",
            "actions": ["Click Reports in the menu"],
            "tools": ["Browser"],
            "start": 3,
            "end": 9.5,
        },
        {
            "number": 2,
            "title": "Export as <CSV>",
            "actions": ["Choose Export", "Pick CSV"],
            "tools": [],
            "start": 10,
            "end": 65,
        },
    ],
}
SEGMENTS = [
    {"start": 0, "end": 2.5, "kind": "speech", "text": "Hello, let us export the report."},
    {"start": 3, "end": 9, "kind": "screen", "text": "The reports page opens."},
]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("boss")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def make_brief(owner, **fields) -> Brief:
    values = {"title": "Launch video", "query": "A launch video", "media_type": "text"} | fields
    return Brief.objects.create(owner=owner, **values)


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_list_shows_the_status_and_filters_on_it(admin_client, superuser):
    draft = make_brief(superuser, title="Draft one")
    failed = make_brief(superuser, title="Broken one")
    (job,) = brief_start(brief=failed)
    finish(job, "failed", error="no")
    response = admin_client.get(CHANGELIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert ">Draft<" in html and ">Failed<" in html
    response = admin_client.get(CHANGELIST, {"status": "failed"})
    assert list(response.context["cl"].result_list) == [failed]
    assert draft not in response.context["cl"].result_list


def test_change_page_has_jobs_inline_and_start_buttons(admin_client, superuser):
    brief = make_brief(superuser)
    (job,) = brief_start(brief=brief)
    finish(job, "failed", error="RateLimitError: slow down")
    Job.objects.filter(pk=job.pk).update(attempts=3)
    response = admin_client.get(reverse("admin:briefs_brief_change", args=[brief.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("admin:jobs_job_change", args=[job.pk]) in html
    assert "RateLimitError: slow down" in html and "3/3" in html
    assert reverse("admin:briefs_brief_start", args=[brief.pk, "pipeline"]) in html
    assert f"analysis (job #{job.pk}): RateLimitError" in html  # why it failed


def test_start_pipeline_action(admin_client, superuser):
    brief = make_brief(superuser, media_type="text")
    response = admin_client.post(
        CHANGELIST, {"action": "start_pipeline", "_selected_action": [brief.pk]}, follow=True
    )
    jobs = list(Job.objects.filter(brief_links__brief=brief).order_by("id"))
    assert [job.type for job in jobs] == ["analysis", "text_analysis", "render"]
    assert jobs[1].depends_on_id == jobs[0].pk
    assert texts(response) == [
        f"Start pipeline: started “Launch video” (3 jobs, first #{jobs[0].pk})."
    ]


def test_start_refused_with_reason(admin_client, superuser):
    brief = make_brief(superuser, media_type="text")
    response = admin_client.post(
        CHANGELIST, {"action": "start_sop", "_selected_action": [brief.pk]}, follow=True
    )
    assert not Job.objects.filter(brief_links__brief=brief).exists()
    [message] = texts(response)
    assert message.startswith("Make SOP: not started “Launch video”: An SOP is made from a video")


def test_start_refused_without_credits(admin_client, superuser, settings):
    settings.CREDITS_STARTING_BALANCE = 0
    brief = make_brief(superuser, media_type="text")
    url = reverse("admin:briefs_brief_start", args=[brief.pk, "pipeline"])
    response = admin_client.post(url, follow=True)
    assert not Job.objects.filter(brief_links__brief=brief).exists()
    assert any("Not enough credits" in text for text in texts(response))


def test_start_button_needs_change_permission(client, django_user_model, superuser):
    brief = make_brief(superuser)
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_brief"))
    client.force_login(viewer)
    page = client.get(reverse("admin:briefs_brief_change", args=[brief.pk]))
    assert page.status_code == 200
    assert reverse("admin:briefs_brief_start", args=[brief.pk, "pipeline"]) not in (
        page.content.decode()
    )
    url = reverse("admin:briefs_brief_start", args=[brief.pk, "pipeline"])
    assert client.post(url).status_code == 403
    assert client.get(url).status_code == 405
    response = client.post(CHANGELIST, {"action": "start_pipeline", "_selected_action": [brief.pk]})
    assert response.status_code in (200, 302)
    assert not Job.objects.filter(brief_links__brief=brief).exists()


def test_unknown_start_is_refused(admin_client, superuser):
    brief = make_brief(superuser)
    url = reverse("admin:briefs_brief_start", args=[brief.pk, "everything"])
    assert admin_client.post(url).status_code == 403


def test_transcript_is_readable(admin_client, superuser):
    brief = make_brief(superuser, media_type="video")
    transcript = Transcript.objects.create(
        brief=brief, segments=SEGMENTS, language="en", model="whisper-1", prompt_version="v1"
    )
    response = admin_client.get(reverse("admin:briefs_transcript_change", args=[transcript.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<td class="ts">00:00-00:02</td><td class="kind">speech</td>' in html
    assert "Hello, let us export the report." in html
    assert admin_client.get(reverse("admin:briefs_transcript_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:briefs_transcript_add")).status_code == 403


def test_sop_is_numbered_steps_not_json(admin_client, superuser):
    brief = make_brief(superuser, media_type="video")
    transcript = Transcript.objects.create(
        brief=brief, segments=SEGMENTS, model="m", prompt_version="v1"
    )
    sop = SOP.objects.create(
        brief=brief,
        owner=superuser,
        transcript=transcript,
        data=SOP_DATA,
        model="gpt",
        prompt_version="v1",
    )
    response = admin_client.get(reverse("admin:briefs_sop_change", args=[sop.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<ol class="sop-steps"><li><div class="sop-step-title">Open the reports page' in html
    assert "Export as &lt;CSV&gt;" in html  # escaped
    assert "<li>Choose Export</li><li>Pick CSV</li>" in html
    assert "Tools: Browser · at 00:03–00:09" in html
    assert "An account with the reports role" in html
    assert reverse("admin:briefs_transcript_change", args=[transcript.pk]) in html
    listing = admin_client.get(reverse("admin:briefs_sop_changelist")).content.decode()
    assert "Export a report" in listing


def test_job_page_links_to_brief_transcript_and_sop(admin_client, superuser):
    brief = make_brief(superuser, media_type="video")
    job = Job.objects.create(
        type="sop_extract", payload={"brief_id": brief.pk}, status=Job.Status.SUCCEEDED
    )
    transcript = Transcript.objects.create(
        brief=brief, segments=SEGMENTS, model="m", prompt_version="v1"
    )
    sop = SOP.objects.create(
        brief=brief, owner=superuser, job=job, data=SOP_DATA, model="m", prompt_version="v1"
    )
    html = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    for url in (
        reverse("admin:briefs_brief_change", args=[brief.pk]),
        reverse("admin:briefs_transcript_change", args=[transcript.pk]),
        reverse("admin:briefs_sop_change", args=[sop.pk]),
    ):
        assert url in html
    brief_html = admin_client.get(
        reverse("admin:briefs_brief_change", args=[brief.pk])
    ).content.decode()
    assert reverse("admin:briefs_sop_change", args=[sop.pk]) in brief_html
    assert reverse("admin:briefs_transcript_change", args=[transcript.pk]) in brief_html


def test_sop_with_odd_data_still_renders(admin_client, superuser):
    brief = make_brief(superuser, media_type="video")
    sop = SOP.objects.create(
        brief=brief, owner=superuser, data={"steps": ["not a dict"]}, model="m", prompt_version="v"
    )
    response = admin_client.get(reverse("admin:briefs_sop_change", args=[sop.pk]))
    assert response.status_code == 200
