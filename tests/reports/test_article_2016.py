"""The source article's 2016 figure, from rosters as enterprises keep them: three rosters of coal
mines hold 21,012 workers diverted in 2016, 21,006 of them placed during the year. Imported
through the real command with the roster's diversion date, the province reads 99.97%; the same
files without the date column can only count workers from the import day (the six still waiting
vanish from 2016), and the preview says so before anything is written."""

import csv
import datetime
import functools
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from enterprises.models import Enterprise, Region
from placement import idnumbers
from placement.demo import credit_code
from placement.models import DiversionSource, Worker

# (county, roster header of the diversion date, the date as written, what it means, format)
ROSTERS = [
    ("140105", "分流时间", "2016-01-01", datetime.date(2016, 1, 1), "csv"),
    ("140213", "分流年月", "2016.03", datetime.date(2016, 3, 1), "xlsx"),
    ("140525", "列入安置名单时间", datetime.date(2016, 2, 15), datetime.date(2016, 2, 15), "xlsx"),
]
PER_ROSTER = 7_004  # 3 × 7,004 = 21,012
PENDING_PER_ROSTER = 2  # 6 not yet placed
CHANNELS = ["内部安置", "培训转岗", "转移就业", "自主择业", "灵活就业", "公益性岗位托底安置"]
AS_OF = "2016-12-31"


@functools.cache
def _rows(index: int) -> tuple[tuple, ...]:
    """One roster's rows (name, ID number, channel, placement date), the first two unplaced."""
    county, _header, _written, diverted, _format = ROSTERS[index]
    rows = []
    for i in range(PER_ROSTER):
        birth = datetime.date(1966, 1, 1) + datetime.timedelta(days=i // 400)
        number = idnumbers.with_check_digit(f"{county}{birth:%Y%m%d}{i % 400 * 2 + 1:03d}")
        if i < PENDING_PER_ROSTER:
            rows.append((f"待安置{index}{i:05d}", number, "", ""))
            continue
        placed = diverted + datetime.timedelta(
            days=i % (datetime.date(2016, 12, 31) - diverted).days
        )
        rows.append(
            (f"样例{index}{i:05d}", number, CHANNELS[i % len(CHANNELS)], placed.isoformat())
        )
    return tuple(rows)


def _roster(index: int, *, with_dates: bool) -> tuple[str, bytes]:
    """The roster as a file (name, bytes) in the format the table gives, built in memory."""
    _county, header, written, _diverted, file_format = ROSTERS[index]
    headers = [
        "序号",
        "姓名",
        "身份证号码",
        *([header] if with_dates else []),
        "安置方式",
        "安置时间",
    ]
    lines = [
        [n, name, number, *([written] if with_dates else []), channel, placed]
        for n, (name, number, channel, placed) in enumerate(_rows(index), start=1)
    ]
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        writer.writerows(lines)
        return "roster.csv", buffer.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    sheet.append(["分流职工花名册"])
    sheet.append(headers)
    for line in lines:
        sheet.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return "roster.xlsx", buffer.getvalue()


@pytest.fixture
def mines(db):
    return [
        Enterprise.objects.create(
            name=f"样例煤矿{index}",
            credit_code=credit_code(county, 800_000 + index),
            industry=Enterprise.Industry.COAL,
            region=Region.objects.get(code=county),
        )
        for index, (county, *_rest) in enumerate(ROSTERS)
    ]


def _import(tmp_path, mine, index, *, with_dates: bool, dry_run: bool = False) -> dict:
    name, data = _roster(index, with_dates=with_dates)
    path = tmp_path / f"{index}-{name}"
    path.write_bytes(data)
    out = io.StringIO()
    args = ["--enterprise", mine.credit_code, "--json", *(["--dry-run"] if dry_run else [])]
    call_command("import_roster", str(path), *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def _report() -> dict:
    out = io.StringIO()
    call_command("placement_report", "--year", "2016", "--as-of", AS_OF, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_rosters_with_their_diversion_dates_give_the_articles_99_97_percent(mines, tmp_path):
    for index, mine in enumerate(mines):
        answer = _import(tmp_path, mine, index, with_dates=True)
        assert (answer["created"], answer["errors"], answer["unused_columns"]) == (
            PER_ROSTER,
            [],
            [],
        )
        _county, header, _written, diverted, _format = ROSTERS[index]
        assert answer["notes"] == [
            f"{PER_ROSTER} 名职工自 {diverted.isoformat()} 起计入需安置人数"
            f"（依据花名册的“{header}”列）"
        ]

    report = _report()

    assert (report["to_place"], report["placed"], report["pending"]) == (21_012, 21_006, 6)
    assert report["placement_rate"] == "99.97"
    assert report["placed_in_year"] == 21_006
    by_city = {child["key"]: child for child in report["children"]}
    assert (by_city["140100"]["to_place"], by_city["140100"]["pending"]) == (7_004, 2)
    waiting = Worker.objects.filter(name__startswith="待安置")
    assert set(waiting.values_list("registered_on_source", flat=True)) == {DiversionSource.ROSTER}


def test_the_same_rosters_without_the_date_column_count_from_the_import_day(mines, tmp_path):
    preview = _import(tmp_path, mines[0], 0, with_dates=False, dry_run=True)
    assert Worker.objects.count() == 0
    assert preview["notes"][0] == (
        f"{PER_ROSTER} 名职工没有分流时间（文件没有分流时间列，"
        "企业也没有填写分流安置方案实施日期），"
        f"自导入之日 {timezone.localdate().isoformat()} 起计入需安置人数"
    )
    assert preview["notes"][1].startswith(f"其中 {PER_ROSTER - PENDING_PER_ROSTER} 名已安置的职工")
    for index, mine in enumerate(mines):
        assert _import(tmp_path, mine, index, with_dates=False)["created"] == PER_ROSTER

    report = _report()

    # The six still waiting count only from today: 2016 reads 21,006 of 21,006.
    assert (report["to_place"], report["placed"], report["pending"]) == (21_006, 21_006, 0)
    assert report["placement_rate"] == "100.00"
