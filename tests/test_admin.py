"""The admin as an administrator uses it: every model's pages, one-page worker entry, and
changelists whose query count does not grow with the number of rows."""

import datetime

import pytest
from django.urls import reverse

from access.actors import SYSTEM
from enterprises.models import HAS_MEMBERS, PARENT_NESTED, Enterprise, Region, UserScope
from placement.channels import Channel
from placement.models import TARGET_MAX, TARGET_OUT_OF_RANGE, AnnualTarget, Placement, Worker
from placement.services import target_set
from tests.conftest import synthetic_id


@pytest.fixture
def world(make_enterprise, make_worker, make_user, place, province, taiyuan):
    group = make_enterprise(name="测试集团")
    mine = make_enterprise(name="测试集团一矿", parent=group)
    worker = make_worker(enterprise=mine)
    place(worker, datetime.date(2016, 5, 1), Channel.INTERNAL_TRANSFER)
    target_set(year=2016, region=taiyuan, workers=10, actor=SYSTEM)
    make_user("hr", enterprise=mine)
    return {"group": group, "mine": mine, "worker": worker}


MODELS = [Region, Enterprise, Worker, Placement, AnnualTarget, UserScope]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_admin_page_of_a_model_opens_for_an_administrator(root_client, world, model):
    opts = model._meta
    obj = model.objects.first()
    for name, args in [
        ("changelist", []),
        ("add", []),
        ("change", [obj.pk]),
        ("history", [obj.pk]),
    ]:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args)
        response = root_client.get(url)
        assert response.status_code == 200, url


def test_the_worker_list_shows_masked_numbers_and_current_channel(root_client, world):
    response = root_client.get(reverse("admin:placement_worker_changelist"))
    number = world["worker"].id_number
    body = response.content.decode()
    assert number not in body
    assert number[:6] + "********" + number[14:] in body
    assert "内部安置" in body


def test_an_exact_id_number_finds_the_worker_by_post(root_client, world, make_worker):
    make_worker(enterprise=world["mine"], name="另一人")
    number = world["worker"].id_number
    response = root_client.post(reverse("admin:placement_worker_find"), {"id_number": number})
    assert response.status_code == 302
    assert response.url == reverse("admin:placement_worker_change", args=[world["worker"].pk])
    assert number not in response.url


