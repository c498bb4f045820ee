from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacementConfig(AppConfig):
    name = "placement"
    verbose_name = _("职工安置")

    def ready(self):
        from enterprises.signals import enterprise_diversion_dates_changed

        from . import checks  # noqa: F401  (registers the key check)
        from .services import _enterprise_dates_changed

        enterprise_diversion_dates_changed.connect(
            _enterprise_dates_changed, dispatch_uid="placement_enterprise_dates"
        )
        from django.db.models.signals import post_delete, post_save

        from enterprises.models import UserScope

        from .roles import _scope_saved

        post_save.connect(_scope_saved, sender=UserScope, dispatch_uid="placement_scope_saved")
        post_delete.connect(_scope_saved, sender=UserScope, dispatch_uid="placement_scope_deleted")
