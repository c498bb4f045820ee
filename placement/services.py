"""Writes to the ledger: one function per action, and nothing else writes workers, placements
or targets. The admin's save hooks, the imports, the demo, the command line and the tests all
call these, so a rule added here holds on every path.

Every function takes the actor explicitly (a user, or a named system actor from
access.actors): there is no default that means "everyone". Each write that changes what a
worker counts as in the reports sends `placement.signals.ledger_changed` inside its own
transaction, and the reports' facts are recomputed there, so that they commit or roll back
with the change and a report only ever reads (reports/facts.py).

Single rows: `worker_register`, `worker_correct`, `worker_delete`, `worker_place`,
`placement_end`, `placement_save` and `placement_delete` (the admin's placement forms),
`target_set`, `target_delete`. In bulk (the imports and the demo): `workers_bulk_register`,
`workers_bulk_correct`, `placements_bulk_add`, `placements_bulk_correct`, `targets_bulk_set`.
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from access.actors import history_user
from audit.history import (
    current_source,
    current_user,
    history_bulk_create,
    history_bulk_update,
    history_record_bulk,
)
from database.analyze import tables_analyze
from database.bulk import bulk_insert
from enterprises.models import Enterprise, Region

from . import idnumbers, rules
from .access import duplicate_message, duplicate_names, duplicates_outside_scope_record
from .models import AnnualTarget, DiversionSource, Placement, Worker
from .rules import BIRTH_DATE_CONTRADICTS_ID, SEX_CONTRADICTS_ID  # noqa: F401
from .signals import ledger_changed

WORKERS_FOLLOWED_ENTERPRISE_DATE = _(
    "%(moved)s 名职工的分流时间随企业的分流安置方案实施日期改变；"
    "%(kept)s 名职工在此日期前已安置，保留原分流时间"
)
# Workers whose diversion date is not their own: they follow their enterprise's date.
FOLLOWING_SOURCES = [DiversionSource.ENTERPRISE, DiversionSource.IMPORT]
FOLLOW_BATCH = 1000
# Rows per INSERT in the bulk forms: large enough to amortise the round trip, small enough
# that a 100,000-row import never holds every model instance at once.
BATCH = 2000


def _ledger_changed(worker_ids: Iterable[int]) -> None:
    """Tell whoever keeps data derived from the ledger (the report facts) which workers changed,
    inside the writing transaction."""
    ids = {worker_id for worker_id in worker_ids if worker_id is not None}
    if ids:
        ledger_changed.send(sender=Worker, worker_ids=ids)


def _attributed(obj, actor):
    """Name the actor in the row's audit history (a person; a system actor names nobody)."""
    user = history_user(actor)
    if user is not None:
        obj._history_user = user
    return obj


def worker_identity_check(
    *,
    id_number,
    sex: str | None = None,
    birth_date: datetime.date | None = None,
    birth_month_only: bool = False,
    enterprise: Enterprise | None = None,
    exclude_pk: int | None = None,
    user,
    request=None,
) -> idnumbers.ParsedIdNumber:
    """Check a typed ID number and any sex or birth date given beside it; refuse a number
    already registered, naming the enterprise only if `user` may see it (else the refusal is
    written to the access log; `request` only gives the log its page and address). Returns the
    parsed number."""
    try:
        parsed = idnumbers.parse(id_number)
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.error_list}) from None
    errors = rules.identity_contradictions(
        parsed=parsed, sex=sex, birth_date=birth_date, birth_month_only=birth_month_only
    )
    existing = (
        Worker.objects.by_id_numbers([parsed.number])
        .exclude(pk=exclude_pk)
        .only("pk", "enterprise_id")
        .first()
    )
    if existing is not None:
        names = duplicate_names(user=user, enterprise_ids=[existing.enterprise_id])
        if existing.enterprise_id not in names:
            duplicates_outside_scope_record(user=user, worker_ids=[existing.pk], request=request)
        errors["id_number"] = ValidationError(
            duplicate_message(enterprise_id=existing.enterprise_id, names=names),
            code="id_number_registered",
        )
    if errors:
        raise ValidationError(errors)
    return parsed


