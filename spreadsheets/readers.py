"""Spreadsheet files in, clean rows out: the format and encoding are sniffed, the header row is
found by its names, title rows, a 序号 column, blank rows and a 合计 row are skipped, and every text
cell is cleaned (NFKC, no invisible format characters, no stray spaces).

Nothing here knows what a worker or an enterprise is: callers pass the header aliases they accept.
"""

import contextlib
import csv
import datetime
import io
import logging
import re
import sys
import traceback
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

FILE_TOO_LARGE = _("文件太大（%(size)s MB），上限为 %(limit)s MB")
TOO_MANY_ROWS = _("数据行太多：上限为 %(limit)s 行，请分批导入")
XLSX_TOO_LARGE_UNCOMPRESSED = _(
    "文件解压后达 %(size)s MB，超过上限 %(limit)s MB，疑似异常文件，已拒绝"
)
FILE_ENCRYPTED = _("文件设有打开密码（已加密），无法读取；请在表格软件中取消密码后另存再导入")
FILE_CORRUPT = _("文件已损坏或不是有效的 Excel/CSV 文件，无法读取；请用表格软件打开后另存为 .xlsx")
FILE_UNSAFE_XML = _("文件包含不安全的 XML 内容（实体声明），已拒绝")
COLUMN_BEYOND_SHEET = _(
    "第 %(row)s 行有单元格超出工作表的最大列（XFD，即第 %(limit)s 列），疑似异常文件，已拒绝"
)
SHARED_STRINGS_TOO_LARGE = _(
    "文件中的文字在内存中超过上限 %(limit)s MB，疑似异常文件，已拒绝；如确有这么多数据，请分批导入"
)
ROW_BEYOND_SHEET = _("文件的行数或行号超出工作表的上限 %(limit)s 行，疑似异常文件，已拒绝")
FILE_EMPTY = _("文件是空的")
ENCODING_UNKNOWN = _("无法识别 CSV 文件的编码；请另存为 UTF-8 或 GBK 编码的 CSV，或直接上传 .xlsx")
HEADER_NOT_FOUND = _(
    "在前 %(rows)s 行中没有找到表头：表头应包含“%(required)s”等列名（可能是编码或工作表不对）"
)

HEADER_SEARCH_ROWS = 20
TOTAL_MARKERS = {"合计", "总计", "小计", "合 计", "总 计"}
# The row-number column every roster has: skipped by design, so not listed as unused.
ROW_NUMBER_HEADERS = {"序号"}

# Format characters (Cf) are invisible; control characters (Cc) other than tab and line breaks
# are too, and PostgreSQL refuses a NUL in text outright, so both are dropped.
_INVISIBLE_CHARS = "".join(
    chr(c)
    for c in range(sys.maxunicode + 1)
    if unicodedata.category(chr(c)) in ("Cf", "Cc") and chr(c) not in "\t\n\r"
)
_INVISIBLE = re.compile("[" + re.escape(_INVISIBLE_CHARS) + "]")
_SPACES = re.compile(r"\s+")


