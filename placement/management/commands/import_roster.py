"""`manage.py import_roster FILE --enterprise CREDIT_CODE [--dry-run] [--json]`."""

from django.core.management.base import CommandError

from enterprises.models import Enterprise
from enterprises.validators import normalize_credit_code
from placement.imports import roster_import
from spreadsheets.commands import ImportCommand


class Command(ImportCommand):
    help = "Import one enterprise's roster (花名册) from a spreadsheet, keyed on the ID number."
    permission = "placement.add_worker"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--enterprise", required=True, help="the enterprise's credit code")

    def run(self, *, data, filename, dry_run, progress, options):
        code = normalize_credit_code(options["enterprise"])
        # An officer imports only into an enterprise they may see, as in the admin.
        enterprises = Enterprise.objects.visible_to(options["user"])
        enterprise = enterprises.filter(credit_code=code).first()
        if enterprise is None:
            raise CommandError(f"No enterprise with credit code {code}")
        return roster_import(
            data=data,
            filename=filename,
            enterprise=enterprise,
            dry_run=dry_run,
            progress=progress,
            user=options["user"],
        )
