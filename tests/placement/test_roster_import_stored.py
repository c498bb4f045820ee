"""A roster that holds a good share of its enterprise's stored workers is compared with all of
them read at once, while calamine builds the sheet, instead of being looked up number by number a
batch at a time: the answer is the same either way, a number registered with another enterprise
is still found, and the workers' table is read the same few times whatever the file's size.
Files of a dozen rows stand for large ones here (STORED_WHOLE_MIN_ROWS, PROGRESS_EVERY)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.actors import SYSTEM
from placement import imports
from placement.demo_rosters import roster_rows, roster_xlsx
from placement.imports import roster_import
from placement.models import Worker


@pytest.fixture
def read_whole(monkeypatch):
    """Files of three rows or more read the enterprise's workers at once; chunks of three."""
    monkeypatch.setattr(imports, "STORED_WHOLE_MIN_ROWS", 3)
    monkeypatch.setattr("spreadsheets.resources.PROGRESS_EVERY", 3)


def run(enterprise, rows, **kwargs):
    return roster_import(
        data=roster_xlsx(rows), filename="roster.xlsx", enterprise=enterprise, user=SYSTEM, **kwargs
    )


def answer(result):
    return (
        [(e.row, e.column, e.message) for e in result.errors],
        (result.created, result.updated, result.unchanged),
        [(c.row, c.kind, c.fields) for c in result.changes],
    )


def edited(rows):
    """The roster with two names corrected, one post changed and two new workers."""
    rows = [list(row) for row in rows]
    rows[1][1] += "改"
    rows[5][1] += "改"
    rows[8][6] = "后勤"
    return rows + [list(row) for row in roster_rows(14, seed=41)[12:]]


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_file_compared_with_the_workers_read_at_once_is_answered_as_one_looked_up(
    enterprise, monkeypatch, dry_run
):
    rows = roster_rows(12, seed=3)
    assert run(enterprise, rows).imported
    monkeypatch.setattr("spreadsheets.resources.PROGRESS_EVERY", 3)
    by_batch = answer(run(enterprise, edited(rows), dry_run=True))
    monkeypatch.setattr(imports, "STORED_WHOLE_MIN_ROWS", 3)
    result = run(enterprise, edited(rows), dry_run=dry_run)
    assert answer(result)[0] == [] and result.imported is not dry_run
    assert result.created == 2 and result.updated == 3 and result.unchanged == 9
    if dry_run:
        assert answer(result) == by_batch
    else:
        names = set(Worker.objects.filter(enterprise=enterprise).values_list("name", flat=True))
        assert {rows[1][1] + "改", rows[5][1] + "改"} <= names
        assert Worker.objects.filter(enterprise=enterprise).count() == 14


def test_a_number_registered_with_another_enterprise_is_still_refused(
    enterprise, make_enterprise, read_whole
):
    other = make_enterprise(name="测试煤矿乙")
    rows = roster_rows(12, seed=3)
    assert run(other, rows[:1]).imported
    assert run(enterprise, rows[1:]).imported
    result = run(enterprise, rows)
    assert [(e.row, e.column) for e in result.errors] == [(4, "身份证号码")]
    assert "测试煤矿乙" in result.errors[0].message
    assert Worker.objects.filter(enterprise=enterprise).count() == 11


def worker_reads(enterprise, rows) -> int:
    with CaptureQueriesContext(connection) as queries:
        result = run(enterprise, rows, dry_run=True)
    assert result.errors == []
    return sum(1 for q in queries.captured_queries if 'FROM "placement_worker"' in q["sql"])


def test_the_workers_table_is_read_as_often_for_a_file_twice_the_size(
    enterprise, make_enterprise, read_whole
):
    rows = roster_rows(24, seed=3)
    assert run(enterprise, rows).imported
    # 24 and 12 rows, all stored: 8 and 4 chunks, the same reads of the workers' table.
    small = make_enterprise(name="测试煤矿丙")
    assert run(small, roster_rows(12, seed=77)).imported
    assert worker_reads(enterprise, rows) == worker_reads(small, roster_rows(12, seed=77))


