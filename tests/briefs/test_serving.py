"""Checked downloads: byte ranges for players (206, 416), and the front-server hand-off."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import RequestFactory

from briefs import serving
from briefs.checks import check_ai_settings

BODY = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def stored(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return default_storage.save("briefs/generated/1/clip.mp4", ContentFile(BODY))


def get(name, range_header=None, method="get"):
    headers = {"Range": range_header} if range_header else {}
    request = getattr(RequestFactory(), method)("/x", headers=headers)
    return serving.serve(request, name, filename="clip.mp4")


def content(response):
    return b"".join(response.streaming_content)


def test_whole_file_says_it_takes_ranges(stored):
    response = get(stored)
    assert response.status_code == 200 and content(response) == BODY
    assert response["Accept-Ranges"] == "bytes" and response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(BODY))
    assert response["Content-Disposition"] == 'inline; filename="clip.mp4"'


@pytest.mark.parametrize(
    ("stored_as", "shown_as", "content_type"),
    [
        ("video.ts", "clip.ts", "video/mp2t"),
        ("video.mkv", "clip.webm", "video/x-matroska"),
        ("audio.mka", "song.webm", "audio/x-matroska"),
        ("image.jpg", "holiday.PNG", "image/jpeg"),
        ("text.txt", "notes.md", "text/plain"),
        ("blob.bin", "x.exe", "application/octet-stream"),
    ],
)
def test_the_type_comes_from_the_stored_name_not_the_users(
    settings, tmp_path, stored_as, shown_as, content_type
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    name = default_storage.save(f"briefs/uploads/1/x/{stored_as}", ContentFile(b"data"))
    response = serving.serve(RequestFactory().get("/x"), name, filename=shown_as)
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'inline; filename="{shown_as}"'


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, 10239),
        ("bytes=-500", 9740, 10239),
        ("bytes=10000-99999", 10000, 10239),
        ("bytes=-99999", 0, 10239),
        ("bytes=5-5", 5, 5),
    ],
)
def test_a_range_answers_206_with_exactly_those_bytes(stored, header, first, last):
    response = get(stored, header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/10240"
    assert response["Content-Length"] == str(last - first + 1)
    assert content(response) == BODY[first : last + 1]


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=99999-100000", "bytes=-0"])
def test_a_range_outside_the_file_is_416(stored, header):
    response = get(stored, header)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */10240"


@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=-", "nonsense"]
)
def test_ranges_we_do_not_serve_get_the_whole_file(stored, header):
    response = get(stored, header)
    assert response.status_code == 200 and content(response) == BODY


def test_head_sends_headers_only(stored):
    response = get(stored, "bytes=0-9", method="head")
    assert response.status_code == 206 and content(response) == b""
    assert response["Content-Length"] == "10"


def test_nginx_gets_the_file_by_x_accel_redirect(stored, settings):
    settings.MEDIA_ACCEL_REDIRECT = "nginx"
    settings.MEDIA_ACCEL_PREFIX = "/protected"
    response = serving.serve(
        RequestFactory().get("/x"), stored, filename="clip one.mp4", attachment=True
    )
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == "/protected/briefs/generated/1/clip.mp4"
    assert response["Content-Disposition"] == 'attachment; filename="clip one.mp4"'


def test_apache_gets_the_path_by_x_sendfile(stored, settings):
    settings.MEDIA_ACCEL_REDIRECT = "apache"
    response = serving.serve(RequestFactory().get("/x"), stored)
    assert response["X-Sendfile"] == default_storage.path(stored) and response.content == b""


def test_an_unknown_mode_is_a_system_check_error(settings):
    settings.MEDIA_ACCEL_REDIRECT = "lighttpd"
    assert "briefs.E005" in {message.id for message in check_ai_settings()}
