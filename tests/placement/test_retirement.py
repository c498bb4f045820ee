import datetime

import pytest

from placement.retirement import internal_retirement_allowed, statutory_retirement_date


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
