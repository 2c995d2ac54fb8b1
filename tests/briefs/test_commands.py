from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from briefs.models import Brief
from jobs.models import Job


@pytest.mark.django_db
def test_startbrief_with_a_demo_video_starts_the_sop_flow(user):
    out = io.StringIO()
    call_command("startbrief", "--owner", "ada", "--demo-video", "--sop", stdout=out)
    brief = Brief.objects.get()
    assert brief.assets[0]["kind"] == "video" and brief.assets[0]["file"].endswith("demo.mp4")
    assert [j.type for j in Job.objects.filter(brief_links__brief=brief).order_by("id")] == [
        "video_slim",
        "transcribe",
        "sop_extract",
    ]
    assert f"Brief #{brief.pk}" in out.getvalue()


@pytest.mark.django_db
def test_startbrief_errors_are_clear(user, tmp_path):
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("startbrief", "--owner", "nobody")
    with pytest.raises(CommandError, match="neither a file nor"):
        call_command("startbrief", "--owner", "ada", "--asset", str(tmp_path / "missing.mp4"))
    with pytest.raises(CommandError, match="no uploaded video"):
        call_command("startbrief", "--owner", "ada", "--sop")
    with pytest.raises(CommandError, match="Say what you want"):
        call_command("startbrief", "--owner", "ada", "--query", " ")
    assert not Brief.objects.exists()
