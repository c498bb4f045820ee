"""Report tables as .xlsx, built with django-import-export resources (non-model, declared fields)
from the same selector output the pages show, with a title row above the header.

Every text cell, the title and the headers included, goes through the ledger's one formula rule
(spreadsheets.formulas): an enterprise or worker name is typed by users.
"""

import datetime
import io

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets
from import_export.formats.base_formats import XLSX
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from placement.channels import Channel
from spreadsheets.formulas import escape_formula

from . import rates

XLSX_CONTENT_TYPE = XLSX.CONTENT_TYPE
TABLES = ("children", "channels", "categories", "stragglers")

_COUNT = widgets.IntegerWidget(coerce_to_string=False)


def _rate(value):
    """A rate cell: the rounded Decimal the page shows, or "—"."""
    return rates.MISSING if value is None else value


class FiguresResource(resources.Resource):
    """One line per child region or enterprise, with the dashboard's figures."""

    name = fields.Field(attribute="name", column_name=gettext_lazy("名称"))
    to_place = fields.Field(attribute="to_place", column_name=gettext_lazy("需安置"), widget=_COUNT)
    placed = fields.Field(attribute="placed", column_name=gettext_lazy("已安置"), widget=_COUNT)
    pending = fields.Field(attribute="pending", column_name=gettext_lazy("待安置"), widget=_COUNT)
    placement_rate = fields.Field(column_name=gettext_lazy("安置率（%）"))
    placed_in_year = fields.Field(
        attribute="placed_in_year", column_name=gettext_lazy("年内安置"), widget=_COUNT
    )
    target = fields.Field(column_name=gettext_lazy("年度目标"))
    target_completion = fields.Field(column_name=gettext_lazy("任务完成率（%）"))

    def dehydrate_placement_rate(self, figures):
        return _rate(figures.placement_rate)

    def dehydrate_target(self, figures):
        return rates.MISSING if figures.target is None else figures.target

    def dehydrate_target_completion(self, figures):
        return _rate(figures.target_completion)


class ShareResource(resources.Resource):
    """One line per channel or category: placed and share of all placed."""

    name = fields.Field(attribute="name", column_name=gettext_lazy("安置渠道"))
    placed = fields.Field(attribute="placed", column_name=gettext_lazy("已安置"), widget=_COUNT)
    share = fields.Field(column_name=gettext_lazy("构成（%）"))

    def dehydrate_share(self, row):
        return _rate(row.share)


class CategoryResource(ShareResource):
    name = fields.Field(attribute="name", column_name=gettext_lazy("类别（四个一批）"))


class RelationResource(ShareResource):
    name = fields.Field(attribute="name", column_name=gettext_lazy("劳动关系"))


class WorkerResource(resources.Resource):
    """The drill-down list of an enterprise's workers: ID numbers masked, birth year only."""

    name = fields.Field(attribute="name", column_name=gettext_lazy("姓名"))
    id_number = fields.Field(attribute="id_number_masked", column_name=gettext_lazy("公民身份号码"))
    sex = fields.Field(column_name=gettext_lazy("性别"))
    birth_year = fields.Field(column_name=gettext_lazy("出生年份"))
    post = fields.Field(attribute="post", column_name=gettext_lazy("岗位（工种）"))
    status = fields.Field(column_name=gettext_lazy("安置状态"))
    placed_on = fields.Field(
        attribute="current_placed_on",
        column_name=gettext_lazy("安置日期"),
        widget=widgets.DateWidget(coerce_to_string=False),
    )

    def dehydrate_sex(self, worker):
        return worker.get_sex_display()

    def dehydrate_birth_year(self, worker):
        return worker.birth_date.year

    def dehydrate_status(self, worker):
        if worker.current_channel:
            return str(Channel(worker.current_channel).label)
        return _("待安置")


def report_title(*, scope_name: str, year: int, as_of: datetime.date, industry_label=None) -> str:
    """The title row: scope, year, as-of date and the time of export."""
    parts = [
        scope_name,
        _("%(year)s年度") % {"year": year},
        _("截至 %(date)s") % {"date": as_of.isoformat()},
    ]
    if industry_label:
        parts.append(str(industry_label))
    parts.append(_("导出时间 %(time)s") % {"time": timezone.localtime().strftime("%Y-%m-%d %H:%M")})
    return "  ".join(parts)


# Each table's sheet tab (tablib's default is "Tablib Dataset"), as the dashboard heads it.
SHEET_NAMES = {
    "children": gettext_lazy("安置情况"),
    "channels": gettext_lazy("安置渠道构成"),
    "categories": gettext_lazy("类别与劳动关系"),
    "stragglers": gettext_lazy("进度靠后的企业"),
    "workers": gettext_lazy("职工安置名单"),
}


def xlsx_bytes(*, sections, title: str, sheet_name: str) -> bytes:
    """Each section's rows exported through its resource ([(resource, rows), …]: a table, or
    two that the page shows together), below a title row, a blank row between sections, as
    .xlsx bytes. Written with openpyxl rather than through tablib, for the rates' number
    formats: a rate keeps the decimals the page shows (90.00, not 90)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=str(sheet_name)[:31])
    sheet.append([escape_formula(title)])
    for number, (resource, rows) in enumerate(sections):
        table = resource.export(rows)
        if number:
            sheet.append([])
        sheet.append([escape_formula(str(h)) for h in table.headers])
        for row in table:
            sheet.append([_cell(sheet, escape_formula(value)) for value in row])
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def _cell(sheet, value):
    fmt = rates.number_format(value)
    if fmt is None:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = fmt
    return cell


def report_table(report, table: str) -> list[tuple[resources.Resource, list]]:
    """The sections (resource and rows) of one dashboard table, for `xlsx_bytes`."""
    if table == "children":
        return [(FiguresResource(), [report.totals, *report.children])]
    if table == "channels":
        return [(ShareResource(), report.channels)]
    if table == "categories":
        # As the dashboard's panel: the four categories, then the labour relations (kept, kept
        # in internal retirement, ended), whose sum is the placed.
        return [(CategoryResource(), report.categories), (RelationResource(), report.relations)]
    if table == "stragglers":
        return [(FiguresResource(), report.stragglers)]
    raise KeyError(table)
