import datetime

import pytest

from placement.retirement import (
    Window,
    flexible_retirement_window,
    internal_retirement_allowed,
    internal_retirement_window,
    statutory_retirement_date,
)


@pytest.mark.parametrize(
    ("birth", "sex", "cadre", "special", "expected"),
    [
        # DOMAIN.md test vectors
        (datetime.date(1965, 1, 10), "M", False, False, datetime.date(2025, 2, 10)),
        (datetime.date(1971, 4, 10), "F", True, False, datetime.date(2026, 8, 10)),
        (datetime.date(1976, 9, 10), "M", False, False, datetime.date(2039, 9, 10)),
        # before the reform: the old ages
        (datetime.date(1958, 6, 1), "M", False, False, datetime.date(2018, 6, 1)),
        (datetime.date(1968, 6, 1), "F", False, False, datetime.date(2018, 6, 1)),
        (datetime.date(1963, 6, 1), "F", True, False, datetime.date(2018, 6, 1)),
        (datetime.date(1962, 6, 1), "M", False, True, datetime.date(2017, 6, 1)),
        (datetime.date(1972, 6, 1), "F", False, True, datetime.date(2017, 6, 1)),
        # women workers (old age 50): min(k // 2 + 1, 60) months
        (datetime.date(1975, 1, 15), "F", False, False, datetime.date(2025, 2, 15)),
        (datetime.date(1984, 12, 1), "F", False, False, datetime.date(2039, 12, 1)),
        # a man born one month before the full delay applies
        (datetime.date(1976, 8, 10), "M", False, False, datetime.date(2039, 7, 10)),
        # born on 29 February: the whole age is added in one step, so the day survives
        # 50 years + 7 months (k = 13)
        (datetime.date(1976, 2, 29), "F", False, False, datetime.date(2026, 9, 29)),
        # 55 years + 7 months (k = 25)
        (datetime.date(1972, 2, 29), "F", True, False, datetime.date(2027, 9, 29)),
        # 60 years reached on a 29 February (2028 is a leap year), + 10 months
        (datetime.date(1968, 2, 29), "M", False, False, datetime.date(2028, 12, 29)),
        # before the reform, in a leap year: the 29th itself
        (datetime.date(1964, 2, 29), "M", False, False, datetime.date(2024, 2, 29)),
        # 63 years, ending in a common year's February: its last day
        (datetime.date(1980, 2, 29), "M", False, False, datetime.date(2043, 2, 28)),
        # 50 years + 31 months (k = 61)
        (datetime.date(1980, 2, 29), "F", False, False, datetime.date(2032, 9, 29)),
    ],
)
def test_statutory_retirement_date(birth, sex, cadre, special, expected):
    assert (
        statutory_retirement_date(birth_date=birth, sex=sex, cadre=cadre, special_work_type=special)
        == expected
    )


def test_internal_retirement_is_allowed_only_within_five_years(settings):
    retires = datetime.date(2020, 6, 1)
    assert internal_retirement_allowed(retirement_date=retires, on=datetime.date(2015, 6, 1))
    assert not internal_retirement_allowed(retirement_date=retires, on=datetime.date(2015, 5, 31))
    assert not internal_retirement_allowed(retirement_date=retires, on=datetime.date(2020, 6, 1))
    settings.LEDGER_INTERNAL_RETIREMENT_WINDOW_YEARS = 10
    assert internal_retirement_allowed(retirement_date=retires, on=datetime.date(2010, 6, 1))


@pytest.mark.parametrize(
    ("birth", "sex", "cadre", "special", "expected"),
    [
        # the old age (50, in 2026) is later than three years before the new one (2026-09-29)
        (
            datetime.date(1976, 2, 29),
            "F",
            False,
            False,
            Window(datetime.date(2026, 2, 28), datetime.date(2029, 9, 29)),
        ),
        # the full delay (55): three years before it is later than the old age of 50
        (
            datetime.date(1984, 12, 1),
            "F",
            False,
            False,
            Window(datetime.date(2036, 12, 1), datetime.date(2042, 12, 1)),
        ),
        # a man at 63: from 60 (both rules agree) to 66
        (
            datetime.date(1976, 9, 10),
            "M",
            False,
            False,
            Window(datetime.date(2036, 9, 10), datetime.date(2042, 9, 10)),
        ),
        # a man born 1965-01 retires 2025-02: no earlier than at 60, in 2025-01
        (
            datetime.date(1965, 1, 10),
            "M",
            False,
            False,
            Window(datetime.date(2025, 1, 10), datetime.date(2028, 2, 10)),
        ),
        # born on 29 February, each end added in one step
        (
            datetime.date(1980, 2, 29),
            "M",
            False,
            False,
            Window(datetime.date(2040, 2, 29), datetime.date(2046, 2, 28)),
        ),
        # the old age reached before 2025: the decision changed nothing
        (datetime.date(1974, 12, 15), "F", False, False, None),
        (datetime.date(1964, 2, 29), "M", False, False, None),
    ],
)
def test_flexible_retirement_window(birth, sex, cadre, special, expected):
    assert (
        flexible_retirement_window(
            birth_date=birth, sex=sex, cadre=cadre, special_work_type=special
        )
        == expected
    )


def test_the_internal_retirement_window_ends_the_day_before_retirement():
    assert internal_retirement_window(datetime.date(2026, 9, 29)) == Window(
        datetime.date(2021, 9, 29), datetime.date(2026, 9, 28)
    )
