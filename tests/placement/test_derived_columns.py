"""The columns the write path keeps from the placements: Worker.placed_open_since (what the
"still waiting" filter reads) equals the earliest date of the worker's placements that never
ended, Placement.enterprise the worker's enterprise, after every write path; and the filters
built on them answer what the placements say."""

import datetime
import io
import itertools

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.actors import SYSTEM
from placement import services
from placement.demo_rosters import roster_rows, roster_xlsx
from placement.imports import roster_import
from placement.models import Placement, Worker

D = datetime.date


def expected_since() -> dict[int, datetime.date | None]:
    """The column as the placements define it, computed in Python."""
    since = dict.fromkeys(Worker.objects.values_list("pk", flat=True))
    for worker_id, placed_on in Placement.objects.filter(ended_on__isnull=True).values_list(
        "worker_id", "placed_on"
    ):
        if since[worker_id] is None or placed_on < since[worker_id]:
            since[worker_id] = placed_on
    return since


def stored_since() -> dict[int, datetime.date | None]:
    return dict(Worker.objects.values_list("pk", "placed_open_since"))


def assert_derived():
    assert stored_since() == expected_since()
    copies = list(Placement.objects.values_list("enterprise_id", "worker__enterprise_id"))
    assert all(copy == actual for copy, actual in copies), copies


def in_force(placements, day) -> bool:
    return any(p <= day and (e is None or e > day) for p, e in placements)


def test_each_placement_write_keeps_the_column(make_worker, place):
    worker = make_worker()
    assert stored_since()[worker.pk] is None
    flexible = place(worker, D(2016, 3, 1), channel="flexible_employment")
    assert stored_since()[worker.pk] == D(2016, 3, 1)
    later = place(worker, D(2017, 5, 2), channel="public_welfare_post")
    assert stored_since()[worker.pk] == D(2016, 3, 1)
    services.placement_end(placement=flexible, ended_on=D(2016, 9, 1), actor=SYSTEM)
    assert stored_since()[worker.pk] == D(2017, 5, 2)
    later.placed_on = D(2016, 12, 1)
    services.placement_save(placement=later, actor=SYSTEM)
    assert stored_since()[worker.pk] == D(2016, 12, 1)
    services.placement_delete(placement=later, actor=SYSTEM)
    assert stored_since()[worker.pk] is None
    again = place(worker, D(2018, 1, 1))
    services.placements_delete(placements=Placement.objects.filter(pk=again.pk), actor=SYSTEM)
    assert stored_since() == expected_since() == {worker.pk: None}
    assert_derived()


def test_a_stale_worker_saved_after_a_placement_does_not_clear_it(make_worker, place):
    worker = make_worker()
    stale = Worker.objects.get(pk=worker.pk)  # a form loaded before the placement was added
    place(worker, D(2016, 3, 1))
    services.worker_correct(worker=stale, name="改名", actor=SYSTEM)
    assert stored_since()[worker.pk] == D(2016, 3, 1)


def test_imports_and_the_demo_keep_the_column(enterprise):
    rows = roster_rows(40, seed=5)
    first = roster_import(
        data=roster_xlsx(rows), filename="r.xlsx", enterprise=enterprise, user=SYSTEM
    )
    assert not first.errors and first.created == 40
    assert_derived()
    assert any(since is not None for since in stored_since().values())
    assert any(since is None for since in stored_since().values())
    # A re-import that places the unplaced and moves others to a later channel.
    for index, row in enumerate(rows):
        if index % 3 == 0:
            row[10], row[11] = "灵活就业", D(2019, 3, 1)
    again = roster_import(
        data=roster_xlsx(rows), filename="r.xlsx", enterprise=enterprise, user=SYSTEM
    )
    assert not again.errors and again.updated
    assert_derived()

    from placement.demo import demo_build

    demo_build(workers=60, seed=11)
    assert Worker.objects.count() > 40
    assert_derived()


