"""The SOP admin: edit steps into a new version, compare, restore, review moves, exports."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from briefs import sops
from briefs.models import SOP, Brief, SOPReview

pytestmark = pytest.mark.django_db

DATA = {
    "title": "Export a report",
    "purpose": "Send numbers to finance.",
    "prerequisites": ["Reports role"],
    "steps": [
        {
            "number": 1,
            "title": "Open reports",
            "actions": ["Click Reports"],
            "tools": ["Browser"],
            "start": 3,
            "end": 9.5,
        },
        {
            "number": 2,
            "title": "Export CSV",
            "actions": ["Choose Export"],
            "tools": [],
            "start": 10,
            "end": 65,
        },
    ],
}


@pytest.fixture
def sop(django_user_model):
    owner = django_user_model.objects.create_user("owner")
    brief = Brief.objects.create(owner=owner, title="Reports", query="q", media_type="video")
    return sops.sop_record_extraction(
        brief=brief, transcript=None, job=None, data=DATA, model="m", prompt_version="p"
    )


def staff_client(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="briefs", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def form_data(steps, **head):
    data = {
        "sop-title": head.get("title", "Export a report"),
        "sop-purpose": "Send numbers to finance.",
        "sop-prerequisites": head.get("prerequisites", "Reports role"),
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "2",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, step in enumerate(steps):
        for key, value in step.items():
            data[f"steps-{i}-{key}"] = value
    return data


OPEN = {
    "ORDER": "1",
    "title": "Open reports",
    "actions": "Click Reports",
    "tools": "Browser",
    "start": "0:03",
    "end": "9.5",
}
EXPORT = {
    "ORDER": "2",
    "title": "Export CSV",
    "actions": "Choose Export\n\nSave the file",
    "tools": "",
    "start": "10",
    "end": "1:05",
}
BLANK = {"ORDER": "", "title": "", "actions": "", "tools": "", "start": "", "end": ""}


def edit_url(sop):
    return reverse("admin:briefs_sop_edit", args=[sop.pk])


def test_edit_reorders_adds_and_removes_steps_as_a_new_version(admin_client, sop):
    page = admin_client.get(edit_url(sop))
    assert page.status_code == 200 and 'value="Open reports"' in page.content.decode()
    new = {
        "ORDER": "0",
        "title": "Log in first",
        "actions": "Sign in",
        "tools": "SSO, Browser",
        "start": "0",
        "end": "2",
    }
    steps = [OPEN | {"DELETE": "on"}, EXPORT, new]
    response = admin_client.post(
        edit_url(sop),
        form_data(steps, title="Export the report", prerequisites="Reports role\n\nSecond line"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    sop.refresh_from_db()
    assert sop.data["title"] == "Export the report" and sop.data["prerequisites"] == [
        "Reports role",
        "Second line",
    ]
    assert [
        (s["number"], s["title"], s["tools"], s["start"], s["end"]) for s in sop.data["steps"]
    ] == [
        (1, "Log in first", ["SSO", "Browser"], 0.0, 2.0),
        (2, "Export CSV", [], 10.0, 65.0),
    ]
    assert sop.data["steps"][1]["actions"] == ["Choose Export", "Save the file"]
    latest = sop.versions.order_by("-number").first()
    assert latest.number == 2 and latest.author.username == "admin"


@pytest.mark.parametrize(
    ("steps", "says"),
    [
        ([OPEN | {"start": "soon"}, EXPORT], "minutes:seconds"),
        ([OPEN | {"title": ""}, EXPORT], "This field is required"),
        ([OPEN | {"DELETE": "on"}, EXPORT | {"DELETE": "on"}], "at least one step"),
        ([OPEN | {"start": "50", "end": "10"}, EXPORT], "end time is before the start"),
        ([OPEN, EXPORT | {"actions": "Choose Export"}], "Nothing changed"),
    ],
)
def test_a_bad_edit_says_why_and_saves_nothing(admin_client, sop, steps, says):
    response = admin_client.post(edit_url(sop), form_data(steps))
    assert response.status_code == 200
    assert says in response.content.decode()
    assert sop.versions.count() == 1


def test_compare_shows_two_versions_side_by_side(admin_client, sop, admin_user):
    steps = [DATA["steps"][0], DATA["steps"][1] | {"title": "Export <XLSX>"}]
    steps.append(DATA["steps"][1] | {"title": "Mail it"})
    sops.sop_save_version(sop=sop, data=DATA | {"steps": steps}, author=admin_user)
    url = reverse("admin:briefs_sop_compare", args=[sop.pk])
    html = admin_client.get(url + "?a=1&b=2").content.decode()
    rows = re.findall(r'<tr class="sop-compare-(\w+)">\s*<th scope="row">([^<]+)<', html)
    assert rows == [
        ("same", "Title"),
        ("same", "Purpose"),
        ("same", "Before you start"),
        ("same", "Step 1"),
        ("changed", "Step 2"),
        ("added", "Step 3"),
    ]
    assert "Export &lt;XLSX&gt; (00:10–01:05)<br>• Choose Export" in html
    assert admin_client.get(url + "?a=x&b=99").status_code == 200


def compare_labels(admin_client, sop, a=1, b=2) -> list[tuple[str, str]]:
    """The step rows of the compare page: (state, label)."""
    url = reverse("admin:briefs_sop_compare", args=[sop.pk])
    html = admin_client.get(f"{url}?a={a}&b={b}").content.decode()
    return re.findall(r'<tr class="sop-compare-(\w+)">\s*<th scope="row">([^<]+)<', html)[3:]


def test_compare_lines_steps_up_by_title_when_one_is_inserted_or_removed(
    admin_client, sop, admin_user
):
    first, second = DATA["steps"]
    check = second | {"title": "check  the totals", "actions": ["Add them up"]}
    sops.sop_save_version(
        sop=sop,
        data=DATA | {"steps": [first | {"title": "Log in"}, first, check, second]},
        author=admin_user,
    )
    assert compare_labels(admin_client, sop) == [
        ("added", "Step 1"),
        ("same", "Step 1 → 2"),
        ("added", "Step 3"),
        ("same", "Step 2 → 4"),
    ]
    sops.sop_save_version(sop=sop, data=DATA | {"steps": [second]}, author=admin_user)
    assert compare_labels(admin_client, sop, 1, 3) == [
        ("removed", "Step 1"),
        ("same", "Step 2 → 1"),
    ]


def test_restore_from_the_change_page(admin_client, sop, admin_user):
    sops.sop_save_version(sop=sop, data=DATA | {"title": "Wrong"}, author=admin_user)
    response = admin_client.post(reverse("admin:briefs_sop_restore", args=[sop.pk, 1]))
    assert response.status_code == 302
    sop.refresh_from_db()
    assert sop.data["title"] == "Export a report" and sop.versions.count() == 3


def test_review_buttons_follow_state_and_permission(django_user_model, sop):
    editor = staff_client(django_user_model, "ed", "view_sop", "change_sop")
    reviewer = staff_client(django_user_model, "rev", "view_sop", "change_sop", "review_sop")
    change = reverse("admin:briefs_sop_change", args=[sop.pk])
    review = reverse("admin:briefs_sop_review", args=[sop.pk])
    html = editor.get(change).content.decode()
    assert 'value="submit"' in html and 'value="approve"' not in html
    editor.post(review, {"move": "submit", "comment": "please look"})
    assert 'value="approve"' not in editor.get(change).content.decode()
    html = reviewer.get(change).content.decode()
    assert 'value="approve"' in html and 'value="request_changes"' in html
    denied = editor.post(review, {"move": "approve"})
    assert "needs briefs.review_sop" in str(next(iter(get_messages(denied.wsgi_request))))
    reviewer.post(review, {"move": "approve", "comment": "ok"})
    sop.refresh_from_db()
    assert sop.review_state == SOP.ReviewState.APPROVED and sop.approved_version.number == 1
    assert SOPReview.objects.filter(sop=sop).count() == 2
    html = reviewer.get(change).content.decode()
    assert "please look" in html and "Approved" in html


def test_view_only_staff_cannot_edit_or_restore(django_user_model, sop):
    viewer = staff_client(django_user_model, "viewer", "view_sop")
    assert viewer.get(reverse("admin:briefs_sop_change", args=[sop.pk])).status_code == 200
    assert viewer.get(edit_url(sop)).status_code == 403
    assert viewer.post(edit_url(sop), form_data([OPEN, EXPORT | {"title": "x"}])).status_code == 403
    assert viewer.post(reverse("admin:briefs_sop_restore", args=[sop.pk, 1])).status_code == 403
    assert sop.versions.count() == 1


def test_change_page_links_to_each_export_and_the_links_work(admin_client, sop):
    html = admin_client.get(reverse("admin:briefs_sop_change", args=[sop.pk])).content.decode()
    for fmt in ("md", "html", "pdf"):
        url = f"/api/sops/{sop.pk}/export?format={fmt}&amp;version=latest"
        assert url in html
        assert admin_client.get(url.replace("&amp;", "&")).status_code == 200


def test_transcript_page_links_to_each_export(admin_client, sop):
    from briefs.models import Transcript

    transcript = Transcript.objects.create(
        brief=sop.brief,
        segments=[{"start": 0, "end": 1, "kind": "speech", "text": "Hi"}],
        model="m",
        prompt_version="p",
    )
    html = admin_client.get(
        reverse("admin:briefs_transcript_change", args=[transcript.pk])
    ).content.decode()
    for fmt in ("vtt", "srt", "txt"):
        url = f"/api/transcripts/{transcript.pk}/export?format={fmt}"
        assert url in html and admin_client.get(url).status_code == 200
