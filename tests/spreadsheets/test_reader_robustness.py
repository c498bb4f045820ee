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
    COLUMN_BEYOND_SHEET,
    FILE_CORRUPT,
    FILE_UNSAFE_XML,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_ROWS,
    MERGE_FILL_MAX_COLUMNS,
    ROW_BEYOND_SHEET,
    SHARED_STRINGS_TOO_LARGE,
    SHEET_TOO_LARGE,
    ReadError,
    clean_text,
    parse_date,
    read_table,
)
from spreadsheets.widgets import DATE_UNREADABLE, LedgerDateWidget, TextWidget

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
    ],
)
def test_a_sheet_with_a_garbled_cell_is_refused_as_corrupt(cell):
    def garble(content):
        return re.sub(rb'<c r="A2".*?</c>', cell, content)

    assert refusal(rewrite(xlsx(ROSTER), {SHEET: garble})) == FILE_CORRUPT


def test_a_number_cell_holding_letters_is_read_as_text():
    # openpyxl and the old reader refused <v>abc</v> in a number cell as a broken file; calamine
    # reads the text, and the column's widget judges it like any typed text.
    def garble(content):
        return re.sub(rb'<c r="A2".*?</c>', b'<c r="A2"><v>abc</v></c>', content)

    _table, rows = read(rewrite(xlsx(ROSTER), {SHEET: garble}))
    assert rows == [(2, ["abc", ID_NUMBER])]


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
@pytest.mark.parametrize(("offset", "byte"), [(1419, 0), (1423, 0)])
def test_an_xls_broken_inside_a_sheet_is_refused_as_corrupt(offset, byte):
    data = bytearray(xls_roster())
    data[offset] = byte
    assert refusal(bytes(data), filename="f.xls") == FILE_CORRUPT


@pytest.mark.parametrize(("offset", "byte"), [(1499, 0), (1788, 255)])
def test_an_xls_with_a_broken_record_calamine_skips_is_still_read(offset, byte):
    # Two of the bytes that made xlrd fail are in records calamine does not need (the second one
    # widens the sheet's declared dimension): the cells are read as written.
    data = bytearray(xls_roster())
    data[offset] = byte
    _table, rows = read(bytes(data), filename="f.xls")
    assert [(number, cells[:2]) for number, cells in rows] == [(2, ["张三", "x"])]


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
def test_a_cell_in_a_chinese_date_format_is_read_as_a_date(format_id):
    data = xlsx(
        [["姓名", "身份证号码", "出生日期"], ["张三", ID_NUMBER, datetime.date(1970, 5, 1)]]
    )
    data = rewrite(data, {"xl/styles.xml": with_format_id(format_id)})
    _table, rows = read(data)
    # python-calamine 0.9.1 reads these reserved ids as dates itself (measured here, unlike the
    # 14–22 and 45–47 only that PITFALLS.md recorded).
    assert rows == [(2, ["张三", ID_NUMBER, datetime.date(1970, 5, 1)])]


@pytest.mark.parametrize(("serial", "day"), [(25689, "1970-05-01"), (42795.5, "2017-03-01")])
def test_a_serial_number_in_a_date_column_is_read_as_the_date_it_is(serial, day):
    # Where a reader leaves a date cell as its serial number (a format it does not know as a
    # date), the date column still reads it: 1920 to 2100 only, so that a year (1970), a month
    # (197005) or a day (19700501) typed as a number keep their meaning.
    assert LedgerDateWidget().clean(serial) == datetime.date.fromisoformat(day)
    assert parse_date(197005) == datetime.date(1970, 5, 1)
    with pytest.raises(ValueError):
        parse_date(1970)


def test_a_reserved_format_id_the_file_defines_as_a_number_stays_a_number():
    data = xlsx(
        [["姓名", "身份证号码", "出生日期"], ["张三", ID_NUMBER, datetime.date(1970, 5, 1)]]
    )

    def change(content):
        content = content.replace(b'formatCode="yyyy-mm-dd"', b'formatCode="0"')
        return content.replace(b'numFmtId="164"', b'numFmtId="31"')

    _table, rows = read(rewrite(data, {"xl/styles.xml": change}))
    assert rows == [(2, ["张三", ID_NUMBER, 25689])]
    # The reader cannot tell the two apart; only a date column reads a serial number as a date.
    assert TextWidget().clean(rows[0][1][2]) == "25689"


# --- Merged cells ---------------------------------------------------------------------------------