def worker_register(
    *, enterprise: Enterprise, id_number: str, name: str, actor, request=None, **fields
) -> Worker:
    """Register a worker by real name. Sex and birth date come from the ID number; if given, they
    must agree with it. A number already registered is told as `worker_identity_check` tells it
    to `actor`. Without a diversion date the enterprise's applies, else today's."""
    # Checked before the transaction opens: refusing a number registered outside the actor's
    # scope writes an access-log row, which rolling the refused registration back would take
    # with it.
    parsed = worker_identity_check(
        id_number=id_number,
        sex=fields.pop("sex", None),
        birth_date=fields.pop("birth_date", None),
        enterprise=enterprise,
        user=actor,
        request=request,
    )
    if "registered_on" not in fields and enterprise.diversion_date:
        fields["registered_on"] = enterprise.diversion_date
        fields.setdefault("registered_on_source", DiversionSource.ENTERPRISE)
    worker = Worker(enterprise=enterprise, name=name, **fields)
    worker.set_id_number(parsed)
    return worker_save(worker=worker, actor=actor)


def worker_correct(*, worker: Worker, actor, **fields) -> Worker:
    """Change a worker's own fields (not the ID number: a wrong number is a new registration)."""
    for field, value in fields.items():
        setattr(worker, field, value)
    return worker_save(worker=worker, actor=actor)


@transaction.atomic
def worker_save(*, worker: Worker, actor) -> Worker:
    """Write one worker whose ID number is already checked and set (a registration or a
    correction; the admin's form checks the number as it is typed, then saves through here)."""
    worker.full_clean()
    _attributed(worker, actor).save()
    _ledger_changed([worker.pk])
    return worker


@transaction.atomic
def worker_delete(*, worker: Worker, actor) -> None:
    """Delete a worker (one registered by mistake; a worker with placements is protected). Their
    report facts go with them (a foreign key with CASCADE)."""
    _attributed(worker, actor).delete()


@transaction.atomic
def worker_place(
    *,
    worker: Worker,
    channel: str,
    placed_on: datetime.date,
    destination_unit: str = "",
    destination_region: Region | None = None,
    employed_elsewhere_insured_at_home: bool = False,
    note: str = "",
    ended_on: datetime.date | None = None,
    actor,
) -> Placement:
    """Record a placement for a worker; it becomes the current one if it is the latest in force."""
    placement = Placement(
        worker=worker,
        channel=channel,
        placed_on=placed_on,
        destination_unit=destination_unit,
        destination_region=destination_region,
        employed_elsewhere_insured_at_home=employed_elsewhere_insured_at_home,
        note=note,
        ended_on=ended_on,
    )
    return placement_save(placement=placement, actor=actor)


def placement_end(*, placement: Placement, ended_on: datetime.date, actor) -> Placement:
    """End a placement (e.g. a flexible job that stopped); it stays in the worker's history."""
    placement.ended_on = ended_on
    return placement_save(placement=placement, actor=actor)


@transaction.atomic
def placement_save(*, placement: Placement, actor) -> Placement:
    """Write one placement, new or corrected, stamped with who created and last changed it."""
    user = history_user(actor)
    if placement.pk is None:
        placement.created_by = user
    placement.updated_by = user
    placement.full_clean()
    _attributed(placement, actor).save()
    _ledger_changed([placement.worker_id])
    return placement


@transaction.atomic
def placement_delete(*, placement: Placement, actor) -> None:
    """Delete a placement entered by mistake (one that ended is ended, not deleted)."""
    worker_id = placement.worker_id
    _attributed(placement, actor).delete()
    _ledger_changed([worker_id])


@transaction.atomic
def placements_delete(*, placements, actor) -> int:
    """Delete several placements (the admin's bulk action); returns how many."""
    placements = list(placements)
    for placement in placements:
        _attributed(placement, actor).delete()
    _ledger_changed(placement.worker_id for placement in placements)
    return len(placements)


def target_set(
    *,
    year: int,
    workers: int,
    region: Region | None = None,
    enterprise: Enterprise | None = None,
    actor,
) -> AnnualTarget:
    """Set the year's target of a region or an enterprise (created, or its number changed)."""
    target = AnnualTarget.objects.filter(year=year, region=region, enterprise=enterprise).first()
    if target is None:
        target = AnnualTarget(year=year, region=region, enterprise=enterprise)
    target.workers = workers
    return target_save(target=target, actor=actor)


