"""The reader against files that are broken, hostile or written by Excel in Chinese: every failure
is a ReadError with a message (never a server error), invisible control characters are dropped,
XML in another encoding cannot hide an entity declaration, Chinese date formats read as dates, and
merged blocks fill every cell they cover."""

import datetime
import io
import re
import struct
import zipfile

import pytest
import xlwt
from openpyxl import Workbook

from spreadsheets import readers
from spreadsheets.readers import (
    FILE_CORRUPT,
    FILE_UNSAFE_XML,
    MERGE_FILL_MAX_COLUMNS,
    ReadError,
    clean_text,
    parse_date,
    read_table,
)
from spreadsheets.widgets import DATE_UNREADABLE, LedgerDateWidget

ALIASES = {
    "name": ["姓名"],
    "number": ["身份证号码"],
    "channel": ["安置方式"],
    "day": ["安置时间", "出生日期"],
}
REQUIRED = ["name", "number"]
SHEET = "xl/worksheets/sheet1.xml"
ID_NUMBER = "140105197005011230"


def workbook_bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    return workbook_bytes(workbook)


def rewrite(data: bytes, changes=None, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """The same workbook with some parts replaced: changes maps a part name to a function of its
    bytes."""
    changes = changes or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name in source.namelist():
            content = source.read(name)
            if name in changes:
                content = changes[name](content)
            archive.writestr(name, content)
    return buffer.getvalue()


def read(data, filename="f.xlsx"):
    table = read_table(data, filename=filename, aliases=ALIASES, required=REQUIRED)
    return table, list(table.rows)


def refusal(data, filename="f.xlsx"):
    with pytest.raises(ReadError) as exc_info:
        read(data, filename=filename)
    return exc_info.value.message


ROSTER = [["姓名", "身份证号码"], ["张三", ID_NUMBER]]


@pytest.fixture(params=["fast", "openpyxl"])
def xlsx_reader(request, monkeypatch):
    """Each .xlsx reader in turn: the fast one, and openpyxl, which reads what the fast one
    leaves to it."""
    if request.param == "openpyxl":

        def not_simple(data, aliases):
            raise readers._NotSimple

        monkeypatch.setattr(readers, "_fast_xlsx_rows", not_simple)
    return request.param


# --- Corrupt files --------------------------------------------------------------------------------


def test_a_sheet_whose_checksum_does_not_match_is_refused_as_corrupt():
    data = rewrite(xlsx(ROSTER), compression=zipfile.ZIP_STORED)
    # Stored uncompressed, the sheet's text is in the file as is: one changed digit breaks the CRC.
    assert data.count(ID_NUMBER.encode()) == 1
    data = data.replace(ID_NUMBER.encode(), b"2" + ID_NUMBER.encode()[1:])
    assert refusal(data) == FILE_CORRUPT


def test_a_sheet_whose_compressed_data_is_garbled_is_refused_as_corrupt():
    data = bytearray(xlsx(ROSTER))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(SHEET)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26 :][:4])
    start = info.header_offset + 30 + name_length + extra_length
    # A deflate block of type 3 does not exist: zlib refuses it.
    data[start] = 0xFF
    assert refusal(bytes(data)) == FILE_CORRUPT


@pytest.mark.parametrize(
    "cell",
    [
        b'<c r="A2" t="s"><v>99</v></c>',  # a shared string that does not exist
        b'<c r="A2" t="s"><v>x</v></c>',  # a shared string index that is not a number
        b'<c r="A2"><v>abc</v></c>',  # a number that is not a number
    ],
)
def test_a_sheet_with_a_garbled_cell_is_refused_as_corrupt(cell):
    def garble(content):
        return re.sub(rb'<c r="A2".*?</c>', cell, content)

    assert refusal(rewrite(xlsx(ROSTER), {SHEET: garble})) == FILE_CORRUPT


