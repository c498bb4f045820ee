"""Data entry on the admin pages: the rules hold for the rows a page does not post, a refusal
names its field, and the figures follow every change (found by a review, each reproduced
first)."""

import datetime

import pytest
from django.urls import reverse

from access.actors import SYSTEM
from placement.channels import Channel
from placement.models import Placement, Worker
from placement.services import worker_place
from reports.models import PlacementFact
from reports.selectors import Scope, placement_report
from tests.conftest import synthetic_id
from tests.test_faults import _carried, _hidden, _officer, _placement_page, _worker_page

D = datetime.date
pytestmark = pytest.mark.django_db


AS_OF = D(2017, 6, 30)


def _report(region, year=2017, as_of=AS_OF):
    return placement_report(scope=Scope(region=region), year=year, as_of=as_of, user=SYSTEM)


# --- A placement moved to another worker on its own page -----------------------------------


def test_a_placement_moved_to_another_worker_leaves_the_first_worker_counted_as_placed(
    make_worker, place, make_user, province
):
    first = make_worker(name="甲")
    second = make_worker(name="乙")
    placement = place(first, D(2017, 2, 1))
    assert _report(province).totals.placed == 1
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_placement_change", args=[placement.pk])

    saved = officer.post(
        url, _placement_page(placement, worker=second.pk) | _carried(_hidden(officer.get(url)))
    )

    assert saved.status_code == 302
    placement.refresh_from_db()
    assert placement.worker_id == second.pk
    first.refresh_from_db()
    # The ledger: the first worker has no placement any more, so is waiting.
    assert not first.placements.exists()
    assert Worker.objects.pending_on(D(2017, 6, 30)).filter(pk=first.pk).exists(), (
        f"first worker still has placed_open_since={first.placed_open_since}"
    )
    # The facts: only the second worker has a current placement.
    assert not PlacementFact.objects.filter(worker=first, kind=PlacementFact.Kind.CURRENT).exists()
    report = _report(province)
    assert (report.totals.to_place, report.totals.placed) == (2, 1)


# --- A placement row deleted on the worker's page after someone changed it -----------------


def test_a_placement_row_deleted_on_the_workers_page_after_a_change_meanwhile_is_kept(
    make_worker, place, make_user
):
    worker = make_worker()
    placement = place(worker, D(2016, 5, 3))
    editor = _officer(make_user("hr", username="hr-first"))
    administrator = _officer(make_user("administrator"))  # HR officers may not delete
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    page = _hidden(administrator.get(url))

    placement_url = reverse("admin:placement_placement_change", args=[placement.pk])
    shown = _hidden(editor.get(placement_url))
    saved = editor.post(
        placement_url,
        _placement_page(placement, ended_on="2016-09-30", note="已终止") | _carried(shown),
    )
    assert saved.status_code == 302

    row = {
        "placements-TOTAL_FORMS": "1",
        "placements-INITIAL_FORMS": "1",
        "placements-0-id": placement.pk,
        "placements-0-worker": worker.pk,
        "placements-0-channel": placement.channel,
        "placements-0-placed_on": "2016-05-03",
        "placements-0-destination_unit": "",
        "placements-0-note": "",
        "placements-0-version": page["placements-0-version"],
        "placements-0-DELETE": "on",
    }
    response = administrator.post(url, _worker_page(worker) | _carried(page) | row)

    # As on the placement's own delete page: changed since the page was shown, it is kept.
    assert Placement.objects.filter(pk=placement.pk).exists(), response.status_code


# --- The diversion date on the worker's page ----------------------------------------------


def test_a_diversion_date_in_the_future_is_refused_on_the_workers_page(make_worker, make_user):
    worker = make_worker()
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    future = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()

    response = officer.post(
        url, _worker_page(worker, registered_on=future) | _carried(_hidden(officer.get(url)))
    )

    worker.refresh_from_db()
    assert worker.registered_on != datetime.date.fromisoformat(future)
    assert response.status_code == 200
    assert "分流时间不能晚于今天" in response.content.decode()