@transaction.atomic
def target_save(*, target: AnnualTarget, actor) -> AnnualTarget:
    """Write one target (the admin's form, or `target_set`): its cap and scope rules are the
    model's (AnnualTarget.clean and its constraints)."""
    target.full_clean()
    _attributed(target, actor).save()
    return target


@transaction.atomic
def target_delete(*, target: AnnualTarget, actor) -> None:
    """Delete a target set by mistake."""
    _attributed(target, actor).delete()


# --- Bulk forms: the imports and the demo ----------------------------------------------------
# No savepoint of their own: each is part of an all-or-nothing write (an import, the demo),
# whose transaction rolls back whole on any error; a savepoint would only add two statements a
# call.


@transaction.atomic(savepoint=False)
def workers_bulk_register(
    *,
    batches: Iterable[tuple[list[Worker], list[Placement]]],
    actor,
    source: str,
    history: bool = True,
) -> tuple[int, int]:
    """Insert new workers and their placements (each built with `worker=` one of its batch's
    workers), already checked row by row by the caller (the import's parsing, the demo's
    generator). Batches are taken one at a time from an iterator, so that 100,000 model
    instances never sit in memory together. Gives the objects their primary keys; one history
    row each unless `history` is off (demo data is not an audited change). Returns (workers,
    placements) written."""
    user = history_user(actor)
    written = [0, 0]
    # One refresh of the facts for the whole load (they are computed in chunks there), rather
    # than one a batch: a large load then asks for one ANALYZE of the facts, not one a batch.
    new_ids: list[int] = []
    for workers, placements in batches:
        bulk_insert(Worker, workers)
        for placement in placements:
            placement.worker_id = placement.worker.pk
            placement.created_by = placement.updated_by = user
        bulk_insert(Placement, placements)
        if history:
            history_record_bulk(workers, model=Worker, user=actor, source=source)
            history_record_bulk(placements, model=Placement, user=actor, source=source)
        new_ids += [worker.pk for worker in workers]
        written[0] += len(workers)
        written[1] += len(placements)
    _ledger_changed(new_ids)
    _analyze_ledger(rows=sum(written), history=history)
    return written[0], written[1]


@transaction.atomic(savepoint=False)
def workers_bulk_correct(
    *, changes: dict[int, dict], actor, source: str, batch_size: int = BATCH
) -> None:
    """Apply `changes` ({worker id: {field: value}}) to stored workers: one upsert a batch (INSERT
    … ON CONFLICT; bulk_update's CASE WHEN is slow, PITFALLS.md), only the columns that changed,
    so an unchanged worker's ciphertext is never rewritten; one history row each."""
    ids = list(changes)
    if not ids:
        return
    moved = []
    for start in range(0, len(ids), batch_size):
        workers = list(Worker.objects.filter(pk__in=ids[start : start + batch_size]))
        fields = set()
        for worker in workers:
            for field, value in changes[worker.pk].items():
                setattr(worker, field, value)
                fields.add(field)
        Worker.objects.bulk_create(
            workers,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=[*sorted(fields), "updated_at"],
        )
        history_record_bulk(workers, model=Worker, user=actor, source=source, update=True)
        if "registered_on" in fields:
            # A new diversion date moves the worker in the reports.
            moved += [worker.pk for worker in workers]
    _ledger_changed(moved)
    _analyze_ledger(rows=len(ids))


@transaction.atomic(savepoint=False)
def placements_bulk_add(*, placements: list[Placement], actor, source: str) -> None:
    """Insert placements of stored workers (an import's new placement dates)."""
    if not placements:
        return
    user = history_user(actor)
    for placement in placements:
        placement.created_by = placement.updated_by = user
    for start in range(0, len(placements), BATCH):
        batch = placements[start : start + BATCH]
        bulk_insert(Placement, batch)
        history_record_bulk(batch, model=Placement, user=actor, source=source)
    _ledger_changed(placement.worker_id for placement in placements)
    _analyze_ledger(rows=len(placements))


