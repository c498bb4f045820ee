"""The admin side of the ledger's imports and exports, a close subclass of django-import-export's
ImportExportMixin: the same URLs (`<model>_import`, `<model>_process_import`, `<model>_export`),
permissions and change-list buttons, but the import runs the ledger's import service as a
background job, and the preview shows counts, every error and the changes paginated — not one
table row per file row (upstream #2148: 20,000 rows made a 15.8 MB page).

The import page takes the upload, stores it (jobs.ImportJob, encrypted) and puts its check on
the queue; `?job=<token>` then shows a progress bar (static/jobs/progress.js polls
`?status=<token>`), the preview, the write's progress and its outcome; the officer may leave and
come back. `?history=1` lists past imports. An export of more than LEDGER_EXPORT_JOB_ROWS rows is
written by a job too and offered to its owner at `<export>?download=<token>`.
"""

import datetime
import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import XLSX
from import_export.forms import ExportForm

from .results import ImportResult, error_report_xlsx, escape_formula, template_xlsx
from .uploads import UploadGone, unseal

IMPORT_DONE = _("导入完成：新增 %(created)s 条，更新 %(updated)s 条，未变 %(unchanged)s 条")
IMPORT_NOTHING_CHANGED = _(
    "文件与已有数据完全相同：没有新增或更新任何记录（未变 %(unchanged)s 条）"
)
IMPORT_REFUSED = _("文件有 %(count)s 处错误，未导入任何数据；请改正后重新上传")
IMPORT_FAILED = _("导入任务失败，未导入任何数据；请重新上传，如仍失败请联系管理员")
UPLOAD_EXPIRED = _("上传的文件已过期，请重新上传")
UPLOAD_CANCELLED = _("已取消导入，上传的文件已删除")
IMPORT_RECHECKED = _(
    "确认之后、写入之前，相关记录已被他人修改：已按最新记录重新核对，以下是新的核对结果，"
    "请查看后再次确认"
)
UPLOAD_NOT_CANCELLED = _("该导入已经确认，正在写入或已写入，不能再取消")
EXPORT_ACCESS_CHANGED = _(
    "导出文件生成后，您的数据范围或查看权限已有变更，该文件不再提供下载；如仍需要，请重新导出"
)
EXPORT_GONE = _("导出文件已超过保留期限并已删除；如仍需要，请重新导出")
EXPORT_QUEUED = _("导出的记录较多（%(rows)s 条），已转为后台导出：完成后可在本页下载")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHANGES_PER_PAGE = 100
# Stored with an import job: the page and the client's address (as django-ipware reads them
# behind DJANGO_PROXY_COUNT proxies) of the upload, for the access log written by the worker.
ORIGIN = "_origin"
LANGUAGE = "_language"
ORIGIN_META = ("REMOTE_ADDR", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")
HISTORY_PER_PAGE = 50


class SpreadsheetImportForm(forms.Form):
    """The upload; admins add their own fields (the roster's enterprise) in a subclass."""

    import_file = forms.FileField(
        label=_("文件"),
        help_text=_("Excel（.xlsx、.xls）、WPS 或 LibreOffice（.ods）或 CSV（UTF-8 或 GBK 编码）"),
    )

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.LEDGER_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("文件太大，上限为 %(limit)s MB") % {"limit": limit // (1024 * 1024)}
            )
        return upload

    def import_options(self) -> dict:
        """Keyword arguments for the import service besides the file (and how to store them)."""
        return {}

    def stored_options(self) -> dict:
        return {}


class SpreadsheetImportExportMixin(ImportExportMixin):
    """Admin import (upload, check and write as jobs, preview, confirm, error report, history,
    blank template) through an import service, and django-import-export's export of the same
    resource, scoped and escaped, as a job when it is large."""

    import_template_name = "admin/spreadsheets/import.html"
    job_template_name = "admin/spreadsheets/job.html"
    history_template_name = "admin/spreadsheets/history.html"
    import_form_class = SpreadsheetImportForm
    formats = [XLSX]
    # Every column is exported, so that an export can be imported back unchanged.
    export_form_class = ExportForm
    template_title = ""

    def import_service(
        self, *, user, data: bytes, filename: str, dry_run: bool, progress=None, request=None
    ):
        raise NotImplementedError

    def stored_import_options(self, stored: dict) -> dict:
        """The import service's options from those stored with the job (the roster's
        enterprise, by its key)."""
        return {}

    def import_resource(self):
        return self.resource_classes[0]()

    def import_job_run(self, *, user, data, filename, dry_run, progress, stored):
        """Called by the job's worker (jobs.tasks). The upload's page and client address come
        along, for the access log (numbers registered outside the user's scope are logged)."""
        from django.test import RequestFactory

        origin = stored.get(ORIGIN, {})
        request = RequestFactory().get(origin.get("path", "/"), **origin.get("meta", {}))
        request.user = user
        options = {k: v for k, v in stored.items() if not k.startswith("_")}
        return self.import_service(
            user=user,
            data=data,
            filename=filename,
            dry_run=dry_run,
            progress=progress,
            request=request,
            **self.stored_import_options(options),
        )

    @property
    def model_label(self) -> str:
        return self.model._meta.label_lower

    # --- Import ------------------------------------------------------------------------------

    def import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        query = request.GET
        if query.get("template"):
            return self._template_response()
        if query.get("errors"):
            return self._error_report_response(self._own_job(request, query["errors"]))
        if query.get("status"):
            return self._status_response(self._own_job(request, query["status"]))
        if query.get("history"):
            return self._history_response(request)
        token = query.get("job") or query.get("preview")
        if token:
            return self._job_response(request, self._own_job(request, token), query)
        form = self.import_form_class(request.POST or None, request.FILES or None, request=request)
        if request.method == "POST" and form.is_valid():
            from jobs.services import import_job_create

            upload_file = form.cleaned_data["import_file"]
            stored = form.stored_options()
            origin = {
                "path": request.path,
                "meta": {key: request.META[key] for key in ORIGIN_META if key in request.META},
            }
            job = import_job_create(
                model=self.model_label,
                user=request.user,
                filename=upload_file.name,
                data=b"".join(upload_file.chunks()),
                options={
                    **stored,
                    ORIGIN: origin,
                    # The worker has no request: the preview, its notes and errors in the
                    # uploader's language.
                    LANGUAGE: translation.get_language() or settings.LANGUAGE_CODE,
                },
                enterprise_id=stored.get("enterprise"),
            )
            return HttpResponseRedirect(self._job_url(job))
        return self._render(request, {"form": form})

    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse(self._url("import")))
        from jobs.services import import_job_cancel, import_job_confirm, import_job_expired

        job = self._own_job(request, request.POST.get("token", ""))
        if "cancel" in request.POST:
            if not import_job_cancel(job):
                job.refresh_from_db(fields=["status"])
                if job.status not in (job.Status.CANCELLED, job.Status.EXPIRED):
                    # Confirmed meanwhile (another tab or session): the write goes ahead; its
                    # page says how far it has got.
                    messages.warning(request, UPLOAD_NOT_CANCELLED)
                    return HttpResponseRedirect(self._job_url(job))
            messages.info(request, UPLOAD_CANCELLED)
            return HttpResponseRedirect(reverse(self._url("import")))
        form = self.import_form_class(request.POST, request=request)
        # Only the extra fields are re-validated: the file itself is the stored one.
        form.fields.pop("import_file")
        if not form.is_valid():
            raise PermissionDenied
        if any(job.options.get(key) != value for key, value in form.stored_options().items()):
            # Confirm exactly what was previewed (the same enterprise), nothing else.
            raise PermissionDenied
        if import_job_expired(job) or not job.data:
            messages.error(request, UPLOAD_EXPIRED)
            return HttpResponseRedirect(reverse(self._url("import")))
        import_job_confirm(job)
        return HttpResponseRedirect(self._job_url(job))

    def _own_job(self, request, token: str):
        """The job of this token, only for the user who uploaded it: another user's preview,
        progress, error report, confirmation or cancel is "not found" (it holds their rows)."""
        from jobs.models import ImportJob

        job = ImportJob.objects.filter(
            token=token or "", user=request.user, model=self.model_label
        ).first()
        if job is None:
            raise Http404
        return job

    def _job_url(self, job) -> str:
        return reverse(self._url("import")) + "?" + urlencode({"job": job.token})

    def _url(self, name: str) -> str:
        app_label, model_name = self.get_model_info()
        return f"admin:{app_label}_{model_name}_{name}"

    def _render(self, request, context, template=None):
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": _("导入"),
            "opts": self.model._meta,
            "columns": self.import_resource().column_notes(),
            **context,
        }
        return TemplateResponse(request, [template or self.import_template_name], context)

    def _job_response(self, request, job, query):
        """Where the job stands: its progress while it runs, its preview once checked, its
        outcome once written."""
        from jobs.models import ImportJob
        from jobs.services import import_job_expired, jobs_recover

        if job.status in ImportJob.RUNNING:
            jobs_recover()
            job.refresh_from_db()
        if import_job_expired(job):
            messages.error(request, UPLOAD_EXPIRED)
            return HttpResponseRedirect(reverse(self._url("import")))
        if job.status in (ImportJob.Status.PREVIEW, ImportJob.Status.REFUSED) and job.data:
            return self._preview_response(request, job, query)
        if job.status == ImportJob.Status.DONE:
            counts = {"created": job.created, "updated": job.updated, "unchanged": job.unchanged}
            if job.created or job.updated:
                messages.success(request, IMPORT_DONE % counts)
            else:
                messages.info(request, IMPORT_NOTHING_CHANGED % counts)
            return HttpResponseRedirect(reverse(self._url("changelist")))
        if job.status == ImportJob.Status.REFUSED:
            # Refused by the write (a conflict found only then): the errors, no confirm.
            return self._preview_response(request, job, query)
        if job.status == ImportJob.Status.FAILED:
            messages.error(request, IMPORT_FAILED)
        if job.status in (ImportJob.Status.CANCELLED, ImportJob.Status.EXPIRED):
            messages.error(request, UPLOAD_EXPIRED)
            return HttpResponseRedirect(reverse(self._url("import")))
        return self._render(
            request, {"job": job, "progress": job_progress(job)}, template=self.job_template_name
        )

    def _status_response(self, job):
        return JsonResponse(job_progress(job))

    def _preview_response(self, request, job, query):
        """Counts, all errors (paginated) and the changes (paginated); never the whole file."""
        from jobs.models import RECHECKED

        result = ImportResult.loads(unseal(job.result).decode())
        errors = Paginator(result.errors, CHANGES_PER_PAGE).get_page(query.get("epage"))
        changes = Paginator(result.changes, CHANGES_PER_PAGE).get_page(query.get("page"))
        if result.refused:
            messages.error(request, IMPORT_REFUSED % {"count": len(result.errors)})
        if job.options.get(RECHECKED):
            messages.warning(request, IMPORT_RECHECKED)
        confirm = None
        if not result.refused and job.status == job.Status.PREVIEW:
            stored = {k: v for k, v in job.options.items() if not k.startswith("_")}
            confirm = {"token": job.token, **stored}
        return self._render(
            request,
            {
                "result": result,
                "token": job.token,
                "job": job,
                "errors_page": errors,
                "changes_page": changes,
                "confirm": confirm,
            },
        )

    def _history_response(self, request):
        """Every import of this kind within the user's scope: who, when, file, counts, status,
        the error report (only to its uploader, who may see what it names)."""
        from jobs.models import ImportJob

        jobs = ImportJob.objects.filter(model=self.model_label).select_related("user", "enterprise")
        jobs = self.import_history_visible(request, jobs)
        enterprise = request.GET.get("enterprise")
        if enterprise and enterprise.isdigit():
            jobs = jobs.filter(enterprise_id=int(enterprise))
        page = Paginator(jobs, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
        return self._render(
            request,
            {"page": page, "title": _("导入记录"), "enterprise": enterprise or ""},
            template=self.history_template_name,
        )

    def import_history_visible(self, request, jobs):
        """The imports a user may list: administrators all, everyone else their own."""
        if request.user.is_superuser:
            return jobs
        return jobs.filter(user=request.user)

    def _error_report_response(self, job):
        if not job.result:
            raise Http404
        try:
            result = ImportResult.loads(unseal(job.result).decode())
        except UploadGone:
            raise Http404 from None
        response = HttpResponse(error_report_xlsx(result.errors), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = 'attachment; filename="import-errors.xlsx"'
        return response

    def _template_response(self):
        resource = self.import_resource()
        title = str(self.template_title or self.model._meta.verbose_name)
        response = HttpResponse(
            template_xlsx(title=title, columns=resource.column_notes()),
            content_type=XLSX_CONTENT_TYPE,
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{self.model._meta.model_name}-template.xlsx"'
        )
        return response

    # --- Export ------------------------------------------------------------------------------

    def get_export_queryset(self, request):
        # Whatever the change list shows, narrowed to what the user may see (visible_to), so an
        # export never reaches past the user's scope.
        return super().get_export_queryset(request).visible_to(request.user)

    def export_action(self, request):
        if not self.has_export_permission(request):
            raise PermissionDenied
        if request.GET.get("download"):
            return self._export_download(request, request.GET["download"])
        if request.GET.get("export_job"):
            return self._export_job_response(request, request.GET["export_job"])
        if request.GET.get("export_status"):
            return JsonResponse(
                job_progress(self._own_export(request, request.GET["export_status"]))
            )
        return super().export_action(request)

    def _do_file_export(self, file_format, request, queryset, **kwargs):
        rows = queryset.count()
        if rows <= settings.LEDGER_EXPORT_JOB_ROWS:
            return super()._do_file_export(file_format, request, queryset, **kwargs)
        from django.db import transaction

        from jobs.models import ExportJob
        from jobs.tasks import export_write

        query = request.GET.copy()
        with transaction.atomic():
            job = ExportJob.objects.create(
                model=self.model_label,
                user=request.user,
                query=query.urlencode(),
                filename=self.get_export_filename(request, queryset, file_format),
                rows_total=rows,
                options={
                    # The worker has no request: the file's headers and tab in the asker's
                    # language.
                    "language": translation.get_language() or settings.LANGUAGE_CODE,
                    # What the file may hold, checked again when it is written and downloaded.
                    "access": self.export_access(request.user),
                },
            )
            export_write.enqueue(job.pk)
        messages.info(request, EXPORT_QUEUED % {"rows": rows})
        return HttpResponseRedirect(
            reverse(self._url("export")) + "?" + urlencode({"export_job": job.token})
        )

    def _own_export(self, request, token: str):
        from jobs.models import ExportJob

        job = ExportJob.objects.filter(
            token=token or "", user=request.user, model=self.model_label
        ).first()
        if job is None:
            raise Http404
        return job

    def _export_job_response(self, request, token: str):
        from jobs.models import ExportJob
        from jobs.services import jobs_recover

        job = self._own_export(request, token)
        if job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            jobs_recover()
            job.refresh_from_db()
        return self._render(
            request,
            {
                "job": job,
                "progress": job_progress(job),
                "title": _("导出"),
                "status_param": "export_status",
            },
            template=self.job_template_name,
        )

    def import_changed_since(self, job, since) -> bool:
        """Whether the stored records an import job's preview was compared with changed after
        `since` (the check's start): then its write checks the file again instead of writing
        what no one saw. Here: any change to the model's records (their history)."""
        history = getattr(self.model, "history", None)
        return history is not None and history.filter(history_date__gt=since).exists()

    def export_access(self, user) -> dict:
        """What decides which rows and values an export holds for `user`: whether they see
        everything, and their scope (role, region, enterprise). Recorded when the export is
        asked for; the worker writes the file only if it still holds, and the file is offered
        only while it holds, so a file never outlives the rights it was made under."""
        from enterprises.querysets import sees_everything, user_scope

        scope = user_scope(user)
        return {
            "all": sees_everything(user),
            "scope": [scope.role, scope.region_id, scope.enterprise_id] if scope else None,
        }

    def _export_download(self, request, token: str):
        """The finished file, to the user who asked for it only, within the day it is kept and
        while the user's rights are those it was made under; written to the access log."""
        job = self._own_export(request, token)
        if job.status != job.Status.DONE:
            raise Http404
        keep = datetime.timedelta(hours=settings.LEDGER_EXPORT_KEEP_HOURS)
        if job.finished_at is None or job.finished_at < timezone.now() - keep:
            # The hourly clean-up has not come by yet: the file is gone all the same.
            messages.error(request, EXPORT_GONE)
            return HttpResponseRedirect(reverse(self._url("changelist")))
        if job.options.get("access") != self.export_access(request.user):
            messages.error(request, EXPORT_ACCESS_CHANGED)
            return HttpResponseRedirect(reverse(self._url("changelist")))
        parts = list(job.parts.values_list("pk", flat=True))
        if not parts:
            raise Http404
        try:
            # Made under a key since dropped (a rotation within the file's day): said here,
            # rather than a download logged and then broken after its headers.
            unseal(job.parts.values_list("data", flat=True).get(pk=parts[0]))
        except UploadGone:
            messages.error(request, EXPORT_GONE)
            return HttpResponseRedirect(reverse(self._url("changelist")))
        self.export_job_downloaded(request, job)
        response = StreamingHttpResponse(_export_file(parts), content_type=XLSX_CONTENT_TYPE)
        response["Content-Length"] = str(job.size)
        response["Content-Disposition"] = f'attachment; filename="{job.filename}"'
        return response

    def export_job_downloaded(self, request, job) -> None:
        """Hook: the roster's admin writes the access log."""

    def export_job_run(self, job, *, progress, out) -> None:
        """Called by the export job's worker: the change list's rows (as the user who asked saw
        them) written row by row into a write-only workbook, saved into the binary file `out`:
        500,000 rows in bounded memory, in the language of the user who asked."""
        with translation.override(job.options.get("language") or settings.LANGUAGE_CODE):
            self._export_job_write(job, progress=progress, out=out)

    def _export_job_write(self, job, *, progress, out) -> None:
        from django.test import RequestFactory
        from openpyxl import Workbook

        if job.options.get("access") != self.export_access(job.user):
            raise ExportAccessChanged

        request = RequestFactory().get(reverse(self._url("export")) + "?" + job.query)
        request.user = job.user
        queryset = self.get_export_queryset(request)
        resource_class = self.get_export_resource_classes(request)[0]
        resource = resource_class(**self.get_export_resource_kwargs(request))
        queryset = resource.filter_export(queryset)
        progress.table(type("Table", (), {"total": job.rows_total})())
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=self.export_sheet_title())
        sheet.append([escape_formula(str(header)) for header in resource.get_export_headers()])
        count = 0
        for instance in queryset.iterator(chunk_size=2000):
            sheet.append(resource.export_resource(instance))
            count += 1
            if count % 10_000 == 0:
                progress(count)
        progress(count)
        self.export_job_written(job, rows=count)
        workbook.save(out)

    def export_job_written(self, job, *, rows: int) -> None:
        """Hook: called once the export job has its rows."""

    def export_sheet_title(self) -> str:
        """The exported sheet's tab: what it holds (花名册, 年度目标任务), within Excel's 31
        characters and without the characters a sheet's name may not hold."""
        title = str(self.template_title or self.model._meta.verbose_name_plural)
        return re.sub(r"[\[\]:*?/\\]", " ", title)[:31]

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        data.title = self.export_sheet_title()  # tablib's default tab is "Tablib Dataset"
        return data

    def get_export_filename(self, request, queryset, file_format):
        """The model's name and today's date where the ledger is (the library's is UTC's: a
        file exported at 8 in the morning in Beijing carried yesterday's date); ASCII, as every
        file name the ledger gives, so that no name reaches a header or a log."""
        day = timezone.localdate().isoformat()
        return f"{self.model._meta.model_name}-{day}.{file_format.get_extension()}"


class ExportAccessChanged(Exception):
    """The user's scope or rights changed between asking for an export and its writing."""


def _export_file(parts: list[int]):
    """An export job's file, a part at a time: one query and one decryption each."""
    from jobs.models import ExportPart

    for pk in parts:
        yield unseal(ExportPart.objects.values_list("data", flat=True).get(pk=pk))


def job_progress(job) -> dict:
    """A job's progress for its page and its JSON status: rows read and checked of the total,
    elapsed seconds and an estimate of the rest (from the rows per second so far). An import
    being written is one transaction no one else sees until it commits, the progress it would
    record on its job included: its rows come from its WriteProgress row, written through a
    connection of its own (jobs.tasks.WriteReporter, PostgreSQL). Where there is none (SQLite),
    the page says it is writing, with the time so far, rather than 0 of the total for the whole
    write (24 s for 100,000 new workers)."""
    from jobs.models import ImportJob, WriteProgress

    now = timezone.now()
    started = job.started_at or job.created_at
    elapsed = max((now - started).total_seconds(), 0) if job.started_at else 0
    total, done = job.rows_total, job.rows_done
    writing = isinstance(job, ImportJob) and job.status == ImportJob.Status.WRITING
    # Confirmed, its write not yet taken by a worker: no rows of its own to count yet (the check's
    # are behind it).
    waiting = isinstance(job, ImportJob) and job.status == ImportJob.Status.CONFIRMED
    if waiting:
        total = done = None
    if writing:
        done = (
            WriteProgress.objects.filter(job_id=job.pk).values_list("rows_done", flat=True).first()
        )
        if done is None:
            total = None
    remaining = None
    if total and done and elapsed:
        remaining = round((total - done) / (done / elapsed)) if done < total else 0
        if writing and done >= total:
            remaining = None  # every row read: what is left is the commit, of no known length
    finished = job.status not in ("queued", "checking", "confirmed", "writing", "running")
    return {
        "status": job.status,
        "label": str(job.get_status_display()),
        "rows_total": total,
        "rows_done": done,
        "percent": min(100, round(100 * done / total)) if total else None,
        "elapsed": round(elapsed),
        "remaining": remaining,
        "finished": finished,
        "writing": writing,
        "waiting": waiting,
    }
