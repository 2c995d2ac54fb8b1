from __future__ import annotations

import pytest
from django.core.management import call_command

from briefs.models import SOP, Brief, Transcript
from briefs.services import brief_create, brief_start, brief_start_sop


@pytest.mark.django_db(transaction=True)
def test_text_pipeline_runs_offline(user):
    brief = brief_create(
        owner=user, title="Launch", query="Write launch copy for our app.", media_type="text"
    )
    jobs = brief_start(brief=brief, use_pipeline=True, storyboard=True)
    assert [j.type for j in jobs] == ["analysis", "storyboard", "text_analysis", "render"]
    call_command("runworker", "--burst", "--concurrency", "1")
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == "completed", [(j.type, j.status, j.error) for j in brief.jobs.all()]


@pytest.mark.django_db(transaction=True)
def test_video_sop_offline(user, uploaded_video):
    brief = brief_create(
        owner=user, title="Demo", query="How to do it", media_type="video", assets=[uploaded_video]
    )
    brief_start_sop(brief=brief)
    call_command("runworker", "--burst", "--concurrency", "1")
    assert Brief.objects.get(pk=brief.pk).status == "completed", [
        (j.type, j.status, j.error) for j in brief.jobs.all()
    ]
    assert Transcript.objects.filter(brief=brief).count() == 1
    assert SOP.objects.get(brief=brief).owner == user
