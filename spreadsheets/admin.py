"""The admin side of the ledger's imports and exports, a close subclass of django-import-export's
ImportExportMixin: the same URLs (`<model>_import`, `<model>_process_import`, `<model>_export`),
permissions and change-list buttons, but the import runs the ledger's import service, and the
preview shows counts, every error and the changes paginated — not one table row per file row
(upstream #2148: 20,000 rows made a 15.8 MB page).

The upload is kept between the preview and the confirmation, encrypted, under a random token,
with the preview's result and its owner beside it (see .uploads).
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import XLSX
from import_export.forms import ExportForm

from .results import error_report_xlsx, template_xlsx
from .uploads import Upload, UploadGone

IMPORT_DONE = _("导入完成：新增 %(created)s 条，更新 %(updated)s 条，未变 %(unchanged)s 条")
IMPORT_NOTHING_CHANGED = _(
    "文件与已有数据完全相同：没有新增或更新任何记录（未变 %(unchanged)s 条）"
)
IMPORT_REFUSED = _("文件有 %(count)s 处错误，未导入任何数据；请改正后重新上传")
UPLOAD_EXPIRED = _("上传的文件已过期，请重新上传")
UPLOAD_CANCELLED = _("已取消导入，上传的文件已删除")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHANGES_PER_PAGE = 100


class SpreadsheetImportForm(forms.Form):
    """The upload; admins add their own fields (the roster's enterprise) in a subclass."""

    import_file = forms.FileField(
        label=_("文件"), help_text=_("Excel（.xlsx、.xls）或 CSV（UTF-8 或 GBK 编码）")
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
    """Admin import (preview, confirm, error report, blank template) through an import service,
    and django-import-export's export of the same resource, scoped and escaped."""

    import_template_name = "admin/spreadsheets/import.html"
    import_form_class = SpreadsheetImportForm
    formats = [XLSX]
    # Every column is exported, so that an export can be imported back unchanged.
    export_form_class = ExportForm
    template_title = ""

    def import_service(self, request, *, data: bytes, filename: str, dry_run: bool, **options):
        raise NotImplementedError

    def import_resource(self):
        return self.resource_classes[0]()

    # --- Import ------------------------------------------------------------------------------

    def import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.GET.get("template"):
            return self._template_response()
        if request.GET.get("errors"):
            return self._error_report_response(self._own_upload(request, request.GET["errors"]))
        if request.GET.get("preview"):
            upload = self._own_upload(request, request.GET["preview"])
            return self._preview_response(
                request, upload, upload.result(), request.GET, confirm=upload.confirm()
            )
        form = self.import_form_class(request.POST or None, request.FILES or None, request=request)
        if request.method == "POST" and form.is_valid():
            upload_file = form.cleaned_data["import_file"]
            data = b"".join(upload_file.chunks())
            confirm = {"filename": upload_file.name, "user": request.user.pk}
            upload = Upload.create(data, confirm={**confirm, **form.stored_options()})
            result = self.import_service(
                request,
                data=data,
                filename=upload_file.name,
                dry_run=True,
                **form.import_options(),
            )
            upload.save_result(result)
            confirm = upload.confirm()
            return self._preview_response(request, upload, result, {}, confirm=confirm)
        return self._render(request, {"form": form})

    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse(self._url("import")))
        try:
            upload = self._own_upload(request, request.POST.get("token", ""))
            if "cancel" in request.POST:
                upload.remove()
                messages.info(request, UPLOAD_CANCELLED)
                return HttpResponseRedirect(reverse(self._url("import")))
            confirm = upload.confirm()
            data = upload.read()
        except UploadGone:
            messages.error(request, UPLOAD_EXPIRED)
            return HttpResponseRedirect(reverse(self._url("import")))
        form = self.import_form_class(request.POST, request=request)
        # Only the extra fields are re-validated: the file itself is the stored one.
        form.fields.pop("import_file")
        if not form.is_valid():
            raise PermissionDenied
        if any(confirm.get(key) != value for key, value in form.stored_options().items()):
            # Confirm exactly what was previewed (the same enterprise), nothing else.
            raise PermissionDenied
        result = self.import_service(
            request,
            data=data,
            filename=confirm.get("filename", ""),
            dry_run=False,
            **form.import_options(),
        )
        if result.refused:
            upload.save_result(result)
            return self._preview_response(request, upload, result, {})
        upload.remove()
        counts = {"created": result.created, "updated": result.updated}
        counts["unchanged"] = result.unchanged
        if result.created or result.updated:
            messages.success(request, IMPORT_DONE % counts)
        else:
            messages.info(request, IMPORT_NOTHING_CHANGED % counts)
        return HttpResponseRedirect(reverse(self._url("changelist")))

    def _own_upload(self, request, token: str) -> Upload:
        """The stored upload of this token, only for the user who uploaded it: another user's
        preview, error report, confirmation or cancel is "not found" (it holds their rows), and
        so is an upload whose owner record is missing."""
        upload = Upload(token)
        if upload.confirm().get("user") != request.user.pk:
            raise Http404
        return upload

    def _url(self, name: str) -> str:
        app_label, model_name = self.get_model_info()
        return f"admin:{app_label}_{model_name}_{name}"

    def _render(self, request, context):
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": _("导入"),
            "opts": self.model._meta,
            "columns": self.import_resource().column_notes(),
            **context,
        }
        return TemplateResponse(request, [self.import_template_name], context)

    def _preview_response(self, request, upload, result, query, confirm=None):
        """Counts, all errors (paginated) and the changes (paginated); never the whole file."""
        errors = Paginator(result.errors, CHANGES_PER_PAGE).get_page(query.get("epage"))
        changes = Paginator(result.changes, CHANGES_PER_PAGE).get_page(query.get("page"))
        if result.refused:
            messages.error(request, IMPORT_REFUSED % {"count": len(result.errors)})
        return self._render(
            request,
            {
                "result": result,
                "token": upload.token,
                "errors_page": errors,
                "changes_page": changes,
                "confirm": confirm if not result.refused else None,
            },
        )

    def _error_report_response(self, upload):
        response = HttpResponse(
            error_report_xlsx(upload.result().errors), content_type=XLSX_CONTENT_TYPE
        )
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
