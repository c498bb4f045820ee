"""`manage.py cleanup_imports`: remove uploads whose preview was never confirmed and has expired,
and exported files past their day; put back on the queue the jobs of workers that died. Run it
from cron (hourly)."""

from django.core.management.base import BaseCommand

from jobs.services import jobs_expire, jobs_recover


class Command(BaseCommand):
    help = "Remove expired uploads and exports; retry jobs whose worker died."

    def handle(self, *args, **options):
        imports, exports = jobs_expire()
        recovered = jobs_recover()
        self.stdout.write(
            f"removed {imports} expired uploads and {exports} expired exports; "
            f"{recovered} jobs put back on the queue"
        )
