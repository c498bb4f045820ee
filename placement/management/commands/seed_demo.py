"""Build the demo data set and a demo administrator, and print the administrator's login."""

import secrets
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from placement.demo import demo_build
from placement.models import Worker

DEMO_ADMIN = "demo-admin"


class Command(BaseCommand):
    help = "生成演示数据（虚构的企业、职工、安置记录和年度目标）并创建演示管理员"

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=3000, help="职工人数，默认 3000")
        parser.add_argument("--enterprises", type=int, default=None, help="企业数（默认按人数）")
        parser.add_argument("--seed", type=int, default=2016)
        parser.add_argument(
            "--if-empty", action="store_true", help="已有职工数据时不再生成（make run 用）"
        )

    def handle(self, *args, workers, enterprises, seed, if_empty, **options):
        if if_empty and Worker.objects.exists():
            self.stdout.write("demo data already present: nothing generated")
        else:
            summary = demo_build(
                workers=workers, seed=seed, enterprises=enterprises, progress=self._progress
            )
            self.stdout.write(
                f"demo: {summary.enterprises} enterprises, {summary.workers} workers, "
                f"{summary.placements} placements, {summary.targets} targets"
            )
        password = secrets.token_urlsafe(12)
        user, _created = get_user_model().objects.get_or_create(
            username=DEMO_ADMIN, defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(f"演示管理员 demo administrator: {DEMO_ADMIN} / {password}")
        )

    def _progress(self, done, total):
        if total >= 20000:
            print(f"\r{done}/{total} workers", end="", file=sys.stderr, flush=True)
            if done == total:
                print(file=sys.stderr)
