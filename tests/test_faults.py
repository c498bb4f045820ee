"""Faults the app must survive. Those that need two sessions of a server at once run on
PostgreSQL only (skipped on SQLite, which has no server and writes one at a time); the rest run
on both.

PostgreSQL restarting under a running app is reproduced by terminating the server side of the
app's connections (what a restart does to every client) while requests go through Django's real
WSGI handler, which, unlike the test client, runs the per-request connection checks.

Officers working at the same moment are threads, each with its own database connection (Django
gives every thread its own), started together; where the outcome would otherwise depend on
timing, a pause is put at the one point where the two must overlap, so that each test fails
every time without its fix rather than now and then.
"""

import datetime
import re
import threading
import time

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.handlers.wsgi import WSGIHandler
from django.db import InterfaceError, OperationalError, connection, connections
from django.test import Client, RequestFactory
from django.urls import reverse

from access.actors import SYSTEM
from placement import imports, services
from placement.admin import ALREADY_SUBMITTED, WorkerAdmin
from placement.demo_rosters import ROSTER_HEADERS, roster_rows, roster_xlsx
from placement.models import AnnualTarget, FormSubmission, Placement, Worker
from reports.models import PlacementFact
from tests.conftest import MODEL_BACKEND, synthetic_id

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two sessions at the same moment, or a server to lose, need PostgreSQL",
)


def _terminate_other_connections():
    """Every connection to the test database except the one used to do it: as a restart."""
    from django.db import connections

    killer = connections["default"].copy()
    try:
        with killer.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]
    finally:
        killer.close()


@pytest.fixture
def serve(django_user_model):
    """GET a page through the WSGI handler as a logged-in administrator: the status code."""
    user = django_user_model.objects.create_superuser("ops", password="x" * 16)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    handler = WSGIHandler()

    def get(path):
        environ = RequestFactory()._base_environ(
            PATH_INFO=path, REQUEST_METHOD="GET", HTTP_COOKIE=f"sessionid={session.session_key}"
        )
        status = []
        b"".join(handler(environ, lambda line, headers: status.append(line)))
        return int(status[0].split()[0])

    return get


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_every_request_succeeds_once_postgresql_is_back_after_a_restart(serve):
    assert serve("/admin/") == 200
    assert connection.connection is not None  # kept between requests (CONN_MAX_AGE)
    assert _terminate_other_connections() >= 1
    for _ in range(3):
        assert serve("/admin/") == 200


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_without_health_checks_the_first_request_after_a_restart_fails(serve, monkeypatch):
    # The test above can fail: this is what the setting prevents.
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", False)
    connection.close()  # the setting is read when a connection opens
    assert serve("/admin/") == 200
    _terminate_other_connections()
    assert serve("/admin/") == 500
    assert serve("/admin/") == 200  # Django closes the broken connection after the error


# --- Officers at the same moment -------------------------------------------------------------


def _at_once(**calls) -> dict:
    """Run the calls in threads started together (each thread its own database connection):
    what each returned, or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results = {}

    def run(name, call):
        try:
            barrier.wait(timeout=10)
            results[name] = call()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item, name=item[0]) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _sessions_waiting_for_a_lock() -> int:
    other = connections["default"].copy()
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0]
    finally:
        other.close()


def _officer(user) -> Client:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([\w-]+)" value="([^"]*)"')


def _hidden(response) -> dict:
    """The hidden inputs of a page (its version and one-time token among them)."""
    assert response.status_code == 200
    return dict(HIDDEN_INPUT.findall(response.content.decode()))


def _carried(page: dict) -> dict:
    return {name: page[name] for name in ("version", "submission") if name in page}


def _worker_page(worker, **changes) -> dict:
    """What the worker's page posts back (no placement rows), with `changes`."""
    data = {
        "enterprise": worker.enterprise_id,
        "name": worker.name,
        "id_number": "",
        "status": worker.status,
        "post": worker.post,
        "registered_on": worker.registered_on.isoformat(),
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
        "placements-MIN_NUM_FORMS": "0",
        "placements-MAX_NUM_FORMS": "1000",
    }
    return data | changes


def _placement_page(placement, **changes) -> dict:
    data = {
        "worker": placement.worker_id,
        "channel": placement.channel,
        "placed_on": placement.placed_on.isoformat(),
        "destination_unit": placement.destination_unit,
        "destination_region": "",
        "ended_on": "",
        "note": placement.note,
    }
    return data | changes


