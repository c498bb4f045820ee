"""Planner statistics after bulk writes, for every app.

PostgreSQL plans a query from the statistics ANALYZE gathers. Autovacuum gathers them some time
after a bulk load, and until it does the planner guesses: on 500,000 freshly seeded workers the
province report took 12.1 s instead of 1.8 s. So whatever writes more than a few thousand rows
at once (the imports, the demo seeder, the report facts' refresh) asks for ANALYZE of the tables
it touched, in the same command or request, once its transaction has committed. SQLite accepts
the same statement (it fills sqlite_stat1); it matters less there.
"""

import threading

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction


def tables_analyze(*, models=(), rows: int | dict) -> bool:
    """After writing `rows` rows into the models' tables (one count for all the `models`, or
    {model: rows}), analyse those tables when the current transaction commits (at once outside
    one), once the rows written in it reach LEDGER_ANALYZE_AFTER_ROWS. Returns whether an
    ANALYZE was asked for.

    Within one transaction the rows and tables of every call add up, and each table is analysed
    once at commit: an import written in chunks asks after each chunk (ten ANALYZEs of the same
    four tables took 7 s of a 100,000-row import otherwise)."""
    # The rows written into each model's table: one count for all (as for the small tables the
    # facts' counts join, analysed with them), or {model: rows}.
    if isinstance(rows, dict):
        written = {model._meta.db_table: count for model, count in rows.items()}
        rows = sum(rows.values())
    else:
        written = {model._meta.db_table: rows for model in models}
    if not connection.in_atomic_block:
        if rows < settings.LEDGER_ANALYZE_AFTER_ROWS:
            return False
        _analyze(_due(written))
        return True
    tally = _tally()
    tally.rows += rows
    for table, count in written.items():
        tally.tables[table] = tally.tables.get(table, 0) + count
    if tally.rows < settings.LEDGER_ANALYZE_AFTER_ROWS:
        return False
    if not _registered(tally.analyze):
        # robust: statistics are an optimisation; a failure must not undo a committed import.
        transaction.on_commit(tally.analyze, robust=True)
    return True


class _Tally:
    """The rows and tables written in the current transaction."""

    def __init__(self):
        self.rows = 0
        self.tables: dict[str, int] = {}  # rows written into each

    def mark(self):
        """A commit callback that does nothing: while it is in the connection's list, this is
        the current transaction's tally."""

    def analyze(self):
        _analyze(_due(self.tables))


def _registered(callback) -> bool:
    """Whether `callback` waits for the current transaction's commit (a rollback, or the
    rollback of the savepoint it was registered in, drops it from the list)."""
    return any(waiting == callback for _sids, waiting, _robust in connection.run_on_commit)


def _tally() -> _Tally:
    tally = getattr(connection, "_ledger_analyze", None)
    if tally is None or not _registered(tally.mark):
        tally = _Tally()
        connection._ledger_analyze = tally
        transaction.on_commit(tally.mark)
    return tally


def _due(tables: dict[str, int]) -> list[str]:
    """The tables whose rows written are more than LEDGER_ANALYZE_SHARE of the rows their
    statistics know (PostgreSQL's pg_class.reltuples, which ANALYZE, VACUUM and CREATE INDEX
    set; -1, taken as none, for a table never counted), as
    autovacuum waits for before it analyses: 10,000 workers corrected among 100,000 leave
    their statistics as they were (0.7 s of ANALYZE for nothing), a first import does not.
    SQLite keeps no such count: every table."""
    if connection.vendor != "postgresql" or not settings.LEDGER_ANALYZE_SHARE:
        return sorted(tables)
    known = _tables_catalogued(tables, "reltuples")
    share = settings.LEDGER_ANALYZE_SHARE
    return sorted(t for t, rows in tables.items() if rows > share * max(known.get(t, 0), 0))


def _tables_catalogued(tables, value: str) -> dict:
    """PostgreSQL: `value` (a column or expression of pg_class) of each of the tables this
    connection sees, by name."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT relname, {value} FROM pg_class"
            " WHERE relkind = 'r' AND relname = ANY(%s) AND pg_table_is_visible(oid)",
            [list(tables)],
        )
        return dict(cursor.fetchall())


def _analyze(tables: list[str]) -> None:
    if connection.vendor == "postgresql" and len(tables) > 1 and not connection.in_atomic_block:
        _analyze_two_at_once(tables)
        return
    _analyze_on(connection, tables)


def _analyze_on(conn, tables: list[str]) -> None:
    with conn.cursor() as cursor:
        for table in tables:
            cursor.execute("ANALYZE " + conn.ops.quote_name(table))


def _analyze_two_at_once(tables: list[str]) -> None:
    """The tables shared between this connection and a second one, the largest first, each to
    the side with fewer bytes so far (or fewer tables): an ANALYZE uses one core of the server,
    and a first import's six tables took 1.2–1.9 s one after the other, 0.7–0.8 s two at a time
    (benchmarks/README.md). Outside a transaction only: the second connection sees what is
    committed. The second connection is one more for a moment: a write job holds three (its
    own, its progress reporter's, this one) while its statistics are gathered."""
    sizes = _tables_catalogued(tables, "pg_relation_size(oid)")
    sides: tuple[list[str], list[str]] = ([], [])
    loads = [0, 0]
    for table in sorted(tables, key=lambda t: sizes.get(t, 0), reverse=True):
        side = 0 if (loads[0], len(sides[0])) <= (loads[1], len(sides[1])) else 1
        sides[side].append(table)
        loads[side] += sizes.get(table, 0)
    failed: list[BaseException] = []
    handed_back: list[str] = []

    def second():
        # A connection of this thread's own, closed when done.
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            other.ensure_connection()
        except DatabaseError:
            # No second session to be had (the server's or a pooler's limit of clients): its
            # tables are analysed on the first, after its own.
            handed_back.extend(sides[1])
            other.close()
            return
        try:
            _analyze_on(other, sides[1])
        except Exception as exc:  # noqa: BLE001 - raised again by the caller
            failed.append(exc)
        finally:
            other.close()

    thread = threading.Thread(target=second, name="analyze", daemon=True)
    thread.start()
    try:
        _analyze_on(connection, sides[0])
    finally:
        thread.join()
    if failed:
        raise failed[0]
    _analyze_on(connection, handed_back)


def database_vacuum() -> None:
    """VACUUM (ANALYZE) the whole database, on PostgreSQL, outside any transaction: after a bulk
    load into an empty database (the demo seeder), so that the reports' index-only scans do not
    visit the heap for every row until autovacuum has come by (the visibility map of freshly
    written pages is empty; where autovacuum is off it stays so)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
