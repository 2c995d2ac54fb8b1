"""SOPs and transcripts as files: Markdown, HTML, PDF (read back with pdftotext), WebVTT, SRT."""

from __future__ import annotations

import re
import subprocess

import pytest

from briefs import exports, sops
from briefs.models import Brief, Transcript

pytestmark = pytest.mark.django_db

DATA = {
    "title": "Reset a password",
    "purpose": "Help a user who is locked out.",
    "prerequisites": ["Admin access"],
    "steps": [
        {
            "number": 1,
            "title": "Open the users page",
            "actions": ["Click *Users* in the menu"],
            "tools": ["Admin"],
            "start": 3.0,
            "end": 12.5,
        },
        {
            "number": 2,
            "title": "Send the reset link",
            "actions": ["Press <Reset>", "Confirm"],
            "tools": [],
            "start": 75.0,
            "end": 90.0,
        },
    ],
}


@pytest.fixture
def sop(django_user_model):
    owner = django_user_model.objects.create_user("owner")
    brief = Brief.objects.create(owner=owner, title="Support", query="q", media_type="video")
    return sops.sop_record_extraction(
        brief=brief, transcript=None, job=None, data=DATA, model="m", prompt_version="p"
    )


def export(sop, fmt):
    return exports.export_sop(sop, sops.latest_version(sop), fmt, state_label="draft")


def test_markdown_has_numbered_steps_with_times_and_escapes_markup(sop):
    out = export(sop, "md")
    text = out.content.decode()
    assert out.filename == "reset-a-password-v1.md"
    assert text.startswith("# Reset a password\n")
    assert "1. **Open the users page** (00:03–00:12)" in text
    assert "2. **Send the reset link** (01:15–01:30)" in text
    assert r"Click \*Users\* in the menu" in text and r"Press \<Reset\>" in text
    assert "- Admin access" in text


def test_markdown_text_cannot_start_a_heading_or_a_list(sop):
    data = DATA | {"purpose": "# Not a heading", "prerequisites": ["1. not a list"]}
    version = sops.sop_save_version(sop=sop, data=data, author=None)
    text = exports.export_sop(sop, version, "md", state_label="draft").content.decode()
    assert "\n\\# Not a heading\n" in text
    assert "- 1\\. not a list" in text


def test_html_is_a_print_page_with_escaped_content(sop):
    html = export(sop, "html").content.decode()
    assert "@page" in html and '<ol class="steps">' in html
    assert "Press &lt;Reset&gt;" in html and "<Reset>" not in html


def test_pdf_reads_back_with_its_steps(sop, tmp_path):
    out = export(sop, "pdf")
    assert out.content.startswith(b"%PDF") and out.content_type == "application/pdf"
    path = tmp_path / "sop.pdf"
    path.write_bytes(out.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "Reset a password" in text
    assert re.search(r"1\.\s+Open the users page", text)
    assert re.search(r"2\.\s+Send the reset link", text)
    assert "Click *Users* in the menu" in text


SEGMENTS = [
    {"start": 65.25, "end": 70.0, "kind": "speech", "text": "Now press\n\nsave --> done"},
    {"start": 0, "end": 0, "kind": "screen", "text": "Login page"},
    {"start": 3, "end": 5, "kind": "speech", "text": "   "},
    "not a segment",
    {"start": "bad", "end": None, "kind": "speech", "text": "odd times"},
]


@pytest.fixture
def transcript(sop):
    return Transcript.objects.create(
        brief=sop.brief, segments=SEGMENTS, model="m", prompt_version="p"
    )


def test_webvtt_cues_are_sorted_valid_and_cannot_be_broken(transcript):
    text = exports.export_transcript(transcript, "vtt").content.decode()
    assert text.startswith("WEBVTT\n\n")
    blocks = text.split("\n\n")[1:]
    assert blocks[0] == "00:00:00.000 --> 00:00:00.500\n[On screen] Login page"
    assert blocks[1] == "00:00:00.000 --> 00:00:00.500\nodd times"
    assert blocks[2].startswith("00:01:05.250 --> 00:01:10.000\nNow press save → done")
    assert text.count("-->") == 3


def test_srt_numbers_cues_with_commas(transcript):
    text = exports.export_transcript(transcript, "srt").content.decode()
    assert text.startswith("1\n00:00:00,000 --> 00:00:00,500\n[On screen] Login page\n")
    assert "3\n00:01:05,250 --> 00:01:10,000\nNow press save → done" in text


def test_plain_text_has_a_time_per_line(transcript):
    text = exports.export_transcript(transcript, "txt").content.decode()
    assert text.splitlines()[-1] == "[01:05] Now press save → done"


def test_unknown_formats_are_refused(sop, transcript):
    with pytest.raises(exports.UnknownFormat):
        export(sop, "docx")
    with pytest.raises(exports.UnknownFormat):
        exports.export_transcript(transcript, "md")
