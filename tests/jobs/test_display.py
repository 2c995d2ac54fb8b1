"""The queue's extension points for other apps: link providers and search providers, as the job
admin (page, list, search) and the dashboard's job panel use them."""

from __future__ import annotations

import pytest
from django.db.models import Q
from django.urls import reverse

from jobs import display
from jobs.models import Job
from jobs.services import enqueue

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:jobs_job_changelist")


class Orders:
    """A stand-in for an app above the queue: jobs whose payload names an order."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def links(self, jobs):
        self.calls.append([job.pk for job in jobs])
        return {
            job.pk: [(f"/orders/{job.payload['order']}/", f"Order <{job.payload['order']}>")]
            for job in jobs
            if isinstance(job.payload, dict) and "order" in job.payload
        }

    def search(self, term: str) -> Q | None:
        return Q(payload__order=term) if term.startswith("ord-") else None


@pytest.fixture
def orders():
    app = Orders()
    display.register_link_provider(app.links)
    display.register_search_provider(app.search)
    yield app
    display.unregister_link_provider(app.links)
    display.unregister_search_provider(app.search)


def test_job_page_shows_provided_links_escaped(admin_client, orders):
    job = enqueue("noop", {"order": "ord-7"})
    html = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert '<a href="/orders/ord-7/">Order &lt;ord-7&gt;</a>' in html


def test_list_asks_providers_once_per_page(admin_client, orders):
    jobs = [enqueue("noop", {"order": f"ord-{i}"}) for i in range(5)]
    enqueue("noop", {"other": 1})
    html = admin_client.get(CHANGELIST).content.decode()
    assert len(orders.calls) == 1 and len(orders.calls[0]) == 6
    for job in jobs:
        assert f'href="/orders/{job.payload["order"]}/"' in html


def test_no_provider_no_links(admin_client):
    job = enqueue("noop", {"order": "ord-1"})
    assert display.job_links(job) == []
    html = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert "/orders/" not in html


def test_search_providers_add_matches(admin_client, orders):
    wanted = enqueue("noop", {"order": "ord-42"})
    enqueue("noop", {"order": "ord-43"})
    response = admin_client.get(CHANGELIST, {"q": "ord-42"})
    assert [j.pk for j in response.context["cl"].result_list] == [wanted.pk]
    response = admin_client.get(CHANGELIST, {"q": "nothing like it"})
    assert list(response.context["cl"].result_list) == []


def test_dashboard_panel_shows_provided_links(admin_client, orders):
    job = enqueue("noop", {"order": "ord-9"})
    response = admin_client.get(reverse("jobs:job_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert 'href="/orders/ord-9/"' in response.content.decode()


def test_registering_twice_links_once(orders):
    display.register_link_provider(orders.links)
    job = enqueue("noop", {"order": "ord-1"})
    assert display.job_links(Job.objects.get(pk=job.pk)) == [("/orders/ord-1/", "Order <ord-1>")]
