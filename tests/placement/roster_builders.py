import io

from openpyxl import Workbook

from access.actors import SYSTEM
from placement.imports import roster_import

HEAD = [
    "序号",
    "姓名",
    "身份证号",
    "性别",
    "出生年月",
    "身份",
    "工种",
    "特殊工种",
    "参加工作时间",
    "手机号码",
    "安置渠道",
    "安置日期",
    "就业单位",
    "分流时间",
]


def book(rows, *, title=True, formats=None, merge=True):
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append(["XX煤业有限公司分流职工花名册"])
        ws.append(["填报单位：XX煤业有限公司  填报日期：2017年6月30日"])
        if merge:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEAD))
            ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(HEAD))
    for r in rows:
        ws.append(r)
    for cell, fmt in (formats or {}).items():
        ws[cell].number_format = fmt
    b = io.BytesIO()
    wb.save(b)
    return b.getvalue()


def r(
    n,
    number,
    name="王某",
    sex="男",
    birth=None,
    status="工人",
    post="采煤工",
    special="否",
    hire=None,
    phone=None,
    channel=None,
    placed=None,
    unit=None,
    diverted=None,
):
    return [
        n,
        name,
        number,
        sex,
        birth,
        status,
        post,
        special,
        hire,
        phone,
        channel,
        placed,
        unit,
        diverted,
    ]


def run(enterprise, data, user=SYSTEM, filename="roster.xlsx", **kw):
    return roster_import(data=data, filename=filename, enterprise=enterprise, user=user, **kw)


def errs(res):
    return [(e.row, e.column, e.message) for e in res.errors]
