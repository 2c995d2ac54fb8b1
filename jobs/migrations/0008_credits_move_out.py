from django.db import migrations


class Migration(migrations.Migration):
    """Credits became their own app (``credits``): their tables get that app's names here, and
    the models leave the queue's state. ``credits.0001_initial`` takes them over, rows and all."""

    dependencies = [
        ("jobs", "0007_remove_job_brief"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="creditaccount", table="credits_creditaccount"),
                migrations.AlterModelTable(name="creditentry", table="credits_creditentry"),
            ],
            state_operations=[
                migrations.DeleteModel(name="CreditEntry"),
                migrations.DeleteModel(name="CreditAccount"),
            ],
        ),
    ]
