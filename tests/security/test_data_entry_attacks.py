"""Scope and privacy of the admin's entry pages, tried as an attacker would (a review)."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from access.actors import SYSTEM
from placement.channels import Channel
from placement.models import Worker
from placement.services import worker_correct, worker_place
from tests.conftest import synthetic_id
from tests.security.conftest import worker_form

D = datetime.date
ADD_URL = reverse("admin:placement_worker_add")


def add_form(enterprise, number, name="新登记", **extra):
    return {
        "enterprise": enterprise.pk,
        "name": name,
        "id_number": number,
        "status": "worker",
        "registered_on": "2016-02-01",
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
    } | extra


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


@pytest.mark.parametrize("spelling", ["lower_x", "full_width", "fifteen"])
def test_other_spellings_of_a_registered_number_are_refused_on_the_add_page(world, login, spelling):
    # A number ending in X at enterprise a, then typed otherwise.
    seq = next(s for s in range(1, 999) if synthetic_id(birth="19700601", seq=s).endswith("X"))
    number = synthetic_id(region="140105", birth="19700601", seq=seq)
    from placement.services import worker_register

    worker_register(enterprise=world.a.enterprise, id_number=number, name="原登记", actor=SYSTEM)
    typed = {
        "lower_x": number[:-1] + "x",
        "full_width": _full_width(number),
        "fifteen": number[:6] + number[8:17],
    }[spelling]
    client = login(world.users["hr"])
    response = client.post(ADD_URL, add_form(world.a.enterprise, typed))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["id_number"]
    assert Worker.objects.filter(name="新登记").count() == 0


def test_attack_hr_moves_own_worker_to_an_enterprise_outside_scope(world, login):
    client = login(world.users["hr"])
    url = reverse("admin:placement_worker_change", args=[world.a.worker.pk])
    response = client.post(url, worker_form(world.a.worker, enterprise=world.c.enterprise.pk))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "enterprise" in errors
    world.a.worker.refresh_from_db()
    assert world.a.worker.enterprise_id == world.a.enterprise.pk


def test_attack_hr_moves_a_placement_to_a_worker_outside_scope(world, login):
    client = login(world.users["hr"])
    p = world.a.placement
    url = reverse("admin:placement_placement_change", args=[p.pk])
    data = {
        "worker": world.c.worker.pk,
        "channel": p.channel,
        "placed_on": p.placed_on.isoformat(),
        "destination_unit": p.destination_unit,
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "worker" in response.context["adminform"].form.errors
    p.refresh_from_db()
    assert p.worker_id == world.a.worker.pk


def test_attack_hr_adds_a_placement_row_of_another_worker_on_own_workers_page(world, login):
    client = login(world.users["hr"])
    url = reverse("admin:placement_worker_change", args=[world.a.worker.pk])
    row = {
        "placements-TOTAL_FORMS": "1",
        "placements-INITIAL_FORMS": "1",
        "placements-0-id": world.c.placement.pk,
        "placements-0-worker": world.c.worker.pk,
        "placements-0-channel": Channel.SELF_EMPLOYMENT,
        "placements-0-placed_on": "2016-06-01",
    }
    client.post(url, worker_form(world.a.worker) | row)
    world.c.placement.refresh_from_db()
    assert world.c.placement.channel == Channel.INTERNAL_TRANSFER
    assert world.c.placement.worker_id == world.c.worker.pk


@pytest.mark.parametrize("role", ["hr", "county", "city"])
def test_attack_bulk_actions_on_rows_outside_scope(world, login, role):
    client = login(world.users[role])
    for model, obj in [("worker", world.c.worker), ("placement", world.c.placement)]:
        url = reverse(f"admin:placement_{model}_changelist")
        for action in ["delete_selected", "export_admin_action"]:
            response = client.post(
                url, {"action": action, "_selected_action": [str(obj.pk)], "index": "0"}
            )
            body = response.content if hasattr(response, "content") else b""
            text = body.decode(errors="replace")
            assert world.c.worker.name not in text, (model, action)
            assert world.c.id_number not in text, (model, action)


@pytest.mark.parametrize(
    "query",
    [
        "enterprise__id__exact={c_ent}",
        "enterprise={c_ent}",
        "city=1402",
        "status=placed&enterprise__region__code__startswith=1402",
        "q=丙测试",
        "o=-1.2",
        "_to_field=id_number_digest",
        "diversion_year=2016&diversion_year__isnull=True",
        "registered_on__year=2016&registered_on__month=1&registered_on__day=4",
        "channel=internal_transfer",
    ],
)
def test_attack_made_up_changelist_queries_show_nothing_outside_scope(world, login, query):
    client = login(world.users["hr"])
    q = query.format(c_ent=world.c.enterprise.pk)
    for model in ["worker", "placement"]:
        response = client.get(reverse(f"admin:placement_{model}_changelist") + "?" + q)
        assert response.status_code in (200, 302, 400, 403), response.status_code
        text = response.content.decode()
        assert world.c.worker.name not in text, (model, q)


def test_history_of_a_worker_masks_phone_and_birth_date_for_staff_without_the_permission(
    world, login
):
    worker = world.a.worker
    worker.phone = "13811112222"
    worker_correct(worker=worker, actor=SYSTEM, phone="13811112222", hire_date=D(1990, 7, 1))
    client = login(world.users["county"])
    url = reverse("admin:placement_worker_history", args=[worker.pk])
    text = client.get(url).content.decode()
    assert "13811112222" not in text
    assert world.a.phone not in text
    assert world.a.id_number not in text
    # each version page too
    for h in Worker.history.filter(id=worker.pk):
        page = client.get(
            reverse("admin:placement_worker_simple_history", args=[worker.pk, h.history_id])
        )
        body = page.content.decode()
        assert "13811112222" not in body and world.a.phone not in body, h.history_id
        assert world.a.id_number not in body
        assert "1970-05-01" not in body, h.history_id


def test_staff_with_change_worker_but_view_only_placements_take_a_placement_out_of_its_rules(
    world, login
):
    """An administrator grants county staff the right to correct workers (not placements): the
    placements then show read-only on the worker's page, and their rows are not validated."""
    woman = synthetic_id(region="140105", birth="19660701", seq=122)
    from placement.services import worker_register

    worker = worker_register(
        enterprise=world.a.enterprise,
        id_number=woman,
        name="内退职工",
        status="worker",
        registered_on=D(2016, 1, 4),
        actor=SYSTEM,
    )
    worker_place(
        worker=worker, channel=Channel.INTERNAL_RETIREMENT, placed_on=D(2016, 2, 1), actor=SYSTEM
    )
    staff = world.users["county"]
    staff.user_permissions.add(Permission.objects.get(codename="change_worker"))
    client = login(staff)
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    page = client.get(url)
    assert page.status_code == 200
    management = {
        "placements-TOTAL_FORMS": "1",
        "placements-INITIAL_FORMS": "1",
        "placements-MIN_NUM_FORMS": "0",
        "placements-MAX_NUM_FORMS": "1000",
        "placements-0-id": str(worker.placements.get().pk),
        "placements-0-worker": str(worker.pk),
    }
    data = worker_form(worker, status="cadre") | management
    response = client.post(url, data)
    worker.refresh_from_db()
    # A cadre woman retires at 55 (2021-07): internal retirement from 2016-02 is outside the
    # 5-year window, and the worker's page should refuse the change as the import would.
    assert worker.status == "worker", (response.status_code, worker.retirement_date)
