"""Admin import and export of rosters and annual targets; the views themselves are
spreadsheets.admin's, the work is placement.imports'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise
from spreadsheets.admin import SpreadsheetImportExportMixin, SpreadsheetImportForm

from .access import access_log_record, can_see_full_id
from .imports import roster_import, target_import
from .models import AccessLog, Placement, Worker
from .resources import AnnualTargetResource, RosterResource


class _EnterpriseChoiceField(forms.ModelChoiceField):
    """Enterprises by name and credit code: two mines of one name are told apart where a roster
    is written into one of them."""

    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.credit_code}）"


class RosterImportForm(SpreadsheetImportForm):
    """The roster file and the enterprise it belongs to, among those the user may see."""

    enterprise = _EnterpriseChoiceField(label=_("所在企业"), queryset=Enterprise.objects.none())

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        visible = Enterprise.objects.visible_to(request.user)
        self.fields["enterprise"].queryset = visible
        # An officer of one mine has one choice: make it for them.
        only = list(visible[:2])
        if len(only) == 1:
            self.fields["enterprise"].initial = only[0].pk

    def import_options(self) -> dict:
        return {"enterprise": self.cleaned_data["enterprise"]}

    def stored_options(self) -> dict:
        return {"enterprise": self.cleaned_data["enterprise"].pk}


class RosterImportExportMixin(SpreadsheetImportExportMixin):
    """Workers: roster import into one enterprise; export masked unless the user may see full
    ID numbers (then export → import is a round trip that changes nothing)."""

    resource_classes = [RosterResource]
    import_form_class = RosterImportForm
    template_title = _("花名册")

    def import_service(
        self, *, user, data, filename, dry_run, progress=None, request=None, enterprise
    ):
        return roster_import(
            data=data,
            filename=filename,
            enterprise=enterprise,
            dry_run=dry_run,
            user=user,
            progress=progress,
            request=request,
        )

    def stored_import_options(self, stored: dict) -> dict:
        return {"enterprise": Enterprise.objects.get(pk=stored["enterprise"])}

    def import_changed_since(self, job, since) -> bool:
        """The enterprise's workers or placements changed since the check began (their history:
        every write path records one). A worker moved to another enterprise meanwhile is the
        write's own concern: it finds the number registered elsewhere and refuses the file."""
        recent = {"history_date__gt": since}
        if Worker.history.filter(enterprise_id=job.enterprise_id, **recent).exists():
            return True
        # The enterprise's own row: its diversion date is what new workers without one take.
        if Enterprise.history.filter(id=job.enterprise_id, **recent).exists():
            return True
        # A placement's history leaves its enterprise out: its worker's tells (a deleted
        # worker's placements go with a history row of the worker's own, found above).
        workers = Worker.objects.filter(enterprise_id=job.enterprise_id).values("pk")
        return Placement.history.filter(worker_id__in=workers, **recent).exists()

    def import_history_visible(self, request, jobs):
        """An enterprise's imports to everyone who may see the enterprise."""
        return jobs.filter(enterprise__in=Enterprise.objects.visible_to(request.user))

    def export_job_downloaded(self, request, job) -> None:
        """A worker export made in the background is written to the access log when its owner
        downloads it, as the direct export is when it is made."""
        access_log_record(
            user=request.user,
            action=AccessLog.Action.EXPORT,
            target="placement.worker:roster-export",
            rows=job.rows_done,
            # As the file was written (the download is refused where the user's rights differ).
            full_numbers=job.options["access"]["full"],
            request=request,
        )

    def export_access(self, user) -> dict:
        """Also whether the file holds full ID numbers and phones."""
        return {**super().export_access(user), "full": can_see_full_id(user)}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {"full_id_numbers": can_see_full_id(request.user)}

    def get_data_for_export(self, request, queryset, **kwargs):
        """The export's rows; every worker export is written to the access log."""
        data = super().get_data_for_export(request, queryset, **kwargs)
        access_log_record(
            user=request.user,
            action=AccessLog.Action.EXPORT,
            target="placement.worker:roster-export",
            rows=len(data),
            full_numbers=can_see_full_id(request.user),
            request=request,
        )
        return data


class TargetImportExportMixin(SpreadsheetImportExportMixin):
    resource_classes = [AnnualTargetResource]
    template_title = _("年度目标任务")

    def import_service(self, *, user, data, filename, dry_run, progress=None, request=None):
        return target_import(
            data=data, filename=filename, dry_run=dry_run, user=user, progress=progress
        )
