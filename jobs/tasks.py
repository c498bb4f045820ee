"""The tasks the workers run (`manage.py db_worker`): an import's check, its write, and an
export. Each claims its job first, so that a task run twice (a worker thought dead that was only
slow) does its work once."""

import datetime
import logging
import tempfile

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone, translation
from django_tasks import task

from spreadsheets import readers
from spreadsheets.admin import LANGUAGE, ExportAccessChanged
from spreadsheets.results import ImportResult
from spreadsheets.uploads import seal, unseal

from .models import (
    CHECKED_AT,
    FAILED_ACCESS_CHANGED,
    FAILED_DATABASE,
    FAILED_INTERNAL,
    RECHECKED,
    ExportJob,
    ExportPart,
    ImportJob,
    WriteProgress,
)
from .services import job_admin, job_claim, job_fail

logger = logging.getLogger(__name__)

# Errors worth another try: a lost connection, a failover, a serialization failure or deadlock
# (OperationalError, InterfaceError). A constraint or a bug would fail the same way again.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
PERMANENT_ERRORS = (IntegrityError,)
RETRY_DELAY = datetime.timedelta(seconds=5)
# How much of an exported file each ExportPart holds (encrypted, about a third more).
EXPORT_PART_BYTES = 1 << 20


class Progress:
    """What a running job reports: the rows of the file (from the reader), the rows read and
    checked (from the import service, every PROGRESS_EVERY rows), and a heartbeat with each."""

    def __init__(self, model, pk: int):
        self.model = model
        self.pk = pk

    def table(self, table) -> None:
        if table.total is not None:
            self._save(rows_total=table.total)

    def rows_expected(self, rows: int) -> None:
        """The rows the sheet declares, before it is read: the bar's total until the table's."""
        self._save(rows_total=rows)

    def __call__(self, rows: int) -> None:
        self._save(rows_done=rows)

    def _save(self, **fields) -> None:
        self.model.objects.filter(pk=self.pk).update(heartbeat_at=timezone.now(), **fields)


class WriteReporter:
    """What a write reports: the rows read and checked so far, into its WriteProgress row,
    through a connection of its own in autocommit, so that the job's page sees them while the
    write's transaction hides its own. PostgreSQL only: SQLite writes one transaction at a time,
    and there (or inside a transaction already open, as in most tests) the page shows a write
    without a share. A write worker holds two connections meanwhile (three for the moment its
    statistics are gathered after the commit, database.analyze). Best effort: a failure of
    that connection ends the reports, never the write, and a report waits at most
    SIDE_TIMEOUT_MS for a lock."""

    SIDE_TIMEOUT_MS = 2000

    def __init__(self, pk: int):
        self.pk = pk
        self._side = None
        self._on = connection.vendor == "postgresql" and not connection.in_atomic_block
        if self._on:
            # Committed before the write locks its job: the new row's key check would wait for
            # that lock. The connection is opened at the first report, once the job is locked.
            WriteProgress.objects.update_or_create(
                job_id=pk, defaults={"rows_done": 0, "updated_at": timezone.now()}
            )

    def table(self, table) -> None:
        """The file's rows were known before the write: the check recorded them."""

    def rows_expected(self, rows: int) -> None:
        """As `table`."""

    def __call__(self, rows: int) -> None:
        table = connection.ops.quote_name(WriteProgress._meta.db_table)
        self._run(
            f"UPDATE {table} SET rows_done = %s, updated_at = %s WHERE job_id = %s",
            [rows, timezone.now(), self.pk],
        )

    def close(self) -> None:
        """The write has ended: its row goes, and so does the connection. A row left behind (a
        worker killed, the connection lost) is never shown: the page reads it only while its
        job is being written, and each attempt starts it afresh."""
        if not self._on:
            return
        table = connection.ops.quote_name(WriteProgress._meta.db_table)
        self._run(f"DELETE FROM {table} WHERE job_id = %s", [self.pk])
        if self._side is not None:
            self._side.close()
            self._side = None
        self._on = False

    def _run(self, sql: str, params: list) -> None:
        if not self._on:
            return
        try:
            if self._side is None:
                self._side = connections.create_connection(DEFAULT_DB_ALIAS)
                with self._side.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, false)",
                        [str(self.SIDE_TIMEOUT_MS)],
                    )
            with self._side.cursor() as cursor:
                cursor.execute(sql, params)
        except DatabaseError as exc:
            logger.warning("ImportJob %s: write progress stopped: %s", self.pk, type(exc).__name__)
            if self._side is not None:
                self._side.close()
            self._side = None
            self._on = False


