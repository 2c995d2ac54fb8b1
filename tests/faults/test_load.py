"""Load: a real HTTP load generator (wrk) enqueues jobs through the API of the app served by
gunicorn, while real workers drain the queue and the dashboard, health and metrics are polled.

No request may get a 5xx (or any answer but 202 for a start), and every job the API accepted
must end succeeded, exactly once. The API's latency (p50/p99) is reported, never asserted.
PostgreSQL only: this is how production runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from django.conf import settings
from django.test import Client

from api.models import ApiToken
from jobs.models import Job
from tests.conftest import ROOT, child_database_env, wait_for
from tests.faults import outcome
from tests.faults.conftest import HANDLER_MODULES, wait_registered

LOAD_SECONDS = 20
REQUESTS_PER_THREAD = 1500  # wrk -t2: at most 3,000 job starts
METRICS_TOKEN = "load-test-metrics-token-0123456789"
LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="needs wrk (make test installs it)"
)


class Gunicorn:
    """``gunicorn config.wsgi`` on 127.0.0.1 and an ephemeral port, on the test database."""

    def __init__(self, log: Path, *, env: dict[str, str] | None = None) -> None:
        env = (
            os.environ
            | child_database_env()
            | {
                "JOBS_HANDLER_MODULES": HANDLER_MODULES,
                "DEBUG": "false",
                "MAX_JOBS_PER_USER": "0",
                "METRICS_TOKEN": METRICS_TOKEN,
                "CONN_MAX_AGE": "60",
            }
            | (env or {})
        )
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
                *("--bind", "127.0.0.1:0", "--workers", "2", "--threads", "4"),
                *("--worker-class", "gthread", "--no-control-socket", "--timeout", "60"),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

        def listening() -> str | None:
            """gunicorn announced its address"""
            assert self.process.poll() is None, log.read_text()
            match = LISTENING.search(log.read_text())
            return match[1] if match else None

        self.url: str = wait_for(listening, timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log_file.close()


@dataclass
class Poller:
    """Polls the staff dashboard's partials, health and metrics while the load runs."""

    base: str
    session: str
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)

    PATHS: ClassVar[tuple[tuple[str, dict[str, str]], ...]] = (
        ("/test-worker/overview/", {}),
        ("/test-worker/active/", {}),
        ("/test-worker/pending/", {}),
        ("/api/health", {}),
        ("/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}),
    )

    def run(self) -> None:
        while not self.stop.is_set():
            for path, headers in self.PATHS:
                request = urllib.request.Request(
                    self.base + path,
                    headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session}"} | headers,
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        response.read()
                        status = response.status
                except urllib.error.HTTPError as error:
                    status = error.code
                except OSError:
                    status = 0  # no answer at all
                self.statuses[(path, status)] += 1
            self.stop.wait(0.5)


def run_wrk(url: str, token: str, out: Path) -> dict[str, int]:
    completed = subprocess.run(
        [
            *("wrk", "-t2", "-c8", f"-d{LOAD_SECONDS}s", "--timeout", "30s"),
            *("-s", str(Path(__file__).with_name("load_enqueue.lua")), url),
        ],
        env=os.environ
        | {"LOAD_TOKEN": token, "LOAD_OUT": str(out), "LOAD_LIMIT": str(REQUESTS_PER_THREAD)},
        capture_output=True,
        text=True,
        timeout=LOAD_SECONDS + 120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    match = re.search(r"WRK_SUMMARY (\{.*\})", completed.stdout)
    assert match, completed.stdout + completed.stderr
    return json.loads(match[1])


def test_enqueue_through_gunicorn_under_load_loses_nothing(fleet, django_user_model, tmp_path):
    user = django_user_model.objects.create_user("loader")
    _, token = ApiToken.objects.create_token(user=user, name="load")
    staff = django_user_model.objects.create_superuser("watcher", email="")
    browser = Client()
    browser.force_login(staff)
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value

    server = Gunicorn(tmp_path / "gunicorn.log")
    poller = Poller(server.url, session)
    poll_thread = threading.Thread(target=poller.run, daemon=True)
    try:
        workers = [fleet(name, "--concurrency", "4") for name in ("load-1", "load-2")]
        wait_registered("load-1", "load-2")
        poll_thread.start()
        started = time.monotonic()
        summary = run_wrk(f"{server.url}/api/jobs/fault_effect/start", token, tmp_path)
        load_ended = time.monotonic()

        answers = Counter[str]()
        accepted: list[int] = []
        for answers_file in tmp_path.glob("answers-*.txt"):
            for line in answers_file.read_text().splitlines():
                status, job_id = line.split()
                answers[status] += 1
                if status == "202":
                    accepted.append(int(job_id))
        assert answers == {"202": summary["requests"]}, answers
        assert len(set(accepted)) == len(accepted) == summary["requests"] > 0
        # wrk hangs up on the requests in flight when its time is up: the app may have
        # accepted those too, so the jobs to account for are all the user's jobs.
        created = list(Job.objects.filter(owner=user).values_list("pk", flat=True))
        assert set(accepted) <= set(created)
        unanswered = len(created) - len(accepted)
        assert unanswered <= 8, "at most one job per connection left unanswered"

        def drained() -> bool:
            """every created job finished"""
            unfinished = Job.objects.exclude(status__in=Job.FINISHED_STATUSES)
            return not unfinished.filter(pk__in=created).exists()

        wait_for(drained, timeout=240, interval=0.5)
        drain_seconds = time.monotonic() - load_ended
        poller.stop.set()
        poll_thread.join(60)
        for worker in workers:
            worker.signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(60) == 0, worker.output()[-3000:]
    finally:
        poller.stop.set()
        server.stop()

    errors = {key: summary[key] for key in ("non_2xx", "connect", "read", "write", "timeout")}
    assert errors == dict.fromkeys(errors, 0), errors
    polled_wrong = {key: n for key, n in poller.statuses.items() if key[1] != 200}
    assert polled_wrong == {}, polled_wrong
    assert sum(poller.statuses.values()) >= len(Poller.PATHS)
    log = server.log.read_text()
    assert "Traceback" not in log and "[ERROR]" not in log, log[-3000:]

    seconds = summary["duration_us"] / 1e6
    figures = outcome.check(
        "API load (wrk via gunicorn) while 2 workers drain and staff pages are polled",
        created,
        recovery_seconds=drain_seconds,
        notes=(
            f"{summary['requests']} POSTs in {seconds:.1f}s "
            f"({summary['requests'] / seconds:.0f}/s, wrk -t2 -c8, gunicorn 2x4 gthread); "
            f"API latency p50 {summary['p50'] / 1000:.0f} ms, p99 {summary['p99'] / 1000:.0f} ms, "
            f"max {summary['max'] / 1000:.0f} ms; {unanswered} jobs of requests wrk abandoned "
            f"at its end; {sum(poller.statuses.values())} polls, no 5xx; "
            f"recovery: end of the load to the queue drained (load began "
            f"{load_ended - started:.0f}s before)"
        ),
    )
    assert figures.problems == []