def xls_roster() -> bytes:
    book = xlwt.Workbook()
    sheet = book.add_sheet("s")
    for column, value in enumerate(["姓名", "身份证号码"]):
        sheet.write(0, column, value)
    sheet.write(1, 0, "张三")
    sheet.write(1, 1, "x")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Bytes of the xlwt file above that, changed, let xlrd open the book and then fail in the sheet
# with IndexError, XLRDError, struct.error and AssertionError (found by trying every byte).
@pytest.mark.parametrize(("offset", "byte"), [(1419, 0), (1423, 0), (1499, 0), (1788, 255)])
def test_an_xls_broken_inside_a_sheet_is_refused_as_corrupt(offset, byte):
    data = bytearray(xls_roster())
    data[offset] = byte
    assert refusal(bytes(data), filename="f.xls") == FILE_CORRUPT


def test_a_csv_with_a_field_longer_than_the_csv_module_accepts_is_refused_as_corrupt():
    data = f"姓名,身份证号码,岗位\n张三,{ID_NUMBER},{'x' * 200_000}\n".encode()
    assert refusal(data, filename="f.csv") == FILE_CORRUPT


# --- Numbers in a date column ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [1e16, 1.5e300, float("inf"), float("-inf"), float("nan")])
def test_a_number_without_two_decimals_in_a_date_column_is_an_unreadable_date(value):
    with pytest.raises(ValueError):
        parse_date(value)
    with pytest.raises(ValueError) as exc_info:
        LedgerDateWidget().clean(value)
    assert str(exc_info.value) == str(DATE_UNREADABLE % {"value": value})


# --- Control characters ---------------------------------------------------------------------------


def test_clean_text_drops_nul_and_other_control_characters_but_keeps_tabs_and_line_breaks():
    assert clean_text("a\x00b\x07c\x1b\x7f") == "abc"
    assert clean_text("张\x00三\x85\x9f") == "张三"
    assert clean_text("张三\t李四\n王五") == "张三 李四 王五"
    assert clean_text("甲\r乙") == "甲\r乙"


def test_a_nul_in_a_csv_cell_does_not_reach_the_database():
    data = f"姓名,身份证号码,岗位\n张\x00三,{ID_NUMBER},采\x00煤\n".encode()
    _table, rows = read(data, filename="f.csv")
    assert rows == [(2, ["张三", ID_NUMBER, "采煤"])]


# --- XML in another encoding ----------------------------------------------------------------------

ENTITIES = b'<!DOCTYPE worksheet [<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'


def reencoded(encoding, bom=b""):
    def change(content):
        text = re.sub(rb"^<\?xml[^>]*\?>", b"", content).replace("张三".encode(), b"&b;")
        declaration = f'<?xml version="1.0" encoding="{encoding}"?>'.encode()
        return bom + (declaration + ENTITIES + text).decode().encode(encoding)

    return change


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-16-le", b""),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
    ],
)
def test_an_entity_declaration_hidden_in_a_utf16_or_utf32_sheet_is_refused(encoding, bom):
    data = rewrite(xlsx(ROSTER), {SHEET: reencoded(encoding, bom)})
    assert refusal(data) == FILE_UNSAFE_XML


@pytest.mark.parametrize(
    "declaration",
    [
        b'<?xml version="1.0" encoding="ISO-8859-1"?>',
        b"<?xml version='1.0' encoding = 'cp037' standalone='yes'?>",
        b'<?xml version="1.0" encoding="UTF-16"?>',
    ],
)
def test_a_part_declaring_an_encoding_other_than_utf8_is_refused(declaration):
    def declared(content):
        return declaration + re.sub(rb"^<\?xml[^>]*\?>", b"", content)

    data = rewrite(xlsx([["姓名", "身份证号码"], ["Zhang San", ID_NUMBER]]), {SHEET: declared})
    assert refusal(data) == FILE_UNSAFE_XML


