from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacementConfig(AppConfig):
    name = "placement"
    verbose_name = _("职工安置")

    def ready(self):
        from . import checks  # noqa: F401  (registers the key check)
