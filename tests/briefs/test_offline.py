"""The offline provider: deterministic, labelled, and true to the input where it can be."""

from __future__ import annotations

import pytest
from django.core.files import File
from django.core.management import call_command

from briefs import offline, schemas
from briefs.models import SOP, Transcript
from briefs.services import asset_store_upload, brief_create, brief_start_sop
from tests.briefs.conftest import ffmpeg


def test_screen_events_say_what_changed():
    dark, light = bytes([10] * 144), bytes([240] * 144)
    events = offline.screen_events(times=[0, 1, 2], thumbs=[dark, dark, light])["events"]
    texts = [e["description"] for e in events]
    assert texts[0].startswith("[offline] Frame at 0s: brightness 4%; first frame")
    assert "no visible change" in texts[1]
    assert "new scene" in texts[2] and "brightness 94%" in texts[2]


def test_offline_sop_starts_a_step_at_each_new_scene():
    segments = [
        {"start": 0, "end": 1, "kind": "screen", "text": "first frame"},
        {"start": 1, "end": 2, "kind": "screen", "text": "no visible change"},
        {"start": 2, "end": 3, "kind": "screen", "text": "new scene"},
    ]
    data = schemas.validate(
        offline.sop(title="T", segments=segments), schemas.SOP_SCHEMA, name="sop"
    )
    assert [(s["start"], s["end"]) for s in data["steps"]] == [(0, 2), (2, 3)]


@pytest.mark.parametrize(
    ("make", "schema"),
    [
        (
            lambda: offline.analysis(title="T", query="Q q", description="", media_type="text"),
            schemas.ANALYSIS_SCHEMA,
        ),
        (
            lambda: offline.storyboard(query="One. Two.", media_type="video"),
            schemas.STORYBOARD_SCHEMA,
        ),
        (lambda: offline.text_analysis(text="Some words here."), schemas.TEXT_ANALYSIS_SCHEMA),
        (lambda: offline.render(title="T", steps={}, media=[]), schemas.RENDER_SCHEMA),
        (
            lambda: offline.review_reply(review="Awful.", tone="calm", business=""),
            schemas.REVIEW_REPLY_SCHEMA,
        ),
        (lambda: offline.sentiment(text="great but slow"), schemas.SENTIMENT_SCHEMA),
        (lambda: offline.prompt_analysis(prompt="hi"), schemas.PROMPT_ANALYSIS_SCHEMA),
        (lambda: offline.asset_review(name="a", width=10, height=10), schemas.ASSET_REVIEW_SCHEMA),
    ],
)
def test_offline_results_fit_their_schemas_and_are_deterministic(make, schema):
    assert schemas.validate(make(), schema, name="x") == make()


@pytest.mark.django_db(transaction=True)
def test_offline_transcript_follows_the_video(user, tmp_path):
    path = tmp_path / "cut.mp4"
    ffmpeg(
        *("-f", "lavfi", "-i", "color=black:size=320x240:duration=2:rate=10"),
        *("-f", "lavfi", "-i", "color=white:size=320x240:duration=2:rate=10"),
        *("-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0", "-c:v", "libx264"),
        *("-pix_fmt", "yuv420p", str(path)),
    )
    with path.open("rb") as handle:
        asset = asset_store_upload(owner=user, file=File(handle, name="cut.mp4"))
    brief = brief_create(owner=user, title="Cut", query="q", media_type="video", assets=[asset])
    brief_start_sop(brief=brief)
    call_command("runworker", "--burst", "--poll-interval", "0.05")
    texts = [s["text"] for s in Transcript.objects.get(brief=brief).segments]
    assert "first frame" in texts[0]
    assert sum("new scene" in t for t in texts) == 1
    assert len(SOP.objects.get(brief=brief).steps) == 2
