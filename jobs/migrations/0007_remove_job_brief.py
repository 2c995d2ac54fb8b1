from django.db import migrations


class Migration(migrations.Migration):
    """The queue forgets the product: a job no longer points at a brief (briefs keep their own
    links to their jobs, back-filled before this runs), and the claim index's twin goes."""

    dependencies = [
        ("jobs", "0006_notify_on_insert"),
    ]

    operations = [
        migrations.RemoveField(model_name="job", name="brief"),
        # Same columns and condition as job_ready_idx: every write to a queued job kept both.
        migrations.RemoveIndex(model_name="job", name="job_pending_idx"),
    ]
