"""The import and export jobs without a browser: the upload and its check enqueued together, the
progress, the preview, confirm, cancel, expiry, a worker dying halfway through a write (nothing
kept, the job retried), an export's file offered to its owner only. On SQLite and PostgreSQL;
the tests that run workers as processes need PostgreSQL."""

import datetime
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from openpyxl import load_workbook

import jobs.tasks
from jobs.models import FAILED_DATABASE, FAILED_INTERNAL, ExportJob, ImportJob, WriteProgress
from jobs.services import jobs_recover
from placement.demo_rosters import roster_rows, roster_xlsx
from placement.models import AccessLog, Worker
from spreadsheets import resources as sheet_resources
from spreadsheets.admin import job_progress
from tests.job_queue import run_jobs

IMPORT_URL = reverse("admin:placement_worker_import")
PROCESS_URL = reverse("admin:placement_worker_process_import")
EXPORT_URL = reverse("admin:placement_worker_export")

postgres_only = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
    reason="workers in other processes share the queue through a PostgreSQL server",
)


@pytest.fixture
def officer(client, db):
    client.force_login(User.objects.create_superuser("officer", password="x" * 16))
    return client


def upload(client, enterprise, rows=3, seed=2):
    file = io.BytesIO(roster_xlsx(roster_rows(rows, seed=seed)))
    file.name = "roster.xlsx"
    response = client.post(IMPORT_URL, {"import_file": file, "enterprise": enterprise.pk})
    assert response.status_code == 302
    return ImportJob.objects.get(token=response["Location"].rsplit("=", 1)[1])


def status(client, job):
    return client.get(IMPORT_URL, {"status": job.token}).json()


def test_an_upload_and_its_check_are_enqueued_in_one_transaction(officer, enterprise, monkeypatch):
    job = upload(officer, enterprise)
    [task] = DBTaskResult.objects.all()
    assert (job.status, task.task_path, task.args_kwargs["args"]) == (
        ImportJob.Status.QUEUED,
        "jobs.tasks.import_check",
        [job.pk],
    )

    class Unavailable:
        def enqueue(self, *args, **kwargs):
            raise RuntimeError("queue unavailable")

    monkeypatch.setattr(jobs.tasks, "import_check", Unavailable())
    with pytest.raises(RuntimeError):
        upload(officer, enterprise)
    # No upload is kept without its check on the queue.
    assert ImportJob.objects.count() == 1


def test_an_officers_check_is_taken_before_refreshes_already_waiting(officer, enterprise):
    from reports.tasks import reports_refresh

    # Refreshes enqueued earlier (a large import left several) and ready to run.
    for part in ("nation", "region:14"):
        reports_refresh.enqueue([part])
    job = upload(officer, enterprise)
    run_jobs()
    order = list(DBTaskResult.objects.order_by("started_at").values_list("task_path", flat=True))
    assert order == ["jobs.tasks.import_check", *["reports.tasks.reports_refresh"] * 2]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEW


def test_the_job_page_shows_progress_then_the_preview(officer, enterprise):
    job = upload(officer, enterprise, rows=150)
    page = officer.get(IMPORT_URL, {"job": job.token})
    body = page.content.decode()
    assert page.templates[0].name == "admin/spreadsheets/job.html"
    assert 'id="job-progress"' in body and "jobs/progress.js" in body
    assert "<script>" not in body  # the CSP forbids inline scripts: the bar's script is static
    assert status(officer, job)["status"] == "queued"

    run_jobs()

    state = status(officer, job)
    # The reader told the job how many rows the sheet has below its header (skipped ones too).
    assert (state["status"], state["finished"], state["rows_total"]) == ("preview", True, 151)
    preview = officer.get(IMPORT_URL, {"job": job.token})
    assert preview.context["result"].created == 150
    assert preview.context["confirm"] == {"token": job.token, "enterprise": enterprise.pk}


