"""Stale uploads are pruned by a periodic job the briefs app declares, not by an outside cron."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from briefs.housekeeping import PRUNE_UPLOADS
from briefs.models import Upload
from jobs import registry
from jobs.controls import Schedule
from jobs.models import Job
from jobs.schedules import fire, sync_code_schedules

pytestmark = pytest.mark.django_db


def test_a_daily_schedule_prunes_unattached_uploads(django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    owner = django_user_model.objects.create_user("ada")
    name = default_storage.save("briefs/uploads/1/x/video.mp4", ContentFile(b"v" * 10))
    upload = Upload.objects.create(
        owner=owner, name=name, original_name="v.mp4", kind="video", size=10
    )
    Upload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(days=2))

    sync_code_schedules()
    schedule = Schedule.objects.get(name="briefs.prune_uploads")
    assert schedule.job_type == PRUNE_UPLOADS and schedule.enabled
    job = fire(schedule, tick=timezone.now())
    assert job is not None and Job.objects.filter(pk=job.pk, type=PRUNE_UPLOADS).exists()

    assert registry.get(PRUNE_UPLOADS).handler(job.payload, None) == {"deleted": 1}
    assert not Upload.objects.exists() and not default_storage.exists(name)
