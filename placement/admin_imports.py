"""Admin import and export of rosters and annual targets (issue 3); the views themselves are
enterprises.spreadsheets.admin's, the work is placement.imports'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise
from enterprises.spreadsheets.admin import SpreadsheetImportExportMixin, SpreadsheetImportForm

from .imports import roster_import, target_import
from .resources import AnnualTargetResource, RosterResource

FULL_ID_NUMBER_PERMISSION = "placement.view_full_id_number"


class RosterImportForm(SpreadsheetImportForm):
    """The roster file and the enterprise it belongs to, among those the user may see."""

    enterprise = forms.ModelChoiceField(label=_("所在企业"), queryset=Enterprise.objects.none())

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.fields["enterprise"].queryset = Enterprise.objects.visible_to(request.user)

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

    def import_service(self, request, *, data, filename, dry_run, enterprise):
        return roster_import(
            data=data, filename=filename, enterprise=enterprise, dry_run=dry_run, user=request.user
        )

    def get_export_resource_kwargs(self, request, **kwargs):
        return {"full_id_numbers": request.user.has_perm(FULL_ID_NUMBER_PERMISSION)}


class TargetImportExportMixin(SpreadsheetImportExportMixin):
    resource_classes = [AnnualTargetResource]
    template_title = _("年度目标任务")

    def import_service(self, request, *, data, filename, dry_run):
        return target_import(data=data, filename=filename, dry_run=dry_run, user=request.user)
