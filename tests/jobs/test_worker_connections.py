"""A burst worker closes the database connections of its threads when it stops."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from jobs import services
from tests.conftest import wait_for


def sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_burst_worker_leaves_no_connection_open(postgres_only):
    before = sessions()
    services.enqueue_many("noop", [{}] * 4)

    call_command("runworker", "--burst", "--concurrency", "2", "--poll-interval", "0.05")

    def closed():
        """the job threads' connections are closed"""
        return sessions() == before

    wait_for(closed, timeout=10)
