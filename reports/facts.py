"""Keeping the report facts (reports.models.PlacementFact) in step with the ledger.

The facts are derived data, recomputed per worker by the write path itself: every service of
placement.services that writes a worker or a placement (one row, or an import's thousands) sends
placement.signals.ledger_changed inside its transaction, and `report_facts_refresh` rewrites
those workers' facts there and then. So the facts commit or roll back with the change, and a
report only reads them: no lock, no write, no check on a read path.

The same refresh keeps the facts' monthly sums (reports.models.FactMonth): what the facts it
deleted and wrote change in each (enterprise, kind, channel, month), appended as new rows.

A write that goes around the services (QuerySet.update(), bulk_update(), raw SQL) must be
followed by `manage.py refresh_report_facts`.
A refresh that writes many facts has them analysed (enterprises.analyze), so that the counts
after a bulk load are planned with statistics.
"""

import datetime
from collections import Counter, defaultdict, deque
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncMonth

from database.analyze import tables_analyze
from database.bulk import copy_lines, copy_rows, in_ids
from enterprises.models import Enterprise, Region
from placement.models import Placement, Worker
from placement.querysets import latest_in_force

from .models import FactMonth, PlacementFact

CHUNK = 5000


def worker_facts(
    *,
    worker_id: int,
    enterprise_id: int,
    registered_on: datetime.date,
    placements,
) -> list[PlacementFact]:
    """The facts of one worker from their placements, given as (pk, channel, placed_on,
    ended_on) tuples (`fact_rows`, as model instances)."""
    return [
        PlacementFact(
            worker_id=worker_id,
            enterprise_id=enterprise_id,
            kind=kind,
            channel=channel,
            start=start,
            end=end,
        )
        for kind, channel, start, end in fact_rows(
            registered_on=registered_on, placements=placements
        )
    ]


def fact_rows(*, registered_on: datetime.date, placements) -> list[tuple]:
    """The facts of one worker as (kind, channel, start, end) tuples, from their placements
    given as (pk, channel, placed_on, ended_on) tuples. Tuples, not model instances: a refresh
    of 100,000 workers writes about 260,000 facts, and building a model instance each took
    about a third of it.

    Current spans: between two consecutive change dates (a registration, a placement date, an
    end date) the set of placements in force is constant, so the current placement
    (placement.querysets.latest_in_force, the rule of PlacementQuerySet.current_on) is too;
    consecutive pieces with the same placement are merged.
    """
    if not placements:
        return [(REGISTERED, "", registered_on, None)]
    if len(placements) == 1 and placements[0][3] is None:
        # Most workers (every new one): one placement that never ended is their current one
        # from the later of the two dates on, which is what the general path computes for it
        # (tests/reports/test_facts.py compares the two).
        _pk, channel, placed_on, _ended_on = placements[0]
        return [
            (REGISTERED, "", registered_on, None),
            (FIRST_IN_YEAR, "", placed_on, None),
            (CURRENT, channel, max(registered_on, placed_on), None),
        ]
    return _fact_rows(registered_on=registered_on, placements=placements)


def _fact_rows(*, registered_on: datetime.date, placements) -> list[tuple]:
    """`fact_rows` of any placements."""
    facts = [(REGISTERED, "", registered_on, None)]
    first_in_year: dict[int, datetime.date] = {}
    for _pk, _channel, placed_on, _ended_on in placements:
        year = placed_on.year
        if year not in first_in_year or placed_on < first_in_year[year]:
            first_in_year[year] = placed_on
    facts += [(FIRST_IN_YEAR, "", day, None) for day in first_in_year.values()]
    changes = sorted(
        {registered_on}
        | {p[2] for p in placements if p[2] >= registered_on}
        | {p[3] for p in placements if p[3] is not None and p[3] >= registered_on}
    )
    spans: list[list] = []  # [placement pk, channel, start, end]
    for i, day in enumerate(changes):
        current = latest_in_force(placements, day)
        end = changes[i + 1] if i + 1 < len(changes) else None
        if current is None:
            continue
        _placed_on, pk, channel = current
        if spans and spans[-1][0] == pk and spans[-1][3] == day:
            spans[-1][3] = end
        else:
            spans.append([pk, channel, day, end])
    facts += [(CURRENT, channel, start, end) for _pk, channel, start, end in spans]
    return facts


