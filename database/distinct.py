"""The distinct values of an indexed column without reading every row: one index probe per value.

`SELECT DISTINCT year FROM workers` reads all 2,000,000 rows (about 0.2 s each time the admin's
worker list shows its date hierarchy and its diversion-year filter). A column with few distinct
values and a B-tree index answers "the smallest value above the last one" with one probe, so
the whole list costs as many small queries as there are values (a "loose index scan", which
PostgreSQL does not do by itself). The queryset's own conditions (a user's scope) still apply;
for a small scope the planner reads that scope's rows instead.

Each probe is `ORDER BY field LIMIT 1`, not `MIN(field)`: PostgreSQL turns a MIN into an index
probe only on a query of one table, and a list scoped through a join (placements, by their
worker's enterprise) would aggregate every row of the scope instead (161–261 ms per probe for a
province at 2,000,000 placements). Ordered with a limit, the join walks the date index and stops
at the first row in scope.
"""

import datetime


def first_value(queryset, field: str, *, last: bool = False):
    """The smallest (or largest) non-null value of `field` in the queryset, or None: MIN or MAX
    by one index probe, joins or not."""
    ordered = queryset.filter(**{f"{field}__isnull": False}).order_by(
        f"-{field}" if last else field
    )
    return ordered.values_list(field, flat=True).first()


def distinct_values(queryset, field: str) -> list:
    """The distinct non-null values of `field` in ascending order, then None if any row has
    none."""
    queryset = queryset.order_by()
    values = []
    while True:
        rest = queryset.filter(**{f"{field}__gt": values[-1]}) if values else queryset
        smallest = first_value(rest, field)
        if smallest is None:
            break
        values.append(smallest)
    if queryset.filter(**{f"{field}__isnull": True}).exists():
        values.append(None)
    return values


def distinct_years(queryset, field: str) -> list[int]:
    """The distinct years of a date column, in ascending order."""
    queryset = queryset.order_by()
    years: list[int] = []
    while True:
        rest = (
            queryset.filter(**{f"{field}__gte": datetime.date(years[-1] + 1, 1, 1)})
            if years
            else queryset
        )
        smallest = first_value(rest, field)
        if smallest is None:
            break
        years.append(smallest.year)
    return years
