"""`manage.py cleanup_imports`: delete uploads whose preview was never confirmed and has expired.

Each new upload does the same; run this from cron (every hour, say) so that an abandoned roster
does not wait for the next upload.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from spreadsheets.uploads import uploads_expired_remove


class Command(BaseCommand):
    help = "删除超过 LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES 仍未确认的导入上传文件"

    def handle(self, *args, **options):
        try:
            count = uploads_expired_remove()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"removed {count} expired uploads")