class ReadError(Exception):
    """A whole-file problem (format, size, encoding, no header): nothing can be imported."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# Full-width digits, Latin letters and the ideographic space become ASCII; full-width punctuation
# such as （） stays, since names like 西山煤电（集团） are stored with it and must compare equal.
_FULL_WIDTH = {0xFF10 + i: ord("0") + i for i in range(10)}
_FULL_WIDTH |= {0xFF21 + i: ord("A") + i for i in range(26)}
_FULL_WIDTH |= {0xFF41 + i: ord("a") + i for i in range(26)}
_FULL_WIDTH[0x3000] = ord(" ")
_FULL_WIDTH[0x00A0] = ord(" ")


def clean_text(value: str) -> str:
    """Full-width digits, letters and spaces to ASCII, drop Unicode format characters (U+200B
    zero-width space, which NFKC keeps) and control characters other than tab and line breaks
    (NUL), trim and collapse runs of spaces."""
    if value.isascii():
        # isprintable() is False for every ASCII control character: the regex runs only then.
        text = value if value.isprintable() else _INVISIBLE.sub("", value)
    else:
        text = _INVISIBLE.sub("", value.translate(_FULL_WIDTH))
    text = text.strip()
    if "  " in text or "\n" in text or "\t" in text:
        text = _SPACES.sub(" ", text)
    return text


def clean_cell(value):
    """Text is cleaned; numbers, dates and None pass through; an empty string becomes None."""
    if isinstance(value, str):
        value = clean_text(value)
        return value or None
    return value


def header_key(value) -> str:
    """How a header cell is compared with the known names: NFKC (（人） equals (人)), no spaces, no
    required-field stars, no trailing colon, lower case (for the English names)."""
    if value is None:
        return ""
    text = clean_text(unicodedata.normalize("NFKC", str(value)))
    return "".join(text.split()).strip("*＊:：").lower()


@dataclass
class Table:
    """The rows of one sheet below its header row, with the columns that were recognised."""

    # field name -> (column index, header as written in the file)
    columns: dict[str, tuple[int, str]]
    header_row: int
    rows: Iterator[tuple[int, list]] = field(repr=False)
    # Headers of the header row that name no known column (or a column already found further
    # left), as written: the preview lists them, so a mistyped header is never dropped in silence.
    unused: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.columns[name][1] if name in self.columns else name


# --- Format sniffing ------------------------------------------------------------------------------

_ZIP = b"PK\x03\x04"
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")


def _sniff(data: bytes, filename: str) -> str:
    if data.startswith(_ZIP):
        return "xlsx"
    if data.startswith(_CFB):
        # An .xlsx with an open password is an OLE container holding EncryptionInfo.
        if _ENCRYPTION_STREAM in data[:65536] or _ENCRYPTION_STREAM in data:
            raise ReadError(FILE_ENCRYPTED)
        return "xls"
    if filename.lower().endswith((".xlsx", ".xls", ".xlsm")):
        raise ReadError(FILE_CORRUPT)
    return "csv"


def read_table(
    data: bytes,
    *,
    filename: str,
    aliases: dict[str, list[str]],
    required: list[str],
    max_rows: int | None = None,
) -> Table:
    """Open a spreadsheet (.xlsx, .xls or .csv, by content), find its header row and return its
    data rows as (row number as the spreadsheet shows it, cleaned cells)."""
    limit = settings.LEDGER_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ReadError(
            FILE_TOO_LARGE % {"size": _mb(len(data)), "limit": _mb(limit)},
        )
    if not data.strip():
        raise ReadError(FILE_EMPTY)
    kind = _sniff(data, filename)
    reader = {"xlsx": _xlsx_rows, "xls": _xls_rows, "csv": _csv_rows}[kind]
    with _corrupt_file_errors():
        raw_rows = reader(data, aliases)
    return _table(_guarded(raw_rows), aliases=aliases, required=required, max_rows=max_rows)


@contextlib.contextmanager
def _corrupt_file_errors():
    """A broken file makes the zip, XML, xlrd and csv modules raise almost anything (zlib.error,
    BadZipFile for a bad CRC, IndexError, AssertionError, struct.error, csv.Error, ValueError from
    a garbled number): whatever escapes a reader is the file's fault and becomes FILE_CORRUPT
    rather than a server error. ReadError passes unchanged, as does MemoryError."""
    try:
        yield
    except (ReadError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        # The kind of error and where it was raised, so that a bug here is not mistaken for a
        # broken file for ever; not the message, which may quote a cell (a name, an ID number).
        where = traceback.extract_tb(exc.__traceback__)[-1]
        logger.info(
            "unreadable spreadsheet: %s at %s:%s",
            type(exc).__name__,
            where.filename.rsplit("/", 1)[-1],
            where.lineno,
        )
        raise ReadError(FILE_CORRUPT) from None


def _guarded(raw_rows):
    """The rows of a reader, read lazily, with the same mapping of errors to FILE_CORRUPT."""
    with _corrupt_file_errors():
        yield from raw_rows


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def _lookup(aliases: dict[str, list[str]]) -> dict[str, str]:
    return {header_key(alias): name for name, names in aliases.items() for alias in names}


def _table(raw_rows, *, aliases, required, max_rows) -> Table:
    lookup = _lookup(aliases)
    max_rows = max_rows or settings.LEDGER_IMPORT_MAX_ROWS
    iterator = iter(raw_rows)
    for row_number, cells in iterator:
        if row_number > HEADER_SEARCH_ROWS:
            break
        columns: dict[str, tuple[int, str]] = {}
        unused = []
        for index, cell in enumerate(cells):
            key = header_key(cell)
            name = lookup.get(key)
            if name and name not in columns:
                columns[name] = (index, clean_text(str(cell)))
            elif key and key not in ROW_NUMBER_HEADERS:
                unused.append(clean_text(str(cell)))
        if columns and all(name in columns for name in required):
            return Table(columns, row_number, _data_rows(iterator, max_rows), unused)
    required_names = "”“".join(str(aliases[name][0]) for name in required)
    raise ReadError(HEADER_NOT_FOUND % {"rows": HEADER_SEARCH_ROWS, "required": required_names})


def _data_rows(iterator, max_rows: int):
    count = 0
    for row_number, cells in iterator:
        cleaned = [clean_cell(cell) for cell in cells]
        if not any(cell is not None for cell in cleaned):
            continue
        if any(
            isinstance(cell, str) and cell.replace(" ", "") in TOTAL_MARKERS for cell in cleaned
        ):
            continue
        count += 1
        if count > max_rows:
            raise ReadError(TOO_MANY_ROWS % {"limit": max_rows})
        yield row_number, cleaned


# --- .xlsx ----------------------------------------------------------------------------------------


def check_xlsx_size(data: bytes) -> None:
    """Refuse a zip whose declared uncompressed size is too large before openpyxl inflates it
    (a 0.2 MB file declaring 200 MB took 600 MB of memory, PITFALLS.md)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ReadError(FILE_CORRUPT) from None
    limit = settings.LEDGER_XLSX_MAX_UNCOMPRESSED_BYTES
    if declared > limit:
        raise ReadError(XLSX_TOO_LARGE_UNCOMPRESSED % {"size": _mb(declared), "limit": _mb(limit)})


