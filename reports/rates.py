"""The three ratios of DOMAIN.md ("Rates"), computed from integer counts with Decimal and rounded
once, half up (四舍五入), for display only. None stands for a ratio that cannot be given (no
target, nobody to place); templates and exports show it as "—", JSON as null."""

import calendar
import datetime
from decimal import ROUND_HALF_UP, Decimal

MISSING = "—"
_HUNDRED = Decimal(100)


def percent(numerator: int, denominator: int | None, *, places: int) -> Decimal | None:
    """numerator ÷ denominator × 100, rounded once half up to `places` decimals; None if the
    denominator is missing or zero."""
    if not denominator:
        return None
    exact = Decimal(numerator) * _HUNDRED / Decimal(denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number_format(value) -> str | None:
    """The spreadsheet number format that shows a rounded rate as the page does, with its own
    decimals (90.00, 100.0): stored as a plain number, a cell would show 90 and 100."""
    if not isinstance(value, Decimal):
        return None
    places = -value.as_tuple().exponent
    return "0." + "0" * places if places > 0 else "0"


def placement_rate(*, placed: int, to_place: int) -> Decimal | None:
    """安置率: 2 decimals, because near 100% one decimal would hide the unplaced."""
    return percent(placed, to_place, places=2)


def target_completion(*, placed_in_year: int, target: int | None) -> Decimal | None:
    """任务完成率: 1 decimal; None ("—") when the target is missing or zero."""
    return percent(placed_in_year, target, places=1)


def share(*, part: int, whole: int) -> Decimal | None:
    """构成: a channel's or category's share of all placed, 1 decimal."""
    return percent(part, whole, places=1)


def days_passed(*, year: int, as_of: datetime.date) -> int:
    """Days of `year` passed at the end of the as-of day (the as-of day itself counts)."""
    if as_of.year < year:
        return 0
    if as_of.year > year:
        return days_in_year(year)
    return as_of.timetuple().tm_yday


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def elapsed_share(*, year: int, as_of: datetime.date) -> Decimal:
    """序时进度: days passed ÷ days in the year, 1 decimal. The as-of day counts as passed, so
    30 June of a common year is 181/365 = 49.6% and 31 December is 100.0%."""
    return percent(days_passed(year=year, as_of=as_of), days_in_year(year), places=1)


def as_text(value: Decimal | None) -> str:
    """A rate for display: "99.97", or "—" when it cannot be given."""
    return MISSING if value is None else str(value)


def as_json(value: Decimal | None) -> str | None:
    """A rate for JSON: the string "99.97", or null."""
    return None if value is None else str(value)
