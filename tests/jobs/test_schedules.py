"""Periodic jobs: declared in code or made in the admin, one job per tick, missed ticks after
downtime, bad cron expressions refused, "Run now", the built-in retention schedule."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from jobs import registry
from jobs import schedules as periodic
from jobs.controls import Schedule, ScheduleRun
from jobs.models import Job
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


def make(name="nightly", cron="0 3 * * *", **fields) -> Schedule:
    schedule = Schedule(name=name, job_type="noop", cron=cron, **fields)
    schedule.full_clean()
    schedule.save()
    return schedule


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 3 * *", "needs five fields"),
        ("61 * * * *", "not a valid cron expression"),
        ("every day", "needs five fields"),
        ("* * * * * *", "needs five fields"),
    ],
)
def test_a_bad_cron_expression_is_refused_with_a_clear_message(cron, message):
    with pytest.raises(ValidationError) as error:
        make(cron=cron)
    assert message in str(error.value.message_dict["cron"])
    assert not Schedule.objects.exists()


def test_unknown_time_zone_and_job_type_are_refused():
    schedule = Schedule(name="x", job_type="nope", cron="* * * * *", timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as error:
        schedule.full_clean()
    assert "Unknown time zone" in str(error.value.message_dict["timezone"])
    assert "Unknown job type" in str(error.value.message_dict["job_type"])


def test_next_run_follows_the_time_zone():
    schedule = make(cron="0 3 * * *", timezone="Europe/Paris")
    after = datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert schedule.next_tick(after=after) == datetime(2026, 7, 2, 1, tzinfo=UTC)  # 03:00 CEST


def test_a_due_tick_makes_one_job_even_when_workers_race():
    schedule = make(cron="*/5 * * * *", payload={"n": 1})
    # Due 30 s ago: within MISSED_GRACE whatever the second of the minute, so the tick fired
    # is this one (a tick over a minute late would fire the latest cron tick instead).
    tick = timezone.now().replace(microsecond=0) - timedelta(seconds=30)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=tick)
    first = periodic.run_due()
    # A second worker that read the schedule before the first one moved it on:
    stale = Schedule.objects.get(pk=schedule.pk)
    stale.next_run_at = tick
    assert periodic.fire(stale, tick=tick) is None  # the unique (schedule, tick) says no
    assert len(first) == 1
    assert first[0].payload == {"n": 1}
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 1
    schedule.refresh_from_db()
    assert schedule.last_run_at == tick and schedule.last_job_id == first[0].pk
    assert schedule.next_run_at > timezone.now()
    assert periodic.run_due() == []


def test_after_downtime_a_missed_tick_runs_once():
    schedule = make(cron="* * * * *")
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now() - timedelta(hours=3))
    made = periodic.run_due()
    assert len(made) == 1
    run = ScheduleRun.objects.get(schedule=schedule)
    assert timezone.now() - run.tick < timedelta(minutes=1)  # the latest missed tick


def test_a_schedule_may_skip_missed_ticks():
    schedule = make(cron="0 3 * * *", missed=Schedule.Missed.SKIP)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now() - timedelta(days=2))
    assert periodic.run_due() == []
    schedule.refresh_from_db()
    assert schedule.next_run_at > timezone.now()
    assert not ScheduleRun.objects.exists()


def test_a_disabled_schedule_does_not_run():
    schedule = make(enabled=False)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now())
    assert periodic.run_due() == []


def test_schedules_declared_in_code_are_kept_in_step():
    registry.periodic("test.hourly", "noop", cron="0 * * * *", payload={"k": 1})
    try:
        periodic.sync_code_schedules()
        row = Schedule.objects.get(name="test.hourly")
        assert (row.source, row.cron, row.payload) == ("code", "0 * * * *", {"k": 1})
        Schedule.objects.filter(pk=row.pk).update(enabled=False)  # staff turned it off
        registry.periodic("test.hourly", "noop", cron="30 * * * *")
        periodic.sync_code_schedules()
        row.refresh_from_db()
        assert (row.cron, row.enabled) == ("30 * * * *", False)
        assert row.next_run_at.minute == 30
    finally:
        registry.forget_periodic("test.hourly")
    periodic.sync_code_schedules()
    assert not Schedule.objects.filter(name="test.hourly").exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_starting_together_declare_a_code_schedule_once(postgres_only):
    """The second worker's insert waits on the first one's unique name, then loses: it goes on
    without an error (it once logged a traceback from every worker but the first)."""
    registry.periodic("test.race", "noop", cron="0 * * * *")
    first_inserted, first_may_commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_worker() -> None:
        try:
            with transaction.atomic():
                Schedule(name="test.race", job_type="noop", cron="0 * * * *", source="code").save()
                first_inserted.set()
                first_may_commit.wait(30)
        finally:
            connection.close()

    def second_worker() -> None:
        try:
            periodic.sync_code_schedules()
        except BaseException as exc:  # the test reports it
            errors.append(exc)
        finally:
            connection.close()

    def second_waits_on_the_first() -> bool:
        """the second worker's insert waits on the first one's lock"""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'INSERT INTO \"jobs_schedule\"%%'"
            )
            return cursor.fetchone()[0] == 1

    threads = [threading.Thread(target=first_worker), threading.Thread(target=second_worker)]
    try:
        threads[0].start()
        assert first_inserted.wait(30)
        threads[1].start()
        wait_for(second_waits_on_the_first)
        first_may_commit.set()
        for thread in threads:
            thread.join(30)
        assert errors == []
        assert Schedule.objects.filter(name="test.race").count() == 1
    finally:
        first_may_commit.set()
        registry.forget_periodic("test.race")


def test_register_with_a_schedule_declares_it():
    @registry.register("test_scheduled_type", schedule="0 3 * * *", tz="Europe/Paris")
    def handler(payload, ctx):
        return {}

    try:
        periodic.sync_code_schedules()
        row = Schedule.objects.get(name="test_scheduled_type")
        assert (row.job_type, row.timezone) == ("test_scheduled_type", "Europe/Paris")
    finally:
        registry.forget_periodic("test_scheduled_type")
        registry._registry.pop("test_scheduled_type")


@pytest.mark.django_db(transaction=True)
def test_retention_is_built_in_and_prunes(settings):
    settings.JOB_RETENTION_DAYS = 1
    periodic.sync_code_schedules()
    retention = Schedule.objects.get(name=periodic.RETENTION)
    assert (retention.job_type, retention.cron, retention.enabled) == (
        "prune_jobs",
        "17 3 * * *",
        True,
    )
    old = Job.objects.create(
        type="noop", status="succeeded", finished_at=timezone.now() - timedelta(days=3)
    )
    new = Job.objects.create(type="noop", status="succeeded", finished_at=timezone.now())
    job = periodic.run_now(retention)
    from jobs.worker import WorkerProcess as Worker

    Worker(burst=True, listen=False).run()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.result["deleted"] == 1
    assert not Job.objects.filter(pk=old.pk).exists() and Job.objects.filter(pk=new.pk).exists()


def test_retention_schedule_can_be_turned_off(settings):
    settings.JOBS_RETENTION_SCHEDULE = ""
    periodic.sync_code_schedules()
    assert not Schedule.objects.filter(name=periodic.RETENTION).exists()


# --- admin and dashboard ------------------------------------------------------------------


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user("s", password="pw", is_staff=True)
    for codename in (
        "view_job",
        "view_schedule",
        "add_schedule",
        "change_schedule",
        "run_schedule",
    ):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_admin_refuses_a_bad_cron_expression_on_save(client, staff):
    client.force_login(staff)
    answer = client.post(
        reverse("admin:jobs_schedule_add"),
        {
            "name": "x",
            "job_type": "noop",
            "payload": "{}",
            "queue": "",
            "cron": "0 25 * * *",
            "timezone": "UTC",
            "enabled": "on",
            "missed": "once",
        },
    )
    assert answer.status_code == 200
    assert "not a valid cron expression" in answer.content.decode()
    assert not Schedule.objects.filter(name="x").exists()
    answer = client.post(
        reverse("admin:jobs_schedule_add"),
        {
            "name": "x",
            "job_type": "noop",
            "payload": "{}",
            "queue": "",
            "cron": "0 2 * * *",
            "timezone": "Europe/Paris",
            "enabled": "on",
            "missed": "skip",
        },
    )
    assert answer.status_code == 302
    assert Schedule.objects.get(name="x").next_run_at is not None


def test_one_page_lists_code_and_admin_schedules_with_last_and_next_run(client, staff):
    make(name="made-by-staff")
    client.force_login(staff)
    page = client.get(reverse("admin:jobs_schedule_changelist")).content.decode()
    assert "made-by-staff" in page and periodic.RETENTION in page
    dashboard = client.get(reverse("jobs:schedules")).content.decode()
    assert (
        "made-by-staff" in dashboard and periodic.RETENTION in dashboard and "Run now" in dashboard
    )


def test_run_now_from_the_dashboard_and_the_admin(client, staff):
    schedule = make()
    client.force_login(staff)
    client.post(reverse("jobs:schedule_run_now", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.last_job_id and Job.objects.filter(pk=schedule.last_job_id).exists()
    client.post(
        reverse("admin:jobs_schedule_changelist"),
        {"action": "run_now", "_selected_action": [schedule.pk]},
    )
    assert ScheduleRun.objects.filter(schedule=schedule, manual=True).count() == 2


def test_run_now_needs_its_permission(client, django_user_model):
    schedule = make()
    user = django_user_model.objects.create_user("t", password="pw", is_staff=True)
    client.force_login(user)
    assert client.post(reverse("jobs:schedule_run_now", args=[schedule.pk])).status_code == 403
    assert not ScheduleRun.objects.exists()


def test_run_now_of_a_job_the_type_refuses_says_why(client, staff):
    schedule = make(name="sleepy")
    Schedule.objects.filter(pk=schedule.pk).update(job_type="sleep", payload={"seconds": "x"})
    client.force_login(staff)
    answer = client.post(reverse("jobs:schedule_run_now", args=[schedule.pk]), follow=True)
    assert answer.status_code == 200
    assert "sleepy was not run" in answer.content.decode()
    assert not Job.objects.exists()