def _xlsx_rows(data: bytes, aliases):
    check_xlsx_size(data)
    try:
        return _fast_xlsx_rows(data, aliases)
    except _NotSimple:
        return _openpyxl_rows(data, aliases)


def _openpyxl_rows(data: bytes, aliases):
    import openpyxl

    _check_parts_for_openpyxl(data)
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise _xlsx_error(exc) from None
    _add_cjk_date_styles(workbook)
    return _xlsx_iter(workbook, aliases)


def _check_parts_for_openpyxl(data: bytes) -> None:
    """openpyxl keeps in memory what the fast reader bounds: it reads most parts whole, keeps
    every row and shared string it has read (cleared, about 80 bytes each) and every element it
    does not know, and builds a row's cells from whatever the row holds (12 KB of "<x/>" in one
    row took 611 MB). A file the fast reader leaves to it (anyone can make one: a workbook part
    under another name) is first streamed here, every XML part, with the same bounds."""
    from xml.etree.ElementTree import ParseError, iterparse

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if not name.lower().endswith((".xml", ".rels")):
                continue
            # A part that is not well-formed is left to openpyxl, which fails on it if it reads
            # it at all; the bounds were checked up to the error.
            with contextlib.suppress(ParseError), _safe_open(archive, name) as part:
                _check_part_for_openpyxl(part, iterparse)


def _check_part_for_openpyxl(part, iterparse) -> None:
    """Stream one part, each element leaving the tree as it ends, and refuse it beyond the
    bounds of _STREAMED_PARTS (or MAX_ELEMENTS_PER_PART for a part read whole)."""
    open_elements = []
    record_depth, max_records = None, 0
    records = in_record = others = 0
    for event, element in iterparse(part, events=("start", "end")):
        if event == "end":
            open_elements.pop()
            if open_elements:
                open_elements[-1].remove(element)
            if len(open_elements) + 1 == record_depth:
                in_record = 0
            continue
        if not open_elements:
            record_depth, max_records = _STREAMED_PARTS.get(element.tag, (None, 0))
        open_elements.append(element)
        depth = len(open_elements)
        if record_depth is not None and depth >= record_depth:
            in_record += 1
            records += depth == record_depth
            if in_record > MAX_ELEMENTS_PER_ROW or records > max_records:
                raise ReadError(FILE_CORRUPT)
        else:
            others += 1
            if others > MAX_ELEMENTS_PER_PART:
                raise ReadError(FILE_CORRUPT)


def _add_cjk_date_styles(workbook) -> None:
    """Teach openpyxl the reserved Chinese date formats (CJK_DATE_FORMAT_IDS) as the fast reader
    knows them. openpyxl keeps its date styles in private attributes, hence the care: if they
    change, such cells arrive as serial numbers, as before. Ids the file defines itself were
    moved to 164 and above when the styles were read, so what remains is undefined."""
    styles = getattr(workbook, "_cell_styles", None)
    date_styles = getattr(workbook, "_date_formats", None)
    if styles is None or not isinstance(date_styles, set):
        return
    for index, style in enumerate(styles):
        if getattr(style, "numFmtId", None) in CJK_DATE_FORMAT_IDS:
            date_styles.add(index)


def _xlsx_error(exc: BaseException) -> ReadError:
    """openpyxl wraps defusedxml's refusal in a ValueError: look down the chain for it."""
    from defusedxml import DefusedXmlException

    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return ReadError(FILE_UNSAFE_XML)
        exc = exc.__cause__ or exc.__context__
    return ReadError(FILE_CORRUPT)


