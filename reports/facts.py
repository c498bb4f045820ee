"""Keeping the report facts (reports.models.PlacementFact) in step with the ledger.

The facts are derived data, recomputed per worker by the write path itself: every service of
placement.services that writes a worker or a placement (one row, or an import's thousands) sends
placement.signals.ledger_changed inside its transaction, and `report_facts_refresh` rewrites
those workers' facts there and then. So the facts commit or roll back with the change, and a
report only reads them: no lock, no write, no check on a read path.

A write that goes around the services (QuerySet.update(), bulk_update(), raw SQL) must be
followed by `manage.py refresh_report_facts`.
A refresh that writes many facts has them analysed (enterprises.analyze), so that the counts
after a bulk load are planned with statistics.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction

from database.analyze import tables_analyze
from database.bulk import copy_lines
from enterprises.models import Enterprise, Region
from placement.models import Placement, Worker
from placement.querysets import latest_in_force

from .models import PlacementFact

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
def report_facts_refresh(*, worker_ids: Iterable[int]) -> int:
    """Recompute the facts of the given workers; returns the number of facts written."""
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
        PlacementFact.objects.filter(worker_id__in=ids).delete()
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
        written += len(facts)
    # Many new facts (the first report after a large import, a rebuild): fresh statistics
    # before the counts that follow, also of the small tables they join. Without statistics
    # for the regions (loaded by a migration, never analysed where autovacuum is off) the
    # planner expected 2 of 129 regions and counted 500,000 facts through a nested loop:
    # 1.5 s instead of 0.3 s.
    tables_analyze(models=[PlacementFact, Enterprise, Region], rows=written)
    return written


@transaction.atomic(savepoint=False)
def report_facts_add(*, new_workers: list[tuple]) -> int:
    """Write the facts of workers created in the current transaction, given as (worker id,
    enterprise id, registration date, placements as (pk, channel, placed_on, ended_on)) — all
    their facts depend on. Nothing is locked, read or deleted, as `report_facts_refresh` must
    for stored workers: no other transaction sees these workers before this one commits, and
    they have no facts yet. For a 100,000-row first import those queries took 2.7 s of 8.2 s
    under cProfile. Returns the number of facts written."""
    written = 0
    for chunk in _chunks(new_workers):
        facts = [
            (worker_id, enterprise_id, *fact)
            for worker_id, enterprise_id, registered_on, placements in chunk
            for fact in fact_rows(registered_on=registered_on, placements=placements)
        ]
        _facts_insert(facts)
        written += len(facts)
    tables_analyze(models=[PlacementFact, Enterprise, Region], rows=written)
    return written


_FACT_COLUMNS = ["worker_id", "enterprise_id", "kind", "channel", "start", "end"]
_NULL = "\\N"  # COPY's NULL


def _facts_insert(facts: list[tuple]) -> None:
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
        report_facts_refresh(worker_ids=ids)
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
