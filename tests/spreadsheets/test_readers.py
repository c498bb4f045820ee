"""The reader: formats, encodings, header-row detection, skipped rows, cleaned cells, dates, and
the guard rails against oversized, zip-bomb, XML-entity, corrupt and encrypted files."""

import datetime
import io
import re
import threading
import zipfile

import pytest
import xlwt
from openpyxl import Workbook

from spreadsheets.readers import (
    FILE_CORRUPT,
    FILE_ENCRYPTED,
    FILE_TOO_LARGE,
    FILE_UNSAFE_XML,
    HEADER_NOT_FOUND,
    TOO_MANY_ROWS,
    XLSX_TOO_LARGE_UNCOMPRESSED,
    MonthDate,
    ReadError,
    clean_text,
    parse_date,
    read_table,
)

ALIASES = {"name": ["姓名", "name"], "number": ["身份证号码", "身份证号"], "day": ["出生日期"]}
REQUIRED = ["name", "number"]


def xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(data, filename="f.xlsx", **kwargs):
    table = read_table(data, filename=filename, aliases=ALIASES, required=REQUIRED, **kwargs)
    return table, list(table.rows)


def message_of(exc_info):
    return exc_info.value.message


ROSTER = [
    ["样例煤业有限公司分流职工花名册"],
    ["填报单位：样例煤业", None, "填报日期：2017年6月30日"],
    ["序号", "姓 名", "身份证号码", "出生日期"],
    [1, "张三", "140105197005011230", datetime.datetime(1970, 5, 1)],
    [None, None, None, None],
    [2, "李四", "140105197005021238", "1970.05"],
    ["合计", "2人", None, None],
]


def test_header_row_is_found_below_title_rows_and_row_numbers_are_the_spreadsheets():
    table, rows = read(xlsx(ROSTER))
    assert table.header_row == 3
    assert table.columns["name"] == (1, "姓 名")
    assert [number for number, _cells in rows] == [4, 6]


def test_blank_rows_and_the_total_row_are_skipped():
    _table, rows = read(xlsx(ROSTER))
    assert [cells[1] for _n, cells in rows] == ["张三", "李四"]


def test_cells_are_cleaned_of_full_width_digits_zero_width_and_stray_spaces():
    data = xlsx(
        [["姓名", "身份证号码"], ["\u200b 王五 ", "１４０１０５１９７００５０１１２３０\u200b"]]
    )
    _table, rows = read(data)
    assert rows[0][1] == ["王五", "140105197005011230"]


def test_clean_text_strips_format_characters_that_nfkc_keeps():
    assert clean_text("\ufeff张\u200d三\u3000") == "张三"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_is_read_in_utf8_with_or_without_bom_and_in_gbk(encoding):
    text = "职工花名册\n序号,姓名,身份证号码\n1,赵六,140105197005011230\n"
    table, rows = read(text.encode(encoding), filename="f.csv")
    assert table.header_row == 2
    assert rows == [(3, ["1", "赵六", "140105197005011230"])]


def test_csv_that_is_neither_utf8_nor_has_a_header_is_refused_with_the_header_message():
    data = "无关,内容\n1,2\n".encode("gbk")
    with pytest.raises(ReadError) as exc_info:
        read(data, filename="f.csv")
    assert message_of(exc_info) == HEADER_NOT_FOUND % {"rows": 20, "required": "姓名”“身份证号码"}


def test_xls_is_read_with_its_dates():
    book = xlwt.Workbook()
    sheet = book.add_sheet("花名册")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    sheet.write(0, 0, "花名册")
    for col, value in enumerate(["序号", "姓名", "身份证号码", "出生日期"]):
        sheet.write(1, col, value)
    sheet.write(2, 0, 1)
    sheet.write(2, 1, "张三")
    sheet.write(2, 2, "140105197005011230")
    sheet.write(2, 3, datetime.date(1970, 5, 1), date_style)
    buffer = io.BytesIO()
    book.save(buffer)
    _table, rows = read(buffer.getvalue(), filename="f.xls")
    assert rows == [(3, [1, "张三", "140105197005011230", datetime.date(1970, 5, 1)])]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.datetime(1970, 5, 1, 0, 0), datetime.date(1970, 5, 1)),
        ("1970-05-01", datetime.date(1970, 5, 1)),
        ("1970/5/1", datetime.date(1970, 5, 1)),
        ("1970年5月1日", datetime.date(1970, 5, 1)),
        ("19700501", datetime.date(1970, 5, 1)),
        (1970.05, MonthDate(1970, 5, 1)),
        ("1970.05", MonthDate(1970, 5, 1)),
        ("1970年5月", MonthDate(1970, 5, 1)),
        ("１９７０．０５", MonthDate(1970, 5, 1)),
    ],
)
def test_dates_are_read_in_the_forms_rosters_use(value, expected):
    parsed = parse_date(value)
    assert parsed == expected
    assert isinstance(parsed, MonthDate) == isinstance(expected, MonthDate)


