"""A number already registered at another enterprise: named only to users who may see that
enterprise, answered without a name (and written to the access log) to everyone else, on the
admin's worker form and in roster previews and imports alike; and the county or city office
moves a worker registered at the wrong enterprise back to the right one."""

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from placement.demo_rosters import roster_xlsx
from placement.forms import WorkerForm
from placement.imports import OUTSIDE_DUPLICATES_TOO_MANY, roster_import
from placement.models import (
    ID_NUMBER_ALREADY_REGISTERED,
    ID_NUMBER_REGISTERED_OUTSIDE_SCOPE,
    AccessLog,
    Worker,
)
from placement.services import worker_register
from tests.conftest import synthetic_id
from tests.job_queue import upload_and_check

ADD_URL = reverse("admin:placement_worker_add")
IMPORT_URL = reverse("admin:placement_worker_import")
PROCESS_URL = reverse("admin:placement_worker_process_import")
OUTSIDE = str(ID_NUMBER_REGISTERED_OUTSIDE_SCOPE)


def row(number, name="核对职工"):
    """One roster row (demo_rosters.ROSTER_HEADERS order) with no placement."""
    return [1, name, number, "", "", "工人", "采煤工", "否", None, "", "", None, ""]


def add_form(enterprise, number, name="新登记"):
    return {
        "enterprise": enterprise.pk,
        "name": name,
        "id_number": number,
        "status": "worker",
        "registered_on": "2017-02-01",
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
    }


def change_form(worker, **changes):
    return {
        "enterprise": worker.enterprise_id,
        "name": worker.name,
        "id_number": "",
        "status": worker.status,
        "registered_on": worker.registered_on.isoformat(),
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
        **changes,
    }


def upload(client, enterprise, rows):
    file = io.BytesIO(roster_xlsx(rows))
    file.name = "roster.xlsx"
    return upload_and_check(client, IMPORT_URL, {"import_file": file, "enterprise": enterprise.pk})


def duplicates_logged():
    return list(
        AccessLog.objects.filter(action=AccessLog.Action.DUPLICATE)
        .order_by("id")
        .values_list("username", "target", "rows", "full_numbers", "source")
    )


def grant(user, *codenames):
    """What an administrator does on the user's page under 用户权限."""
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="placement", codename__in=codenames)
    )


def test_attack_roster_dry_run_names_enterprise_outside_scope(world, login):
    """An HR officer previews a "roster" of other people's numbers: each row says only that the
    number is registered outside their scope, never where; one access-log row for the file."""
    client = login(world.users["hr"])
    own = synthetic_id(seq=401)
    rows = [row(own), row(world.b.id_number), row(world.c.id_number)]
    response = upload(client, world.a.enterprise, rows)
    assert response.status_code == 200
    result = response.context["result"]
    assert [(e.row, e.message) for e in result.errors] == [(5, OUTSIDE), (6, OUTSIDE)]
    body = response.content.decode()
    for site in (world.b, world.c):
        assert site.enterprise.name not in body
    assert duplicates_logged() == [
        (
            "hr-a",
            f"placement.worker:{world.b.worker.pk},{world.c.worker.pk}",
            2,
            False,
            "page:" + IMPORT_URL,
        )
    ]
    # The error report of the refused file says no more than the page.
    report = client.get(IMPORT_URL, {"errors": response.context["token"]})
    cells = [
        c.value for r in load_workbook(io.BytesIO(report.content)).active.iter_rows() for c in r
    ]
    assert not {world.b.enterprise.name, world.c.enterprise.name} & set(cells)
    assert not Worker.objects.by_id_number(own).exists()


def test_attack_add_form_names_enterprise_outside_scope(world, login):
    """The add form as a one-number oracle: the answer has no enterprise name, and is logged with
    the existing worker's primary key (never the number) for an administrator to follow up."""
    client = login(world.users["hr"])
    response = client.post(ADD_URL, add_form(world.a.enterprise, world.c.id_number))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["id_number"] == [OUTSIDE]
    assert world.c.enterprise.name not in response.content.decode()
    assert duplicates_logged() == [
        ("hr-a", f"placement.worker:{world.c.worker.pk}", 1, False, "page:" + ADD_URL)
    ]
    # Correcting an own worker's number to someone else's is answered the same way.
    url = reverse("admin:placement_worker_change", args=[world.a.worker.pk])
    response = client.post(url, change_form(world.a.worker, id_number=world.b.id_number))
    assert response.context["adminform"].form.errors["id_number"] == [OUTSIDE]
    assert world.b.enterprise.name not in response.content.decode()
    assert [r[1] for r in duplicates_logged()][-1] == f"placement.worker:{world.b.worker.pk}"