def _retry_later(model, pk: int, *, running: str, queued: str, again) -> None:
    """A transient database error: the job goes back on the queue a little later (the sweep in
    jobs_recover does the same if even this fails)."""
    if not connection.in_atomic_block:
        connection.close()  # a broken connection is opened afresh for what follows

    job = model.objects.filter(pk=pk, status=running).first()
    if job is None:
        return
    if job.attempts >= settings.LEDGER_JOB_MAX_ATTEMPTS:
        job_fail(model, pk, FAILED_DATABASE % {"attempts": job.attempts})
        return
    with transaction.atomic():
        model.objects.filter(pk=pk, status=running).update(status=queued, heartbeat_at=None)
        again.using(run_after=timezone.now() + RETRY_DELAY).enqueue(pk)


def _failed(model, pk: int, exc: BaseException) -> None:
    # The kind of error only: a message may quote a cell of the file.
    logger.error("%s %s failed: %s", model.__name__, pk, type(exc).__name__)
    job_fail(model, pk, FAILED_INTERNAL % {"kind": type(exc).__name__})


@task()
def import_check(job_pk: int) -> None:
    """The dry run: the file read and checked, the preview stored."""
    if job_claim(ImportJob, job_pk, queued="queued", running="checking") is None:
        return
    try:
        _import_check(job_pk)
    except PERMANENT_ERRORS as exc:
        _failed(ImportJob, job_pk, exc)
    except TRANSIENT_ERRORS:
        _retry_later(ImportJob, job_pk, running="checking", queued="queued", again=import_check)
    except Exception as exc:  # noqa: BLE001 - a bug: the job fails, the worker goes on
        _failed(ImportJob, job_pk, exc)


def _import_check(job_pk: int) -> None:
    job = ImportJob.objects.select_related("user").get(pk=job_pk)
    attempt = job.attempts
    # Before anything stored is read: a change written after this moment is one the preview may
    # not show, and its write checks the file again (_import_write_locked).
    checked_at = job.started_at or timezone.now()
    progress = Progress(ImportJob, job_pk)
    result = _run_import(job, progress=progress, dry_run=True)
    status = ImportJob.Status.REFUSED if result.refused else ImportJob.Status.PREVIEW
    # Only the attempt that is still the job's own records its result.
    ImportJob.objects.filter(pk=job_pk, status=ImportJob.Status.CHECKING, attempts=attempt).update(
        status=status,
        result=seal(result.dumps().encode()),
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        error_count=len(result.errors),
        heartbeat_at=timezone.now(),
        finished_at=timezone.now() if result.refused else None,
        options={**job.options, CHECKED_AT: checked_at.isoformat()},
    )


def _run_import(
    job: ImportJob, *, progress: Progress | WriteReporter, dry_run: bool
) -> ImportResult:
    model_admin = job_admin(job.model)
    token = readers.table_observer.set(progress.table)
    rows_token = readers.rows_observer.set(progress.rows_expected)
    language = job.options.get(LANGUAGE) or settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            return model_admin.import_job_run(
                user=job.user,
                data=unseal(job.data),
                filename=job.filename,
                dry_run=dry_run,
                progress=progress,
                stored=job.options,
            )
    finally:
        readers.rows_observer.reset(rows_token)
        readers.table_observer.reset(token)


@task()
def import_write(job_pk: int) -> None:
    """The confirmed import, in one transaction with the job's own result: a worker killed
    halfway leaves nothing written and the job WRITING, unlocked, to be put back on the queue."""
    if job_claim(ImportJob, job_pk, queued="confirmed", running="writing") is None:
        return
    try:
        _import_write(job_pk)
    except PERMANENT_ERRORS as exc:
        _failed(ImportJob, job_pk, exc)
    except TRANSIENT_ERRORS:
        _retry_later(ImportJob, job_pk, running="writing", queued="confirmed", again=import_write)
    except Exception as exc:  # noqa: BLE001
        _failed(ImportJob, job_pk, exc)


