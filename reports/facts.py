"""Keeping the report facts (reports.models.PlacementFact) in step with the ledger.

The facts are derived data, refreshed per worker:
- every save or delete of a worker or a placement (services, the admin, anything calling save())
  marks the worker stale through a signal, and the roster import marks the workers it writes in
  bulk (placement.signals.workers_bulk_changed). A mark is a StaleFacts row written in the same
  transaction as the change, so it commits or rolls back with it; marked workers are refreshed
  when the transaction commits, or by the next report (an import's new workers: the next report;
  a refresh that failed: the next one retries);
- rows inserted in bulk by anything else send no signal: each report also looks for workers
  and placements with an id above the last one seen, an index range that costs nothing when
  there are none; the demo seeder sends placement.signals.ledger_bulk_loaded once committed,
  and that check runs then, in the seeder's own command;
- a refresh that writes many facts has them analysed (enterprises.analyze), so that the counts
  after a bulk load are planned with statistics;
- a write that sends no signal and adds no row (QuerySet.update(), bulk_update(), raw SQL) must
  mark the workers it touched, or be followed by `manage.py refresh_report_facts`.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction

from enterprises.analyze import tables_analyze
from enterprises.models import Enterprise, Region
from placement.models import Placement, Worker

from .models import FactsState, PlacementFact, StaleFacts

CHUNK = 5000


def worker_facts(
    *,
    worker_id: int,
    enterprise_id: int,
    registered_on: datetime.date,
    placements,
) -> list[PlacementFact]:
    """The facts of one worker from their placements, given as (pk, channel, placed_on,
    ended_on) tuples.

    Current spans: between two consecutive change dates (a registration, a placement date, an
    end date) the set of placements in force is constant, so the current placement (the latest
    in force, by date then id) is too; consecutive pieces with the same placement are merged.
    """
    facts = [
        PlacementFact(
            worker_id=worker_id,
            enterprise_id=enterprise_id,
            kind=PlacementFact.Kind.REGISTERED,
            start=registered_on,
        )
    ]
    first_in_year: dict[int, datetime.date] = {}
    for _pk, _channel, placed_on, _ended_on in placements:
        year = placed_on.year
        if year not in first_in_year or placed_on < first_in_year[year]:
            first_in_year[year] = placed_on
    for day in first_in_year.values():
        facts.append(
            PlacementFact(
                worker_id=worker_id,
                enterprise_id=enterprise_id,
                kind=PlacementFact.Kind.FIRST_IN_YEAR,
                start=day,
            )
        )
    changes = sorted(
        {registered_on}
        | {p[2] for p in placements if p[2] >= registered_on}
        | {p[3] for p in placements if p[3] is not None and p[3] >= registered_on}
    )
    spans: list[list] = []  # [placement pk, channel, start, end]
    for i, day in enumerate(changes):
        in_force = [
            (placed_on, pk, channel)
            for pk, channel, placed_on, ended_on in placements
            if placed_on <= day and (ended_on is None or ended_on > day)
        ]
        end = changes[i + 1] if i + 1 < len(changes) else None
        if not in_force:
            continue
        _placed_on, pk, channel = max(in_force)
        if spans and spans[-1][0] == pk and spans[-1][3] == day:
            spans[-1][3] = end
        else:
            spans.append([pk, channel, day, end])
    for _pk, channel, start, end in spans:
        facts.append(
            PlacementFact(
                worker_id=worker_id,
                enterprise_id=enterprise_id,
                kind=PlacementFact.Kind.CURRENT,
                channel=channel,
                start=start,
                end=end,
            )
        )
    return facts


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


@transaction.atomic
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
        facts = []
        for worker_id, enterprise_id, registered_on in workers:
            facts += worker_facts(
                worker_id=worker_id,
                enterprise_id=enterprise_id,
                registered_on=registered_on,
                placements=by_worker.get(worker_id, []),
            )
        PlacementFact.objects.bulk_create(facts, batch_size=CHUNK)
        written += len(facts)
    # Many new facts (the first report after a large import, a rebuild): fresh statistics
    # before the counts that follow, also of the small tables they join. Without statistics
    # for the regions (loaded by a migration, never analysed where autovacuum is off) the
    # planner expected 2 of 129 regions and counted 500,000 facts through a nested loop:
    # 1.5 s instead of 0.3 s.
    tables_analyze(models=[PlacementFact, Enterprise, Region], rows=written)
    return written


MARKS_PER_REFRESH = 500


def _runs(ids) -> list[tuple[int, int]]:
    """Ids as runs of consecutive ids (an import's new workers make one run a batch)."""
    runs: list[list[int]] = []
    for worker_id in sorted(set(ids)):
        if runs and worker_id == runs[-1][1] + 1:
            runs[-1][1] = worker_id
        else:
            runs.append([worker_id, worker_id])
    return [(low, high) for low, high in runs]


def report_facts_mark(*, worker_id: int) -> None:
    """Note that a worker changed; their facts are refreshed when the transaction commits."""
    report_facts_mark_many(worker_ids=[worker_id])


def report_facts_mark_many(*, worker_ids, at_commit: bool = True) -> None:
    """Mark the workers' facts stale, inside the writing transaction, so that the mark commits
    (or rolls back) with the change itself. They are refreshed when the transaction commits
    (`at_commit`), or else by the next report; a refresh that fails leaves the marks for the
    next one to retry."""
    runs = _runs(worker_ids)
    if not runs:
        return
    StaleFacts.objects.bulk_create(
        [StaleFacts(low=low, high=high, deferred=not at_commit) for low, high in runs]
    )
    if at_commit:
        _flush_at_commit()


def _flush_at_commit() -> None:
    """One refresh when the transaction commits, however many marks it wrote (a deletion of many
    placements through the ORM marks their workers one by one)."""
    # Registered at the same savepoint (None stands for an atomic block without one, which
    # rolls back with its enclosing savepoint).
    pending = transaction.get_connection().run_on_commit
    here = set(transaction.get_connection().savepoint_ids) - {None}
    if any(func is report_facts_flush and ids - {None} == here for ids, func, _r in pending):
        return
    transaction.on_commit(report_facts_flush, robust=True)


def report_facts_flush(*, deferred: bool = False) -> set[int]:
    """Refresh the workers of the committed stale marks and remove the marks; returns the ids.
    At commit only the marks meant for it; before a report (`deferred=True`) every mark. Two
    flushes at once take different marks (SKIP LOCKED where the database has it)."""
    refreshed: set[int] = set()
    marks_here = StaleFacts.objects.all() if deferred else StaleFacts.objects.filter(deferred=False)
    if not marks_here.exists():
        return refreshed  # the usual case: one cheap query, no transaction
    skip_locked = connection.features.has_select_for_update_skip_locked
    while True:
        with transaction.atomic():
            marks = list(
                marks_here.select_for_update(skip_locked=skip_locked).order_by("pk")[
                    :MARKS_PER_REFRESH
                ]
            )
            if not marks:
                return refreshed
            # The runs themselves, not a query with hundreds of ORed ranges (PostgreSQL took
            # 28 s over 3,000 scattered marks); ids of workers since deleted refresh nothing.
            ids = {worker_id for mark in marks for worker_id in range(mark.low, mark.high + 1)}
            report_facts_refresh(worker_ids=ids - refreshed)
            StaleFacts.objects.filter(pk__in=[mark.pk for mark in marks]).delete()
            refreshed |= ids


def report_facts_sync() -> int:
    """Bring the facts up to date before a report: refresh marked workers and those with rows
    inserted in bulk since the last sync; returns how many workers were refreshed."""
    refreshed = report_facts_flush(deferred=True)
    with transaction.atomic():
        state = FactsState.objects.select_for_update().filter(pk=1).first()
        if state is None:
            state = FactsState.objects.create(pk=1)
        placements = list(
            Placement.objects.filter(pk__gt=state.placement_max_id)
            .order_by()
            .values_list("pk", "worker_id")
        )
        workers = list(
            Worker.objects.filter(pk__gt=state.worker_max_id)
            .order_by()
            .values_list("pk", flat=True)
        )
        worker_ids = {worker_id for _pk, worker_id in placements} | set(workers)
        if not worker_ids:
            return len(refreshed)
        report_facts_refresh(worker_ids=worker_ids - refreshed)
        state.placement_max_id = (
            max(pk for pk, _w in placements) if placements else (state.placement_max_id)
        )
        state.worker_max_id = max([state.worker_max_id, *workers])
        state.save()
        return len(refreshed | worker_ids)


def report_facts_rebuild() -> int:
    """Throw every fact away and compute them all again (after writes that bypass the signals,
    or to check). Run it while nothing else writes to the ledger."""
    with transaction.atomic():
        PlacementFact.objects.all().delete()
        FactsState.objects.all().delete()
    return report_facts_sync()
