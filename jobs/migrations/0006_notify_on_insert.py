"""On PostgreSQL, NOTIFY idle workers from the database itself when jobs are inserted: the
enqueuing transaction then needs no statement of its own for it. The payload is the queue's
name, once per statement and queue; it is delivered at commit, like any NOTIFY."""

from django.db import migrations

CREATE = """
CREATE FUNCTION jobs_job_notify_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jobs_queued', queued.queue)
    FROM (SELECT DISTINCT queue FROM inserted WHERE status = 'queued') AS queued;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_job_notify_queued
    AFTER INSERT ON jobs_job REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_job_notify_queued();
"""

DROP = """
DROP TRIGGER IF EXISTS jobs_job_notify_queued ON jobs_job;
DROP FUNCTION IF EXISTS jobs_job_notify_queued();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0005_job_ready_idx")]

    operations = [migrations.RunPython(create, drop)]
