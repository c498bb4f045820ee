"""What an import or export job keeps, and for whom, over its life: a cancel that comes too late,
a job that fails, an export whose owner's rights change before the download, a file past its
day, and a preview whose records someone changed before its write (found by a review as an
attacker would work, each reproduced first)."""

import datetime
import io
from urllib.parse import unquote_plus

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

import jobs.tasks
from access.actors import SYSTEM
from enterprises.models import UserScope
from jobs.models import FAILED_ACCESS_CHANGED, ExportJob, ExportPart, ImportJob
from placement.demo_rosters import roster_csv, roster_rows
from placement.models import AccessLog, Worker
from placement.services import worker_save
from spreadsheets.admin import (
    EXPORT_ACCESS_CHANGED,
    EXPORT_GONE,
    IMPORT_RECHECKED,
    UPLOAD_CANCELLED,
    UPLOAD_NOT_CANCELLED,
)
from spreadsheets.results import ImportResult
from spreadsheets.uploads import unseal
from tests.conftest import MODEL_BACKEND, synthetic_id, xlsx_bytes
from tests.job_queue import run_jobs, upload_and_check

IMPORT_URL = reverse("admin:placement_worker_import")
PROCESS_URL = reverse("admin:placement_worker_process_import")
EXPORT_URL = reverse("admin:placement_worker_export")
ROWS = roster_rows(3, seed=2)


def _client(user):
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def _preview(client, enterprise, rows=ROWS):
    file = io.BytesIO(roster_csv(rows))
    file.name = "roster.csv"
    response = upload_and_check(
        client, IMPORT_URL, {"import_file": file, "enterprise": enterprise.pk}
    )
    assert response.status_code == 200
    return response.context["confirm"]


def _messages(response):
    return [str(m) for m in response.context["messages"]]


# --- Cancel ------------------------------------------------------------------------------------


def test_a_cancel_after_the_confirm_says_the_import_goes_ahead(world):
    """Two tabs of one preview: confirmed in the first, then "cancel" in the second. The write
    goes ahead, and the second tab says so instead of "cancelled, file deleted"."""
    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    assert hr.post(PROCESS_URL, confirm).status_code == 302
    response = hr.post(PROCESS_URL, {"token": confirm["token"], "cancel": "1"}, follow=True)
    assert _messages(response) == [str(UPLOAD_NOT_CANCELLED)]
    assert response.redirect_chain[-1][0].endswith("?job=" + confirm["token"])
    run_jobs()
    job = ImportJob.objects.get(token=confirm["token"])
    assert job.status == ImportJob.Status.DONE
    assert Worker.objects.filter(enterprise=world.a.enterprise).count() == 4


def test_a_second_cancel_still_says_cancelled(world):
    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    cancel = {"token": confirm["token"], "cancel": "1"}
    hr.post(PROCESS_URL, cancel, follow=True)
    response = hr.post(PROCESS_URL, cancel, follow=True)
    assert _messages(response) == [str(UPLOAD_CANCELLED)]
    assert ImportJob.objects.get().status == ImportJob.Status.CANCELLED


# --- Failure -----------------------------------------------------------------------------------


def test_a_failed_write_keeps_neither_the_upload_nor_the_previews_changes(world, monkeypatch):
    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    job = ImportJob.objects.get(token=confirm["token"])
    assert ImportResult.loads(unseal(job.result).decode()).changes  # the preview names people
    hr.post(PROCESS_URL, confirm)

    def broken(job_pk):
        raise RuntimeError("bug")

    monkeypatch.setattr(jobs.tasks, "_import_write", broken)
    run_jobs()
    job.refresh_from_db()
    assert (job.status, bytes(job.data)) == (ImportJob.Status.FAILED, b"")
    result = ImportResult.loads(unseal(job.result).decode())
    # The counts stay for the import history; the people do not.
    assert (result.changes, job.created) == ([], 3)


def test_a_failed_check_keeps_no_upload(world, monkeypatch):
    hr = _client(world.users["hr"])
    file = io.BytesIO(roster_csv(ROWS))
    file.name = "roster.csv"
    monkeypatch.setattr(jobs.tasks, "_import_check", lambda pk: 1 / 0)
    hr.post(IMPORT_URL, {"import_file": file, "enterprise": world.a.enterprise.pk})
    run_jobs()
    job = ImportJob.objects.get()
    assert (job.status, bytes(job.data), bytes(job.result)) == ("failed", b"", b"")


