"""The default prices of the models the app uses (briefs/spend/defaults.py), and the token
counts of the old per-job usage blobs kept as usage rows (model unknown, so not priced)."""

from decimal import Decimal

from django.db import migrations


def add_prices(apps, schema_editor):
    from briefs.spend.defaults import install

    install(apps.get_model("briefs", "Price"))


def remove_prices(apps, schema_editor):
    from briefs.spend.defaults import DEFAULT_PRICES, VALID_FROM

    Price = apps.get_model("briefs", "Price")
    for model, unit, _price, _note in DEFAULT_PRICES:
        Price.objects.filter(model=model, unit=unit, valid_from=VALID_FROM).delete()


def copy_job_usage(apps, schema_editor):
    """Each job's old ``usage`` blob (tokens summed over every model it called) becomes one
    usage row of model "unknown (before usage rows)", unpriced: its history stays visible,
    but nothing can say what it cost."""
    Job = apps.get_model("jobs", "Job")
    AICall = apps.get_model("briefs", "AICall")
    rows = []
    for job in Job.objects.exclude(usage={}).only("pk", "type", "owner_id", "usage", "created_at"):
        usage = job.usage if isinstance(job.usage, dict) else {}

        def count(key, usage=usage):
            value = usage.get(key)
            return value if isinstance(value, int) and value > 0 else 0

        if not any(count(k) for k in ("input_tokens", "output_tokens", "audio_seconds")):
            continue
        rows.append(
            AICall(
                created_at=job.created_at,
                job_id=job.pk,
                job_type=job.type,
                user_id=job.owner_id,
                provider="openai",
                model="unknown (before usage rows)",
                kind="text",
                input_tokens=count("input_tokens"),
                output_tokens=count("output_tokens"),
                audio_seconds=Decimal(count("audio_seconds")),
                images=count("images"),
                characters=count("tts_characters"),
                cost=Decimal(0),
                priced=False,
            )
        )
    AICall.objects.bulk_create(rows, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("briefs", "0006_spend"), ("jobs", "0011_job_held")]

    operations = [
        migrations.RunPython(add_prices, remove_prices),
        migrations.RunPython(copy_job_usage, migrations.RunPython.noop),
    ]
