"""The credits admin (balances, ledger, grants) and what the jobs admin says when a requeue
is refused for lack of credits."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from credits import services as credits
from credits.models import CreditAccount
from jobs.models import Job
from jobs.registry import register
from jobs.services import enqueue
from tests.jobs.test_admin import act, texts

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@register("test_admin_paid", cost=1)
def paid(payload, ctx):
    return "done"


def paid_failed_job(owner, settings) -> Job:
    """A failed paid job whose credits went back to an owner who now has none."""
    settings.CREDITS_STARTING_BALANCE = 1
    job = enqueue("test_admin_paid", {}, owner=owner)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, finished_at=timezone.now())
    credits.refund_job(job)
    enqueue("test_admin_paid", {}, owner=owner)  # spends the refund
    assert credits.balance(owner) == 0
    return job


def test_requeue_without_credits_is_reported(client, superuser, django_user_model, settings):
    owner = django_user_model.objects.create_user("payer")
    job = paid_failed_job(owner, settings)
    client.force_login(superuser)
    response = act(client, "requeue_jobs", [job])
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    [message] = texts(response)
    assert message.startswith(f"Not requeued: #{job.pk}: Not enough")
    url = reverse("admin:jobs_job_object_action", args=[job.pk, "requeue"])
    response = client.post(url, follow=True)
    assert any("was not requeued: Not enough credits" in t for t in texts(response))


def test_credit_account_shows_ledger_and_grants(client, superuser, django_user_model, settings):
    settings.CREDITS_STARTING_BALANCE = 5
    owner = django_user_model.objects.create_user("payer")
    account = credits.account_for(owner)
    client.force_login(superuser)
    assert client.get(reverse("admin:credits_creditaccount_changelist")).status_code == 200
    page = client.get(reverse("admin:credits_creditaccount_change", args=[account.pk]))
    html = page.content.decode()
    assert "Starting balance" in html and 'name="amount"' in html
    assert 'name="balance"' not in html  # never edited by hand
    url = reverse("admin:credits_creditaccount_grant", args=[account.pk])
    response = client.post(url, {"amount": "20", "note": "Launch bonus"}, follow=True)
    assert "Granted 20 credits to payer; the balance is 25." in texts(response)
    assert CreditAccount.objects.get(pk=account.pk).balance == 25
    assert "Launch bonus" in response.content.decode()
    for bad in ("0", "-3", "abc", "", "99999999"):
        response = client.post(url, {"amount": bad}, follow=True)
        assert any("whole number of credits" in t for t in texts(response))
    assert CreditAccount.objects.get(pk=account.pk).balance == 25
    assert client.get(url).status_code == 405
    assert client.get(reverse("admin:credits_creditaccount_add")).status_code == 403


def test_grant_needs_permission(client, django_user_model):
    account = credits.account_for(django_user_model.objects.create_user("payer"))
    staff = django_user_model.objects.create_user("clerk", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_creditaccount"))
    client.force_login(staff)
    page = client.get(reverse("admin:credits_creditaccount_change", args=[account.pk]))
    assert page.status_code == 200 and 'name="amount"' not in page.content.decode()
    url = reverse("admin:credits_creditaccount_grant", args=[account.pk])
    assert client.post(url, {"amount": "10"}).status_code == 403
    assert CreditAccount.objects.get(pk=account.pk).balance == account.balance
