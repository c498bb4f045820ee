"""Report pages: parse the scope and filters, call the selectors, render. No counting here."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise, Region
from enterprises.querysets import sees_everything, user_scope
from placement.access import access_log_record
from placement.channels import Channel
from placement.models import AccessLog

from . import charts, exports, rates
from .cache import placement_report_cached
from .forms import ReportFilterForm
from .returns.views import published_panel
from .selectors import Scope, placement_report, report_default_year, worker_list

NO_REPORT_SCOPE = _("您的账号尚未分配管辖地区或企业，请联系系统管理员")
WORKERS_PER_PAGE = 50


def _filters(request) -> tuple[ReportFilterForm, dict]:
    today = timezone.localdate()
    form = ReportFilterForm(request.GET or None)
    default_year = None
    if not (form.is_valid() and form.cleaned_data.get("year")):
        default_year = report_default_year(today=today)
    return form, form.resolved(default_year=default_year, today=today)


def _query(filters: dict) -> str:
    """The filters as a query string, so links and exports keep them."""
    params = {"year": filters["year"], "as_of": filters["as_of"].isoformat()}
    if filters["industry"]:
        params["industry"] = filters["industry"]
    return urlencode(params)


def _region(request, code) -> Region:
    return get_object_or_404(Region.objects.visible_to(request.user), code=code)


def _enterprise(request, pk) -> Enterprise:
    return get_object_or_404(
        Enterprise.objects.visible_to(request.user).select_related("region", "parent"), pk=pk
    )


@login_required
def home(request):
    """Send the user to the dashboard of their own scope, keeping any filters."""
    scope = user_scope(request.user)
    query = ("?" + request.GET.urlencode()) if request.GET else ""
    if sees_everything(request.user):
        provinces = list(Region.objects.filter(level=Region.Level.PROVINCE).order_by("code")[:2])
        if not provinces:
            raise Http404
        if len(provinces) > 1:
            return redirect(reverse("reports:national") + query)
        return redirect(reverse("reports:region", args=[provinces[0].code]) + query)
    if scope is not None and scope.enterprise_id:
        return redirect(reverse("reports:enterprise", args=[scope.enterprise_id]) + query)
    if scope is not None and scope.region_id:
        return redirect(reverse("reports:region", args=[scope.region.code]) + query)
    raise PermissionDenied(NO_REPORT_SCOPE)


def _breadcrumbs(scope: Scope, user) -> list[tuple[str, str | None]]:
    """Links up the tree to the regions the user may see (one query)."""
    if scope.national:
        return [(scope.name, None)]
    region = scope.region or scope.enterprise.region
    codes = [region.code[:2] + "0000", region.code[:4] + "00", region.code]
    visible = {
        r.code: r for r in Region.objects.visible_to(user).filter(code__in=codes).order_by("code")
    }
    crumbs = []
    for code in dict.fromkeys(codes):
        if code in visible:
            crumbs.append((visible[code].name, reverse("reports:region", args=[code])))
    if scope.enterprise is not None:
        parent_id = scope.enterprise.parent_id
        # A mine's officer does not see the group: no link that would answer 404.
        if (
            parent_id is not None
            and Enterprise.objects.visible_to(user).filter(pk=parent_id).exists()
        ):
            crumbs.append(
                (
                    scope.enterprise.parent.name,
                    reverse("reports:enterprise", args=[scope.enterprise.parent_id]),
                )
            )
        crumbs.append((scope.enterprise.name, None))
    elif crumbs:
        crumbs[-1] = (crumbs[-1][0], None)
    return crumbs


def _dashboard(request, scope: Scope, export_name: str, export_args: list):
    form, filters = _filters(request)
    # Cached until the ledger changes (reports/cache.py); exports compute afresh.
    report = placement_report_cached(scope=scope, user=request.user, **filters)
    query = _query(filters)
    children = [
        {
            "figures": child,
            "url": (
                reverse(
                    "reports:region" if child.kind == "region" else "reports:enterprise",
                    args=[child.key],
                )
                + "?"
                + query
                if child.kind
                else None
            ),
        }
        for child in report.children
    ]
    context = {
        "form": form,
        "filters": filters,
        "query": query,
        "report": report,
        "totals": report.totals,
        "children": children,
        "crumbs": _breadcrumbs(scope, request.user),
        "channel_chart": charts.channel_bars(report.channels, title=_("各安置渠道已安置人数")),
        "month_chart": charts.cumulative_line(
            report.months,
            year=report.year,
            target=report.totals.target,
            title=_("年内累计安置与年度目标"),
        ),
        "exports": {
            table: reverse(export_name, args=[*export_args, table]) + "?" + query
            for table in exports.TABLES
        },
        "workers_url": (
            reverse("reports:workers", args=[scope.enterprise.pk]) + "?" + query
            if scope.enterprise is not None
            else None
        ),
        "industry_label": dict(Enterprise.Industry.choices).get(filters["industry"]),
        # One enterprise without members: its own row is the whole table, and it lags behind
        # no one; an industry filter has nothing to choose among.
        "single_enterprise": scope.enterprise is not None
        and bool(report.children)  # a group with no member of the industry chosen: not one
        and all(child.key == str(scope.enterprise.pk) for child in report.children),
        "behind": (
            report.totals.target_completion is not None
            and report.totals.target_completion < report.elapsed_share
        ),
        # A past month's approved return beside these live figures (reports/returns).
        "published_panel": published_panel(
            scope=scope, filters=filters, report=report, user=request.user
        ),
    }
    return render(request, "reports/dashboard.html", context)


@login_required
def region_dashboard(request, code):
    """The dashboard of a province, city or county: every figure of its whole subtree."""
    region = _region(request, code)
    return _dashboard(request, Scope(region=region), "reports:region_export", [region.code])


def _national(request) -> Scope:
    """The whole country, for those who see everything; "not found" for anyone else, like a
    region outside their scope."""
    if not sees_everything(request.user):
        raise Http404
    return Scope(national=True)


@login_required
def national_dashboard(request):
    """The national dashboard: every province's figures (when the ledger holds several)."""
    return _dashboard(request, _national(request), "reports:national_export", [])


