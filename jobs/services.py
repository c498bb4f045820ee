"""Writes of the job flow: create an import job with its check on the queue (one transaction),
confirm, cancel, expire, and put back on the queue what a dead worker left running."""

import datetime
import logging

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from spreadsheets.results import ImportResult
from spreadsheets.uploads import seal, unseal

from .models import FAILED_WORKER, ExportJob, ExportPart, ImportJob

logger = logging.getLogger(__name__)

# A write claims its job (status WRITING, committed) a moment before it locks it for its whole
# transaction: a job seen unlocked that soon after its claim is left alone.
WRITE_CLAIM_GRACE = datetime.timedelta(seconds=30)


def job_admin(model: str):
    """The ModelAdmin that runs a job's import or export ("placement.worker" -> WorkerAdmin)."""
    return admin.site._registry[apps.get_model(model)]


def import_job_create(
    *, model: str, user, filename: str, data: bytes, options: dict, enterprise_id=None
) -> ImportJob:
    """Store an upload (encrypted) and put its check on the queue, in one transaction: a job row
    never exists without its task, nor a task without its job."""
    from .tasks import import_check

    jobs_expire()  # abandoned uploads go at the latest with the next one
    with transaction.atomic():
        job = ImportJob.objects.create(
            model=model,
            user=user,
            filename=filename[:255],
            data=seal(data),
            options=options,
            enterprise_id=enterprise_id,
        )
        import_check.enqueue(job.pk)
    return job


def import_job_confirm(job: ImportJob) -> bool:
    """Put the write of a previewed upload on the queue (once: a second confirm does nothing)."""
    from .tasks import import_write

    with transaction.atomic():
        confirmed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEW).update(
            status=ImportJob.Status.CONFIRMED, rows_done=0, attempts=0, heartbeat_at=None
        )
        if confirmed:
            import_write.enqueue(job.pk)
    return bool(confirmed)


def _without_changes(result_blob) -> bytes:
    """The stored result with its changes dropped (they name people): counts and errors stay,
    for the import history and its error report."""
    if not result_blob:
        return b""
    result = ImportResult.loads(unseal(result_blob).decode())
    result.changes = []
    return seal(result.dumps().encode())


def import_job_cancel(job: ImportJob) -> bool:
    """Cancel an upload not yet confirmed: the file is removed, the job kept in the history."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (
            ImportJob.Status.QUEUED,
            ImportJob.Status.CHECKING,
            ImportJob.Status.PREVIEW,
            ImportJob.Status.REFUSED,
        ):
            return False
        job.status = ImportJob.Status.CANCELLED
        job.data = b""
        job.result = _without_changes(job.result)
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "data", "result", "finished_at"])
    return True


def job_fail(model, pk: int, failure: str) -> None:
    """A job that will not be finished: FAILED with its reason. What it held for its run goes as
    on cancel and expiry (the officer is asked to submit again): an import's file and the
    changes of its preview, an export's query (it may hold a name searched for)."""
    fields = {"status": "failed", "finished_at": timezone.now(), "failure": failure}
    with transaction.atomic():
        if model is ImportJob:
            job = ImportJob.objects.select_for_update().filter(pk=pk).first()
            if job is None:
                return
            job.result = _without_changes(job.result)
            ImportJob.objects.filter(pk=pk).update(data=b"", result=job.result, **fields)
        else:
            ExportPart.objects.filter(job_id=pk).delete()
            model.objects.filter(pk=pk).update(query="", size=0, **fields)


def import_job_expired(job: ImportJob, now=None) -> bool:
    """An upload whose preview waited longer than LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES."""
    now = now or timezone.now()
    lifetime = datetime.timedelta(minutes=settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES)
    # From the preview's own time (its check's last report): a preview checked again after a
    # confirmation found the records changed gets its own window.
    shown = job.heartbeat_at or job.created_at
    return job.status == ImportJob.Status.PREVIEW and shown < now - lifetime


