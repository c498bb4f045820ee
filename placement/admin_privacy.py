"""The worker admin's handling of ID numbers and phones: masked everywhere, revealed in full only
by an explicit, logged POST by a user with the permission, and looked up without ever travelling
in a URL (the changelist's search is a GET whose query string lands in access logs)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from simple_history.template_utils import HistoricalRecordContextHelper

from database.paginator import EstimatedCountPaginator

from . import idnumbers
from .access import (
    LookupLimitReached,
    access_log_record,
    can_see_full_id,
    lookup_limit_check,
    worker_reveal,
)
from .models import AccessLog

# Inputs that take a new value but never show the stored one.
WRITE_ONLY = ("id_number", "phone")
# For users who may not see full numbers: the less exact field shown instead.
LESS_EXACT = {
    "birth_date": "birth_year",
    "retirement_date": "retirement_year",
    # Years only (placement/admin_retirement.py).
    "internal_retirement_window": "internal_retirement_years",
    "flexible_retirement_window": "flexible_retirement_years",
}
WORKER_NOT_FOUND = _("在您的权限范围内没有找到该公民身份号码的职工")
ID_NUMBER_CORRECTED = _("已更正（号码不在历史中显示）")


class FindByIdNumberForm(forms.Form):
    id_number = forms.CharField(label=_("公民身份号码"), max_length=30)


class WorkerHistoryHelper(HistoricalRecordContextHelper):
    """The worker's history page: the encrypted number and its hash never appear (a change of
    number reads "更正"), and phones and birth dates are masked unless the user may see them."""

    full = False

    def context_for_delta_changes(self, delta):
        shown = []
        for change in delta.changes:
            if change.field == "id_number_cipher":
                continue
            if change.field == "id_number_digest":
                shown.append({"field": _("公民身份号码"), "old": "", "new": ID_NUMBER_CORRECTED})
                continue
            formatted = self.format_delta_change(change)
            old, new = formatted.old, formatted.new
            if not self.full and change.field == "phone":
                old, new = idnumbers.mask_phone(change.old), idnumbers.mask_phone(change.new)
            elif not self.full and change.field == "birth_date":
                old, new = _year(change.old), _year(change.new)
            shown.append({"field": formatted.field, "old": old, "new": new})
        return shown


def _year(day) -> str:
    return f"{day:%Y}" if day else ""


class WorkerPrivacyMixin:
    """Masked ID number and phone on the worker's page, a logged reveal, a lookup by POST."""

    change_form_template = "admin/placement/worker/change_form.html"
    # The list as django-import-export's, with the look-up by ID number for everyone who sees it.
    import_export_change_list_template = "admin/placement/worker/change_list.html"

    def get_historical_record_context_helper(self, request, historical_record):
        helper = WorkerHistoryHelper(self.model, historical_record)
        helper.full = can_see_full_id(request.user)
        return helper

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("find/", self.admin_site.admin_view(self.find_view), name=f"{prefix}_find"),
            path(
                "<path:object_id>/reveal/",
                self.admin_site.admin_view(require_POST(never_cache(self.reveal_view))),
                name=f"{prefix}_reveal",
            ),
        ] + super().get_urls()

    def _url_name(self, view: str) -> str:
        return f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}"

    @admin.display(description=_("公民身份号码"))
    def id_number_on_page(self, obj):
        # The worker's page also shows the birth date: the usual mask would hide exactly that.
        return idnumbers.mask_beside_birth_date(obj.id_number) if obj.id_number else ""

    @admin.display(description=_("联系电话（现）"))
    def masked_phone(self, obj):
        return idnumbers.mask_phone(obj.phone)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not can_see_full_id(request.user):
            # The lists show the number with its last four characters: beside the full birth
            # date (or the retirement date, which falls on the same day of the month) the number
            # would be rebuilt. The month alone leaves about three candidates once the check
            # digit is applied, so these users see the birth year and retirement year only.
            fieldsets = [
                (title, {**options, "fields": [LESS_EXACT.get(f, f) for f in options["fields"]]})
                for title, options in fieldsets
            ]
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Read-only, the write-only inputs would display the stored values in the clear.
        return [
            (title, {**options, "fields": [f for f in options["fields"] if f not in WRITE_ONLY]})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *LESS_EXACT.values()]

    @admin.display(description=_("出生年份"))
    def birth_year(self, obj):
        return _year(obj.birth_date)

    @admin.display(description=_("法定退休年份"))
    def retirement_year(self, obj):
        return _year(obj.retirement_date)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_reveal"] = can_see_full_id(request.user)
        extra_context["reveal_url"] = reverse(
            self._url_name("reveal"),
            args=[object_id],
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def reveal_view(self, request, object_id):
        """POST only: show one worker's full ID number and phone, and log the reveal."""
        # Permission first, then the object: without the permission every worker answers 403,
        # with it an out-of-scope worker answers 404 like a missing one.
        if not self.has_view_or_change_permission(request) or not can_see_full_id(request.user):
            raise PermissionDenied
        worker = self.get_object(request, object_id)
        if worker is None:
            raise Http404
        try:
            lookup_limit_check(
                user=request.user, request=request, target=f"placement.worker:{worker.pk}"
            )
        except LookupLimitReached as limit:
            return self._limit_reached(request, limit)
        revealed = worker_reveal(user=request.user, worker=worker, request=request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("完整号码"),
            "worker": worker,
            "revealed": revealed,
            "change_url": reverse(
                self._url_name("change"),
                args=[worker.pk],
            ),
        }
        response = TemplateResponse(request, "admin/placement/worker/reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def find_view(self, request):
        """Find a worker by full ID number, sent by POST so that the number stays out of URLs;
        a number outside the user's scope is "not found", like a number never registered."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = FindByIdNumberForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            # Every search is a guess that the answer confirms or denies: limited and logged,
            # found or not (the number itself is never written).
            try:
                lookup_limit_check(user=request.user, request=request, target="placement.worker")
            except LookupLimitReached as limit:
                return self._limit_reached(request, limit)
            try:
                worker = (
                    self.get_queryset(request)
                    .by_id_number(form.cleaned_data["id_number"])
                    .only("pk")
                    .first()
                )
            except ValidationError:
                worker = None
            access_log_record(
                user=request.user,
                action=AccessLog.Action.FIND,
                target=f"placement.worker:{worker.pk}" if worker else "placement.worker",
                rows=1 if worker else 0,
                full_numbers=False,
                request=request,
            )
            if worker is not None:
                return HttpResponseRedirect(
                    reverse(
                        self._url_name("change"),
                        args=[worker.pk],
                    )
                )
            messages.warning(request, WORKER_NOT_FOUND)
            form = FindByIdNumberForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("按公民身份号码查找职工"),
            "form": form,
        }
        return TemplateResponse(request, "admin/placement/worker/find.html", context)

    def _limit_reached(self, request, limit: LookupLimitReached):
        """The page that says the per-minute limit is reached (429, so scripts stop too)."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("请稍后再试"),
            "form": FindByIdNumberForm(),
            "limit_message": limit.args[0],
        }
        return TemplateResponse(request, "admin/placement/worker/find.html", context, status=429)


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """The access log, read-only, for administrators only."""

    list_display = ["at", "username", "action", "target", "rows", "full_numbers", "address"]
    list_filter = ["action", "full_numbers"]
    search_fields = ["username", "target"]
    date_hierarchy = "at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        from enterprises.querysets import sees_everything

        queryset = super().get_queryset(request)
        return queryset if sees_everything(request.user) else queryset.none()

    def has_add_permission(self, request):
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