def test_a_utf8_part_with_a_byte_order_mark_and_a_declaration_is_still_read():
    def marked(content):
        return b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>' + re.sub(
            rb"^<\?xml[^>]*\?>", b"", content
        )

    _table, rows = read(rewrite(xlsx(ROSTER), {SHEET: marked}))
    assert rows == [(2, ["张三", ID_NUMBER])]


# --- Date formats of Excel in Chinese ------------------------------------------------------------


def with_format_id(format_id):
    """styles.xml naming a reserved format id without defining it, as Excel in Chinese writes."""

    def change(content):
        content = re.sub(rb"<numFmts.*?</numFmts>", b"", content, flags=re.S)
        return content.replace(b'numFmtId="164"', f'numFmtId="{format_id}"'.encode())

    return change


@pytest.mark.parametrize("format_id", [27, 31, 36, 50, 57, 58])
def test_a_cell_in_a_chinese_date_format_is_read_as_a_date(format_id, xlsx_reader):
    data = xlsx(
        [["姓名", "身份证号码", "出生日期"], ["张三", ID_NUMBER, datetime.date(1970, 5, 1)]]
    )
    data = rewrite(data, {"xl/styles.xml": with_format_id(format_id)})
    _table, rows = read(data)
    assert rows == [(2, ["张三", ID_NUMBER, datetime.datetime(1970, 5, 1)])]


def test_a_reserved_format_id_the_file_defines_as_a_number_stays_a_number(xlsx_reader):
    data = xlsx(
        [["姓名", "身份证号码", "出生日期"], ["张三", ID_NUMBER, datetime.date(1970, 5, 1)]]
    )

    def change(content):
        content = content.replace(b'formatCode="yyyy-mm-dd"', b'formatCode="0"')
        return content.replace(b'numFmtId="164"', b'numFmtId="31"')

    _table, rows = read(rewrite(data, {"xl/styles.xml": change}))
    assert rows == [(2, ["张三", ID_NUMBER, 25689])]


# --- Merged cells ---------------------------------------------------------------------------------


def test_a_vertically_merged_placement_block_applies_to_every_worker_beside_it(xlsx_reader):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "身份证号码", "安置方式", "安置时间"])
    sheet.append(["张一", "1", "内部安置", datetime.date(2017, 3, 1)])
    sheet.append(["张二", "2", None, None])
    sheet.append(["张三", "3", None, None])
    sheet.append(["张四", "4", "灵活就业", datetime.date(2017, 4, 1)])
    sheet.merge_cells("C2:C4")
    sheet.merge_cells("D2:D4")
    _table, rows = read(workbook_bytes(workbook))
    placed = datetime.datetime(2017, 3, 1)
    assert rows == [
        (2, ["张一", "1", "内部安置", placed]),
        (3, ["张二", "2", "内部安置", placed]),
        (4, ["张三", "3", "内部安置", placed]),
        (5, ["张四", "4", "灵活就业", datetime.datetime(2017, 4, 1)]),
    ]


def test_a_block_merged_over_rows_and_columns_fills_every_cell_it_covers(xlsx_reader):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["标题"])
    sheet.merge_cells("A1:D1")
    sheet.append(["姓名", "身份证号码", "安置方式", "备注"])
    sheet.append(["张一", "1", "待定"])
    sheet.append(["张二", "2"])
    sheet.merge_cells("C3:D4")
    table, rows = read(workbook_bytes(workbook))
    assert table.header_row == 2
    assert rows == [(3, ["张一", "1", "待定", "待定"]), (4, ["张二", "2", "待定", "待定"])]


def test_a_merge_across_every_column_widens_rows_only_to_the_fill_limit(xlsx_reader):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "身份证号码"])
    sheet.append(["张三", "1", "备注"])
    sheet.merge_cells("C2:XFD2")
    _table, rows = read(workbook_bytes(workbook))
    cells = rows[0][1]
    assert len(cells) == MERGE_FILL_MAX_COLUMNS
    assert cells[:3] == ["张三", "1", "备注"]
    assert cells[-1] == "备注"
