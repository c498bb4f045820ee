"""Annual target import: keyed on (year, region) or (year, enterprise); idempotent."""

from access.actors import SYSTEM
from placement.imports import TARGET_DUPLICATE_IN_FILE, TARGET_SCOPE_REQUIRED, target_import
from placement.models import AnnualTarget
from tests.conftest import xlsx_bytes

HEADERS = ["年度", "地区代码", "统一社会信用代码", "目标任务（人）"]


def xlsx(rows) -> bytes:
    return xlsx_bytes([HEADERS, *rows])


def run(rows, **kwargs):
    kwargs.setdefault("user", SYSTEM)
    return target_import(data=xlsx(rows), filename="t.xlsx", **kwargs)


def test_targets_for_regions_and_enterprises_are_created_then_recognised_as_unchanged(enterprise):
    rows = [[2017, "140000", None, 21300], [2017, "140100", None, "5,000"]]
    rows.append([2017, None, enterprise.credit_code, 120])
    result = run(rows)
    assert result.errors == []
    assert result.created == 3
    assert AnnualTarget.objects.get(enterprise=enterprise).workers == 120
    again = run(rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    rows[0][3] = 21400
    changed = run(rows)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 2)
    assert AnnualTarget.objects.get(region__code="140000").workers == 21400


def test_a_row_with_no_scope_or_a_repeated_scope_is_refused(enterprise):
    rows = [[2017, None, None, 10], [2017, "140100", None, 5], [2017, "140100", None, 6]]
    result = run(rows)
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (2, "地区代码", str(TARGET_SCOPE_REQUIRED)),
        (4, "地区代码", TARGET_DUPLICATE_IN_FILE % {"first": 3, "row": 4}),
    ]
    assert AnnualTarget.objects.count() == 0


def test_a_zero_target_is_imported_and_a_bad_number_is_reported(db):
    result = run([[2018, "140100", None, 0], [2018, "140200", None, "许多"]])
    assert [(e.row, e.column) for e in result.errors] == [(3, "目标任务（人）")]
    result = run([[2018, "140100", None, 0]])
    assert result.created == 1
    assert AnnualTarget.objects.get(year=2018).workers == 0


def test_a_target_import_records_history_with_its_batch(enterprise):
    rows = [[2017, "140000", None, 21300]]
    run(rows)
    rows[0][3] = 21299
    run(rows)
    kinds = list(AnnualTarget.history.order_by("history_id").values_list("history_type", "workers"))
    assert kinds == [("+", 21300), ("~", 21299)]
    assert AnnualTarget.history.first().history_source.startswith("import:targets:")


def test_a_negative_or_huge_target_is_refused_before_anything_is_written(db):
    from placement.imports import TARGET_OUT_OF_RANGE

    for workers in (-5, 1e19):
        result = run([[2017, "140000", None, workers]])
        assert [(e.row, e.message) for e in result.errors] == [(2, str(TARGET_OUT_OF_RANGE))]
    assert not AnnualTarget.objects.exists()
