"""`manage.py import_enterprises FILE [--dry-run] [--json]`."""

from enterprises.imports import enterprise_import
from spreadsheets.commands import ImportCommand


class Command(ImportCommand):
    help = "Import enterprises and groups from a spreadsheet, keyed on the credit code."
    permission = "enterprises.add_enterprise"

    def run(self, *, data, filename, dry_run, progress, options):
        return enterprise_import(
            data=data,
            filename=filename,
            dry_run=dry_run,
            progress=progress,
            user=options["user"],
        )
