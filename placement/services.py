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
`target_set`, `target_delete`. In bulk (the imports and the demo): `workers_bulk_add` (the
roster import's new workers, as tuples), `workers_bulk_register`,
`workers_bulk_correct`, `placements_bulk_add`, `placements_bulk_correct`, `targets_bulk_set`.
"""

import datetime
import uuid
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Min, OuterRef, Subquery
from django.utils import dateformat, timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from access.actors import history_user
from audit.history import (
    current_source,
    current_user,
    history_bulk_create,
    history_bulk_update,
    history_record_bulk,
    history_record_ids,
)
from database.analyze import tables_analyze
from database.bulk import bulk_insert, column_type, insert_rows
from enterprises.models import Enterprise, Region

from . import idnumbers, rules
from .access import duplicate_message, duplicate_names, duplicates_outside_scope_record
from .models import AnnualTarget, DiversionSource, FormSubmission, Placement, Worker
from .rules import BIRTH_DATE_CONTRADICTS_ID, SEX_CONTRADICTS_ID  # noqa: F401
from .signals import ledger_changed

WORKERS_FOLLOWED_ENTERPRISE_DATE = _(
    "%(moved)s 名职工的分流时间随企业的分流安置方案实施日期改变；"
    "%(kept)s 名职工在此日期前已安置，保留原分流时间"
)
EDITED_MEANWHILE = _(
    "该%(what)s已由 %(who)s 于 %(when)s 修改，您的修改没有保存。您填写的内容仍在下方；"
    "请先在“历史”中核对对方的修改，确认后再次保存将以您填写的内容为准"
)
DELETED_MEANWHILE = _("该%(what)s已被删除，您的修改没有保存")
CHANGED_BEFORE_DELETE = _(
    "该%(what)s已由 %(who)s 于 %(when)s 修改，没有删除。"
    "请先在“历史”中核对这次修改，确认后再决定是否删除。"
)
EDITED_BY_SYSTEM = _("系统")
# A form token is kept this long: long enough for any resent request, short enough that the
# table stays small.
SUBMISSION_KEPT = datetime.timedelta(days=1)
# Fields a form does not set: they differ between two saves of the same values.
NOT_COMPARED = {
    "id",
    "created_at",
    "updated_at",
    "created_by_id",
    "updated_by_id",
    # Encrypted afresh (a new nonce) each time; the keyed hash beside it is compared.
    "id_number_cipher",
    # Derived from the placements, not typed in.
    "placed_open_since",
}
# Workers whose diversion date is not their own: they follow their enterprise's date.
FOLLOWING_SOURCES = [DiversionSource.ENTERPRISE, DiversionSource.IMPORT]
FOLLOW_BATCH = 1000
# Rows per INSERT in the bulk forms: large enough to amortise the round trip, small enough
# that a 100,000-row import never holds every model instance at once.
BATCH = 2000


def _ledger_changed(worker_ids: Iterable[int], *, derived_written: bool = False) -> None:
    """Bring the workers' Worker.placed_open_since up to date (`placed_open_since_refresh`,
    unless the caller wrote it with new rows), then tell whoever keeps data derived from the
    ledger (the report facts) which workers changed, inside the writing transaction."""
    ids = {worker_id for worker_id in worker_ids if worker_id is not None}
    if ids:
        if not derived_written:
            placed_open_since_refresh(worker_ids=ids)
        ledger_changed.send(sender=Worker, worker_ids=ids)


# Workers per UPDATE of `placed_open_since_refresh`.
REFRESH_BATCH = 5000


def placed_open_since_refresh(*, worker_ids: Iterable[int] | None = None) -> None:
    """Recompute Worker.placed_open_since (the earliest date of the worker's placements that
    never ended) for the given workers, or for everyone: one UPDATE per 5,000 workers. The
    write path runs it after every write of a worker or a placement; `manage.py
    refresh_report_facts` for everyone after writes that went around it."""
    earliest_open = Subquery(
        Placement.objects.filter(worker=OuterRef("pk"), ended_on__isnull=True)
        .order_by("placed_on")
        .values("placed_on")[:1]
    )
    if worker_ids is None:
        Worker.objects.update(placed_open_since=earliest_open)
        return
    ids = sorted(worker_ids)
    for start in range(0, len(ids), REFRESH_BATCH):
        Worker.objects.filter(pk__in=ids[start : start + REFRESH_BATCH]).update(
            placed_open_since=earliest_open
        )


def placement_enterprises_refresh() -> None:
    """Give every placement whose copy of its worker's enterprise (Placement.enterprise) is
    stale the worker's: after writes that went around the services (`manage.py
    refresh_report_facts`). The services keep it themselves (`worker_save` when a worker moves)."""
    Placement.objects.exclude(enterprise_id=F("worker__enterprise_id")).update(
        enterprise_id=Subquery(
            Worker.objects.filter(pk=OuterRef("worker_id")).values("enterprise_id")[:1]
        )
    )


def _enterprise_filled(placements: list[Placement]) -> list[Placement]:
    """Give placements written in bulk their worker's enterprise (Placement.enterprise) where
    the caller left it out: from the worker object where it is at hand, otherwise by one query
    for all of them."""
    worker_field = Placement._meta.get_field("worker")
    missing = []
    for placement in placements:
        if placement.enterprise_id is not None:
            continue
        if worker_field.is_cached(placement):
            placement.enterprise_id = placement.worker.enterprise_id
        else:
            missing.append(placement)
    if missing:
        enterprises = dict(
            Worker.objects.filter(pk__in={p.worker_id for p in missing}).values_list(
                "pk", "enterprise_id"
            )
        )
        for placement in missing:
            placement.enterprise_id = enterprises[placement.worker_id]
    return placements


def _attributed(obj, actor):
    """Name the actor in the row's audit history (a person; a system actor names nobody)."""
    user = history_user(actor)
    if user is not None:
        obj._history_user = user
    return obj


# pg_advisory_xact_lock's first key for a number being registered ("ID" in ASCII); the second is
# taken from the number's keyed digest, never the number.
NUMBER_LOCK_SPACE = 0x4944


def _number_lock(number: str) -> None:
    """Until the caller's transaction ends, no one else checks the same number (PostgreSQL): two
    officers registering one person at the same moment both passed the check before either
    saved, and the second met the unique constraint (a server error) instead of being told."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    key = int(idnumbers.digest(number)[:7], 16)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [NUMBER_LOCK_SPACE, key])


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
    _number_lock(parsed.number)
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


class EditConflict(ValidationError):
    """The row was changed by someone else since the version the form showed."""

    def __init__(self, message, *, version: int, params: dict):
        super().__init__(message, code="edited_meanwhile", params=params)
        self.version = version


def edit_version(obj) -> int:
    """The version of a stored worker or placement that its change form carries: the id of its
    latest history row (0 when it has none: demo rows are written without history). Every
    write of the services, one row or an import's thousands, adds a history row in the same
    transaction, so any change moves it."""
    return _latest_history(obj, fields=["history_id"]).get("history_id", 0)


def _latest_history(obj, *, fields) -> dict:
    row = (
        type(obj)
        .history.filter(id=obj.pk)
        .order_by("-history_id")
        .values("history_id", *fields)
        .first()
    )
    return row or {}


def edit_check(*, obj, version: int | None) -> bool:
    """Optimistic locking of one row's change form. Locks the stored row (until the caller's
    transaction ends) and compares its version with the one the form was given: the same → True
    (write); changed meanwhile, but to exactly what is now submitted (a form posted twice) →
    False (nothing to write); changed otherwise → EditConflict naming who changed it and when.
    Without a version (a new row, or a caller that sends none) there is nothing to check."""
    if version is None or obj.pk is None:
        return True
    what = str(type(obj)._meta.verbose_name)
    stored, latest = _locked_with_latest(obj)
    if stored is None:
        raise ValidationError(DELETED_MEANWHILE, code="deleted_meanwhile", params={"what": what})
    current = latest.get("history_id", 0)
    if current == version:
        return True
    if _same_values(obj, stored):
        return False
    raise _conflict(EDITED_MEANWHILE, what=what, latest=latest)


def delete_check(*, obj, version: int | None) -> None:
    """Optimistic locking of a delete confirmation: the stored row is locked (until the
    caller's transaction ends, in which it is then deleted) and its version compared with the
    one the confirmation page showed. Changed meanwhile, even to the same values → EditConflict
    naming who changed it and when: the officer confirmed the deletion of what the page showed,
    not of what it became. Without a version (a caller that sends none) nothing is checked."""
    if version is None or obj.pk is None:
        return
    stored, latest = _locked_with_latest(obj)
    if stored is None:
        return  # deleted meanwhile (a second click): the delete that follows says so
    if latest.get("history_id", 0) != version:
        what = str(type(obj)._meta.verbose_name)
        raise _conflict(CHANGED_BEFORE_DELETE, what=what, latest=latest)


def _locked_with_latest(obj) -> tuple:
    """The stored row, locked until the caller's transaction ends (None if it is gone), and its
    latest history row. No ordering: a model ordered through an optional relation
    (AnnualTarget) would join it, and PostgreSQL locks no row on the nullable side of an outer
    join. No savepoint inside the caller's transaction (the admin's request), and nothing raised
    inside the block, so that transaction stays usable for the page."""
    with transaction.atomic(savepoint=False):
        stored = type(obj)._default_manager.select_for_update().filter(pk=obj.pk).order_by()
        return stored.first(), _latest_history(obj, fields=["history_date", "history_user_id"])


def edit_versions(model, pks) -> dict[int, int]:
    """`edit_version` of many rows of one model, in one query: {pk: version}."""
    pks = list(pks)
    versions = dict.fromkeys(pks, 0)
    latest = (
        model.history.filter(id__in=pks)
        .order_by()
        .values("id")
        .annotate(version=Max("history_id"))
        .values_list("id", "version")
    )
    versions.update(latest)
    return versions


def delete_many_check(*, model, versions: dict[int, int]) -> list[int]:
    """Optimistic locking of a confirmation of many deletions (the admin's "delete selected"):
    the rows are locked (until the caller's transaction ends, in which they are then deleted)
    and the keys of those whose version is no longer the one the page showed are returned."""
    with transaction.atomic(savepoint=False):
        rows = model._default_manager.select_for_update().filter(pk__in=list(versions))
        list(rows.order_by("pk").values_list("pk", flat=True))
        current = edit_versions(model, versions)
    return [pk for pk, version in versions.items() if current[pk] != version]


def _conflict(message, *, what: str, latest: dict) -> EditConflict:
    who = _user_name(latest.get("history_user_id"))
    when = timezone.localtime(latest["history_date"]) if latest else None
    return EditConflict(
        message,
        version=latest.get("history_id", 0),
        params={
            "what": what,
            "who": who,
            "when": dateformat.format(when, "Y-m-d H:i:s") if when else "",
        },
    )


def _same_values(obj, stored) -> bool:
    return all(
        getattr(obj, field.attname) == getattr(stored, field.attname)
        for field in type(obj)._meta.concrete_fields
        if field.attname not in NOT_COMPARED
    )


def _user_name(user_id: int | None) -> str:
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        return str(EDITED_BY_SYSTEM)
    return user.get_full_name() or user.get_username()


def form_submission_claim(*, token: uuid.UUID, model) -> FormSubmission | None:
    """Claim a form's one-time token for this request's transaction; returns the earlier
    submission if the token was used already. On PostgreSQL a second request posting the same
    token while the first is still running waits here (the unique index) until the first ends:
    then it finds the first's submission (saved), or claims the token itself (the first was
    refused, which leaves no row)."""
    FormSubmission.objects.filter(created_at__lt=timezone.now() - SUBMISSION_KEPT).delete()
    try:
        with transaction.atomic():
            FormSubmission.objects.create(token=token, model=model._meta.label_lower)
    except IntegrityError:
        return FormSubmission.objects.filter(token=token).first()
    return None


def form_submission_record(*, token: uuid.UUID | None, obj) -> None:
    """Note the object a claimed form saved."""
    if token is not None:
        FormSubmission.objects.filter(token=token, object_id=None).update(object_id=obj.pk)


def form_submission_release(*, token: uuid.UUID) -> None:
    """Free the token of a form that saved nothing (refused by validation), so that the
    corrected form can be posted with it."""
    FormSubmission.objects.filter(token=token, object_id=None).delete()


@transaction.atomic
def worker_save(*, worker: Worker, actor, version: int | None = None) -> Worker:
    """Write one worker whose ID number is already checked and set (a registration or a
    correction; the admin's form checks the number as it is typed, then saves through here).
    `version` is the one the change form showed (`edit_version`): see `edit_check`."""
    if not edit_check(obj=worker, version=version):
        return worker
    worker.full_clean()
    stored = not worker._state.adding
    if stored:
        # The number unchanged, its ciphertext is the stored one, read under lock: the page's
        # copy, loaded before a key rotation reached the worker, would put the old key's back
        # (and into the history row), unreadable once that key is dropped.
        current = (
            Worker.objects.select_for_update()
            .filter(pk=worker.pk, id_number_digest=worker.id_number_digest)
            .values_list("id_number_cipher", flat=True)
            .first()
        )
        if current is not None:
            worker.id_number_cipher = current
    _attributed(worker, actor).save()
    if stored:
        # A worker moved to another enterprise takes their placements' copy of it along.
        Placement.objects.filter(worker=worker).exclude(enterprise_id=worker.enterprise_id).update(
            enterprise_id=worker.enterprise_id
        )
    _ledger_changed([worker.pk])
    return worker


@transaction.atomic
def worker_delete(*, worker: Worker, actor) -> None:
    """Delete a worker (one registered by mistake; a worker with placements is protected). Their
    report facts and their share of the monthly sums go first (reports.facts.report_facts_drop,
    on Worker's pre_delete)."""
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
def placement_save(*, placement: Placement, actor, version: int | None = None) -> Placement:
    """Write one placement, new or corrected, stamped with who created and last changed it.
    `version` is the one the change form showed (`edit_version`): see `edit_check`."""
    if not edit_check(obj=placement, version=version):
        return placement
    user = history_user(actor)
    if placement.pk is None:
        placement.created_by = user
    # A placement moved to another worker (entered on the wrong one): the first worker's derived
    # data (placed since, report facts) is recomputed too, or they would stay counted as placed.
    stored_worker, stored_date = (
        Placement.objects.filter(pk=placement.pk).values_list("worker_id", "placed_on").first()
        if placement.pk is not None
        else None
    ) or (None, None)
    placement.updated_by = user
    placement.full_clean()
    _attributed(placement, actor).save()
    _registered_from_placements(
        [placement.worker_id, stored_worker], actor, released={stored_worker: stored_date}
    )
    _ledger_changed([placement.worker_id, stored_worker])
    return placement


def _registered_from_placements(worker_ids, actor, released: dict | None = None) -> None:
    """A worker whose diversion date is only the day they were registered (no date stated for
    them) was to be placed from their earliest placement at the latest: their date moves back
    to it, as the roster import does (placement.imports), so that the same records give the
    same figures whichever way they were entered. `released`: {worker id: the date of a
    placement deleted or re-dated}; where that placement is what set the worker's date, the
    date is worked out again (the registration day, or a remaining earlier placement)."""
    released = released or {}
    workers = Worker.objects.filter(
        pk__in=[pk for pk in set(worker_ids) if pk], registered_on_source=DiversionSource.IMPORT
    ).annotate(earliest=Min("placements__placed_on"))
    for worker in workers:
        wanted = worker.registered_on
        if worker.earliest and worker.earliest < wanted:
            wanted = worker.earliest
        elif released.get(worker.pk) == worker.registered_on:
            registered = timezone.localdate(worker.created_at)
            wanted = min(registered, worker.earliest) if worker.earliest else registered
            wanted = max(wanted, worker.registered_on)  # only taken back, never moved earlier
        if wanted != worker.registered_on:
            worker.registered_on = wanted
            _attributed(worker, actor).save(update_fields=["registered_on", "updated_at"])


@transaction.atomic
def placement_delete(*, placement: Placement, actor) -> None:
    """Delete a placement entered by mistake (one that ended is ended, not deleted)."""
    worker_id, placed_on = placement.worker_id, placement.placed_on
    _attributed(placement, actor).delete()
    _registered_from_placements([worker_id], actor, released={worker_id: placed_on})
    _ledger_changed([worker_id])


@transaction.atomic
def placements_delete(*, placements, actor) -> int:
    """Delete several placements (the admin's bulk action); returns how many."""
    placements = list(placements)
    for placement in placements:
        _attributed(placement, actor).delete()
    _registered_from_placements(
        [placement.worker_id for placement in placements],
        actor,
        released={placement.worker_id: placement.placed_on for placement in placements},
    )
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
        # New workers have no placement but these: their derived column is written with them.
        for placement in placements:
            worker = placement.worker
            if placement.ended_on is None and (
                worker.placed_open_since is None or placement.placed_on < worker.placed_open_since
            ):
                worker.placed_open_since = placement.placed_on
        bulk_insert(Worker, workers)
        for placement in placements:
            worker = placement.worker
            # Setting worker_id drops the cached worker object (Django): read it first.
            placement.enterprise_id = worker.enterprise_id
            placement.worker_id = worker.pk
            placement.created_by = placement.updated_by = user
        bulk_insert(Placement, placements)
        if history:
            history_record_bulk(workers, model=Worker, user=actor, source=source)
            history_record_bulk(placements, model=Placement, user=actor, source=source)
        new_ids += [worker.pk for worker in workers]
        written[0] += len(workers)
        written[1] += len(placements)
    _ledger_changed(new_ids, derived_written=True)
    _analyze_ledger(workers=written[0], placements=written[1], history=history)
    return written[0], written[1]


# The columns of a new worker and of their placement in `workers_bulk_add`'s rows.
NEW_WORKER_FIELDS = [
    "enterprise_id",
    "id_number_digest",
    "id_number_cipher",
    "name",
    "sex",
    "birth_date",
    "post",
    "status",
    "special_work_type",
    "hire_date",
    "phone",
    "diversion_year",
    "registered_on",
    "registered_on_source",
]
NEW_PLACEMENT_FIELDS = ["channel", "placed_on", "destination_unit"]


@transaction.atomic(savepoint=False)
def workers_bulk_add(
    *, batches: Iterable[list[tuple[tuple, tuple | None]]], actor, source: str
) -> tuple[int, int]:
    """Insert new workers and their placements given as plain tuples, already checked row by
    row by the caller (the roster import): each batch a list of (the worker's values in
    NEW_WORKER_FIELDS' order, their placement's in NEW_PLACEMENT_FIELDS' order or None). No
    model instance is built (`database.bulk.insert_rows`); one history row each; the new
    workers' report facts are computed from these values instead of being read back:
    `ledger_changed` is sent with no `worker_ids` and with `new_workers`, each as (id,
    enterprise id, diversion date, placements as (pk, channel, placed_on, ended_on)), which
    is all data derived from a new worker depends on. Returns (workers, placements) written."""
    user_id = getattr(history_user(actor), "pk", None)
    enterprise_at = NEW_WORKER_FIELDS.index("enterprise_id")
    registered_at = NEW_WORKER_FIELDS.index("registered_on")
    channel_at = NEW_PLACEMENT_FIELDS.index("channel")
    placed_at = NEW_PLACEMENT_FIELDS.index("placed_on")
    placement_fields = [
        *NEW_PLACEMENT_FIELDS,
        "worker_id",
        "enterprise_id",
        "created_by_id",
        "updated_by_id",
    ]
    new_workers: list[tuple] = []
    written = [0, 0]
    for batch in batches:
        # A new worker's one placement never ended: their Worker.placed_open_since is its date.
        worker_ids = insert_rows(
            Worker,
            [*NEW_WORKER_FIELDS, "placed_open_since"],
            [
                (*worker, placement[placed_at] if placement is not None else None)
                for worker, placement in batch
            ],
        )
        placed = [
            (*placement, worker_id, worker[enterprise_at], user_id, user_id)
            for worker_id, (worker, placement) in zip(worker_ids, batch, strict=True)
            if placement is not None
        ]
        placement_ids = insert_rows(Placement, placement_fields, placed)
        history_record_ids(worker_ids, model=Worker, user=actor, source=source)
        history_record_ids(placement_ids, model=Placement, user=actor, source=source)
        next_placement_id = iter(placement_ids).__next__
        for worker_id, (worker, placement) in zip(worker_ids, batch, strict=True):
            placements = []
            if placement is not None:
                placements.append(
                    (next_placement_id(), placement[channel_at], placement[placed_at], None)
                )
            new_workers.append(
                (worker_id, worker[enterprise_at], worker[registered_at], placements)
            )
        written[0] += len(worker_ids)
        written[1] += len(placed)
    if new_workers:
        ledger_changed.send(sender=Worker, worker_ids=set(), new_workers=new_workers)
    _analyze_ledger(workers=written[0], placements=written[1])
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
    if connection.vendor == "postgresql":
        _workers_update(changes=changes, actor=actor, source=source, batch_size=batch_size)
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
    _analyze_ledger(workers=len(ids))


def _workers_update(*, changes: dict[int, dict], actor, source: str, batch_size: int) -> None:
    """PostgreSQL: `workers_bulk_correct` as one UPDATE … FROM unnest(…) a batch, each changed
    column sent as an array of values beside an array of flags saying whose value it is (a
    worker keeps the columns that did not change for them). Loading the workers as model
    instances and upserting every column took 11 s of a 10%-changed 100,000-row re-import under
    cProfile."""
    ids = list(changes)
    moved = []
    quote = connection.ops.quote_name
    now = timezone.now()
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        fields = sorted({field for worker_id in batch for field in changes[worker_id]})
        sets, arrays, names, params = [], ["%s::bigint[]"], ["id"], [batch]
        for index, name in enumerate(fields):
            field = Worker._meta.get_field(name)
            column = quote(field.column)
            sets.append(f"{column} = CASE WHEN t.s{index} THEN t.v{index} ELSE w.{column} END")
            arrays += [f"%s::{column_type(field)}[]", "%s::boolean[]"]
            names += [f"v{index}", f"s{index}"]
            params.append([changes[worker_id].get(name) for worker_id in batch])
            params.append([name in changes[worker_id] for worker_id in batch])
        sql = "UPDATE {} AS w SET {}, {} = %s FROM unnest({}) AS t({}) WHERE w.{} = t.id".format(
            quote(Worker._meta.db_table),
            ", ".join(sets),
            quote("updated_at"),
            ", ".join(arrays),
            ", ".join(names),
            quote("id"),
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [now, *params])
        history_record_ids(batch, model=Worker, user=actor, source=source, update=True)
        # A new diversion date moves the worker in the reports.
        moved += [worker_id for worker_id in batch if "registered_on" in changes[worker_id]]
    _ledger_changed(moved)
    _analyze_ledger(workers=len(ids))


@transaction.atomic(savepoint=False)
def placements_bulk_add(*, placements: list[Placement], actor, source: str) -> None:
    """Insert placements of stored workers (an import's new placement dates)."""
    if not placements:
        return
    user = history_user(actor)
    for placement in _enterprise_filled(placements):
        placement.created_by = placement.updated_by = user
    for start in range(0, len(placements), BATCH):
        batch = placements[start : start + BATCH]
        bulk_insert(Placement, batch)
        history_record_bulk(batch, model=Placement, user=actor, source=source)
    _ledger_changed(placement.worker_id for placement in placements)
    _analyze_ledger(placements=len(placements))


@transaction.atomic(savepoint=False)
def placements_bulk_correct(
    *, placements: list[Placement], fields: list[str], actor, source: str
) -> None:
    """Update the given fields of stored placements (objects carrying their pk and new values)."""
    if not placements:
        return
    user = history_user(actor)
    # An upsert's rows carry every NOT NULL column, the enterprise's copy too (unchanged).
    for placement in _enterprise_filled(placements):
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
    _analyze_ledger(placements=len(placements))


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
    # No worker changed, but the reports of these regions and enterprises did (cached figures).
    ledger_changed.send(
        sender=AnnualTarget,
        worker_ids=set(),
        enterprise_ids={t.enterprise_id for t in (*creates, *updates)},
        region_ids={t.region_id for t in (*creates, *updates)},
    )


def _analyze_ledger(*, workers: int = 0, placements: int = 0, history: bool = True) -> None:
    """Statistics for the tables a bulk write filled (database.analyze: at commit, and only
    past its threshold), each counted with the rows written into it."""
    rows = {Worker: workers, Placement: placements}
    if history:
        rows |= {Worker.history.model: workers, Placement.history.model: placements}
    tables_analyze(rows={model: n for model, n in rows.items() if n})


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