def _xlsx_iter(workbook, aliases):
    try:
        sheet = _pick_sheet(workbook, aliases)
        # read_only sheets may report a stale dimension; reset so every row is read.
        sheet.reset_dimensions()
        # Read-only openpyxl does not read merged cells: they are found as the fast reader finds
        # them, in the sheet part that openpyxl reads.
        path = getattr(sheet, "_worksheet_path", None)
        archive = getattr(workbook, "_archive", None)
        merges = _merged_ranges(archive, path) if path and archive else []
        state = {"next": 0, "open": [], "values": {}}
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            # openpyxl names columns up to ZZZ and yields an empty row for every missing one, so
            # both are bounded here as the fast reader bounds them.
            if number > MAX_ROWS:
                raise ReadError(ROW_BEYOND_SHEET % {"limit": MAX_ROWS})
            if len(values) > MAX_COLUMNS:
                raise ReadError(COLUMN_BEYOND_SHEET % {"row": number, "limit": MAX_COLUMNS})
            cells = list(values)
            if merges:
                _fill_merged(number, cells, merges, state)
            yield number, cells
    except ReadError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _xlsx_error(exc) from None
    finally:
        workbook.close()


def _pick_sheet(workbook, aliases):
    """The first sheet whose first rows hold a known header name (a notes sheet is skipped)."""
    lookup = _lookup(aliases)
    for sheet in workbook.worksheets:
        for cells in sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True):
            if any(header_key(cell) in lookup for cell in cells if cell is not None):
                return sheet
    return workbook.worksheets[0]


# --- .xlsx, the fast path ---------------------------------------------------------------------
# openpyxl's read-only mode reads about 6,000 roster rows/s on these machines, most of it in
# per-cell Python (styles, descriptors). The sheet XML parsed with the C ElementTree parser, with
# only what an import needs (shared strings, inline strings, numbers, booleans, dates by number
# format), reads about five times faster. Anything it does not expect falls back to openpyxl.

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# "<!" opens a comment, a CDATA section or a markup declaration (DOCTYPE, and within it ENTITY,
# ELEMENT, ATTLIST, NOTATION); only the first two are let through.
_MARKUP_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
# Bytes after "<!" needed to tell "<![CDATA[" from a declaration: kept from one read for the next.
_DECLARATION_CONTEXT = len(b"<![CDATA[") - 1
_HEAD_BYTES = 1 << 16
_XML_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml\s(.*?)\?>", re.S)
_XML_DECLARATION_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml\s")
_XML_ENCODING = re.compile(rb"\bencoding\s*=\s*([\"'])(.*?)\1", re.S)
_UTF8_NAMES = {b"utf-8", b"utf8", b"us-ascii", b"ascii"}
# Byte order marks of UTF-16 and UTF-32 (UTF-32 LE starts like UTF-16 LE).
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


# The size of a worksheet since Excel 2007 (Excel's specifications and limits): columns A to XFD,
# rows 1 to 1,048,576. A cell reference beyond them is no spreadsheet's: read as written, one
# r="AAAAAAA1" asked for a row of 321 million cells.
MAX_COLUMNS = 16_384
MAX_ROWS = 1_048_576
# The parser builds a whole row before its end is seen, so the elements between two row ends are
# bounded too (a cell is two or three: <c>, <v>, <f>; an inline rich string a few more), or a row
# of a hundred million empty elements would take gigabytes before its cells are counted.
MAX_ELEMENTS_PER_ROW = MAX_COLUMNS * 8
MAX_ELEMENTS_PER_PART = 500_000
# The memory the shared strings may take (a 200,000-row roster's take about 40 MB).
SHARED_STRINGS_MAX_BYTES = 128 * 1024 * 1024


def _column_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


_COLUMNS = {_column_letters(index): index for index in range(MAX_COLUMNS)}


# Format ids that ECMA-376 (Part 1, 18.8.30) reserves for East Asian dates and times and that a
# file names without defining them: Excel in Chinese writes 31 for yyyy"年"m"月"d"日", 27 and 57
# for yyyy"年"m"月", 28 and 58 for m"月"d"日". openpyxl's BUILTIN_FORMATS lacks them, so without
# this list such cells arrive as serial numbers (25689 for 1970-05-01).
CJK_DATE_FORMAT_IDS = frozenset([*range(27, 37), *range(50, 59)])

