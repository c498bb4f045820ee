"""What people see: the flows of an HR officer, a provincial and a city user, in a real browser.

Each step asserts what the page shows; every page is checked by axe-core (`axe_check`), and the
`new_page` fixture fails the test on a request that leaves the live server or a console error.
Screenshots of the key pages go to tests/browser/screenshots/ (git-ignored).
"""

import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from placement import idnumbers
from placement.demo_rosters import roster_rows, roster_xlsx
from placement.models import Placement, Worker
from tests.job_queue import run_jobs

from .conftest import axe_check, log_in, shot

pytestmark = pytest.mark.browser

# A man born 1990: decades from retirement, so internal retirement (内部退养) must be refused.
YOUNG_ID = idnumbers.with_check_digit("14010519900615101")
WRONG_CHECK_DIGIT = YOUNG_ID[:-1] + ("0" if YOUNG_ID[-1] != "0" else "1")


def test_hr_officer_adds_a_worker_corrects_the_id_number_and_places_them(page, world):
    log_in(page, "hr-jia", next_url="/admin/placement/worker/add/")
    # The officer's only enterprise is already chosen.
    expect(page.locator("#id_enterprise option:checked")).to_have_text("甲测试煤矿")
    axe_check(page, "worker-add")

    page.get_by_label("姓名").fill("浏览器职工甲")
    page.get_by_label("公民身份号码").fill(WRONG_CHECK_DIGIT)
    page.locator("#id_registered_on").fill("2016-03-01")
    page.get_by_role("button", name="保存并继续编辑").click()
    error = page.locator(".field-id_number .errorlist")
    expect(error).to_contain_text("校验位错误")
    expect(page.locator(".errornote")).to_be_visible()
    shot(page, "worker-add-wrong-id")
    axe_check(page, "worker-add-wrong-id")

    page.get_by_label("公民身份号码").fill(YOUNG_ID)
    page.get_by_role("button", name="保存并继续编辑").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    worker = Worker.objects.get(name="浏览器职工甲")
    assert worker.enterprise == world.mine
    # The page reads the date back as it was typed, ISO, in Chinese.
    expect(page.locator("#id_registered_on")).to_have_value("2016-03-01")
    expect(page.locator(".field-retirement_date .readonly")).to_have_text("2053-06-15")
    axe_check(page, "worker-change")

    # Internal retirement is refused for a worker decades from retirement, and says why.
    page.locator("#id_placements-0-channel").select_option(label="内部退养")
    page.locator("#id_placements-0-placed_on").fill("2017-06-01")
    page.get_by_role("button", name="保存并继续编辑").click()
    refusal = page.locator(".inline-group .errorlist")
    expect(refusal).to_contain_text("内部退养只适用于距法定退休日期")
    expect(refusal).to_contain_text("5 年以内")
    shot(page, "worker-internal-retirement-refused")
    axe_check(page, "worker-internal-retirement-refused")
    assert not Placement.objects.filter(worker=worker).exists()

    # Placed through another channel instead.
    page.locator("#id_placements-0-channel").select_option(label="灵活就业")
    page.locator("#id_placements-0-destination_unit").fill("太原市某物流公司")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".messagelist .success")).to_be_visible()

    # The list shows the worker as placed, with the channel and the date.
    page.get_by_role("searchbox").fill("浏览器职工甲")
    page.get_by_role("searchbox").press("Enter")
    row = page.locator("#result_list tbody tr", has_text="浏览器职工甲")
    expect(row).to_have_count(1)
    expect(row.locator(".field-current_channel")).to_have_text("灵活就业")
    expect(row.locator(".field-current_placed_on")).to_contain_text("2017")
    expect(row.locator(".field-masked_id_number")).not_to_contain_text(YOUNG_ID)
    shot(page, "worker-list")
    axe_check(page, "worker-list")


