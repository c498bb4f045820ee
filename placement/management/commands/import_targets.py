"""`manage.py import_targets FILE [--dry-run] [--json]`."""

from placement.imports import target_import
from spreadsheets.commands import ImportCommand


class Command(ImportCommand):
    help = "Import annual targets from a spreadsheet, keyed on (year, region or enterprise)."
    permission = "placement.add_annualtarget"

    def run(self, *, data, filename, dry_run, progress, options):
        return target_import(
            data=data,
            filename=filename,
            dry_run=dry_run,
            progress=progress,
            user=options["user"],
        )
