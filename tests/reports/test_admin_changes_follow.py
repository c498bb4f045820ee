"""Dashboards after changes accepted in the admin, with a real cache on (a review)."""

import datetime

import pytest
from django.urls import reverse

from enterprises.models import Region
from placement.channels import Channel
from tests.test_faults import _carried, _hidden, _placement_page, _worker_page

D = datetime.date
FILTERS = {"year": 2016, "as_of": "2016-12-31"}
pytestmark = pytest.mark.django_db


def _totals(client, code):
    report = client.get(reverse("reports:region", args=[code]), FILTERS).context["report"]
    return (report.totals.to_place, report.totals.placed, report.totals.placed_in_year)


@pytest.fixture
def two(make_enterprise, make_worker, place):
    a = make_enterprise(name="小店矿", region=Region.objects.get(code="140105"))
    b = make_enterprise(name="迎泽矿", region=Region.objects.get(code="140106"))
    wa = make_worker(enterprise=a)
    wb = make_worker(enterprise=b)
    pa = place(wa, D(2016, 5, 1), Channel.FLEXIBLE_EMPLOYMENT)
    return {"a": a, "b": b, "wa": wa, "wb": wb, "pa": pa}


def test_dashboards_follow_admin_changes(
    report_cache_on, root_client, two, django_capture_on_commit_callbacks
):
    c = root_client
    assert _totals(c, "140105") == (1, 1, 1)
    assert _totals(c, "140106") == (1, 0, 0)
    # End the placement on its page.
    url = reverse("admin:placement_placement_change", args=[two["pa"].pk])
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(
            url, _placement_page(two["pa"], ended_on="2016-09-30") | _carried(_hidden(c.get(url)))
        )
    assert r.status_code == 302
    assert _totals(c, "140105") == (1, 0, 1)
    # Move the worker to the other county's enterprise.
    wa = two["wa"]
    url = reverse("admin:placement_worker_change", args=[wa.pk])
    page = _hidden(c.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(url, _worker_page(wa, enterprise=two["b"].pk) | _carried(page))
    assert r.status_code == 302, r.context["adminform"].form.errors
    assert _totals(c, "140105") == (0, 0, 0)
    assert _totals(c, "140106") == (2, 0, 1)
    # The enterprise's diversion date: workers without their own date follow it.
    b = two["b"]
    url = reverse("admin:enterprises_enterprise_change", args=[b.pk])
    form = {
        "name": b.name,
        "credit_code": b.credit_code,
        "industry": b.industry,
        "region": b.region.pk,
        "diversion_date": "2017-03-01",
    }
    from placement.models import Worker

    Worker.objects.filter(pk__in=[wa.pk, two["wb"].pk]).update(registered_on_source="enterprise")
    from reports.facts import report_facts_rebuild

    report_facts_rebuild()
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(url, form)
    assert r.status_code == 302
    # wa was placed in 2016 (before the new date): kept; wb follows to 2017.
    assert _totals(c, "140106") == (1, 0, 1)
    # Delete the placement on its delete page.
    url = reverse("admin:placement_placement_delete", args=[two["pa"].pk])
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(url, _hidden(c.get(url)))
    assert r.status_code == 302
    assert _totals(c, "140106") == (1, 0, 0)


def test_a_placement_moved_to_a_worker_of_another_county_on_its_page(
    report_cache_on, root_client, two, django_capture_on_commit_callbacks
):
    c = root_client
    assert _totals(c, "140105") == (1, 1, 1)
    assert _totals(c, "140106") == (1, 0, 0)
    url = reverse("admin:placement_placement_change", args=[two["pa"].pk])
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(
            url,
            _placement_page(two["pa"], worker=two["wb"].pk) | _carried(_hidden(c.get(url))),
        )
    assert r.status_code == 302
    assert _totals(c, "140106") == (1, 1, 1)
    assert _totals(c, "140105") == (1, 0, 0)