# Merged blocks are filled only within the first 256 columns (A:IV, the width of an .xls sheet):
# a roster has a few dozen columns, and one merge spanning A:XFD must not turn every row of the
# sheet into 16,384 cells. More ranges than a sheet may have rows is not a roster either.
MERGE_FILL_MAX_COLUMNS = 256
MERGE_MAX_RANGES = 200_000
_MERGE_CELL = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?\bref\s*=\s*[\"']\s*([A-Z]{1,3})(\d{1,7})"
    rb"(?::([A-Z]{1,3})(\d{1,7}))?\s*[\"']"
)


# Elements of the parts openpyxl streams: the depth of one record (a row, a shared string) and
# how many records it may keep. A record may hold MAX_ELEMENTS_PER_ROW elements; all else of a
# part counts against MAX_ELEMENTS_PER_PART.
_STREAMED_PARTS = {
    f"{_MAIN}worksheet": (3, MAX_ROWS + MERGE_MAX_RANGES),
    f"{_MAIN}sst": (2, 2_000_000),
}


class _NotSimple(Exception):
    """The workbook uses something the fast reader leaves to openpyxl."""


def _safe_open(archive, name) -> "_GuardedPart":
    """Open an XML part of the workbook through _GuardedPart."""
    return _GuardedPart(archive.open(name))


class _GuardedPart:
    """An XML part read through a check of every byte on its way to the parser: a markup
    declaration (<!DOCTYPE, where entities are declared) is refused wherever it stands, as
    defusedxml makes openpyxl do. Only the prolog may hold one, but a prolog may be megabytes of
    white space, so the whole part is checked, a read at a time, not its first bytes; the last
    bytes of each read are searched again with the next, so that a "<!" cut in two is judged
    whole. The check reads bytes as ASCII, so a part in any other encoding (UTF-16 hides
    "<!DOCTYPE" between NUL bytes) is refused as well: Excel and every other producer seen write
    UTF-8. A "<!x" inside a comment or a CDATA section is refused too; no spreadsheet program
    writes one."""

    def __init__(self, part):
        self._part = part
        self._tail = b""
        head = part.read(_HEAD_BYTES)
        if not _is_utf8_xml(head):
            part.close()
            raise ReadError(FILE_UNSAFE_XML)
        self._check(head, final=False)
        self._pending = head

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        self._part.close()

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data, self._pending = self._pending + self._checked_read(-1), b""
            return data
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        return self._checked_read(size)

    def _checked_read(self, size: int) -> bytes:
        chunk = self._part.read(size)
        self._check(chunk, final=size < 0 or (size > 0 and not chunk))
        return chunk

    def _check(self, chunk: bytes, *, final: bool) -> None:
        text = self._tail + chunk
        match = _MARKUP_DECLARATION.search(text)
        # A "<!" in the last few bytes is judged with the next read, or now if there is none.
        if match and (final or match.start() + _DECLARATION_CONTEXT < len(text)):
            raise ReadError(FILE_UNSAFE_XML)
        self._tail = text[-_DECLARATION_CONTEXT:]


def _is_utf8_xml(head: bytes) -> bool:
    """No UTF-16/32 byte order mark, no NUL byte (never valid in XML, always in UTF-16/32 text),
    and no XML declaration naming an encoding other than UTF-8 (or its subset ASCII)."""
    if head.startswith(_WIDE_BOMS) or b"\x00" in head:
        return False
    declaration = _XML_DECLARATION.match(head)
    if declaration is None:
        # A declaration that does not end within the head may name any encoding.
        return not _XML_DECLARATION_START.match(head)
    if b"encoding" in declaration.group(1):
        encoding = _XML_ENCODING.search(declaration.group(1))
        return bool(encoding) and encoding.group(2).strip().lower() in _UTF8_NAMES
    return True


