"""ID numbers and phones: masked wherever shown, revealed only by a logged POST with the
permission, kept out of URLs, the admin's log and error reports."""

import sys

import pytest
from django.contrib.admin.models import LogEntry
from django.test import RequestFactory
from django.urls import reverse
from django.views.debug import ExceptionReporter

from placement import idnumbers
from placement.access import access_log_record, can_see_full_id, id_number_for, phone_for
from placement.models import AccessLog
from tests.conftest import synthetic_id

from .conftest import MODEL_BACKEND, worker_form


def test_a_mobile_keeps_three_and_four_digits_and_a_landline_its_area_code():
    assert idnumbers.mask_phone("13812345678") == "138****5678"
    assert idnumbers.mask_phone("0351-7654321") == "0351-***4321"
    assert idnumbers.mask_phone("") == ""


def test_the_mask_beside_a_birth_date_keeps_only_the_region():
    number = synthetic_id(birth="19700501", seq=11)
    assert idnumbers.mask(number) == "140105********" + number[14:]
    assert idnumbers.mask_beside_birth_date(number) == "140105" + "*" * 12


def test_lists_and_exports_get_the_full_number_only_with_the_permission(world):
    worker = world.a.worker
    assert not can_see_full_id(world.users["county"])
    assert id_number_for(world.users["county"], worker) == worker.id_number_masked
    assert phone_for(world.users["county"], worker) == "138****0011"
    assert can_see_full_id(world.users["hr"])
    assert id_number_for(world.users["hr"], worker) == world.a.id_number
    assert not can_see_full_id(world.users["deactivated"])


def test_the_workers_page_shows_the_number_masked_without_the_birth_date_digits(
    world, login, client
):
    for role in ("hr", "county", "administrator"):
        response = login(world.users[role]).get(
            reverse("admin:placement_worker_change", args=[world.a.worker.pk])
        )
        text = response.content.decode()
        assert response.status_code == 200
        assert "140105" + "*" * 12 in text
        assert world.a.worker.id_number_masked not in text  # it would rebuild the number
        assert world.a.id_number not in text
        assert "138****0011" in text
        assert world.a.phone not in text
        assert (reverse("admin:placement_worker_reveal", args=[world.a.worker.pk]) in text) == (
            role != "county"
        )


def test_the_workers_page_gives_retirement_windows_by_day_only_to_those_who_see_full_numbers(
    world, login, client
):
    # A man born 1970-05-01 reaches 60 in 2030-05 and retires 17 months later, on 2031-10-01.
    exact = ["2026-10-01 至 2031-09-30", "2030-05-01 至 2034-10-01"]
    for role in ("hr", "county"):
        response = login(world.users[role]).get(
            reverse("admin:placement_worker_change", args=[world.a.worker.pk])
        )
        text = response.content.decode()
        assert "内部退养可选期间" in text and "弹性退休可选期间" in text
        if role == "hr":
            assert all(window in text for window in exact)
        else:
            # Any of these days would give away the birth month and day that the mask hides.
            assert not any(window in text for window in exact)
            assert "2026 年至 2031 年" in text and "2030 年至 2034 年" in text
            assert "-09-30" not in text and "2034-10" not in text and "2026-10" not in text


def test_a_reveal_shows_the_full_number_and_is_logged(world, login, client):
    client = login(world.users["hr"])
    url = reverse("admin:placement_worker_reveal", args=[world.a.worker.pk])
    assert client.get(url).status_code == 405  # never by a link that a crawler or cache follows
    response = client.post(url, REMOTE_ADDR="10.1.2.3")
    text = response.content.decode()
    assert world.a.id_number in text and world.a.phone in text
    assert "no-store" in response["Cache-Control"]
    entry = AccessLog.objects.get()
    assert (entry.username, entry.action, entry.target, entry.rows) == (
        "hr-a",
        AccessLog.Action.REVEAL,
        f"placement.worker:{world.a.worker.pk}",
        1,
    )
    assert entry.source == "page:" + url and entry.address == "10.1.2.3"


