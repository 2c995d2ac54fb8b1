"""``unique_key`` is unique per owner (issue 11): one user can neither learn nor block another
user's key. Jobs without an owner and staff jobs keep one global scope (0)."""

from django.conf import settings
from django.db import migrations, models


def scope_existing_keys(apps, schema_editor):
    """Live jobs of non-staff owners get their owner's scope (finished ones need none)."""
    Job = apps.get_model("jobs", "Job")
    live = Job.objects.filter(
        status__in=["queued", "running"],
        unique_key__isnull=False,
        owner__isnull=False,
        owner__is_staff=False,
    )
    for job in live.only("pk", "owner_id").iterator():
        Job.objects.filter(pk=job.pk).update(unique_scope=job.owner_id)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0008_credits_move_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="unique_scope",
            field=models.BigIntegerField(default=0, db_default=0, editable=False),
        ),
        migrations.RemoveConstraint(model_name="job", name="job_unique_key_live"),
        migrations.RunPython(scope_existing_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["queued", "running"])),
                fields=("unique_scope", "unique_key"),
                name="job_unique_key_scope_live",
            ),
        ),
    ]