@pytest.mark.django_db
def test_the_second_officer_saving_a_worker_is_told_who_changed_it_and_nothing_is_lost(
    make_worker, make_user
):
    worker = make_worker(post="采煤工")
    old_name = worker.name
    first = _officer(make_user("hr", username="hr-first"))
    second = _officer(make_user("hr", username="hr-second"))
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    first_page, second_page = _hidden(first.get(url)), _hidden(second.get(url))
    assert first_page["version"] == second_page["version"]

    saved = first.post(url, _worker_page(worker, name="改名甲") | _carried(first_page))
    refused = second.post(url, _worker_page(worker, post="掘进工") | _carried(second_page))

    assert saved.status_code == 302
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "该职工已由 hr-first 于" in page
    assert "修改，您的修改没有保存" in page
    assert 'value="掘进工"' in page  # the second officer's input is still on the page
    worker.refresh_from_db()
    assert (worker.name, worker.post) == ("改名甲", "采煤工")

    # Saving again after checking is the second officer's decision: the page carries the new
    # version now. The first officer's change stays in the history.
    again = second.post(url, _worker_page(worker, name=old_name, post="掘进工") | _hidden(refused))
    assert again.status_code == 302
    worker.refresh_from_db()
    assert (worker.name, worker.post) == (old_name, "掘进工")
    assert Worker.history.filter(id=worker.pk, name="改名甲", history_user__username="hr-first")


@pytest.mark.django_db
def test_a_placement_changed_meanwhile_is_not_overwritten_from_its_page(
    make_worker, place, make_user
):
    placement = place(make_worker(), datetime.date(2016, 5, 3))
    first = _officer(make_user("hr", username="hr-first"))
    second = _officer(make_user("hr", username="hr-second"))
    url = reverse("admin:placement_placement_change", args=[placement.pk])
    first_page, second_page = _hidden(first.get(url)), _hidden(second.get(url))

    saved = first.post(url, _placement_page(placement, note="甲的备注") | _carried(first_page))
    refused = second.post(
        url, _placement_page(placement, destination_unit="乙单位") | _carried(second_page)
    )

    assert saved.status_code == 302
    assert refused.status_code == 200
    assert "该安置记录已由 hr-first 于" in refused.content.decode()
    placement.refresh_from_db()
    assert (placement.note, placement.destination_unit) == ("甲的备注", "")


@pytest.mark.django_db
def test_a_placement_changed_after_its_delete_page_was_shown_is_kept(make_worker, place, make_user):
    placement = place(make_worker(), datetime.date(2016, 5, 3))
    first = _officer(make_user("hr", username="hr-first"))
    second = _officer(make_user("administrator"))  # HR officers may not delete
    change_url = reverse("admin:placement_placement_change", args=[placement.pk])
    delete_url = reverse("admin:placement_placement_delete", args=[placement.pk])
    confirmation = _hidden(second.get(delete_url))
    assert confirmation["version"] == _hidden(first.get(change_url))["version"]

    first.post(
        change_url,
        _placement_page(placement, note="甲的备注") | _carried(_hidden(first.get(change_url))),
    )
    refused = second.post(delete_url, confirmation)

    assert (refused.status_code, refused["Location"]) == (302, delete_url)
    assert Placement.objects.filter(pk=placement.pk, note="甲的备注").exists()
    page = second.get(delete_url)
    text = page.content.decode()
    assert "该安置记录已由 hr-first 于" in text and "没有删除" in text
    # Deleting it after all is the second officer's decision: the page shows the new version.
    assert second.post(delete_url, _hidden(page)).status_code == 302
    assert not Placement.objects.filter(pk=placement.pk).exists()


@pytest.mark.django_db
def test_a_worker_changed_after_its_delete_page_was_shown_is_kept(make_worker, make_user):
    worker = make_worker(post="采煤工")
    first = _officer(make_user("hr", username="hr-first"))
    second = _officer(make_user("administrator"))  # HR officers may not delete
    change_url = reverse("admin:placement_worker_change", args=[worker.pk])
    delete_url = reverse("admin:placement_worker_delete", args=[worker.pk])
    confirmation = _hidden(second.get(delete_url))

    first.post(
        change_url, _worker_page(worker, post="掘进工") | _carried(_hidden(first.get(change_url)))
    )
    refused = second.post(delete_url, confirmation)

    assert refused.status_code == 302
    assert Worker.objects.filter(pk=worker.pk, post="掘进工").exists()
    # Unchanged since its page was shown, it is deleted.
    assert second.post(delete_url, _hidden(second.get(delete_url))).status_code == 302
    assert not Worker.objects.filter(pk=worker.pk).exists()


