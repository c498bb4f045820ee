"""Cell values that a spreadsheet would run as formulas unless escaped: shared by the tests of
every export path (report tables, the admin's exports)."""

import pytest

FORMULA_ATTACKS = [
    pytest.param('\t=HYPERLINK("http://x")', id="tab"),
    pytest.param("\r=1+1", id="cr"),
    pytest.param("\n=1+1", id="lf"),
    pytest.param("＝1+1", id="full-width-equals"),
    pytest.param("＋1", id="full-width-plus"),
    pytest.param("－1", id="full-width-minus"),
    pytest.param("＠SUM(A1)", id="full-width-at"),
    pytest.param(" =1+1", id="space"),
    pytest.param("\u3000=1+1", id="ideographic-space"),
]


def as_written(value: str) -> str:
    """The escaped cell as read back from the .xlsx (XML reads a carriage return as a line
    feed)."""
    return "'" + value.replace("\r", "\n")
