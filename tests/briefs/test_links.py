"""What a job works on, as the briefs app tells the queue's staff surfaces (briefs/links.py):
the brief of a job (by its payload), the transcript and SOP the job made, search by title."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from briefs import links
from briefs.models import SOP, Brief, Transcript
from jobs import display
from jobs.models import Job

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:jobs_job_changelist")


def brief_of(owner, title="Launch video") -> Brief:
    return Brief.objects.create(owner=owner, title=title, query="q", media_type="video")


def job_for(brief: Brief | None, type: str = "sop_extract", **payload) -> Job:
    if brief is not None:
        payload = {"brief_id": brief.pk, **payload}
    return Job.objects.create(type=type, payload=payload, status=Job.Status.SUCCEEDED)


def transcript_of(brief: Brief, job: Job | None = None) -> Transcript:
    return Transcript.objects.create(brief=brief, job=job, model="m", prompt_version="v")


def sop_of(brief: Brief, job: Job | None = None) -> SOP:
    return SOP.objects.create(
        brief=brief, owner=brief.owner, job=job, data={}, model="m", prompt_version="v"
    )


def test_links_to_brief_and_what_the_job_made(admin_user):
    brief = brief_of(admin_user)
    job = job_for(brief)
    made = transcript_of(brief, job)
    transcript_of(brief)  # newer, but another job's
    sop = sop_of(brief, job)
    assert display.job_links(job) == [
        (reverse("admin:briefs_brief_change", args=[brief.pk]), "Brief: Launch video"),
        (reverse("admin:briefs_transcript_change", args=[made.pk]), f"Transcript #{made.pk}"),
        (reverse("admin:briefs_sop_change", args=[sop.pk]), f"SOP #{sop.pk}"),
    ]
    without_payload = Job.objects.defer("payload").get(pk=job.pk)  # as the dashboard's lists
    assert display.job_links(without_payload) == display.job_links(job)


def test_falls_back_to_the_briefs_latest(admin_user):
    brief = brief_of(admin_user)
    transcript_of(brief)
    latest = transcript_of(brief)
    job = job_for(brief, type="analysis")
    urls = [url for url, _ in display.job_links(job)]
    assert reverse("admin:briefs_transcript_change", args=[latest.pk]) in urls
    assert not any("/sop/" in url for url in urls)


@pytest.mark.parametrize("value", ["x", True, -1, 0, None, [1], {"a": 1}, "9" * 40, 10**30, 2**63])
def test_odd_brief_ids_give_no_links(admin_client, admin_user, value):
    brief_of(admin_user)
    job = Job.objects.create(type="analysis", payload={"brief_id": value})
    assert display.job_links(job) == []
    page = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert page.status_code == 200
    assert admin_client.get(CHANGELIST).status_code == 200


def test_only_brief_job_types_link(admin_user):
    brief = brief_of(admin_user)
    assert display.job_links(job_for(brief, type="noop")) == []
    assert links.brief_job_types() >= {"analysis", "transcribe", "sop_extract"}
    assert "noop" not in links.brief_job_types()


def test_deleted_brief_leaves_the_job_without_links(admin_user):
    brief = brief_of(admin_user)
    job = job_for(brief)
    brief.delete()
    assert display.job_links(job) == []


def test_job_list_links_a_page_in_a_few_queries(admin_client, admin_user):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(captured)

    brief = brief_of(admin_user)
    job_for(brief)
    few = queries()
    for i in range(10):
        other = brief_of(admin_user, title=f"Brief {i}")
        job = job_for(other)
        transcript_of(other, job)
        sop_of(other, job)
    assert queries() == few
    html = admin_client.get(CHANGELIST).content.decode()
    assert reverse("admin:briefs_brief_change", args=[other.pk]) in html
    assert "Brief: Brief 9" in html


def test_dashboard_panel_links_the_brief(admin_client, admin_user):
    brief = brief_of(admin_user)
    job = job_for(brief)
    html = admin_client.get(
        reverse("jobs:job_detail", args=[job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert reverse("admin:briefs_brief_change", args=[brief.pk]) in html


def test_search_by_brief_title(admin_client, admin_user):
    brief = brief_of(admin_user, title="Quarterly report walkthrough")
    wanted = job_for(brief)
    job_for(brief, type="noop")  # names the brief, but is no brief's job
    job_for(brief_of(admin_user, title="Something else"))
    response = admin_client.get(CHANGELIST, {"q": "quarterly REPORT"})
    assert [j.pk for j in response.context["cl"].result_list] == [wanted.pk]
    response = admin_client.get(CHANGELIST, {"q": "no such title"})
    assert list(response.context["cl"].result_list) == []
