"""Roles and scopes: the central rule, groups in code, forged fields, autocomplete, users."""

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from enterprises.models import Enterprise, Region, UserScope
from placement.models import Worker
from placement.roles import ROLE_PERMISSIONS, roles_setup, user_role_sync

from .conftest import VISIBLE_SITES, worker_form


def test_each_role_sees_exactly_its_sites(world):
    for role, sites in VISIBLE_SITES.items():
        user = world.users[role]
        expected = {world.sites[s].enterprise.pk for s in sites}
        assert set(Enterprise.objects.visible_to(user).values_list("pk", flat=True)) == expected
        expected_workers = {world.sites[s].worker.pk for s in sites}
        assert set(Worker.objects.visible_to(user).values_list("pk", flat=True)) == expected_workers


def test_a_groups_officer_sees_the_group_and_its_members_only(world, make_user):
    from placement.demo import credit_code

    group = Enterprise.objects.create(
        name="测试集团",
        credit_code=credit_code("140100", 799_999),
        industry="coal",
        region=Region.objects.get(code="140100"),
    )
    Enterprise.objects.filter(pk=world.c.enterprise.pk).update(parent=group)
    officer = make_user("hr", username="group-hr", enterprise=group)
    visible = set(Enterprise.objects.visible_to(officer))
    assert visible == {group, world.c.enterprise}


def test_setting_up_roles_twice_gives_the_same_groups(db):
    first = roles_setup()
    assert roles_setup() == first
    hr = Group.objects.get(name="enterprise_hr")
    names = {f"{p.content_type.app_label}.{p.codename}" for p in hr.permissions.all()}
    assert names == set(ROLE_PERMISSIONS["enterprise_hr"])
    assert (
        not Group.objects.get(name="province_staff")
        .permissions.exclude(codename__startswith="view_")
        .exclude(codename__in=["submit_return", "approve_return"])  # monthly returns, not ledger
        .exists()
    )


def test_an_administrator_sets_role_and_scope_on_the_users_page(world, login, client):
    user = get_user_model().objects.create_user(username="new-staff", password="x" * 20)
    url = reverse("admin:auth_user_change", args=[user.pk])
    response = login(world.users["administrator"]).get(url)
    assert response.status_code == 200 and "scope-0-role" in response.content.decode()
    data = {
        "username": "new-staff",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "scope-TOTAL_FORMS": "1",
        "scope-INITIAL_FORMS": "0",
        "scope-MIN_NUM_FORMS": "0",
        "scope-MAX_NUM_FORMS": "1",
        "scope-0-role": "region_staff",
        "scope-0-region": Region.objects.get(code="140100").pk,
        "scope-0-user": user.pk,
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    user.refresh_from_db()
    assert user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["region_staff"]
    assert set(Enterprise.objects.visible_to(user)) == {world.a.enterprise, world.b.enterprise}


def test_a_role_change_moves_the_user_to_the_new_group_only(world):
    user = world.users["county"]
    UserScope.objects.filter(user=user).update(role="province_staff")
    user_role_sync(user=user)
    assert list(user.groups.values_list("name", flat=True)) == ["province_staff"]


def test_a_scope_change_is_seen_by_the_same_user_object_once_synced(world):
    user = world.users["county"]
    before = set(Worker.objects.visible_to(user))  # the visible enterprises now kept on `user`
    UserScope.objects.filter(user=user).update(region=Region.objects.get(code="140000"))
    user_role_sync(user=user)

    after = set(Worker.objects.visible_to(user))

    assert before < after
    assert after == set(Worker.objects.filter(enterprise__region__code__startswith="14"))


def test_a_forged_enterprise_field_cannot_move_a_worker_out_of_scope(world, login, client):
    worker = world.a.worker
    response = login(world.users["hr"]).post(
        reverse("admin:placement_worker_change", args=[worker.pk]),
        worker_form(worker, enterprise=world.c.enterprise.pk),
    )
    assert response.status_code == 200
    assert "enterprise" in response.context["adminform"].form.errors
    worker.refresh_from_db()
    assert worker.enterprise == world.a.enterprise


def test_a_forged_action_on_an_outside_row_touches_nothing(world, login, client):
    response = login(world.users["administrator"]).get(reverse("admin:index"))
    assert response.status_code == 200
    # An HR officer without delete permission cannot run the delete action at all, and an
    # outside row is not in the queryset the action receives: nothing changes.
    login(world.users["hr"]).post(
        reverse("admin:placement_worker_changelist"),
        {"action": "delete_selected", "_selected_action": [world.b.worker.pk], "post": "yes"},
    )
    assert Worker.objects.filter(pk=world.b.worker.pk).exists()


def test_autocomplete_offers_only_visible_records(world, login, client):
    client = login(world.users["hr"])
    for model_name, field_name, outside in [
        ("placement", "worker", world.b.worker.name),
        ("worker", "enterprise", world.b.enterprise.name),
        ("annualtarget", "enterprise", world.c.enterprise.name),
    ]:
        response = client.get(
            reverse("admin:autocomplete"),
            {"app_label": "placement", "model_name": model_name, "field_name": field_name},
        )
        texts = [r["text"] for r in json.loads(response.content)["results"]]
        assert texts and outside not in texts


def test_an_outside_object_and_a_missing_one_answer_alike(world, login, client):
    client = login(world.users["hr"])
    outside = client.get(reverse("admin:placement_worker_change", args=[world.b.worker.pk]))
    missing = client.get(reverse("admin:placement_worker_change", args=[987654321]))
    assert outside.status_code == missing.status_code == 404
    assert outside.content == missing.content


def test_city_filter_offers_only_cities_with_visible_enterprises(world, login, client):
    response = login(world.users["hr"]).get(reverse("admin:placement_worker_changelist"))
    text = response.content.decode()
    assert "?city=140100" in text and "?city=140200" not in text
