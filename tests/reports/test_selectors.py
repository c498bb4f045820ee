import datetime
from decimal import Decimal

import pytest

from access.actors import SYSTEM
from enterprises.models import Region
from placement.channels import Category, Channel, LabourRelation
from placement.models import AnnualTarget
from reports.selectors import Scope, placement_report, worker_list
from tests.conftest import synthetic_id

from .conftest import bulk_place, bulk_workers

JUNE_30_2017 = datetime.date(2017, 6, 30)
END_2016 = datetime.date(2016, 12, 31)


def report_for(scope_object, *, year=2017, as_of=JUNE_30_2017, **kwargs):
    kwargs.setdefault("user", SYSTEM)
    if isinstance(scope_object, Region):
        return placement_report(scope=Scope(region=scope_object), year=year, as_of=as_of, **kwargs)
    return placement_report(scope=Scope(enterprise=scope_object), year=year, as_of=as_of, **kwargs)


def child(report, key):
    return next(c for c in report.children if c.key == key)


@pytest.fixture
def yingze(db):
    return Region.objects.get(code="140106")


@pytest.fixture
def datong_county(db):
    return Region.objects.filter(level=Region.Level.COUNTY, code__startswith="1402").first()


def test_the_article_2016_placement_rate_is_99_97(province, enterprise):
    workers = bulk_workers(
        enterprise=enterprise, count=21_012, registered_on=datetime.date(2016, 1, 4)
    )
    bulk_place(workers[:21_006], on=datetime.date(2016, 9, 1))

    report = report_for(province, year=2016, as_of=END_2016)

    assert report.totals.to_place == 21_012
    assert report.totals.placed == 21_006
    assert report.totals.pending == 6
    assert report.totals.placement_rate == Decimal("99.97")


def test_the_article_2017_completion_is_46_2_against_49_6_elapsed(province, enterprise):
    workers = bulk_workers(
        enterprise=enterprise, count=9_840, registered_on=datetime.date(2017, 1, 4)
    )
    bulk_place(workers, on=datetime.date(2017, 4, 15))
    AnnualTarget.objects.create(year=2017, region=province, workers=21_299)

    report = report_for(province)

    assert report.totals.placed_in_year == 9_840
    assert report.totals.target == 21_299
    assert report.totals.target_completion == Decimal("46.2")
    assert report.elapsed_share == Decimal("49.6")


def test_a_worker_placed_twice_in_one_year_counts_once(province, make_worker, place):
    worker = make_worker()
    place(worker, datetime.date(2017, 2, 1), Channel.FLEXIBLE_EMPLOYMENT, datetime.date(2017, 4, 1))
    place(worker, datetime.date(2017, 4, 1), Channel.PUBLIC_WELFARE_POST)

    report = report_for(province)

    assert report.totals.placed_in_year == 1
    assert report.totals.placed == 1
    assert [m.cumulative for m in report.months] == [0, 1, 1, 1, 1, 1]


def test_a_placement_that_ended_before_the_as_of_date_does_not_count_as_placed(
    province, make_worker, place
):
    worker = make_worker()
    place(worker, datetime.date(2017, 2, 1), Channel.FLEXIBLE_EMPLOYMENT, datetime.date(2017, 5, 1))

    report = report_for(province)

    assert (report.totals.to_place, report.totals.placed, report.totals.pending) == (1, 0, 1)
    assert report.totals.placement_rate == Decimal("0.00")
    # Placed during the year counts placements achieved in the year (see the selector).
    assert report.totals.placed_in_year == 1


def test_a_placement_ending_after_the_as_of_date_still_counts(province, make_worker, place):
    worker = make_worker()
    place(worker, datetime.date(2017, 2, 1), Channel.FLEXIBLE_EMPLOYMENT, datetime.date(2017, 7, 1))

    assert report_for(province).totals.placed == 1
    assert report_for(province, as_of=datetime.date(2017, 7, 1)).totals.placed == 0


