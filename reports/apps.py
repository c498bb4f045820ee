from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("统计报表")

    def ready(self):
        from django.db.models.signals import post_delete, post_save, pre_delete

        from enterprises.models import Enterprise, Region
        from placement.models import AnnualTarget, Worker
        from placement.signals import ledger_changed

        from . import (
            cache,
            checks,  # noqa: F401  (registers the SQLite version check)
        )
        from .facts import _ledger_changed, _worker_deleting

        ledger_changed.connect(_ledger_changed, dispatch_uid="reports_facts_ledger_changed")
        # A deleted worker's facts go first, with their share of the monthly sums (the facts'
        # CASCADE alone would leave the sums counting them).
        pre_delete.connect(_worker_deleting, sender=Worker, dispatch_uid="reports_facts_worker")
        # Cached dashboard figures: fresh generations for the scopes a change touched, once it
        # has committed.
        ledger_changed.connect(cache._ledger_changed, dispatch_uid="reports_cache_ledger_changed")
        from enterprises.signals import enterprises_written

        enterprises_written.connect(
            cache._enterprises_written, dispatch_uid="reports_cache_enterprises_written"
        )
        post_delete.connect(
            cache._worker_deleted, sender=Worker, dispatch_uid="reports_cache_worker"
        )
        for model, receiver in (
            (Enterprise, cache._enterprise_changed),
            (AnnualTarget, cache._target_changed),
            (Region, cache._region_changed),
        ):
            for signal in (post_save, post_delete):
                signal.connect(receiver, sender=model, dispatch_uid=f"reports_cache_{model}")
