"""The ledger's admin site: every ModelAdmin registered on it, the project's and third parties'
(accounts, django-axes), gets the same two guards, so that a new admin cannot forget them.

1. A list accepts only the query-string parameters that its own filters, date hierarchy and
   search produce. Django's admin also accepts a lookup on any of the model's own fields
   (`?birth_date=1975-03-14`, `?phone__startswith=138`): beside the masked ID number of a list
   that confirms a guessed birth date, and so rebuilds the number. Anything else answers 400 and
   is written to the access log (the parameter's name only: its value may be the guess).
2. The history of a record is a record, not an edit path: a version's page is read-only for
   everybody. django-simple-history saves any valid POST to it after checking only the view
   permission, and `SIMPLE_HISTORY_REVERT_DISABLED` only hides the button.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

READ_METHODS = ("GET", "HEAD")
LOOKUP_NOT_ALLOWED = _("不支持按“%(parameter)s”筛选：请使用列表右侧的筛选项或搜索框")


class DisallowedLookup(DisallowedModelAdminLookup):
    """A query-string parameter that none of the list's filters produce (answers 400)."""


class StrictChangeList(ChangeList):
    """A changelist that refuses every parameter its filters and date hierarchy do not use."""

    def get_filters(self, request):
        asked = set(self.get_filters_params())
        result = super().get_filters(request)
        filter_specs = result[0]
        produced = {p for spec in filter_specs for p in spec.expected_parameters()}
        if self.date_hierarchy:
            produced |= {f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day")}
        refused = sorted(asked - produced)
        if refused:
            self.model_admin.lookup_refused(request, refused)
            raise DisallowedLookup(LOOKUP_NOT_ALLOWED % {"parameter": refused[0]})
        return result


class LedgerModelAdminMixin:
    """The guards every ModelAdmin of the ledger's site carries (see the module's docstring)."""

    def get_changelist(self, request, **kwargs):
        return StrictChangeList

    def lookup_allowed(self, lookup, value, request=None):
        # Django checks every parameter here before the filters consume theirs: the filters'
        # own parameters pass, StrictChangeList refuses the rest once it knows which they are.
        return True

    def lookup_refused(self, request, parameters):
        """Write a refused probe to the access log: who, which list, which parameter names."""
        from placement.access import access_log_record
        from placement.error_reports import mask_personal_text
        from placement.models import AccessLog

        access_log_record(
            user=request.user,
            action=AccessLog.Action.PROBE,
            # A parameter's name may be whatever was pasted after "?" (an ID number): masked.
            target=mask_personal_text(f"{self.opts.label_lower}?{','.join(parameters)}")[:200],
            rows=0,
            full_numbers=False,
            request=request,
        )

    def history_view(self, request, object_id, extra_context=None):
        if request.method not in READ_METHODS:
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in READ_METHODS:
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class LedgerAdminSite(admin.AdminSite):
    """The admin site of the ledger: mixes LedgerModelAdminMixin into every registered admin."""

    site_header = _("安置台账")
    site_title = _("安置台账")
    index_title = _("台账管理")

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, LedgerModelAdminMixin):
            admin_class = type(
                admin_class.__name__,
                (LedgerModelAdminMixin, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)


class LedgerAdminConfig(AdminConfig):
    """django.contrib.admin with the ledger's site as `admin.site`."""

    default_site = "config.admin_site.LedgerAdminSite"