REGISTERED = PlacementFact.Kind.REGISTERED.value
CURRENT = PlacementFact.Kind.CURRENT.value
FIRST_IN_YEAR = PlacementFact.Kind.FIRST_IN_YEAR.value


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


# No savepoint: it runs inside the writing transaction, which rolls back whole if it fails.
@transaction.atomic(savepoint=False)
def report_facts_refresh(*, worker_ids: Iterable[int], months: bool = True) -> int:
    """Recompute the facts of the given workers; returns the number of facts written. With
    `months` false the monthly sums are left alone (a rebuild recomputes them at the end)."""
    written = 0
    for ids in _chunks(sorted(set(worker_ids))):
        # Lock the workers first (in id order): two refreshes of one worker at the same time
        # would otherwise both delete and both insert, leaving the facts twice.
        workers = list(
            Worker.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "enterprise_id", "registered_on")
        )
        removed = _facts_delete(ids)
        by_worker = defaultdict(list)
        for worker_id, *placement in (
            Placement.objects.filter(worker_id__in=ids)
            .order_by()
            .values_list("worker_id", "pk", "channel", "placed_on", "ended_on")
        ):
            by_worker[worker_id].append(tuple(placement))
        facts = [
            (worker_id, enterprise_id, *fact)
            for worker_id, enterprise_id, registered_on in workers
            for fact in fact_rows(
                registered_on=registered_on, placements=by_worker.get(worker_id, [])
            )
        ]
        _facts_insert(facts)
        if months:
            _months_change(added=facts, removed=removed)
        written += len(facts)
    # Many new facts (the first report after a large import, a rebuild): fresh statistics
    # before the counts that follow, also of the small tables they join. Without statistics
    # for the regions (loaded by a migration, never analysed where autovacuum is off) the
    # planner expected 2 of 129 regions and counted 500,000 facts through a nested loop:
    # 1.5 s instead of 0.3 s.
    tables_analyze(models=[PlacementFact, FactMonth, Enterprise, Region], rows=written)
    return written


@transaction.atomic(savepoint=False)
def report_facts_add(*, new_workers: list[tuple]) -> int:
    """Write the facts of workers created in the current transaction, given as (worker id,
    enterprise id, registration date, placements as (pk, channel, placed_on, ended_on)) — all
    their facts depend on. Nothing is locked, read or deleted, as `report_facts_refresh` must
    for stored workers: no other transaction sees these workers before this one commits, and
    they have no facts yet. For a 100,000-row first import those queries took 2.7 s of 8.2 s
    under cProfile. Returns the number of facts written."""
    facts = (
        (worker_id, enterprise_id, *fact)
        for worker_id, enterprise_id, registered_on, placements in new_workers
        for fact in fact_rows(registered_on=registered_on, placements=placements)
    )
    written = 0
    if connection.vendor == "postgresql":
        # One COPY, its lines formatted as the server stores the ones before (database.bulk),
        # and the monthly sums counted on the way: no list of 260,000 facts.
        changes = Counter()
        counted = _MonthsCounted(facts, changes)
        _facts_insert(counted)
        written = counted.count
        _months_insert([(*key, net) for key, net in changes.items() if net])
    else:
        for chunk in _chunks(list(facts)):
            _facts_insert(chunk)
            _months_change(added=chunk)
            written += len(chunk)
    tables_analyze(models=[PlacementFact, FactMonth, Enterprise, Region], rows=written)
    return written


class _MonthsCounted:
    """The facts as they pass, counted, and added (`sign` 1) or taken (-1) from the monthly
    sums `changes` by the rule `month_changes` states: so that a COPY reading them needs no
    list of them."""

    def __init__(self, facts, changes: Counter, *, sign: int = 1):
        self._facts = facts
        self._changes = changes
        self._sign = sign
        self.count = 0

    def __iter__(self):
        changes, sign = self._changes, self._sign
        months: dict[datetime.date, datetime.date] = {}
        for fact in self._facts:
            self.count += 1
            _worker, enterprise, kind, channel, start, end = fact
            month = months.get(start)
            if month is None:
                month = months[start] = start.replace(day=1)
            changes[(enterprise, kind, channel, month)] += sign
            if end is not None and kind == CURRENT:
                changes[(enterprise, kind, channel, end.replace(day=1))] -= sign
            yield fact


