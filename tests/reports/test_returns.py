"""Monthly returns: frozen figures of record, consolidation of approved returns only, and the
difference against the live ledger named worker by worker."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse_lazy

from access.actors import SYSTEM
from audit.history import history_context
from enterprises.models import Region, UserScope
from placement.models import AnnualTarget
from placement.roles import roles_setup, user_role_sync
from placement.services import placement_save
from reports.returns import services
from reports.returns.models import MonthlyReturn, ReturnEvent
from reports.returns.selectors import (
    return_comparison,
    return_drill_down,
    return_figures,
)
from reports.selectors import Scope, placement_report

JUNE = datetime.date(2017, 6, 1)
SOURCE = "test"
Status = MonthlyReturn.Status


def _user(username, role, region=None, enterprise=None):
    user = get_user_model().objects.create_user(username=username, password="x" * 20)
    UserScope.objects.create(
        user=user,
        role=role,
        region=Region.objects.get(code=region) if region else None,
        enterprise=enterprise,
    )
    user_role_sync(user=user)
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def chain(db, make_enterprise, make_worker, place):
    """Two counties of 太原 (小店: 8 workers, 迎泽: 5), 6 placed in 2017 by the end of June
    against a province target of 13 (46.2%); one of them placed on 15 June."""
    roles_setup()
    Role = UserScope.Role
    xiaodian, yingze = Region.objects.get(code="140105"), Region.objects.get(code="140106")
    mine_a = make_enterprise(name="甲月报煤矿", region=xiaodian)
    mine_b = make_enterprise(name="乙月报煤矿", region=yingze)
    a = [make_worker(enterprise=mine_a) for _ in range(8)]
    b = [make_worker(enterprise=mine_b) for _ in range(5)]
    for worker in a[:3]:
        place(worker, datetime.date(2017, 3, 10))
    june = place(a[3], datetime.date(2017, 6, 15))
    for worker in b[:2]:
        place(worker, datetime.date(2017, 5, 20))
    AnnualTarget.objects.create(year=2017, region=Region.objects.get(code="140000"), workers=13)
    AnnualTarget.objects.create(year=2017, region=Region.objects.get(code="140100"), workers=13)
    users = {
        "xiaodian": _user("county-xd", Role.REGION_STAFF, "140105"),
        "yingze": _user("county-yz", Role.REGION_STAFF, "140106"),
        "city": _user("city-ty", Role.REGION_STAFF, "140100"),
        "province": _user("province-sx", Role.PROVINCE_STAFF, "140000"),
        "hr": _user("hr-jia", Role.ENTERPRISE_HR, enterprise=mine_a),
        "admin": _user("admin-1", Role.ADMINISTRATOR),
    }
    return {"users": users, "a": a, "b": b, "june": june, "mines": (mine_a, mine_b)}


def _county_approved(chain, county):
    users = chain["users"]
    region = Region.objects.get(code={"xiaodian": "140105", "yingze": "140106"}[county])
    ret = services.return_generate(region=region, period=JUNE, user=users[county], source=SOURCE)
    services.return_submit(monthly_return=ret, user=users[county], source=SOURCE)
    return services.return_approve(monthly_return=ret, user=users["city"], source=SOURCE)


def _up_to(chain, code, *, generator, approver):
    region = Region.objects.get(code=code)
    ret = services.return_generate(region=region, period=JUNE, user=generator, source=SOURCE)
    services.return_submit(monthly_return=ret, user=generator, source=SOURCE)
    return services.return_approve(monthly_return=ret, user=approver, source=SOURCE)


def _province_approved(chain):
    users = chain["users"]
    _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    _up_to(chain, "140100", generator=users["city"], approver=users["province"])
    return _up_to(chain, "140000", generator=users["province"], approver=users["province"])


def test_an_approved_province_return_keeps_46_2_percent_after_a_june_placement_is_corrected_in_july(
    chain,
):
    province = _province_approved(chain)
    assert str(return_figures(province).target_completion) == "46.2"
    assert (province.placed_in_year, province.target) == (6, 13)

    # In July the HR officer corrects the June placement: it really happened on 3 July.
    placement = chain["june"]
    with history_context(user=chain["users"]["hr"], source="page:/admin/placement/placement/"):
        placement.placed_on = datetime.date(2017, 7, 3)
        placement_save(placement=placement, actor=chain["users"]["hr"])

    province.refresh_from_db()
    assert province.status == Status.APPROVED
    assert str(return_figures(province).target_completion) == "46.2"
    live = placement_report(
        scope=Scope(region=province.region),
        year=2017,
        as_of=datetime.date(2017, 6, 30),
        user=SYSTEM,
    )
    assert str(live.totals.target_completion) == "38.5"

    comparison = return_comparison(monthly_return=province, user=chain["users"]["province"])
    completion = next(d for d in comparison.differences if d.label == "任务完成率（%）")
    assert (str(completion.published), str(completion.live), str(completion.delta)) == (
        "46.2",
        "38.5",
        "-7.7",
    )
    [changed] = comparison.changed_workers
    assert changed.worker_id == chain["a"][3].pk
    assert changed.name == chain["a"][3].name
    assert changed.moved
    assert changed.published["placed_in_year"] and not changed.live["placed_in_year"]
    [change] = changed.changes
    assert change.username == "hr-jia"
    assert change.what == "安置记录"
    assert ("安置日期", "2017-06-15", "2017-07-03") in change.fields
    # The frozen figure still drills down to the names of that day, the corrected worker too.
    names = {
        m.worker.name
        for m in return_drill_down(monthly_return=province, figure="placed_in_year", line=None)
    }
    assert chain["a"][3].name in names and len(names) == 6


def test_a_city_return_is_the_sum_of_its_approved_county_returns_not_the_live_ledger(chain, place):
    users = chain["users"]
    xiaodian = _county_approved(chain, "xiaodian")
    yingze = _county_approved(chain, "yingze")
    # After approval the ledger moves on: another June placement in 小店.
    place(chain["a"][5], datetime.date(2017, 6, 28))

    city = services.return_generate(
        region=Region.objects.get(code="140100"), period=JUNE, user=users["city"], source=SOURCE
    )
    lines = {line.key: line for line in city.lines.all()}
    assert set(lines) == {"140105", "140106"}
    for county in (xiaodian, yingze):
        line = lines[county.region.code]
        assert line.source == county
        assert (line.to_place, line.placed, line.placed_in_year, line.channels) == (
            county.to_place,
            county.placed,
            county.placed_in_year,
            county.channels,
        )
    assert (city.to_place, city.placed, city.placed_in_year) == (13, 6, 6)
    live = placement_report(
        scope=Scope(region=city.region), year=2017, as_of=datetime.date(2017, 6, 30), user=SYSTEM
    )
    assert (live.totals.placed, live.totals.placed_in_year) == (7, 7)


def test_a_return_sent_back_cannot_be_consolidated(chain):
    users = chain["users"]
    _county_approved(chain, "xiaodian")
    region = Region.objects.get(code="140106")
    yingze = services.return_generate(
        region=region, period=JUNE, user=users["yingze"], source=SOURCE
    )
    services.return_submit(monthly_return=yingze, user=users["yingze"], source=SOURCE)
    services.return_send_back(
        monthly_return=yingze,
        user=users["city"],
        reason="乙月报煤矿人数与花名册不符",
        source=SOURCE,
    )

    with pytest.raises(ValidationError) as refused:
        services.return_generate(
            region=Region.objects.get(code="140100"),
            period=JUNE,
            user=users["city"],
            source=SOURCE,
        )
    assert "迎泽区（已退回）" in refused.value.messages[0]
    assert not MonthlyReturn.objects.filter(region__code="140100").exists()
    event = yingze.events.get(action=ReturnEvent.Action.RETURNED)
    assert (event.username, event.reason) == ("city-ty", "乙月报煤矿人数与花名册不符")


def test_an_approved_return_cannot_be_generated_again_nor_moved_except_by_reopening(chain):
    users = chain["users"]
    county = _county_approved(chain, "xiaodian")
    region = county.region
    with pytest.raises(ValidationError):
        services.return_generate(region=region, period=JUNE, user=users["xiaodian"], source=SOURCE)
    with pytest.raises(ValidationError):
        services.return_approve(monthly_return=county, user=users["city"], source=SOURCE)
    with pytest.raises(PermissionDenied):
        services.return_reopen(monthly_return=county, user=users["city"], reason="x", source=SOURCE)
    with pytest.raises(ValidationError):
        services.return_reopen(
            monthly_return=county, user=users["admin"], reason=" ", source=SOURCE
        )

    services.return_reopen(
        monthly_return=county, user=users["admin"], reason="企业补报漏登职工", source=SOURCE
    )
    again = services.return_generate(
        region=region, period=JUNE, user=users["xiaodian"], source=SOURCE
    )
    county.refresh_from_db()
    assert (county.status, county.placed_in_year, again.revision) == (Status.REOPENED, 4, 2)
    assert list(county.events.values_list("action", "username")) == [
        ("generated", "county-xd"),
        ("submitted", "county-xd"),
        ("approved", "city-ty"),
        ("reopened", "admin-1"),
    ]


def test_each_level_acts_only_on_its_own_returns(chain):
    users = chain["users"]
    xiaodian = Region.objects.get(code="140105")
    for intruder in ("yingze", "city", "province", "hr"):
        with pytest.raises(PermissionDenied):
            services.return_generate(
                region=xiaodian, period=JUNE, user=users[intruder], source=SOURCE
            )
    ret = services.return_generate(
        region=xiaodian, period=JUNE, user=users["xiaodian"], source=SOURCE
    )
    services.return_submit(monthly_return=ret, user=users["xiaodian"], source=SOURCE)
    for intruder in ("xiaodian", "yingze", "province", "hr"):
        with pytest.raises(PermissionDenied):
            services.return_approve(monthly_return=ret, user=users[intruder], source=SOURCE)


def test_a_month_not_yet_over_cannot_be_reported(chain):
    from django.utils import timezone

    today = timezone.localdate()
    with pytest.raises(ValidationError):
        services.return_generate(
            region=Region.objects.get(code="140105"),
            period=today,
            user=chain["users"]["xiaodian"],
            source=SOURCE,
        )


def _client_for(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_the_flow_through_the_pages_and_the_past_months_dashboard(chain, client):
    from django.urls import reverse

    users = chain["users"]

    def as_user(name):
        client.logout()
        return _client_for(client, users[name])

    for county, code in (("xiaodian", "140105"), ("yingze", "140106")):
        response = as_user(county).post(
            reverse("reports:return_generate", args=[code]),
            {"period": "2017-06", "preparer": "王填表", "person_in_charge": "李负责"},
        )
        assert response.status_code == 302
        ret = MonthlyReturn.objects.get(region__code=code)
        assert response["Location"] == reverse("reports:return_detail", args=[ret.pk])
        page = client.get(response["Location"])
        assert "晋人社安置月01表" in page.content.decode() and "王填表" in page.content.decode()
        client.post(reverse("reports:return_submit", args=[ret.pk]), {"person_in_charge": "李负责"})
        as_user("city").post(reverse("reports:return_approve", args=[ret.pk]))
        assert MonthlyReturn.objects.get(pk=ret.pk).status == Status.APPROVED

    # The deadlines page of the city: both counties approved, the city's own missing (late:
    # due on 5 July 2017).
    page = as_user("city").get(reverse("reports:returns", args=["140100"]), {"period": "2017-06"})
    rows = {row.region.code: row for row in page.context["rows"]}
    assert (rows["140105"].state, rows["140106"].state, rows["140100"].state) == (
        "approved",
        "approved",
        "missing",
    )
    client.post(reverse("reports:return_generate", args=["140100"]), {"period": "2017-06"})
    city = MonthlyReturn.objects.get(region__code="140100")
    client.post(reverse("reports:return_submit", args=[city.pk]))
    as_user("province").post(reverse("reports:return_approve", args=[city.pk]))
    client.post(reverse("reports:return_generate", args=["140000"]), {"period": "2017-06"})
    province = MonthlyReturn.objects.get(region__code="140000")
    client.post(reverse("reports:return_submit", args=[province.pk]))
    client.post(reverse("reports:return_approve", args=[province.pk]))
    province.refresh_from_db()
    assert province.status == Status.APPROVED

    with history_context(user=users["hr"], source="test"):
        chain["june"].placed_on = datetime.date(2017, 7, 3)
        placement_save(placement=chain["june"], actor=users["hr"])

    dashboard = client.get(
        reverse("reports:region", args=["140000"]), {"year": 2017, "as_of": "2017-06-30"}
    )
    text = dashboard.content.decode()
    panel = dashboard.context["published_panel"]
    assert panel["ret"] == province
    assert "46.2" in text and "38.5" in text
    assert chain["a"][3].name in text and "2017-06-15 → 2017-07-03" in text
    compare = client.get(reverse("reports:return_compare", args=[province.pk]))
    assert chain["a"][3].name in compare.content.decode()
    # Not a month's end: no panel.
    other = client.get(
        reverse("reports:region", args=["140000"]), {"year": 2017, "as_of": "2017-06-29"}
    )
    assert other.context["published_panel"] is None
    drill = client.get(
        reverse("reports:return_workers", args=[province.pk]), {"figure": "placed_in_year"}
    )
    assert drill.context["page"].paginator.count == 6


def _command(*args):
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("monthly_return", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_command_runs_the_flow_with_the_permissions_of_the_pages(chain):
    from django.core.management.base import CommandError

    period = ("--period", "2017-06", "--json")
    made = _command(*period, "--region", "140105", "--generate", "--user", "county-xd")
    assert (made["status"], made["placed_in_year"], made["form_number"]) == (
        "generated",
        4,
        "晋人社安置月01表",
    )
    with pytest.raises(CommandError):  # the city does not submit a county's return
        _command(*period, "--region", "140105", "--submit", "--user", "city-ty")
    with pytest.raises(CommandError):  # an action names who took it
        _command(*period, "--region", "140105", "--submit")
    with pytest.raises(CommandError):  # 大同 is outside 小店's scope: "not found"
        _command(*period, "--region", "140200", "--user", "county-xd")
    _command(*period, "--region", "140105", "--submit", "--user", "county-xd")
    with pytest.raises(CommandError):  # a county does not approve its own return
        _command(*period, "--region", "140105", "--approve", "--user", "county-xd")
    approved = _command(*period, "--region", "140105", "--approve", "--user", "city-ty")
    assert approved["status"] == "approved"
    assert [(e["action"], e["user"]) for e in approved["events"]] == [
        ("generated", "county-xd"),
        ("submitted", "county-xd"),
        ("approved", "city-ty"),
    ]
    with pytest.raises(CommandError) as refused:  # 迎泽 has not reported yet
        _command(*period, "--region", "140100", "--generate", "--user", "city-ty")
    assert "迎泽区（未生成）" in str(refused.value)


def test_the_consolidation_exports_the_form_with_a_sheet_per_county(chain, client):
    import io

    import openpyxl
    from django.urls import reverse

    users = chain["users"]
    _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    city = services.return_generate(
        region=Region.objects.get(code="140100"), period=JUNE, user=users["city"], source=SOURCE
    )
    client.force_login(users["province"], backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(reverse("reports:return_export", args=[city.pk]))
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["合计", "小店区", "迎泽区"]
    cells = {c for row in book["合计"].iter_rows(values_only=True) for c in row if c is not None}
    assert {"表号：", "晋人社安置月01表", "制表机关：", "山西省人力资源和社会保障厅"} <= cells
    assert {
        "填报单位：",
        "太原市人力资源和社会保障局",
        "2017年6月",
        "单位负责人：",
        "填表人：",
    } <= cells
    rows = list(book["合计"].iter_rows(values_only=True))
    total = next(row for row in rows if row[1] == "合计")
    assert total[2:9] == (13, 6, 7, 46.15, 6, 13, 46.2)
    total_cells = next(row for row in book["合计"].iter_rows() if row[1].value == "合计")
    # The rates with the page's decimals (a plain number cell would show 46.2 as 46.2, but 50.00
    # as 50).
    assert [total_cells[5].number_format, total_cells[8].number_format] == ["0.00", "0.0"]
    county = list(book["小店区"].iter_rows(values_only=True))
    assert any(row[1] == "甲月报煤矿" for row in county)
    printed = client.get(reverse("reports:return_print", args=[city.pk])).content.decode()
    assert "晋人社安置月01表" in printed and "单位负责人" in printed


def test_a_worker_moved_after_their_countys_approval_is_not_summed_twice(chain, make_enterprise):
    """小店's June return is approved; a worker of 小店 is then corrected to 迎泽's mine, whose
    return is generated after. Summed, the city would count them in both: refused, naming the
    two returns, until the earlier one is reopened and generated again."""
    from placement.services import worker_save

    users = chain["users"]
    _county_approved(chain, "xiaodian")
    moved = chain["a"][0]
    moved.enterprise = chain["mines"][1]
    worker_save(worker=moved, actor=SYSTEM)
    _county_approved(chain, "yingze")
    city = Region.objects.get(code="140100")
    with pytest.raises(ValidationError) as refused:
        services.return_generate(region=city, period=JUNE, user=users["city"], source=SOURCE)
    assert refused.value.messages == [
        str(services.WORKERS_COUNTED_TWICE % {"count": 1, "regions": "小店区、迎泽区"})
    ]

    # 小店's return reopened, generated again (without the worker), approved: the sum is the
    # live ledger's.
    xiaodian = MonthlyReturn.objects.current().get(region__code="140105", period=JUNE)
    services.return_reopen(
        monthly_return=xiaodian, user=users["admin"], reason="职工调动", source=SOURCE
    )
    _county_approved(chain, "xiaodian")
    summed = services.return_generate(region=city, period=JUNE, user=users["city"], source=SOURCE)
    live = placement_report(
        scope=Scope(region=city), year=2017, as_of=datetime.date(2017, 6, 30), user=SYSTEM
    ).totals
    assert (summed.to_place, summed.placed, summed.placed_in_year) == (
        live.to_place,
        live.placed,
        live.placed_in_year,
    )


def test_a_worker_moved_to_an_enterprise_directly_under_the_city_is_not_summed_twice(
    chain, make_enterprise
):
    from placement.services import worker_save

    users = chain["users"]
    _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    city = Region.objects.get(code="140100")
    direct = make_enterprise(name="市属煤矿", region=city)
    moved = chain["a"][0]
    moved.enterprise = direct
    worker_save(worker=moved, actor=SYSTEM)
    with pytest.raises(ValidationError, match="有 1 名职工同时计入"):
        services.return_generate(region=city, period=JUNE, user=users["city"], source=SOURCE)


def test_a_dashboard_of_the_next_year_as_of_the_months_end_compares_the_return_alike(chain, client):
    """小店's June 2017 return approved, nothing changed since: its dashboard for 2018 as of
    2017-06-30 (an as-of date before the year is allowed) shows the return without differences,
    not the 2018 figures beside the 2017 return's."""
    _county_approved(chain, "xiaodian")
    AnnualTarget.objects.create(year=2018, region=Region.objects.get(code="140105"), workers=50)
    page = _client_for(client, chain["users"]["xiaodian"]).get(
        reverse_lazy("reports:region", args=["140105"]), {"year": 2018, "as_of": "2017-06-30"}
    )
    differences = page.context["published_panel"]["comparison"].differences
    assert [d.delta for d in differences if d.delta not in (0, None)] == []
    assert {d.label: d.live for d in differences}["年内安置"] == 4


def test_a_return_generated_from_an_english_page_freezes_its_texts_in_chinese(chain, client):
    """The form of record is the ledger's: 填报单位 and the lines' names in Chinese, whatever the
    language of the page that generated it."""
    from django.conf import settings
    from django.urls import reverse

    users = chain["users"]
    _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    city = Region.objects.get(code="140100")
    make_direct = chain["mines"][0].__class__.objects.create
    make_direct(name="市属煤矿", credit_code="91140100MA0L0000X0", region=city, industry="coal")
    page = _client_for(client, users["city"])
    page.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page.post(reverse("reports:return_generate", args=["140100"]), {"period": "2017-06"})
    generated = MonthlyReturn.objects.get(region=city)
    assert generated.reporting_unit == "太原市人力资源和社会保障局"
    assert [line.name for line in generated.lines.all()][-1] == "市本级"


def test_a_refusal_in_english_lists_the_regions_the_english_way(chain):
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.return_generate(
            region=Region.objects.get(code="140100"),
            period=JUNE,
            user=chain["users"]["city"],
            source=SOURCE,
        )
    [message] = refused.value.messages
    assert "小店区 (not generated), 迎泽区 (not generated)" in message
