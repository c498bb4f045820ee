import datetime
import io
from types import SimpleNamespace

import openpyxl
import pytest
from django.urls import reverse

from enterprises.models import Enterprise
from placement.channels import Channel
from placement.models import AccessLog, AnnualTarget
from reports.exports import FiguresResource, xlsx_bytes
from tests.formula_attacks import FORMULA_ATTACKS, as_written


def sheet(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return [[cell.value for cell in row] for row in book.active.iter_rows()]


def test_children_export_has_a_title_row_and_the_page_figures(
    root_client, province, make_worker, place
):
    place(make_worker(), datetime.date(2017, 3, 1))
    make_worker()
    AnnualTarget.objects.create(year=2017, region=province, workers=3)

    rows = sheet(
        root_client.get(
            reverse("reports:region_export", args=["140000", "children"]),
            {"year": 2017, "as_of": "2017-06-30"},
        )
    )

    title = rows[0][0]
    assert "山西省" in title
    assert "2017年度" in title
    assert "截至 2017-06-30" in title
    assert "导出时间" in title
    assert rows[1] == [
        "名称",
        "需安置",
        "已安置",
        "待安置",
        "安置率（%）",
        "年内安置",
        "年度目标",
        "任务完成率（%）",
    ]
    assert rows[2] == ["山西省", 2, 1, 1, 50, 1, 3, 33.3]
    taiyuan = next(r for r in rows if r[0] == "太原市")
    assert taiyuan == ["太原市", 2, 1, 1, 50, 1, "—", "—"]
    assert len(rows) == 2 + 1 + 11


def test_channel_export_lists_every_channel_with_its_share(root_client, make_worker, place):
    place(make_worker(), datetime.date(2017, 3, 1), Channel.SELF_EMPLOYMENT)

    rows = sheet(
        root_client.get(
            reverse("reports:region_export", args=["140000", "channels"]),
            {"year": 2017, "as_of": "2017-06-30"},
        )
    )

    assert rows[1] == ["安置渠道", "已安置", "构成（%）"]
    assert len(rows) == 2 + 9
    assert ["自主择业", 1, 100] in rows
    assert ["内部安置", 0, 0] in rows


def test_an_enterprise_name_that_looks_like_a_formula_is_escaped(
    root_client, make_enterprise, make_worker, xiaodian
):
    make_worker(enterprise=make_enterprise(name='=HYPERLINK("http://x")'))

    rows = sheet(
        root_client.get(
            reverse("reports:region_export", args=[xiaodian.code, "children"]),
            {"year": 2017, "as_of": "2017-06-30"},
        )
    )

    assert '\'=HYPERLINK("http://x")' in [r[0] for r in rows]


@pytest.mark.parametrize("name", FORMULA_ATTACKS)
def test_attack_formula_after_tab_cr_or_full_width_sign_in_report_export(
    root_client, make_enterprise, make_worker, xiaodian, name
):
    Enterprise.objects.filter(pk=make_worker().enterprise_id).update(name=name)

    rows = sheet(
        root_client.get(
            reverse("reports:region_export", args=[xiaodian.code, "children"]),
            {"year": 2017, "as_of": "2017-06-30"},
        )
    )

    assert as_written(name) in [r[0] for r in rows]


def test_a_negative_number_stays_a_number_in_report_export():
    resource = FiguresResource()
    figures = [
        SimpleNamespace(
            name="－测试",
            to_place=-1,
            placed=0,
            pending=-1,
            placement_rate=None,
            placed_in_year=0,
            target=None,
            target_completion=None,
        )
    ]
    book = openpyxl.load_workbook(
        io.BytesIO(xlsx_bytes(sections=[(resource, figures)], title="=title", sheet_name="s"))
    )
    rows = [[cell.value for cell in row] for row in book.active.iter_rows()]
    assert rows[0][0] == "'=title"
    assert rows[2][:4] == ["'－测试", -1, 0, -1]


def test_worker_export_masks_id_numbers_and_shows_birth_year_only(
    root_client, enterprise, make_worker, place
):
    worker = make_worker(name="导出职工")
    place(worker, datetime.date(2017, 3, 1), Channel.TRANSFER_EMPLOYMENT)

    rows = sheet(
        root_client.get(
            reverse("reports:enterprise_export", args=[enterprise.pk, "workers"]),
            {"year": 2017, "as_of": "2017-06-30"},
        )
    )

    assert rows[1] == [
        "姓名",
        "公民身份号码",
        "性别",
        "出生年份",
        "岗位（工种）",
        "安置状态",
        "安置日期",
    ]
    name, number, sex, birth_year, _post, status, placed_on = rows[2]
    assert name == "导出职工"
    assert number == "140105********" + worker.id_number[14:]
    assert worker.id_number not in str(rows)
    assert (sex, birth_year, status) == ("男", 1970, "转移就业")
    assert placed_on.date() == datetime.date(2017, 3, 1)
    log = AccessLog.objects.get()
    assert (log.action, log.rows, log.full_numbers) == ("export", 1, False)
    assert log.target == f"reports.workers:enterprise-{enterprise.pk}"


def test_an_unknown_table_is_not_found(root_client, province):
    response = root_client.get(reverse("reports:region_export", args=["140000", "nope"]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("zh-hans", ["安置情况", "安置渠道构成", "类别与劳动关系", "进度靠后的企业"]),
        ("en", ["Placement", "Placement channel breakdown", "Categories and relations"]),
    ],
)
def test_each_exported_table_names_its_sheet_in_the_users_language(
    root_client, province, make_worker, language, names
):
    """Not tablib's "Tablib Dataset": the sheet's tab says what the table holds."""
    make_worker()
    root_client.cookies["django_language"] = language
    tabs = []
    for table in ["children", "channels", "categories", "stragglers"][: len(names)]:
        response = root_client.get(
            reverse("reports:region_export", args=["140000", table]), {"year": 2017}
        )
        tabs.append(openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames[0])
    assert tabs == names


def test_rates_keep_the_decimals_the_page_shows(root_client, enterprise, make_worker, place):
    """A rate is a number with its display format: 90.00 and 100.0, not 90 and 100."""
    workers = [make_worker() for _ in range(10)]
    for worker in workers[:9]:
        place(worker, datetime.date(2017, 3, 1))
    AnnualTarget.objects.create(year=2017, enterprise=enterprise, workers=9)
    response = root_client.get(
        reverse("reports:enterprise_export", args=[enterprise.pk, "children"]),
        {"year": 2017, "as_of": "2017-06-30"},
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    total = list(book.active.iter_rows(min_row=3, max_row=3))[0]
    shown = {cell.column_letter: (cell.value, cell.number_format) for cell in total}
    assert shown["E"] == (90, "0.00")  # 安置率
    assert shown["H"] == (100, "0.0")  # 任务完成率
    assert shown["B"] == (10, "General")  # a count


def test_the_categories_export_has_the_labour_relations_below_as_the_page(
    root_client, make_worker, place
):
    place(make_worker(), datetime.date(2017, 3, 1), Channel.INTERNAL_TRANSFER)
    place(make_worker(), datetime.date(2017, 4, 1), Channel.INTERNAL_RETIREMENT)
    response = root_client.get(
        reverse("reports:region_export", args=["140000", "categories"]),
        {"year": 2017, "as_of": "2017-06-30"},
    )
    page = root_client.get(
        reverse("reports:region", args=["140000"]), {"year": 2017, "as_of": "2017-06-30"}
    )
    rows = sheet(response)
    relations_at = rows.index(["劳动关系", "已安置", "构成（%）"])
    assert rows[relations_at - 1] == [None, None, None]
    exported = [tuple(row) for row in rows[relations_at + 1 :]]
    shown = [(row.name, row.placed, row.share) for row in page.context["report"].relations]
    assert exported == shown and sum(placed for _name, placed, _share in exported) == 2
