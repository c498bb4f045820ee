"""The shared shape of the `import_*` management commands: read the file, call the import service,
print a summary (or one JSON object with --json), exit 0 when imported or a clean dry run, 1 when
refused. Progress goes to stderr so that stdout stays parseable."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from enterprises.querysets import command_user

from .results import UNUSED_COLUMNS


class ImportCommand(BaseCommand):
    """Subclasses set `help`, `permission` (needed with --user) and `import_service` (called
    with data, filename, dry_run, progress and user, returning an ImportResult), or override
    `run` when the service needs more (the roster's enterprise)."""

    import_service = None

    def add_arguments(self, parser):
        parser.add_argument("file", help=".xlsx, .xls or .csv")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--user",
            help="act as this user: their scope and permission apply, and the audit history "
            "names them (without it: the server's operator, who may import anything)",
        )

    def run(self, *, data, filename, dry_run, progress, options):
        return type(self).import_service(
            data=data, filename=filename, dry_run=dry_run, progress=progress, user=options["user"]
        )

    def handle(self, *args, **options):
        options["user"] = command_user(options.get("user"))
        if not options["user"].has_perm(self.permission):
            raise CommandError(f"{options['user'].username} may not import ({self.permission})")
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from None

        def progress(rows):
            self.stderr.write(_("已读取 %(rows)s 行") % {"rows": rows})

        result = self.run(
            data=data,
            filename=path.name,
            dry_run=options["dry_run"],
            progress=progress,
            options=options,
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            for error in result.errors:
                row = error.row if error.row is not None else "-"
                self.stdout.write(f"{row}\t{error.column}\t{error.message}")
            for note in result.notes:
                self.stdout.write(note)
            if result.unused_columns:
                self.stdout.write(UNUSED_COLUMNS % {"columns": "”“".join(result.unused_columns)})
            summary = _("新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s，错误 %(errors)s")
            self.stdout.write(
                summary
                % {
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "errors": len(result.errors),
                }
            )
            if result.refused:
                self.stdout.write(_("文件有错误，未导入任何数据"))
            elif result.dry_run:
                self.stdout.write(_("试运行：未写入数据库"))
            elif not (result.created or result.updated):
                self.stdout.write(_("没有需要导入的变化"))
        if result.refused:
            sys.exit(1)
