from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tests.handlers  # noqa: F401 - registers the test job types in this process
from tests.support.fake_openai import fake_openai  # noqa: F401 - the fixture, for every test

ROOT = Path(__file__).resolve().parent.parent
os.environ["JOBS_HANDLER_MODULES"] = "tests.handlers"


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.JOBS_RETRY_BACKOFF_BASE = 0.01
    settings.JOBS_RETRY_BACKOFF_MAX = 0.05


@pytest.fixture(autouse=True)
def default_prices(request):
    """The price table as the data migration leaves it. A transactional test empties every
    table when it ends (the migration's rows too), so each test that uses the database gets
    the default prices back before it starts."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    from briefs.spend.defaults import install
    from briefs.spend.models import Price

    install(Price)


@pytest.fixture
def postgres_only():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… (CI does)")


def database_url() -> str:
    """The URL of the test database, straight to the server (see :func:`child_database_env`
    for the processes a test starts)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{db['NAME']}"


def through_pgbouncer() -> bool:
    """``JOBS_TEST_PGBOUNCER=1`` (PostgreSQL only): the worker and web processes the tests start
    connect through PgBouncer in transaction mode, as in the README's "Scaling out"."""
    return os.environ.get("JOBS_TEST_PGBOUNCER", "").lower() in ("1", "true", "yes")


_pgbouncer: list = []  # the session's PgBouncer, while it runs


@pytest.fixture(scope="session", autouse=True)
def pgbouncer_for_children(request) -> Iterator[object]:
    """With ``JOBS_TEST_PGBOUNCER=1``, one PgBouncer for the session in front of the test
    database. Stopped before the test database is dropped (it holds server connections)."""
    if not through_pgbouncer():
        yield None
        return
    request.getfixturevalue("django_db_setup")
    from django.db import connection

    if connection.vendor != "postgresql":
        yield None
        return
    from tests.support.pgbouncer import PgBouncer

    bouncer = PgBouncer(database_url())
    _pgbouncer.append(bouncer)
    try:
        yield bouncer
    finally:
        _pgbouncer.clear()
        bouncer.stop()


def child_database_env() -> dict[str, str]:
    """The database settings of a process a test starts: the test database directly, or
    through the session's PgBouncer (prepared statements off, LISTEN on a direct connection)."""
    if not _pgbouncer:
        return {"DATABASE_URL": database_url()}
    return {
        "DATABASE_URL": _pgbouncer[0].url(),
        "JOBS_LISTEN_DATABASE_URL": database_url(),
        "JOBS_PREPARED_STATEMENTS": "false",
    }


class WorkerProcess:
    """A real ``manage.py runworker`` process against the test database."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        environment = (
            os.environ
            | child_database_env()
            | {
                "JOBS_HANDLER_MODULES": "tests.handlers",
                "JOBS_RETRY_BACKOFF_BASE": "0.01",
                "JOBS_RETRY_BACKOFF_MAX": "0.05",
                "PYTHONUNBUFFERED": "1",
            }
            | (env or {})
        )
        self.log = ROOT / "var" / f"worker-{time.monotonic_ns()}.log"
        self.log.parent.mkdir(exist_ok=True)
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runworker", *args],
            cwd=ROOT,
            env=environment,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log_file.close()


@pytest.fixture
def start_worker() -> Iterator[Callable[..., WorkerProcess]]:
    workers: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(*args, env=env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate: Callable[[], object], *, timeout: float = 30, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {predicate.__doc__ or predicate}")


__all__ = ["WorkerProcess", "signal", "wait_for"]
