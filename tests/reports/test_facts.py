import datetime
import random
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.actors import SYSTEM
from placement.channels import Channel
from placement.models import Placement, Worker
from placement.services import (
    placement_delete,
    placement_end,
    placements_delete,
    worker_correct,
)
from reports.facts import month_changes, report_facts_rebuild, worker_facts
from reports.models import FactMonth, PlacementFact
from reports.selectors import Scope, placement_report

from .conftest import bulk_place, bulk_workers

D = datetime.date


def spans(facts):
    return [(f.channel, f.start, f.end) for f in facts if f.kind == PlacementFact.Kind.CURRENT]


def test_a_short_placement_inside_a_longer_one_splits_the_current_span():
    facts = worker_facts(
        worker_id=1,
        enterprise_id=1,
        registered_on=D(2017, 1, 1),
        placements=[
            (1, "internal_transfer", D(2017, 2, 1), None),
            (2, "flexible_employment", D(2017, 3, 1), D(2017, 4, 1)),
        ],
    )

    assert spans(facts) == [
        ("internal_transfer", D(2017, 2, 1), D(2017, 3, 1)),
        ("flexible_employment", D(2017, 3, 1), D(2017, 4, 1)),
        ("internal_transfer", D(2017, 4, 1), None),
    ]
    assert [f.start for f in facts if f.kind == PlacementFact.Kind.FIRST_IN_YEAR] == [D(2017, 2, 1)]


def test_a_placement_before_registration_counts_from_registration():
    facts = worker_facts(
        worker_id=1,
        enterprise_id=1,
        registered_on=D(2017, 5, 1),
        placements=[(1, "self_employment", D(2017, 2, 1), None)],
    )

    assert spans(facts) == [("self_employment", D(2017, 5, 1), None)]


def test_two_placements_on_the_same_day_take_the_later_id():
    facts = worker_facts(
        worker_id=1,
        enterprise_id=1,
        registered_on=D(2016, 1, 1),
        placements=[
            (7, "outside_diversion", D(2017, 2, 1), None),
            (9, "self_employment", D(2017, 2, 1), None),
            (8, "entrepreneurship", D(2016, 2, 1), D(2016, 3, 1)),
        ],
    )

    assert spans(facts) == [
        ("entrepreneurship", D(2016, 2, 1), D(2016, 3, 1)),
        ("self_employment", D(2017, 2, 1), None),
    ]
    firsts = sorted(f.start for f in facts if f.kind == PlacementFact.Kind.FIRST_IN_YEAR)
    assert firsts == [D(2016, 2, 1), D(2017, 2, 1)]


