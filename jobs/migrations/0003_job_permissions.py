from django.db import migrations


class Migration(migrations.Migration):
    """Permissions for the staff actions on jobs (admin actions and the /test-worker buttons)."""

    dependencies = [
        ("jobs", "0002_credits"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="job",
            options={
                "permissions": [
                    ("requeue_job", "Can requeue failed or cancelled jobs and rescue stuck ones"),
                    ("run_job_now", "Can make a scheduled job run at once"),
                    ("cancel_job", "Can cancel jobs"),
                    ("prioritize_job", "Can raise the priority of queued jobs"),
                ]
            },
        ),
    ]