def test_the_cleanup_empties_a_failed_job_left_with_its_upload(world):
    """A job failed before failures emptied the file (or where that could not be done) loses it
    with the expired uploads."""
    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    job = ImportJob.objects.get(token=confirm["token"])
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED,
        created_at=timezone.now() - datetime.timedelta(days=30),
        heartbeat_at=timezone.now() - datetime.timedelta(days=30),
    )
    call_command("cleanup_imports", stdout=io.StringIO())
    job.refresh_from_db()
    assert (job.status, bytes(job.data)) == (ImportJob.Status.FAILED, b"")
    assert ImportResult.loads(unseal(job.result).decode()).changes == []


def test_an_upload_confirmed_as_it_expires_keeps_its_file(world, monkeypatch):
    """The clean-up picks the stale previews, then takes each under lock: one confirmed in
    between keeps the file its write needs."""
    from jobs import services

    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    job = ImportJob.objects.get(token=confirm["token"])
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1)
    )

    real_filter = services.ImportJob.objects.filter

    def confirmed_meanwhile(*args, **kwargs):
        rows = real_filter(*args, **kwargs)
        if "created_at__lt" in kwargs:
            stale = list(rows)
            ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CONFIRMED)
            return _Listed(stale)
        return rows

    monkeypatch.setattr(services.ImportJob.objects, "filter", confirmed_meanwhile)
    services.jobs_expire()
    monkeypatch.undo()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CONFIRMED and bytes(job.data) != b""


class _Listed(list):
    """A queryset's rows already fetched, answering what jobs_expire asks of a queryset."""

    def exclude(self, **kwargs):
        return self

    def iterator(self):
        return iter(self)


# --- Exports: the file follows its owner's rights ----------------------------------------------


def _big_export(client, settings, query=""):
    settings.LEDGER_EXPORT_JOB_ROWS = 0
    response = client.post(EXPORT_URL + query, {"format": "0", "resource": "0"}, follow=True)
    assert response.redirect_chain  # to the job's page, where its "queued" message is read
    run_jobs()
    return ExportJob.objects.get()


def _download(client, job):
    response = client.get(EXPORT_URL, {"download": job.token}, follow=True)
    if response.get("Content-Disposition", "").startswith("attachment"):
        return response, b"".join(response.streaming_content)
    return response, b""


def _cells(content) -> str:
    book = load_workbook(io.BytesIO(content))
    return "\n".join(str(v) for row in book.active.iter_rows(values_only=True) for v in row)


def test_an_export_with_full_numbers_is_refused_once_that_right_is_withdrawn(world, settings):
    county = world.users["county"]
    permission = Permission.objects.get(codename="view_full_id_number")
    county.user_permissions.add(permission)
    client = _client(county)
    job = _big_export(client, settings)
    assert job.status == ExportJob.Status.DONE

    county.user_permissions.remove(permission)
    client = _client(type(county).objects.get(pk=county.pk))  # permissions are cached per object
    response, content = _download(client, job)
    assert (content, _messages(response)) == (b"", [str(EXPORT_ACCESS_CHANGED)])
    assert not AccessLog.objects.filter(target="placement.worker:roster-export").exists()

    county.user_permissions.add(permission)  # given back: the file is offered again
    client = _client(type(county).objects.get(pk=county.pk))
    response, content = _download(client, job)
    assert world.a.id_number in _cells(content)
    # Logged as the file was written: with full numbers.
    assert AccessLog.objects.get(target="placement.worker:roster-export").full_numbers is True


def test_an_export_is_refused_once_its_owners_scope_has_changed(world, settings):
    hr = world.users["hr"]
    client = _client(hr)
    job = _big_export(client, settings)
    UserScope.objects.filter(user=hr).update(enterprise=world.b.enterprise)
    response, content = _download(_client(hr), job)
    assert (content, _messages(response)) == (b"", [str(EXPORT_ACCESS_CHANGED)])