def report_facts_drop(*, worker_ids: list[int]) -> None:
    """Delete the facts of workers about to be deleted, with their share of the monthly sums
    (a receiver of Worker's pre_delete, connected in reports.apps: whatever deletes a worker).
    The workers are locked first, as a refresh locks them: a refresh committing meanwhile
    would otherwise replace the facts after this DELETE had read them, and Django's own delete
    of the rest would remove the new ones without subtracting them."""
    for ids in _chunks(sorted(set(worker_ids))):
        list(Worker.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
        _months_change(added=[], removed=_facts_delete(ids))


def _facts_delete(worker_ids: list[int]) -> list[tuple]:
    """Delete the facts of the given workers; returns them as (worker id, enterprise id, kind,
    channel, start, end) tuples, for the monthly sums (one DELETE … RETURNING)."""
    table = connection.ops.quote_name(PlacementFact._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(PlacementFact._meta.get_field(name).column)
        for name in _FACT_COLUMNS
    )
    worker = connection.ops.quote_name(PlacementFact._meta.get_field("worker").column)
    condition, params = in_ids(worker, worker_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {condition} RETURNING {columns}", params)
        return cursor.fetchall()


def month_changes(facts: Iterable[tuple], *, sign: int = 1, into: Counter | None = None) -> Counter:
    """What facts given as (worker id, enterprise id, kind, channel, start, end) tuples add to the
    monthly sums (FactMonth), keyed by (enterprise id, kind, channel, first day of the month):
    one per fact in the month it starts, and for a current span that ended, minus one in the
    month of its end."""
    changes = Counter() if into is None else into
    deque(_MonthsCounted(facts, changes, sign=sign), maxlen=0)
    return changes


def _months_change(*, added: list[tuple], removed: list[tuple] = ()) -> None:
    """Add the facts written and subtract those deleted to the monthly sums: their nonzero
    changes as new rows (one COPY on PostgreSQL), no row updated (FactMonth)."""
    changes = month_changes(added)
    month_changes(removed, sign=-1, into=changes)
    rows = [(*key, net) for key, net in changes.items() if net]
    _months_insert(rows)


_MONTH_COLUMNS = ["enterprise_id", "kind", "channel", "month", "net", "merged"]


def _months_insert(rows: list[tuple], *, merged: bool = False) -> None:
    """Insert monthly rows given as (enterprise id, kind, channel, month, net) tuples."""
    if not rows:
        return
    rows = [(*row, merged) for row in rows]
    if connection.vendor == "postgresql":
        copy_rows(FactMonth._meta.db_table, _MONTH_COLUMNS, rows)
        return
    FactMonth.objects.bulk_create(
        [FactMonth(**dict(zip(_MONTH_COLUMNS, row, strict=True))) for row in rows],
        batch_size=CHUNK,
    )


def fact_months_compact() -> int:
    """Merge the monthly sums' rows of each key into one (FactMonth is append-only for the
    writes); returns the number of rows removed. Run by the report refresh job after writes
    (reports.tasks); `fact_months_rebuild` replaces it after bulk loads.

    The enterprises with a row appended since (`merged` false, a partial index): per 100 of
    them, DELETE … RETURNING their rows, then insert their sum per key, marked merged, in one
    transaction. A write committing meanwhile only inserts rows, which this DELETE neither sees
    nor removes, so no change is lost or counted twice; a second compaction of the same
    enterprise waits for the first and then finds only the rows it did not delete."""
    quote = connection.ops.quote_name
    table = quote(FactMonth._meta.db_table)
    key = [quote(column) for column in _MONTH_COLUMNS[:4]]
    enterprise_ids = sorted(
        FactMonth.objects.filter(merged=False)
        .order_by()
        .values_list("enterprise_id", flat=True)
        .distinct()
    )
    removed = 0
    for ids in _chunks(enterprise_ids, 100):
        with transaction.atomic(), connection.cursor() as cursor:
            if not _compaction_lock(cursor):
                break  # another job is compacting: it will merge these too
            condition, params = in_ids(key[0], ids)
            cursor.execute(
                f"DELETE FROM {table} WHERE {condition} RETURNING {', '.join(key)}, {quote('net')}",
                params,
            )
            deleted = cursor.fetchall()
            sums = Counter()
            for *month_key, net in deleted:
                sums[tuple(month_key)] += net
            rows = [(*month_key, net) for month_key, net in sums.items() if net]
            _months_insert(rows, merged=True)
            removed += len(deleted) - len(rows)
    return removed


# pg_try_advisory_xact_lock key of compaction ("MONTHS" in ASCII).
COMPACTION_LOCK_KEY = 0x4D4F4E544853


def _compaction_lock(cursor) -> bool:
    """One compaction at a time (PostgreSQL; SQLite writes one at a time anyway): two refresh
    jobs on two workers deleting the same enterprises' rows would only wait for each other, or
    deadlock if their plans took the rows in different orders."""
    if connection.vendor != "postgresql":
        return True
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COMPACTION_LOCK_KEY])
    return cursor.fetchone()[0]


