"""Planner statistics after bulk writes, for every app.

PostgreSQL plans a query from the statistics ANALYZE gathers. Autovacuum gathers them some time
after a bulk load, and until it does the planner guesses: on 500,000 freshly seeded workers the
province report took 12.1 s instead of 1.8 s. So whatever writes more than a few thousand rows
at once (the imports, the demo seeder, the report facts' refresh) asks for ANALYZE of the tables
it touched, in the same command or request, once its transaction has committed. SQLite accepts
the same statement (it fills sqlite_stat1); it matters less there.
"""

from django.conf import settings
from django.db import connection, transaction


def tables_analyze(*, models, rows: int) -> bool:
    """After writing `rows` rows into the models' tables, analyse those tables when the current
    transaction commits (at once outside one), if `rows` reaches LEDGER_ANALYZE_AFTER_ROWS.
    Returns whether an ANALYZE was asked for."""
    if rows < settings.LEDGER_ANALYZE_AFTER_ROWS:
        return False
    tables = sorted({model._meta.db_table for model in models})
    # robust: statistics are an optimisation; a failure must not undo a committed import.
    transaction.on_commit(lambda: _analyze(tables), robust=True)
    return True


def _analyze(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute("ANALYZE " + connection.ops.quote_name(table))


def database_vacuum() -> None:
    """VACUUM (ANALYZE) the whole database, on PostgreSQL, outside any transaction: after a bulk
    load into an empty database (the demo seeder), so that the reports' index-only scans do not
    visit the heap for every row until autovacuum has come by (the visibility map of freshly
    written pages is empty; where autovacuum is off it stays so)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