def _delete_selected(client, pks, **extra):
    data = {"action": "delete_selected", "_selected_action": [str(pk) for pk in pks]}
    return client.post(reverse("admin:placement_placement_changelist"), data | extra)


@pytest.mark.django_db
def test_selected_placements_one_changed_after_the_confirmation_none_is_deleted(
    make_worker, place, make_user
):
    placements = [place(make_worker(), datetime.date(2016, 5, day)) for day in (3, 4)]
    pks = [placement.pk for placement in placements]
    editor = _officer(make_user("hr", username="hr-first"))
    administrator = _officer(make_user("administrator"))  # HR officers may not delete
    confirmation = _delete_selected(administrator, pks)
    versions = _hidden(confirmation)["versions"]
    assert {int(pair.split(":")[0]) for pair in versions.split(",")} == set(pks)

    change_url = reverse("admin:placement_placement_change", args=[pks[1]])
    editor.post(
        change_url,
        _placement_page(placements[1], note="甲的备注") | _carried(_hidden(editor.get(change_url))),
    )
    refused = _delete_selected(administrator, pks, post="yes", versions=versions)

    assert refused.status_code == 302
    assert Placement.objects.filter(pk__in=pks).count() == 2
    listing = administrator.get(refused["Location"]).content.decode()
    assert "有 1 条在确认页显示之后被修改过，一条也没有删除" in listing

    # Chosen again, as they are now: both go.
    again = _hidden(_delete_selected(administrator, pks))["versions"]
    assert _delete_selected(administrator, pks, post="yes", versions=again).status_code == 302
    assert not Placement.objects.filter(pk__in=pks).exists()


@pytest.mark.django_db
def test_selected_placements_with_versions_that_are_not_versions_are_kept(
    make_worker, place, make_user
):
    placement = place(make_worker(), datetime.date(2016, 5, 3))
    administrator = _officer(make_user("administrator"))
    for forged in [
        "",
        "x",
        f"{placement.pk}:x",
        f"{placement.pk}:-1",
        f"{placement.pk}:" + "9" * 30,
    ]:
        _delete_selected(administrator, [placement.pk], post="yes", versions=forged)
        assert Placement.objects.filter(pk=placement.pk).exists(), forged


@pytest.mark.django_db
@pytest.mark.parametrize("forged", ["-1", "x", "١٢", " 1", "9" * 5000])
def test_a_delete_posted_with_a_version_that_is_not_one_is_refused(make_worker, make_user, forged):
    worker = make_worker()
    administrator = _officer(make_user("administrator"))
    delete_url = reverse("admin:placement_worker_delete", args=[worker.pk])

    refused = administrator.post(delete_url, {"post": "yes", "version": forged})

    assert (refused.status_code, refused["Location"]) == (302, delete_url)
    assert Worker.objects.filter(pk=worker.pk).exists()


@pytest.mark.django_db
def test_a_target_is_deleted_from_its_confirmation_page(make_user, enterprise):
    """A target's model is ordered through optional relations: its row is locked without them
    (PostgreSQL locks no row on the nullable side of an outer join)."""
    target = services.target_set(year=2017, workers=100, enterprise=enterprise, actor=SYSTEM)
    administrator = _officer(make_user("administrator"))
    delete_url = reverse("admin:placement_annualtarget_delete", args=[target.pk])

    confirmation = _hidden(administrator.get(delete_url))
    assert administrator.post(delete_url, confirmation).status_code == 302
    assert not AnnualTarget.objects.filter(pk=target.pk).exists()