def fact_months_rebuild() -> int:
    """Recompute every monthly sum from the facts, replacing the rows there: after a bulk load
    (`seed_demo`) or a rebuild of the facts, which append millions of rows that compaction
    would only delete, leaving the table that large on disk (the national seed's 4 million
    appended rows left 416 MB for 401,059 live ones, and the national report read all of it:
    300 ms instead of 170 ms). Empties the table first (TRUNCATE on PostgreSQL, which holds it
    until the transaction ends): run it while nothing else writes. Returns the rows written."""
    table = connection.ops.quote_name(FactMonth._meta.db_table)
    with connection.cursor() as cursor:
        verb = "TRUNCATE" if connection.vendor == "postgresql" else "DELETE FROM"
        cursor.execute(f"{verb} {table}")
    changes: Counter = Counter()
    for column, facts, sign in (
        ("start", PlacementFact.objects.all(), 1),
        ("end", PlacementFact.objects.filter(kind=CURRENT, end__isnull=False), -1),
    ):
        rows = (
            facts.annotate(month=TruncMonth(column))
            .values_list("enterprise_id", "kind", "channel", "month")
            .annotate(n=Count("*"))
            .order_by()
        )
        for enterprise_id, kind, channel, month, n in rows:
            changes[(enterprise_id, kind, channel, month)] += sign * n
    rows = [(*key, net) for key, net in changes.items() if net]
    _months_insert(rows, merged=True)
    return len(rows)


_FACT_COLUMNS = ["worker_id", "enterprise_id", "kind", "channel", "start", "end"]
_NULL = "\\N"  # COPY's NULL


def _facts_insert(facts: Iterable[tuple]) -> None:
    """Insert facts given as tuples in _FACT_COLUMNS' order: one COPY on PostgreSQL."""
    if connection.vendor == "postgresql":
        # Every value is an id, a date, None or a choice's code: nothing COPY would escape, so
        # each line is formatted in one go (generic lines for a 100,000-row first import's
        # 260,000 facts took 1.0 s of CPU on the busy machine, these 0.45 s).
        copy_lines(
            PlacementFact._meta.db_table,
            [PlacementFact._meta.get_field(name).column for name in _FACT_COLUMNS],
            (
                f"{worker}\t{enterprise}\t{kind}\t{channel}\t{start}\t{end or _NULL}"
                for worker, enterprise, kind, channel, start, end in facts
            ),
        )
        return
    PlacementFact.objects.bulk_create(
        [PlacementFact(**dict(zip(_FACT_COLUMNS, fact, strict=True))) for fact in facts],
        batch_size=CHUNK,
    )


def report_facts_rebuild() -> int:
    """Throw every fact away and compute them all again (after writes that went around the
    services, or to check); returns how many workers were refreshed. Run it while nothing else
    writes to the ledger."""
    with transaction.atomic():
        PlacementFact.objects.all().delete()
        ids = list(Worker.objects.order_by("pk").values_list("pk", flat=True))
        report_facts_refresh(worker_ids=ids, months=False)
        fact_months_rebuild()
    return len(ids)


def _ledger_changed(sender, worker_ids, new_workers=(), **kwargs) -> None:
    """Receiver of placement.signals.ledger_changed (connected in reports.apps). A bulk
    registration (placement.services.workers_bulk_add) also sends `new_workers`: workers created
    in the same transaction as (id, enterprise id, diversion date, placements as (pk, channel,
    placed_on, ended_on)), all their facts depend on; their ids are not in `worker_ids`."""
    if new_workers:
        report_facts_add(new_workers=new_workers)
    if worker_ids:
        report_facts_refresh(worker_ids=worker_ids)


def _worker_deleting(sender, instance, **kwargs) -> None:
    """Receiver of Worker's pre_delete (connected in reports.apps)."""
    report_facts_drop(worker_ids=[instance.pk])