def test_the_estimate_is_the_rest_at_the_pace_so_far(db):
    job = ImportJob(status="checking", rows_total=100_000, rows_done=20_000)
    job.started_at = job.created_at = timezone.now() - datetime.timedelta(seconds=10)
    state = job_progress(job)
    assert (state["percent"], state["elapsed"], state["remaining"]) == (20, 10, 40)


def test_a_write_in_progress_shows_no_rows_it_cannot_see(officer, enterprise):
    """The write's progress is inside its one transaction: the page says it is writing rather
    than "0 of 151 rows read and checked" until it is done."""
    job = upload(officer, enterprise)
    run_jobs()
    ImportJob.objects.filter(pk=job.pk).update(
        status="writing", rows_done=0, started_at=timezone.now()
    )
    state = status(officer, job)
    assert (state["status"], state["writing"], state["rows_total"], state["percent"]) == (
        "writing",
        True,
        None,
        None,
    )
    page = officer.get(IMPORT_URL, {"job": job.token}).content.decode()
    assert "全部写入后一并生效" in page and "已读取并检查" not in page


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_write_in_progress_shows_its_rows_to_another_connection(officer, enterprise, monkeypatch):
    """Asked through a connection of its own while the write's transaction is open (as another
    app server would ask), the page shows the rows the write has done so far: the write reports
    them through a connection of its own, committed at once."""
    job = upload(officer, enterprise, rows=50)
    run_jobs()
    total = ImportJob.objects.get(pk=job.pk).rows_total
    officer.post(PROCESS_URL, {"token": job.token, "enterprise": enterprise.pk})
    monkeypatch.setattr(sheet_resources, "PROGRESS_EVERY", 10)
    seen = []
    report = jobs.tasks.WriteReporter.__call__

    def look():
        try:
            seen.append(status(officer, job))
            seen.append(officer.get(IMPORT_URL, {"job": job.token}).content.decode())
            seen.append(Worker.objects.count())
        finally:
            connection.close()

    def report_then_look(self, rows):
        report(self, rows)
        if rows == 20:
            thread = threading.Thread(target=look)
            thread.start()
            thread.join(timeout=60)

    monkeypatch.setattr(jobs.tasks.WriteReporter, "__call__", report_then_look)
    before = connections_open()
    run_jobs()

    assert connections_open() == before  # the reporter's own connection was closed
    state, page, workers_seen = seen
    assert (state["status"], state["writing"], state["rows_done"], state["rows_total"]) == (
        "writing",
        True,
        20,
        total,
    )
    assert state["percent"] == round(100 * 20 / total) and not state["finished"]
    assert f"正在写入：已处理 20 / {total} 行" in page
    assert workers_seen == 0  # the write itself is still unseen
    job.refresh_from_db()
    assert (job.status, job.created) == ("done", 50)
    assert not WriteProgress.objects.exists()  # removed with the write


def connections_open() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_write_leaves_no_progress_and_no_connection_behind(
    officer, enterprise, monkeypatch
):
    import placement.imports

    job = upload(officer, enterprise, rows=30)
    run_jobs()
    officer.post(PROCESS_URL, {"token": job.token, "enterprise": enterprise.pk})
    monkeypatch.setattr(sheet_resources, "PROGRESS_EVERY", 10)
    write = placement.imports._roster_write
    reported = []

    def write_then_fail(**kwargs):
        write(**kwargs)
        reported.append(WriteProgress.objects.get(job_id=job.pk).rows_done)
        raise ValueError("a bug after the write")

    monkeypatch.setattr(placement.imports, "_roster_write", write_then_fail)
    before = connections_open()
    run_jobs()

    job.refresh_from_db()
    assert (job.status, Worker.objects.count()) == ("failed", 0)
    assert reported == [30]  # the reporter had reported, through its own connection
    assert not WriteProgress.objects.exists()
    assert connections_open() == before


