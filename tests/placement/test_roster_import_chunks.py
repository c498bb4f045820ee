"""A roster import is read a chunk ahead in a second thread and written a chunk at a time while
the rest is still being read (spreadsheets.ahead): what the earlier chunks wrote is undone when
a later row turns out wrong, whatever kind of problem it is, and a good file ends as if it had
been written at once. The chunks are made small here (PROGRESS_EVERY, WRITE_EVERY) so that a
dozen rows take several."""

import threading

import pytest

from access.actors import SYSTEM
from placement import imports
from placement.demo_rosters import roster_rows, roster_xlsx
from placement.imports import roster_import
from placement.models import Placement, Worker
from reports.models import FactMonth, PlacementFact
from spreadsheets.readers import FILE_CORRUPT, ReadError


@pytest.fixture
def writes(monkeypatch):
    """Chunks of three rows, each written as soon as it is compared; the list of writes made."""
    monkeypatch.setattr("spreadsheets.resources.PROGRESS_EVERY", 3)
    monkeypatch.setattr(imports, "WRITE_EVERY", 3)
    made = []
    write = imports._roster_write

    def counted(**kwargs):
        made.append(len(kwargs["new_rows"]))
        return write(**kwargs)

    monkeypatch.setattr(imports, "_roster_write", counted)
    return made


def run(enterprise, rows, **kwargs):
    kwargs.setdefault("user", SYSTEM)
    return roster_import(
        data=roster_xlsx(rows), filename="roster.xlsx", enterprise=enterprise, **kwargs
    )


def nothing_stored():
    return {
        "workers": Worker.objects.count(),
        "placements": Placement.objects.count(),
        "worker history": Worker.history.count(),
        "placement history": Placement.history.count(),
        "facts": PlacementFact.objects.count(),
        "monthly sums": FactMonth.objects.count(),
    } == dict.fromkeys(
        ["workers", "placements", "worker history", "placement history", "facts", "monthly sums"],
        0,
    )


def test_a_good_file_written_in_chunks_ends_as_one_written_at_once(enterprise, writes):
    rows = roster_rows(12, seed=3)
    progress = []
    result = run(enterprise, rows, progress=progress.append)
    assert result.errors == [] and result.imported
    assert (result.created, result.updated, result.unchanged) == (12, 0, 0)
    assert len(writes) >= 3 and sum(writes) == 12  # written while the rest was read
    assert progress == [3, 6, 9, 12, 12]
    assert Worker.objects.filter(enterprise=enterprise).count() == 12
    assert Worker.history.count() == 12
    placed = sum(1 for row in rows if row[10])
    assert Placement.objects.count() == placed == Placement.history.count()
    assert PlacementFact.objects.filter(kind=PlacementFact.Kind.REGISTERED).count() == 12
    # The same file again: every row found, nothing written.
    again = run(enterprise, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 12)


def test_a_wrong_placement_in_the_last_chunk_undoes_the_chunks_written_before(enterprise, writes):
    rows = roster_rows(12, seed=3)
    rows[-1][10], rows[-1][11] = "内部安置", "2999-01-01"  # placed in the future
    result = run(enterprise, rows)
    assert [(e.row, e.column) for e in result.errors] == [(15, "安置时间")]
    assert not result.imported and result.changes == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
    assert sum(writes) >= 6  # the first chunks were written, then taken back
    assert nothing_stored()


def test_a_wrong_id_number_read_last_undoes_the_chunks_written_before(
    enterprise, writes, monkeypatch
):
    # The reading thread is held before it reads the last chunk until two chunks are written
    # (left to itself it reads all twelve rows before the first is compared).
    parse = imports._parse_roster
    written = imports._roster_write
    two_written = threading.Event()

    def write(**kwargs):
        written(**kwargs)
        if len(writes) >= 2:
            two_written.set()

    def held(*args, **kwargs):
        for index, chunk in enumerate(parse(*args, **kwargs)):
            if index == 2:
                assert two_written.wait(30)
            yield chunk

    monkeypatch.setattr(imports, "_roster_write", write)
    monkeypatch.setattr(imports, "_parse_roster", held)
    rows = roster_rows(12, seed=3)
    number = rows[-1][2]
    rows[-1][2] = number[:17] + ("0" if number[17] != "0" else "1")  # a wrong check digit
    result = run(enterprise, rows)
    assert [(e.row, e.column) for e in result.errors] == [(15, "身份证号码")]
    assert sum(writes) >= 6
    assert nothing_stored()


def test_a_file_that_breaks_half_way_undoes_what_was_written(enterprise, writes, monkeypatch):
    parse = imports._parse_roster

    def breaks_after_two_chunks(*args, **kwargs):
        for index, chunk in enumerate(parse(*args, **kwargs)):
            if index == 2:
                raise ReadError(FILE_CORRUPT)
            yield chunk

    monkeypatch.setattr(imports, "_parse_roster", breaks_after_two_chunks)
    result = run(enterprise, roster_rows(12, seed=3))
    assert [(e.row, e.message) for e in result.errors] == [(None, str(FILE_CORRUPT))]
    assert (result.created, result.changes) == (0, [])
    assert sum(writes) == 6
    assert nothing_stored()


def test_a_dry_run_in_chunks_writes_nothing_and_lists_every_row_in_order(enterprise, writes):
    result = run(enterprise, roster_rows(12, seed=3), dry_run=True)
    assert (result.created, [c.row for c in result.changes]) == (12, list(range(4, 16)))
    assert writes == [] and nothing_stored()


def test_the_rows_read_in_the_second_thread_are_answered_in_the_users_language(enterprise):
    from django.utils import translation

    from placement.idnumbers import ID_NUMBER_BAD_CHECK_DIGIT

    rows = roster_rows(3, seed=3)
    number = rows[1][2]
    rows[1][2] = number[:17] + ("0" if number[17] != "0" else "1")
    with translation.override("en"):
        result = run(enterprise, rows)
        expected = str(ID_NUMBER_BAD_CHECK_DIGIT)
    assert expected != str(ID_NUMBER_BAD_CHECK_DIGIT)  # an English text, not the Chinese
    assert [e.message for e in result.errors] == [expected]


def test_writes_taken_back_leave_no_commit_callbacks(
    enterprise, writes, settings, django_capture_on_commit_callbacks
):
    """What the undone chunks asked for at commit (their ANALYZE, the reports' cache) goes with
    them: a bare savepoint's rollback left it, and the commit of the refused file ran it."""
    settings.LEDGER_ANALYZE_AFTER_ROWS = 1
    rows = roster_rows(12, seed=4)
    rows[-1][10], rows[-1][11] = "内部安置", "2999-01-01"
    with django_capture_on_commit_callbacks() as callbacks:
        result = run(enterprise, rows)
    assert result.errors and sum(writes) >= 6
    assert callbacks == []
    # The same chunks written for good do ask (so the list above was not empty by chance).
    with django_capture_on_commit_callbacks() as kept:
        good = run(enterprise, roster_rows(12, seed=3))
    assert good.imported and kept
