from __future__ import annotations

import http.server
import subprocess
import threading
from functools import partial
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files import File

from tests.support.media import make_video


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Stored files go to a fresh directory per test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture(autouse=True)
def offline_by_default(settings):
    """No key unless a test (or the fake_openai fixture) sets one: the offline provider."""
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("ada")  # no password: hashing one takes seconds


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("grace")


@pytest.fixture
def video_file(tmp_path) -> Path:
    return make_video(tmp_path / "demo.mp4")


@pytest.fixture
def uploaded_video(user, video_file):
    from briefs.services import asset_store_upload

    with video_file.open("rb") as handle:
        return asset_store_upload(owner=user, file=File(handle, name="demo.mp4"))


@pytest.fixture
def file_server(tmp_path):
    """A real HTTP server on localhost serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.root = root  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly (make test media)."""
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True)