def test_facts_agree_with_the_ledger_on_random_histories_for_any_date(province, make_worker, place):
    rng = random.Random(4)
    channels = [c for c in Channel.values if c != Channel.INTERNAL_RETIREMENT]
    for _ in range(40):
        worker = make_worker(registered_on=D(2016, 1, 1) + datetime.timedelta(rng.randrange(500)))
        day = D(2016, 1, 1)
        for _ in range(rng.randrange(4)):
            day += datetime.timedelta(days=rng.randrange(1, 200))
            ended = day + datetime.timedelta(rng.randrange(1, 150)) if rng.random() < 0.5 else None
            place(worker, day, rng.choice(channels), ended)
    scope = Scope(region=province)

    days = [D(2016, 1, 1) + datetime.timedelta(days=d) for d in range(0, 900, 37)]
    # Month ends too: there the counts are the monthly sums alone (29 February, 31 December).
    days += [D(2016 + m // 12, m % 12 + 1, 1) - datetime.timedelta(days=1) for m in range(1, 30, 4)]
    days += [D(2016, 2, 29), D(2016, 12, 31), D(2017, 12, 31), D(2017, 1, 1)]
    for as_of in days:
        report = placement_report(scope=scope, year=as_of.year, as_of=as_of, user=SYSTEM)
        registered = Worker.objects.filter(registered_on__lte=as_of)
        placed = registered.placed_on(as_of)
        in_year = (
            Placement.objects.filter(placed_on__year=as_of.year, placed_on__lte=as_of)
            .values("worker")
            .distinct()
        )
        assert report.totals.to_place == registered.count()
        assert report.totals.placed == placed.count()
        assert report.totals.placed_in_year == in_year.count()
        latest = {}
        for worker in placed:
            latest[worker.pk] = worker.current_placement(as_of).channel
        for row in report.channels:
            assert row.placed == list(latest.values()).count(row.code), (as_of, row.code)


def test_placed_during_the_year_by_month_agrees_with_the_ledger_for_any_year_and_date(
    province, make_worker, place
):
    """Each month's cumulative count of workers first placed in the year, for the year of the
    as-of date, the year before (as of a later date) and the year after (not begun)."""
    rng = random.Random(7)
    for _ in range(30):
        worker = make_worker(registered_on=D(2016, 1, 1) + datetime.timedelta(rng.randrange(400)))
        day = D(2016, 1, 1)
        for _ in range(rng.randrange(4)):
            day += datetime.timedelta(days=rng.randrange(1, 150))
            place(worker, day, Channel.SELF_EMPLOYMENT)
    scope = Scope(region=province)
    for as_of in (D(2016, 2, 29), D(2016, 7, 13), D(2016, 12, 31), D(2017, 3, 31), D(2017, 8, 2)):
        for year in (as_of.year - 1, as_of.year, as_of.year + 1):
            report = placement_report(scope=scope, year=year, as_of=as_of, user=SYSTEM)
            expected = []
            for point in report.months:
                placed = Placement.objects.filter(
                    placed_on__year=year, placed_on__lte=point.day
                ).values("worker")
                expected.append(placed.distinct().count())
            assert [point.cumulative for point in report.months] == expected, (year, as_of)
            assert report.totals.placed_in_year == (expected[-1] if expected else 0)


def test_a_report_as_of_the_last_representable_day_is_computed(province, make_worker, place):
    place(make_worker(), D(2017, 2, 1))

    report = placement_report(
        scope=Scope(region=province), year=2017, as_of=D(9999, 12, 31), user=SYSTEM
    )

    assert (report.totals.to_place, report.totals.placed) == (1, 1)


def test_workers_written_in_bulk_count_in_the_next_report(province, enterprise):
    workers = bulk_workers(enterprise=enterprise, count=5, registered_on=D(2017, 1, 4))
    bulk_place(workers[:3], on=D(2017, 2, 1))

    report = placement_report(
        scope=Scope(region=province), year=2017, as_of=D(2017, 6, 30), user=SYSTEM
    )

    assert (report.totals.to_place, report.totals.placed) == (5, 3)


def test_an_ended_placement_and_a_changed_registration_show_in_the_next_report(
    province, make_worker, place
):
    worker = make_worker()
    placement = place(worker, D(2017, 2, 1), Channel.FLEXIBLE_EMPLOYMENT)
    scope = Scope(region=province)
    assert (
        placement_report(scope=scope, year=2017, as_of=D(2017, 6, 30), user=SYSTEM).totals.placed
        == 1
    )

    placement_end(placement=placement, ended_on=D(2017, 5, 1), actor=SYSTEM)
    assert (
        placement_report(scope=scope, year=2017, as_of=D(2017, 6, 30), user=SYSTEM).totals.placed
        == 0
    )

    worker_correct(worker=worker, registered_on=D(2017, 8, 1), actor=SYSTEM)
    report = placement_report(scope=scope, year=2017, as_of=D(2017, 6, 30), user=SYSTEM)
    assert report.totals.to_place == 0


def test_a_deleted_placement_leaves_no_fact_behind(province, make_worker, place):
    placement = place(make_worker(), D(2017, 2, 1))
    scope = Scope(region=province)
    assert (
        placement_report(scope=scope, year=2017, as_of=D(2017, 6, 30), user=SYSTEM).totals.placed
        == 1
    )

    placement_delete(placement=placement, actor=SYSTEM)

    report = placement_report(scope=scope, year=2017, as_of=D(2017, 6, 30), user=SYSTEM)
    assert (report.totals.placed, report.totals.placed_in_year) == (0, 0)


def test_deleting_a_worker_or_an_enterprise_deletes_their_facts(make_enterprise, make_worker):
    """The facts' keys have no constraint in the database: Django's on_delete removes them."""
    from enterprises.models import Enterprise
    from placement.services import worker_delete

    kept, deleted = make_worker(), make_worker()
    closed = make_enterprise(name="关闭测试矿")
    make_worker(enterprise=closed)
    assert PlacementFact.objects.filter(worker=deleted).exists()

    worker_delete(worker=deleted, actor=SYSTEM)
    Worker.objects.filter(enterprise=closed).delete()
    Enterprise.objects.filter(pk=closed.pk).delete()

    assert set(PlacementFact.objects.values_list("worker_id", flat=True)) == {kept.pk}
    assert not PlacementFact.objects.filter(enterprise_id=closed.pk).exists()


def test_a_report_reads_the_facts_without_a_lock_or_a_write(
    province, make_worker, place, django_assert_num_queries
):
    for _ in range(3):
        place(make_worker(), D(2017, 2, 1))

    with CaptureQueriesContext(connection) as queries:
        report = placement_report(
            scope=Scope(region=province), year=2017, as_of=D(2017, 6, 30), user=SYSTEM
        )

    assert report.totals.placed == 3
    statements = [query["sql"].lstrip().split()[0].upper() for query in queries]
    assert set(statements) == {"SELECT"}
    assert not [query for query in queries if "FOR UPDATE" in query["sql"].upper()]


def test_a_placement_writes_its_worker_facts_in_its_own_transaction(make_worker, place):
    worker = make_worker()

    with transaction.atomic():
        place(worker, D(2017, 2, 1), Channel.SELF_EMPLOYMENT)
        # Before the commit: the facts are part of the change itself.
        facts = sorted(
            PlacementFact.objects.filter(worker=worker).values_list("kind", "channel", "start")
        )

    assert facts == [
        (PlacementFact.Kind.CURRENT, Channel.SELF_EMPLOYMENT, D(2017, 2, 1)),
        (PlacementFact.Kind.FIRST_IN_YEAR, "", D(2017, 2, 1)),
        (PlacementFact.Kind.REGISTERED, "", D(2016, 1, 4)),
    ]


def test_a_rebuild_gives_the_same_facts(make_worker, place):
    worker = make_worker()
    place(worker, D(2017, 2, 1), Channel.FLEXIBLE_EMPLOYMENT, D(2017, 3, 1))
    place(worker, D(2017, 3, 1), Channel.PUBLIC_WELFARE_POST)
    before = sorted(PlacementFact.objects.values_list("kind", "channel", "start", "end"))

    report_facts_rebuild()

    assert sorted(PlacementFact.objects.values_list("kind", "channel", "start", "end")) == before
    assert len(before) == 4  # registered, two current spans, first in 2017


@pytest.mark.django_db
def test_refresh_report_facts_command_rebuilds(make_worker, place):
    from io import StringIO

    from django.core.management import call_command

    place(make_worker(), D(2017, 2, 1))
    out = StringIO()
    call_command("refresh_report_facts", stdout=out)

    assert PlacementFact.objects.count() == 3
    assert "rebuilt for 1 workers" in out.getvalue()


def test_an_import_that_changes_a_placement_in_bulk_refreshes_the_report(
    enterprise, django_capture_on_commit_callbacks
):
    from placement.demo_rosters import roster_rows, roster_xlsx
    from placement.imports import roster_import

    rows = roster_rows(1, seed=5, placed_share=1.0)
    channel_column, date_column = 10, 11
    rows[0][channel_column], rows[0][date_column] = "内部安置", D(2017, 3, 1)

    def channels():
        # Imported workers are registered on the day of the import: report as of today.
        today = timezone.localdate()
        report = placement_report(
            scope=Scope(enterprise=enterprise), year=today.year, as_of=today, user=SYSTEM
        )
        return {row.code: row.placed for row in report.channels if row.placed}

    with django_capture_on_commit_callbacks(execute=True):
        roster_import(data=roster_xlsx(rows), filename="r.xlsx", enterprise=enterprise, user=SYSTEM)
    assert channels() == {Channel.INTERNAL_TRANSFER: 1}

    rows[0][channel_column] = "灵活就业"  # same date: the placement is updated in bulk
    with django_capture_on_commit_callbacks(execute=True):
        result = roster_import(
            data=roster_xlsx(rows), filename="r.xlsx", enterprise=enterprise, user=SYSTEM
        )
    assert result.updated == 1
    assert channels() == {Channel.FLEXIBLE_EMPLOYMENT: 1}


def test_a_failed_refresh_of_the_facts_undoes_the_write(make_worker, place, monkeypatch):
    from reports import facts

    worker = make_worker()

    def broken(**kwargs):
        raise RuntimeError("lost connection")

    monkeypatch.setattr(facts, "report_facts_refresh", broken)
    with pytest.raises(RuntimeError):
        place(worker, D(2017, 2, 1), Channel.SELF_EMPLOYMENT)

    # Never a placement without its facts: the two commit or roll back together.
    assert not Placement.objects.exists()
    assert not PlacementFact.objects.filter(worker=worker, kind="current").exists()


def test_workers_inserted_by_an_import_have_their_facts_when_it_commits(enterprise):
    from placement.demo_rosters import roster_rows, roster_xlsx
    from placement.imports import roster_import

    roster_import(
        data=roster_xlsx(roster_rows(3, seed=2, placed_share=1.0)),
        filename="r.xlsx",
        enterprise=enterprise,
        user=SYSTEM,
    )

    assert PlacementFact.objects.filter(kind="registered").count() == 3
    assert PlacementFact.objects.filter(kind="current").count() == 3


def test_a_deletion_of_many_placements_refreshes_the_facts_once(make_worker, place, monkeypatch):
    from reports import facts

    for _ in range(20):
        place(make_worker(), D(2017, 2, 1))
    calls = []
    refresh = facts.report_facts_refresh

    def counted(*, worker_ids):
        calls.append(set(worker_ids))
        return refresh(worker_ids=worker_ids)

    monkeypatch.setattr(facts, "report_facts_refresh", counted)

    placements_delete(placements=Placement.objects.all(), actor=SYSTEM)

    assert len(calls) == 1 and len(calls[0]) == 20
    assert not PlacementFact.objects.filter(kind="current").exists()


def test_the_facts_of_one_open_placement_are_those_of_the_general_rule():
    from reports.facts import _fact_rows, fact_rows

    days = [D(2016, 12, 31), D(2017, 1, 1), D(2017, 1, 2), D(2018, 6, 30)]
    for registered_on in days:
        assert fact_rows(registered_on=registered_on, placements=[]) == _fact_rows(
            registered_on=registered_on, placements=[]
        )
        for placed_on in days:
            placements = [(7, Channel.SELF_EMPLOYMENT, placed_on, None)]
            assert fact_rows(registered_on=registered_on, placements=placements) == _fact_rows(
                registered_on=registered_on, placements=placements
            ), (registered_on, placed_on)


def stored_months():
    """The monthly sums as a report reads them: the rows of each key summed."""
    sums = Counter()
    for row in FactMonth.objects.all():
        sums[(row.enterprise_id, row.kind, row.channel, row.month)] += row.net
    return {key: net for key, net in sums.items() if net}


def months_of_the_facts():
    facts = PlacementFact.objects.values_list(
        "worker_id", "enterprise_id", "kind", "channel", "start", "end"
    )
    return {key: net for key, net in month_changes(facts).items() if net}


def test_the_monthly_sums_follow_every_write_of_the_ledger(
    make_enterprise, make_worker, place, django_capture_on_commit_callbacks
):
    """Whatever writes the ledger (one placement, an end, a correction, a move to another
    enterprise, deletions, an import in bulk), FactMonth stays the monthly sum of the facts."""
    from placement.demo_rosters import roster_rows, roster_xlsx
    from placement.imports import roster_import
    from placement.services import worker_delete, worker_save

    other = make_enterprise(name="月度汇总测试矿")
    workers = [make_worker() for _ in range(4)]
    first = place(workers[0], D(2017, 1, 31), Channel.FLEXIBLE_EMPLOYMENT)
    place(workers[1], D(2017, 2, 1), Channel.SELF_EMPLOYMENT, D(2017, 4, 1))
    place(workers[1], D(2017, 4, 1), Channel.PUBLIC_WELFARE_POST)
    assert stored_months() == months_of_the_facts() != {}

    placement_end(placement=first, ended_on=D(2017, 3, 15), actor=SYSTEM)
    assert stored_months() == months_of_the_facts()
    worker_correct(worker=workers[2], registered_on=D(2016, 11, 30), actor=SYSTEM)
    assert stored_months() == months_of_the_facts()
    workers[1].enterprise = other
    worker_save(worker=workers[1], actor=SYSTEM)
    assert stored_months() == months_of_the_facts()
    assert {key[0] for key in stored_months()} == {workers[0].enterprise_id, other.pk}
    placement_delete(placement=first, actor=SYSTEM)
    worker_delete(worker=workers[3], actor=SYSTEM)
    assert stored_months() == months_of_the_facts()
    with django_capture_on_commit_callbacks(execute=True):
        roster_import(
            data=roster_xlsx(roster_rows(30, seed=9, placed_share=0.8)),
            filename="r.xlsx",
            enterprise=other,
            user=SYSTEM,
        )
    assert stored_months() == months_of_the_facts()
    assert sum(n for (e, kind, *_), n in stored_months().items() if kind == "registered") == 33

    FactMonth.objects.all().delete()
    report_facts_rebuild()
    assert stored_months() == months_of_the_facts()


def test_compaction_leaves_one_row_per_month_and_the_same_sums(make_worker, place):
    """The writes append rows (never update one); compaction merges each key's rows."""
    from reports.facts import fact_months_compact

    worker = make_worker()
    placement = place(worker, D(2017, 2, 1), Channel.FLEXIBLE_EMPLOYMENT)
    for day in (D(2017, 5, 1), D(2017, 6, 1), D(2017, 7, 1)):
        placement_end(placement=placement, ended_on=day, actor=SYSTEM)
    sums = stored_months()
    rows = FactMonth.objects.count()
    keys = FactMonth.objects.values("enterprise", "kind", "channel", "month").distinct().count()
    assert rows > keys  # each write appended its changes

    assert fact_months_compact() == rows - len(sums)

    assert stored_months() == sums == months_of_the_facts()
    assert FactMonth.objects.count() == len(sums)
    assert not FactMonth.objects.filter(net=0).exists()
    assert not FactMonth.objects.filter(merged=False).exists()
    assert fact_months_compact() == 0


def test_compaction_rewrites_only_the_enterprises_written_since(
    make_enterprise, make_worker, place
):
    from reports.facts import fact_months_compact

    other = make_enterprise(name="未再写入的矿")
    place(make_worker(), D(2017, 2, 1), Channel.FLEXIBLE_EMPLOYMENT)
    place(make_worker(enterprise=other), D(2017, 2, 1), Channel.FLEXIBLE_EMPLOYMENT)
    fact_months_compact()
    untouched = set(FactMonth.objects.filter(enterprise=other).values_list("pk", flat=True))
    written = make_worker()

    place(written, D(2017, 3, 1), Channel.SELF_EMPLOYMENT)
    appended = FactMonth.objects.filter(merged=False)
    assert set(appended.values_list("enterprise", flat=True)) == {written.enterprise_id}

    fact_months_compact()
    assert set(FactMonth.objects.filter(enterprise=other).values_list("pk", flat=True)) == untouched
    assert stored_months() == months_of_the_facts()


def test_a_span_ending_in_the_month_of_the_as_of_date_counts_until_its_end(
    province, make_worker, place
):
    """The as-of date's own month is read from the facts: a span that ends in it counts up to
    the day before its end, one that starts in it from its first day."""
    ended, started = make_worker(), make_worker()
    place(ended, D(2017, 2, 10), Channel.FLEXIBLE_EMPLOYMENT, D(2017, 6, 16))
    place(started, D(2017, 6, 16), Channel.SELF_EMPLOYMENT)
    scope = Scope(region=province)

    def placed(day):
        report = placement_report(scope=scope, year=2017, as_of=day, user=SYSTEM)
        return {row.code: row.placed for row in report.channels if row.placed}

    assert placed(D(2017, 5, 31)) == {Channel.FLEXIBLE_EMPLOYMENT: 1}
    assert placed(D(2017, 6, 15)) == {Channel.FLEXIBLE_EMPLOYMENT: 1}
    assert placed(D(2017, 6, 16)) == {Channel.SELF_EMPLOYMENT: 1}
    assert placed(D(2017, 6, 30)) == {Channel.SELF_EMPLOYMENT: 1}
    report = placement_report(scope=scope, year=2017, as_of=D(2017, 6, 15), user=SYSTEM)
    assert report.totals.months == [0, 1, 1, 1, 1, 1]
    report = placement_report(scope=scope, year=2017, as_of=D(2017, 6, 16), user=SYSTEM)
    assert report.totals.months == [0, 1, 1, 1, 1, 2]


def test_the_monthly_sums_counted_as_facts_pass_are_those_of_month_changes():
    """report_facts_add counts the sums while COPY reads the facts (reports.facts
    _MonthsCounted): ended spans included, and every fact passed on once."""
    import random

    from reports.facts import _MonthsCounted

    rng = random.Random(7)
    facts = []
    for worker in range(2000):
        start = D(2016, 1, 1) + datetime.timedelta(days=rng.randrange(1500))
        end = start + datetime.timedelta(days=rng.randrange(1, 400)) if rng.random() < 0.4 else None
        kind = rng.choice(["registered", "current", "first_in_year"])
        channel = rng.choice(["", Channel.SELF_EMPLOYMENT, Channel.FLEXIBLE_EMPLOYMENT])
        facts.append((worker, rng.randrange(1, 5), kind, channel, start, end))
    changes = Counter()
    counted = _MonthsCounted(iter(facts), changes)

    assert list(counted) == facts and counted.count == len(facts)
    assert changes == month_changes(facts)