def test_a_new_worker_with_a_future_diversion_date_is_refused_on_the_add_page(
    make_user, enterprise
):
    officer = _officer(make_user("hr"))
    future = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
    data = {
        "enterprise": enterprise.pk,
        "name": "未来人",
        "id_number": synthetic_id(birth="19750312", seq=211),
        "status": "worker",
        "registered_on": future,
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
    }
    response = officer.post(reverse("admin:placement_worker_add"), data)
    assert not Worker.objects.filter(name="未来人").exists()
    assert "分流时间不能晚于今天" in response.content.decode()


def test_a_diversion_date_moved_after_a_stored_placement_is_refused(make_worker, place, make_user):
    worker = make_worker()
    placement = place(worker, D(2016, 5, 3))
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    page = _hidden(officer.get(url))
    row = {
        "placements-TOTAL_FORMS": "1",
        "placements-INITIAL_FORMS": "1",
        "placements-0-id": placement.pk,
        "placements-0-worker": worker.pk,
        "placements-0-channel": placement.channel,
        "placements-0-placed_on": "2016-05-03",
        "placements-0-version": page["placements-0-version"],
    }
    response = officer.post(
        url, _worker_page(worker, registered_on="2016-08-01") | _carried(page) | row
    )
    worker.refresh_from_db()
    assert worker.registered_on == D(2016, 1, 4), response.status_code
    assert "早于分流时间" in response.content.decode()


def test_a_diversion_date_moved_after_a_stored_placement_without_its_row_is_refused(
    make_worker, place, make_user
):
    """A script (or a page whose placement rows were left out) posts the worker alone."""
    worker = make_worker()
    place(worker, D(2016, 5, 3))
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    page = _hidden(officer.get(url))
    officer.post(url, _worker_page(worker, registered_on="2016-08-01") | _carried(page))
    worker.refresh_from_db()
    assert worker.registered_on == D(2016, 1, 4)


def test_a_status_change_that_takes_internal_retirement_out_of_its_window_is_refused(
    make_worker, make_user, settings
):
    # A woman worker born 1966-07 retires at 50 (2016-07); as a cadre at 55 (2021-07).
    worker = make_worker(id_number=synthetic_id(birth="19660701", seq=122), status="worker")
    worker_place(
        worker=worker, channel=Channel.INTERNAL_RETIREMENT, placed_on=D(2016, 2, 1), actor=SYSTEM
    )
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    page = _hidden(officer.get(url))
    # Without the placement row, as a script posts it.
    response = officer.post(url, _worker_page(worker, status="cadre") | _carried(page))
    worker.refresh_from_db()
    assert worker.status == "worker"
    errors = response.context["adminform"].form.non_field_errors()
    assert any("安置记录（内部退养，2016-02-01）" in e and "内部退养只适用于" in e for e in errors)


def test_a_status_change_with_the_placement_row_is_refused(make_worker, make_user):
    worker = make_worker(id_number=synthetic_id(birth="19660701", seq=122), status="worker")
    placement = worker_place(
        worker=worker, channel=Channel.INTERNAL_RETIREMENT, placed_on=D(2016, 2, 1), actor=SYSTEM
    )
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    page = _hidden(officer.get(url))
    row = {
        "placements-TOTAL_FORMS": "1",
        "placements-INITIAL_FORMS": "1",
        "placements-0-id": placement.pk,
        "placements-0-worker": worker.pk,
        "placements-0-channel": placement.channel,
        "placements-0-placed_on": "2016-02-01",
        "placements-0-version": page["placements-0-version"],
    }
    response = officer.post(url, _worker_page(worker, status="cadre") | _carried(page) | row)
    worker.refresh_from_db()
    assert worker.status == "worker", response.status_code
    assert "内部退养只适用于" in response.content.decode()


