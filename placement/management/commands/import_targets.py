"""`manage.py import_targets FILE [--dry-run] [--json]`."""

from placement.imports import target_import
from spreadsheets.commands import ImportCommand


class Command(ImportCommand):
    help = "Import annual targets from a spreadsheet, keyed on (year, region or enterprise)."
    permission = "placement.add_annualtarget"

    import_service = target_import
