"""The one formula rule of every export: text a spreadsheet program would run gets an apostrophe,
numbers stay numbers, and an import takes the apostrophe off again."""

import decimal
import io

import pytest
from openpyxl import load_workbook

from spreadsheets.formulas import escape_formula, unescape_formula
from spreadsheets.results import RowError, error_report_xlsx


@pytest.mark.parametrize(
    "value",
    [
        "=HYPERLINK(1)",
        "+1",
        "-2",
        "@SUM(A1)",
        "\t=HYPERLINK(1)",
        "\r=1+1",
        "\n=1+1",
        "\tplain text after a tab",
        "＝1+1",
        "＋1",
        "－1",
        "＠SUM(A1)",
        "﹦1+1",  # a small form, folded into "=" like the full-width one
        " =1+1",
        "\u3000=1+1",
        "\u00a0-1",
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(value):
    assert escape_formula(value) == "'" + value
    assert unescape_formula(escape_formula(value)) == value


@pytest.mark.parametrize(
    "value",
    ["太原市", "—", "", " ", "0351-7654321", "1970-05-01", "a=b", "（集团）"],
)
def test_other_text_is_left_alone(value):
    assert escape_formula(value) == value
    assert unescape_formula(value) == value


def test_an_escaped_value_is_not_escaped_twice():
    assert escape_formula("'=1+1") == "'=1+1"


@pytest.mark.parametrize("value", [-5, -1.5, decimal.Decimal("-33.3"), 0, None, True])
def test_numbers_stay_numbers(value):
    assert escape_formula(value) is value


def test_attack_formula_after_tab_or_full_width_equals_in_import_error_report():
    report = error_report_xlsx([RowError(3, "＝1+1", '\t=HYPERLINK("http://x")')])
    sheet = load_workbook(io.BytesIO(report)).active
    assert [cell.value for cell in sheet[2]] == ["3", "'＝1+1", '\'\t=HYPERLINK("http://x")']
