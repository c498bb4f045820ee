"""Dashboard figures cached until the ledger changes (reports/cache.py), and the national
dashboard. The test settings use no cache (DJANGO_CACHE_URL=dummycache://); these tests turn a
real one on. A test's writes never commit, so the writes here run their commit callbacks
(django_capture_on_commit_callbacks), as a committed write would."""

import datetime

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from access.actors import SYSTEM
from enterprises.models import Region
from enterprises.regions import regions_load
from placement.channels import Channel
from placement.models import AnnualTarget, Placement
from placement.services import target_set, targets_bulk_set, worker_delete, worker_save
from reports import cache as report_cache
from reports import tasks as report_tasks
from reports.models import FactMonth
from reports.selectors import Scope, placement_report
from tests.job_queue import run_jobs
from tests.reports.conftest import bulk_workers

FILTERS = {"year": 2016, "as_of": "2016-12-31"}


@pytest.fixture
def computed(monkeypatch):
    """Counts the reports actually computed (not taken from the cache)."""
    calls = []

    def counting(**kwargs):
        calls.append(kwargs["scope"].key)
        return placement_report(**kwargs)

    counting.calls = calls
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


# --- Per scope: a change refreshes the scopes that contain it, and only those ----------------


@pytest.fixture
def country(db, two_provinces, make_enterprise, make_worker):
    """Enterprises in two counties of 太原 (小店区 A, 迎泽区 B), one in 大同 and one in 河北, a
    worker each, and the scopes a dashboard can show over them."""
    regions = {code: Region.objects.get(code=code) for code in REGION_SCOPES}
    mines = {
        "a": make_enterprise(name="小店矿", region=regions["140105"]),
        "b": make_enterprise(name="迎泽矿", region=regions["140106"]),
        "datong": make_enterprise(name="大同矿", region=Region.objects.get(code="140212")),
        "hebei": make_enterprise(name="河北钢铁厂", region=regions["130102"]),
    }
    workers = {key: make_worker(enterprise=mine) for key, mine in mines.items()}
    scopes = [Scope(national=True)] + [Scope(region=region) for region in regions.values()]
    scopes += [Scope(enterprise=mine) for mine in mines.values()]
    return {"mines": mines, "workers": workers, "scopes": scopes, "regions": regions}


# A's county, city and province; B (a county of the same city), 大同 (another city) and 河北
# (another province) with one of its counties.
REGION_SCOPES = ["140105", "140100", "140000", "140106", "140200", "130000", "130102"]
A_AND_ABOVE = {"national", "140105", "140100", "140000"}


def _view_all(scopes, user) -> None:
    for scope in scopes:
        report_cache.placement_report_cached(
            scope=scope, year=2016, as_of=datetime.date(2016, 12, 31), user=user
        )


@pytest.fixture
def viewed(report_cache_on, computed, country, superuser):
    """Every scope's dashboard viewed once (computed and cached); then what a change makes
    computed again is `computed` after `again()`."""
    _view_all(country["scopes"], superuser)
    assert len(computed) == len(country["scopes"])
    computed.clear()

    def again() -> set[str]:
        _view_all(country["scopes"], superuser)
        return set(computed)

    return again


