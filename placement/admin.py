"""Admin for workers, placements and targets: where HR officers enter and correct records."""

import uuid

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from database.distinct import distinct_values
from database.paginator import EstimatedCountPaginator
from enterprises.admin_scoping import CityFilter, ScopedAdminMixin
from enterprises.models import Enterprise

from . import (
    admin_accounts,  # noqa: F401  (the user admin with role and scope)
    services,
)
from .admin_imports import RosterImportExportMixin, TargetImportExportMixin
from .admin_privacy import WorkerPrivacyMixin
from .admin_retirement import RetirementWindowsMixin
from .channels import Channel
from .forms import (
    SUBMISSION_FIELD,
    VERSION_FIELD,
    PlacementForm,
    PlacementInlineForm,
    WorkerForm,
)
from .models import AnnualTarget, Placement, Worker


class ServiceWritesMixin:
    """The admin's save and delete hooks write through placement.services, so that the rules
    and the report facts hold for the admin as for the imports. A ModelAdmin names its services
    (`save_service`, `delete_service`) and the keyword they take the object by."""

    service_argument: str
    save_service = None
    delete_service = None

    def save_model(self, request, obj, form, change):
        options = {}
        if VERSION_FIELD in form.cleaned_data:
            options["version"] = form.cleaned_data[VERSION_FIELD]
        type(self).save_service(**{self.service_argument: obj}, actor=request.user, **options)
        services.form_submission_record(token=form.cleaned_data.get(SUBMISSION_FIELD), obj=obj)

    def delete_model(self, request, obj):
        type(self).delete_service(**{self.service_argument: obj}, actor=request.user)

    def get_deleted_objects(self, objs, request):
        """Django's list of what a delete takes with it, without the report facts: a derived
        index the write path keeps (reports.models.PlacementFact), rebuilt from the ledger, which
        an officer never sees elsewhere and need not confirm."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return _without_derived(deleted), _counts_without_derived(counts), perms_needed, protected

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            _function, name, description = actions["delete_selected"]
            actions["delete_selected"] = (delete_selected_versioned, name, description)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        """The confirmation page carries the version of the row it shows, and its POST deletes
        that version only (services.delete_check, the row locked until it is deleted): a row
        changed meanwhile is kept, and the page is shown again with what it holds now, who
        changed it and when, so that deleting it after all is the officer's decision."""
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if to_field and not self.to_field_allowed(request, to_field):
            return super().delete_view(request, object_id, extra_context)  # refused there
        obj = self.get_object(request, unquote(object_id), to_field)
        if obj is None or not self.has_delete_permission(request, obj):
            return super().delete_view(request, object_id, extra_context)
        if request.method != "POST" or not request.POST:
            context = {**(extra_context or {}), "edit_version": services.edit_version(obj)}
            return super().delete_view(request, object_id, context)
        with transaction.atomic(using=router.db_for_write(self.model)):
            try:
                services.delete_check(obj=obj, version=_version(request.POST.get(VERSION_FIELD)))
            except services.EditConflict as conflict:
                messages.error(request, conflict.messages[0])
                return redirect(request.get_full_path())
            return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def _derived_models():
    from reports.models import PlacementFact

    return [PlacementFact]


def _without_derived(items: list) -> list:
    """Django's nested list of objects to delete (each a text or a link, followed by the list
    of what it takes with it), without the derived models' entries: an object of a model with
    no admin page is written "Verbose name: object"."""
    prefixes = tuple(f"{capfirst(model._meta.verbose_name)}: " for model in _derived_models())
    kept: list = []
    for item in items:
        if isinstance(item, list):
            if kept and kept[-1] is None:
                continue  # what a left-out object takes with it
            kept.append(_without_derived(item))
        elif isinstance(item, str) and item.startswith(prefixes):
            kept.append(None)
        else:
            kept.append(item)
    return [item for item in kept if item is not None and item != []]


def _counts_without_derived(counts: dict) -> dict:
    hidden = {str(model._meta.verbose_name_plural) for model in _derived_models()}
    return {name: count for name, count in counts.items() if str(name) not in hidden}


ALREADY_SUBMITTED = _(
    "这张表单已经提交过一次（可能点击了两次），没有重复保存；下面是第一次提交的结果"
)


