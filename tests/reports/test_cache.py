"""Dashboard figures cached until the ledger changes (reports/cache.py), and the national
dashboard. The test settings use no cache (DJANGO_CACHE_URL=dummycache://); these tests turn a
real one on. A test's writes never commit, so the writes here run their commit callbacks
(django_capture_on_commit_callbacks), as a committed write would."""

import datetime

import pytest
from django.urls import reverse

from access.actors import SYSTEM
from enterprises.models import Region
from enterprises.regions import regions_load
from placement.channels import Channel
from placement.models import AnnualTarget
from placement.services import targets_bulk_set
from reports import cache as report_cache
from reports.selectors import Scope, placement_report

FILTERS = {"year": 2016, "as_of": "2016-12-31"}


@pytest.fixture
def report_cache_on(settings):
    """A real cache (one process here, so a per-process one is enough)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def computed(monkeypatch):
    """Counts the reports actually computed (not taken from the cache)."""
    calls = []

    def counting(**kwargs):
        calls.append(kwargs["scope"].key)
        return placement_report(**kwargs)

    monkeypatch.setattr(report_cache, "placement_report", counting)
    return calls


def _figures(report):
    totals = report.totals
    return (
        totals.to_place,
        totals.placed,
        totals.placed_in_year,
        totals.target,
        [(c.key, c.to_place, c.placed, c.placed_in_year, c.target) for c in report.children],
        [(r.code, r.placed) for r in report.channels],
        [m.cumulative for m in report.months],
    )


@pytest.fixture
def ledger(make_enterprise, make_worker, place, taiyuan):
    mine = make_enterprise(name="缓存测试矿")
    placed = make_worker(enterprise=mine)
    place(placed, datetime.date(2016, 5, 1), Channel.INTERNAL_TRANSFER)
    waiting = make_worker(enterprise=mine)
    targets_bulk_set(
        creates=[AnnualTarget(year=2016, region=taiyuan, workers=10)],
        updates=[],
        actor=SYSTEM,
        source="test",
    )
    return {"mine": mine, "waiting": waiting}


def test_the_cached_dashboard_shows_the_figures_of_the_uncached_report(
    report_cache_on, computed, root_client, ledger, province
):
    url = reverse("reports:region", args=["140000"])

    first = root_client.get(url, FILTERS).context["report"]
    second = root_client.get(url, FILTERS).context["report"]

    uncached = placement_report(
        scope=Scope(region=province),
        year=2016,
        as_of=datetime.date(2016, 12, 31),
        user=root_client.user,
    )
    assert _figures(first) == _figures(second) == _figures(uncached)
    assert _figures(uncached)[:4] == (2, 1, 1, None)
    assert computed == ["140000"]  # the second page came from the cache


def test_a_placement_through_the_services_invalidates_the_cached_figures(
    report_cache_on,
    computed,
    root_client,
    ledger,
    place,
    django_capture_on_commit_callbacks,
):
    url = reverse("reports:region", args=["140000"])
    assert root_client.get(url, FILTERS).context["report"].totals.placed == 1

    with django_capture_on_commit_callbacks(execute=True):
        place(ledger["waiting"], datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT)

    assert root_client.get(url, FILTERS).context["report"].totals.placed == 2
    assert computed == ["140000", "140000"]


def test_targets_written_in_bulk_invalidate_the_cached_figures(
    report_cache_on, root_client, ledger, province, django_capture_on_commit_callbacks
):
    url = reverse("reports:region", args=["140000"])
    assert root_client.get(url, FILTERS).context["report"].totals.target is None

    with django_capture_on_commit_callbacks(execute=True):
        targets_bulk_set(
            creates=[AnnualTarget(year=2016, region=province, workers=40)],
            updates=[],
            actor=SYSTEM,
            source="test",
        )

    assert root_client.get(url, FILTERS).context["report"].totals.target == 40


def test_a_write_that_never_commits_leaves_the_cached_figures(
    report_cache_on, computed, root_client, ledger, place, django_capture_on_commit_callbacks
):
    # The generation changes at commit, not before: a rolled-back write changes nothing.
    url = reverse("reports:region", args=["140000"])
    root_client.get(url, FILTERS)

    with django_capture_on_commit_callbacks(execute=False):
        place(ledger["waiting"], datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT)
    root_client.get(url, FILTERS)

    assert computed == ["140000"]


def test_users_of_different_scopes_do_not_share_cached_figures(
    report_cache_on, computed, client_as, make_user, ledger, make_enterprise
):
    # A group with one member in 太原 and one elsewhere: the city's officer sees part of it.
    datong = Region.objects.filter(code__startswith="1402", level="county").first()
    group = make_enterprise(name="缓存测试集团")
    make_enterprise(name="大同成员矿", parent=group, region=datong)
    url = reverse("reports:enterprise", args=[group.pk])

    as_admin = client_as("administrator").get(url, FILTERS).context["report"]
    as_city = client_as("city").get(url, FILTERS).context["report"]

    assert len(computed) == 2
    assert [c.name for c in as_admin.children] != [c.name for c in as_city.children]


@pytest.fixture
def two_provinces(db):
    regions_load(province_code="13")


def test_the_national_dashboard_counts_every_province(
    root_client, ledger, make_enterprise, make_worker, two_provinces
):
    shijiazhuang = Region.objects.get(code="130102")
    make_worker(enterprise=make_enterprise(name="河北测试钢铁厂", region=shijiazhuang))

    report = root_client.get(reverse("reports:national"), FILTERS).context["report"]

    assert {c.key: c.to_place for c in report.children if c.to_place} == {
        "130000": 1,
        "140000": 2,
    }
    assert (report.totals.to_place, report.totals.placed) == (3, 1)
    # No national target row: blank, not the provinces' sum.
    assert report.totals.target is None


def test_the_home_page_leads_a_superuser_to_the_nation_when_there_are_several_provinces(
    root_client, two_provinces
):
    response = root_client.get(reverse("reports:home"))
    assert response.url == reverse("reports:national")


def test_the_national_dashboard_is_not_found_for_provincial_staff(client_as, two_provinces):
    client = client_as("province")
    assert client.get(reverse("reports:national")).status_code == 404
    url = reverse("reports:national_export", args=["children"])
    assert client.get(url).status_code == 404