def test_duplicate_inside_scope_names_enterprise(world, login):
    """Staff who see both enterprises are told where the number is, as before, and nothing is
    logged: they could open that worker anyway."""
    city = world.users["city"]
    grant(city, "add_worker", "view_worker")
    response = login(city).post(ADD_URL, add_form(world.a.enterprise, world.b.id_number))
    assert response.context["adminform"].form.errors["id_number"] == [
        ID_NUMBER_ALREADY_REGISTERED % {"enterprise": world.b.enterprise.name}
    ]
    result = roster_import(
        data=roster_xlsx([row(world.b.id_number), row(world.c.id_number)]),
        filename="roster.xlsx",
        enterprise=world.a.enterprise,
        dry_run=True,
        user=city,
    )
    assert [e.message for e in result.errors] == [
        ID_NUMBER_ALREADY_REGISTERED % {"enterprise": world.b.enterprise.name},
        OUTSIDE,
    ]
    assert [r[1] for r in duplicates_logged()] == [f"placement.worker:{world.c.worker.pk}"]


def test_duplicate_outside_scope_is_logged(world):
    """Every answer is logged once, by whatever path: the service with a user, a preview and its
    confirmation (one row per file with the count), never the ID number."""
    hr = world.users["hr"]
    with pytest.raises(ValidationError) as refused:
        worker_register(
            enterprise=world.a.enterprise, id_number=world.b.id_number, name="重复", actor=hr
        )
    assert refused.value.message_dict["id_number"] == [OUTSIDE]
    data = roster_xlsx([row(world.b.id_number), row(world.c.id_number), row(synthetic_id(seq=7))])
    for dry_run in (True, False):
        result = roster_import(
            data=data, filename="r.xlsx", enterprise=world.a.enterprise, dry_run=dry_run, user=hr
        )
        assert result.refused and not result.imported
    logged = duplicates_logged()
    both = f"placement.worker:{world.b.worker.pk},{world.c.worker.pk}"
    assert logged == [
        ("hr-a", f"placement.worker:{world.b.worker.pk}", 1, False, ""),
        ("hr-a", both, 2, False, "import:roster"),
        ("hr-a", both, 2, False, "import:roster"),
    ]
    numbers = {world.b.id_number, world.c.id_number}
    for entry in AccessLog.objects.all():
        assert not any(n in entry.target or n in entry.source for n in numbers)


def test_attack_roster_of_many_numbers_outside_scope_is_refused_without_saying_which(
    world, settings
):
    """Beyond the limit the file is refused as a whole: no row says which numbers are
    registered, not even by the absence of another error on that row."""
    settings.LEDGER_IMPORT_MAX_OUTSIDE_DUPLICATES = 1
    late = row(synthetic_id(seq=9))
    late[10], late[11] = "内部安置", "2999-01-01"  # an error on a row that is not registered
    data = roster_xlsx([row(world.b.id_number), row(world.c.id_number), late])
    result = roster_import(
        data=data,
        filename="r.xlsx",
        enterprise=world.a.enterprise,
        dry_run=True,
        user=world.users["hr"],
    )
    assert [(e.row, e.message) for e in result.errors] == [
        (None, OUTSIDE_DUPLICATES_TOO_MANY % {"count": 2, "limit": 1})
    ]
    assert [r[2] for r in duplicates_logged()] == [2]


def test_the_operator_at_the_command_line_is_told_the_enterprise_and_a_named_user_is_not(
    world, tmp_path
):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(roster_xlsx([row(world.c.id_number)]))

    def run(**options):
        out = io.StringIO()
        with pytest.raises(SystemExit):
            call_command(
                "import_roster",
                str(path),
                enterprise=world.a.enterprise.credit_code,
                dry_run=True,
                stdout=out,
                **options,
            )
        return out.getvalue()

    assert world.c.enterprise.name in run()
    assert duplicates_logged() == []
    told = run(user="hr-a")
    assert world.c.enterprise.name not in told and OUTSIDE in told
    assert duplicates_logged() == [
        ("hr-a", f"placement.worker:{world.c.worker.pk}", 1, False, "import:roster")
    ]


