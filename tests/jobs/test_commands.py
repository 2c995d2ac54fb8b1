from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jobs.models import Job
from jobs.services import enqueue
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_enqueue_prints_one_id_a_line():
    out = run(
        "enqueue",
        "noop",
        "--payload",
        '{"a": 1}',
        "--count",
        "3",
        "--queue",
        "q",
        "--priority",
        "7",
    )

    ids = [int(line) for line in out.split()]
    assert len(ids) == 3
    jobs = Job.objects.filter(pk__in=ids)
    assert {(job.queue, job.priority, json.dumps(job.payload)) for job in jobs} == {
        ("q", 7, '{"a": 1}')
    }


def test_enqueue_with_delay_schedules_the_job():
    (job_id,) = run("enqueue", "sleep", "--payload", '{"seconds": 1}', "--delay", "120").split()

    assert Job.objects.get(pk=job_id).run_at > timezone.now() + timedelta(seconds=100)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enqueue", "nope"], "Unknown job type 'nope'"),
        (
            ["enqueue", "sleep", "--payload", '{"seconds": "x"}'],
            'sleep needs {"seconds": <number>}',
        ),
    ],
)
def test_enqueue_refuses_bad_input_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        call_command(*args)
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["noop", "--payload", "{not json"], "not valid JSON"),
        (["noop", "--payload", "[1, 2]"], "must be a JSON object"),
        (["noop", "--count", "-3"], "must be at least 1"),
        (["noop", "--count", "many"], "is not a whole number"),
        (["noop", "--delay", "-1"], "cannot be negative"),
        (["nope"], "Unknown job type 'nope'"),
    ],
)
def test_enqueue_from_the_shell_exits_non_zero_with_a_clear_message(args, message):
    result = subprocess.run(
        [sys.executable, "manage.py", "enqueue", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": "sqlite:///" + str(ROOT / "var" / "cli.sqlite3"),
        },
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_runworker_refuses_bad_options():
    for args, message in [
        (["--concurrency", "0"], "must be at least 1"),
        (["--queues", ","], "at least one queue name"),
        (["--health-port", "70000"], "a port is 0-65535"),
        (["--poll-interval", "0"], "must be more than 0"),
        (["--claim-ahead", "-1"], "must be 0 to 100"),
        (["--claim-ahead", "two"], "is not a whole number"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("runworker", *args)


def test_jobstats_prints_every_status_as_json_and_as_a_table():
    enqueue("noop", {})
    done = enqueue("noop", {})
    Job.objects.filter(pk=done.pk).update(status=Job.Status.SUCCEEDED)

    counts = json.loads(run("jobstats", "--json"))
    table = run("jobstats")

    assert counts == {"queued": 1, "running": 0, "succeeded": 1, "failed": 0, "cancelled": 0}
    assert "succeeded" in table and "cancelled" in table


def test_prunejobs_deletes_only_finished_jobs_past_retention():
    old_done = enqueue("noop", {})
    new_done = enqueue("noop", {})
    old_queued = enqueue("noop", {})
    Job.objects.filter(pk=old_done.pk).update(
        status=Job.Status.SUCCEEDED, finished_at=timezone.now() - timedelta(days=8)
    )
    Job.objects.filter(pk=new_done.pk).update(
        status=Job.Status.FAILED, finished_at=timezone.now() - timedelta(days=1)
    )
    Job.objects.filter(pk=old_queued.pk).update(created_at=timezone.now() - timedelta(days=30))

    out = run("prunejobs", "--older-than", "7d", "--batch-size", "1")

    assert "Deleted 1 finished job(s)" in out
    assert set(Job.objects.values_list("pk", flat=True)) == {new_done.pk, old_queued.pk}


def test_prunejobs_refuses_a_duration_it_cannot_read():
    with pytest.raises(CommandError, match="not a duration like 7d"):
        call_command("prunejobs", "--older-than", "a week")


def test_createadmin_prints_a_password_once():
    first = run("createadmin")
    second = run("createadmin")

    assert "with password:" in first
    assert "exists already" in second


def test_createadmin_says_how_to_reset_the_password_the_second_time():
    run("createadmin")
    second = run("createadmin")
    assert "exists already (admin)" in second
    assert "python manage.py changepassword admin" in second


def test_createadmin_writes_the_password_to_a_private_file_and_shows_the_login(tmp_path):
    target = tmp_path / "var" / "admin-password.txt"
    first = run("createadmin", "--password-file", str(target))
    username, password = target.read_text().split()
    assert username == "admin" and f"password: {password}" in first
    assert target.stat().st_mode & 0o777 == 0o600
    from django.contrib.auth import authenticate

    assert authenticate(username="admin", password=password) is not None
    login = run(
        "createadmin", "--show-login", "--password-file", str(target), "--url", "http://x/admin/"
    )
    assert f"Open http://x/admin/ and log in as 'admin' with password {password}" in login
    target.unlink()
    assert "changepassword admin" in run(
        "createadmin", "--show-login", "--password-file", str(target)
    )


def test_createadmin_refuses_a_directory_as_password_file(tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("createadmin", "--password-file", str(tmp_path))
