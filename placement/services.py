"""Writes to the ledger. The admin, the importer, the command line and the tests all go through
these functions, so every rule is applied on every path."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.history import current_source, current_user, history_bulk_update
from enterprises.models import Enterprise, Region

from . import idnumbers, rules
from .access import duplicate_message, duplicate_names, duplicates_outside_scope_record
from .models import DiversionSource, Placement, Worker
from .rules import BIRTH_DATE_CONTRADICTS_ID, SEX_CONTRADICTS_ID  # noqa: F401
from .signals import workers_bulk_changed

WORKERS_FOLLOWED_ENTERPRISE_DATE = _(
    "%(moved)s 名职工的分流时间随企业的分流安置方案实施日期改变；"
    "%(kept)s 名职工在此日期前已安置，保留原分流时间"
)
# Workers whose diversion date is not their own: they follow their enterprise's date.
FOLLOWING_SOURCES = [DiversionSource.ENTERPRISE, DiversionSource.IMPORT]
FOLLOW_BATCH = 1000


def worker_identity_check(
    *,
    id_number,
    sex: str | None = None,
    birth_date: datetime.date | None = None,
    birth_month_only: bool = False,
    enterprise: Enterprise | None = None,
    exclude_pk: int | None = None,
    user=None,
    request=None,
) -> idnumbers.ParsedIdNumber:
    """Check a typed ID number and any sex or birth date given beside it; refuse a number
    already registered, naming the enterprise only if `user` may see it (else the refusal is
    written to the access log; `request` only gives the log its page and address). Returns the
    parsed number. `user=None` is trusted code or the server's operator, who sees everything."""
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
    *, enterprise: Enterprise, id_number: str, name: str, user=None, request=None, **fields
) -> Worker:
    """Register a worker by real name. Sex and birth date come from the ID number; if given, they
    must agree with it. A number already registered is told as `worker_identity_check` tells it
    to `user`. Without a diversion date the enterprise's applies, else today's."""
    # Checked before the transaction opens: refusing a number registered outside the user's scope
    # writes an access-log row, which rolling the refused registration back would take with it.
    parsed = worker_identity_check(
        id_number=id_number,
        sex=fields.pop("sex", None),
        birth_date=fields.pop("birth_date", None),
        enterprise=enterprise,
        user=user,
        request=request,
    )
    if "registered_on" not in fields and enterprise.diversion_date:
        fields["registered_on"] = enterprise.diversion_date
        fields.setdefault("registered_on_source", DiversionSource.ENTERPRISE)
    with transaction.atomic():
        worker = Worker(enterprise=enterprise, name=name, **fields)
        worker.set_id_number(parsed)
        worker.full_clean()
        worker.save()
    return worker


@transaction.atomic
def worker_update(*, worker: Worker, **fields) -> Worker:
    """Change a worker's own fields (not the ID number: a wrong number is a new registration)."""
    for field, value in fields.items():
        setattr(worker, field, value)
    worker.full_clean()
    worker.save()
    return worker


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
    user=None,
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
        created_by=user,
        updated_by=user,
    )
    placement.full_clean()
    placement.save()
    return placement


@transaction.atomic
def placement_end(*, placement: Placement, ended_on: datetime.date, user=None) -> Placement:
    """End a placement (e.g. a flexible job that stopped); it stays in the worker's history."""
    placement.ended_on = ended_on
    placement.updated_by = user
    placement.full_clean()
    placement.save()
    return placement


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
        workers_bulk_changed.send(sender=Worker, worker_ids=[worker.pk for worker in batch])
    return len(moved), kept


def _enterprise_dates_changed(sender, enterprises, **kwargs) -> str:
    """Receiver of enterprises.signals.enterprise_diversion_dates_changed: the answer is shown
    to the user who changed the date."""
    moved, kept = enterprise_diversion_date_apply(enterprises=enterprises)
    return str(WORKERS_FOLLOWED_ENTERPRISE_DATE % {"moved": moved, "kept": kept})
