"""A monthly return as .xlsx in the layout of the statistical form: title, header fields (表号,
制表机关, 填报单位, 报告期), the table with its total, channels and categories, and the signature
block (单位负责人, 填表人, 报出日期). A consolidation (a city or the province) adds one sheet per
child return it sums, after the total's sheet. Text typed by users is escaped like every export
(spreadsheets.formulas.escape_formula)."""

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from spreadsheets.formulas import escape_formula

from .. import rates
from .models import MonthlyReturn
from .selectors import return_figures

COLUMNS = 9
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_SHEET_NAME_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _rate(value):
    return rates.MISSING if value is None else value


def _count(value):
    return rates.MISSING if value is None else value


def _figures_row(position, figures):
    return [
        position,
        escape_formula(figures.name),
        figures.to_place,
        figures.placed,
        figures.pending,
        _rate(figures.placement_rate),
        figures.placed_in_year,
        _count(figures.target),
        _rate(figures.target_completion),
    ]


def _write_form(sheet, monthly_return: MonthlyReturn) -> None:
    status = f"{monthly_return.get_status_display()}（v{monthly_return.revision}）"
    sheet.append([_("职工安置情况月报")])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=COLUMNS)
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([""] * 6 + [_("表号："), escape_formula(monthly_return.form_number)])
    sheet.append([""] * 6 + [_("制表机关："), escape_formula(monthly_return.issuing_office)])
    sheet.append(
        [
            _("填报单位："),
            escape_formula(monthly_return.reporting_unit),
            "",
            "",
            _("报告期："),
            _("%(year)s年%(month)s月")
            % {"year": monthly_return.year, "month": monthly_return.period.month},
            "",
            _("状态："),
            status,
        ]
    )
    header = [
        _("序号"),
        _("名称"),
        _("需安置"),
        _("已安置"),
        _("待安置"),
        _("安置率（%）"),
        _("年内安置"),
        _("年度目标"),
        _("任务完成率（%）"),
    ]
    sheet.append([])
    sheet.append(header)
    table_top = sheet.max_row
    for line in monthly_return.lines.all():
        sheet.append(_figures_row(line.position, return_figures(line)))
    totals = return_figures(monthly_return)
    total_row = _figures_row("", totals)
    total_row[1] = _("合计")
    sheet.append(total_row)
    for row in sheet.iter_rows(min_row=table_top, max_row=sheet.max_row, max_col=COLUMNS):
        for cell in row:
            cell.border = _BOX
    for cell in sheet[table_top]:
        cell.font = Font(bold=True)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)

    sheet.append([])
    sheet.append(
        [
            "",
            _("安置渠道"),
            _("已安置"),
            _("构成（%）"),
            "",
            _("类别（四个一批）"),
            _("已安置"),
            _("构成（%）"),
        ]
    )
    channels = totals.channel_rows()
    categories = totals.category_rows() + [None] + totals.relation_rows()
    for i in range(max(len(channels), len(categories))):
        row = [""]
        channel = channels[i] if i < len(channels) else None
        row += [channel.name, channel.placed, _rate(channel.share)] if channel else ["", "", ""]
        row.append("")
        other = categories[i] if i < len(categories) else None
        row += [other.name, other.placed, _rate(other.share)] if other else ["", "", ""]
        sheet.append(row)

    sheet.append([])
    reported = monthly_return.reported_on.isoformat() if monthly_return.reported_on else ""
    sheet.append(
        [
            _("单位负责人："),
            escape_formula(monthly_return.person_in_charge),
            "",
            _("填表人："),
            escape_formula(monthly_return.preparer),
            "",
            _("报出日期："),
            reported,
        ]
    )
    sheet.append(
        [
            _("截至 %(date)s；导出时间 %(time)s")
            % {
                "date": monthly_return.as_of.isoformat(),
                "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            }
        ]
    )
    for row in sheet.iter_rows():
        for cell in row:
            if fmt := rates.number_format(cell.value):
                cell.number_format = fmt
    widths = [8, 28, 10, 10, 10, 12, 12, 12, 16]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def return_xlsx(*, monthly_return: MonthlyReturn, user) -> bytes:
    """The return's workbook: its own form first, then one sheet per child return it sums."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("合计") if monthly_return.is_consolidation else _sheet_name(monthly_return)
    _write_form(sheet, monthly_return)
    if monthly_return.is_consolidation:
        visible = MonthlyReturn.objects.visible_to(user)
        for line in monthly_return.lines.select_related("source__region"):
            if line.source is None or not visible.filter(pk=line.source_id).exists():
                continue
            _write_form(book.create_sheet(_sheet_name(line.source)), line.source)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def _sheet_name(monthly_return: MonthlyReturn) -> str:
    return monthly_return.region.name.translate(_SHEET_NAME_FORBIDDEN)[:31]