class SubmittedOnceAdminMixin:
    """An add or change page posted twice (a double click, a resent request) saves once: the
    page's one-time token (forms.SubmittedOnceForm) is claimed in the request's transaction
    before the form is read, and the second post is answered with the first one's result."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        token = _token(request.POST.get(SUBMISSION_FIELD)) if request.method == "POST" else None
        if token is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        with transaction.atomic(using=router.db_for_write(self.model)):
            earlier = services.form_submission_claim(token=token, model=self.model)
            if earlier is not None:
                return self._submitted_before(request, earlier)
            response = super().changeform_view(request, object_id, form_url, extra_context)
            services.form_submission_release(token=token)
            return response

    def _submitted_before(self, request, earlier):
        messages.info(request, ALREADY_SUBMITTED)
        opts = self.model._meta
        if earlier.object_id is not None and earlier.model == opts.label_lower:
            return redirect(
                reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                    args=[earlier.object_id],
                )
            )
        return redirect(
            reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
        )


CHANGED_BEFORE_DELETE_MANY = _(
    "所选的%(what)s中有 %(changed)s 条在确认页显示之后被修改过，一条也没有删除；请核对后重新选择"
)


def delete_selected_versioned(modeladmin, request, queryset):
    """Django's "delete selected", whose confirmation page carries the version of every row it
    lists, and whose POST deletes them only if none has changed since (services.
    delete_many_check, the rows locked until deleted): otherwise none is deleted, and the
    officer chooses again from the list as it is now."""
    if not request.POST.get("post"):
        response = delete_selected(modeladmin, request, queryset)
        if isinstance(response, TemplateResponse):
            versions = services.edit_versions(modeladmin.model, [obj.pk for obj in queryset])
            response.context_data["edit_versions"] = ",".join(
                f"{pk}:{version}" for pk, version in versions.items()
            )
        return response
    posted = request.POST.get(VERSIONS_FIELD)
    if posted is None:
        return delete_selected(modeladmin, request, queryset)
    shown = _versions(posted)
    with transaction.atomic(using=router.db_for_write(modeladmin.model)):
        pks = list(queryset.order_by("pk").values_list("pk", flat=True))
        changed = services.delete_many_check(
            model=modeladmin.model, versions={pk: shown.get(pk, -1) for pk in pks}
        )
        if changed:
            modeladmin.message_user(
                request,
                CHANGED_BEFORE_DELETE_MANY
                % {"what": modeladmin.opts.verbose_name, "changed": len(changed)},
                messages.ERROR,
            )
            return None
        return delete_selected(modeladmin, request, queryset)


VERSIONS_FIELD = "versions"


def _versions(value: str) -> dict[int, int]:
    """The confirmation's versions, "pk:version,…"; what is not one matches no row."""
    versions = {}
    for pair in value.split(","):
        pk, _colon, version = pair.partition(":")
        if pk.isascii() and pk.isdigit() and len(pk) <= 18:
            parsed = _version(version)
            versions[int(pk)] = -1 if parsed is None else parsed
    return versions


def _version(value) -> int | None:
    """A posted version: None when there is none; one that is not a version (forged, cut)
    matches no row's, so that the check refuses rather than skips."""
    if not value:
        return None
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return -1