def test_a_placement_dated_after_the_as_of_date_does_not_count(province, make_worker, place):
    worker = make_worker()
    place(worker, datetime.date(2017, 7, 1))

    report = report_for(province)

    assert (report.totals.placed, report.totals.placed_in_year) == (0, 0)
    assert report_for(province, as_of=datetime.date(2017, 7, 1)).totals.placed == 1


def test_a_worker_registered_after_the_as_of_date_is_not_yet_to_place(province, make_worker):
    make_worker(registered_on=datetime.date(2017, 8, 1))

    assert report_for(province).totals.to_place == 0


def test_a_county_sums_into_its_city_and_province(
    province, taiyuan, xiaodian, yingze, datong_county, make_enterprise, make_worker, place
):
    in_xiaodian = make_enterprise(region=xiaodian)
    in_yingze = make_enterprise(region=yingze)
    in_datong = make_enterprise(region=datong_county)
    for enterprise, to_place, placed in ((in_xiaodian, 3, 2), (in_yingze, 2, 1), (in_datong, 4, 4)):
        for i in range(to_place):
            worker = make_worker(enterprise=enterprise)
            if i < placed:
                place(worker, datetime.date(2017, 3, 1))

    county = report_for(xiaodian)
    city = report_for(taiyuan)
    whole = report_for(province)

    assert (county.totals.to_place, county.totals.placed) == (3, 2)
    # The county's children are its enterprises (the fixture's default one has nobody).
    assert (
        child(county, str(in_xiaodian.pk)).to_place,
        child(county, str(in_xiaodian.pk)).placed,
    ) == (3, 2)
    assert sum(c.to_place for c in county.children) == 3
    assert (child(city, "140105").to_place, child(city, "140105").placed) == (3, 2)
    assert (child(city, "140106").to_place, child(city, "140106").placed) == (2, 1)
    assert (city.totals.to_place, city.totals.placed, city.totals.placed_in_year) == (5, 3, 3)
    assert (child(whole, "140100").to_place, child(whole, "140100").placed) == (5, 3)
    assert child(whole, datong_county.code[:4] + "00").placed == 4
    assert (whole.totals.to_place, whole.totals.placed) == (9, 7)
    assert whole.totals.placement_rate == Decimal("77.78")


def test_every_city_is_a_child_of_the_province_even_when_empty(province):
    report = report_for(province)

    assert len(report.children) == 11
    assert all(c.kind == "region" for c in report.children)


def test_an_enterprise_at_city_level_is_counted_in_the_city_line(
    province, taiyuan, make_enterprise, make_worker
):
    at_city_level = make_enterprise(region=taiyuan)
    make_worker(enterprise=at_city_level)

    city = report_for(taiyuan)

    assert city.totals.to_place == 1
    assert child(city, "140100").name == "市本级"
    assert child(report_for(province), "140100").to_place == 1


def test_a_group_sums_its_member_enterprises(make_enterprise, make_worker, place, yingze):
    group = make_enterprise(name="测试集团")
    mine_a = make_enterprise(name="测试矿甲", parent=group)
    mine_b = make_enterprise(name="测试矿乙", parent=group, region=yingze)
    outsider = make_enterprise(name="集团外煤矿")
    for enterprise, to_place, placed in ((mine_a, 2, 2), (mine_b, 3, 1), (outsider, 5, 5)):
        for i in range(to_place):
            worker = make_worker(enterprise=enterprise)
            if i < placed:
                place(worker, datetime.date(2017, 3, 1))
    AnnualTarget.objects.create(year=2017, enterprise=group, workers=8)

    report = report_for(group)

    assert (report.totals.to_place, report.totals.placed, report.totals.placed_in_year) == (5, 3, 3)
    assert report.totals.target == 8
    assert report.totals.target_completion == Decimal("37.5")
    assert report.children_are_enterprises
    assert {c.name: (c.to_place, c.placed) for c in report.children} == {
        "测试矿甲": (2, 2),
        "测试矿乙": (3, 1),
    }


