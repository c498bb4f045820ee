"""The per-row rules of a worker and a placement, as plain functions.

One worker typed into the admin and a hundred thousand read from a roster are checked by the same
code: services.worker_identity_check and Placement.clean call these, and so does the importer.
Each returns {field: ValidationError}; an empty dict means the row is fine.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import idnumbers, retirement
from .channels import Channel

BIRTH_DATE_CONTRADICTS_ID = _("出生日期与公民身份号码不符（号码中为 %(expected)s）")
SEX_CONTRADICTS_ID = _("性别与公民身份号码不符（号码中为“%(expected)s”）")
PLACEMENT_DATE_IN_FUTURE = _("安置日期不能晚于今天")
PLACEMENT_DATE_BEFORE_WORKING_AGE = _("安置日期早于职工年满 16 周岁的日期")
INTERNAL_RETIREMENT_OUTSIDE_WINDOW = _(
    "内部退养只适用于距法定退休日期（%(retirement)s）%(years)s 年以内的职工；"
    "安置日期应在 %(start)s 至 %(retirement)s 之间"
)
HIRED_BEFORE_BIRTH = _("参加工作时间应晚于出生日期")
PLACEMENT_BEFORE_DIVERSION = _(
    "安置时间（%(placed)s）早于分流时间（%(diverted)s，来源：%(source)s）：职工列入分流安置名单后才能安置"
)
DIVERSION_DATE_IN_FUTURE = _("分流时间不能晚于今天")

SEX_LABELS = {"M": _("男"), "F": _("女")}


def identity_contradictions(
    *,
    parsed: idnumbers.ParsedIdNumber,
    sex: str | None = None,
    birth_date: datetime.date | None = None,
    birth_month_only: bool = False,
) -> dict[str, ValidationError]:
    """A sex or birth date given beside an ID number must agree with it (a birth given to the month
    only is compared by month)."""
    errors = {}
    if sex and sex != parsed.sex:
        errors["sex"] = ValidationError(
            SEX_CONTRADICTS_ID,
            code="sex_contradicts_id",
            params={"expected": SEX_LABELS[parsed.sex]},
        )
    if birth_date:
        same = (
            (birth_date.year, birth_date.month) == (parsed.birth_date.year, parsed.birth_date.month)
            if birth_month_only
            else birth_date == parsed.birth_date
        )
        if not same:
            errors["birth_date"] = ValidationError(
                BIRTH_DATE_CONTRADICTS_ID,
                code="birth_date_contradicts_id",
                params={"expected": parsed.birth_date.isoformat()},
            )
    return errors


def hire_date_errors(
    *, birth_date: datetime.date | None, hire_date: datetime.date | None
) -> dict[str, ValidationError]:
    """The hire date must follow the birth date (the database holds the same rule)."""
    if birth_date and hire_date and hire_date <= birth_date:
        return {"hire_date": ValidationError(HIRED_BEFORE_BIRTH, code="hired_before_birth")}
    return {}


def placement_errors(
    *,
    channel: str,
    placed_on: datetime.date | None,
    birth_date: datetime.date | None,
    retirement_date: datetime.date | None,
    today: datetime.date | None = None,
) -> dict[str, ValidationError]:
    """Rules of one placement: not in the future, not before the worker turned 16, and internal
    retirement only inside the window before the statutory retirement date
    (人社部发〔2016〕32号)."""
    errors = {}
    today = today or timezone.localdate()
    if placed_on and placed_on > today:
        errors["placed_on"] = ValidationError(PLACEMENT_DATE_IN_FUTURE, code="future")
    if placed_on and birth_date:
        if placed_on < retirement.add_months(birth_date, 16 * 12):
            errors["placed_on"] = ValidationError(
                PLACEMENT_DATE_BEFORE_WORKING_AGE, code="before_working_age"
            )
        elif (
            channel == Channel.INTERNAL_RETIREMENT
            and retirement_date
            and not retirement.internal_retirement_allowed(
                retirement_date=retirement_date, on=placed_on
            )
        ):
            errors["channel"] = ValidationError(
                INTERNAL_RETIREMENT_OUTSIDE_WINDOW,
                code="internal_retirement_window",
                params={
                    "retirement": retirement_date.isoformat(),
                    "years": settings.LEDGER_INTERNAL_RETIREMENT_WINDOW_YEARS,
                    "start": retirement.internal_retirement_window_start(
                        retirement_date
                    ).isoformat(),
                },
            )
    return errors


def placement_diversion_errors(
    *,
    placed_on: datetime.date | None,
    diverted_on: datetime.date | None,
    source_label: str,
    month_only: bool = False,
) -> dict[str, ValidationError]:
    """A worker is placed only once diverted: a placement dated before the diversion date is an
    error (a placement given to the month only is compared by month)."""
    if not placed_on or not diverted_on:
        return {}
    if month_only:
        before = (placed_on.year, placed_on.month) < (diverted_on.year, diverted_on.month)
    else:
        before = placed_on < diverted_on
    if not before:
        return {}
    return {
        "placed_on": ValidationError(
            PLACEMENT_BEFORE_DIVERSION,
            code="placed_before_diversion",
            params={
                "placed": placed_on.isoformat()[: 7 if month_only else 10],
                "diverted": diverted_on.isoformat(),
                "source": source_label,
            },
        )
    }
