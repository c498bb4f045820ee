"""Print a placement report (the dashboard's figures) as a table or as JSON."""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise, Region
from enterprises.querysets import command_user
from reports import rates
from reports.forms import AS_OF_AFTER_YEAR, after_year
from reports.selectors import Figures, Scope, placement_report, report_as_of

UNKNOWN_REGION = _("没有行政区划代码为 %(code)s 的地区")
UNKNOWN_ENTERPRISE = _("没有统一社会信用代码为 %(code)s 的企业")


def shares_json(rows) -> list[dict]:
    return [
        {"code": r.code, "name": r.name, "placed": r.placed, "share": rates.as_json(r.share)}
        for r in rows
    ]


def figures_json(figures: Figures) -> dict:
    """One report line as JSON: counts as integers, rates as strings ("99.97") or null."""
    return {
        "key": figures.key,
        "name": figures.name,
        "to_place": figures.to_place,
        "placed": figures.placed,
        "pending": figures.pending,
        "placement_rate": rates.as_json(figures.placement_rate),
        "placed_in_year": figures.placed_in_year,
        "target": figures.target,
        "target_completion": rates.as_json(figures.target_completion),
        "channels": shares_json(figures.channel_rows()),
        "categories": shares_json(figures.category_rows()),
    }


def report_json(report) -> dict:
    """The whole report as one JSON object."""
    data = {
        "scope": report.scope.name,
        "year": report.year,
        "as_of": report.as_of.isoformat(),
        "industry": report.industry,
        **figures_json(report.totals),
        "elapsed_share": rates.as_json(report.elapsed_share),
    }
    data["relations"] = shares_json(report.relations)
    data["children"] = [figures_json(child) for child in report.children]
    return data


class Command(BaseCommand):
    help = "按年度输出安置率、任务完成率和序时进度（省、市、县或企业）"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument(
            "--as-of",
            dest="as_of",
            type=datetime.date.fromisoformat,
            help="截至日期（默认：往年为 12 月 31 日，当年为今天）",
        )
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--region", help="行政区划代码（默认全省）")
        scope.add_argument("--enterprise", help="统一社会信用代码（企业或集团）")
        parser.add_argument("--industry", choices=["coal", "steel"])
        parser.add_argument("--json", action="store_true", help="输出 JSON")
        parser.add_argument(
            "--user", help="以该用户身份运行：只能查看其权限范围内的地区或企业（默认不限）"
        )

    def handle(self, *args, year, as_of, region, enterprise, industry, json, user, **options):
        if as_of and after_year(as_of, year):
            # As the pages refuse it: a year's report ends with the year.
            raise CommandError(str(AS_OF_AFTER_YEAR % {"year": year}))
        as_of = as_of or report_as_of(year=year)
        user = command_user(user)
        # The same rule as the pages: a scope outside the user's is "not found".
        enterprises = Enterprise.objects.visible_to(user)
        regions = Region.objects.visible_to(user)
        if enterprise:
            found = enterprises.filter(credit_code=enterprise.strip().upper()).first()
            if found is None:
                raise CommandError(UNKNOWN_ENTERPRISE % {"code": enterprise})
            scope = Scope(enterprise=found)
        else:
            found = (
                regions.filter(code=region).first()
                if region
                else regions.filter(level=Region.Level.PROVINCE).order_by("code").first()
            )
            if found is None:
                raise CommandError(UNKNOWN_REGION % {"code": region})
            scope = Scope(region=found)
        report = placement_report(scope=scope, year=year, as_of=as_of, industry=industry, user=user)
        if json:
            self.stdout.write(_dumps(report_json(report)))
        else:
            self._table(report)

    def _table(self, report):
        t = report.totals
        self.stdout.write(
            f"{report.scope.name}  {report.year}  截至 {report.as_of.isoformat()}"
            + (f"  行业 {report.industry}" if report.industry else "")
        )
        self.stdout.write(
            f"需安置 {t.to_place}  已安置 {t.placed}  安置率 {rates.as_text(t.placement_rate)}%  "
            f"年内安置 {t.placed_in_year}  目标 {t.target if t.target is not None else '—'}  "
            f"完成率 {rates.as_text(t.target_completion)}%  "
            f"序时进度 {rates.as_text(report.elapsed_share)}%"
        )
        header = ("名称", "需安置", "已安置", "待安置", "安置率%", "年内安置", "目标", "完成率%")
        lines = [header] + [
            (
                c.name,
                c.to_place,
                c.placed,
                c.pending,
                rates.as_text(c.placement_rate),
                c.placed_in_year,
                "—" if c.target is None else c.target,
                rates.as_text(c.target_completion),
            )
            for c in report.children
        ]
        for line in lines:
            name, *numbers = (str(v) for v in line)
            self.stdout.write(f"{name:<20}" + "".join(f"{n:>10}" for n in numbers))
        self.stdout.write("")
        for row in report.channels:
            self.stdout.write(f"{row.name:<12}{row.placed:>10}{rates.as_text(row.share):>8}%")


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