def test_an_export_whose_owners_rights_change_before_it_is_written_is_not_written(world, settings):
    settings.LEDGER_EXPORT_JOB_ROWS = 0
    hr = world.users["hr"]
    _client(hr).post(EXPORT_URL, {"format": "0", "resource": "0"})
    UserScope.objects.filter(user=hr).update(enterprise=world.b.enterprise)
    run_jobs()
    job = ExportJob.objects.get()
    assert (job.status, job.failure) == (ExportJob.Status.FAILED, str(FAILED_ACCESS_CHANGED))
    assert not ExportPart.objects.exists()


def test_an_export_past_its_day_is_not_offered_even_before_the_cleanup(world, settings):
    client = _client(world.users["hr"])
    job = _big_export(client, settings)
    ExportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now()
        - datetime.timedelta(hours=settings.LEDGER_EXPORT_KEEP_HOURS, minutes=1)
    )
    response, content = _download(client, job)
    assert content == b"" and _messages(response)[-1] == str(EXPORT_GONE)


def test_an_expired_or_failed_export_forgets_its_search(world, settings, monkeypatch):
    """The change list's query string may hold a name searched for: gone with the file."""
    hr = _client(world.users["hr"])
    name = world.a.worker.name
    job = _big_export(hr, settings, query="?q=" + name)
    assert name in unquote_plus(job.query)
    ExportJob.objects.update(finished_at=timezone.now() - datetime.timedelta(days=2))
    call_command("cleanup_imports", stdout=io.StringIO())
    job.refresh_from_db()
    assert (job.status, job.query) == (ExportJob.Status.EXPIRED, "")

    monkeypatch.setattr(jobs.tasks, "_export_store", lambda *args: 1 / 0)
    hr.post(EXPORT_URL + "?q=" + name, {"format": "0", "resource": "0"})
    run_jobs()
    failed = ExportJob.objects.get(status=ExportJob.Status.FAILED)
    assert failed.query == ""


# --- What is written is what was shown ---------------------------------------------------------


def test_a_preview_whose_records_changed_before_its_write_is_checked_again(world):
    """The preview says a worker is unchanged; a colleague then corrects the worker's post; the
    officer confirms. The write does not put the file's value back unseen: the file is checked
    again and the new preview (one update) waits for a new confirmation."""
    worker = world.a.worker
    worker.post = "采煤工"
    worker_save(worker=worker, actor=SYSTEM)
    file = io.BytesIO(
        xlsx_bytes(
            [["姓名", "公民身份号码", "岗位（工种）"], [worker.name, world.a.id_number, "采煤工"]]
        )
    )
    file.name = "roster.xlsx"
    hr = _client(world.users["hr"])
    response = upload_and_check(
        hr, IMPORT_URL, {"import_file": file, "enterprise": world.a.enterprise.pk}
    )
    preview = response.context["result"]
    assert (preview.created, preview.updated, preview.unchanged) == (0, 0, 1)
    confirm = response.context["confirm"]

    worker.refresh_from_db()
    worker.post = "安全员"  # the colleague's correction
    worker_save(worker=worker, actor=SYSTEM)

    hr.post(PROCESS_URL, confirm)
    run_jobs()  # the write finds the change and puts the check back; the check runs
    job = ImportJob.objects.get()
    worker.refresh_from_db()
    assert (job.status, worker.post) == (ImportJob.Status.PREVIEW, "安全员")
    response = hr.get(IMPORT_URL, {"job": job.token})
    assert str(IMPORT_RECHECKED) in _messages(response)
    again = response.context["result"]
    assert (again.created, again.updated, again.unchanged) == (0, 1, 0)
    [change] = again.changes
    assert [(old, new) for _label, old, new in change.fields] == [("安全员", "采煤工")]

    hr.post(PROCESS_URL, response.context["confirm"])  # confirmed knowingly this time
    run_jobs()
    job.refresh_from_db()
    worker.refresh_from_db()
    assert (job.status, job.updated, worker.post) == (ImportJob.Status.DONE, 1, "采煤工")


def test_a_change_in_another_enterprise_does_not_hold_the_write_back(world):
    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    other = world.b.worker
    other.post = "调度员"
    worker_save(worker=other, actor=SYSTEM)
    hr.post(PROCESS_URL, confirm)
    run_jobs()
    job = ImportJob.objects.get()
    assert (job.status, job.created) == (ImportJob.Status.DONE, 3)