@pytest.mark.django_db
def test_a_placement_row_on_the_workers_page_changed_meanwhile_is_not_overwritten(
    make_worker, place, make_user
):
    worker = make_worker()
    placement = place(worker, datetime.date(2016, 5, 3))
    first = _officer(make_user("hr", username="hr-first"))
    second = _officer(make_user("hr", username="hr-second"))
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    page = _hidden(second.get(url))
    placement_url = reverse("admin:placement_placement_change", args=[placement.pk])
    shown = _hidden(first.get(placement_url))
    saved = first.post(placement_url, _placement_page(placement, note="甲的备注") | _carried(shown))
    assert saved.status_code == 302

    row = {
        "placements-TOTAL_FORMS": "1",
        "placements-INITIAL_FORMS": "1",
        "placements-0-id": placement.pk,
        "placements-0-worker": worker.pk,
        "placements-0-channel": placement.channel,
        "placements-0-placed_on": "2016-05-03",
        "placements-0-destination_unit": "乙单位",
        "placements-0-note": "",
        "placements-0-version": page["placements-0-version"],
    }
    refused = second.post(url, _worker_page(worker) | _carried(page) | row)

    assert refused.status_code == 200
    assert "该安置记录已由 hr-first 于" in refused.content.decode()
    placement.refresh_from_db()
    assert (placement.note, placement.destination_unit) == ("甲的备注", "")


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_officers_saving_a_worker_at_the_same_moment_one_is_refused(
    make_worker, make_user, monkeypatch
):
    worker = make_worker(post="采煤工")
    officers = {
        "first": _officer(make_user("hr", username="hr-first")),
        "second": _officer(make_user("hr", username="hr-second")),
    }
    url = reverse("admin:placement_worker_change", args=[worker.pk])
    pages = {name: _hidden(officer.get(url)) for name, officer in officers.items()}
    # A pause after the version is read: both saves are past it at once unless the row lock
    # makes the second wait for the first.
    latest = services._latest_history

    def read_then_pause(obj, *, fields):
        found = latest(obj, fields=fields)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(services, "_latest_history", read_then_pause)
    posts = {"first": "掘进工", "second": "机电工"}
    responses = _at_once(
        **{
            name: lambda name=name: officers[name].post(
                url, _worker_page(worker, post=posts[name]) | _carried(pages[name])
            )
            for name in officers
        }
    )

    codes = sorted(response.status_code for response in responses.values())
    assert codes == [200, 302]
    winner = next(name for name, response in responses.items() if response.status_code == 302)
    loser = next(name for name in responses if name != winner)
    assert f"该职工已由 hr-{winner} 于" in responses[loser].content.decode()
    worker.refresh_from_db()
    assert worker.post == posts[winner]


def _new_worker_page(enterprise, number: str) -> dict:
    return {
        "enterprise": enterprise.pk,
        "name": "重复提交",
        "id_number": number,
        "status": "worker",
        "registered_on": "",
        "placements-TOTAL_FORMS": "0",
        "placements-INITIAL_FORMS": "0",
        "placements-MIN_NUM_FORMS": "0",
        "placements-MAX_NUM_FORMS": "1000",
    }


@pytest.mark.django_db
def test_an_add_page_posted_twice_registers_the_worker_once(make_user, enterprise):
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_add")
    data = _new_worker_page(enterprise, synthetic_id(seq=501)) | _carried(_hidden(officer.get(url)))

    first = officer.post(url, data)
    second = officer.post(url, data)

    assert first.status_code == second.status_code == 302
    worker = Worker.objects.get()
    assert second.url == reverse("admin:placement_worker_change", args=[worker.pk])
    assert str(ALREADY_SUBMITTED) in officer.get(second.url).content.decode()
    assert FormSubmission.objects.get().object_id == worker.pk


@pytest.mark.django_db
def test_a_placement_page_posted_twice_places_once(make_worker, make_user):
    worker = make_worker()
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_placement_add")
    data = {
        "worker": worker.pk,
        "channel": "internal_transfer",
        "placed_on": "2016-05-03",
        "destination_unit": "",
        "destination_region": "",
        "ended_on": "",
        "note": "",
    } | _carried(_hidden(officer.get(url)))

    responses = [officer.post(url, data), officer.post(url, data)]

    assert [response.status_code for response in responses] == [302, 302]
    placement = Placement.objects.get()
    assert responses[1].url == reverse("admin:placement_placement_change", args=[placement.pk])


@pytest.mark.django_db
def test_a_page_refused_by_validation_can_be_corrected_and_posted_with_its_token(
    make_user, enterprise
):
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_add")
    data = _new_worker_page(enterprise, "110101199001011234") | _carried(_hidden(officer.get(url)))
    assert officer.post(url, data).status_code == 200  # a wrong check digit
    assert not FormSubmission.objects.exists()
    corrected = officer.post(url, data | {"id_number": synthetic_id(seq=503)})
    assert corrected.status_code == 302
    assert Worker.objects.count() == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_add_page_posted_twice_at_the_same_moment_registers_once_without_an_error(
    make_user, enterprise, monkeypatch
):
    officer = _officer(make_user("hr"))
    url = reverse("admin:placement_worker_add")
    data = _new_worker_page(enterprise, synthetic_id(seq=505)) | _carried(_hidden(officer.get(url)))
    # A pause between the form's checks and the write: both requests are past their checks
    # (the number not registered yet) unless the token makes the second wait for the first.
    save = WorkerAdmin.save_service

    def pause_then_save(**kwargs):
        time.sleep(0.3)
        return save(**kwargs)

    monkeypatch.setattr(WorkerAdmin, "save_service", pause_then_save)
    responses = _at_once(one=lambda: officer.post(url, data), two=lambda: officer.post(url, data))

    assert [getattr(r, "status_code", r) for r in responses.values()] == [302, 302]
    worker = Worker.objects.get()
    assert reverse("admin:placement_worker_change", args=[worker.pk]) in [
        response.url for response in responses.values()
    ]


