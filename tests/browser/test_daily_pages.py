"""Pages for daily work: the dashboard printed on A4 landscape and read on a 390 px phone."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import axe_check, log_in, shot

pytestmark = pytest.mark.browser

A4_LANDSCAPE_POINTS = (841.89, 595.28)


def test_the_dashboard_prints_on_a4_landscape_with_title_scope_dates_and_no_navigation(page, world):
    log_in(page, "city-taiyuan")
    page.emulate_media(media="print")
    expect(page.get_by_role("heading", level=1)).to_have_text("太原市 2017年度职工安置情况")
    expect(page.locator(".crumbs")).to_have_text("太原市")
    expect(page.locator(".as-of")).to_have_text("截至 2017-12-31")
    expect(page.locator(".printed-at")).to_be_visible()
    expect(page.locator(".printed-at")).to_have_text(
        re.compile(r"制表时间 \d{4}-\d\d-\d\d \d\d:\d\d")
    )
    for hidden in [".site-nav", ".site-tools", ".filters", ".download >> nth=0", ".site-footer"]:
        expect(page.locator(hidden)).to_be_hidden()
    shot(page, "dashboard-print")

    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    for width, height in boxes:
        assert (round(float(width)), round(float(height))) == tuple(
            round(n) for n in A4_LANDSCAPE_POINTS
        )

    # On screen the time printed is not shown.
    page.emulate_media(media="screen")
    expect(page.locator(".printed-at")).to_be_hidden()


def test_the_dashboard_is_readable_390_px_wide(new_page, world):
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    log_in(page, "province")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # Nothing but the tables' own scrolling: the page itself is no wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    cards = page.locator(".cards .card")
    boxes = [cards.nth(i).bounding_box() for i in range(cards.count())]
    assert len(boxes) == 5
    assert len({round(box["x"]) for box in boxes}) == 1, "cards side by side"
    assert all(box["width"] > 300 for box in boxes)
    assert [box["y"] for box in boxes] == sorted(box["y"] for box in boxes)
    table = page.locator(".table-scroll").first
    sizes = table.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] > sizes[1], "the wide table should scroll sideways inside its panel"
    table.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert table.evaluate("el => el.scrollLeft") > 0
    shot(page, "dashboard-390")
    axe_check(page, "dashboard-390")

    page.get_by_role("link", name="太原市").first.click()
    page.get_by_role("link", name="小店区").click()
    page.get_by_role("link", name="甲测试煤矿").first.click()
    page.get_by_role("link", name="查看本企业职工名单").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "workers-390")
    axe_check(page, "workers-390")
