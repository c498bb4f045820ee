from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("统计报表")

    def ready(self):
        from placement.signals import ledger_changed

        from .facts import _ledger_changed

        ledger_changed.connect(_ledger_changed, dispatch_uid="reports_facts_ledger_changed")