def test_a_missing_target_gives_no_completion(province, make_worker, place):
    place(make_worker(), datetime.date(2017, 3, 1))

    report = report_for(province)

    assert report.totals.target is None
    assert report.totals.target_completion is None
    assert all(point.elapsed_target is None for point in report.months)


def test_a_zero_target_gives_no_completion(province, make_worker, place):
    place(make_worker(), datetime.date(2017, 3, 1))
    AnnualTarget.objects.create(year=2017, region=province, workers=0)

    report = report_for(province)

    assert report.totals.target == 0
    assert report.totals.target_completion is None


def test_a_city_target_is_its_own_row_not_the_sum_of_its_counties(
    taiyuan, xiaodian, yingze, make_worker, place
):
    AnnualTarget.objects.create(year=2017, region=xiaodian, workers=10)
    AnnualTarget.objects.create(year=2017, region=yingze, workers=10)

    city = report_for(taiyuan)
    assert city.totals.target is None
    assert child(city, "140105").target == 10

    AnnualTarget.objects.create(year=2017, region=taiyuan, workers=4)
    place(make_worker(), datetime.date(2017, 3, 1))
    city = report_for(taiyuan)
    assert city.totals.target == 4
    assert city.totals.target_completion == Decimal("25.0")


def test_an_empty_scope_has_zero_counts_and_no_rates(taiyuan):
    report = report_for(taiyuan)

    totals = report.totals
    assert (totals.to_place, totals.placed, totals.placed_in_year, totals.pending) == (0, 0, 0, 0)
    assert totals.placement_rate is None
    assert totals.target_completion is None
    assert all(row.placed == 0 and row.share is None for row in report.channels)
    assert report.stragglers == []
    assert [c.to_place for c in report.children] == [0] * len(report.children)


def test_rates_are_never_averaged_across_children(
    province, xiaodian, datong_county, make_enterprise, make_worker, place
):
    full = make_enterprise(region=xiaodian)
    partial = make_enterprise(region=datong_county)
    place(make_worker(enterprise=full), datetime.date(2017, 3, 1))
    place(make_worker(enterprise=partial), datetime.date(2017, 3, 1))
    make_worker(enterprise=partial)
    make_worker(enterprise=partial)

    report = report_for(province)

    assert child(report, "140100").placement_rate == Decimal("100.00")
    assert child(report, datong_county.code[:4] + "00").placement_rate == Decimal("33.33")
    # 2 of 4, not the average of 100% and 33.33%.
    assert report.totals.placement_rate == Decimal("50.00")


def test_channels_use_the_latest_placement_in_force(province, make_worker, place):
    worker = make_worker()
    place(worker, datetime.date(2017, 1, 10), Channel.FLEXIBLE_EMPLOYMENT)
    place(worker, datetime.date(2017, 3, 1), Channel.PUBLIC_WELFARE_POST)

    report = report_for(province)
    placed = {row.code: row.placed for row in report.channels if row.placed}

    assert placed == {Channel.PUBLIC_WELFARE_POST: 1}
    assert report_for(province, as_of=datetime.date(2017, 2, 1)).channels[6].placed == 1