def _fast_xlsx_rows(data: bytes, aliases):
    from xml.etree.ElementTree import ParseError, iterparse

    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        with _safe_open(archive, "xl/workbook.xml") as part:
            workbook = _whole_tree(part, iterparse)
        with _safe_open(archive, "xl/_rels/workbook.xml.rels") as part:
            rels = _whole_tree(part, iterparse)
    except ReadError:
        raise
    except (KeyError, ParseError, zipfile.BadZipFile, RuntimeError):
        # RuntimeError: an encrypted member. Let openpyxl say what is wrong.
        raise _NotSimple from None
    properties = workbook.find(f"{_MAIN}workbookPr")
    epoch_1904 = properties is not None and properties.get("date1904") in ("1", "true")
    targets = {rel.get("Id"): rel.get("Target") for rel in rels.iter(f"{_PKG_REL}Relationship")}
    sheets = []
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        target = target.lstrip("/")
        path = target if target.startswith("xl/") else "xl/" + target
        if path not in names:
            raise _NotSimple
        sheets.append(path)
    if not sheets:
        raise _NotSimple
    strings = []
    try:
        if "xl/sharedStrings.xml" in names:
            with _safe_open(archive, "xl/sharedStrings.xml") as part:
                strings = _shared_strings(part, iterparse)
        date_styles = set()
        if "xl/styles.xml" in names:
            with _safe_open(archive, "xl/styles.xml") as part:
                styles = _whole_tree(part, iterparse)
            formats = dict(BUILTIN_FORMATS)
            for fmt in styles.iter(f"{_MAIN}numFmt"):
                formats[int(fmt.get("numFmtId"))] = fmt.get("formatCode", "")
            xfs = styles.find(f"{_MAIN}cellXfs")
            for index, xf in enumerate(xfs if xfs is not None else []):
                format_id = int(xf.get("numFmtId", "0"))
                code = formats.get(format_id, "")
                if (code and is_date_format(code)) or (
                    format_id in CJK_DATE_FORMAT_IDS and format_id not in formats
                ):
                    date_styles.add(str(index))
    except ParseError:
        raise ReadError(FILE_CORRUPT) from None
    lookup = _lookup(aliases)
    chosen = sheets[0]
    for path in sheets:
        head = _sheet_rows(
            archive, path, strings, date_styles, epoch_1904, limit=HEADER_SEARCH_ROWS
        )
        if any(header_key(cell) in lookup for _n, cells in head for cell in cells if cell):
            chosen = path
            break
    merges = _merged_ranges(archive, chosen)
    return _sheet_rows(archive, chosen, strings, date_styles, epoch_1904, merges=merges)


def _whole_tree(part, iterparse):
    """A part read whole (the workbook, its relationships, the styles), with a bound on its
    elements: 4 bytes of "<x/>" become an element of about 80 bytes, so 400 MB of them would
    take 8 GB. A workbook bloated with styles has a few hundred thousand."""
    tree = iterparse(part, events=("start",))
    for elements, _event in enumerate(tree, start=1):
        if elements > MAX_ELEMENTS_PER_PART:
            raise ReadError(FILE_CORRUPT)
    return tree.root


