"""Build the demo data set and one demo account per role, and print their login."""

import secrets
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from database.analyze import database_vacuum
from enterprises.models import Enterprise, Region, UserScope
from placement.demo import demo_build
from placement.models import Worker
from placement.roles import roles_setup, user_role_sync
from reports.facts import fact_months_rebuild

DEMO_ADMIN = "demo-admin"
# About the 1.8 million workers the 2016-2020 programme diverted nationwide.
NATIONAL_WORKERS = 2_000_000


class Command(BaseCommand):
    help = "生成演示数据（虚构的企业、职工、安置记录和年度目标）并创建各角色的演示账号"

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers", type=int, default=None, help="职工人数，默认 3000（--national 时 2000000）"
        )
        parser.add_argument(
            "--national",
            action="store_true",
            help="全国规模：31 个省（区、市）的地区、约 3000 家企业、2016—2020 年",
        )
        parser.add_argument("--enterprises", type=int, default=None, help="企业数（默认按人数）")
        parser.add_argument("--seed", type=int, default=2016)
        parser.add_argument(
            "--if-empty", action="store_true", help="已有职工数据时不再生成（make run 用）"
        )
        parser.add_argument(
            "--address", default="http://127.0.0.1:8000/", help="打印的访问地址（make run 用）"
        )

    def handle(self, *args, workers, enterprises, national, seed, if_empty, address, **options):
        if workers is None:
            workers = NATIONAL_WORKERS if national else 3000
        roles_setup()
        if if_empty and Worker.objects.exists():
            self.stdout.write("demo data already present: nothing generated")
        else:
            summary = demo_build(
                workers=workers,
                seed=seed,
                enterprises=enterprises,
                national=national,
                progress=self._progress,
            )
            self.stdout.write(
                f"demo: {summary.enterprises} enterprises, {summary.workers} workers, "
                f"{summary.placements} placements, {summary.targets} targets"
            )
            # The reports' monthly sums afresh from the facts, one row per key (each batch
            # appended its own: millions of rows that merging would leave behind as dead space).
            fact_months_rebuild()
            # Committed and analysed; now the visibility map too, so that the first reports'
            # index-only scans over millions of facts stay index-only.
            database_vacuum()
        password = secrets.token_urlsafe(12)
        accounts = list(self._demo_accounts())
        for username, scope, _role in accounts:
            self._account(username, scope, password)
        # The last lines before the server starts: where to go and one login per role.
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"打开 Open {address}  演示账号 demo logins:"))
        for username, _scope, role in accounts:
            self.stdout.write(f"  {username + ' / ' + password:<36} {role}")

    def _demo_accounts(self):
        # Shanxi, the source article's province, also when the demo is national.
        provinces = Region.objects.filter(level=Region.Level.PROVINCE)
        province = provinces.filter(code="140000").first() or provinces.first()
        city = Region.objects.filter(code="140100").first()
        mine = Enterprise.objects.filter(parent__isnull=False).order_by("pk").first()
        yield DEMO_ADMIN, None, "管理员 administrator"
        if province:
            yield (
                "demo-province",
                {"role": UserScope.Role.PROVINCE_STAFF, "region": province},
                "省级 province staff",
            )
        if city:
            yield (
                "demo-city",
                {"role": UserScope.Role.REGION_STAFF, "region": city},
                "市级 city staff (太原市)",
            )
        if mine:
            yield (
                "demo-hr",
                {"role": UserScope.Role.ENTERPRISE_HR, "enterprise": mine},
                "企业人事专员 HR officer",
            )

    def _account(self, username, scope, password):
        user, _created = get_user_model().objects.get_or_create(username=username)
        user.is_active = user.is_staff = True
        user.is_superuser = scope is None
        user.set_password(password)
        user.save()
        if scope is not None:
            UserScope.objects.update_or_create(
                user=user, defaults={"region": None, "enterprise": None, **scope}
            )
            user_role_sync(user=user)

    def _progress(self, done, total):
        if total >= 20000:
            print(f"\r{done}/{total} workers", end="", file=sys.stderr, flush=True)
            if done == total:
                print(file=sys.stderr)
