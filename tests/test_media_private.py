"""Stored files have no public URL: /media/… answers 404 (in DEBUG too); they leave only
through access-checked downloads."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_media_files_are_not_served_by_url(client, admin_client, settings, tmp_path, debug):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    name = default_storage.save("briefs/uploads/1/abc/secret.txt", ContentFile(b"private"))
    with override_settings(DEBUG=debug):
        for who in (client, admin_client):
            response = who.get(f"/{settings.MEDIA_URL.strip('/')}/{name}")
            assert response.status_code == 404
            assert b"private" not in response.content
