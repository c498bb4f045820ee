"""Admin for regions and enterprises: what administrators manage."""

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from database.paginator import EstimatedCountPaginator

from .admin_imports import EnterpriseImportExportMixin
from .admin_scoping import CityFilter, ScopedAdminMixin
from .models import Enterprise, Region, UserScope
from .signals import enterprise_diversion_dates_changed


# Regions are public reference data (GB/T 2260): every role may read them all, so that a placement
# can name any destination region; only administrators hold the permission to change them.
@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    ordering = ["code"]


@admin.register(Enterprise)
class EnterpriseAdmin(ScopedAdminMixin, EnterpriseImportExportMixin, SimpleHistoryAdmin):
    list_display = [
        "name",
        "credit_code",
        "industry",
        "region",
        "parent",
        "reduction_year",
        "diversion_date",
        "worker_count",
    ]
    list_filter = ["industry", CityFilter, "reduction_year", ("parent", admin.EmptyFieldListFilter)]
    search_fields = ["name", "=credit_code"]
    list_select_related = ["region", "parent"]
    autocomplete_fields = ["region", "parent"]
    fieldsets = [
        (None, {"fields": ["name", "credit_code", "industry", "region", "parent"]}),
        (_("去产能任务"), {"fields": ["reduction_year", "capacity_to_cut"]}),
        (_("一企一策"), {"fields": ["plan_text", "plan_reviewed_on", "diversion_date"]}),
    ]

    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        # Each listed enterprise's workers counted by a subquery on the worker table's enterprise
        # index, for the page's rows only: the join with GROUP BY it replaces counted all
        # 2,000,000 workers on every page view (1.4 s at 500,000), and also in the page count.
        # Ordered by pk after the name, or the autocomplete's pages shift among equal names.
        # (The worker model through the reverse relation: this app does not import placement.)
        worker_model = Enterprise._meta.get_field("workers").related_model
        workers = (
            worker_model.objects.filter(enterprise=OuterRef("pk"))
            .order_by()
            .values("enterprise")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(_worker_count=Coalesce(Subquery(workers), 0))
            .order_by(*Enterprise._meta.ordering, "pk")
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        parent = form.base_fields.get("parent")
        if obj is not None and obj.parent_id and parent is not None:
            # A mine whose group lies outside the user's scope keeps it: the field shows it and
            # accepts it back (empty, the save would take the mine out of a group the user
            # cannot even see); no other group outside the scope can be chosen.
            parent.queryset = parent.queryset | Enterprise.objects.filter(pk=obj.parent_id)
        credit_code = form.base_fields.get("credit_code")
        if credit_code is not None:
            # Typed with full-width characters or spaces, as the import accepts it: the model
            # normalises it before checking it (Enterprise.clean).
            credit_code.max_length = None
            credit_code.validators = []
            credit_code.widget.attrs.pop("maxlength", None)
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "diversion_date" in form.changed_data:
            # Workers whose roster gave no diversion date follow the enterprise's.
            answers = enterprise_diversion_dates_changed.send(sender=Enterprise, enterprises=[obj])
            for _receiver, answer in answers:
                if answer:
                    messages.info(request, answer)

    @admin.display(description=_("职工人数"), ordering="_worker_count")
    def worker_count(self, obj):
        return obj._worker_count


@admin.register(UserScope)
class UserScopeAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "region", "enterprise"]
    list_filter = ["role"]
    search_fields = ["user__username", "region__name", "enterprise__name"]
    list_select_related = ["user", "region", "enterprise"]
    autocomplete_fields = ["user", "region", "enterprise"]
