"""Statutory retirement dates (法定退休年龄), the one place that knows the rules.

Before 2025 (国发〔1978〕104号): men 60, women cadres 55, women workers 50; special types of work
(underground and similar) men 55, women 45. From 2025-01-01 the ages rise gradually (全国人大常委会
关于实施渐进式延迟法定退休年龄的决定, 2024): let k be the months from 2025-01 to the month the old
age is reached; men and women with an old age of 55 retire min(k // 4 + 1, 36) months later (up
to 63 and 58), women with an old age of 50 retire min(k // 2 + 1, 60) months later (up to 55).
How the reform treats special types of work is not settled; `_special_work_type_delay` is the
single place to change when it is.

Every date is the birth date plus one whole number of months, added in one step: adding the old
age first would clamp a 29 February birth to the 28th and carry that day into the result (a woman
worker born 1976-02-29 retires on 2026-09-29, not the 28th).
"""

import calendar
import datetime
from dataclasses import dataclass

from django.conf import settings

REFORM_START = datetime.date(2025, 1, 1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Same day of month, `months` later, clamped to the month's end (29 Feb → 28 Feb)."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    if day.day <= 28:
        # Every month has the day (an import checks 80,000 placements: monthrange's weekday
        # took most of the check).
        return datetime.date(year, month + 1, day.day)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


def old_retirement_age(*, sex: str, cadre: bool, special_work_type: bool) -> int:
    """The pre-2025 statutory age in years."""
    if sex == "M":
        return 55 if special_work_type else 60
    if special_work_type:
        return 45
    return 55 if cadre else 50


def _special_work_type_delay(months_after_reform: int) -> int:
    # The reform keeps early retirement for special types of work but has not said by how much
    # their ages rise; until it does, they keep the old ages.
    return 0


def reform_delay_months(
    *, old_age_reached: datetime.date, old_age: int, sex: str, special_work_type: bool
) -> int:
    """How many months the 2025 reform adds for someone who reaches the old age on that date."""
    k = (old_age_reached.year - REFORM_START.year) * 12 + (old_age_reached.month - 1)
    if k < 0:
        return 0
    if special_work_type:
        return _special_work_type_delay(k)
    if sex == "F" and old_age == 50:
        return min(k // 2 + 1, 60)
    return min(k // 4 + 1, 36)


def retirement_age_months(
    *, birth_date: datetime.date, sex: str, cadre: bool, special_work_type: bool
) -> tuple[int, int]:
    """The old and the new statutory retirement age, in months after the birth date."""
    old_age = old_retirement_age(sex=sex, cadre=cadre, special_work_type=special_work_type)
    # Only the month the old age is reached matters to the delay, so a clamped day is harmless.
    reached = add_months(birth_date, old_age * 12)
    delay = reform_delay_months(
        old_age_reached=reached, old_age=old_age, sex=sex, special_work_type=special_work_type
    )
    return old_age * 12, old_age * 12 + delay


def statutory_retirement_date(
    *, birth_date: datetime.date, sex: str, cadre: bool, special_work_type: bool
) -> datetime.date:
    """The date a worker reaches the statutory retirement age, the 2025 reform included."""
    _, new_months = retirement_age_months(
        birth_date=birth_date, sex=sex, cadre=cadre, special_work_type=special_work_type
    )
    return add_months(birth_date, new_months)


@dataclass(frozen=True)
class Window:
    """A span of dates, both ends included."""

    start: datetime.date
    end: datetime.date


# 弹性退休: at most three years earlier (never before the old age) or later than the new age.
FLEXIBLE_MONTHS = 36


def flexible_retirement_window(
    *, birth_date: datetime.date, sex: str, cadre: bool, special_work_type: bool
) -> Window | None:
    """When the 2024 decision lets the worker choose to retire (弹性退休): from the later of the
    old statutory age and three years before the new one, to three years after the new one.

    None for a worker who reached the old age before 2025: the decision came into force on
    2025-01-01 and changed nothing for them. (The decision also asks for the minimum years of
    contributions for an early choice and the employer's agreement for a later one: the ledger
    does not hold either, so the window is the most the rules allow.)
    """
    old_months, new_months = retirement_age_months(
        birth_date=birth_date, sex=sex, cadre=cadre, special_work_type=special_work_type
    )
    if add_months(birth_date, old_months) < REFORM_START:
        return None
    return Window(
        start=add_months(birth_date, max(old_months, new_months - FLEXIBLE_MONTHS)),
        end=add_months(birth_date, new_months + FLEXIBLE_MONTHS),
    )


def internal_retirement_window_start(retirement_date: datetime.date) -> datetime.date:
    """The first day internal retirement (内部退养) is allowed: the configured number of years
    (5 by default) before the statutory retirement date."""
    years = settings.LEDGER_INTERNAL_RETIREMENT_WINDOW_YEARS
    return add_months(retirement_date, -12 * years)


def internal_retirement_window(retirement_date: datetime.date) -> Window:
    """The days on which internal retirement is allowed: from the window's start to the day
    before the statutory retirement date."""
    return Window(
        start=internal_retirement_window_start(retirement_date),
        end=retirement_date - datetime.timedelta(days=1),
    )


def internal_retirement_allowed(*, retirement_date: datetime.date, on: datetime.date) -> bool:
    """Whether a worker retiring on `retirement_date` may retire internally on the date `on`."""
    return internal_retirement_window_start(retirement_date) <= on < retirement_date
