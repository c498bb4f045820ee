"""Writes to the ledger. The admin, the importer, the command line and the tests all go through
these functions, so every rule is applied on every path."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from enterprises.models import Enterprise, Region

from . import idnumbers, rules
from .models import ID_NUMBER_ALREADY_REGISTERED, Placement, Worker
from .rules import BIRTH_DATE_CONTRADICTS_ID, SEX_CONTRADICTS_ID  # noqa: F401


def worker_identity_check(
    *,
    id_number,
    sex: str | None = None,
    birth_date: datetime.date | None = None,
    birth_month_only: bool = False,
    enterprise: Enterprise | None = None,
    exclude_pk: int | None = None,
) -> idnumbers.ParsedIdNumber:
    """Check a typed ID number and any sex or birth date given beside it; refuse a number
    registered at another enterprise, naming that enterprise. Returns the parsed number."""
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
        .select_related("enterprise")
        .first()
    )
    if existing is not None:
        errors["id_number"] = ValidationError(
            ID_NUMBER_ALREADY_REGISTERED,
            code="id_number_registered",
            params={"enterprise": existing.enterprise.name},
        )
    if errors:
        raise ValidationError(errors)
    return parsed


@transaction.atomic
def worker_register(*, enterprise: Enterprise, id_number: str, name: str, **fields) -> Worker:
    """Register a worker by real name. Sex and birth date come from the ID number; if given, they
    must agree with it."""
    parsed = worker_identity_check(
        id_number=id_number,
        sex=fields.pop("sex", None),
        birth_date=fields.pop("birth_date", None),
        enterprise=enterprise,
    )
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
