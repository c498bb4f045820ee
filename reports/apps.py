from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("统计报表")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from enterprises.models import Enterprise, Region
        from placement.models import AnnualTarget
        from placement.signals import ledger_changed

        from . import cache
        from .facts import _ledger_changed

        ledger_changed.connect(_ledger_changed, dispatch_uid="reports_facts_ledger_changed")
        # Cached dashboard figures: a new generation once any of this has committed.
        ledger_changed.connect(cache._changed, dispatch_uid="reports_cache_ledger_changed")
        for model in (Enterprise, Region, AnnualTarget):
            for signal in (post_save, post_delete):
                signal.connect(cache._changed, sender=model, dispatch_uid=f"reports_cache_{model}")
