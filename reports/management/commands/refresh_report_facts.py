"""Rebuild the report facts from the ledger (after seeding or raw SQL changes)."""

import time

from django.core.management.base import BaseCommand

from reports.facts import report_facts_rebuild


class Command(BaseCommand):
    help = "重建统计报表所用的安置事实表（演示数据生成或直接修改数据库之后使用）"

    def handle(self, *args, **options):
        started = time.perf_counter()
        workers = report_facts_rebuild()
        self.stdout.write(
            f"report facts rebuilt for {workers} workers in {time.perf_counter() - started:.1f} s"
        )