@pytest.mark.parametrize("changed", ["placement", "deleted"])
def test_a_placement_changed_or_a_worker_deleted_since_the_check_is_seen(
    world, changed, place, make_worker
):
    unplaced = make_worker(enterprise=world.a.enterprise)  # one that may be deleted
    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    if changed == "placement":
        place(world.a.worker, datetime.date(2017, 3, 1))
    else:
        from placement.services import worker_delete

        worker_delete(worker=unplaced, actor=SYSTEM)
    hr.post(PROCESS_URL, confirm)
    run_jobs()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.PREVIEW and job.options["_rechecked"] is True


def test_the_preview_is_in_the_uploaders_language(world, settings):
    """The check runs in a worker, without the request: its notes and errors in the language of
    the page the file was uploaded from."""
    hr = _client(world.users["hr"])
    hr.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    bad = [list(row) for row in ROWS]
    number = bad[0][2]
    bad[0][2] = number[:-1] + ("0" if number[-1] != "0" else "1")  # a wrong check digit
    file = io.BytesIO(roster_csv(bad))
    file.name = "roster.csv"
    response = upload_and_check(
        hr, IMPORT_URL, {"import_file": file, "enterprise": world.a.enterprise.pk}
    )
    [error] = response.context["result"].errors
    assert "check" in error.message.lower() and not any(
        "\u4e00" <= c <= "\u9fff" for c in error.message
    )


def test_a_confirmed_import_waiting_for_its_write_shows_no_rows_read(world):
    from spreadsheets.admin import job_progress

    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    hr.post(PROCESS_URL, confirm)
    job = ImportJob.objects.get()
    state = job_progress(job)
    assert (state["status"], state["waiting"], state["rows_done"], state["rows_total"]) == (
        "confirmed",
        True,
        None,
        None,
    )
    page = hr.get(IMPORT_URL, {"job": job.token})
    assert "已确认：等待后台开始写入" in page.content.decode()


def test_an_enterprise_date_changed_after_the_preview_sends_the_file_back(world):
    """A new worker without a date of their own takes the enterprise's: changed between the
    preview and the write (no stored worker follows it, so only the enterprise's history says
    so), the file is checked again."""
    from enterprises.models import Enterprise

    enterprise = world.a.enterprise
    enterprise.diversion_date = datetime.date(2016, 3, 1)
    enterprise.save()
    file = io.BytesIO(
        xlsx_bytes([["姓名", "公民身份号码"], ["新职工", synthetic_id(birth="19720301", seq=555)]])
    )
    file.name = "roster.xlsx"
    hr = _client(world.users["hr"])
    response = upload_and_check(hr, IMPORT_URL, {"import_file": file, "enterprise": enterprise.pk})
    confirm = response.context["confirm"]
    enterprise = Enterprise.objects.get(pk=enterprise.pk)
    enterprise.diversion_date = datetime.date(2016, 9, 1)
    enterprise.save()
    hr.post(PROCESS_URL, confirm)
    run_jobs()
    job = ImportJob.objects.get()
    assert (job.status, job.options.get("_rechecked")) == (ImportJob.Status.PREVIEW, True)
    assert not Worker.objects.filter(name="新职工").exists()


def test_a_preview_checked_again_gets_its_own_window(world, settings):
    """Confirmed near the end of the upload's window, checked again because a record changed:
    the new preview is not expired at once."""
    hr = _client(world.users["hr"])
    confirm = _preview(hr, world.a.enterprise)
    job = ImportJob.objects.get(token=confirm["token"])
    worker = world.a.worker
    worker.post = "调度员"
    worker_save(worker=worker, actor=SYSTEM)
    hr.post(PROCESS_URL, confirm)
    window = settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=window + 1)
    )
    run_jobs()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEW and job.options["_rechecked"]
    response = hr.get(IMPORT_URL, {"job": job.token}, follow=True)
    assert str(IMPORT_RECHECKED) in _messages(response)
    from jobs.services import jobs_expire

    assert jobs_expire() == (0, 0)