@login_required
def national_export(request, table):
    """One table of the national dashboard as .xlsx."""
    return _export(request, _national(request), table)


@login_required
def enterprise_dashboard(request, pk):
    """The dashboard of an enterprise, or of a group with its member enterprises."""
    enterprise = _enterprise(request, pk)
    return _dashboard(request, Scope(enterprise=enterprise), "reports:enterprise_export", [pk])


def _export(request, scope: Scope, table: str):
    if table not in exports.TABLES:
        raise Http404
    _form, filters = _filters(request)
    report = placement_report(scope=scope, user=request.user, **filters)
    sections = exports.report_table(report, table)
    industry = dict(Enterprise.Industry.choices).get(filters["industry"])
    title = exports.report_title(
        scope_name=scope.name, year=report.year, as_of=report.as_of, industry_label=industry
    )
    response = HttpResponse(
        exports.xlsx_bytes(sections=sections, title=title, sheet_name=exports.SHEET_NAMES[table]),
        content_type=exports.XLSX_CONTENT_TYPE,
    )
    # An ASCII file name: the scope is in the title row; names stay out of headers and logs.
    filename = f"placement-{scope.key}-{report.year}-{report.as_of:%Y%m%d}-{table}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def region_export(request, code, table):
    """One table of a region dashboard as .xlsx."""
    return _export(request, Scope(region=_region(request, code)), table)


@login_required
def enterprise_export(request, pk, table):
    """One table of an enterprise dashboard as .xlsx (or its worker list)."""
    enterprise = _enterprise(request, pk)
    if table == "workers":
        return _workers_export(request, enterprise)
    return _export(request, Scope(enterprise=enterprise), table)


def _worker_filters(request):
    form, filters = _filters(request)
    status = request.GET.get("status", "")
    if status not in {"", "pending", "placed", *Channel.values}:
        status = ""
    return form, filters, status


def _workers(request, enterprise, filters, status):
    """The list behind the dashboard's figures, under the same filters: an industry filter that
    is not the enterprise's leaves no one (as the dashboard then counts no one)."""
    workers = worker_list(
        enterprise=enterprise, as_of=filters["as_of"], status=status, user=request.user
    )
    if filters["industry"] and enterprise.industry != filters["industry"]:
        return workers.none()
    return workers


@login_required
def enterprise_workers(request, pk):
    """The enterprise's workers at the as-of date: pending, placed, or by channel; paginated."""
    enterprise = _enterprise(request, pk)
    form, filters, status = _worker_filters(request)
    workers = _workers(request, enterprise, filters, status)
    page = Paginator(workers, WORKERS_PER_PAGE).get_page(request.GET.get("page"))
    query = _query(filters)
    status_choices = [
        ("", _("全部")),
        ("pending", _("待安置")),
        ("placed", _("已安置")),
        *Channel.choices,
    ]
    context = {
        "form": form,
        "filters": filters,
        "query": query,
        "status": status,
        "status_links": [
            (
                code,
                label,
                "?" + query + (("&" + urlencode({"status": code})) if code else ""),
            )
            for code, label in status_choices
        ],
        "page": page,
        "enterprise": enterprise,
        "crumbs": _breadcrumbs(Scope(enterprise=enterprise), request.user),
        "dashboard_url": reverse("reports:enterprise", args=[pk]) + "?" + query,
        "export_url": reverse("reports:enterprise_export", args=[pk, "workers"])
        + "?"
        + query
        + (("&" + urlencode({"status": status})) if status else ""),
        "page_query": query + (("&" + urlencode({"status": status})) if status else ""),
        "missing": rates.MISSING,
    }
    return render(request, "reports/workers.html", context)


def _workers_export(request, enterprise: Enterprise):
    _form, filters, status = _worker_filters(request)
    workers = _workers(request, enterprise, filters, status)
    title = exports.report_title(
        scope_name=enterprise.name, year=filters["year"], as_of=filters["as_of"]
    )
    rows = list(workers)
    # Names and masked numbers of real people leave the system: the access log says who took them.
    access_log_record(
        user=request.user,
        action=AccessLog.Action.EXPORT,
        target=f"reports.workers:enterprise-{enterprise.pk}",
        rows=len(rows),
        full_numbers=False,
        request=request,
    )
    response = HttpResponse(
        exports.xlsx_bytes(
            sections=[(exports.WorkerResource(), rows)],
            title=title,
            sheet_name=exports.SHEET_NAMES["workers"],
        ),
        content_type=exports.XLSX_CONTENT_TYPE,
    )
    filename = f"placement-enterprise-{enterprise.pk}-workers-{filters['as_of']:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