def test_kept_plus_internal_retirement_plus_ended_equals_placed(province, make_worker, place):
    channels = [
        Channel.INTERNAL_TRANSFER,
        Channel.TRAINING_TRANSFER,
        Channel.OUTSIDE_DIVERSION,
        Channel.SELF_EMPLOYMENT,
        Channel.PUBLIC_WELFARE_POST,
    ]
    for channel in channels:
        place(make_worker(), datetime.date(2017, 3, 1), channel)
    # A woman worker born 1968 retires at 50 in 2018: inside the internal-retirement window.
    near_retirement = make_worker(id_number=synthetic_id(birth="19680101", seq=2))
    place(near_retirement, datetime.date(2017, 3, 1), Channel.INTERNAL_RETIREMENT)
    make_worker()  # still waiting

    report = report_for(province)
    relations = {row.code: row.placed for row in report.relations}
    categories = {row.code: row.placed for row in report.categories}

    assert report.totals.placed == 6
    assert relations == {
        LabourRelation.KEPT: 2,
        LabourRelation.RETIREMENT_IN_PLACE: 1,
        LabourRelation.ENDED: 3,
    }
    assert sum(relations.values()) == report.totals.placed
    assert categories == {
        Category.INTERNAL_PLACEMENT: 2,
        Category.INTERNAL_RETIREMENT: 1,
        Category.REEMPLOYMENT: 2,
        Category.FALLBACK: 1,
    }
    shares = {row.code: row.share for row in report.channels}
    assert shares[Channel.INTERNAL_TRANSFER] == Decimal("16.7")


def test_an_industry_filter_keeps_only_that_industry(province, make_enterprise, make_worker):
    steel = make_enterprise(industry="steel")
    make_worker(enterprise=steel)
    make_worker()

    assert report_for(province, industry="steel").totals.to_place == 1
    assert report_for(province, industry="coal").totals.to_place == 1
    assert report_for(province).totals.to_place == 2


def test_cumulative_months_stop_at_the_as_of_date(province, make_worker, place):
    place(make_worker(), datetime.date(2017, 1, 20))
    place(make_worker(), datetime.date(2017, 3, 5))
    place(make_worker(), datetime.date(2017, 6, 30))
    AnnualTarget.objects.create(year=2017, region=province, workers=365)

    report = report_for(province)

    assert [m.cumulative for m in report.months] == [1, 1, 2, 2, 2, 3]
    assert report.months[-1].day == JUNE_30_2017
    assert report.months[0].elapsed_target == Decimal(31)


def test_stragglers_are_the_enterprises_with_the_lowest_rate(
    province, make_enterprise, make_worker, place
):
    done, behind, worst = (make_enterprise(name=n) for n in ("全安置矿", "落后矿", "最落后矿"))
    place(make_worker(enterprise=done), datetime.date(2017, 3, 1))
    place(make_worker(enterprise=behind), datetime.date(2017, 3, 1))
    make_worker(enterprise=behind)
    make_worker(enterprise=worst)

    report = report_for(province)

    assert [s.name for s in report.stragglers] == ["最落后矿", "落后矿"]


def test_a_users_report_counts_only_enterprises_they_may_see(
    province, taiyuan, datong_county, make_enterprise, make_worker, make_user
):

    make_worker(enterprise=make_enterprise())
    make_worker(enterprise=make_enterprise(region=datong_county))
    user = make_user("city")

    assert report_for(province).totals.to_place == 2
    assert report_for(province, user=user).totals.to_place == 1


def _build(count, *, make_enterprise, make_worker, place, start):
    counties = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
    for i in range(start, count):
        enterprise = make_enterprise(region=counties[(i * 7) % len(counties)])
        worker = make_worker(enterprise=enterprise)
        place(worker, datetime.date(2017, 1 + i % 6, 1), Channel.values[i % 9 if i % 9 != 2 else 0])
        make_worker(enterprise=enterprise)


# Queries of one report, whatever the number of enterprises and workers: the enterprises of
# the scope, their counts from the facts (one GROUP BY per figure), the targets, the children.
# As of a month's last day the counts are monthly sums only (two queries); as of another day
# four more count the facts of that month up to the day (reports.selectors.enterprise_figures).
REPORT_QUERIES = {JUNE_30_2017: 5, datetime.date(2017, 6, 17): 9}