def test_a_vertically_merged_placement_block_applies_to_every_worker_beside_it():
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
    placed = datetime.date(2017, 3, 1)
    assert rows == [
        (2, ["张一", "1", "内部安置", placed]),
        (3, ["张二", "2", "内部安置", placed]),
        (4, ["张三", "3", "内部安置", placed]),
        (5, ["张四", "4", "灵活就业", datetime.date(2017, 4, 1)]),
    ]


def test_a_block_merged_over_rows_and_columns_fills_every_cell_it_covers():
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


def test_a_merge_across_every_column_widens_rows_only_to_the_fill_limit():
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


# --- Sheets larger than a sheet can be ------------------------------------------------------------
# Calamine builds a sheet as one dense block from its first cell to its last: these are refused
# from the XML before it does (one cell at column "AAAAAAA" got the process killed).


def with_row_two(row: bytes):
    """The sheet with its second row replaced by `row`."""

    def change(content):
        return re.sub(rb'<row r="2".*?</row>', lambda _match: row, content, flags=re.S)

    return change


def test_attack_column_letters_exhaust_memory():
    # r="AAAAAAA2" is column 321,272,407: built as written, a row of 321 million cells.
    row = b'<row r="2"><c r="AAAAAAA2" t="inlineStr"><is><t>x</t></is></c></row>'
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert len(data) < 10_000
    assert refusal(data) == COLUMN_BEYOND_SHEET % {"row": 2, "limit": MAX_COLUMNS}


def test_attack_column_just_beyond_xfd():
    row = b'<row r="2"><c r="XFE2" t="inlineStr"><is><t>x</t></is></c></row>'
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == COLUMN_BEYOND_SHEET % {"row": 2, "limit": MAX_COLUMNS}


@pytest.mark.parametrize(
    "reference",
    [b'r = "XFE2"', b"r='XFE2'", b'r=" XFE2"', b'\n r="XFE2"', b'\tr="XFE2"', b'r=\n"XFE2"'],
)
def test_attack_column_beyond_xfd_in_a_reference_written_another_way(reference):
    # The usual ` r="…"` is measured by a quicker pattern; every other way XML allows to write
    # the attribute is still measured, by the thorough one.
    row = b'<row r="2"><c ' + reference + b' t="inlineStr"><is><t>x</t></is></c></row>'
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == COLUMN_BEYOND_SHEET % {"row": 2, "limit": MAX_COLUMNS}


@pytest.mark.parametrize("reference", [b'r="A1048577"', b"r = 'A1048577'"])
def test_attack_cell_reference_in_a_row_beyond_the_sheet(reference):
    row = b'<row r="2"><c ' + reference + b' t="inlineStr"><is><t>x</t></is></c></row>'
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == ROW_BEYOND_SHEET % {"limit": MAX_ROWS}


def test_a_cell_in_the_last_column_xfd_is_read():
    row = b'<row r="2"><c r="A2" t="inlineStr"><is><t>\xe5\xbc\xa0\xe4\xb8\x89</t></is></c>'
    row += b'<c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row>'
    _table, rows = read(rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)}))
    [(number, cells)] = rows
    assert (number, len(cells), cells[0], cells[-1]) == (2, MAX_COLUMNS, "张三", "x")


def test_attack_cells_without_references_beyond_xfd():
    row = b'<row r="2">' + b"<c><v>1</v></c>" * (MAX_COLUMNS + 1) + b"</row>"
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == COLUMN_BEYOND_SHEET % {"row": 2, "limit": MAX_COLUMNS}


def test_attack_prefixed_cells_without_references_beyond_xfd():
    # Counted by their own expression: the colon of a prefix sends the measure there.
    row = b'<x:row r="2">' + b"<x:c><x:v>1</x:v></x:c>" * (MAX_COLUMNS + 1) + b"</x:row>"
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == COLUMN_BEYOND_SHEET % {"row": 2, "limit": MAX_COLUMNS}


@pytest.mark.parametrize("space", [b"\t", b"\n", b"\r\n"])
def test_attack_cells_opened_with_a_tab_or_a_line_break_beyond_xfd(space):
    # XML allows any white space after a tag's name, and calamine reads such a cell as a cell.
    row = b'<row r="2">' + (b"<c" + space + b"/>") * (MAX_COLUMNS + 1) + b"</row>"
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == COLUMN_BEYOND_SHEET % {"row": 2, "limit": MAX_COLUMNS}