def test_a_placement_in_one_county_refreshes_its_county_city_province_and_nation_only(
    viewed, country, place, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        place(country["workers"]["a"], datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT)

    mine = country["mines"]["a"]
    assert viewed() == A_AND_ABOVE | {f"enterprise-{mine.pk}"}


def test_the_refreshed_county_shows_the_change_and_the_others_their_kept_figures(
    viewed, country, place, superuser, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        place(country["workers"]["a"], datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT)

    def placed(code):
        return report_cache.placement_report_cached(
            scope=Scope(region=country["regions"][code]),
            year=2016,
            as_of=datetime.date(2016, 12, 31),
            user=superuser,
        ).totals.placed

    assert (placed("140105"), placed("140100"), placed("140106"), placed("130000")) == (1, 1, 0, 0)


def test_a_group_is_refreshed_with_its_member(
    report_cache_on,
    computed,
    country,
    make_enterprise,
    make_worker,
    superuser,
    place,
    django_capture_on_commit_callbacks,
):
    group = make_enterprise(name="测试集团", region=country["regions"]["140100"])
    member = make_enterprise(name="集团成员矿", parent=group, region=country["regions"]["140106"])
    worker = make_worker(enterprise=member)
    _view_all([Scope(enterprise=group), Scope(region=country["regions"]["140105"])], superuser)
    computed.clear()

    with django_capture_on_commit_callbacks(execute=True):
        place(worker, datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT)
    _view_all([Scope(enterprise=group), Scope(region=country["regions"]["140105"])], superuser)

    assert computed == [f"enterprise-{group.pk}"]


def test_a_bulk_import_refreshes_the_scopes_of_its_enterprise(
    viewed, country, django_capture_on_commit_callbacks
):
    mine = country["mines"]["hebei"]
    with django_capture_on_commit_callbacks(execute=True):
        bulk_workers(enterprise=mine, count=30, registered_on=datetime.date(2016, 3, 1))

    assert viewed() == {"national", "130000", "130102", f"enterprise-{mine.pk}"}


def test_targets_written_in_bulk_refresh_their_regions_and_enterprises_only(
    viewed, country, django_capture_on_commit_callbacks
):
    mine = country["mines"]["datong"]
    with django_capture_on_commit_callbacks(execute=True):
        targets_bulk_set(
            creates=[
                AnnualTarget(year=2016, region=country["regions"]["140105"], workers=5),
                AnnualTarget(year=2016, enterprise=mine, workers=3),
            ],
            updates=[],
            actor=SYSTEM,
            source="test",
        )

    assert viewed() == A_AND_ABOVE | {"140200", f"enterprise-{mine.pk}"}


def test_a_target_set_in_the_admin_refreshes_its_region(
    viewed, country, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        target_set(year=2016, workers=7, region=country["regions"]["140106"], actor=SYSTEM)

    assert viewed() == {"national", "140000", "140100", "140106"}


def test_an_enterprise_moved_to_another_region_refreshes_the_old_and_the_new(
    viewed, country, django_capture_on_commit_callbacks
):
    mine = country["mines"]["a"]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mine.region = country["regions"]["130102"]
        mine.save()

    assert viewed() == A_AND_ABOVE | {"130000", "130102", f"enterprise-{mine.pk}"}


def test_a_worker_moved_to_another_enterprise_refreshes_both(
    viewed, country, django_capture_on_commit_callbacks
):
    worker = country["workers"]["b"]
    hebei = country["mines"]["hebei"]
    with django_capture_on_commit_callbacks(execute=True):
        worker.enterprise = hebei
        worker_save(worker=worker, actor=SYSTEM)

    assert viewed() == {
        "national",
        "140000",
        "140100",
        "140106",
        "130000",
        "130102",
        f"enterprise-{hebei.pk}",
        f"enterprise-{country['mines']['b'].pk}",
    }


def test_a_deleted_worker_refreshes_their_enterprise_scopes(
    viewed, country, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        worker_delete(worker=country["workers"]["datong"], actor=SYSTEM)

    assert viewed() == {
        "national",
        "140000",
        "140200",
        f"enterprise-{country['mines']['datong'].pk}",
    }


def test_a_region_written_refreshes_every_report(
    viewed, country, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        region = country["regions"]["140106"]
        region.name = "迎泽区（更名）"
        region.save()

    assert len(viewed()) == len(country["scopes"])


def test_what_an_import_touched_is_looked_up_in_queries_that_do_not_grow_with_it(
    report_cache_on, country, django_capture_on_commit_callbacks
):
    def commit_queries(count, start):
        with django_capture_on_commit_callbacks() as callbacks:
            bulk_workers(
                enterprise=country["mines"]["a"],
                count=count,
                registered_on=datetime.date(2016, 3, 1),
                start=start,
            )
        caches["default"].clear()  # no refresh waiting from the import before
        with CaptureQueriesContext(connection) as queries:
            for callback in callbacks:
                callback()
        return len(queries)

    # The workers' enterprises (now and in their history), the enterprises' groups and regions,
    # and the refresh job enqueued.
    assert commit_queries(5, start=100) == commit_queries(300, start=200) == 3


def test_the_write_itself_runs_no_query_more_with_the_cache_on(
    country, place, settings, django_assert_num_queries
):
    worker = country["workers"]["a"]
    with CaptureQueriesContext(connection) as without_cache:
        place(worker, datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "q"}
    }
    with django_assert_num_queries(len(without_cache)):
        place(worker, datetime.date(2016, 9, 1), Channel.FLEXIBLE_EMPLOYMENT)


def test_a_cache_that_is_down_at_commit_never_fails_the_write(
    viewed, country, place, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(caches["default"], "set_many", down)
    with django_capture_on_commit_callbacks(execute=True):
        placement = place(
            country["workers"]["a"], datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT
        )

    assert Placement.objects.filter(pk=placement.pk).exists()


def test_a_dashboard_cached_in_chinese_is_not_served_in_english(
    report_cache_on, computed, root_client, ledger
):
    """A report holds its labels translated: each language keeps its own."""
    url = reverse("reports:region", args=["140000"])
    first_channel = Channel.choices[0][0]

    root_client.cookies["django_language"] = "zh-hans"
    chinese = root_client.get(url, FILTERS).context["report"]
    root_client.cookies["django_language"] = "en"
    english = root_client.get(url, FILTERS)
    again = root_client.get(url, FILTERS).context["report"]

    with translation.override("en"):
        expected = str(Channel(first_channel).label)
    with translation.override("zh-hans"):
        assert chinese.channels[0].name == str(Channel(first_channel).label)
    assert english.context["report"].channels[0].name == expected != chinese.channels[0].name
    assert expected in english.content.decode()
    assert again.channels[0].name == expected
    assert computed == ["140000", "140000"]  # once per language, then from the cache


def test_everyone_who_sees_the_whole_scope_shares_its_cached_figures(
    report_cache_on, computed, client_as, ledger
):
    url = reverse("reports:region", args=["140100"])

    client_as("administrator").get(url, FILTERS)
    client_as("province").get(url, FILTERS)
    client_as("city").get(url, FILTERS)

    assert computed == ["140100"]


# --- The refresh job: the dashboards a write made stale recomputed outside any request -------


@pytest.fixture
def refresh_at_once(monkeypatch):
    """The refresh job runnable as soon as it is enqueued (it waits REFRESH_DELAY otherwise)."""
    monkeypatch.setattr(report_tasks, "REFRESH_DELAY", datetime.timedelta(0))


def test_after_a_write_a_job_recomputes_the_stale_dashboards_and_officers_meet_them_cached(
    viewed,
    refresh_at_once,
    country,
    place,
    make_worker,
    client_as,
    django_capture_on_commit_callbacks,
):
    other = make_worker(enterprise=country["workers"]["a"].enterprise)
    with django_capture_on_commit_callbacks(execute=True):
        place(country["workers"]["a"], datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT)
        place(other, datetime.date(2016, 8, 1), Channel.SELF_EMPLOYMENT)
    computed = report_cache.placement_report.calls  # the `computed` fixture's list
    assert computed == []  # nothing computed at commit, in the request that wrote
    appended = FactMonth.objects.count()

    run_jobs()
    # The job also merged the monthly sums' rows the write appended (one per key left).
    keys = FactMonth.objects.values("enterprise", "kind", "channel", "month").distinct()
    assert FactMonth.objects.count() == keys.count() < appended
    # The nation, the province and the city: the county and the enterprise are cheap on demand.
    assert set(computed) == {"national", "140000", "140100"}

    # The city officer's dashboard as it opens (no filters: the year with a target, today).
    page = client_as("city").get(reverse("reports:region", args=["140100"]))
    assert page.context["report"].totals.placed == 2
    assert len(computed) == 3  # served from what the job kept

    page = client_as("county").get(reverse("reports:region", args=["140105"]))
    assert page.context["report"].totals.placed == 2
    assert computed[3:] == ["140105"]  # computed in the county officer's request


def test_many_writes_before_the_refresh_runs_enqueue_one_job(
    viewed, refresh_at_once, country, place, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(enterprise=country["mines"]["a"])
    for when, who in [(datetime.date(2016, 8, 1), "a"), (datetime.date(2016, 9, 1), None)]:
        with django_capture_on_commit_callbacks(execute=True):
            place(country["workers"][who] if who else worker, when, Channel.SELF_EMPLOYMENT)
    assert DBTaskResult.objects.count() == 1

    run_jobs()
    with django_capture_on_commit_callbacks(execute=True):
        place(country["workers"]["b"], datetime.date(2016, 10, 1), Channel.SELF_EMPLOYMENT)
    assert DBTaskResult.objects.count() == 2  # the next change after the refresh started


def test_the_national_dashboard_of_one_industry_counts_only_its_enterprises(
    root_client, ledger, make_enterprise, make_worker, two_provinces
):
    steel = make_enterprise(
        name="河北测试钢铁厂", region=Region.objects.get(code="130102"), industry="steel"
    )
    make_worker(enterprise=steel)

    url = reverse("reports:national")
    everything = root_client.get(url, FILTERS).context["report"]
    only_steel = root_client.get(url, {**FILTERS, "industry": "steel"}).context["report"]

    assert (everything.totals.to_place, only_steel.totals.to_place) == (3, 1)


def test_an_hr_officer_and_the_administrator_share_the_enterprise_cached_report(
    report_cache_on, computed, client_as, make_user, ledger
):
    url = reverse("reports:enterprise", args=[ledger["mine"].pk])

    client_as("administrator").get(url, FILTERS)
    client_as(make_user("hr", enterprise=ledger["mine"], username="hr-mine")).get(url, FILTERS)

    assert computed == [f"enterprise-{ledger['mine'].pk}"]


def test_a_full_database_cache_culls_reports_not_the_generations(
    settings, client_as, make_worker, place
):
    """One officer's dashboard at many dates fills the cache: the entries culled are reports,
    never the generation tokens every cached report depends on (culled first, as the keys sort,
    they once made every dashboard of the country be computed again)."""
    from django.core.cache import cache
    from django.core.management import call_command

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "ledger_cache",
            "OPTIONS": {"MAX_ENTRIES": 30},
        }
    }
    call_command("createcachetable")
    cache.clear()
    place(make_worker(), datetime.date(2016, 6, 1))
    hr = client_as("hr")
    url = reverse("reports:enterprise", args=[hr.user.scope.enterprise_id])
    hr.get(url, {"year": 2016})
    from reports import cache as report_cache

    before = cache.get(report_cache.GENERATION_KEY)
    assert before is not None
    for day in range(1, 61):
        hr.get(url, {"year": 2016, "as_of": f"2016-{day // 28 + 1:02d}-{day % 28 + 1:02d}"})
    assert cache.get(report_cache.GENERATION_KEY) == before
    cache.clear()


def test_the_database_cache_holds_more_than_djangos_300_entries():
    from django.conf import settings

    default = settings.CACHES["default"]
    if default["BACKEND"].endswith("DatabaseCache"):
        assert default["OPTIONS"]["MAX_ENTRIES"] >= 100_000
