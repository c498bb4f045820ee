"""Monthly return pages: a region's returns for a month with their deadlines, one return (its
form, state changes and actions), drill-down to names, published against live, print and .xlsx.
Actions are POSTs that call reports.returns.services; a return the user may not act on in that
way is "not found" for the action."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from enterprises.models import Region
from placement.channels import Channel

from .. import exports as report_exports
from . import exports, services
from .models import MonthlyReturn
from .querysets import regions_for_submit
from .selectors import (
    DRILL_FIGURES,
    parse_period,
    period_as_of,
    published_return,
    return_comparison,
    return_deadlines,
    return_drill_down,
    return_figures,
)

MEMBERS_PER_PAGE = 50
PERIOD_INVALID = _("报告期应为“年-月”，如 2017-06")
GENERATED = _("已生成 %(region)s %(period)s 月报")
DONE = {
    "submit": _("已上报"),
    "approve": _("已审核通过"),
    "send_back": _("已退回"),
    "reopen": _("已重新打开"),
}
FIGURE_LABELS = {
    "to_place": _("需安置"),
    "placed": _("已安置"),
    "pending": _("待安置"),
    "placed_in_year": _("年内安置"),
}


def _source(request) -> str:
    return "page:" + request.path


def _default_period(today: datetime.date) -> datetime.date:
    """The month just ended: the one whose return is being prepared."""
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def _month_shift(period: datetime.date, months: int) -> datetime.date:
    index = period.year * 12 + period.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _visible_return(request, pk) -> MonthlyReturn:
    return get_object_or_404(
        MonthlyReturn.objects.visible_to(request.user).select_related("region"), pk=pk
    )


@login_required
def region_returns(request, code):
    """A region's own return for a month and those of the regions reporting to it, against the
    due date: missing, late, returned, approved."""
    if not request.user.has_perm("reports.view_monthlyreturn"):
        raise Http404
    region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
    today = timezone.localdate()
    period = parse_period(request.GET.get("period", "")) or _default_period(today)
    due, rows = return_deadlines(region=region, period=period, today=today)
    visible = set(
        MonthlyReturn.objects.visible_to(request.user)
        .filter(pk__in=[r.monthly_return.pk for r in rows if r.monthly_return])
        .values_list("pk", flat=True)
    )
    versions = (
        MonthlyReturn.objects.visible_to(request.user)
        .filter(region=region, period=period)
        .order_by("-revision")
    )
    context = {
        "region": region,
        "period": period,
        "due": due,
        "rows": rows,
        "visible": visible,
        "versions": versions,
        "can_generate": regions_for_submit(request.user).filter(pk=region.pk).exists(),
        "previous": _month_shift(period, -1),
        "next": _month_shift(period, 1),
        "dashboard_url": reverse("reports:region", args=[region.code])
        + "?"
        + urlencode({"year": period.year, "as_of": period_as_of(period).isoformat()}),
    }
    return render(request, "reports/returns/region.html", context)


@login_required
@require_POST
def return_generate(request, code):
    """Generate (or generate again) the user's own unit's return for a month."""
    region = get_object_or_404(regions_for_submit(request.user), code=code)
    period = parse_period(request.POST.get("period", ""))
    back = reverse("reports:returns", args=[region.code])
    if period is None:
        messages.error(request, PERIOD_INVALID)
        return redirect(back)
    back += "?" + urlencode({"period": f"{period:%Y-%m}"})
    try:
        monthly_return = services.return_generate(
            region=region,
            period=period,
            user=request.user,
            source=_source(request),
            preparer=request.POST.get("preparer", "").strip()[:50],
            person_in_charge=request.POST.get("person_in_charge", "").strip()[:50],
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(back)
    messages.success(request, GENERATED % {"region": region.name, "period": f"{period:%Y-%m}"})
    return redirect("reports:return_detail", monthly_return.pk)


def _action_queryset(user, action):
    returns = MonthlyReturn.objects
    return {
        "submit": returns.submittable_by,
        "approve": returns.approvable_by,
        "send_back": returns.approvable_by,
        "reopen": returns.reopenable_by,
    }[action](user)


@login_required
@require_POST
def return_action(request, pk, action):
    """Submit, approve, send back or reopen a return (a reason for the last two)."""
    monthly_return = get_object_or_404(_action_queryset(request.user, action), pk=pk)
    arguments = {"monthly_return": monthly_return, "user": request.user, "source": _source(request)}
    if action in ("send_back", "reopen"):
        arguments["reason"] = request.POST.get("reason", "")
    if action == "submit":
        arguments["person_in_charge"] = request.POST.get("person_in_charge", "").strip()[:50]
        arguments["preparer"] = request.POST.get("preparer", "").strip()[:50]
    service = {
        "submit": services.return_submit,
        "approve": services.return_approve,
        "send_back": services.return_send_back,
        "reopen": services.return_reopen,
    }[action]
    try:
        service(**arguments)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, DONE[action])
    return redirect("reports:return_detail", pk)


def _lines(monthly_return, user):
    visible = set(MonthlyReturn.objects.visible_to(user).values_list("pk", flat=True))
    lines = []
    for line in monthly_return.lines.select_related("source"):
        lines.append(
            {
                "line": line,
                "figures": return_figures(line),
                "source_url": (
                    reverse("reports:return_detail", args=[line.source_id])
                    if line.source_id in visible
                    else None
                ),
            }
        )
    return lines


@login_required
def return_detail(request, pk):
    """One return: the form's header, its table, channels, state changes and the actions the
    user may take."""
    monthly_return = _visible_return(request, pk)
    user = request.user
    status = monthly_return.status
    Status = MonthlyReturn.Status
    can = {
        "submit": status in (Status.GENERATED, Status.RETURNED)
        and MonthlyReturn.objects.submittable_by(user).filter(pk=pk).exists(),
        "approve": status == Status.SUBMITTED
        and MonthlyReturn.objects.approvable_by(user).filter(pk=pk).exists(),
        "reopen": status == Status.APPROVED
        and MonthlyReturn.objects.reopenable_by(user).filter(pk=pk).exists(),
    }
    totals = return_figures(monthly_return)
    context = {
        "ret": monthly_return,
        "totals": totals,
        "lines": _lines(monthly_return, user),
        "categories": totals.category_rows(),
        "relations": totals.relation_rows(),
        "channels": totals.channel_rows(),
        "events": monthly_return.events.all(),
        "can": can,
        "can_generate": status in (Status.GENERATED, Status.RETURNED, Status.REOPENED)
        and regions_for_submit(user).filter(pk=monthly_return.region_id).exists(),
        "region_url": reverse("reports:returns", args=[monthly_return.region.code])
        + "?"
        + urlencode({"period": f"{monthly_return.period:%Y-%m}"}),
    }
    return render(request, "reports/returns/detail.html", context)


@login_required
def return_print(request, pk):
    """The return as the printed form: header fields, table and signature block."""
    monthly_return = _visible_return(request, pk)
    totals = return_figures(monthly_return)
    context = {
        "ret": monthly_return,
        "totals": totals,
        "lines": _lines(monthly_return, request.user),
        "categories": totals.category_rows(),
        "relations": totals.relation_rows(),
    }
    return render(request, "reports/returns/print.html", context)


@login_required
def return_workers(request, pk):
    """The names behind one frozen figure of the return (or of one line), as of its date."""
    monthly_return = _visible_return(request, pk)
    figure = request.GET.get("figure", "to_place")
    if figure not in DRILL_FIGURES and figure not in Channel.values:
        figure = "to_place"
    line = None
    position = request.GET.get("line", "")
    if position.isdigit():
        line = get_object_or_404(monthly_return.lines, position=int(position))
    members = return_drill_down(monthly_return=monthly_return, figure=figure, line=line)
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    label = FIGURE_LABELS.get(figure) or Channel(figure).label
    context = {
        "ret": monthly_return,
        "line": line,
        "figure": figure,
        "label": label,
        "page": page,
        "query": urlencode({"figure": figure, **({"line": line.position} if line else {})}),
    }
    return render(request, "reports/returns/workers.html", context)


@login_required
def return_compare(request, pk):
    """The return against the live ledger for the same date: difference and changed workers."""
    monthly_return = _visible_return(request, pk)
    comparison = return_comparison(monthly_return=monthly_return, user=request.user)
    return render(
        request,
        "reports/returns/compare.html",
        {"ret": monthly_return, "comparison": comparison},
    )


@login_required
def return_export(request, pk):
    """The return as .xlsx in the form's layout; a consolidation with a sheet per child."""
    monthly_return = _visible_return(request, pk)
    body = exports.return_xlsx(monthly_return=monthly_return, user=request.user)
    response = HttpResponse(body, content_type=report_exports.XLSX_CONTENT_TYPE)
    filename = (
        f"monthly-return-{monthly_return.region.code}-{monthly_return.period:%Y%m}"
        f"-v{monthly_return.revision}.xlsx"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


PANEL_WORKERS = 10


def published_panel(*, scope, filters: dict, report, user) -> dict | None:
    """For the dashboard of a region as of a month's last day, once the month is over: the
    approved return of that month beside the live figures, or a note that there is none."""
    region = scope.region
    as_of = filters["as_of"]
    if region is None or filters["industry"] or as_of != period_as_of(as_of):
        return None
    if as_of >= timezone.localdate() or not user.has_perm("reports.view_monthlyreturn"):
        return None
    period = as_of.replace(day=1)
    monthly_return = published_return(region=region, period=period)
    if monthly_return is None:
        return {
            "ret": None,
            "returns_url": reverse("reports:returns", args=[region.code])
            + "?"
            + urlencode({"period": f"{period:%Y-%m}"}),
        }
    # The dashboard's own totals where they are the return's year; a dashboard of another year
    # as of that day (allowed: an as-of date before the year) compares the return's own.
    live = report.totals if report.year == monthly_return.year else None
    comparison = return_comparison(monthly_return=monthly_return, user=user, live=live)
    return {
        "ret": monthly_return,
        "comparison": comparison,
        "shown": comparison.changed_workers[:PANEL_WORKERS],
    }
