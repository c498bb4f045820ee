"""`manage.py import_enterprises FILE [--dry-run] [--json]`."""

from enterprises.imports import enterprise_import
from spreadsheets.commands import ImportCommand


class Command(ImportCommand):
    help = "Import enterprises and groups from a spreadsheet, keyed on the credit code."
    permission = "enterprises.add_enterprise"

    import_service = enterprise_import