def test_a_worker_counted_in_a_monthly_return_cannot_be_deleted_in_the_admin(
    make_worker, make_user, xiaodian
):
    from reports.returns import services as returns

    worker = make_worker()
    admin_user = make_user("administrator")
    returns.return_generate(region=xiaodian, period=D(2017, 6, 1), user=admin_user, source="test")
    administrator = _officer(admin_user)
    url = reverse("admin:placement_worker_delete", args=[worker.pk])
    page = administrator.get(url)
    # The refusal names the return that counts the worker.
    assert "小店区 2017-06 月报" in page.content.decode()
    response = administrator.post(url, _hidden(page) | {"post": "yes"})
    assert Worker.objects.filter(pk=worker.pk).exists(), response.status_code
    # bulk
    response = administrator.post(
        reverse("admin:placement_worker_changelist"),
        {"action": "delete_selected", "_selected_action": [str(worker.pk)], "post": "yes"},
    )
    assert Worker.objects.filter(pk=worker.pk).exists(), response.status_code


def test_refusals_name_their_field(make_worker, place, make_user):
    worker = make_worker()
    place(worker, D(2016, 5, 3))
    officer = _officer(make_user("hr"))
    officer.raise_request_exception = False
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    cases = [
        ({"hire_date": "1960-01-01"}, "hire_date"),
        ({"phone": "12345"}, "phone"),
        ({"id_number": "140105197005011234"}, "id_number"),
        ({"id_number": "14010570050112"}, "id_number"),
    ]
    for change, field in cases:
        response = officer.post(
            url, _worker_page(worker, **change) | _carried(_hidden(officer.get(url)))
        )
        assert response.status_code == 200, change
        errors = response.context["adminform"].form.errors
        assert list(errors) == [field], (change, errors)
        assert all(any("\u4e00" <= c <= "\u9fff" for c in e) for e in errors[field])
    worker.refresh_from_db()
    assert worker.hire_date is None


def test_a_hire_date_before_the_birth_date_is_refused_on_the_add_page_not_a_500(
    make_user, enterprise
):
    officer = _officer(make_user("hr"))
    officer.raise_request_exception = False
    data = {
        "enterprise": enterprise.pk,
        "name": "早工作",
        "id_number": synthetic_id(birth="19750312", seq=211),
        "status": "worker",
        "hire_date": "1970-07-01",
        "registered_on": "2016-02-01",
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
    }
    response = officer.post(reverse("admin:placement_worker_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["hire_date"] == ["参加工作时间应晚于出生日期"]
    assert not Worker.objects.filter(name="早工作").exists()


def test_two_placements_on_one_day(make_worker, make_user, province):
    worker = make_worker()
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    page = _hidden(officer.get(url))
    rows = {
        "placements-TOTAL_FORMS": "2",
        "placements-INITIAL_FORMS": "0",
        "placements-0-channel": Channel.SELF_EMPLOYMENT,
        "placements-0-placed_on": "2017-03-01",
        "placements-1-channel": Channel.FLEXIBLE_EMPLOYMENT,
        "placements-1-placed_on": "2017-03-01",
    }
    r = officer.post(url, _worker_page(worker) | _carried(page) | rows)
    assert r.status_code == 302
    report = _report(province)
    assert report.totals.placed == 1


def test_a_worker_whose_month_only_placement_shares_the_diversion_month_can_be_edited(
    enterprise,
):
    """Imported with 分流时间 2016-05-15 and a placement of "2016.05" (stored as the 1st): a change
    the placement rules do not read (a phone) is saved; the rules are not asked again."""
    from placement.imports import roster_import
    from placement.services import worker_save
    from tests.conftest import xlsx_bytes

    data = xlsx_bytes(
        [
            ["姓名", "公民身份号码", "分流时间", "安置方式", "安置时间"],
            ["月份", synthetic_id(seq=611), "2016-05-15", "内部安置", "2016.05"],
        ]
    )
    result = roster_import(data=data, filename="r.xlsx", enterprise=enterprise, user=SYSTEM)
    assert result.imported, result.errors
    worker = Worker.objects.get(name="月份")
    worker.phone = "13800138000"
    worker_save(worker=worker, actor=SYSTEM)
    worker.refresh_from_db()
    assert worker.phone == "13800138000"
