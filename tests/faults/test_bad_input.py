"""Every management command of the queue given malformed, oversized and hostile input: each
answers with a clear error (``CommandError`` or a usage error: exit status 1 or 2 and a message
on stderr, never a traceback), and nothing in the database is touched.

Runs on SQLite and PostgreSQL: some inputs (NUL characters, lone surrogates, integers past 32
bits) are refused only by PostgreSQL's types, so without checks of our own they would pass on
SQLite and crash on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from jobs.models import Job, JobAttempt
from jobs.models import Worker as WorkerRow
from jobs.services import enqueue
from tests.conftest import ROOT, child_database_env

pytestmark = pytest.mark.django_db

HUGE = "x" * 2_000_000
DEEP = "[" * 100_000 + "]" * 100_000


def state() -> dict[str, object]:
    User = get_user_model()
    return {
        "jobs": sorted(Job.objects.values_list("pk", "status", "attempts", "payload", "run_at")),
        "attempts": JobAttempt.objects.count(),
        "workers": WorkerRow.objects.count(),
        "users": sorted(User.objects.values_list("pk", "username", "password")),
    }


@pytest.fixture
def untouched() -> Iterator[None]:
    """Some existing data, which must be exactly the same after the bad command."""
    enqueue("noop", {"keep": True})
    enqueue("sleep", {"seconds": 1}, delay=3600)
    get_user_model().objects.create(username="existing", is_superuser=True, password="!")
    before = state()
    yield
    assert state() == before


def refused(*args: str, match: str) -> None:
    with pytest.raises(CommandError, match=match):
        call_command(*args)


ENQUEUE = [
    (["--payload", "{bad"], "not valid JSON"),
    (["--payload", "[1, 2]"], "must be a JSON object"),
    (["--payload", '"text"'], "must be a JSON object"),
    (["--payload", f'{{"big": "{HUGE}"}}'], "limit is 1,000,000 bytes"),
    (["--payload", DEEP], "nested too deeply"),
    (["--payload", '{"a": ' * 5000 + "1" + "}" * 5000], "nested too deeply"),
    (["--payload", '{"n": ' + "9" * 5000 + "}"], "not valid JSON"),
    (["--payload", '{"x": NaN}'], "not valid JSON"),
    (["--payload", '{"x": 1e400}'], "not valid JSON"),
    (["--payload", '{"nul": "a\\u0000b"}'], "NUL"),
    (["--payload", '{"a\\u0000": 1}'], "NUL"),
    (["--payload", '{"half": "\\ud800"}'], "not valid Unicode"),
    (["--count", "abc"], "not a whole number"),
    (["--count", "0"], "at least 1"),
    (["--count", "-5"], "at least 1"),
    (["--count", "1000000000000"], "at most"),
    (["--priority", "high"], "invalid int value"),
    (["--priority", "99999999999"], "priority must be between"),
    (["--priority", "-99999999999"], "priority must be between"),
    (["--delay", "-1"], "cannot be negative"),
    (["--delay", "nan"], "cannot be negative"),
    (["--delay", "inf"], "too far"),
    (["--delay", "1e300"], "too far"),
    (["--queue", "q" * 101], "queue must be a name"),
    (["--queue", "bad\x00queue"], "queue"),
    (["--queue", "\udcff"], "queue"),
]


@pytest.mark.parametrize(("options", "message"), ENQUEUE, ids=lambda v: repr(v)[:40])
def test_enqueue_refuses_bad_input(untouched, options, message):
    refused("enqueue", "noop", *options, match=message)


@pytest.mark.parametrize(
    ("job_type", "payload", "message"),
    [
        ("no_such_type", "{}", "Unknown job type"),
        ("x" * 100_000, "{}", "Unknown job type"),
        ("\udcff\x00", "{}", "Unknown job type"),
        ("sleep", "{}", "sleep needs"),
        ("sleep", '{"seconds": "2"}', "sleep needs"),
        ("sleep", '{"seconds": true}', "sleep needs"),
        ("sleep", '{"seconds": -1}', "between 0 and"),
        ("sleep", '{"seconds": 1e308}', "between 0 and"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_enqueue_refuses_bad_types_and_payloads(untouched, job_type, payload, message):
    refused("enqueue", job_type, "--payload", payload, match=message)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--older-than", "yesterday"], "not a duration"),
        (["--older-than=-1d"], "not a duration"),
        (["--older-than", "7x"], "not a duration"),
        (["--older-than", "99999999999999999999d"], "too long"),
        (["--older-than", "1" * 5000 + "d"], "too long"),
        (["--batch-size", "0"], "at least 1"),
        (["--batch-size", "1" + "0" * 30], "at most"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_prunejobs_refuses_bad_input(untouched, options, message):
    refused("prunejobs", *options, match=message)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--hours", "soon"], "not a number of hours"),
        (["--hours", "-1"], "between 0 and"),
        (["--hours", "1" * 5000], "between 0 and"),
        (["--hours", "nan"], "between 0 and"),
        (["--hours", "inf"], "between 0 and"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_prune_uploads_refuses_bad_input(untouched, options, message):
    refused("prune_uploads", *options, match=message)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--concurrency", "0"], "at least 1"),
        (["--concurrency", "many"], "not a whole number"),
        (["--concurrency", "1" + "0" * 30], "at most"),
        (["--poll-interval", "0"], "more than 0"),
        (["--poll-interval", "nan"], "more than 0"),
        (["--poll-interval", "inf"], "at most"),
        (["--poll-interval", "1e300"], "at most"),
        (["--max-jobs", "-1"], "at least 1"),
        (["--health-port", "70000"], "0-65535"),
        (["--health-port", "http"], "not a port number"),
        (["--health-host", "999.999.999.999", "--health-port", "0"], "Cannot serve health"),
        (["--health-host", "\udcff", "--health-port", "0"], "Cannot serve health"),
        (["--grace-period", "-1"], "cannot be negative"),
        (["--grace-period", "nan"], "cannot be negative"),
        (["--grace-period", "inf"], "at most"),
        (["--grace-period", "soon"], "not a number"),
        (["--worker-id", ""], "worker-id"),
        (["--worker-id", "w" * 201], "worker-id"),
        (["--worker-id", "bad\x00id"], "worker-id"),
        (["--worker-id", "\udcff"], "worker-id"),
        (["--queues", ",,,"], "at least one queue"),
        (["--queues", "q" * 101], "queue"),
        (["--queues", "ok,\x00"], "queue"),
        (["--queues", "\udcff"], "queue"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_runworker_refuses_bad_options(untouched, options, message):
    refused("runworker", "--burst", *options, match=message)


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "username"),
        ("u" * 151, "username"),
        ("bad\x00name", "username"),
        ("\udcff", "username"),
        ("spaces are not allowed", "username"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_createadmin_refuses_bad_usernames(username, message):
    before = list(get_user_model().objects.values_list("pk", flat=True))
    refused("createadmin", "--username", username, match=message)
    assert list(get_user_model().objects.values_list("pk", flat=True)) == before


def test_jobstats_refuses_unknown_arguments(untouched):
    refused("jobstats", "--format", "xml", match="unrecognized arguments")
    refused("jobstats", "--by", "owner", match="invalid choice")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required"),
        (["frobnicate"], "invalid choice"),
        (["pause"], "required"),
        (["pause", "bad name!"], "is not a queue name"),
        (["pause", "q" * 101], "is not a queue name"),
        (["pause", "ok\x00"], "is not a queue name"),
        (["resume", "\udcff"], "is not a queue name"),
        (["limit", "video"], "Give --concurrency"),
        (["limit", "video", "--concurrency", "-1"], "is not a number"),
        (["limit", "video", "--concurrency", "1e9"], "is not a number"),
        (["limit", "video", "--rate", "5/fortnight"], "is not a rate"),
        (["limit", "video", "--rate", "0/s"], "at least 1 start"),
        (["limit", "video", "--rate", "5/0.01s"], "at least 1 start"),
        (["limit", "video", "--rate", "\x00"], "is not a rate"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_queues_refuses_bad_input_and_changes_nothing(untouched, args, message):
    from jobs.controls import Queue

    refused("queues", *args, match=message)
    assert not Queue.objects.exists()


# Non-UTF-8 bytes can only reach a command through a real command line.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "argv",
    [
        [b"enqueue", b"noop", b"--payload", b'{"bytes": "\xff\xfe"}'],
        [b"enqueue", b"\xff"],
        [b"enqueue", b"noop", b"--queue", b"\xc3\x28"],
        [b"runworker", b"--burst", b"--worker-id", b"\xff"],
        [b"runworker", b"--burst", b"--queues", b"\xff"],
        [b"prunejobs", b"--older-than", b"\xff"],
        [b"prune_uploads", b"--hours", b"\xff"],
        [b"createadmin", b"--username", b"\xff"],
        [b"queues", b"pause", b"\xff"],
        [b"startbrief", b"--owner", b"\xff"],
        [b"startbrief", b"--owner", b"nobody", b"--title", b"\xff\xfe", b"--asset", b"\xc3\x28"],
    ],
    ids=lambda argv: b" ".join(argv).decode(errors="backslashreplace")[:40],
)
def test_commands_refuse_non_utf8_arguments(argv):
    before = state()
    completed = subprocess.run(
        [sys.executable.encode(), b"manage.py", *argv],
        cwd=ROOT,
        env=child_database_env() | {"PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=60,
    )
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode in (1, 2), stderr  # 1: CommandError, 2: a usage error
    assert "Traceback" not in stderr
    assert "error" in stderr.lower()
    assert state() == before


@pytest.fixture
def owner(django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return django_user_model.objects.create_user("ada")


def briefs_and_files(media_root: Path) -> tuple[list[Any], list[Path]]:
    from briefs.models import Brief

    files = sorted(media_root.rglob("*")) if media_root.exists() else []
    return sorted(Brief.objects.values_list("pk", "title", "assets")), files


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--owner", ""], "no user"),
        (["--owner", "x" * 100_000], "no user"),
        (["--owner", "ada\x00"], "no user"),
        (["--owner", "\udcff"], "no user"),
        (["--owner", "ada", "--title", "t" * 201], "title"),
        (["--owner", "ada", "--title", "a\x00b"], "title"),
        (["--owner", "ada", "--title", "\udcff"], "title"),
        (["--owner", "ada", "--query", "q\x00"], "query"),
        (["--owner", "ada", "--query", "x" * 2_000_000], "query"),
        (["--owner", "ada", "--description", "\udcff"], "description"),
        (["--owner", "ada", "--media-type", "hologram"], "invalid choice"),
        (["--owner", "ada", "--asset", "/no/such/../../etc/passwd.mp4"], "neither a file nor"),
        (["--owner", "ada", "--asset", "/etc/passwd"], "Cannot tell what kind of file"),
        (["--owner", "ada", "--asset", "file:///etc/passwd"], "neither a file nor"),
        (["--owner", "ada", "--asset", "/etc"], "neither a file nor"),
        (["--owner", "ada", "--asset", "http://\x00/x"], "(?i)asset"),
        (["--owner", "ada", "--asset", "https://" + "a" * 5000 + ".com/"], "(?i)asset"),
        (["--owner", "ada", "--asset", "\udcff"], "neither a file nor"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_startbrief_refuses_bad_input(owner, untouched, settings, options, message):
    before = briefs_and_files(Path(settings.MEDIA_ROOT))
    refused("startbrief", "--no-start", *options, match=message)
    assert briefs_and_files(Path(settings.MEDIA_ROOT)) == before


def test_every_management_command_of_ours_is_given_bad_input():
    """A new command of the app fails this test until bad input for it is tried here."""
    from django.core.management import get_commands

    ours = {name for name, app in get_commands().items() if app in ("jobs", "briefs", "api")}
    covered = {
        "enqueue",
        "prunejobs",
        "runworker",
        "createadmin",
        "jobstats",
        "startbrief",
        "prune_uploads",
        "queues",
    }
    assert ours == covered