@transaction.atomic(savepoint=False)
def placements_bulk_correct(
    *, placements: list[Placement], fields: list[str], actor, source: str
) -> None:
    """Update the given fields of stored placements (objects carrying their pk and new values)."""
    if not placements:
        return
    user = history_user(actor)
    for placement in placements:
        placement.updated_by = user
    Placement.objects.bulk_create(
        placements,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=[*fields, "updated_by", "updated_at"],
    )
    history_record_bulk(placements, model=Placement, user=actor, source=source, update=True)
    _ledger_changed(placement.worker_id for placement in placements)
    _analyze_ledger(rows=len(placements))


@transaction.atomic(savepoint=False)
def targets_bulk_set(
    *,
    creates: list[AnnualTarget],
    updates: list[AnnualTarget],
    actor,
    source: str,
    history: bool = True,
) -> None:
    """Insert new targets and change the number of stored ones (an import; the demo)."""
    if not creates and not updates:
        return
    if history:
        history_bulk_create(creates, model=AnnualTarget, user=actor, source=source)
    else:
        AnnualTarget.objects.bulk_create(creates)
    if updates:
        history_bulk_update(
            updates, model=AnnualTarget, fields=["workers"], user=actor, source=source
        )
    tables_analyze(
        models=[AnnualTarget, AnnualTarget.history.model], rows=len(creates) + len(updates)
    )
    # No worker changed, but every report with these targets did (their cached figures).
    ledger_changed.send(sender=AnnualTarget, worker_ids=set())


def _analyze_ledger(*, rows: int, history: bool = True) -> None:
    """Statistics for the tables a bulk write filled (enterprises.analyze: at commit, and only
    past its threshold)."""
    models = [Worker, Placement]
    if history:
        models += [Worker.history.model, Placement.history.model]
    tables_analyze(models=models, rows=rows)


@transaction.atomic
def enterprise_diversion_date_apply(*, enterprises) -> tuple[int, int]:
    """Workers without a diversion date of their own (none in the roster, none typed in) follow
    their enterprise's date when it changes: they count as to be placed from it. A worker
    already placed before the new date keeps their date, since a placement cannot precede the
    diversion; when the date is cleared, its workers count from the day they were registered
    (or their first placement, if earlier), as an import without any date does.
    Returns (workers moved, workers kept)."""
    moved: list[Worker] = []
    kept = 0
    for enterprise in enterprises:
        date = enterprise.diversion_date
        workers = Worker.objects.filter(enterprise=enterprise).annotate(
            _first_placed=Min("placements__placed_on")
        )
        if date:
            candidates = workers.filter(registered_on_source__in=FOLLOWING_SOURCES)
        else:
            candidates = workers.filter(registered_on_source=DiversionSource.ENTERPRISE)
        for worker in candidates.order_by("pk").iterator(chunk_size=FOLLOW_BATCH):
            first = worker._first_placed
            if date:
                if first is not None and first < date:
                    kept += 1
                    continue
                new, source, year = date, DiversionSource.ENTERPRISE, date.year
            else:
                new = timezone.localdate(worker.created_at)
                if first is not None and first < new:
                    new = first
                source = DiversionSource.IMPORT
                old_year = worker.registered_on.year
                year = None if worker.diversion_year == old_year else worker.diversion_year
            if (worker.registered_on, worker.registered_on_source) == (new, source):
                continue
            worker.registered_on, worker.registered_on_source = new, source
            worker.diversion_year = year
            worker.updated_at = timezone.now()
            moved.append(worker)
    # Attributed like any other change: the import's user and batch, or the admin's page.
    request = getattr(HistoricalRecords.context, "request", None)
    user = current_user() or getattr(request, "user", None)
    for start in range(0, len(moved), FOLLOW_BATCH):
        batch = moved[start : start + FOLLOW_BATCH]
        history_bulk_update(
            batch,
            model=Worker,
            fields=["registered_on", "registered_on_source", "diversion_year", "updated_at"],
            user=user,
            source=current_source(),
        )
        _ledger_changed(worker.pk for worker in batch)
    return len(moved), kept


def _enterprise_dates_changed(sender, enterprises, **kwargs) -> str:
    """Receiver of enterprises.signals.enterprise_diversion_dates_changed: the answer is shown
    to the user who changed the date."""
    moved, kept = enterprise_diversion_date_apply(enterprises=enterprises)
    return str(WORKERS_FOLLOWED_ENTERPRISE_DATE % {"moved": moved, "kept": kept})
