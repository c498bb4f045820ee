"""Synthetic rosters (花名册) as files, for the sample under fixtures/rosters/, the tests and the
benchmark. Names are obviously synthetic and ID numbers are made with valid check digits."""

import csv
import datetime
import io
import random

from . import idnumbers, retirement

ROSTER_HEADERS = [
    "序号",
    "姓名",
    "身份证号码",
    "性别",
    "出生年月",
    "身份",
    "岗位",
    "特殊工种",
    "参加工作时间",
    "联系电话",
    "安置方式",
    "安置时间",
    "安置单位",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
# Channels that do not depend on age, for rows that must always be valid.
SAFE_CHANNELS = ["内部安置", "培训转岗", "转移就业", "自主择业", "灵活就业", "公益性岗位托底安置"]
COUNTIES = ["140105", "140106", "140202", "140525", "140702", "141002", "140181"]


def roster_rows(count: int, *, seed: int = 7, start: int = 1, placed_share: float = 0.8):
    """`count` rows of a valid roster (the ROSTER_HEADERS columns), deterministic for a seed."""
    rng = random.Random(seed)
    rows = []
    used = set()
    for index in range(start, start + count):
        male = rng.random() < 0.8
        while True:
            birth = datetime.date(1962, 1, 1) + datetime.timedelta(days=rng.randrange(11000))
            seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
            number = idnumbers.with_check_digit(f"{rng.choice(COUNTIES)}{birth:%Y%m%d}{seq:03d}")
            if number not in used:
                used.add(number)
                break
        cadre = rng.random() < 0.1
        hired = retirement.add_months(birth, 12 * 19 + rng.randrange(24))
        row = [
            index - start + 1,
            f"{rng.choice(SURNAMES)}样例{index:06d}",
            number,
            "男" if male else "女",
            f"{birth.year}.{birth.month:02d}",
            "干部" if cadre else "工人",
            rng.choice(["采煤工", "掘进工", "机电工", "通风工", "运输工"]),
            "否",
            hired,
            f"139{rng.randrange(10**8):08d}",
            "",
            None,
            "",
        ]
        if rng.random() < placed_share:
            row[10] = rng.choice(SAFE_CHANNELS)
            row[11] = datetime.date(2016, 3, 1) + datetime.timedelta(days=rng.randrange(600))
            row[12] = "样例安置单位"
        rows.append(row)
    return rows


def roster_xlsx(
    rows,
    *,
    headers=ROSTER_HEADERS,
    title_rows=("样例煤业有限公司分流职工花名册", "填报单位：样例煤业  填报日期：2017年6月30日"),
    total_row: bool = True,
) -> bytes:
    """The rows as an .xlsx the way enterprises keep it: title rows, the header, a 合计 row."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    for title in title_rows:
        sheet.append([title])
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    if total_row:
        sheet.append(["合计", f"{len(rows)}人"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def roster_csv(rows, *, headers=ROSTER_HEADERS, encoding="utf-8", title_rows=()) -> bytes:
    """The rows as a CSV file in the given encoding (utf-8, utf-8-sig, gbk, gb18030)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for title in title_rows:
        writer.writerow([title])
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode(encoding)