def test_attack_cells_opened_with_a_tab_widen_the_sheet_beyond_its_cells():
    # A row as wide as a sheet, of cells that name no column, and one cell far below it.
    row = b'<row r="2">' + b"<c\t/>" * MAX_COLUMNS + b"</row>"
    row += b'<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>x</t></is></c></row>'
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == SHEET_TOO_LARGE % {
        "rows": 1_000_000,
        "columns": MAX_COLUMNS,
        "limit": MAX_CELLS,
    }


def test_attack_rows_opened_with_a_line_break_beyond_the_sheet():
    rows = b"<row\n/>" * (MAX_ROWS + 1)
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(rows)})
    assert refusal(data) == ROW_BEYOND_SHEET % {"limit": MAX_ROWS}


def test_attack_row_number_beyond_the_sheet():
    row = f'<row r="{MAX_ROWS + 1}"><c t="inlineStr"><is><t>x</t></is></c></row>'.encode()
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == ROW_BEYOND_SHEET % {"limit": MAX_ROWS}


def test_attack_more_rows_than_a_sheet_has_under_one_row_number():
    rows = b'<row r="2"/>' * (MAX_ROWS + 1)
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(rows)})
    assert refusal(data) == ROW_BEYOND_SHEET % {"limit": MAX_ROWS}


def test_attack_one_cell_in_the_last_row_and_column_of_the_sheet():
    # Within a sheet's bounds, but 17 billion cells from A1: refused by the sheet's extent.
    row = b'<row r="2"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    data = rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})
    assert refusal(data) == SHEET_TOO_LARGE % {
        "rows": MAX_ROWS,
        "columns": MAX_COLUMNS,
        "limit": MAX_CELLS,
    }


def test_a_row_of_millions_of_unknown_elements_is_read_as_an_empty_row():
    # The old reader built each row as a tree and refused this as corrupt; calamine streams the
    # XML without building elements and skips what it does not know: nothing to refuse.
    row = b'<row r="2">' + b"<x/>" * 2_000_000 + b"</row>"
    _table, rows = read(rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)}))
    assert rows == []


def test_attack_a_cell_nested_a_million_elements_deep_is_refused_as_corrupt():
    row = b'<row r="2"><c>' + b"<x>" * 1_000_000 + b"</x>" * 1_000_000 + b"</c></row>"
    assert refusal(rewrite(xlsx(ROSTER), {SHEET: with_row_two(row)})) == FILE_CORRUPT


# --- Declarations anywhere in a part -------------------------------------------------------------


def declaration_after(padding: bytes):
    """The sheet with `padding` in its prolog, then entity declarations that replace 张三."""

    def change(content):
        text = re.sub(rb"^<\?xml[^>]*\?>", b"", content).replace("张三".encode(), b"&b;")
        return b'<?xml version="1.0" encoding="UTF-8"?>' + padding + ENTITIES + text

    return change


def test_attack_doctype_after_first_mib():
    data = rewrite(xlsx(ROSTER), {SHEET: declaration_after(b" " * (1 << 20) + b"\n" * 4096)})
    assert refusal(data) == FILE_UNSAFE_XML


def test_attack_doctype_after_first_mib_of_processing_instructions():
    data = rewrite(xlsx(ROSTER), {SHEET: declaration_after(b"<?p?>" * 300_000)})
    assert refusal(data) == FILE_UNSAFE_XML


def test_a_part_with_a_long_prolog_and_no_declaration_is_still_read():
    def padded(content):
        text = re.sub(rb"^<\?xml[^>]*\?>", b"", content)
        return b'<?xml version="1.0" encoding="UTF-8"?><!-- notes -->' + b" " * (1 << 20) + text

    _table, rows = read(rewrite(xlsx(ROSTER), {SHEET: padded}))
    assert rows == [(2, ["张三", ID_NUMBER])]


def test_an_entity_calamine_would_refuse_is_refused_before_it_as_unsafe():
    # Calamine expands no entity (it fails on "&b;" as unknown); the DOCTYPE is refused first,
    # with the message that says why.
    data = rewrite(xlsx(ROSTER), {SHEET: declaration_after(b"")})
    assert refusal(data) == FILE_UNSAFE_XML