@pytest.mark.parametrize("value", [1970.1, "五月", "1970-13-01", "1970.13"])
def test_unreadable_or_ambiguous_dates_are_refused(value):
    with pytest.raises(ValueError):
        parse_date(value)


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.LEDGER_IMPORT_MAX_BYTES = 100
    with pytest.raises(ReadError) as exc_info:
        read(b"x" * 101, filename="f.csv")
    assert message_of(exc_info) == FILE_TOO_LARGE % {"size": "0.0", "limit": "0.0"}


def test_a_file_over_the_row_limit_is_refused(settings):
    settings.LEDGER_IMPORT_MAX_ROWS = 2
    rows = [["姓名", "身份证号码"]] + [[f"人{i}", str(i)] for i in range(3)]
    with pytest.raises(ReadError) as exc_info:
        read(xlsx(rows))
    assert message_of(exc_info) == TOO_MANY_ROWS % {"limit": 2}


def test_a_zip_bomb_is_refused_by_its_declared_size_before_it_is_opened(settings):
    settings.LEDGER_XLSX_MAX_UNCOMPRESSED_BYTES = 10 * 1024 * 1024
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 100_000
    with pytest.raises(ReadError) as exc_info:
        read(data)
    assert message_of(exc_info) == XLSX_TOO_LARGE_UNCOMPRESSED % {"size": "20.0", "limit": "10.0"}