def test_the_estimate_of_a_write_stops_at_the_commit(db):
    job = ImportJob.objects.create(model="placement.worker", status="writing", rows_total=1000)
    job.started_at = timezone.now() - datetime.timedelta(seconds=10)
    WriteProgress.objects.create(job=job, rows_done=500, updated_at=timezone.now())
    assert job_progress(job)["remaining"] == 10
    WriteProgress.objects.filter(job=job).update(rows_done=1000)
    state = job_progress(job)
    assert (state["percent"], state["remaining"], state["writing"]) == (100, None, True)


def test_confirm_writes_once_and_removes_the_upload(officer, enterprise):
    job = upload(officer, enterprise)
    run_jobs()
    confirm = {"token": job.token, "enterprise": enterprise.pk}
    assert officer.post(PROCESS_URL, confirm).status_code == 302
    officer.post(PROCESS_URL, confirm)  # a second click
    assert status(officer, job)["status"] == "confirmed"
    run_jobs()
    job.refresh_from_db()
    assert (job.status, job.created, bytes(job.data)) == ("done", 3, b"")
    assert Worker.objects.filter(enterprise=enterprise).count() == 3
    assert DBTaskResult.objects.filter(task_path="jobs.tasks.import_write").count() == 1


def test_an_upload_cancelled_before_its_check_is_never_checked(officer, enterprise):
    job = upload(officer, enterprise)
    officer.post(PROCESS_URL, {"token": job.token, "cancel": "1"})
    run_jobs()
    job.refresh_from_db()
    assert (job.status, bytes(job.data), bytes(job.result)) == ("cancelled", b"", b"")


def test_an_expired_preview_cannot_be_confirmed(officer, enterprise, settings):
    job = upload(officer, enterprise)
    run_jobs()
    old = timezone.now() - datetime.timedelta(
        minutes=settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES + 1
    )
    ImportJob.objects.filter(pk=job.pk).update(created_at=old, heartbeat_at=old)
    officer.post(PROCESS_URL, {"token": job.token, "enterprise": enterprise.pk})
    run_jobs()
    assert not Worker.objects.exists()
    assert ImportJob.objects.get(pk=job.pk).status == "preview"


class WorkerKilled(BaseException):
    """What a SIGKILL does to a worker, as far as its transaction goes: it never commits."""


def test_a_worker_dying_halfway_through_a_write_keeps_nothing_and_the_job_is_retried(
    officer, enterprise, monkeypatch
):
    import placement.imports

    job = upload(officer, enterprise, rows=20)
    run_jobs()
    officer.post(PROCESS_URL, {"token": job.token, "enterprise": enterprise.pk})
    write = placement.imports._roster_write

    def write_then_die(**kwargs):
        write(**kwargs)
        assert Worker.objects.filter(enterprise=enterprise).count() == 20  # written, not committed
        raise WorkerKilled

    monkeypatch.setattr(placement.imports, "_roster_write", write_then_die)
    run_jobs()
    job.refresh_from_db()
    assert (job.status, Worker.objects.count()) == ("writing", 0)

    monkeypatch.setattr(placement.imports, "_roster_write", write)
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert jobs_recover() == 1
    run_jobs()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.created) == ("done", 2, 20)
    assert Worker.objects.filter(enterprise=enterprise).count() == 20


def test_a_transient_database_error_puts_the_job_back_on_the_queue(
    officer, enterprise, monkeypatch
):
    from django.db import OperationalError

    import jobs.tasks

    job = upload(officer, enterprise)
    calls = []
    run = jobs.tasks._import_check

    def flaky(pk):
        calls.append(pk)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return run(pk)

    monkeypatch.setattr(jobs.tasks, "_import_check", flaky)
    monkeypatch.setattr(jobs.tasks, "RETRY_DELAY", datetime.timedelta(0))
    run_jobs()
    run_jobs()
    job.refresh_from_db()
    assert (job.status, job.attempts, len(calls)) == ("preview", 2, 2)