def _import_write(job_pk: int) -> None:
    reporter = WriteReporter(job_pk)
    try:
        _import_write_locked(job_pk, reporter)
    finally:
        reporter.close()


def _import_write_locked(job_pk: int, reporter: WriteReporter) -> None:
    with transaction.atomic():
        # Locked until the write commits or rolls back: the sweep knows a live write by it.
        job = ImportJob.objects.select_for_update(of=("self",)).select_related("user")
        job = job.get(pk=job_pk)
        if job.status != ImportJob.Status.WRITING:
            return
        if _changed_since_check(job):
            # The officer confirmed a preview of records someone has changed since: what is
            # written must be what was shown, so the file is checked again and shown again.
            job.status = ImportJob.Status.QUEUED
            job.result = b""
            job.attempts = 0
            job.heartbeat_at = None
            job.options = {**job.options, RECHECKED: True}
            job.save(update_fields=["status", "result", "attempts", "heartbeat_at", "options"])
            import_check.enqueue(job.pk)
            return
        result = _run_import(job, progress=reporter, dry_run=False)
        job.status = ImportJob.Status.REFUSED if result.refused else ImportJob.Status.DONE
        result.changes = []
        job.result = seal(result.dumps().encode())
        job.data = b""
        job.created, job.updated, job.unchanged = result.created, result.updated, result.unchanged
        job.error_count = len(result.errors)
        job.finished_at = timezone.now()
        job.save()


def _changed_since_check(job: ImportJob) -> bool:
    """Whether what the job's check compared the file with has changed since (the admin's
    `import_changed_since`: history rows written after the check began)."""
    checked_at = job.options.get(CHECKED_AT)
    if not checked_at:
        return False
    since = datetime.datetime.fromisoformat(checked_at)
    return job_admin(job.model).import_changed_since(job, since)


@task()
def export_write(job_pk: int) -> None:
    """A large export, written row by row into an encrypted file for its owner."""
    if job_claim(ExportJob, job_pk, queued="queued", running="running") is None:
        return
    try:
        job = ExportJob.objects.select_related("user").get(pk=job_pk)
        attempt = job.attempts
        # The workbook is written to a file of the worker's that has no name (unlinked at once,
        # gone with the process even if it is killed), then stored a part at a time: memory
        # holds a part, never the file (openpyxl's write-only sheet already kept its rows in a
        # temporary file the same way).
        with tempfile.TemporaryFile() as file:
            admin = job_admin(job.model)
            admin.export_job_run(job, progress=Progress(ExportJob, job_pk), out=file)
            file.seek(0)
            _export_store(job_pk, attempt, file)
    except ExportAccessChanged:
        job_fail(ExportJob, job_pk, str(FAILED_ACCESS_CHANGED))
    except PERMANENT_ERRORS as exc:
        _failed(ExportJob, job_pk, exc)
    except TRANSIENT_ERRORS:
        _retry_later(ExportJob, job_pk, running="running", queued="queued", again=export_write)
    except Exception as exc:  # noqa: BLE001
        _failed(ExportJob, job_pk, exc)


def _export_store(job_pk: int, attempt: int, file) -> None:
    """The finished file into the job's parts, each encrypted on its own, in one transaction with
    the job's DONE: only the attempt that is still the job's own keeps what it wrote."""
    with transaction.atomic():
        ExportPart.objects.filter(job_id=job_pk).delete()
        size = 0
        number = 0
        while chunk := file.read(EXPORT_PART_BYTES):
            ExportPart.objects.create(job_id=job_pk, number=number, data=seal(chunk))
            size += len(chunk)
            number += 1
        done = ExportJob.objects.filter(pk=job_pk, status="running", attempts=attempt).update(
            status=ExportJob.Status.DONE,
            size=size,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        if not done:
            transaction.set_rollback(True)