def test_a_moved_worker_takes_their_placements_along(make_worker, make_enterprise, place):
    worker = make_worker()
    place(worker, D(2016, 3, 1))
    place(worker, D(2017, 3, 1))
    other = make_enterprise(name="另一测试矿")
    services.worker_correct(worker=worker, enterprise=other, actor=SYSTEM)
    assert set(Placement.objects.values_list("enterprise_id", flat=True)) == {other.pk}
    assert_derived()


def test_the_refresh_command_repairs_a_write_around_the_services(
    make_worker, make_enterprise, place
):
    worker = make_worker()
    place(worker, D(2016, 3, 1))
    other = make_enterprise(name="另一测试矿")
    # Raw writes, as a repair by hand would be.
    Worker.objects.filter(pk=worker.pk).update(placed_open_since=None, enterprise=other)
    call_command("refresh_report_facts", stdout=io.StringIO())
    assert stored_since()[worker.pk] == D(2016, 3, 1)
    assert_derived()


def test_pending_and_placed_answer_what_the_placements_say_on_every_day(make_worker, place):
    """Every combination of up to two placements, open or ended, checked on every day that
    matters (before, on and after each date) against the definition."""
    spans = [
        (D(2016, 3, 1), None),
        (D(2016, 3, 1), D(2016, 9, 1)),
        (D(2016, 9, 1), None),
        (D(2017, 1, 1), D(2017, 6, 1)),
        (D(2016, 6, 1), D(2016, 9, 1)),
    ]
    workers = {}
    for combination in itertools.chain(
        [()], itertools.combinations(spans, 1), itertools.combinations(spans, 2)
    ):
        worker = make_worker()
        for placed_on, ended_on in combination:
            place(worker, placed_on, ended_on=ended_on)
        workers[worker.pk] = combination
    dates = {d for span in spans for d in span if d is not None}
    days = sorted({day + datetime.timedelta(days=delta) for day in dates for delta in (-1, 0, 1)})
    for day in days:
        pending = set(Worker.objects.pending_on(day).values_list("pk", flat=True))
        placed = set(Worker.objects.placed_on(day).values_list("pk", flat=True))
        want = {pk for pk, combination in workers.items() if in_force(combination, day)}
        assert placed == want, day
        assert pending == set(workers) - want, day


@pytest.mark.parametrize("size", [3, 30])
def test_the_pending_count_is_one_query_whatever_the_size(make_worker, place, size):
    for index in range(size):
        worker = make_worker()
        if index % 3:
            place(worker, D(2016, 3, 1))
    with CaptureQueriesContext(connection) as queries:
        count = Worker.objects.pending_on(D(2020, 1, 1)).count()
    assert count == len(range(0, size, 3))
    assert len(queries) == 1


def _register(enterprise, count: int, first_seq: int) -> None:
    from placement import idnumbers
    from tests.conftest import synthetic_id

    workers, placements = [], []
    for i in range(count):
        number = synthetic_id(seq=first_seq + i)
        worker = Worker(
            enterprise=enterprise,
            name=f"批量{i}",
            sex="M",
            birth_date=D(1970, 5, 1),
            registered_on=D(2016, 7, 1),
            id_number_digest=idnumbers.digest(number),
            id_number_cipher=idnumbers.encrypt(number),
        )
        workers.append(worker)
        placements.append(
            Placement(worker=worker, channel="internal_transfer", placed_on=D(2017, 3, 1))
        )
    services.workers_bulk_register(batches=[(workers, placements)], actor=SYSTEM, source="test")


def test_bulk_registration_writes_the_copies_without_reading_a_worker_back(enterprise):
    """The demo's path: the placements' enterprise comes from the worker objects in hand (a
    query per placement made the 100,000-worker seed three times slower)."""
    counts = []
    for count, first_seq in ((3, 100), (30, 200)):
        with CaptureQueriesContext(connection) as queries:
            _register(enterprise, count, first_seq)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert_derived()
    assert set(stored_since().values()) == {D(2017, 3, 1)}