def test_a_large_export_is_a_job_whose_file_only_its_owner_gets(
    officer, client, make_worker, enterprise, settings
):
    settings.LEDGER_EXPORT_JOB_ROWS = 2
    for _ in range(3):
        make_worker()
    response = officer.post(EXPORT_URL, {"format": "0", "resource": "0"})
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert response["Location"].endswith(f"?export_job={job.token}")
    run_jobs()
    job.refresh_from_db()
    assert (job.status, job.rows_done) == ("done", 3)
    stored = b"".join(bytes(data) for data in job.parts.values_list("data", flat=True))
    assert b"\xe6\xb5\x8b" not in stored  # encrypted at rest (no "测" of a name)

    other = User.objects.create_superuser("another-admin", password="x" * 16)
    stranger = client.__class__()
    stranger.force_login(other)
    assert stranger.get(EXPORT_URL, {"download": job.token}).status_code == 404
    assert stranger.get(EXPORT_URL, {"export_job": job.token}).status_code == 404

    download = officer.get(EXPORT_URL, {"download": job.token})
    content = b"".join(download.streaming_content)
    assert int(download["Content-Length"]) == len(content) == job.size
    book = load_workbook(io.BytesIO(content))
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 4
    assert book.sheetnames == ["花名册"]
    assert download["Content-Disposition"].endswith(f'-{timezone.localdate().isoformat()}.xlsx"')
    log = AccessLog.objects.get(target="placement.worker:roster-export")
    assert (log.username, log.rows) == ("officer", 3)


def test_a_large_export_is_stored_and_downloaded_a_part_at_a_time(
    officer, make_worker, settings, monkeypatch
):
    settings.LEDGER_EXPORT_JOB_ROWS = 2
    monkeypatch.setattr(jobs.tasks, "EXPORT_PART_BYTES", 1000)
    for _ in range(3):
        make_worker()
    officer.post(EXPORT_URL, {"format": "0", "resource": "0"})
    run_jobs()
    job = ExportJob.objects.get()
    parts = list(job.parts.values_list("number", "data"))
    assert job.size > 5000
    assert [number for number, _data in parts] == list(range(-(-job.size // 1000)))
    assert all(bytes(data).startswith(b"gAAAAA") for _number, data in parts)  # Fernet tokens
    content = b"".join(officer.get(EXPORT_URL, {"download": job.token}).streaming_content)
    assert len(content) == job.size
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert len(rows) == 4


def test_an_export_run_again_keeps_only_the_parts_of_its_last_run(officer, make_worker, settings):
    settings.LEDGER_EXPORT_JOB_ROWS = 2
    for _ in range(3):
        make_worker()
    officer.post(EXPORT_URL, {"format": "0", "resource": "0"})
    run_jobs()
    job = ExportJob.objects.get()
    first = job.parts.count()
    ExportJob.objects.filter(pk=job.pk).update(status="queued")
    jobs.tasks.export_write.enqueue(job.pk)
    run_jobs()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.parts.count()) == ("done", 2, first)


def test_an_export_is_removed_after_its_day(db, settings):
    from jobs.models import ExportPart
    from jobs.services import jobs_expire

    job = ExportJob.objects.create(model="placement.worker", filename="w.xlsx", status="done")
    ExportPart.objects.create(job=job, number=0, data=b"x")
    ExportJob.objects.filter(pk=job.pk).update(
        size=1, finished_at=timezone.now() - datetime.timedelta(hours=25)
    )
    assert jobs_expire() == (0, 1)
    job.refresh_from_db()
    assert (job.status, job.size, job.parts.count()) == ("expired", 0, 0)


# --- Workers in processes of their own (PostgreSQL) -----------------------------------------------


def worker_process(script: str = "") -> subprocess.Popen:
    """`manage.py db_worker --batch` in a process of its own, on the test database, after
    `script` (Python run once Django is set up)."""
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    code = textwrap.dedent(
        """
        import django
        django.setup()
        {script}
        from django.core.management import call_command
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload",
                     "--queue-name", "*", "--interval", "0.1", verbosity=0)
        """
    ).format(script=script)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=os.getcwd())


KILL_AFTER_WRITING = """
import os, signal
import placement.imports
write = placement.imports._roster_write
def write_then_die(**kwargs):
    write(**kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
placement.imports._roster_write = write_then_die
"""


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_attack_worker_killed_halfway_leaves_nothing_half_written(officer, enterprise):
    job = upload(officer, enterprise, rows=50)
    run_jobs()
    officer.post(PROCESS_URL, {"token": job.token, "enterprise": enterprise.pk})

    killed = worker_process(KILL_AFTER_WRITING)
    assert killed.wait(timeout=120) == -signal.SIGKILL
    job.refresh_from_db()
    assert (job.status, Worker.objects.count()) == ("writing", 0)
    # The dead worker's lock went with its connection: the job is seen as abandoned at once.
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert jobs_recover() == 1

    assert worker_process().wait(timeout=120) == 0
    job.refresh_from_db()
    assert (job.status, job.attempts, job.created) == ("done", 2, 50)
    assert Worker.objects.filter(enterprise=enterprise).count() == 50


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_share_one_queue_and_run_each_job_once(officer, make_enterprise):
    jobs = [upload(officer, make_enterprise(name=f"煤矿{i}"), rows=400, seed=i) for i in range(8)]
    workers = [worker_process(), worker_process()]
    assert [worker.wait(timeout=300) for worker in workers] == [0, 0]
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.attempts, job.created) == ("preview", 1, 400)
    tasks = DBTaskResult.objects.filter(task_path="jobs.tasks.import_check")
    assert tasks.count() == 8
    assert len({tuple(ids) for ids in tasks.values_list("worker_ids", flat=True)}) == 2


