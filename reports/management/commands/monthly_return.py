"""A region's monthly return on the command line: show it, or generate, submit or approve it as a
user, with the same permissions as the pages."""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from access.actors import is_system
from enterprises.models import Region
from enterprises.querysets import command_user
from reports import rates
from reports.management.commands.placement_report import UNKNOWN_REGION, figures_json
from reports.returns import services
from reports.returns.models import MonthlyReturn
from reports.returns.selectors import parse_period, return_figures

SOURCE = "command:monthly_return"
PERIOD_INVALID = _("报告期应为“年-月”，如 2017-06")
ACTION_NEEDS_USER = _("生成、上报和审核须用 --user 指明操作人（操作记录须写明是谁）")
NO_RETURN = _("%(region)s %(period)s 尚无月报")


def return_json(monthly_return: MonthlyReturn) -> dict:
    """The return as one JSON object: header fields, state, totals, lines and state changes."""
    return {
        "id": monthly_return.pk,
        "region": monthly_return.region.code,
        "period": f"{monthly_return.period:%Y-%m}",
        "as_of": monthly_return.as_of.isoformat(),
        "revision": monthly_return.revision,
        "status": monthly_return.status,
        "form_number": monthly_return.form_number,
        "issuing_office": monthly_return.issuing_office,
        "reporting_unit": monthly_return.reporting_unit,
        "person_in_charge": monthly_return.person_in_charge,
        "preparer": monthly_return.preparer,
        "reported_on": (
            monthly_return.reported_on.isoformat() if monthly_return.reported_on else None
        ),
        **figures_json(return_figures(monthly_return)),
        "lines": [figures_json(return_figures(line)) for line in monthly_return.lines.all()],
        "events": [
            {
                "action": e.action,
                "user": e.username,
                "at": e.at.isoformat(),
                "reason": e.reason,
            }
            for e in monthly_return.events.all()
        ],
    }


class Command(BaseCommand):
    help = "地区月报：查看，或以某用户身份生成、上报、审核（权限与页面相同）"

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="报告期，如 2017-06")
        parser.add_argument("--region", required=True, help="行政区划代码")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--generate", action="store_true", help="生成（或重新生成）本级月报")
        action.add_argument("--submit", action="store_true", help="上报")
        action.add_argument("--approve", action="store_true", help="审核通过")
        parser.add_argument("--user", help="操作人（生成、上报、审核时必填；查看时只看其范围）")
        parser.add_argument("--json", action="store_true", help="输出 JSON")

    def handle(self, *args, period, region, generate, submit, approve, user, json, **options):
        period = parse_period(period)
        if period is None:
            raise CommandError(PERIOD_INVALID)
        user = command_user(user)
        if (generate or submit or approve) and is_system(user):
            raise CommandError(ACTION_NEEDS_USER)
        regions = Region.objects.all() if is_system(user) else Region.objects.visible_to(user)
        found = regions.filter(code=region).first()
        if found is None:
            raise CommandError(UNKNOWN_REGION % {"code": region})
        returns = (
            MonthlyReturn.objects.all()
            if is_system(user)
            else MonthlyReturn.objects.visible_to(user)
        )
        try:
            if generate:
                services.return_generate(region=found, period=period, user=user, source=SOURCE)
            current = returns.current().filter(region=found, period=period).first()
            if (submit or approve) and current is None:
                raise CommandError(NO_RETURN % {"region": found.name, "period": f"{period:%Y-%m}"})
            if submit:
                services.return_submit(monthly_return=current, user=user, source=SOURCE)
            if approve:
                services.return_approve(monthly_return=current, user=user, source=SOURCE)
        except PermissionDenied as error:
            raise CommandError(str(error) or services.NOT_ALLOWED) from None
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from None
        current = returns.current().filter(region=found, period=period).first() or (
            returns.filter(region=found, period=period).order_by("-revision").first()
        )
        if current is None:
            raise CommandError(NO_RETURN % {"region": found.name, "period": f"{period:%Y-%m}"})
        if json:
            self.stdout.write(_dumps(return_json(current)))
        else:
            self._text(current)

    def _text(self, ret):
        figures = return_figures(ret)
        self.stdout.write(
            f"{ret.reporting_unit}  {ret.period:%Y-%m}  第 {ret.revision} 版  "
            f"{ret.get_status_display()}  表号 {ret.form_number}"
        )
        self.stdout.write(
            f"需安置 {figures.to_place}  已安置 {figures.placed}  "
            f"安置率 {rates.as_text(figures.placement_rate)}%  年内安置 {figures.placed_in_year}  "
            f"目标 {rates.as_text(figures.target)}  "
            f"完成率 {rates.as_text(figures.target_completion)}%"
        )
        for event in ret.events.all():
            self.stdout.write(
                f"  {event.at:%Y-%m-%d %H:%M} {event.get_action_display()} {event.username}"
                + (f"：{event.reason}" if event.reason else "")
            )


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
