"""A user's scope changed by an administrator, on either page that can change it, and numbers
tried against the registry through the worker form (found by a review as an attacker would work,
each reproduced first)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.urls import reverse

from enterprises.models import Region, UserScope
from placement.access import can_see_full_id
from placement.models import AccessLog, Worker
from tests.conftest import synthetic_id

from .conftest import worker_form


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def test_a_role_changed_on_the_scopes_page_moves_the_users_group(world, login, client):
    """An administrator moves an HR officer to province staff on 用户权限范围 (not the user's
    page): the HR group's rights (full numbers, writes) go with the old role."""
    hr = world.users["hr"]
    scope = UserScope.objects.get(user=hr)
    login(world.users["administrator"])
    response = client.post(
        reverse("admin:enterprises_userscope_change", args=[scope.pk]),
        {
            "user": hr.pk,
            "role": "province_staff",
            "region": Region.objects.get(code="140000").pk,
            "enterprise": "",
        },
    )
    assert response.status_code == 302
    hr = _fresh(hr)
    assert list(hr.groups.values_list("name", flat=True)) == ["province_staff"]
    assert not can_see_full_id(hr)
    login(hr)
    reveal = client.post(reverse("admin:placement_worker_reveal", args=[world.c.worker.pk]))
    assert world.c.id_number not in reveal.content.decode()


def test_a_scope_deleted_on_its_page_takes_the_role_group_with_it(world, login, client):
    hr = world.users["hr"]
    scope = UserScope.objects.get(user=hr)
    login(world.users["administrator"])
    client.post(reverse("admin:enterprises_userscope_delete", args=[scope.pk]), {"post": "yes"})
    assert not UserScope.objects.filter(user=hr).exists()
    assert not _fresh(hr).groups.exists()


def test_a_region_left_on_the_form_of_a_new_hr_officer_opens_no_regions_report(
    world, login, client
):
    """Province staff moved to HR at 甲 on the user's page: the region input still holds 山西省.
    It is emptied; the officer sees 甲's reports only."""
    user = world.users["province"]
    scope = UserScope.objects.get(user=user)
    login(world.users["administrator"])
    response = client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        {
            "username": user.username,
            "is_active": "on",
            "is_staff": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "scope-TOTAL_FORMS": "1",
            "scope-INITIAL_FORMS": "1",
            "scope-MIN_NUM_FORMS": "0",
            "scope-MAX_NUM_FORMS": "1",
            "scope-0-id": scope.pk,
            "scope-0-user": user.pk,
            "scope-0-role": "enterprise_hr",
            "scope-0-enterprise": world.a.enterprise.pk,
            "scope-0-region": scope.region_id,  # left as it was
        },
    )
    assert response.status_code == 302
    scope.refresh_from_db()
    assert (scope.role, scope.enterprise_id, scope.region_id) == (
        "enterprise_hr",
        world.a.enterprise.pk,
        None,
    )
    login(_fresh(user))
    assert client.get("/reports/region/140000/").status_code == 404
    assert client.get("/reports/region/140212/").status_code == 404
    home = client.get("/reports/", follow=True)
    assert home.redirect_chain[-1][0] == reverse("reports:enterprise", args=[world.a.enterprise.pk])


@pytest.mark.parametrize(
    "role, region, enterprise",
    [
        ("enterprise_hr", "140000", "a"),
        ("region_staff", "140105", "a"),
        ("administrator", "140000", None),
    ],
)
def test_the_database_keeps_a_scope_to_its_roles_field(world, role, region, enterprise):
    """Whatever writes a scope without the model (a raw update): a second field is refused."""
    scope = UserScope.objects.get(user=world.users["county"])
    fields = {
        "role": role,
        "region": Region.objects.get(code=region),
        "enterprise": world.a.enterprise if enterprise else None,
    }
    with pytest.raises(IntegrityError):
        UserScope.objects.filter(pk=scope.pk).update(**fields)


def test_numbers_tried_through_the_worker_form_are_limited_and_logged(
    world, login, client, settings
):
    """The HR officer of 甲 tries guessed numbers through the add form (an empty name: nothing
    is ever saved): each check is logged, found or not, and counted with the searches by
    number; past the limit the number is not checked."""
    settings.LEDGER_LOOKUPS_PER_MINUTE = 5
    login(world.users["hr"])
    url = reverse("admin:placement_worker_add")
    guesses = [synthetic_id(region="140212", birth="19700501", seq=s) for s in [*range(1, 8), 31]]
    assert world.c.id_number == guesses[-1]  # registered in another city
    answers = []
    for number in guesses:
        page = client.post(url, worker_form(world.a.worker, name="", id_number=number))
        answers.append(page.content.decode())
    checks = AccessLog.objects.filter(user=world.users["hr"], action=AccessLog.Action.CHECK)
    assert checks.count() == 5 and not checks.filter(rows=1).exists()
    assert (
        AccessLog.objects.filter(user=world.users["hr"], action=AccessLog.Action.LIMITED).count()
        == 3
    )
    # The last guess, past the limit, is answered with the limit, not with where it is.
    assert (
        "管辖范围以外" not in answers[-1] and "请稍后再试" in answers[-1] or ("次" in answers[-1])
    )
    assert not Worker.objects.filter(name="").exists()


def test_a_registered_number_checked_through_the_form_is_logged_as_found(world, login, client):
    login(world.users["hr"])
    client.post(
        reverse("admin:placement_worker_add"),
        worker_form(world.a.worker, name="", id_number=world.c.id_number),
    )
    check = AccessLog.objects.get(user=world.users["hr"], action=AccessLog.Action.CHECK)
    assert check.rows == 1 and world.c.id_number not in check.target
