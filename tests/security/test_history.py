"""Audit history through every write path: admin pages, services under a command or import
context, and bulk writes; readable by administrators in the admin, scoped for everyone else."""

import datetime

from django.urls import reverse

from access.actors import SYSTEM
from audit.history import history_bulk_create, history_bulk_update, history_context
from placement.channels import Channel
from placement.models import Placement, Worker
from placement.services import worker_correct, worker_register
from tests.conftest import synthetic_id

from .conftest import worker_form


def test_an_admin_edit_records_who_from_which_page_and_what_changed(world, login, client):
    worker = world.a.worker
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    login(world.users["hr"]).post(url, worker_form(worker, post="掘进工"))
    latest = worker.history.latest()
    assert latest.history_type == "~"
    assert latest.history_user == world.users["hr"]
    assert latest.history_source == "page:" + url
    changes = latest.diff_against(latest.prev_record)
    assert set(changes.changed_fields) == {"post"}


def test_a_command_records_its_user_and_name(world):
    with history_context(user=world.users["administrator"], source="command:fix_posts"):
        worker_correct(worker=world.b.worker, post="通风工", actor=SYSTEM)
    latest = world.b.worker.history.latest()
    assert (latest.history_user, latest.history_source) == (
        world.users["administrator"],
        "command:fix_posts",
    )


def test_an_import_batch_records_each_row_through_services_and_bulk_writes(world):
    with history_context(user=world.users["hr"], source="import:batch-7"):
        worker = worker_register(
            enterprise=world.a.enterprise,
            id_number=synthetic_id(seq=501),
            name="导入职工",
            registered_on=datetime.date(2016, 2, 1),
            actor=SYSTEM,
        )
    created = worker.history.get()
    assert (created.history_type, created.history_source) == ("+", "import:batch-7")
    rows = [
        Placement(
            worker=worker,
            enterprise=worker.enterprise,
            channel=Channel.SELF_EMPLOYMENT,
            placed_on=datetime.date(2016, 8, 1),
        )
    ]
    history_bulk_create(rows, model=Placement, user=world.users["hr"], source="import:batch-7")
    placement = Placement.objects.get(worker=worker)
    record = placement.history.get()
    assert (record.history_user, record.history_source) == (world.users["hr"], "import:batch-7")
    worker.post = "后勤"
    history_bulk_update([worker], model=Worker, fields=["post"], source="import:batch-8")
    assert worker.history.latest().history_source == "import:batch-8"
    assert worker.history.latest().post == "后勤"


def test_a_delete_is_recorded(world, login, client):
    placement = world.c.placement
    client = login(world.users["administrator"])
    response = client.post(
        reverse("admin:placement_placement_delete", args=[placement.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    record = Placement.history.filter(id=placement.pk).latest()
    assert (record.history_type, record.history_user) == ("-", world.users["administrator"])


def test_administrators_read_a_records_history_and_others_only_within_scope(world, login, client):
    url = reverse("admin:enterprises_enterprise_history", args=[world.c.enterprise.pk])
    assert login(world.users["administrator"]).get(url).status_code == 200
    assert login(world.users["city"]).get(url).status_code == 404
    version = world.c.worker.history.get().history_id
    form_url = reverse("admin:placement_worker_simple_history", args=[world.c.worker.pk, version])
    assert login(world.users["city"]).get(form_url).status_code == 404