def test_a_reveal_refused_or_out_of_scope_writes_no_log(world, login, client):
    login(world.users["county"]).post(
        reverse("admin:placement_worker_reveal", args=[world.a.worker.pk])
    )
    login(world.users["hr"]).post(
        reverse("admin:placement_worker_reveal", args=[world.b.worker.pk])
    )
    assert not AccessLog.objects.exists()


def test_an_export_is_logged_with_its_row_count(world):
    entry = access_log_record(
        user=world.users["hr"],
        action=AccessLog.Action.EXPORT,
        target="workers.xlsx",
        rows=250,
        full_numbers=False,
        source="command:export_workers",
    )
    entry.refresh_from_db()
    assert (entry.action, entry.target, entry.rows, entry.full_numbers, entry.source) == (
        "export",
        "workers.xlsx",
        250,
        False,
        "command:export_workers",
    )


def test_finding_a_worker_by_number_keeps_it_out_of_the_url(world, login, client):
    client = login(world.users["hr"])
    response = client.post(
        reverse("admin:placement_worker_find"), {"id_number": world.a.id_number.lower()}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:placement_worker_change", args=[world.a.worker.pk]
    )
    # The changelist search no longer treats a number specially: it is a name search.
    response = client.get(reverse("admin:placement_worker_changelist"), {"q": world.a.id_number})
    assert world.a.worker.name not in response.content.decode()


def test_changing_a_number_in_the_admin_keeps_it_out_of_the_admins_log(world, login, client):
    new_number = synthetic_id(region="140105", birth="19750101", seq=77)
    worker = world.a.worker
    response = login(world.users["hr"]).post(
        reverse("admin:placement_worker_change", args=[worker.pk]),
        {
            "enterprise": worker.enterprise_id,
            "name": worker.name,
            "id_number": new_number,
            "status": worker.status,
            "post": "",
            "hire_date": "",
            "phone": "13600000099",
            "diversion_year": "",
            "registered_on": "2016-01-04",
            "placements-TOTAL_FORMS": "0",
            "placements-INITIAL_FORMS": "0",
            "placements-MIN_NUM_FORMS": "0",
            "placements-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    worker.refresh_from_db()
    assert worker.phone == "13600000099"
    entries = list(LogEntry.objects.values_list("object_repr", "change_message"))
    assert entries
    for text in (str(e) for e in entries):
        for secret in (new_number, world.a.id_number, "13600000099", world.a.phone):
            assert secret not in text


def test_leaving_the_phone_blank_on_the_workers_page_keeps_it(world, login, client):
    worker = world.a.worker
    login(world.users["hr"]).post(
        reverse("admin:placement_worker_change", args=[worker.pk]),
        worker_form(worker, name="改名测试", phone=""),
    )
    worker.refresh_from_db()
    assert (worker.name, worker.phone) == ("改名测试", world.a.phone)


def test_error_reports_mask_numbers_in_post_data_and_variables(world, settings):
    number = world.a.id_number
    phone = world.a.phone  # not spelled out here: the report also shows this source code
    request = RequestFactory().post(
        "/admin/placement/worker/add/", {"id_number": number, "phone": phone, "x": number}
    )
    request.user = world.users["hr"]
    try:
        local_number = number  # noqa: F841 - shown in the traceback's variables
        raise ValueError("boom")
    except ValueError:
        reporter = ExceptionReporter(request, *sys.exc_info())
    text = reporter.get_traceback_text() + reporter.get_traceback_html()
    assert number not in text
    assert phone not in text
    assert number[:6] + "********" + number[14:] in text


@pytest.mark.parametrize("role", ["county", "hr"])
def test_the_worker_list_shows_masked_numbers_only(world, login, client, role):
    text = login(world.users[role]).get(reverse("admin:placement_worker_changelist")).content
    text = text.decode()
    assert world.a.worker.id_number_masked in text
    assert world.a.id_number not in text and world.a.phone not in text


def test_a_deactivated_user_cannot_reveal(world, client):
    client.force_login(world.users["deactivated"], backend=MODEL_BACKEND)
    response = client.post(reverse("admin:placement_worker_reveal", args=[world.a.worker.pk]))
    assert response.status_code == 302
    assert not AccessLog.objects.exists()
