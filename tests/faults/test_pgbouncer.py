"""Scale-out: the web app and workers through PgBouncer in transaction pooling mode.

The configuration of the README's "Scaling out": ``DATABASE_URL`` points at PgBouncer (Debian's
1.18, started here on a free port), prepared statements are off, and each worker's LISTEN goes
straight to PostgreSQL through ``JOBS_LISTEN_DATABASE_URL``. The workers poll once an hour, so
only a NOTIFY received on that direct connection can wake them: jobs enqueued through the API
(gunicorn) and from code while they are idle must all run, exactly once.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest
from django.db import connection

from api.models import ApiToken
from jobs.listener import APPLICATION_NAME
from jobs.models import Job, JobAttempt
from jobs.services import enqueue_many
from tests.conftest import database_url, wait_for
from tests.faults.conftest import wait_registered
from tests.faults.test_load import METRICS_TOKEN, Gunicorn
from tests.support import pgbouncer

pytestmark = pytest.mark.skipif(
    pgbouncer.binary() is None,
    reason="needs pgbouncer (scripts/install-system-deps installs it)",
)


@pytest.fixture
def bouncer(fault_db) -> Iterator[pgbouncer.PgBouncer]:
    running = pgbouncer.PgBouncer(database_url(), pool_size=6)
    try:
        yield running
    finally:
        running.stop()  # before the test database is dropped: it holds server connections


def listeners() -> int:
    """Direct LISTEN sessions of workers on the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s AND query ILIKE 'LISTEN%%'",
            [APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def get(url: str, **headers: str) -> int:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        r.read()
        return r.status


def test_web_and_workers_through_pgbouncer_in_transaction_mode(
    bouncer, fleet, django_user_model, tmp_path
):
    env = {
        "DATABASE_URL": bouncer.url(),
        "JOBS_LISTEN_DATABASE_URL": database_url(),
        "JOBS_PREPARED_STATEMENTS": "false",
    }
    user = django_user_model.objects.create_superuser("scaler", email="")
    _, token = ApiToken.objects.create_token(user=user, name="scale")
    names = ("bounced-1", "bounced-2", "bounced-3")
    for name in names:
        fleet(name, "--concurrency", "4", "--poll-interval", "3600", env=env)
    wait_registered(*names)
    server = Gunicorn(tmp_path / "gunicorn.log", env=env | {"MAX_JOBS_PER_USER": "0"})
    try:

        def listening() -> bool:
            """every worker LISTENs on a direct connection"""
            return listeners() == len(names)

        wait_for(listening)
        # Two waves, the workers idle before each: only NOTIFY can wake them.
        accepted = []
        for _ in range(20):
            status, body = post(f"{server.url}/api/jobs/noop/start", token, {"payload": {}})
            assert status == 202, body
            accepted.append(body["job_id"])
        wait_for(lambda: Job.objects.filter(status=Job.Status.SUCCEEDED).count() == 20)
        created = enqueue_many("noop", [{"n": n} for n in range(300)])

        def drained() -> bool:
            """all 320 jobs succeeded"""
            return Job.objects.filter(status=Job.Status.SUCCEEDED).count() == 320

        wait_for(drained, timeout=60)
        assert get(f"{server.url}/api/health") == 200
        assert get(f"{server.url}/metrics", Authorization=f"Bearer {METRICS_TOKEN}") == 200
        clients = [c for c in bouncer.clients() if c["database"] != "pgbouncer"]
    finally:
        server.stop()

    ids = set(accepted) | {job.pk for job in created}
    assert Job.objects.filter(pk__in=ids, status=Job.Status.SUCCEEDED).count() == 320
    assert JobAttempt.objects.filter(job_id__in=ids).count() == 320  # each ran exactly once
    assert set(Job.objects.values_list("worker_id", flat=True)) <= set(names)
    # The workers' and the web app's queries went through PgBouncer (3 workers: main and
    # heartbeat threads at least; gunicorn: at least one), their LISTEN straight to PostgreSQL.
    assert len(clients) >= 2 * len(names) + 1, clients
