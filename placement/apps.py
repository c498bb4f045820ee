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