@pytest.mark.parametrize(
    ("squatter_site", "resolver"),
    [("b", "city"), ("c", "administrator")],
    ids=["the city office", "an administrator across cities"],
)
def test_a_worker_registered_first_at_another_enterprise_is_moved_back(
    world, login, make_user, squatter_site, resolver
):
    """An officer registers someone of enterprise 甲 first, at their own enterprise, and so
    blocks 甲. The office that sees both enterprises (the city of both, with the permission to
    change workers an administrator grants on the user's page; across cities an administrator)
    moves the worker on the worker's page; the history names who did it and from which page."""
    squatter = world.sites[squatter_site]
    officer = make_user("hr", username=f"hr-{squatter_site}-2", enterprise=squatter.enterprise)
    number = synthetic_id(birth="19720304", seq=611)
    taken = worker_register(
        enterprise=squatter.enterprise, id_number=number, name="被抢登职工", actor=officer
    )
    client = login(world.users["hr"])
    response = client.post(ADD_URL, add_form(world.a.enterprise, number, name="被抢登职工"))
    assert response.context["adminform"].form.errors["id_number"] == [OUTSIDE]

    url = reverse("admin:placement_worker_change", args=[taken.pk])
    staff = world.users[resolver]
    if resolver == "city":
        # Region staff read only until an administrator grants them the change.
        denied = login(staff).post(url, change_form(taken, enterprise=world.a.enterprise.pk))
        assert denied.status_code == 403
        grant(staff, "change_worker")
    response = login(staff).post(url, change_form(taken, enterprise=world.a.enterprise.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    taken.refresh_from_db()
    assert taken.enterprise == world.a.enterprise
    moved = taken.history.latest()
    assert (moved.history_user, moved.history_source) == (staff, "page:" + url)
    assert moved.prev_record.enterprise_id == squatter.enterprise.pk
    # Now 甲's officer has the worker, and 乙/丙's officer no longer does.
    hr_a = login(world.users["hr"])
    assert hr_a.get(url).status_code == 200
    assert login(officer).get(url).status_code == 404


def test_a_worker_form_built_without_a_request_names_no_enterprise(world):
    """Fail closed: a form nobody told the user of answers as to a user who sees nothing."""
    form = WorkerForm(data=add_form(world.a.enterprise, world.a.id_number))
    assert form.errors["id_number"] == [OUTSIDE]


def test_the_answers_have_english_translations():
    with translation.override("en"):
        assert str(ID_NUMBER_REGISTERED_OUTSIDE_SCOPE).startswith(
            "This resident ID number is already registered at an enterprise outside your scope"
        )
        assert (OUTSIDE_DUPLICATES_TOO_MANY % {"count": 30, "limit": 20}).startswith(
            "30 resident ID numbers in the file"
        )


def test_attack_roster_refused_for_numbers_found_in_a_later_chunk_writes_nothing_but_the_log(
    world, settings, monkeypatch
):
    """Written chunk by chunk (placement.imports.WRITE_EVERY), a file whose numbers registered
    elsewhere pass the limit only in its last rows is refused as a whole: the rows written before
    are taken back, the answer does not say which rows, and the access log keeps its row."""
    monkeypatch.setattr("spreadsheets.resources.PROGRESS_EVERY", 2)
    monkeypatch.setattr("placement.imports.WRITE_EVERY", 2)
    settings.LEDGER_IMPORT_MAX_OUTSIDE_DUPLICATES = 1
    import placement.imports

    written = []
    write = placement.imports._roster_write

    def counted(**kwargs):
        written.append(len(kwargs["new_rows"]))
        return write(**kwargs)

    monkeypatch.setattr(placement.imports, "_roster_write", counted)
    own = [row(synthetic_id(seq=40 + i), name=f"本企业{i}") for i in range(6)]
    data = roster_xlsx([*own, row(world.b.id_number), row(world.c.id_number)])
    before = Worker.objects.count()
    result = roster_import(
        data=data, filename="r.xlsx", enterprise=world.a.enterprise, user=world.users["hr"]
    )
    assert [(e.row, e.message) for e in result.errors] == [
        (None, OUTSIDE_DUPLICATES_TOO_MANY % {"count": 2, "limit": 1})
    ]
    assert sum(written) == 6  # the file's own rows were written, then taken back
    assert not result.imported and Worker.objects.count() == before
    assert not Worker.objects.filter(name__startswith="本企业").exists()
    assert [r[2] for r in duplicates_logged()] == [2]
