"""A paginator for the admin's unfiltered lists of large tables: the row count from the
database's own statistics instead of COUNT(*).

Django's admin counts the rows of every list it shows (the page links and "N 个职工"). Over
2,000,000 workers that COUNT(*) reads the whole table (or its smallest index) on every page
view. An unfiltered list (no filter, no search, no scope: an administrator's first view) only
needs the order of magnitude: PostgreSQL keeps an estimate of every table's rows in
`pg_class.reltuples` (SQLite, after ANALYZE, in `sqlite_stat1`), brought up to date by ANALYZE
(database/analyze.py after every bulk write; autovacuum later).

Only where it cannot mislead: a list with any WHERE clause (a filter, a search, a user's scope)
is counted exactly, and so is a table whose estimate is under LEDGER_ADMIN_ESTIMATE_ROWS (a
small table counts in no time, and an estimate of 12 for 14 rows would be wrong on its face).
An estimated count is shown as "约 N" (templates/admin/pagination.html).
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.db import DatabaseError, connections
from django.utils.functional import cached_property


def table_row_estimate(model, *, using: str = "default") -> int | None:
    """The database's statistics' idea of the model's table size, or None if it has none."""
    connection = connections[using]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # reltuples is -1 for a table never vacuumed or analysed (PostgreSQL 14+).
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [connection.ops.quote_name(table)],
            )
        elif connection.vendor == "sqlite":
            # Each of a table's rows there starts with the table's row count.
            try:
                cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s LIMIT 1", [table])
            except DatabaseError:  # no sqlite_stat1 before the first ANALYZE
                return None
        else:
            return None
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    estimate = int(str(row[0]).split()[0])
    return estimate if estimate >= 0 else None


def is_unfiltered(queryset) -> bool:
    """Whether the queryset is every row of its table, once each (its count is the table's)."""
    query = queryset.query
    return not (
        query.where
        or query.distinct
        or query.combinator
        or query.low_mark
        or query.high_mark is not None
        or query.group_by
    )


class EstimatedCountPaginator(Paginator):
    """`count` from the table's statistics when the list is unfiltered and the table large;
    an exact COUNT(*) otherwise. `estimated` says which."""

    estimated = False

    @cached_property
    def count(self):
        queryset = self.object_list
        if hasattr(queryset, "query") and is_unfiltered(queryset):
            estimate = table_row_estimate(queryset.model, using=queryset.db)
            if estimate is not None and estimate >= settings.LEDGER_ADMIN_ESTIMATE_ROWS:
                self.estimated = True
                return estimate
        return super().count