# --- Imports at the same moment, and an import losing its connection -------------------------

POST = ROSTER_HEADERS.index("岗位")


def _import(enterprise, data: bytes):
    return imports.roster_import(
        data=data, filename="roster.xlsx", enterprise=enterprise, user=SYSTEM
    )


def _ledger(enterprise) -> dict:
    """What an enterprise's rows say (not their ids or timestamps), to compare two runs."""
    return {
        "workers": sorted(
            Worker.objects.filter(enterprise=enterprise).values_list(
                "id_number_digest",
                "name",
                "sex",
                "birth_date",
                "status",
                "post",
                "phone",
                "hire_date",
                "registered_on",
                "registered_on_source",
                "diversion_year",
            ),
            key=repr,
        ),
        "placements": sorted(
            Placement.objects.filter(worker__enterprise=enterprise).values_list(
                "worker__id_number_digest", "channel", "placed_on", "destination_unit", "ended_on"
            ),
            key=repr,
        ),
        "facts": sorted(
            PlacementFact.objects.filter(enterprise=enterprise).values_list(
                "worker__id_number_digest", "kind", "channel", "start", "end"
            ),
            key=repr,
        ),
    }


@needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("twice", [False, True], ids=["overlapping rosters", "one roster twice"])
def test_two_imports_at_the_same_moment_end_as_one_after_the_other(enterprise, monkeypatch, twice):
    rows = roster_rows(30, seed=11)
    files = {"a": rows[:20]}
    # The ten people in both files hold another post in the second.
    files["b"] = (
        files["a"]
        if twice
        else [[*row[:POST], "掘进工（第二份）", *row[POST + 1 :]] for row in rows[10:]]
    )
    files = {name: roster_xlsx(rows) for name, rows in files.items()}
    # The first import to read what is stored waits until the other has read too, or is
    # waiting for the imports' lock: without the lock, both read the ten as new.
    order = []
    existing = imports._existing_workers

    def read_then_wait(digests):
        found = existing(digests)
        order.append(threading.current_thread().name)
        if len(order) == 1:
            _wait_until(lambda: len(order) > 1 or _sessions_waiting_for_a_lock() > 0)
        return found

    monkeypatch.setattr(imports, "_existing_workers", read_then_wait)

    results = _at_once(
        **{name: lambda name=name: _import(enterprise, files[name]) for name in files}
    )

    for result in results.values():
        assert not isinstance(result, Exception), result
        assert [error.message for error in result.errors] == []
        assert result.imported
    together = _ledger(enterprise)
    assert len(together["workers"]) == (20 if twice else 30)
    if twice:
        second = results[order[1]]
        assert (second.created, second.updated, second.unchanged) == (0, 0, 20)

    ran = list(order)
    Placement.objects.all().delete()
    Worker.objects.all().delete()
    for name in ran:
        _import(enterprise, files[name])
    assert _ledger(enterprise) == together


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(pid: int) -> None:
    other = connections["default"].copy()
    try:
        with other.cursor() as cursor:
            # Waits (up to 5 s) until the session is gone.
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        other.close()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_import_whose_connection_is_killed_halfway_stores_nothing_and_a_retry_succeeds(
    enterprise, monkeypatch
):
    # Once imports run as jobs (jobs.tasks.import_write), the same kill must also leave the
    # job failed with a clear message, or back on the queue and then done; this tests the
    # import the job runs.
    data = roster_xlsx(roster_rows(12, seed=13))
    monkeypatch.setattr(imports, "BATCH", 5)  # new workers written in three batches
    insert = services.insert_rows
    written = []

    def insert_then_lose_the_connection(model, fields, rows):
        ids = insert(model, fields, rows)
        if model is Worker and not written:
            # Seen inside the import's transaction: the first batch is in the table.
            written.append(Worker.objects.filter(enterprise=enterprise).count())
            _terminate(_backend_pid())
        return ids

    monkeypatch.setattr(services, "insert_rows", insert_then_lose_the_connection)
    with pytest.raises((OperationalError, InterfaceError)):
        _import(enterprise, data)

    assert written == [5]
    assert Worker.objects.count() == Placement.objects.count() == 0
    assert Worker.history.count() == Placement.history.count() == 0
    assert PlacementFact.objects.count() == 0
    monkeypatch.setattr(services, "insert_rows", insert)
    retried = _import(enterprise, data)
    assert [error.message for error in retried.errors] == []
    assert retried.created == Worker.objects.filter(enterprise=enterprise).count() == 12


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_officers_placing_workers_of_one_enterprise_do_not_wait_for_each_other(
    make_worker, place
):
    """The reports' monthly sums are appended, never updated (reports.models.FactMonth): a
    placement in one enterprise does not wait for another officer's open transaction that
    placed a worker of the same enterprise in the same month and channel."""
    from reports.models import FactMonth

    first, second = make_worker(), make_worker()
    first_written, second_done = threading.Event(), threading.Event()

    def hold_open():
        from django.db import transaction

        with transaction.atomic():
            place(first, datetime.date(2017, 3, 1), "self_employment")
            first_written.set()
            second_done.wait(timeout=10)  # the other officer finishes meanwhile

    def place_second():
        first_written.wait(timeout=10)
        placed = place(second, datetime.date(2017, 3, 2), "self_employment")
        second_done.set()
        return placed

    started = time.monotonic()
    results = _at_once(first=hold_open, second=place_second)

    assert results["first"] is None and isinstance(results["second"], Placement)
    # Done while the first transaction was still open, not after its 10 s wait had run out.
    assert second_done.is_set() and time.monotonic() - started < 10
    current = FactMonth.objects.filter(kind="current", channel="self_employment")
    assert sum(current.values_list("net", flat=True)) == 2


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_deleted_while_another_officer_corrects_them_leaves_the_monthly_sums_right(
    make_worker,
):
    """The deletion's share of the monthly sums is read once the correction has committed (the
    worker is locked first), not from the facts the correction replaced."""
    from django.db import transaction
    from django.db.models import Sum

    from reports.models import FactMonth

    worker = make_worker(registered_on=datetime.date(2016, 1, 4))
    corrected = threading.Event()

    def correct():
        with transaction.atomic():
            services.worker_correct(
                worker=Worker.objects.get(pk=worker.pk),
                registered_on=datetime.date(2016, 5, 9),
                actor=SYSTEM,
            )
            corrected.set()
            _wait_until(lambda: _sessions_waiting_for_a_lock() >= 1)  # the deletion waits

    def delete():
        corrected.wait(timeout=10)
        services.worker_delete(worker=Worker.objects.get(pk=worker.pk), actor=SYSTEM)

    results = _at_once(correct=correct, delete=delete)

    assert results == {"correct": None, "delete": None}
    assert not Worker.objects.filter(pk=worker.pk).exists()
    assert not PlacementFact.objects.filter(worker_id=worker.pk).exists()
    registered = FactMonth.objects.filter(enterprise=worker.enterprise, kind="registered")
    assert (registered.aggregate(n=Sum("net"))["n"] or 0) == 0


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_report_counts_from_one_snapshot_while_a_correction_commits(province, make_worker):
    """A correction committing between the report's query of the monthly sums and its query of
    the as-of month's facts is counted by neither (one snapshot), not by both."""
    from reports.selectors import Scope, placement_report

    worker = make_worker(registered_on=datetime.date(2017, 5, 10))
    fired = []

    def correct():
        try:
            services.worker_correct(
                worker=Worker.objects.get(pk=worker.pk),
                registered_on=datetime.date(2017, 6, 5),
                actor=SYSTEM,
            )
        finally:
            connection.close()

    def between_queries(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "reports_factmonth" in sql and not fired:
            fired.append(sql)
            other = threading.Thread(target=correct)
            other.start()
            other.join(timeout=10)
        return result

    with connection.execute_wrapper(between_queries):
        report = placement_report(
            scope=Scope(region=province),
            year=2017,
            as_of=datetime.date(2017, 6, 15),
            user=SYSTEM,
        )

    assert fired
    assert Worker.objects.get(pk=worker.pk).registered_on == datetime.date(2017, 6, 5)
    assert report.totals.to_place == 1  # counted once, as before the correction
