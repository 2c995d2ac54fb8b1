from __future__ import annotations

from briefs.checks import check_ai_settings


def ids(settings_obj) -> set[str]:
    return {str(message.id) for message in check_ai_settings()}


def test_default_settings_pass(settings):
    assert not {i for i in ids(settings) if i.startswith("briefs.E")}


def test_bad_ai_settings_are_reported(settings):
    settings.OPENAI_BASE_URL = "ftp://example.com/v1"
    settings.OPENAI_TIMEOUT = -1
    settings.OPENAI_MAX_RETRIES = -2
    settings.OPENAI_IMAGE_DETAIL = "ultra"
    settings.FFMPEG_BINARY = "/nonexistent/ffmpeg"
    assert {"briefs.E001", "briefs.E002", "briefs.E003", "briefs.E004", "briefs.W001"} <= ids(
        settings
    )


def test_base_url_without_key_warns(settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    settings.OPENAI_API_KEY = ""
    assert "briefs.W002" in ids(settings)
