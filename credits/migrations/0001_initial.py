# The credit tables were made by jobs.0002_credits and renamed by jobs.0008_credits_move_out;
# this migration only takes the models over into this app's state (no table is created), and
# moves their content types so that granted permissions and admin history follow them.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("creditaccount", "creditentry"):
        if ContentType.objects.filter(app_label="credits", model=model).exists():
            continue
        ContentType.objects.filter(app_label="jobs", model=model).update(app_label="credits")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("creditaccount", "creditentry"):
        if ContentType.objects.filter(app_label="jobs", model=model).exists():
            continue
        ContentType.objects.filter(app_label="credits", model=model).update(app_label="jobs")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("jobs", "0008_credits_move_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='CreditAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('balance', models.IntegerField(default=0)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='credit_account', to=settings.AUTH_USER_MODEL)),
                    ],
                ),
                migrations.CreateModel(
                    name='CreditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('grant', 'Grant'), ('charge', 'Charge'), ('refund', 'Refund')], max_length=10)),
                        ('delta', models.IntegerField(help_text='Credits added (positive) or taken (negative).')),
                        ('balance_after', models.IntegerField()),
                        ('job_type', models.CharField(blank=True, max_length=100)),
                        ('note', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='credits.creditaccount')),
                        ('job', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='credit_entries', to='jobs.job')),
                    ],
                    options={
                        'verbose_name_plural': 'credit entries',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='creditaccount',
                    constraint=models.CheckConstraint(condition=models.Q(('balance__gte', 0)), name='credit_balance_not_negative'),
                ),
                migrations.AddIndex(
                    model_name='creditentry',
                    index=models.Index(models.F('account'), models.OrderBy(models.F('created_at'), descending=True), name='credit_entry_account_idx'),
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