def test_a_write_losing_its_database_connection_every_time_fails_with_a_clear_message(
    officer, enterprise, monkeypatch, settings
):
    from django.db import OperationalError

    import placement.imports

    settings.LEDGER_JOB_MAX_ATTEMPTS = 2
    monkeypatch.setattr(jobs.tasks, "RETRY_DELAY", datetime.timedelta(0))
    job = upload(officer, enterprise, rows=20)
    run_jobs()
    officer.post(PROCESS_URL, {"token": job.token, "enterprise": enterprise.pk})
    write = placement.imports._roster_write

    def write_then_lose_the_connection(**kwargs):
        write(**kwargs)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(placement.imports, "_roster_write", write_then_lose_the_connection)
    run_jobs()
    run_jobs()
    job.refresh_from_db()
    assert (job.status, job.attempts, Worker.objects.count()) == ("failed", 2, 0)
    assert job.failure == str(FAILED_DATABASE % {"attempts": 2})
    page = officer.get(IMPORT_URL, {"job": job.token}).content.decode()
    assert "数据库连接多次中断（已尝试 2 次）" in page
    assert "server closed" not in page
    history = officer.get(IMPORT_URL, {"history": 1}).content.decode()
    assert "数据库连接多次中断" in history


def test_a_job_failing_on_a_bug_says_so_without_the_errors_text(officer, enterprise, monkeypatch):
    def broken(pk):
        raise ValueError("140105197005010011 in a cell")

    monkeypatch.setattr(jobs.tasks, "_import_check", broken)
    job = upload(officer, enterprise)
    run_jobs()
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.failure == str(FAILED_INTERNAL % {"kind": "ValueError"})
    assert "140105" not in officer.get(IMPORT_URL, {"job": job.token}).content.decode()


def test_an_export_job_writes_its_file_in_the_language_of_who_asked(officer, make_worker, settings):
    """The worker has no request and no language of its own: the job carries the asker's."""
    from django.utils import translation

    settings.LEDGER_EXPORT_JOB_ROWS = 2
    for _ in range(3):
        make_worker()
    officer.cookies["django_language"] = "en"
    assert officer.post(EXPORT_URL, {"format": "0", "resource": "0"}).status_code == 302
    job = ExportJob.objects.get()
    translation.deactivate()  # as in a worker process
    run_jobs()
    download = officer.get(EXPORT_URL, {"download": job.token})
    book = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert book.sheetnames == ["Roster"]
    headers = next(book.active.iter_rows(values_only=True))
    assert "Name" in headers and "姓名" not in headers
