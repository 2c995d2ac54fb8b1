"""The admin as a whole: the app's name, "View site" to the dashboard, times to the second."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from briefs.models import Brief

pytestmark = pytest.mark.django_db


def test_admin_carries_the_apps_name_and_leads_to_the_dashboard(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Jobs administration" in html and "Django administration" not in html
    assert "<title>Jobs, briefs and their results | Jobs admin</title>" in html
    dashboard = reverse("jobs:dashboard")
    assert f'<a href="{dashboard}">View site</a>' in html
    assert f'<a href="{dashboard}"><strong>Open the live dashboard</strong></a>' in html
    assert admin_client.get(dashboard).status_code == 200


def test_admin_times_show_seconds(admin_client, admin_user):
    brief = Brief.objects.create(owner=admin_user, title="T", query="q", media_type="text")
    Brief.objects.filter(pk=brief.pk).update(created_at=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    html = admin_client.get(reverse("admin:briefs_brief_changelist")).content.decode()
    assert "2026-03-04 05:06:07" in html