class Trickle(io.BytesIO):
    """A part that hands out at most `step` bytes a read, so that every token is cut somewhere."""

    def __init__(self, data: bytes, step: int):
        super().__init__(data)
        self.step = step

    def read(self, size=-1):
        return super().read(self.step if size is None or size < 0 else min(size, self.step))


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 9, 13])
def test_attack_doctype_cut_across_two_reads(step):
    text = b"<a>" + b" " * 70_000 + b"<!DOCTYPE a [<!ENTITY b 'c'>]><a/>"
    part = readers._GuardedPart(Trickle(text, step))
    with pytest.raises(ReadError) as exc_info:
        while part.read(step):
            pass
    assert exc_info.value.message == FILE_UNSAFE_XML


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 9, 13])
def test_comments_and_cdata_cut_across_two_reads_pass(step):
    text = b"<a>" + b" " * 70_000 + b"<!-- x --><![CDATA[ y ]]></a>"
    part = readers._GuardedPart(Trickle(text, step))
    chunks = []
    while chunk := part.read(step):
        chunks.append(chunk)
    assert b"".join(chunks) == text


# --- Shared strings -------------------------------------------------------------------------------

SST = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def add_part(data: bytes, name: str, content: bytes) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def with_shared_strings(items: bytes) -> bytes:
    def sheet(content):
        return with_row_two(
            b'<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>'
        )(content)

    data = rewrite(xlsx(ROSTER), {SHEET: sheet})
    return add_part(data, "xl/sharedStrings.xml", SST + items + b"</sst>")


def test_shared_strings_with_rich_text_and_phonetic_runs_are_read():
    items = (
        "<si><r><t>张</t></r><r><rPr><b/></rPr><t>三</t></r>"
        '<rPh sb="0" eb="1"><t>zhang</t></rPh></si>'
        f"<si><t>{ID_NUMBER}</t></si>"
    ).encode()
    _table, rows = read(with_shared_strings(items))
    assert rows == [(2, ["张三", ID_NUMBER])]


def test_attack_shared_strings_exhaust_memory(monkeypatch):
    # Calamine holds every shared string in memory: the part's size is bounded before it is read
    # (small here, so that the test is quick).
    monkeypatch.setattr(readers, "SHARED_STRINGS_MAX_BYTES", 16 * 1024 * 1024)
    items = b"<si><t>\xe5\xbc\xa0\xe4\xb8\x89</t></si><si><t>1</t></si>"
    items += b"<si><t>ab</t></si>" * 1_000_000
    data = with_shared_strings(items)
    assert len(data) < 100_000
    assert refusal(data) == SHARED_STRINGS_TOO_LARGE % {"limit": 16}


def test_attack_doctype_after_first_mib_of_shared_strings():
    strings = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        + b" " * (1 << 20)
        + ENTITIES
        + SST
        + b"<si><t>&b;</t></si><si><t>1</t></si></sst>"
    )
    data = rewrite(
        xlsx(ROSTER), {SHEET: with_row_two(b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>')}
    )
    data = add_part(data, "xl/sharedStrings.xml", strings)
    assert refusal(data) == FILE_UNSAFE_XML


# --- .ods -----------------------------------------------------------------------------------------


def ods(body: str) -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice and WPS write them (trimmed)."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="花名册">'
        + body
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST)
    return buffer.getvalue()


ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>'
)


def ods_cell(value: str) -> str:
    return (
        f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
    )


def ods_row(*values: str, empty_after: int = 1020) -> str:
    # LibreOffice closes every row with its empty cells up to the last column, repeated.
    cells = "".join(ods_cell(value) for value in values)
    empty = f'<table:table-cell table:number-columns-repeated="{empty_after}"/>'
    return f"<table:table-row>{cells}{empty}</table:table-row>"


def test_an_ods_roster_is_read_with_its_empty_repeated_cells_and_rows_skipped():
    body = ods_row("序号", "姓名", "身份证号码") + ods_row("1", "张三", ID_NUMBER)
    body += '<table:table-row table:number-rows-repeated="1048574">'
    body += '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    table, rows = read(ods(body), filename="roster.ods")
    assert table.columns["name"] == (1, "姓名")
    assert rows == [(2, ["1", "张三", ID_NUMBER])]


def test_attack_doctype_in_an_ods():
    body = ods_row("姓名", "身份证号码") + ods_row("张三", ID_NUMBER)
    data = ods(body)
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == "content.xml":
                content = declaration_after(b"")(content)
            archive.writestr(name, content)
    assert refusal(buffer.getvalue(), filename="roster.ods") == FILE_UNSAFE_XML
