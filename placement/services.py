"""Writes to the ledger. The admin, the importer, the command line and the tests all go through
these functions, so every rule is applied on every path."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from enterprises.models import Enterprise, Region

from . import idnumbers, rules
from .access import duplicate_message, duplicate_names, duplicates_outside_scope_record
from .models import Placement, Worker
from .rules import BIRTH_DATE_CONTRADICTS_ID, SEX_CONTRADICTS_ID  # noqa: F401


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
    to `user`."""
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