def _token(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class WorkerCityFilter(CityFilter):
    region_field = "enterprise__region"


class PlacementStatusFilter(admin.SimpleListFilter):
    """Placed or still waiting today, by the placements in force."""

    title = _("安置状态")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("placed", _("已安置")), ("pending", _("待安置"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "placed":
            return queryset.placed_on(today)
        if self.value() == "pending":
            return queryset.pending_on(today)
        return queryset


class ProbedValuesListFilter(admin.AllValuesFieldListFilter):
    """A field's values offered by index probes (database/distinct.py), not by a DISTINCT over
    every row of the list (0.2 s over 2,000,000 workers, on every page view)."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = distinct_values(model_admin.get_queryset(request), field.name)


class CurrentChannelFilter(admin.SimpleListFilter):
    title = _("当前安置渠道")
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        return Channel.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(_current_channel=self.value())
        return queryset


class PlacementInlineFormSet(BaseInlineFormSet):
    """The worker page's placement rows: a row ticked for deletion is deleted only if it is still
    what the page showed (Django leaves the errors of a row being deleted unseen, the version
    check's among them)."""

    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk is None:
                continue
            try:
                services.delete_check(
                    obj=form.instance, version=form.cleaned_data.get(VERSION_FIELD)
                )
            except services.EditConflict as conflict:
                raise ValidationError(conflict) from None


class PlacementInline(admin.StackedInline):
    # Stacked, not tabular: a tabular inline gives its inputs column headers but no labels,
    # which screen readers and axe-core (critical: "label") cannot tie to the inputs.
    model = Placement
    extra = 1
    fields = [
        "channel",
        "placed_on",
        "destination_unit",
        "destination_region",
        "employed_elsewhere_insured_at_home",
        "ended_on",
        "note",
        VERSION_FIELD,
    ]
    autocomplete_fields = ["destination_region"]
    ordering = ["-placed_on", "-id"]
    form = PlacementInlineForm
    formset = PlacementInlineFormSet


@admin.register(Worker)
class WorkerAdmin(
    SubmittedOnceAdminMixin,
    ServiceWritesMixin,
    ScopedAdminMixin,
    WorkerPrivacyMixin,
    RetirementWindowsMixin,
    RosterImportExportMixin,
    SimpleHistoryAdmin,
):
    form = WorkerForm
    inlines = [PlacementInline]
    service_argument = "worker"
    save_service = services.worker_save
    delete_service = services.worker_delete
    list_display = [
        "name",
        "masked_id_number",
        "sex",
        "enterprise",
        "post",
        "status",
        "registered_on",
        "registered_on_source",
        "current_channel",
        "current_placed_on",
    ]
    list_filter = [
        PlacementStatusFilter,
        CurrentChannelFilter,
        WorkerCityFilter,
        "enterprise__industry",
        "status",
        "special_work_type",
        "employment_difficulty",
        ("diversion_year", ProbedValuesListFilter),
        "registered_on_source",
    ]
    search_fields = ["name"]
    search_help_text = _("按姓名查找；按公民身份号码查找请用右上角的“按公民身份号码查找”")
    list_select_related = ["enterprise"]
    autocomplete_fields = ["enterprise"]
    date_hierarchy = "registered_on"
    readonly_fields = [
        "id_number_on_page",
        "sex",
        "birth_date",
        "retirement_date",
        "internal_retirement_window",
        "flexible_retirement_window",
        "masked_phone",
        "registered_on_source",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "enterprise",
                    "name",
                    "id_number",
                    "id_number_on_page",
                    "sex",
                    "birth_date",
                    VERSION_FIELD,
                    SUBMISSION_FIELD,
                ]
            },
        ),
        (
            _("岗位与身份"),
            {
                "fields": [
                    "status",
                    "post",
                    "special_work_type",
                    "hire_date",
                    "retirement_date",
                    "internal_retirement_window",
                    "flexible_retirement_window",
                    "employment_difficulty",
                ]
            },
        ),
        (
            _("联系与登记"),
            {
                "fields": [
                    "masked_phone",
                    "phone",
                    "diversion_year",
                    "registered_on",
                    "registered_on_source",
                ]
            },
        ),
    ]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        # An officer of one enterprise has one choice: make it for them.
        only = list(Enterprise.objects.visible_to(request.user).values_list("pk", flat=True)[:2])
        if len(only) == 1:
            initial.setdefault("enterprise", only[0])
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A class made for this request by modelform_factory: the attribute stays with it.
        form.request = request
        return form

    def get_queryset(self, request):
        today = timezone.localdate()
        return (
            super()
            .get_queryset(request)
            .annotate(
                _current_channel=Placement.objects.current_of_each("channel", today),
                _current_placed_on=Placement.objects.current_of_each("placed_on", today),
            )
        )

    @admin.display(description=_("公民身份号码"))
    def masked_id_number(self, obj):
        return obj.id_number_masked

    @admin.display(description=_("法定退休日期"))
    def retirement_date(self, obj):
        # A worker being added has no birth date yet: a dash, not "None".
        return obj.retirement_date or "—"

    @admin.display(description=_("当前安置渠道"), ordering="_current_channel")
    def current_channel(self, obj):
        if not obj._current_channel:
            return _("待安置")
        return Channel(obj._current_channel).label

    @admin.display(description=_("安置日期"), ordering="_current_placed_on")
    def current_placed_on(self, obj):
        return obj._current_placed_on

    def save_formset(self, request, form, formset, change):
        if formset.model is not Placement:
            return super().save_formset(request, form, formset, change)
        placements = formset.save(commit=False)
        versions = {f.instance.pk: f.cleaned_data.get(VERSION_FIELD) for f in formset.forms}
        for placement in formset.deleted_objects:
            services.placement_delete(placement=placement, actor=request.user)
        for placement in placements:
            version = versions.get(placement.pk) if placement.pk else None
            services.placement_save(placement=placement, actor=request.user, version=version)
        formset.save_m2m()


@admin.register(Placement)
class PlacementAdmin(
    SubmittedOnceAdminMixin, ServiceWritesMixin, ScopedAdminMixin, SimpleHistoryAdmin
):
    form = PlacementForm
    list_display = [
        "worker",
        "enterprise",
        "channel",
        "placed_on",
        "ended_on",
        "destination_unit",
        "destination_region",
    ]
    list_filter = ["channel", "enterprise__industry", "employed_elsewhere_insured_at_home"]
    search_fields = ["worker__name", "destination_unit"]
    list_select_related = ["worker", "enterprise", "destination_region"]
    autocomplete_fields = ["worker", "destination_region"]
    unscoped_foreign_keys = ("destination_region",)
    service_argument = "placement"
    save_service = services.placement_save
    delete_service = services.placement_delete
    date_hierarchy = "placed_on"
    readonly_fields = ["created_by", "created_at", "updated_by", "updated_at"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def delete_queryset(self, request, queryset):
        # One refresh of the facts for all the placements, not one each.
        services.placements_delete(placements=queryset, actor=request.user)


@admin.register(AnnualTarget)
class AnnualTargetAdmin(
    ServiceWritesMixin, ScopedAdminMixin, TargetImportExportMixin, SimpleHistoryAdmin
):
    list_display = ["year", "region", "enterprise", "workers"]
    list_filter = ["year", ("region", admin.EmptyFieldListFilter)]
    search_fields = ["region__name", "region__code", "enterprise__name", "=enterprise__credit_code"]
    list_select_related = ["region", "enterprise"]
    autocomplete_fields = ["region", "enterprise"]
    paginator = EstimatedCountPaginator
    service_argument = "target"
    save_service = services.target_save
    delete_service = services.target_delete