def test_an_xml_entity_declaration_is_refused():
    data = xlsx([["姓名", "身份证号码"], ["张三", "140105197005011230"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                content = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>' + content
            archive.writestr(item, content)
    with pytest.raises(ReadError) as exc_info:
        read(buffer.getvalue())
    assert message_of(exc_info) == FILE_UNSAFE_XML


def test_a_corrupt_xlsx_is_refused_with_a_clear_message():
    data = xlsx([["姓名", "身份证号码"]])[:400]
    with pytest.raises(ReadError) as exc_info:
        read(data)
    assert message_of(exc_info) == FILE_CORRUPT


def test_a_password_protected_xlsx_is_refused_with_a_clear_message():
    # An encrypted workbook is an OLE container with an EncryptionInfo stream.
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512 + "EncryptionInfo".encode("utf-16-le")
    with pytest.raises(ReadError) as exc_info:
        read(data, filename="roster.xlsx")
    assert message_of(exc_info) == FILE_ENCRYPTED


@pytest.mark.parametrize("epoch_1904", [False, True])
def test_excel_date_cells_are_read_as_dates_in_both_epochs(epoch_1904):
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    workbook = Workbook()
    if epoch_1904:
        workbook.epoch = CALENDAR_MAC_1904
    sheet = workbook.active
    sheet.append(["姓名", "身份证号码", "出生日期"])
    sheet.append(["张三", "140105197005011230", datetime.date(1970, 5, 1)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    _table, rows = read(buffer.getvalue())
    assert rows[0][1][2] == datetime.date(1970, 5, 1)


def test_an_id_number_typed_as_a_number_arrives_as_a_float_that_lost_digits():
    _table, rows = read(xlsx([["姓名", "身份证号码"], ["张三", 140105197005011230]]))
    assert rows[0][1][1] == pytest.approx(1.4010519700501123e17)
    assert isinstance(rows[0][1][1], float | int)


def test_a_second_sheet_holding_the_roster_is_found_and_sparse_cells_keep_their_columns():
    workbook = Workbook()
    workbook.active.append(["说明"])
    sheet = workbook.create_sheet("花名册")
    sheet.append(["姓名", "身份证号码", "出生日期"])
    sheet["A3"] = "李四"
    sheet["C3"] = "1970.05"
    buffer = io.BytesIO()
    workbook.save(buffer)
    _table, rows = read(buffer.getvalue())
    assert rows == [(3, ["李四", None, "1970.05"])]


def test_a_roster_below_empty_rows_and_right_of_empty_columns_keeps_the_sheets_rows_and_columns():
    # calamine's iter_rows starts at the first row but at the first column holding a cell: the
    # reader puts the empty columns back, so a row number and a column are the sheet's.
    workbook = Workbook()
    sheet = workbook.active
    sheet["C4"] = "样例煤矿分流职工花名册"
    sheet.merge_cells("C4:E4")
    for column, header in zip("CDE", ["姓名", "身份证号码", 2017], strict=True):
        sheet[f"{column}6"] = header
    sheet["C7"], sheet["D7"], sheet["E7"] = "张三", "110101199003070015", 3.0
    sheet["C8"] = "合 计"
    buffer = io.BytesIO()
    workbook.save(buffer)
    table, rows = read(buffer.getvalue())
    assert (table.header_row, table.columns, table.unused) == (
        6,
        {"name": (2, "姓名"), "number": (3, "身份证号码")},
        ["2017"],
    )
    assert rows == [(7, [None, None, "张三", "110101199003070015", 3])]
    assert table.total == 2


@pytest.mark.parametrize("marker", ["合计", "合 计", " 总计 ", "小\u3000计", "合  计"])
def test_a_total_row_is_skipped_however_its_marker_is_spaced(marker):
    _table, rows = read(xlsx([["姓名", "身份证号码"], ["张三", "1"], [marker, "100"]]))
    assert rows == [(2, ["张三", "1"])]


def announced_rows(data: bytes) -> list[int]:
    from spreadsheets import readers

    seen = []
    token = readers.rows_observer.set(seen.append)
    try:
        read(data)
    finally:
        readers.rows_observer.reset(token)
    return seen


def test_the_rows_a_sheet_declares_are_announced_before_it_is_read_then_the_rows_measured():
    data = xlsx([["姓名", "身份证号码"]] + [["张三", str(number)] for number in range(500)])
    assert announced_rows(data) == [501, 501]


def with_sheet_xml(data: bytes, change) -> bytes:
    """The .xlsx with its first worksheet's XML passed through `change`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                content = change(content)
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_sheet_without_a_dimension_has_its_rows_estimated_from_its_size_then_measured():
    data = xlsx([["姓名", "身份证号码"]] + [["张三", str(number)] for number in range(5000)])
    assert b"<dimension" in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    data = with_sheet_xml(data, lambda xml: re.sub(rb"<dimension[^>]*/>", b"", xml))
    estimate, measured = announced_rows(data)
    assert measured == 5001
    assert 4500 < estimate < 5500


# --- Work done while calamine builds the sheet (`meanwhile`) --------------------------------------


def test_the_callers_work_runs_in_its_own_thread_while_the_sheet_loads_with_the_rows_measured():
    data = xlsx([["姓名", "身份证号码"]] + [["张三", str(number)] for number in range(500)])
    calls = []
    table, rows = read(
        data, meanwhile=lambda measured: calls.append((measured, threading.current_thread()))
    )
    assert calls == [(501, threading.current_thread())]
    assert len(rows) == 500 and table.total == 500


def test_an_error_of_the_callers_work_is_raised_as_it_is_and_the_loading_thread_is_waited_for():
    from django.db import OperationalError

    data = xlsx([["姓名", "身份证号码"], ["张三", "1"]])

    def fails(_measured):
        raise OperationalError("server closed the connection")

    with pytest.raises(OperationalError):
        read(data, meanwhile=fails)
    assert not [t for t in threading.enumerate() if t.name == "sheet-load"]


def test_a_broken_sheet_is_refused_as_broken_after_the_callers_work():
    data = xlsx([["姓名", "身份证号码"], ["张三", "1"]])
    cut_short = with_sheet_xml(data, lambda xml: xml.replace(b"</sheetData>", b"<row><c><v>"))
    calls = []
    with pytest.raises(ReadError) as exc_info:
        read(cut_short, meanwhile=calls.append)
    assert message_of(exc_info) == FILE_CORRUPT
    assert len(calls) == 1  # the work was done before calamine refused the sheet


def test_an_xls_gives_the_callers_work_no_measure_and_a_csv_does_not_call_it():
    book = xlwt.Workbook()
    sheet = book.add_sheet("花名册")
    for col, value in enumerate(["姓名", "身份证号码"]):
        sheet.write(0, col, value)
    buffer = io.BytesIO()
    book.save(buffer)
    calls = []
    read(buffer.getvalue(), filename="f.xls", meanwhile=calls.append)
    assert calls == [None]
    read("姓名,身份证号码\n张三,1\n".encode(), filename="f.csv", meanwhile=calls.append)
    assert calls == [None]


# --- Headers of two rows ------------------------------------------------------------------------

TWO_ROW_ALIASES = {**ALIASES, "channel": ["安置方式", "安置去向"], "placed_on": ["安置时间"]}


def two_row_header(merged: bool) -> bytes:
    """A roster whose placement columns are grouped under 安置情况, the other headers merged down
    over both header rows (or left blank in the second)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["分流职工花名册"])
    sheet.append(["序号", "姓名", "身份证号码", "安置情况", None, None])
    sheet.append([None, None, None, "安置方式", "安置时间", "安置去向"])
    if merged:
        for column in "ABC":
            sheet.merge_cells(f"{column}2:{column}3")
    sheet.merge_cells("D2:F2")
    sheet.append([1, "张三", "140105197005011230", "内部安置", "2017-03-01", "本矿"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("merged", [True, False])
def test_a_header_of_two_rows_gives_the_columns_of_both_and_the_data_below(merged):
    table = read_table(
        two_row_header(merged), filename="f.xlsx", aliases=TWO_ROW_ALIASES, required=REQUIRED
    )
    assert table.header_row == 3
    assert table.columns == {
        "name": (1, "姓名"),
        "number": (2, "身份证号码"),
        "channel": (3, "安置方式"),
        "placed_on": (4, "安置时间"),
    }
    # The group header is no column left unread; a second header of a column found is.
    assert table.unused == ["安置去向"]
    assert list(table.rows) == [
        (4, [1, "张三", "140105197005011230", "内部安置", "2017-03-01", "本矿"])
    ]


def test_a_data_row_under_the_header_is_never_taken_for_a_second_header_row():
    data = xlsx(
        [
            ["姓名", "身份证号码", "安置情况"],
            ["安置方式", "140105197005011230", None],  # a name that is a header word, a number
            ["李四", "140105197005021238", None],
        ]
    )
    table = read_table(data, filename="f.xlsx", aliases=TWO_ROW_ALIASES, required=REQUIRED)
    assert table.header_row == 1 and "channel" not in table.columns
    assert [number for number, _cells in table.rows] == [2, 3]


def test_a_database_error_of_an_observer_is_raised_as_it_is_never_as_a_broken_file():
    """A job's progress (an UPDATE of its row) is saved while the file is checked: its
    OperationalError is retried by the job, where "corrupt" would have ended it."""
    from django.db import OperationalError

    from spreadsheets import readers

    def observer(_rows):
        raise OperationalError("server closed the connection unexpectedly")

    token = readers.rows_observer.set(observer)
    try:
        with pytest.raises(OperationalError):
            read(xlsx([["姓名", "身份证号码"], ["张三", "1"]]))
    finally:
        readers.rows_observer.reset(token)


@pytest.mark.parametrize(
    "legend",
    [
        ["栏次", 1, 2, 3],
        [None, "甲", "乙", 1],
        ["甲", "乙", "丙"],
        [None, None, "（单位：人）"],
        [None, "(人)", "（元）"],
    ],
)
def test_a_row_numbering_the_columns_or_giving_their_units_is_no_data_row(legend):
    """Forms number their columns under the header (栏次: 甲 乙 1 2 3) or give their units."""
    data = xlsx([["序号", "姓名", "身份证号码"], legend, [1, "张三", "140105197005011230"]])
    _table, rows = read(data)
    assert [(number, cells[:3]) for number, cells in rows] == [
        (3, [1, "张三", "140105197005011230"])
    ]


@pytest.mark.parametrize(
    "first",
    [
        [1, "张三", "140105197005011230"],
        [None, "甲", "140105197005011230"],  # a worker named 甲
        [1, 2, None],  # no name nor number: refused as a worker, not passed over
    ],
)
def test_a_first_data_row_is_never_taken_for_a_legend(first):
    data = xlsx([["序号", "姓名", "身份证号码"], first])
    _table, rows = read(data)
    assert [number for number, _cells in rows] == [2]