def test_a_small_file_for_a_large_enterprise_looks_its_numbers_up(enterprise, read_whole):
    rows = roster_rows(16, seed=3)
    assert run(enterprise, rows).imported
    assert not imports._EnterpriseStored.worth_reading(enterprise, 3)  # 16 > 4 × 3
    assert imports._EnterpriseStored.worth_reading(enterprise, 4)
    result = run(enterprise, rows[:3], dry_run=True)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)


def moved_during_import(enterprise, other, rows, move, **kwargs):
    """Import `rows` (a re-import) with the stored worker of row 14 moved to `other` by `move`
    between the file's first chunks, as another session's commit would show it."""
    from placement import idnumbers

    number = idnumbers.parse(rows[10][2]).number
    worker = Worker.objects.get(id_number_digest=idnumbers.digest(number))

    def progress(count):
        if count == 3:
            move(worker.pk, other.pk)

    result = run(enterprise, rows, progress=progress, **kwargs)
    worker.refresh_from_db()
    return result, worker


def same_session_move(worker_id, enterprise_id):
    """The move inside the import's own transaction (SQLite has no second session): undone with
    it when the import is refused as a whole."""
    Worker.objects.filter(pk=worker_id).update(enterprise_id=enterprise_id)


@pytest.mark.parametrize("whole", [False, True])
@pytest.mark.parametrize("change", ["post", "placement"])
def test_a_worker_moved_away_during_an_import_is_never_written_as_the_enterprises(
    enterprise, make_enterprise, monkeypatch, whole, change
):
    """Read at once before the first batch, the worker still looks like the enterprise's: the
    write finds them moved (and holds the others until it commits), and nothing is written."""
    other = make_enterprise(name="测试煤矿乙")
    rows = [list(row) for row in roster_rows(12, seed=3)]
    rows[10][10:13] = ["", None, ""]
    assert run(enterprise, rows).imported
    monkeypatch.setattr("spreadsheets.resources.PROGRESS_EVERY", 3)
    if whole:
        monkeypatch.setattr(imports, "STORED_WHOLE_MIN_ROWS", 3)
    if change == "post":
        rows[10][6] = "后勤"
    else:
        rows[10][10:12] = ["灵活就业", "2018-03-01"]
    result, worker = moved_during_import(enterprise, other, rows, same_session_move)
    assert result.errors and not result.imported
    assert worker.post != "后勤"
    assert not worker.placements.exclude(enterprise_id=worker.enterprise_id).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="another session's commit")
@pytest.mark.django_db(transaction=True)
def test_a_move_committed_by_another_session_during_an_import_refuses_the_file(
    make_enterprise, monkeypatch
):
    from django.db import DEFAULT_DB_ALIAS, connections

    enterprise = make_enterprise(name="测试煤矿甲")
    other = make_enterprise(name="测试煤矿乙")
    rows = [list(row) for row in roster_rows(12, seed=3)]
    assert run(enterprise, rows).imported
    monkeypatch.setattr("spreadsheets.resources.PROGRESS_EVERY", 3)
    monkeypatch.setattr(imports, "STORED_WHOLE_MIN_ROWS", 3)
    rows[10][6] = "后勤"

    def committed_move(worker_id, enterprise_id):
        side = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with side.cursor() as cursor:  # autocommit: committed at once
                cursor.execute(
                    "UPDATE placement_worker SET enterprise_id = %s WHERE id = %s",
                    [enterprise_id, worker_id],
                )
        finally:
            side.close()

    result, worker = moved_during_import(enterprise, other, rows, committed_move)
    assert [e.message for e in result.errors] == [str(imports.IMPORT_CONFLICT)]
    assert worker.enterprise_id == other.pk and worker.post != "后勤"
