"""Admin import and export of enterprises."""

from django.utils.translation import gettext_lazy as _

from spreadsheets.admin import SpreadsheetImportExportMixin

from .imports import enterprise_import
from .resources import EnterpriseResource


class EnterpriseImportExportMixin(SpreadsheetImportExportMixin):
    resource_classes = [EnterpriseResource]
    template_title = _("企业")

    def import_service(self, *, user, data, filename, dry_run, progress=None, request=None):
        return enterprise_import(
            data=data, filename=filename, dry_run=dry_run, user=user, progress=progress
        )
