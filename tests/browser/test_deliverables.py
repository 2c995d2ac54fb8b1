"""A brief's deliverables in the browser, as staff use them: upload a video in the admin, run
the video → SOP flow with a real worker, open the SOP, correct a step, get it approved, compare
versions, and download Markdown, PDF and WebVTT; another user gets 404 on every download URL.
Screenshots of the brief and SOP pages land in var/screenshots (or SCREENSHOTS_DIR)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from api.models import ApiToken
from briefs.models import SOP, Brief
from tests.briefs.conftest import make_video

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def offline(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "2", "--poll-interval", "0.05")


def test_from_an_uploaded_video_to_an_approved_sop(
    browser, live_server, logged_in, tmp_path, django_user_model, screenshots_dir
):
    page = logged_in
    video = make_video(tmp_path / "checkout.mp4", seconds=4)

    # Staff add a brief with its video in the admin form (no JSON).
    page.goto("/admin/briefs/brief/add/")
    page.fill("#id_title", "How to check out")
    page.fill("#id_owner", str(page_user_id(django_user_model)))
    page.select_option("#id_media_type", "video")
    page.fill("#id_query", "The checkout steps for new staff.")
    page.set_input_files("#id_uploads", str(video))
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    brief = Brief.objects.get(title="How to check out")
    assert brief.assets[0]["kind"] == "video"

    # Make the SOP; a real worker runs slim → transcribe → extract.
    page.click("button:has-text('Make SOP')")
    expect(page.locator(".messagelist")).to_contain_text("Make SOP: started")
    run_worker()
    page.reload()
    sop = SOP.objects.get(brief=brief)

    # The brief page plays the slim video (byte ranges through the checked download view), and
    # a time in the SOP seeks the player.
    player = page.locator("#brief-player")
    expect(player).to_have_attribute("src", re.compile(r"^/api/outputs/\d+/download$"))
    page.wait_for_function(
        "() => { const v = document.getElementById('brief-player');"
        " return v.readyState >= 1 && v.duration > 3; }"
    )
    page.evaluate("() => document.getElementById('brief-player').muted = true")
    last_step = page.locator(".brief-sop a.seek").last
    target = float(last_step.get_attribute("data-seek"))
    last_step.click()
    page.wait_for_function(
        "(t) => Math.abs(document.getElementById('brief-player').currentTime - t) < 1.5", arg=target
    )
    expect(page.locator(".brief-transcript a.seek").first).to_be_visible()
    page.evaluate("() => document.getElementById('brief-player').pause()")
    page.screenshot(path=str(screenshots_dir / "admin-brief-outputs.png"), full_page=True)

    # The SOP: edit a step into version 2.
    page.goto(f"/admin/briefs/sop/{sop.pk}/change/")
    expect(page.locator("ol.sop-steps > li").first).to_be_visible()
    page.click("a.sop-edit")
    page.fill("input[name=steps-0-title]", "Open the checkout page")
    page.fill("textarea[name=steps-0-actions]", "Click Checkout\nCheck the basket")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("Saved as version 2 (draft)")
    expect(page.locator("ol.sop-steps > li").first).to_contain_text("Open the checkout page")

    # Review: submit, then approve.
    page.fill("#id_review_comment", "Step 1 named after the page")
    page.click("button[value=submit]")
    expect(page.locator(".messagelist")).to_contain_text("now in review")
    page.click("button[value=approve]")
    expect(page.locator(".messagelist")).to_contain_text("now approved")
    expect(page.locator(".field-review")).to_contain_text("approved: version 2")
    page.screenshot(path=str(screenshots_dir / "admin-sop-review.png"), full_page=True)

    # Compare version 1 with version 2, side by side.
    page.click("text=Compare versions")
    compared = page.locator("table.sop-compare")
    expect(compared.locator("tr.sop-compare-changed")).to_contain_text("Open the checkout page")
    expect(compared.locator("thead")).to_contain_text("Version 1")
    page.screenshot(path=str(screenshots_dir / "admin-sop-compare.png"), full_page=True)

    # Downloads from the SOP's and the transcript's pages.
    page.goto(f"/admin/briefs/sop/{sop.pk}/change/")
    markdown = download(page, "a.sop-export:has-text('Markdown')")
    assert markdown.startswith(b"# ") and b"Open the checkout page" in markdown
    pdf = download(page, "a.sop-export:has-text('PDF')")
    assert pdf.startswith(b"%PDF")
    page.goto(f"/admin/briefs/transcript/{sop.transcript_id}/change/")
    vtt = download(page, "a.transcript-export:has-text('WebVTT')")
    assert vtt.startswith(b"WEBVTT") and re.search(rb"\d\d:\d\d:\d\d\.\d{3} --> ", vtt)

    # Another user: 404 on every download URL, with their own valid token.
    bob = django_user_model.objects.create_user("bob")
    _, token = ApiToken.objects.create_token(user=bob, name="bob")
    urls = [f"/api/sops/{sop.pk}/export?format={f}" for f in ("md", "html", "pdf")]
    urls += [
        f"/api/transcripts/{sop.transcript_id}/export?format={f}" for f in ("vtt", "srt", "txt")
    ]
    urls += [f"/api/outputs/{pk}/download" for pk in brief.artifacts.values_list("pk", flat=True)]
    urls.append(f"/api/briefs/{brief.pk}/assets/0/download")
    assert brief.artifacts.filter(kind="slim_video").exists()  # its URL is among them
    stranger = browser.new_context(base_url=live_server.url)  # no admin session
    try:
        for url in urls:
            answer = stranger.request.get(url, headers={"Authorization": f"Bearer {token}"})
            assert answer.status == 404, url
            assert stranger.request.get(url).status == 401, url  # and nobody at all: 401
    finally:
        stranger.close()


def page_user_id(django_user_model) -> int:
    return django_user_model.objects.get(username="admin").pk


def download(page, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()
