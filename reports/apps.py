from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("统计报表")

    def ready(self):
        from placement.models import Placement, Worker
        from placement.signals import ledger_bulk_loaded, workers_bulk_changed

        for signal in (post_save, post_delete):
            signal.connect(_placement_changed, sender=Placement, dispatch_uid=f"reports_p_{signal}")
        post_save.connect(_worker_changed, sender=Worker, dispatch_uid="reports_worker_saved")
        workers_bulk_changed.connect(_bulk_changed, dispatch_uid="reports_bulk_changed")
        ledger_bulk_loaded.connect(_bulk_loaded, dispatch_uid="reports_bulk_loaded")


def _placement_changed(sender, instance, **kwargs):
    """A placement was saved or deleted: its worker's report facts are stale."""
    from .facts import report_facts_mark

    report_facts_mark(worker_id=instance.worker_id)


def _worker_changed(sender, instance, **kwargs):
    """A worker was saved (registration date, enterprise): their report facts are stale."""
    from .facts import report_facts_mark

    report_facts_mark(worker_id=instance.pk)


def _bulk_changed(sender, worker_ids, new=False, **kwargs):
    """Workers or placements were written in bulk (an import): their facts are stale. Changes
    are refreshed at commit; newly inserted workers (possibly many) by the next report."""
    from .facts import report_facts_mark_many

    report_facts_mark_many(worker_ids=worker_ids, at_commit=not new)


def _bulk_loaded(sender, **kwargs):
    """A bulk load committed (the demo): compute its workers' facts now (and analyse them),
    rather than in the first report after it."""
    from .facts import report_facts_sync

    report_facts_sync()
