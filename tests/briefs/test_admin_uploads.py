"""Staff upload a brief's assets in the admin, with the API's checks; no raw JSON field."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from briefs.models import Brief, Upload
from briefs.services import uploads_prune
from tests.support.media import make_image

pytestmark = pytest.mark.django_db

ADD = reverse("admin:briefs_brief_add")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner")


def stored_files(settings) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def management(admin_client, url):
    """The inline formsets' management fields, as the page renders them."""
    html = admin_client.get(url).content.decode()
    return dict(
        re.findall(
            r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"[^>]*value="(\d*)"', html
        )
    )


def form(owner, admin_client, url, **extra):
    return {
        "title": "Menu",
        "owner": str(owner.pk),
        "media_type": "text",
        "query": "Polish it.",
        "description": "",
        "upload_kind": "",
        **management(admin_client, url),
    } | extra


def test_the_form_has_uploads_and_no_json_field(admin_client):
    html = admin_client.get(reverse("admin:briefs_brief_add")).content.decode()
    assert 'type="file" name="uploads" multiple' in html
    assert 'name="assets"' not in html


def test_staff_add_a_brief_with_uploaded_files_stored_for_its_owner(admin_client, owner, tmp_path):
    png = make_image(tmp_path / "photo.png").read_bytes()
    files = [
        SimpleUploadedFile("menu.txt", b"Fresh asparagus."),
        SimpleUploadedFile("photo.png", png),
    ]
    response = admin_client.post(ADD, form(owner, admin_client, ADD, uploads=files))
    assert response.status_code == 302, response.content.decode()[-3000:]
    brief = Brief.objects.get()
    assert [(a["kind"], a["name"]) for a in brief.assets] == [
        ("text", "menu.txt"),
        ("image", "photo.png"),
    ]
    for asset in brief.assets:
        assert asset["file"].startswith(f"briefs/uploads/{owner.pk}/")
        assert default_storage.exists(asset["file"])
    assert default_storage.open(brief.assets[0]["file"]).read() == b"Fresh asparagus."
    assert default_storage.open(brief.assets[1]["file"]).read() == png
    # housekeeping deletes unused uploads: these are the brief's, and stay
    assert uploads_prune(older_than=timedelta(0)) == 0
    assert all(default_storage.exists(asset["file"]) for asset in brief.assets)


def test_a_file_that_is_not_what_its_name_says_is_refused_and_nothing_is_saved(
    admin_client, owner, settings
):
    files = [
        SimpleUploadedFile("menu.txt", b"Fresh asparagus."),
        SimpleUploadedFile("photo.png", b"\x89PNG not really"),
    ]
    response = admin_client.post(ADD, form(owner, admin_client, ADD, uploads=files))
    assert response.status_code == 200
    assert "photo.png: " in response.content.decode()
    assert not Brief.objects.exists() and not Upload.objects.exists()
    assert stored_files(settings) == []


def test_uploads_over_the_limit_or_of_unknown_kind_are_refused_and_nothing_is_saved(
    admin_client, owner, settings
):
    settings.BRIEFS_ASSET_MAX_BYTES = 10
    files = [SimpleUploadedFile("big.txt", b"x" * 11), SimpleUploadedFile("tool.exe", b"MZ")]
    response = admin_client.post(ADD, form(owner, admin_client, ADD, uploads=files))
    html = response.content.decode()
    assert response.status_code == 200
    assert "big.txt: The file is 11 bytes; the limit is 10 bytes." in html
    assert "tool.exe: Cannot tell what kind of file" in html
    assert not Brief.objects.exists() and not Upload.objects.exists()
    assert stored_files(settings) == []


def test_a_kind_can_be_given_and_assets_removed(admin_client, owner):
    brief = Brief.objects.create(
        owner=owner,
        title="Menu",
        query="q",
        media_type="text",
        assets=[{"kind": "image", "url": "https://example.com/a.png", "name": "a.png"}],
    )
    url = reverse("admin:briefs_brief_change", args=[brief.pk])
    page = admin_client.get(url).content.decode()
    assert "image: a.png" in page and 'name="remove_assets"' in page
    upload = SimpleUploadedFile("notes.data", b"plain words")
    response = admin_client.post(
        url,
        form(owner, admin_client, url, uploads=[upload], upload_kind="text", remove_assets=["0"]),
    )
    assert response.status_code == 302
    brief.refresh_from_db()
    assert [(a["kind"], a["name"]) for a in brief.assets] == [("text", "notes.data")]
