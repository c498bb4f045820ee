"""Enterprise import: keyed on the credit code, regions by code or name, groups by credit code
(also from the same file); idempotent; all or nothing."""

import io

from access.actors import SYSTEM
from enterprises.imports import (
    OUT_OF_SCOPE,
    PARENT_NESTED,
    PARENT_UNKNOWN,
    REGION_AMBIGUOUS,
    REGION_OUT_OF_SCOPE,
    enterprise_import,
)
from enterprises.models import Enterprise, Region
from enterprises.validators import CREDIT_CODE_INVALID
from placement.demo import credit_code
from tests.conftest import xlsx_bytes

HEADERS = ["企业名称", "统一社会信用代码", "行业", "所在地区代码", "所属集团统一社会信用代码"]
GROUP = credit_code("140100", 501)
MINE = credit_code("140105", 502)


def xlsx(rows, headers=HEADERS) -> bytes:
    return xlsx_bytes([["企业名单"], headers, *rows])


def run(rows, **kwargs):
    kwargs.setdefault("user", SYSTEM)
    return enterprise_import(data=xlsx(rows), filename="e.xlsx", **kwargs)


ROWS = [
    ["样例煤矿一矿", MINE, "煤炭", "小店区", GROUP],
    ["样例集团", GROUP, "煤炭", "140100", None],
]


def test_enterprises_and_a_group_from_the_same_file_are_created_and_linked(db):
    result = run(ROWS)
    assert result.errors == []
    assert result.created == 2
    mine = Enterprise.objects.get(credit_code=MINE)
    assert (mine.region.code, mine.parent.credit_code, mine.industry) == ("140105", GROUP, "coal")


def test_reimporting_changes_nothing_and_a_changed_name_updates_one_row(db):
    run(ROWS)
    again = run(ROWS)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    rows = [list(r) for r in ROWS]
    rows[0][0] = "样例煤矿一矿（更名）"
    changed = run(rows)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    assert Enterprise.objects.get(credit_code=MINE).name == "样例煤矿一矿（更名）"


def test_bad_rows_are_listed_and_nothing_is_written(db):
    rows = [
        ["坏代码煤矿", "91140105000000000X", "煤炭", "140105", None],
        ["无名集团成员", credit_code("140105", 503), "钢铁", "140105", credit_code("140105", 504)],
        ["城区煤矿", credit_code("140105", 505), "其他", "城区", None],
        *ROWS,
    ]
    result = run(rows)
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (3, "统一社会信用代码", str(CREDIT_CODE_INVALID)),
        (4, "所属集团统一社会信用代码", PARENT_UNKNOWN % {"value": credit_code("140105", 504)}),
        (5, "所在地区代码", REGION_AMBIGUOUS % {"value": "城区"}),
    ]
    assert Enterprise.objects.count() == 0


def test_exported_enterprises_import_back_unchanged(admin_client, make_enterprise, taiyuan):
    from django.urls import reverse
    from openpyxl import load_workbook

    group = make_enterprise(name="样例集团（导出）", region=taiyuan)
    make_enterprise(name="=样例矿", parent=group)
    response = admin_client.post(
        reverse("admin:enterprises_enterprise_export"), {"format": "0", "resource": "0"}
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert "'=样例矿" in [row[0] for row in rows]
    result = enterprise_import(data=xlsx(rows[1:], headers=rows[0]), filename="e.xlsx", user=SYSTEM)
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)


def test_a_file_without_the_group_column_leaves_group_links_alone(db):
    run(ROWS)
    result = enterprise_import(
        data=xlsx([row[:4] for row in ROWS], headers=HEADERS[:4]),
        filename="e.xlsx",
        user=SYSTEM,
    )
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert Enterprise.objects.get(credit_code=MINE).parent.credit_code == GROUP


def test_a_changed_group_is_shown_by_credit_code(db):
    other = credit_code("140100", 503)
    run([*ROWS, ["另一集团", other, "煤炭", "140100", None]])
    result = run([["样例煤矿一矿", MINE, "煤炭", "小店区", other]], dry_run=True)
    assert result.changes[0].fields == [("所属集团统一社会信用代码", GROUP, other)]


def test_groups_do_not_nest_or_loop(db):
    a, b = credit_code("140105", 601), credit_code("140105", 602)
    result = run([["甲", a, "煤炭", "140105", b], ["乙", b, "煤炭", "140105", a]])
    assert [e.message for e in result.errors] == [
        PARENT_NESTED % {"value": b},
        PARENT_NESTED % {"value": a},
    ]
    run(ROWS)
    result = run([["样例集团", GROUP, "煤炭", "140100", credit_code("140100", 503)]])
    assert result.errors  # the group has members: it cannot join another group


def test_a_user_changes_only_enterprises_and_regions_in_their_scope(db, make_user):
    run(ROWS)
    city = make_user("city", username="datong-staff", region=Region.objects.get(code="140200"))
    result = run([["样例煤矿一矿改", MINE, "煤炭", "140212", None]], user=city)
    assert [e.message for e in result.errors] == [OUT_OF_SCOPE % {"value": MINE}]
    result = run([["大同新矿", credit_code("140105", 700), "煤炭", "140105", None]], user=city)
    assert [e.message for e in result.errors] == [REGION_OUT_OF_SCOPE % {"value": "140105"}]
    assert Enterprise.objects.get(credit_code=MINE).name == "样例煤矿一矿"
