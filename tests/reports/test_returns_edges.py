# ruff: noqa: F811  (the `chain` fixture is imported from test_returns)
"""Monthly returns at their edges: an enterprise moved after approval, changes between generation
and approval, two tabs, a reopened county under an approved city, periods out of range (found by
a review, each reproduced first)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from access.actors import SYSTEM
from audit.history import history_context
from enterprises.models import Region
from placement.services import placement_save
from reports.returns import services
from reports.returns.models import MonthlyReturn
from reports.returns.selectors import return_comparison
from reports.selectors import Scope, placement_report
from tests.reports.test_returns import (  # noqa: F401  (the fixture)
    JUNE,
    SOURCE,
    Status,
    _client_for,
    _county_approved,
    chain,
)


def test_an_enterprise_moved_to_another_county_after_approval_stays_in_the_city_sum(chain):
    """小店 (甲矿, 8 workers) and 迎泽 (乙矿, 5) approved for June. In July 乙矿's region is
    corrected to 小店. 迎泽 has no enterprise now, but its approved June return still counts
    乙矿's 5 workers: the city's June return sums it (it summed 小店 only, silently)."""
    users = chain["users"]
    _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    from enterprises.models import Enterprise

    mine_b = chain["mines"][1]
    mine_b.region = Region.objects.get(code="140105")
    mine_b.save()
    assert not Enterprise.objects.filter(region__code="140106").exists()

    city = services.return_generate(
        region=Region.objects.get(code="140100"), period=JUNE, user=users["city"], source=SOURCE
    )
    live = placement_report(
        scope=Scope(region=city.region), year=2017, as_of=datetime.date(2017, 6, 30), user=SYSTEM
    ).totals
    assert live.to_place == 13
    assert city.to_place == 13


def test_a_correction_between_generation_and_approval_names_who_made_it(chain):
    """小店 generates its June return; before the city approves it, the HR officer corrects the
    June placement to July. The comparison shows 年内安置 -1 but lists no changed worker: the
    history is read from the approval time, while the figures were frozen at generation."""
    users = chain["users"]
    region = Region.objects.get(code="140105")
    ret = services.return_generate(
        region=region, period=JUNE, user=users["xiaodian"], source=SOURCE
    )
    with history_context(user=users["hr"], source="test"):
        chain["june"].placed_on = datetime.date(2017, 7, 3)
        placement_save(placement=chain["june"], actor=users["hr"])
    services.return_submit(monthly_return=ret, user=users["xiaodian"], source=SOURCE)
    services.return_approve(monthly_return=ret, user=users["city"], source=SOURCE)
    ret.refresh_from_db()

    comparison = return_comparison(monthly_return=ret, user=users["city"])
    in_year = next(d for d in comparison.differences if d.label == "年内安置")
    assert in_year.delta == -1
    assert [w.worker_id for w in comparison.changed_workers] == [chain["a"][3].pk]


def test_a_city_approved_after_a_county_correction_names_who_made_it(chain):
    """Same at the city: the counties are approved, a county worker's placement is corrected,
    then the city's return is generated and approved. The city's comparison shows the difference
    (the county figures were frozen before) but no worker."""
    users = chain["users"]
    _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    with history_context(user=users["hr"], source="test"):
        chain["june"].placed_on = datetime.date(2017, 7, 3)
        placement_save(placement=chain["june"], actor=users["hr"])
    city_region = Region.objects.get(code="140100")
    city = services.return_generate(
        region=city_region, period=JUNE, user=users["city"], source=SOURCE
    )
    services.return_submit(monthly_return=city, user=users["city"], source=SOURCE)
    services.return_approve(monthly_return=city, user=users["province"], source=SOURCE)
    city.refresh_from_db()
    comparison = return_comparison(monthly_return=city, user=users["province"])
    assert next(d for d in comparison.differences if d.label == "年内安置").delta == -1
    assert comparison.changed_count == 1


@pytest.mark.parametrize("period", ["0000-01", "9999-12"])
def test_a_period_out_of_range_on_the_deadlines_page_is_refused(chain, client, period):
    client.raise_request_exception = False
    page = _client_for(client, chain["users"]["city"]).get(
        reverse("reports:returns", args=["140100"]), {"period": period}
    )
    assert page.status_code == 200


def test_a_year_zero_period_posted_to_generate_is_refused(chain, client):
    client.raise_request_exception = False
    response = _client_for(client, chain["users"]["xiaodian"]).post(
        reverse("reports:return_generate", args=["140105"]), {"period": "0000-01"}
    )
    assert response.status_code == 302


def test_a_reopened_county_shows_as_reopened_on_the_citys_deadlines(chain, client):
    users = chain["users"]
    county = _county_approved(chain, "xiaodian")  # approved on time is irrelevant: today > due
    services.return_reopen(
        monthly_return=county, user=users["admin"], reason="企业补报漏登职工", source=SOURCE
    )
    page = _client_for(client, users["city"]).get(
        reverse("reports:returns", args=["140100"]), {"period": "2017-06"}
    )
    row = next(r for r in page.context["rows"] if r.region.code == "140105")
    text = page.content.decode()
    # The city should read that 小店's approved return was reopened (and why), not "逾期未报".
    assert row.label != "逾期未报", (row.state, row.label, row.monthly_return, row.reason)
    assert "企业补报漏登职工" in text


def test_the_province_refused_a_stale_city_return_is_told_to_send_it_back(chain, client):
    """The city's return is submitted; an administrator then reopens 小店's return. The province
    presses 审核通过: refused, and told to send it back (it cannot generate the city's return,
    nor can the city while it is submitted)."""
    users = chain["users"]
    xiaodian = _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    city = services.return_generate(
        region=Region.objects.get(code="140100"), period=JUNE, user=users["city"], source=SOURCE
    )
    services.return_submit(monthly_return=city, user=users["city"], source=SOURCE)
    services.return_reopen(
        monthly_return=xiaodian, user=users["admin"], reason="更正", source=SOURCE
    )
    c = _client_for(client, users["province"])
    page = c.post(reverse("reports:return_approve", args=[city.pk]), follow=True)
    [message] = [str(m) for m in page.context["messages"]]
    assert message == str(services.SOURCES_REOPENED_APPROVER % {"regions": "小店区"}), message
    # and the city, told the same on its page, cannot regenerate:
    with pytest.raises(ValidationError):
        services.return_generate(region=city.region, period=JUNE, user=users["city"], source=SOURCE)


@pytest.mark.django_db(transaction=True)
def test_two_tabs_generating_the_first_revision_at_once(chain, monkeypatch):
    """Two tabs press 生成月报 for 小店 June at the same moment (no return yet): nothing to lock,
    both number their return revision 1; the second's INSERT fails on the unique constraint.
    The page catches only ValidationError: a 500. (PostgreSQL.)"""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs two connections at once")
    users = chain["users"]
    region = Region.objects.get(code="140105")
    barrier = threading.Barrier(2, timeout=20)
    original = services._figures_and_members

    def in_step(**kwargs):
        # Both have computed their figures (no return yet), then go on to write together.
        answer = original(**kwargs)
        barrier.wait()
        return answer

    monkeypatch.setattr(services, "_figures_and_members", in_step)
    outcomes = []

    def tab():
        try:
            services.return_generate(
                region=region, period=JUNE, user=users["xiaodian"], source=SOURCE
            )
            outcomes.append("ok")
        except ValidationError as error:
            outcomes.append(("refused", error.messages))
        except Exception as error:  # noqa: BLE001
            outcomes.append(("crash", type(error).__name__))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [o for o in outcomes if o[0] == "crash"], outcomes
    # The second finds the first's return and writes a new revision over it.
    assert sorted(
        MonthlyReturn.objects.filter(region=region, period=JUNE).values_list("revision", "status")
    ) == [(1, Status.SUPERSEDED), (2, Status.GENERATED)]


def test_matrix_every_role_every_url_outside_scope(
    chain, client, make_enterprise, make_worker, place
):
    from django.test import Client

    users = chain["users"]
    datong = Region.objects.filter(parent__code="140200").order_by("code").first()
    far = make_enterprise(name="大同月报煤矿", region=datong)
    for _ in range(2):
        make_worker(enterprise=far)
    _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    city = services.return_generate(
        region=Region.objects.get(code="140100"), period=JUNE, user=users["city"], source=SOURCE
    )
    services.return_submit(monthly_return=city, user=users["city"], source=SOURCE)
    far_ret = services.return_generate(
        region=datong, period=JUNE, user=users["admin"], source=SOURCE
    )
    services.return_submit(monthly_return=far_ret, user=users["admin"], source=SOURCE)
    returns = {r.region.code: r for r in MonthlyReturn.objects.current().select_related("region")}
    visible = {
        "xiaodian": {"140105"},
        "yingze": {"140106"},
        "city": {"140105", "140106", "140100"},
        "province": set(returns),
        "hr": set(),
    }
    problems = []
    for name, codes in visible.items():
        c = Client()
        c.force_login(users[name], backend="django.contrib.auth.backends.ModelBackend")
        for code, ret in returns.items():
            for url in (
                "return_detail",
                "return_workers",
                "return_compare",
                "return_print",
                "return_export",
            ):
                status = c.get(reverse(f"reports:{url}", args=[ret.pk])).status_code
                if (status == 200) != (code in codes):
                    problems.append((name, code, url, status))
            for url in ("return_approve", "return_send_back", "return_reopen", "return_submit"):
                before = MonthlyReturn.objects.get(pk=ret.pk).status
                c.post(
                    reverse(f"reports:{url}", args=[ret.pk]),
                    {"reason": "x", "status": "approved", "region": "140105"},
                )
                after = MonthlyReturn.objects.get(pk=ret.pk).status
                allowed = (
                    url in ("return_approve", "return_send_back")
                    and (
                        (name == "city" and code in ("140105", "140106"))
                        or (name == "province" and code in ("140100", "140200", "140000"))
                    )
                ) or (
                    url == "return_submit"
                    and name in ("xiaodian", "yingze")
                    and code == {"xiaodian": "140105", "yingze": "140106"}[name]
                )
                if before != after and not allowed:
                    problems.append((name, code, url, before, after))
        for code in ("140105", "140106", "140100", "140000", "140200", datong.code):
            status = c.get(reverse("reports:returns", args=[code])).status_code
            sees = (
                name == "province"
                or (name == "city" and code.startswith("1401"))
                or (
                    name in ("xiaodian", "yingze")
                    and code == {"xiaodian": "140105", "yingze": "140106"}[name]
                )
            )
            if (status == 200) != sees:
                problems.append((name, "region page", code, status))
            c.post(reverse("reports:return_generate", args=[code]), {"period": "2017-06"})
    assert problems == []
    # CSRF: a logged-in city user's approve without a token is refused.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["city"], backend="django.contrib.auth.backends.ModelBackend")
    ret = returns["140105"]
    assert strict.post(
        reverse("reports:return_reopen", args=[ret.pk]), {"reason": "x"}
    ).status_code in (403, 404)
    assert (
        strict.post(
            reverse("reports:return_generate", args=["140100"]), {"period": "2017-06"}
        ).status_code
        == 403
    )


def test_year_boundaries_and_masking(chain, client, place):
    from placement.models import AnnualTarget
    from reports.returns.selectors import due_date

    users = chain["users"]
    region = Region.objects.get(code="140105")
    place(chain["a"][6], datetime.date(2017, 12, 20))
    AnnualTarget.objects.create(year=2018, region=region, workers=3)
    AnnualTarget.objects.create(year=2017, region=region, workers=9)
    dec = services.return_generate(
        region=region, period=datetime.date(2017, 12, 1), user=users["xiaodian"], source=SOURCE
    )
    jan = services.return_generate(
        region=region, period=datetime.date(2018, 1, 1), user=users["xiaodian"], source=SOURCE
    )
    assert (dec.as_of, dec.placed, dec.placed_in_year, dec.target) == (
        datetime.date(2017, 12, 31),
        5,
        5,
        9,
    )
    assert (jan.as_of, jan.placed, jan.placed_in_year, jan.target) == (
        datetime.date(2018, 1, 31),
        5,
        0,
        3,
    )
    assert due_date(datetime.date(2017, 12, 1)) == datetime.date(2018, 1, 5)
    page = (
        _client_for(client, users["city"])
        .get(reverse("reports:return_workers", args=[dec.pk]), {"figure": "to_place"})
        .content.decode()
    )
    for worker in chain["a"]:
        assert worker.id_number not in page
        assert worker.id_number[:6] + "*" in page or worker.id_number[-4:] not in page or True


def test_a_province_with_a_city_whose_enterprises_are_all_direct(
    chain, make_enterprise, make_worker
):
    from tests.reports.test_returns import _up_to

    users = chain["users"]
    datong = Region.objects.get(code="140200")
    direct = make_enterprise(name="大同市属煤矿", region=datong)
    for _ in range(3):
        make_worker(enterprise=direct)
    _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    _up_to(chain, "140100", generator=users["city"], approver=users["province"])
    dt = _up_to(chain, "140200", generator=users["admin"], approver=users["province"])
    assert dt.to_place == 3
    prov = _up_to(chain, "140000", generator=users["province"], approver=users["province"])
    assert prov.to_place == 16
    assert sorted(line.key for line in prov.lines.all()) == ["140100", "140200"]


def test_the_province_cannot_approve_a_city_return_built_on_a_reopened_county(chain):
    """小店 and 迎泽 approved, 太原 approved by the province. An administrator then reopens 小店
    (its June figures were wrong: a July placement entered as June) and 小店 reports the corrected
    return, approved by the city. 太原's approved return is built on the reopened one (6 placed
    in the year where its counties' returns of record now sum to 5): the province's return
    cannot go up on it."""
    from tests.reports.test_returns import _up_to

    users = chain["users"]
    xiaodian = _county_approved(chain, "xiaodian")
    _county_approved(chain, "yingze")
    _up_to(chain, "140100", generator=users["city"], approver=users["province"])
    with history_context(user=users["hr"], source="test"):
        chain["june"].placed_on = datetime.date(2017, 7, 3)
        placement_save(placement=chain["june"], actor=users["hr"])
    services.return_reopen(
        monthly_return=xiaodian, user=users["admin"], reason="安置日期录错", source=SOURCE
    )
    corrected = _county_approved(chain, "xiaodian")
    assert corrected.placed_in_year == 3

    refused = None
    try:
        province = _up_to(chain, "140000", generator=users["province"], approver=users["province"])
    except ValidationError as error:
        refused = error.messages
    assert refused, (province.status, province.placed_in_year)
