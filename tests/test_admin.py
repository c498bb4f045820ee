"""The admin as an administrator uses it: every model's pages, one-page worker entry, and
changelists whose query count does not grow with the number of rows."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from access.actors import SYSTEM
from enterprises.models import Enterprise, Region, UserScope
from placement.channels import Channel
from placement.models import AnnualTarget, Placement, Worker
from placement.services import worker_place
from tests.conftest import synthetic_id


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.invalid", "x" * 16)
    client.force_login(user)
    return client


@pytest.fixture
def world(make_enterprise, make_worker, province, taiyuan):
    group = make_enterprise(name="测试集团")
    mine = make_enterprise(name="测试集团一矿", parent=group)
    worker = make_worker(enterprise=mine)
    worker_place(
        worker=worker,
        channel=Channel.INTERNAL_TRANSFER,
        placed_on=datetime.date(2016, 5, 1),
        actor=SYSTEM,
    )
    AnnualTarget.objects.create(year=2016, region=taiyuan, workers=10)
    user = get_user_model().objects.create_user("hr", password="y" * 16)
    UserScope.objects.create(user=user, role=UserScope.Role.ENTERPRISE_HR, enterprise=mine)
    return {"group": group, "mine": mine, "worker": worker}


MODELS = [Region, Enterprise, Worker, Placement, AnnualTarget, UserScope]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_admin_page_of_a_model_opens_for_an_administrator(admin_client, world, model):
    opts = model._meta
    obj = model.objects.first()
    for name, args in [
        ("changelist", []),
        ("add", []),
        ("change", [obj.pk]),
        ("history", [obj.pk]),
    ]:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args)
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_the_worker_list_shows_masked_numbers_and_current_channel(admin_client, world):
    response = admin_client.get(reverse("admin:placement_worker_changelist"))
    number = world["worker"].id_number
    body = response.content.decode()
    assert number not in body
    assert number[:6] + "********" + number[14:] in body
    assert "内部安置" in body


def test_an_exact_id_number_finds_the_worker_by_post(admin_client, world, make_worker):
    make_worker(enterprise=world["mine"], name="另一人")
    number = world["worker"].id_number
    response = admin_client.post(reverse("admin:placement_worker_find"), {"id_number": number})
    assert response.status_code == 302
    assert response.url == reverse("admin:placement_worker_change", args=[world["worker"].pk])
    assert number not in response.url


def test_an_hr_officer_adds_and_places_a_worker_on_one_page(admin_client, world):
    number = synthetic_id(birth="19750312", seq=211)
    data = {
        "enterprise": world["mine"].pk,
        "name": "新登记",
        "id_number": number,
        "status": "worker",
        "post": "采煤工",
        "hire_date": "1995-07-01",
        "phone": "13800000000",
        "registered_on": "2016-02-01",
        "placements-TOTAL_FORMS": "1",
        "placements-INITIAL_FORMS": "0",
        "placements-0-channel": Channel.TRANSFER_EMPLOYMENT,
        "placements-0-placed_on": "2016-06-01",
        "placements-0-destination_unit": "天津测试公司",
    }
    response = admin_client.post(reverse("admin:placement_worker_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    worker = Worker.objects.by_id_number(number).get()
    assert (worker.sex, worker.birth_date) == ("M", datetime.date(1975, 3, 12))
    placement = worker.placements.get()
    assert placement.channel == Channel.TRANSFER_EMPLOYMENT
    assert placement.created_by.username == "root"


def test_the_worker_form_refuses_a_number_registered_elsewhere(
    admin_client, world, make_enterprise
):
    other = make_enterprise(name="别家煤矿")
    data = {
        "enterprise": other.pk,
        "name": "重复",
        "id_number": world["worker"].id_number,
        "status": "worker",
        "registered_on": "2016-02-01",
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
    }
    response = admin_client.post(reverse("admin:placement_worker_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["id_number"]
    assert errors == ["该公民身份号码已在“测试集团一矿”登记，同一职工不能在两个企业重复登记"]


def test_internal_retirement_out_of_window_is_refused_on_the_add_page(admin_client, world):
    data = {
        "enterprise": world["mine"].pk,
        "name": "年轻人",
        "id_number": synthetic_id(birth="19850312", seq=211),
        "status": "worker",
        "registered_on": "2016-02-01",
        "placements-TOTAL_FORMS": "1",
        "placements-INITIAL_FORMS": "0",
        "placements-0-channel": Channel.INTERNAL_RETIREMENT,
        "placements-0-placed_on": "2016-06-01",
    }
    response = admin_client.post(reverse("admin:placement_worker_add"), data)
    assert response.status_code == 200
    assert not Worker.objects.filter(name="年轻人").exists()
    assert "内部退养只适用于" in response.content.decode()


def _grow(make_enterprise, make_worker, n):
    for i in range(n):
        mine = make_enterprise(name=f"增量煤矿{i}")
        worker = make_worker(enterprise=mine)
        worker_place(
            worker=worker,
            channel=Channel.SELF_EMPLOYMENT,
            placed_on=datetime.date(2016, 7, 1),
            actor=SYSTEM,
        )
        AnnualTarget.objects.create(year=2017, enterprise=mine, workers=5)
        UserScope.objects.create(
            user=get_user_model().objects.create_user(f"u{i}", password="z" * 16),
            role=UserScope.Role.ENTERPRISE_HR,
            enterprise=mine,
        )


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_changelist_runs_the_same_queries_whatever_the_row_count(
    admin_client, world, make_enterprise, make_worker, django_assert_num_queries, model
):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url).status_code == 200
    _grow(make_enterprise, make_worker, 12)
    with django_assert_num_queries(len(small.captured_queries)):
        assert admin_client.get(url).status_code == 200
