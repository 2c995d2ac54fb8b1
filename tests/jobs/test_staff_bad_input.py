"""Bad input on staff pages (issue 11, hole 10): a clear message, never a 500. The review's
requests and variations: non-ASCII digits in ids and searches, NUL characters in filters,
searches and forms, JSON nested thousands deep, and job settings enqueue would refuse."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job
from jobs.services import enqueue

pytestmark = pytest.mark.django_db

DASHBOARD = "/test-worker/"
CHANGELIST = "/admin/jobs/job/"


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", email=""))
    return client


@pytest.mark.parametrize("job", ["%C2%B2", "%D9%A3", "1%C2%B2", "99999999999999999999999", "-1"])
def test_the_dashboard_takes_any_job_parameter(staff_client, job):
    response = staff_client.get(f"{DASHBOARD}?job={job}")
    assert response.status_code == 200


@pytest.mark.parametrize("q", ["%C2%B2", "%23%C2%B2", "99999999999999999999999", "%EF%BC%91"])
def test_the_admin_search_takes_any_text(staff_client, q):
    enqueue("noop", {})
    response = staff_client.get(f"{CHANGELIST}?q={q}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query",
    ["status=%00", "status__exact=queued%00", "q=%00", "type=a%00b", "queue=%00", "o=%00"],
)
def test_a_nul_in_a_filter_or_search_is_refused_clearly(staff_client, query):
    enqueue("noop", {})
    response = staff_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_in_a_dashboard_form_is_refused_clearly(staff_client):
    response = staff_client.post(
        reverse("jobs:enqueue"),
        {"type": "noop", "payload": '{"a": "\x00"}', "count": "1", "priority": "0"},
    )
    assert response.status_code == 400 and not Job.objects.exists()


@pytest.mark.parametrize("depth", [150, 3000, 100_000])
def test_deeply_nested_json_on_the_dashboard_is_refused(staff_client, depth):
    payload = '{"a": ' + "[" * depth + "]" * depth + "}"
    response = staff_client.post(
        reverse("jobs:enqueue"),
        {"type": "noop", "payload": payload, "count": "1", "priority": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "nested too deeply" in response.content.decode()
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timeout", "-5", "positive number of seconds"),
        ("timeout", "0", "positive number of seconds"),
        ("max_attempts", "0", "at least 1 attempt"),
        ("queue", "   ", "This field is required"),
    ],
)
def test_the_admin_job_form_refuses_what_enqueue_refuses(staff_client, field, value, message):
    job = enqueue("noop", {})
    url = reverse("admin:jobs_job_change", args=[job.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    run_at = timezone.localtime(job.run_at)
    data |= {"run_at_0": f"{run_at:%Y-%m-%d}", "run_at_1": f"{run_at:%H:%M:%S}", field: value}
    data |= {
        "attempt_history-TOTAL_FORMS": "0",
        "attempt_history-INITIAL_FORMS": "0",
        "attempt_history-MIN_NUM_FORMS": "0",
        "attempt_history-MAX_NUM_FORMS": "1000",
    }
    response = staff_client.post(url, {k: v for k, v in data.items() if v is not None})
    assert response.status_code == 200  # the form again, with the message
    assert message in response.content.decode()
    fresh = Job.objects.get(pk=job.pk)
    assert (fresh.timeout, fresh.max_attempts, fresh.queue) == (
        job.timeout,
        job.max_attempts,
        job.queue,
    )