def test_an_hr_officer_adds_and_places_a_worker_on_one_page(root_client, world):
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
    response = root_client.post(reverse("admin:placement_worker_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    worker = Worker.objects.by_id_number(number).get()
    assert (worker.sex, worker.birth_date) == ("M", datetime.date(1975, 3, 12))
    placement = worker.placements.get()
    assert placement.channel == Channel.TRANSFER_EMPLOYMENT
    assert placement.created_by.username == "root"


def test_the_worker_form_refuses_a_number_registered_elsewhere(root_client, world, make_enterprise):
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
    response = root_client.post(reverse("admin:placement_worker_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["id_number"]
    assert errors == ["该公民身份号码已在“测试集团一矿”登记，同一职工不能在两个企业重复登记"]


def test_internal_retirement_out_of_window_is_refused_on_the_add_page(root_client, world):
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
    response = root_client.post(reverse("admin:placement_worker_add"), data)
    assert response.status_code == 200
    assert not Worker.objects.filter(name="年轻人").exists()
    assert "内部退养只适用于" in response.content.decode()


def _grow(make_enterprise, make_worker, make_user, place, n):
    for i in range(n):
        mine = make_enterprise(name=f"增量煤矿{i}")
        place(make_worker(enterprise=mine), datetime.date(2016, 7, 1), Channel.SELF_EMPLOYMENT)
        target_set(year=2017, enterprise=mine, workers=5, actor=SYSTEM)
        make_user("hr", username=f"u{i}", enterprise=mine)


# Queries of one changelist page as a superuser: session, user, the page's own (count, rows,
# filters' choices), whatever the number of rows. The ledger's lists also read the table's row
# estimate (database/paginator.py), then count exactly while the table is small. The worker
# list's diversion-year filter probes its index once per distinct year, plus once for "none"
# (database/distinct.py): the count follows the years present, never the rows.
CHANGELIST_QUERIES = {
    "Region": 8,
    "Enterprise": 11,
    "Worker": 14,
    "Placement": 11,
    "AnnualTarget": 11,
    "UserScope": 8,
}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_changelist_runs_the_same_queries_whatever_the_row_count(
    root_client,
    world,
    make_enterprise,
    make_worker,
    make_user,
    place,
    django_assert_num_queries,
    model,
):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with django_assert_num_queries(CHANGELIST_QUERIES[model.__name__]):
        assert root_client.get(url).status_code == 200
    _grow(make_enterprise, make_worker, make_user, place, 12)
    with django_assert_num_queries(CHANGELIST_QUERIES[model.__name__]):
        assert root_client.get(url).status_code == 200


def test_a_placement_added_in_the_admin_counts_in_the_reports_at_once(root_client, world):
    # The admin saves through placement.services, which keeps the report facts: nothing is
    # left for a report to bring up to date.
    from reports.models import PlacementFact

    worker = world["worker"]
    url = reverse("admin:placement_placement_add")
    data = {"worker": worker.pk, "channel": Channel.PUBLIC_WELFARE_POST, "placed_on": "2016-09-01"}
    assert root_client.post(url, data).status_code == 302

    current = PlacementFact.objects.filter(worker=worker, kind=PlacementFact.Kind.CURRENT)
    assert list(current.order_by("start").values_list("channel", "start")) == [
        (Channel.INTERNAL_TRANSFER, datetime.date(2016, 5, 1)),
        (Channel.PUBLIC_WELFARE_POST, datetime.date(2016, 9, 1)),
    ]
    placement = worker.placements.get(channel=Channel.PUBLIC_WELFARE_POST)
    assert (placement.created_by.username, placement.updated_by.username) == ("root", "root")


def test_a_placement_deleted_in_the_admin_leaves_no_fact_behind(root_client, world):
    from reports.models import PlacementFact

    placement = world["worker"].placements.get()
    url = reverse("admin:placement_placement_delete", args=[placement.pk])
    assert root_client.post(url, {"post": "yes"}).status_code == 302

    assert not PlacementFact.objects.filter(
        worker=world["worker"], kind=PlacementFact.Kind.CURRENT
    ).exists()


def _enterprise_form(enterprise, **changes):
    form = {
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "industry": enterprise.industry,
        "region": enterprise.region_id,
        "parent": enterprise.parent_id or "",
    }
    return form | changes


def test_the_admin_refuses_to_nest_a_group_under_a_member(root_client, world, make_enterprise):
    # 测试集团 → 测试集团一矿 exists; a mine under 一矿 would make a second level.
    other = make_enterprise(name="另一矿")
    url = reverse("admin:enterprises_enterprise_change", args=[other.pk])
    response = root_client.post(url, _enterprise_form(other, parent=world["mine"].pk))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == [
        str(PARENT_NESTED % {"value": world["mine"].name})
    ]
    other.refresh_from_db()
    assert other.parent_id is None


def test_the_admin_refuses_to_put_a_group_with_members_under_another(
    root_client, world, make_enterprise
):
    holding = make_enterprise(name="控股集团")
    url = reverse("admin:enterprises_enterprise_change", args=[world["group"].pk])
    response = root_client.post(url, _enterprise_form(world["group"], parent=holding.pk))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == [str(HAS_MEMBERS)]


def test_the_admin_refuses_a_target_over_the_cap(root_client, world, taiyuan):
    url = reverse("admin:placement_annualtarget_add")
    data = {"year": 2017, "region": taiyuan.pk, "workers": TARGET_MAX + 1}
    response = root_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["workers"] == [str(TARGET_OUT_OF_RANGE)]
    assert not AnnualTarget.objects.filter(year=2017).exists()
    data["workers"] = TARGET_MAX
    assert root_client.post(url, data).status_code == 302


@pytest.mark.parametrize(
    ("role", "import_link"),
    [("administrator", True), ("hr", True), ("province", False), ("city", False)],
)
def test_everyone_who_sees_workers_is_offered_the_look_up_by_id_number(
    client_as, make_worker, role, import_link
):
    """The worker list's tools: the look-up by ID number for every role that may use it (region
    staff, who add no workers, once had no link to it), import only for those who may import."""
    make_worker()
    page = client_as(role).get(reverse("admin:placement_worker_changelist")).content.decode()
    assert reverse("admin:placement_worker_find") in page
    assert "按公民身份号码查找" in page
    assert (reverse("admin:placement_worker_import") in page) is import_link
    assert reverse("admin:placement_worker_export") in page


def test_a_delete_confirmation_lists_no_report_facts(client_as, make_worker):
    """The facts a worker's delete takes with it are the reports' derived index: not listed."""
    from reports.models import PlacementFact

    worker = make_worker()
    assert PlacementFact.objects.filter(worker=worker).exists()
    client = client_as("administrator")
    single = client.get(reverse("admin:placement_worker_delete", args=[worker.pk]))
    selected = client.post(
        reverse("admin:placement_worker_changelist"),
        {"action": "delete_selected", "_selected_action": [worker.pk]},
    )
    for page in (single, selected):
        body = page.content.decode()
        assert page.status_code == 200 and worker.name in body
        assert str(PlacementFact._meta.verbose_name) not in body
        assert str(Worker._meta.verbose_name) in body