def jobs_expire(now=None) -> tuple[int, int]:
    """Remove expired uploads (previews never confirmed) and exported files older than
    LEDGER_EXPORT_KEEP_HOURS; returns how many of each."""
    now = now or timezone.now()
    lifetime = datetime.timedelta(minutes=settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES)
    imports = 0
    # Failed jobs too: their file has been emptied at failure since that was written, but one
    # that failed before (or whose failure could not empty it) goes here.
    left = [ImportJob.Status.PREVIEW, ImportJob.Status.REFUSED, ImportJob.Status.FAILED]
    stale = (
        ImportJob.objects.filter(status__in=left, created_at__lt=now - lifetime)
        .exclude(heartbeat_at__gte=now - lifetime)
        .exclude(data=b"")
    )
    for job in stale.iterator():
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job.pk)
            if job.status not in left:
                continue  # confirmed meanwhile: its write needs the file
            if job.status == ImportJob.Status.PREVIEW:
                job.status = ImportJob.Status.EXPIRED
            job.data = b""
            job.result = _without_changes(job.result)
            job.save(update_fields=["status", "data", "result"])
            imports += 1
    keep = datetime.timedelta(hours=settings.LEDGER_EXPORT_KEEP_HOURS)
    done = ExportJob.objects.filter(status=ExportJob.Status.DONE, finished_at__lt=now - keep)
    exports = list(done.values_list("pk", flat=True))
    if exports:
        with transaction.atomic():
            ExportPart.objects.filter(job_id__in=exports).delete()
            ExportJob.objects.filter(pk__in=exports).update(
                status=ExportJob.Status.EXPIRED, size=0, query=""
            )
    return imports, len(exports)


def jobs_recover(now=None) -> int:
    """Put back on the queue the jobs whose worker died (killed, its machine gone): nothing they
    did was kept, since a write is one transaction and a check writes nothing but its job. A job
    run LEDGER_JOB_MAX_ATTEMPTS times fails instead. Returns how many were put back."""
    from .tasks import export_write, import_check, import_write

    now = now or timezone.now()
    stale = now - datetime.timedelta(seconds=settings.LEDGER_JOB_STALE_SECONDS)
    recovered = 0
    checks = ImportJob.objects.filter(status=ImportJob.Status.CHECKING, heartbeat_at__lt=stale)
    for pk in checks.values_list("pk", flat=True):
        if _requeue(ImportJob, pk, ImportJob.Status.CHECKING, ImportJob.Status.QUEUED):
            import_check.enqueue(pk)
            recovered += 1
    # A live write holds its job's row lock until it commits or rolls back: on PostgreSQL, a job
    # that is WRITING and not locked has lost its worker.
    writes = ImportJob.objects.filter(status=ImportJob.Status.WRITING)
    if connection.features.has_select_for_update_skip_locked:
        writes = writes.filter(heartbeat_at__lt=now - WRITE_CLAIM_GRACE)
    else:
        writes = writes.filter(heartbeat_at__lt=stale)
    for pk in writes.values_list("pk", flat=True):
        if _requeue(ImportJob, pk, ImportJob.Status.WRITING, ImportJob.Status.CONFIRMED):
            import_write.enqueue(pk)
            recovered += 1
    exports = ExportJob.objects.filter(status=ExportJob.Status.RUNNING, heartbeat_at__lt=stale)
    for pk in exports.values_list("pk", flat=True):
        if _requeue(ExportJob, pk, ExportJob.Status.RUNNING, ExportJob.Status.QUEUED):
            export_write.enqueue(pk)
            recovered += 1
    return recovered


def _requeue(model, pk, running, queued) -> int:
    """Back to `queued` if still `running` and not locked by a live worker; failed after the last
    attempt. 1 when put back on the queue."""
    with transaction.atomic():
        rows = model.objects.filter(pk=pk, status=running)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        job = rows.first()
        if job is None:
            return 0
        if job.attempts >= settings.LEDGER_JOB_MAX_ATTEMPTS:
            job_fail(model, pk, FAILED_WORKER % {"attempts": job.attempts})
            logger.warning("%s %s failed after %s attempts", model.__name__, pk, job.attempts)
            return 0
        model.objects.filter(pk=pk).update(status=queued, heartbeat_at=None)
        logger.warning("%s %s put back on the queue (attempt %s)", model.__name__, pk, job.attempts)
        return 1


def job_claim(model, pk: int, *, queued: str, running: str) -> int | None:
    """Mark a queued job as running (one worker only); its attempt number, or None when it is no
    longer queued (cancelled, or taken by another worker)."""
    now = timezone.now()
    claimed = model.objects.filter(pk=pk, status=queued).update(
        status=running,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        rows_done=0,
    )
    if not claimed:
        return None
    return model.objects.values_list("attempts", flat=True).get(pk=pk)
