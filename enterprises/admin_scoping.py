"""The admin side of "who sees what": one mixin that every ModelAdmin of the ledger carries.

Every list, change page, delete page, history page, action and autocomplete of the admin reads its
rows through `get_queryset()`, so scoping it with the model's `visible_to(user)` covers them all
(the autocomplete view asks the admin of the model it searches). Foreign-key choices are limited
the same way, so a forged POST naming another enterprise fails validation. An object outside the
scope answers 404, exactly as a missing one does (Django's admin would redirect with a message).
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.db.models.functions import Substr
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from .models import Enterprise, Region


def scope_queryset(queryset, user):
    """The queryset cut down to what the user may see (the model's `visible_to`)."""
    return queryset.visible_to(user)


class ScopedAdminMixin:
    """Scopes a ModelAdmin's rows, foreign-key choices and history pages to the user."""

    # Foreign keys to reference data anyone may pick (e.g. a placement's destination region).
    unscoped_foreign_keys: tuple[str, ...] = ()

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name not in self.unscoped_foreign_keys and "queryset" not in kwargs:
            manager = db_field.remote_field.model._default_manager
            if hasattr(manager, "visible_to"):
                kwargs["queryset"] = manager.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Missing and out-of-scope objects must look the same: both are "not found".
        raise Http404

    def _require_in_scope(self, request, object_id):
        # Permission first (403 for every object alike), then the scope (404 like a missing one).
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        pk_name = self.opts.pk.attname
        try:
            visible = self.get_queryset(request).filter(**{pk_name: object_id}).exists()
        except (ValueError, TypeError):
            visible = False
        if not visible:
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        # simple_history falls back to the last historical row of a row it cannot find, which
        # would show any object's history to anyone: check the scope first. The history of a
        # deleted row is therefore not readable in the admin (administrators use the shell).
        self._require_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class CityFilter(admin.SimpleListFilter):
    """Filter by a city (地级市) and everything below it, offering only the cities in which the
    user sees an enterprise; `region_field` names the path to the region."""

    title = _("所在市")
    parameter_name = "city"
    region_field = "region"

    def lookups(self, request, model_admin):
        # One query: the cities whose 4-digit code prefix a visible enterprise's region shares.
        visible = (
            Enterprise.objects.visible_to(request.user)
            .annotate(_city=Substr("region__code", 1, 4))
            .filter(_city=OuterRef("_prefix"))
        )
        return list(
            Region.objects.filter(level=Region.Level.CITY)
            .annotate(_prefix=Substr("code", 1, 4))
            .filter(Exists(visible))
            .values_list("code", "name")
        )

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"{self.region_field}__code__startswith": self.value()[:4]})
        return queryset