def _roster_with_two_bad_rows():
    rows = roster_rows(6, seed=11, placed_share=0.5)
    good = [list(row) for row in rows]
    rows[1][1] = ""  # 姓名 missing: spreadsheet row 5
    rows[3][2] = rows[3][2][:-1] + ("0" if rows[3][2][-1] != "0" else "1")  # bad check digit: row 7
    return roster_xlsx(rows), roster_xlsx(good)


def test_hr_officer_imports_a_roster_after_correcting_two_bad_rows(page, world):
    bad, corrected = _roster_with_two_bad_rows()
    log_in(page, "hr-jia", next_url="/admin/placement/worker/import/")
    expect(page.locator("#id_enterprise option:checked")).to_contain_text("甲测试煤矿（")
    axe_check(page, "import-upload")

    page.locator("#id_import_file").set_input_files(
        files=[{"name": "花名册.xlsx", "mimeType": "application/octet-stream", "buffer": bad}]
    )
    page.get_by_role("button", name="上传并预览").click()
    # The check runs as a job: its progress page first, then the worker takes it and the page
    # reloads itself (static/jobs/progress.js) onto the preview.
    expect(page.locator("#job-progress")).to_be_visible()
    shot(page, "import-progress")
    axe_check(page, "import-progress")
    run_jobs()
    expect(page.get_by_role("heading", name="文件有错误，未导入任何数据")).to_be_visible()
    expect(page.locator(".count-errors")).to_have_text("2")
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0).locator("td").nth(0)).to_have_text("5")
    expect(errors.nth(0).locator("td").nth(1)).to_have_text("姓名")
    expect(errors.nth(1).locator("td").nth(0)).to_have_text("7")
    expect(errors.nth(1).locator("td").nth(2)).to_contain_text("校验位错误")
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)
    shot(page, "import-refused")
    axe_check(page, "import-refused")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("下载错误清单")).click()
    report = load_workbook(io.BytesIO(download_info.value.path().read_bytes())).active
    reported = [[cell.value for cell in row][:2] for row in report.iter_rows(min_row=2)]
    assert reported == [["5", "姓名"], ["7", "身份证号码"]]

    page.get_by_role("link", name="重新上传").click()
    page.locator("#id_import_file").set_input_files(
        files=[{"name": "花名册.xlsx", "mimeType": "application/octet-stream", "buffer": corrected}]
    )
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#job-progress")).to_be_visible()
    run_jobs()
    expect(page.get_by_role("heading", name="预览（尚未导入）")).to_be_visible()
    expect(page.locator(".count-created")).to_have_text("6")
    expect(page.locator(".count-errors")).to_have_text("0")
    expect(page.locator("#import-changes tbody tr")).to_have_count(6)
    shot(page, "import-preview")
    axe_check(page, "import-preview")
    assert Worker.objects.filter(enterprise=world.mine).count() == 4

    page.get_by_role("button", name="确认导入").click()
    # The write is a job too: nothing is stored until a worker has run it.
    expect(page.locator("#job-progress")).to_be_visible()
    assert Worker.objects.filter(enterprise=world.mine).count() == 4
    run_jobs()
    expect(page.locator(".messagelist")).to_contain_text(
        "导入完成：新增 6 条，更新 0 条，未变 0 条"
    )
    assert Worker.objects.filter(enterprise=world.mine).count() == 10
    shot(page, "import-done")
    axe_check(page, "import-done")

    # The import history lists both files: the refused one and this one, by this officer.
    page.goto(page.url.split("/admin/")[0] + "/admin/placement/worker/import/?history=1")
    history = page.locator("#import-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("hr-jia")
    expect(history.first).to_contain_text("6")
    shot(page, "import-history")
    axe_check(page, "import-history")


def _dashboard_figures():
    """The province's headline figures, counted straight from the ledger's tables."""
    to_place = Worker.objects.count()
    placed = Worker.objects.filter(placements__isnull=False).distinct().count()
    return to_place, placed, f"{placed / to_place * 100:.2f}%"


def test_provincial_user_reads_the_dashboard_drills_down_and_downloads_a_table(page, world):
    log_in(page, "province")
    expect(page.get_by_role("heading", level=1)).to_have_text("山西省 2017年度职工安置情况")
    to_place, placed, rate = _dashboard_figures()
    cards = page.get_by_role("region", name="主要指标")
    expect(cards.locator(".card").nth(0).locator(".card-value")).to_have_text(str(to_place))
    expect(cards.locator(".card").nth(1).locator(".card-value")).to_have_text(str(placed))
    expect(cards.locator(".card").nth(1)).to_contain_text(f"待安置 {to_place - placed} 人")
    expect(cards.locator(".card").nth(2).locator(".card-value")).to_have_text(rate)
    expect(page.locator(".as-of")).to_contain_text("截至 2017-12-31")
    shot(page, "dashboard-province")
    axe_check(page, "dashboard-province")

    with page.expect_download() as download_info:
        page.locator(".panel", has_text="各地区安置情况").get_by_role(
            "link", name="导出 Excel"
        ).click()
    sheet = load_workbook(io.BytesIO(download_info.value.path().read_bytes())).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert "山西省" in values[0][0] and "2017-12-31" in values[0][0]
    taiyuan = next(row for row in values if row[0] == "太原市")
    assert taiyuan[1:3] == [7, 3]

    page.get_by_role("link", name="太原市").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("太原市 2017年度职工安置情况")
    expect(page.locator(".crumbs")).to_have_text("山西省 › 太原市")
    axe_check(page, "dashboard-city")
    page.get_by_role("link", name="小店区").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("小店区 2017年度职工安置情况")
    page.get_by_role("link", name="甲测试煤矿").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("甲测试煤矿 2017年度职工安置情况")
    cards = page.get_by_role("region", name="主要指标")
    expect(cards.locator(".card").nth(0).locator(".card-value")).to_have_text("4")
    shot(page, "dashboard-enterprise")
    axe_check(page, "dashboard-enterprise")
    page.get_by_role("link", name="查看本企业职工名单").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("共 4 人")
    rows = page.locator("table.workers tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text="待安置")).to_have_count(2)
    expect(rows.filter(has_text="内部安置")).to_have_count(2)
    shot(page, "workers")
    axe_check(page, "workers")


def test_city_user_cannot_reach_another_citys_pages_by_editing_the_url(page, world):
    log_in(page, "city-taiyuan")
    expect(page.get_by_role("heading", level=1)).to_have_text("太原市 2017年度职工安置情况")
    datong = world.datong.pk
    for url in [
        "/reports/region/140200/",
        "/reports/region/140212/",
        "/reports/region/140000/",
        f"/reports/enterprise/{datong}/",
        f"/reports/enterprise/{datong}/workers/",
        f"/reports/enterprise/{datong}/workers.xlsx",
    ]:
        assert page.goto(url).status == 404, url
        expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")
        expect(page.locator("body")).not_to_contain_text("丙测试钢铁厂")
    # The admin's list refuses a lookup typed into the address.
    response = page.goto(f"/admin/placement/worker/?enterprise__id__exact={datong}")
    assert response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("请求有误")
    axe_check(page, "bad-request")
    page.goto("/admin/placement/worker/")
    expect(page.locator("#result_list")).not_to_contain_text("丙测")
    expect(page.locator("#result_list")).to_contain_text("甲测")
    expect(page.locator("#result_list")).to_contain_text("乙测")
    response = page.goto("/reports/region/140200/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")
    shot(page, "not-found")
    axe_check(page, "not-found")


def test_switching_to_english_and_back(page, world):
    log_in(page, "province")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_label("截至日期")).to_have_value("2017-12-31")
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("2017")
    expect(page.get_by_role("link", name="Export to Excel").first).to_be_visible()
    # The same date, written the same way, in English.
    expect(page.get_by_label("As-of date")).to_have_value("2017-12-31")
    shot(page, "dashboard-english")
    axe_check(page, "dashboard-english")

    page.goto("/admin/placement/worker/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    axe_check(page, "worker-list-english")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("山西省 2017年度职工安置情况")