@pytest.mark.parametrize("as_of", REPORT_QUERIES)
@pytest.mark.parametrize("scope_code", ["140000", "140100"])
def test_the_query_count_does_not_grow_with_enterprises_or_workers(
    scope_code, as_of, make_enterprise, make_worker, place, django_assert_num_queries
):
    scope = Region.objects.get(code=scope_code)
    _build(2, make_enterprise=make_enterprise, make_worker=make_worker, place=place, start=0)
    with django_assert_num_queries(REPORT_QUERIES[as_of]):
        small_report = report_for(scope, as_of=as_of)
    _build(20, make_enterprise=make_enterprise, make_worker=make_worker, place=place, start=2)
    with django_assert_num_queries(REPORT_QUERIES[as_of]):
        large_report = report_for(scope, as_of=as_of)

    if scope_code == "140000":
        assert (small_report.totals.to_place, large_report.totals.to_place) == (4, 40)


GROUP_REPORT_QUERIES = 4


def test_the_query_count_for_a_group_does_not_grow_with_members(
    make_enterprise, make_worker, place, django_assert_num_queries
):
    group = make_enterprise(name="测试集团")
    for members in (2, 20):
        while group.members.count() < members:
            member = make_enterprise(parent=group)
            place(make_worker(enterprise=member), datetime.date(2017, 3, 1))
        with django_assert_num_queries(GROUP_REPORT_QUERIES):
            report = report_for(group)
        assert report.totals.placed == members


def test_worker_list_filters_pending_placed_and_channel(enterprise, make_worker, place):
    waiting = make_worker(name="待安置甲")
    placed = make_worker(name="已安置乙")
    place(placed, datetime.date(2017, 3, 1), Channel.SELF_EMPLOYMENT)
    later = make_worker(name="七月安置丙")
    place(later, datetime.date(2017, 7, 1))

    def names(status):
        return [
            w.name
            for w in worker_list(
                enterprise=enterprise, as_of=JUNE_30_2017, status=status, user=SYSTEM
            )
        ]

    assert sorted(names("pending")) == sorted([waiting.name, later.name])
    assert names("placed") == [placed.name]
    assert names(Channel.SELF_EMPLOYMENT) == [placed.name]
    assert names(Channel.INTERNAL_TRANSFER) == []
    rows = {w.name: w for w in worker_list(enterprise=enterprise, as_of=JUNE_30_2017, user=SYSTEM)}
    assert rows[placed.name].current_channel == Channel.SELF_EMPLOYMENT
    assert rows[waiting.name].current_channel is None


def test_a_region_target_is_not_held_against_one_industry_of_it(
    taiyuan, make_enterprise, make_worker, place
):
    coal = make_enterprise(name="测试煤矿丙")
    steel = make_enterprise(name="测试钢铁厂", industry="steel")
    for enterprise in (coal, steel):
        for _ in range(5):
            place(make_worker(enterprise=enterprise), datetime.date(2017, 3, 1))
    AnnualTarget.objects.create(year=2017, region=taiyuan, workers=10)

    assert report_for(taiyuan).totals.target_completion == Decimal("100.0")
    coal_only = report_for(taiyuan, industry="coal")
    assert (coal_only.totals.placed_in_year, coal_only.totals.target) == (5, None)
    assert coal_only.totals.target_completion is None


def test_a_group_seen_in_part_is_not_measured_against_the_whole_target(
    make_enterprise, make_worker, place, yingze, make_user
):

    group = make_enterprise(name="测试集团")
    mine_here = make_enterprise(name="本县矿", parent=group)
    mine_elsewhere = make_enterprise(name="外县矿", parent=group, region=yingze)
    for enterprise in (mine_here, mine_elsewhere):
        place(make_worker(enterprise=enterprise), datetime.date(2017, 3, 1))
    AnnualTarget.objects.create(year=2017, enterprise=group, workers=4)
    county = make_user("county", region=group.region)

    assert report_for(group).totals.target_completion == Decimal("50.0")
    partial = report_for(group, user=county)
    assert (partial.totals.placed_in_year, partial.totals.target) == (1, None)
    assert [c.name for c in partial.children] == ["本县矿"]