def _shared_strings(part, iterparse) -> list[str]:
    """The shared strings, each <si> taken out of the parser's tree once read, within a memory
    budget: left in the tree, 90 KB of zipped "<si><t>ab</t></si>" took 280 MB."""
    si_tag = f"{_MAIN}si"
    strings = []
    root = None
    elements = size = 0
    for event, element in iterparse(part, events=("start", "end")):
        if event == "start":
            elements += 1
            if elements > MAX_ELEMENTS_PER_ROW:
                raise ReadError(FILE_CORRUPT)
            if root is None:
                root = element
            continue
        if element.tag != si_tag:
            continue
        text = _rich_text(element)
        size += sys.getsizeof(text) + 8
        if size > SHARED_STRINGS_MAX_BYTES:
            raise ReadError(
                SHARED_STRINGS_TOO_LARGE % {"limit": SHARED_STRINGS_MAX_BYTES // 1024 // 1024}
            )
        strings.append(text)
        elements = 0
        root.clear()
    return strings


def _rich_text(element) -> str:
    """A shared or inline string: rich-text runs joined, phonetic runs (rPh) left out."""
    parts = []
    for child in element:
        if child.tag == f"{_MAIN}t":
            parts.append(child.text or "")
        elif child.tag == f"{_MAIN}r":
            parts.append(child.findtext(f"{_MAIN}t") or "")
    return "".join(parts)


def _cell_column(ref: str, row: int) -> int:
    """The column, from 0, of a cell reference such as "C12": refused beyond XFD."""
    letters = ref.rstrip("0123456789")
    column = _COLUMNS.get(letters)
    if column is None:
        column = _COLUMNS.get(letters.upper()) if len(letters) <= 3 else None
    if column is None:
        if not (letters.isascii() and letters.isalpha()):
            raise ReadError(FILE_CORRUPT)
        raise ReadError(COLUMN_BEYOND_SHEET % {"row": row, "limit": MAX_COLUMNS})
    return column


def _column_index(ref: str) -> int:
    """The column, from 0, of a reference of at most three letters (a merged range's)."""
    index = 0
    for char in ref:
        if char.isdigit():
            break
        index = index * 26 + ord(char) - 64
    return index - 1


def _merged_ranges(archive, path) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges as (first row, first column, last row, last column), rows
    numbered from 1 and columns from 0, sorted by first row. <mergeCells> follows <sheetData>, so
    it is found in a pass of its own before the rows are read; a regular expression over the
    bytes is enough, since a "<" in text is always escaped."""
    ranges = set()
    tail = b""
    with archive.open(path) as part:
        while chunk := part.read(1 << 20):
            # The last bytes of the previous chunk are searched again so that a tag cut in two
            # is found; the set removes the one found twice.
            text = tail + chunk
            for match in _MERGE_CELL.finditer(text):
                first_column, first_row, last_column, last_row = match.groups()
                if last_column is None:
                    continue
                rows = sorted((int(first_row), int(last_row)))
                columns = sorted(
                    (_column_index(first_column.decode()), _column_index(last_column.decode()))
                )
                if columns[0] < MERGE_FILL_MAX_COLUMNS:
                    ranges.add((rows[0], columns[0], rows[1], columns[1]))
            if len(ranges) > MERGE_MAX_RANGES:
                raise ReadError(FILE_CORRUPT)
            tail = text[-4096:]
    return sorted(ranges)


def _fill_merged(number, cells, merges, state):
    """Give every cell of a merged range the value of its top-left cell, as the sheet shows it (a
    安置方式 written once beside several workers applies to each of them). `state` carries the
    position in the sorted ranges, the ranges that are open and their values, across rows."""
    while state["next"] < len(merges) and merges[state["next"]][0] <= number:
        state["open"].append(merges[state["next"]])
        state["next"] += 1
    if not state["open"]:
        return
    state["open"] = [merge for merge in state["open"] if merge[2] >= number]
    values = state["values"]
    for merge in state["open"]:
        first_row, first_column, _last_row, last_column = merge
        if number == first_row:
            values[merge] = cells[first_column] if first_column < len(cells) else None
        value = values.get(merge)
        last_column = min(last_column, MERGE_FILL_MAX_COLUMNS - 1)
        if last_column >= len(cells):
            cells.extend([None] * (last_column + 1 - len(cells)))
        for column in range(first_column, last_column + 1):
            cells[column] = value
    for merge in [merge for merge in values if merge[2] <= number]:
        del values[merge]


def _sheet_rows(archive, path, strings, date_styles, epoch_1904, limit=None, merges=()):
    from xml.etree.ElementTree import ParseError, iterparse

    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    epoch = CALENDAR_MAC_1904 if epoch_1904 else CALENDAR_WINDOWS_1900
    row_tag, sheet_data_tag = f"{_MAIN}row", f"{_MAIN}sheetData"
    expected = rows = elements = 0
    sheet_data = None
    merge_state = {"next": 0, "open": [], "values": {}}
    try:
        with _safe_open(archive, path) as part:
            # Start events only to find <sheetData>, so that each row read leaves it: they cost
            # about a fifth of this loop (100,000 roster rows: 3.9 s -> 4.6 s, a few per cent of
            # an import), and a 28 KB file of a million empty rows takes 5 MB, not 85 MB.
            for event, element in iterparse(part, events=("start", "end")):
                if event == "start":
                    # Counted as they open: elements nested a million deep are all built before
                    # the first of them ends.
                    elements += 1
                    if elements > MAX_ELEMENTS_PER_ROW:
                        raise ReadError(FILE_CORRUPT)
                    if sheet_data is None and element.tag == sheet_data_tag:
                        sheet_data = element
                    continue
                if element.tag != row_tag:
                    if element is sheet_data:
                        return  # what follows the rows (merged ranges) is read on its own
                    continue
                elements = 0
                rows += 1
                number = int(element.get("r") or expected + 1)
                if number > MAX_ROWS or rows > MAX_ROWS:
                    raise ReadError(ROW_BEYOND_SHEET % {"limit": MAX_ROWS})
                if number < 1:
                    raise ReadError(FILE_CORRUPT)
                expected = number
                cells = _row_cells(element, number, strings, date_styles, epoch, from_excel)
                # The row is read: it leaves the tree the parser builds, which stays small.
                if sheet_data is not None:
                    sheet_data.clear()
                else:
                    element.clear()
                if merges:
                    _fill_merged(number, cells, merges, merge_state)
                yield number, cells
                if limit and number >= limit:
                    return
    except ParseError:
        raise ReadError(FILE_CORRUPT) from None


def _row_cells(element, number, strings, date_styles, epoch, from_excel) -> list:
    """The values of one <row>, a cell's place taken from its reference where it has one."""
    cell_tag, value_tag, inline_tag = f"{_MAIN}c", f"{_MAIN}v", f"{_MAIN}is"
    cells = []
    for cell in element:
        if cell.tag != cell_tag:
            continue
        ref = cell.get("r")
        if ref:
            column = _cell_column(ref, number)
            if column > len(cells):
                cells.extend([None] * (column - len(cells)))
        if len(cells) >= MAX_COLUMNS:
            raise ReadError(COLUMN_BEYOND_SHEET % {"row": number, "limit": MAX_COLUMNS})
        kind = cell.get("t")
        if kind == "inlineStr":
            inline = cell.find(inline_tag)
            cells.append(_rich_text(inline) if inline is not None else None)
            continue
        value = cell.findtext(value_tag)
        if value is None:
            cells.append(None)
        elif kind == "s":
            cells.append(strings[int(value)])
        elif kind in ("str", "e"):
            cells.append(value)
        elif kind == "b":
            cells.append(value == "1")
        elif kind == "d":
            cells.append(parse_iso_datetime(value))
        else:
            number_value = _number(value)
            if cell.get("s") in date_styles:
                with contextlib.suppress(ValueError, OverflowError, TypeError):
                    number_value = from_excel(number_value, epoch)
            cells.append(number_value)
    return cells


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_iso_datetime(value: str):
    try:
        return datetime.datetime.fromisoformat(value.rstrip("Z"))
    except ValueError:
        return value


# --- .xls -----------------------------------------------------------------------------------------


def _xls_rows(data: bytes, aliases):
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise ReadError(FILE_ENCRYPTED) from None
        raise ReadError(FILE_CORRUPT) from None
    except Exception:  # noqa: BLE001
        raise ReadError(FILE_CORRUPT) from None
    lookup = _lookup(aliases)
    sheet = book.sheet_by_index(0)
    for index in range(book.nsheets):
        candidate = book.sheet_by_index(index)
        found = any(
            header_key(value) in lookup
            for r in range(min(candidate.nrows, HEADER_SEARCH_ROWS))
            for value in candidate.row_values(r)
            if value not in (None, "")
        )
        if found:
            sheet = candidate
            break
    return _xls_iter(sheet, book.datemode)


def _xls_iter(sheet, datemode):
    import xlrd

    for r in range(sheet.nrows):
        cells = []
        for cell in sheet.row(r):
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    cells.append(xlrd.xldate_as_datetime(cell.value, datemode))
                except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                    cells.append(cell.value)
            elif cell.ctype == xlrd.XL_CELL_NUMBER:
                value = cell.value
                cells.append(int(value) if value.is_integer() and abs(value) < 1e15 else value)
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                cells.append(None)
            else:
                cells.append(cell.value)
        yield r + 1, cells


# --- .csv -----------------------------------------------------------------------------------------


def _decode(data: bytes, aliases) -> str:
    """Strict UTF-8 (with or without BOM) first: gb18030 "decodes" UTF-8 into garbage without an
    error, so it is tried only when UTF-8 fails (PITFALLS.md); the header search then confirms."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ReadError(ENCODING_UNKNOWN) from None


def _csv_rows(data: bytes, aliases):
    text = _decode(data, aliases)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    yield from enumerate(reader, start=1)


# --- Dates ----------------------------------------------------------------------------------------


class MonthDate(datetime.date):
    """A date known to the month only (出生年月 1970.05, 1970年5月): the day is the 1st."""


_DATE_PATTERNS = [
    # 1970-05-01, 1970/5/1, 1970.5.1, 1970年5月1日
    (re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$"), False),
    # 1970-05, 1970.05, 1970/5, 1970年5月
    (re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$"), True),
    # 19700501
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), False),
    # 197005
    (re.compile(r"^(\d{4})(\d{2})$"), True),
]


def parse_date(value) -> datetime.date | None:
    """A date from an Excel date cell or from text in the forms rosters use; a MonthDate when only
    the month is given. Raises ValueError when it cannot be read."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, float | int) and not isinstance(value, bool):
        # "1970.05" typed into a number cell arrives as 1970.05 and a plain 19700501 as an int;
        # 1970.1 may have been 1970.10 or 1970.1 (January): refused, not guessed.
        # A float written in exponent form (1e+16), inf or nan has no such digits: refused too.
        text = repr(value) if isinstance(value, float) else str(value)
        if isinstance(value, float):
            whole, _dot, fraction = text.partition(".")
            if not whole.isdigit() or len(fraction) != 2 or not fraction.isdigit():
                raise ValueError(text)
    else:
        text = clean_text(unicodedata.normalize("NFKC", str(value)))
    if " " in text and ":" in text:
        text = text.split(" ")[0]
    for pattern, month_only in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if month_only:
                return MonthDate(year, month, 1)
            return datetime.date(year, month, int(match.group(3)))
    raise ValueError(text)
