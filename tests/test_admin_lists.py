"""The admin's lists at national size: an unfiltered list of a large table is counted from the
database's statistics (database/paginator.py), every other list exactly."""

import pytest
from django.db import connection
from django.urls import reverse

from enterprises.models import Enterprise
from placement.models import AnnualTarget, Placement, Worker
from tests.test_admin import CHANGELIST_QUERIES

WORKERS = reverse("admin:placement_worker_changelist")


def _analyze():
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@pytest.fixture
def estimated_from_one_row(settings):
    settings.LEDGER_ADMIN_ESTIMATE_ROWS = 1


@pytest.fixture
def analysed_then_grown(make_worker, enterprise):
    """Three workers analysed, then a fourth the statistics do not know of yet."""
    for _ in range(3):
        make_worker()
    _analyze()
    make_worker(name="统计之后")


def test_an_unfiltered_list_shows_the_estimated_count_as_an_estimate(
    estimated_from_one_row, analysed_then_grown, root_client
):
    response = root_client.get(WORKERS)

    changelist = response.context["cl"]
    assert changelist.paginator.estimated
    assert changelist.result_count == 3  # the statistics' count, not the table's 4
    assert "约3 职工" in " ".join(response.content.decode().split())


def test_a_searched_list_is_counted_exactly(
    estimated_from_one_row, analysed_then_grown, root_client
):
    changelist = root_client.get(WORKERS, {"q": "职工"}).context["cl"]

    assert not changelist.paginator.estimated
    assert changelist.result_count == 3


def test_a_filtered_list_is_counted_exactly(
    estimated_from_one_row, analysed_then_grown, root_client
):
    changelist = root_client.get(WORKERS, {"status": "pending"}).context["cl"]

    assert not changelist.paginator.estimated
    assert changelist.result_count == 4


def test_a_scoped_users_list_is_counted_exactly(
    estimated_from_one_row, analysed_then_grown, make_enterprise, make_worker, client_as
):
    make_worker(enterprise=make_enterprise(name="别家煤矿"))
    changelist = client_as("hr").get(WORKERS).context["cl"]

    assert not changelist.paginator.estimated
    assert changelist.result_count == 4
    assert Worker.objects.count() == 5


def test_a_small_table_is_counted_exactly(analysed_then_grown, root_client):
    # Under LEDGER_ADMIN_ESTIMATE_ROWS (100,000 by default) an exact count costs nothing.
    changelist = root_client.get(WORKERS).context["cl"]

    assert not changelist.paginator.estimated
    assert changelist.result_count == 4


def test_the_enterprise_list_counts_each_enterprises_workers(
    root_client, make_enterprise, make_worker, enterprise
):
    other = make_enterprise(name="无职工煤矿")
    make_worker()
    make_worker()

    changelist = root_client.get(reverse("admin:enterprises_enterprise_changelist")).context["cl"]

    counts = {e.name: e._worker_count for e in changelist.result_list}
    assert counts == {enterprise.name: 2, other.name: 0}


@pytest.mark.parametrize(
    "model", [Enterprise, Worker, Placement, AnnualTarget], ids=lambda m: m.__name__
)
def test_an_estimated_list_runs_one_query_less_than_a_counted_one(
    estimated_from_one_row,
    root_client,
    make_worker,
    place,
    django_assert_num_queries,
    model,
):
    import datetime

    from access.actors import SYSTEM
    from placement.services import target_set

    worker = make_worker()
    place(worker, datetime.date(2016, 5, 1))
    target_set(year=2016, enterprise=worker.enterprise, workers=3, actor=SYSTEM)
    _analyze()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    # The estimate replaces the COUNT(*).
    with django_assert_num_queries(CHANGELIST_QUERIES[model.__name__] - 1):
        assert root_client.get(url).context["cl"].paginator.estimated


def test_the_years_and_diversion_years_offered_are_those_of_the_workers(root_client, make_worker):
    import datetime

    for year, diversion in [(2016, 2016), (2017, None), (2019, 2018), (2019, 2016)]:
        make_worker(registered_on=datetime.date(year, 3, 1), diversion_year=diversion)

    response = root_client.get(WORKERS)

    body = response.content.decode()
    for year in ("2016", "2017", "2019"):
        assert f"?registered_on__year={year}" in body
    assert "?registered_on__year=2018" not in body
    diversion = next(
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "field_path", "") == "diversion_year"
    )
    assert diversion.lookup_choices == [2016, 2018, None]


def test_a_scoped_placement_list_offers_the_years_of_its_own_placements(
    make_enterprise, make_worker, place, client_as, taiyuan
):
    import datetime

    from enterprises.models import Region

    outside = make_enterprise(region=Region.objects.get(code="140200"))
    for year in (2016, 2018):
        place(make_worker(), datetime.date(year, 5, 1))
    place(make_worker(enterprise=outside), datetime.date(2017, 5, 1))
    place(make_worker(enterprise=outside), datetime.date(2020, 5, 1))

    body = client_as("city").get(reverse("admin:placement_placement_changelist")).content
    body = body.decode()

    assert "?placed_on__year=2016" in body and "?placed_on__year=2018" in body
    assert "?placed_on__year=2017" not in body and "?placed_on__year=2020" not in body


def test_a_scoped_list_of_one_year_opens_at_its_months(make_worker, place, client_as):
    import datetime

    place(make_worker(), datetime.date(2018, 5, 1))
    place(make_worker(), datetime.date(2018, 9, 1))

    body = client_as("city").get(reverse("admin:placement_placement_changelist")).content

    assert "placed_on__month=5" in body.decode() and "placed_on__month=9" in body.decode()


@pytest.mark.parametrize("distinct_scan_rows", [0, 50_000])
def test_a_small_list_reads_its_years_in_one_query_a_large_one_by_probes(
    root_client, make_worker, monkeypatch, distinct_scan_rows
):
    """The date hierarchy's years: Django's one DISTINCT for a list counted at no more than
    DISTINCT_SCAN_ROWS rows, one index probe per year above it; the same years either way."""
    import datetime

    from django.test.utils import CaptureQueriesContext

    from placement.templatetags import ledger_admin

    monkeypatch.setattr(ledger_admin, "DISTINCT_SCAN_ROWS", distinct_scan_rows)
    for year in (2016, 2017, 2019):
        make_worker(registered_on=datetime.date(year, 3, 1))

    with CaptureQueriesContext(connection) as queries:
        body = root_client.get(WORKERS, {"status": "pending"}).content.decode()

    for year in ("2016", "2017", "2019"):
        assert f"registered_on__year={year}" in body
    probes = [
        q for q in queries if 'MIN("placement_worker"."registered_on") AS "value"' in q["sql"]
    ]
    distinct = [q for q in queries if "DISTINCT" in q["sql"] and "registered_on" in q["sql"]]
    if distinct_scan_rows:
        assert (len(probes), len(distinct)) == (0, 1)
    else:
        assert (len(probes), len(distinct)) == (4, 0)  # three years, then none left
