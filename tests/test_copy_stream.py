"""database.bulk's COPY (PostgreSQL): lines sent in pieces as they are produced."""

import datetime

import pytest
from django.db import connection, transaction

from database import bulk
from reports.models import FactMonth

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")

COLUMNS = ["enterprise_id", "kind", "channel", "month", "net", "merged"]


def month_rows(enterprise, count):
    return [
        (enterprise.pk, "current", "", datetime.date(2000 + n // 12, n % 12 + 1, 1), n, False)
        for n in range(count)
    ]


def stored(enterprise):
    return list(
        FactMonth.objects.filter(enterprise=enterprise).order_by("net").values_list(*COLUMNS)
    )


def test_copy_sends_its_lines_in_pieces_and_stores_each_line_once(enterprise, monkeypatch):
    monkeypatch.setattr(bulk, "COPY_PIECE", 100)
    pieces = []
    read = bulk._Pieces.read

    def recorded(self, size=-1):
        data = read(self, size)
        pieces.append(data)
        return data

    monkeypatch.setattr(bulk._Pieces, "read", recorded)
    rows = month_rows(enterprise, 60)

    bulk.copy_rows(FactMonth._meta.db_table, COLUMNS, rows)

    assert stored(enterprise) == rows
    assert len(pieces) > 10 and pieces[-1] == ""  # read a piece at a time, then the end
    # Whole lines, each ended: none is cut between two pieces.
    assert all(piece.endswith("\n") and len(piece) >= 100 for piece in pieces[:-2])


def test_a_copy_whose_lines_fail_halfway_stores_nothing(enterprise, monkeypatch):
    monkeypatch.setattr(bulk, "COPY_PIECE", 100)
    rows = month_rows(enterprise, 60)

    def lines():
        for index, row in enumerate(rows):
            if index == 40:
                raise ValueError("a line that could not be made")
            yield bulk._copy_line(row)

    # The line's own error, not the server's report of it (an OperationalError, which a job
    # would retry as a lost connection).
    with pytest.raises(ValueError, match="could not be made"), transaction.atomic():
        bulk.copy_lines(FactMonth._meta.db_table, COLUMNS, lines())
    assert stored(enterprise) == []
    bulk.copy_rows(FactMonth._meta.db_table, COLUMNS, rows[:3])  # the connection goes on
    assert stored(enterprise) == rows[:3]


@pytest.mark.parametrize("count", [0, 1, 20])
def test_no_line_a_line_and_lines_ending_at_a_piece_boundary(enterprise, monkeypatch, count):
    rows = month_rows(enterprise, count)
    if rows:
        # Exactly two pieces' worth when count is 20.
        monkeypatch.setattr(bulk, "COPY_PIECE", 10 * (len(bulk._copy_line(rows[0])) + 1))
    bulk.copy_rows(FactMonth._meta.db_table, COLUMNS, rows)
    assert stored(enterprise) == rows


def test_an_interrupt_while_the_lines_are_made_stays_an_interrupt(enterprise, monkeypatch):
    """Ctrl-C on a worker stops it: not reported as the server's OperationalError, which a job
    would retry as transient."""
    monkeypatch.setattr(bulk, "COPY_PIECE", 100)
    rows = month_rows(enterprise, 30)

    def lines():
        for index, row in enumerate(rows):
            if index == 20:
                raise KeyboardInterrupt
            yield bulk._copy_line(row)

    with pytest.raises(KeyboardInterrupt), transaction.atomic():
        bulk.copy_lines(FactMonth._meta.db_table, COLUMNS, lines())
    assert stored(enterprise) == []
