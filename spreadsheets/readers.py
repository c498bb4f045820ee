"""Spreadsheet files in, clean rows out: the format and encoding are sniffed, the header row is
found by its names, title rows, a 序号 column, blank rows and a 合计 row are skipped, and every text
cell is cleaned (NFKC, no invisible format characters, no stray spaces). .xlsx, .xls and .ods are
read by python-calamine after the zip has been checked (.xlsx, .ods); .csv by the csv module.

Nothing here knows what a worker or an enterprise is: callers pass the header aliases they accept.
"""

import contextlib
import contextvars
import csv
import datetime
import io
import itertools
import logging
import re
import sys
import threading
import traceback
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import Error as DatabaseError
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
SHEET_TOO_LARGE = _(
    "工作表的数据区域达 %(rows)s 行 × %(columns)s 列，超过 %(limit)s 个单元格的上限，"
    "疑似异常文件，已拒绝；如确有这么多数据，请分批导入"
)
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
# Both in one table, one str.translate a cell: a third of the time of a translate followed by a
# regular expression over the invisible characters (660,000 non-ASCII cells: 0.6 s against 2.0 s).
# No full-width character maps to an invisible one, so the order of the two never mattered.
_CLEAN_TABLE = {**_FULL_WIDTH, **dict.fromkeys(map(ord, _INVISIBLE_CHARS))}


def clean_text(value: str) -> str:
    """Full-width digits, letters and spaces to ASCII, drop Unicode format characters (U+200B
    zero-width space, which NFKC keeps) and control characters other than tab and line breaks
    (NUL), trim and collapse runs of spaces."""
    if value.isascii():
        # isprintable() is False for every ASCII control character: the table runs only then.
        text = value if value.isprintable() else value.translate(_CLEAN_TABLE)
    else:
        text = value.translate(_CLEAN_TABLE)
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
    # Rows of the sheet below the header row, blank ones included (None for a .csv): what a
    # progress bar counts towards.
    total: int | None = None

    def header(self, name: str) -> str:
        return self.columns[name][1] if name in self.columns else name


# --- Format sniffing ------------------------------------------------------------------------------

_ZIP = b"PK\x03\x04"
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def _sniff(data: bytes, filename: str) -> str:
    if data.startswith(_ZIP):
        return "zip"
    if data.startswith(_CFB):
        # An .xlsx with an open password is an OLE container holding EncryptionInfo.
        if _ENCRYPTION_STREAM in data[:65536] or _ENCRYPTION_STREAM in data:
            raise ReadError(FILE_ENCRYPTED)
        return "xls"
    if filename.lower().endswith((".xlsx", ".xls", ".xlsm", ".ods")):
        raise ReadError(FILE_CORRUPT)
    return "csv"


def read_table(
    data: bytes,
    *,
    filename: str,
    aliases: dict[str, list[str]],
    required: list[str],
    max_rows: int | None = None,
    meanwhile: Callable[[int | None], None] | None = None,
) -> Table:
    """Open a spreadsheet (.xlsx, .xls, .ods or .csv, by content), find its header row and return
    its data rows as (row number as the spreadsheet shows it, cleaned cells).

    `meanwhile(rows)`, if given, is the caller's own work done while calamine builds the sheet
    (about a second for 100,000 rows, during which calamine lets other threads run): it is
    called in this thread, once, with the rows the sheet's XML holds (None where the file gives
    no measure before calamine, as an .xls), after the file's checks. Its exceptions are raised
    as they are, never taken for a broken file; a .csv does not call it."""
    limit = settings.LEDGER_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ReadError(
            FILE_TOO_LARGE % {"size": _mb(len(data)), "limit": _mb(limit)},
        )
    if not data.strip():
        raise ReadError(FILE_EMPTY)
    kind = _sniff(data, filename)
    try:
        with _corrupt_file_errors():
            if kind == "csv":
                raw_rows, total = _csv_rows(data, aliases), None
            else:
                raw_rows, total = _calamine_rows(data, kind, aliases, meanwhile)
    except _MeanwhileFailed as failed:
        raise failed.error from None
    table = _table(_guarded(raw_rows), aliases=aliases, required=required, max_rows=max_rows)
    if total is not None:
        table.total = max(total - table.header_row, 0)
    observer = table_observer.get()
    if observer is not None:
        observer(table)
    return table


# Who wants to know of each table read in this context (a background import job: the number of
# rows for its progress bar). The import services call read_table deep down and need not pass it.
table_observer: contextvars.ContextVar = contextvars.ContextVar("table_observer", default=None)
# Who wants to know, before the sheet is read, how many rows it says it has: a .xlsx names its
# extent (<dimension ref="A1:M100004"/>) in its first bytes, so a progress bar has its total
# within a fraction of a second instead of after the zip checks and calamine (about 3 s for
# 100,000 rows). Only an estimate, for the bar: the table's own count replaces it, and the
# extent that bounds what calamine builds is measured from the cells, never taken from here.
rows_observer: contextvars.ContextVar = contextvars.ContextVar("rows_observer", default=None)


@contextlib.contextmanager
def _corrupt_file_errors():
    """A broken file makes the zip, calamine and csv modules raise almost anything (zlib.error,
    BadZipFile for a bad CRC, CalamineError, csv.Error, ValueError): whatever escapes a reader is
    the file's fault and becomes FILE_CORRUPT rather than a server error. ReadError passes
    unchanged, as do MemoryError and a database error (an observer's: a job's progress saved as
    the file is read; a job retries it, where "corrupt" would end it)."""
    try:
        yield
    except (ReadError, MemoryError, _MeanwhileFailed, DatabaseError):
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


class _MeanwhileFailed(Exception):  # noqa: N818 - carries the error, is not one
    """The caller's `meanwhile` work failed: its error, carried past the mapping of reading
    errors to FILE_CORRUPT."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = error


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
        columns, unused = _header_cells(cells, lookup)
        if columns and all(name in columns for name in required):
            header = list(cells)
            while True:
                iterator, below = _header_row_below(iterator, lookup, columns, header, required)
                if below is None:
                    break
                row_number, header, columns, unused = below
            iterator = _without_legend_rows(iterator)
            used = sorted(index for index, _header in columns.values())
            rows = _data_rows(iterator, max_rows, used)
            # A header merged across columns (a group's) is named once.
            unread = list(dict.fromkeys(text for _index, text in unused))
            return Table(columns, row_number, rows, unread)
    required_names = "”“".join(str(aliases[name][0]) for name in required)
    raise ReadError(HEADER_NOT_FOUND % {"rows": HEADER_SEARCH_ROWS, "required": required_names})


def _header_cells(cells, lookup) -> tuple[dict, list[tuple[int, str]]]:
    """A header row's known columns (field name -> (index, header as written), the first of
    each) and its other headers as (index, text)."""
    columns: dict[str, tuple[int, str]] = {}
    unused = []
    for index, cell in enumerate(cells):
        if type(cell) is float and cell.is_integer():
            cell = int(cell)  # a number in the header row, named as it was typed
        key = header_key(cell)
        name = lookup.get(key)
        if name and name not in columns:
            columns[name] = (index, clean_text(str(cell)))
        elif key and key not in ROW_NUMBER_HEADERS:
            unused.append((index, clean_text(str(cell))))
    return columns, unused


def _header_row_below(iterator, lookup, columns, header, required):
    """The row under the header row(s), when it continues them, as rosters group columns:
    安置情况 over 安置方式, 安置时间 and 安置单位, the other headers merged down (calamine's rows
    repeat them) or left blank. It continues them when it holds no number or date, and under the
    columns found so far only blanks, 序号, the header above merged down or a known name (a group
    header that is itself a name, 岗位 over 是否特殊工种 and 工种); elsewhere any text (安置岗位
    under 安置情况, left unread). A data row always fails: its name and ID number stand under
    columns found. Its headers replace those above them (a group header yields to its
    sub-headers) and the columns are found again in the header so combined, except under a group
    about another party (紧急联系人 or 接收单位 over 联系电话: left unread, never the worker's). A
    sub-header naming a column found elsewhere above (统一社会信用代码 under 上级集团公司) says its
    group is about someone else: the row is not taken, and is read (and refused) as data, never
    silently as the row's own. A row of headers merged down only is passed over. Returns the rows
    left and (the row's number, the combined header, its columns, its other headers as (index,
    text)) or None, with the row put back."""
    following = next(iterator, None)
    if following is None:
        return iterator, None
    number, cells = following
    refused = itertools.chain([following], iterator), None
    if any(type(cell) not in (str, type(None)) for cell in cells):
        return refused
    found_at = {index for index, _header in columns.values()}
    combined = list(header) + [None] * (len(cells) - len(header))
    replaced = set()
    repeated = 0
    others = []  # headers under a group about another party
    for index, cell in enumerate(cells):
        key = header_key(cell)
        if not key or key in ROW_NUMBER_HEADERS:
            continue
        if key == header_key(combined[index]):
            repeated += 1
            continue
        if index in found_at and not lookup.get(key):
            return refused  # a worker's name or number under its column
        if _OTHER_PARTY.search(header_key(combined[index])):
            others.append((index, clean_text(str(cell))))
            continue
        combined[index] = cell
        replaced.add(index)
    if not replaced:
        if repeated + len(others) >= 2:  # the headers merged down once more
            found, unused = _header_cells(combined, lookup)
            return iterator, (number, combined, found, unused + others)
        return refused
    if not any(lookup.get(header_key(combined[index])) for index in replaced):
        return refused
    found, unused = _header_cells(combined, lookup)
    if not all(name in found for name in required):
        return refused
    for index in replaced:
        above = columns.get(lookup.get(header_key(combined[index])))
        if above is not None and above[0] != index and above[0] not in replaced:
            return refused  # 名称 under 上级集团公司: another's columns, never the row's own
    return iterator, (number, combined, found, unused + others)


# A group header about another person than the worker (紧急联系人, 家属情况, 配偶) or about an
# employer (接收单位, 原企业): the headers under it (关系, 单位名称, 联系电话) are theirs, left
# unread; a column of the row's own is never read from under it.
_OTHER_PARTY = re.compile("联系人|家属|家庭|配偶|亲属|监护人|紧急|单位|企业|公司")


# Under a form's header, the row that numbers its columns (栏次: 甲 乙 1 2 3 …) and the row that
# gives their units (（单位：人）, （人）, （元）): neither is a worker.
_COLUMN_NUMBER_LABELS = frozenset({"栏次", "栏号", "序号"})
_COLUMN_LETTERS = "甲乙丙丁戊己庚辛壬癸"
_UNIT = re.compile(r"[（(]?\s*(?:计量)?单位\s*[:：].*|[（(][^（()）]{1,4}[)）]")
_LEGEND_ROWS_MAX = 2


def _without_legend_rows(iterator):
    """The rows below the header, without the rows right under it that number the columns or give
    their units (at most two): 栏次 | 甲 | 乙 | 1 | 2 | 3 — a label, then the column letters 甲乙丙…
    in order, then the numbers 1, 2, 3 … in order, three at least — or every cell a unit. A
    worker's row holds a name and an ID number, never such a row."""
    for _row in range(_LEGEND_ROWS_MAX):
        following = next(iterator, None)
        if following is None:
            return iterator
        if not _is_legend_row(following[1]):
            return itertools.chain([following], iterator)
    return iterator


def _is_legend_row(cells) -> bool:
    filled = []
    for cell in cells:
        if cell is None:
            continue
        if type(cell) is float and cell.is_integer():
            cell = int(cell)
        if type(cell) is str:
            cell = clean_text(cell)
            if not cell:
                continue
            if cell.isdigit() and cell.isascii():
                cell = int(cell)
        if type(cell) not in (int, str):
            return False
        filled.append(cell)
    if not filled:
        return False
    if all(type(cell) is str and _UNIT.fullmatch(cell) for cell in filled):
        return True
    if type(filled[0]) is str and filled[0] in _COLUMN_NUMBER_LABELS:
        filled = filled[1:]
    letters = 0
    while letters < len(filled) and filled[letters] == _COLUMN_LETTERS[letters : letters + 1]:
        letters += 1
    numbers = filled[letters:]
    return len(filled) >= 3 and numbers == list(range(1, len(numbers) + 1))


# A cleaned cell that is a total row's marker: TOTAL_MARKERS with their spaces taken out, as
# cleaning leaves them (trimmed, a run of spaces made one).
_TOTAL_CELLS = frozenset(
    form for marker in TOTAL_MARKERS if " " not in marker for form in (marker, " ".join(marker))
)
# Distinct texts remembered per column: a roster's sex, post, channel and date columns repeat a
# few values, so most of its cells are cleaned once (1.3 million cells, 300,000 distinct, of which
# the ID numbers, names and phones are nearly all); a column of unique values stops being
# remembered at the limit.
_COLUMN_CACHE_LIMIT = 4096


def _data_rows(iterator, max_rows: int, used: list[int] = ()):
    """The rows below the header, cleaned (text by clean_text, an empty text None, a whole float
    an int), without blank and total rows. One pass over each row's cells, with the cleaning of a
    text looked up in its column's cache first: 2.8 s of CPU for 100,000 rows became 0.5 s.

    A row with nothing in the columns read (`used`: a 序号 dragged down below the data, a
    signature footer "单位负责人：…  填表人：…" in the first column) is blank, and one with a cell
    beginning with a total marker ("合计：2人") is a total: looked at only for rows that fill
    fewer cells than the columns read, so a full data row costs nothing more."""
    count = 0
    caches: list[dict] = []
    wanted = len(used)
    for row_number, cells in iterator:
        if len(caches) < len(cells):
            caches.extend({} for _ in range(len(cells) - len(caches)))
        cleaned = []
        blank = True
        total = False
        filled = 0
        for cell, cache in zip(cells, caches, strict=False):
            kind = type(cell)
            if kind is str:
                text = cache.get(cell)
                if text is None:
                    text = clean_text(cell)
                    if len(cache) < _COLUMN_CACHE_LIMIT:
                        cache[cell] = text
                if text:
                    blank = False
                    filled += 1
                    if text in _TOTAL_CELLS:
                        total = True
                    cleaned.append(text)
                else:
                    cleaned.append(None)
            elif cell is None:
                cleaned.append(None)
            else:
                if kind is float and cell.is_integer() and abs(cell) < 1e15:
                    # A whole number as it was typed; an ID number typed as a number has lost
                    # its digits either way and is refused later.
                    cell = int(cell)
                blank = False
                filled += 1
                cleaned.append(cell)
        if blank or total:
            continue
        if filled < wanted and _no_data(cleaned, used):
            continue
        count += 1
        if count > max_rows:
            raise ReadError(TOO_MANY_ROWS % {"limit": max_rows})
        yield row_number, cleaned


def _no_data(cleaned: list, used: list[int]) -> bool:
    """A row that fills none of the columns read, or begins a cell with a total marker."""
    width = len(cleaned)
    if all(index >= width or cleaned[index] is None for index in used):
        return True
    return any(type(cell) is str and _TOTAL_START.match(cell) for cell in cleaned)


# A total marker, then a colon, a space, a digit or nothing: "合计：2人", "合计 2 人" (not a post
# such as "总计划员", which begins with the same two characters).
_TOTAL_START = re.compile(r"(?:合\s?计|总\s?计|小\s?计)(?:[:：\s\d]|$)")


# --- .xlsx, .xls and .ods through calamine --------------------------------------------------------
# python-calamine (Rust's calamine) reads an 8-column, 100,000-row roster in about 1.2 s, ten
# times openpyxl's read-only mode (benchmarks/README.md), and reads .xls and .ods as well. What
# stays here is what calamine does not do for us: the guard rails below, run on the zip before
# calamine sees it, the merged blocks, and the cells' Python types.
#
# Calamine builds a sheet as one dense block from its first to its last cell, so one cell at
# XFD1048576 would take gigabytes (a 9 KB file with a cell at column "AAAAAAA" got the process
# killed): the sheet's extent is measured from the XML first and bounded. It does not expand
# XML entities (an entity it does not know is an error), but a DOCTYPE is still refused outright,
# as defusedxml made openpyxl do.

MAX_COLUMNS = 16_384
MAX_ROWS = 1_048_576
# The cells calamine may build for one sheet (its extent, rows × columns, empty ones included):
# 200,000 roster rows of 50 columns fit; about 32 bytes a cell in Rust, 320 MB at most.
MAX_CELLS = 10_000_000
# The shared strings part is read whole into memory (a 200,000-row roster's is about 40 MB).
SHARED_STRINGS_MAX_BYTES = 128 * 1024 * 1024

# Merged blocks are filled only within the first 256 columns (A:IV, the width of an .xls sheet):
# a roster has a few dozen columns, and one merge spanning A:XFD must not turn every row of the
# sheet into 16,384 cells. More ranges than a sheet may have rows is not a roster either.
MERGE_FILL_MAX_COLUMNS = 256
MERGE_MAX_RANGES = 200_000

_MARKUP_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
# "<![CDATA[" less one byte: a "<!" in the last bytes of a read is judged with the next one.
_DECLARATION_CONTEXT = len(b"<![CDATA[") - 1
_HEAD_BYTES = 1 << 16
_CHUNK = 1 << 20
_XML_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml\s(.*?)\?>", re.S)
_XML_DECLARATION_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml\s")
_XML_ENCODING = re.compile(rb"\bencoding\s*=\s*([\"'])(.*?)\1", re.S)
_UTF8_NAMES = {b"utf-8", b"utf8", b"us-ascii", b"ascii"}
# Byte order marks of UTF-16 and UTF-32 (UTF-32 LE starts like UTF-16 LE).
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")

# In a worksheet part: a cell's reference (r="AB12"), a row's number (<row r="12">), and cells
# and rows counted by their tags. Regular expressions over the bytes, a read at a time: the sheet
# is measured in about 0.1 s per 100,000 roster rows, without building any element.
# Every r="…" attribute: a row's number (digits only) or a cell's reference (letters, digits).
_REF = re.compile(rb"\sr\s*=\s*[\"']\s*([A-Za-z]*)(\d*)")
# The usual form of every reference, and what a read holds where some reference may be
# written otherwise (see _references).
_PLAIN_REF_LETTERS = re.compile(rb' r="([A-Za-z]+)')
_PLAIN_REF_NUMBERS = re.compile(rb' r="[A-Za-z]*(\d+)')
_OTHER_FORMS = (b"\t", b"\n", b"\r", b" =", b"= ", b"='", b'=" ')
# Cells and rows with a namespace prefix (<x:c>): counted by a regular expression, only in files
# that have them; the usual ones by bytes.count.
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s/>]")
_PREFIXED_ROW = re.compile(rb"<[A-Za-z_][\w.-]*:row[\s/>]")
_ANY_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(row|c)(\s[^>]*|/)?>")
_REF_IN_TAG = re.compile(rb"\br\s*=\s*[\"']\s*([A-Za-z]*)(\d*)")
_DATE1904 = re.compile(rb"\bdate1904\s*=\s*[\"']\s*(1|true)")
# ODS repeats a cell or a row by an attribute: LibreOffice writes empty ones by the thousand
# (calamine skips those), but a repeated cell with a value is built that many times.
_ODS_REPEAT = re.compile(rb"number-(columns|rows)-repeated\s*=\s*[\"']\s*(\d+)")


class _GuardedPart:
    """An XML part read through a check of every byte: a markup declaration (<!DOCTYPE, where
    entities are declared) is refused wherever it stands. Only the prolog may hold one, but a
    prolog may be megabytes of white space, so the whole part is checked, a read at a time; the
    last bytes of each read are searched again with the next, so that a "<!" cut in two is judged
    whole. The check reads bytes as ASCII, so a part in any other encoding (UTF-16 hides
    "<!DOCTYPE" between NUL bytes) is refused as well: Excel, WPS and LibreOffice write UTF-8. A
    "<!x" inside a comment or a CDATA section is refused too; no spreadsheet program writes one."""

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


def _column_number(letters: bytes) -> int:
    """b"A" -> 1, b"XFD" -> 16384."""
    number = 0
    for char in letters.upper():
        number = number * 26 + char - 64
    return number


@dataclass
class _Extent:
    """How far a worksheet reaches, as its XML says: the last row and column holding a cell."""

    rows: int = 0
    columns: int = 0
    unreferenced: int = 0  # cells without a reference (placed after the one before them)

    def check(self) -> None:
        if self.rows > MAX_ROWS:
            raise ReadError(ROW_BEYOND_SHEET % {"limit": MAX_ROWS})
        width = max(self.columns, min(self.unreferenced, MAX_COLUMNS))
        if self.rows * width > MAX_CELLS:
            raise ReadError(
                SHEET_TOO_LARGE % {"rows": self.rows, "columns": width, "limit": MAX_CELLS}
            )


def _references(text: bytes) -> tuple[list[bytes], set[bytes]]:
    """The column letters of every reference that has some (one per cell that names its column)
    and the distinct row numbers of all of them, rows' and cells'. Excel, WPS, LibreOffice and
    openpyxl write every reference as ` r="A1"`: where a read holds no other white space than
    spaces and nothing of another form (a space or a line break around "=", a single quote, a
    space inside the quotes), two regular expressions with that literal start find exactly what
    _REF finds, in a third of its time (70 MB of sheet XML: 0.8 s against 2.0 s of CPU, most of
    it _REF building 1.4 million tuples). Anything else is measured by _REF itself."""
    if any(form in text for form in _OTHER_FORMS):
        refs = _REF.findall(text)
        letters = [found for found, _digits in refs if found]
        numbers = {digits for _letters, digits in refs}
        numbers.discard(b"")
        return letters, numbers
    return _PLAIN_REF_LETTERS.findall(text), set(_PLAIN_REF_NUMBERS.findall(text))


def _tags(text: bytes, opening: bytes) -> int:
    """How many tags `opening` (b"<c", b"<row") opens in `text`: followed by white space, ">"
    or "/" (`<cols>` is another tag). XML allows a tab or a line break after a tag's name as
    well as a space, and calamine reads `<c\t…>` as a cell. Two counts where every one is
    followed by a space, as in a sheet's data."""
    spaced = text.count(opening + b" ")
    if text.count(opening) == spaced:
        return spaced
    return spaced + sum(text.count(opening + end) for end in _TAG_NAME_ENDS)


# What may follow a tag's name, besides a space (XML's white space, "/>" and ">").
_TAG_NAME_ENDS = (b"\t", b"\n", b"\r", b">", b"/")


def _measure_sheet(archive, name: str) -> int:
    """Bound a worksheet before calamine builds it: no row beyond 1,048,576, no cell beyond XFD,
    and rows × columns within MAX_CELLS. Returns the sheet's rows."""
    extent = _Extent()
    row_tags = 0
    tail = b""
    with _GuardedPart(archive.open(name)) as part:
        while chunk := part.read(_CHUNK):
            # A tag cut in two by the read is found whole in the next: the tail is read again.
            text = tail + chunk
            cut = text.rfind(b"<")
            text, tail = (text[:cut], text[cut:]) if cut > 0 else (text, b"")
            if len(tail) > _CHUNK:
                raise ReadError(FILE_CORRUPT)  # one tag longer than a megabyte
            letters, numbers = _references(text)
            # A roster's cells name a few dozen distinct columns: each is measured once.
            for found in set(letters):
                column = _column_number(found)
                if column > MAX_COLUMNS:
                    row = next((int(d) for n, d in _REF.findall(text) if n == found and d), "?")
                    raise ReadError(COLUMN_BEYOND_SHEET % {"row": row, "limit": MAX_COLUMNS})
                extent.columns = max(extent.columns, column)
            if numbers:
                extent.rows = max(extent.rows, *map(int, numbers))
            cells = _tags(text, b"<c")
            rows = _tags(text, b"<row")
            # A prefix needs a colon: most reads of a roster's sheet hold none at all.
            if b":" in text and (b":c" in text or b":row" in text):
                cells += len(_PREFIXED_CELL.findall(text))
                rows += len(_PREFIXED_ROW.findall(text))
            extent.unreferenced += max(cells - len(letters), 0)
            row_tags += rows
            if row_tags > MAX_ROWS:
                raise ReadError(ROW_BEYOND_SHEET % {"limit": MAX_ROWS})
    extent.rows = max(extent.rows, row_tags)
    if extent.unreferenced > MAX_COLUMNS:
        _find_wide_row(archive, name)
    extent.check()
    return extent.rows


def _find_wide_row(archive, name: str) -> None:
    """Cells without references, more of them than a row may hold: walk the rows tag by tag (a
    slow pass, only for such files) to name the row that goes beyond XFD."""
    row, column, tail = 0, 0, b""
    with archive.open(name) as part:
        while chunk := part.read(_CHUNK):
            text = tail + chunk
            cut = text.rfind(b"<")
            text, tail = (text[:cut], text[cut:]) if cut > 0 else (text, b"")
            for closing, tag, attributes in _ANY_TAG.findall(text):
                if closing:
                    continue
                ref = _REF_IN_TAG.search(attributes or b"")
                if tag == b"row":
                    row = int(ref.group(2)) if ref and ref.group(2) else row + 1
                    column = 0
                    continue
                column = _column_number(ref.group(1)) if ref and ref.group(1) else column + 1
                if column > MAX_COLUMNS:
                    raise ReadError(COLUMN_BEYOND_SHEET % {"row": row, "limit": MAX_COLUMNS})


def _measure_ods(archive, name: str) -> None:
    """Repeat counts beyond a sheet, and the sheet's extent where values are repeated."""
    with _GuardedPart(archive.open(name)) as part:
        while chunk := part.read(_CHUNK):
            for kind, count in _ODS_REPEAT.findall(chunk):
                limit = MAX_COLUMNS if kind == b"columns" else MAX_ROWS
                if int(count) > limit:
                    raise ReadError(
                        ROW_BEYOND_SHEET % {"limit": MAX_ROWS}
                        if kind == b"rows"
                        else COLUMN_BEYOND_SHEET % {"row": "?", "limit": MAX_COLUMNS}
                    )


_DIMENSION = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*?\bref\s*=\s*[\"']\s*[A-Za-z]*\d*(?::[A-Za-z]*(\d+))?"
)


def _is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


def _announce_rows(archive, sheets: list[str]) -> None:
    """Tell rows_observer how many rows the worksheets hold, before they are measured: the most a
    sheet declares in its <dimension> (Excel and WPS write it), else an estimate from the zip's
    uncompressed size of the sheet and the bytes per row in its first 64 KiB (openpyxl's
    write-only mode writes no dimension). Regular expressions over bytes: nothing is parsed."""
    observer = rows_observer.get()
    if observer is None:
        return
    rows = 0
    for name in sheets:
        with archive.open(name) as part:
            head = part.read(_HEAD_BYTES)
        match = _DIMENSION.search(head)
        if match and match.group(1):
            rows = max(rows, int(match.group(1)))
            continue
        first, last, count = head.find(b"<row"), head.rfind(b"<row"), head.count(b"<row")
        if count >= 2 and last > first >= 0:
            size = archive.getinfo(name).file_size
            rows = max(rows, round((size - first) * (count - 1) / (last - first)))
    if 0 < rows <= MAX_ROWS:
        observer(rows)


def check_zip(data: bytes) -> tuple[str, int | None]:
    """Check a zipped workbook before calamine opens it: the declared uncompressed size (a 0.2 MB
    file declaring 200 MB took 600 MB of memory, PITFALLS.md), every XML part's encoding and
    declarations (read whole, so that a part whose data does not match its checksum is refused
    here), and each worksheet's extent. Returns the workbook's kind ("xlsx" or "ods") and the
    rows its largest worksheet holds (None for an .ods, whose extent is not measured)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ReadError(FILE_CORRUPT) from None
    declared = sum(info.file_size for info in infos)
    limit = settings.LEDGER_XLSX_MAX_UNCOMPRESSED_BYTES
    if declared > limit:
        raise ReadError(XLSX_TOO_LARGE_UNCOMPRESSED % {"size": _mb(declared), "limit": _mb(limit)})
    names = {info.filename: info for info in infos}
    if "mimetype" in names and archive.read("mimetype").startswith(_ODS_MIMETYPE):
        kind = "ods"
    elif "xl/workbook.xml" in names:
        kind = "xlsx"
    else:
        raise ReadError(FILE_CORRUPT)
    strings = names.get("xl/sharedStrings.xml")
    if strings is not None and strings.file_size > SHARED_STRINGS_MAX_BYTES:
        raise ReadError(SHARED_STRINGS_TOO_LARGE % {"limit": SHARED_STRINGS_MAX_BYTES >> 20})
    measured = 0
    if kind == "xlsx":
        _announce_rows(archive, [name for name in names if _is_worksheet(name)])
    for name in names:
        if not name.endswith((".xml", ".rels")):
            continue
        if kind == "xlsx" and name.startswith("xl/worksheets/"):
            measured = max(measured, _measure_sheet(archive, name))
        elif kind == "ods" and name == "content.xml":
            _measure_ods(archive, name)
        else:
            with _GuardedPart(archive.open(name)) as part:
                while part.read(_CHUNK):
                    pass
    observer = rows_observer.get()
    if measured and observer is not None:
        observer(measured)  # the rows as measured: exact where the estimate above was not
    return kind, measured if kind == "xlsx" else None


def _calamine_rows(data: bytes, kind: str, aliases, meanwhile=None):
    """The chosen sheet's rows (numbered from 1 as the sheet shows them, merged blocks filled)
    and how many rows the sheet has."""
    measured = None
    if kind == "zip":
        kind, measured = check_zip(data)
    if meanwhile is None:
        sheet = _load_sheet(data, aliases)
    else:
        sheet = _load_sheet_meanwhile(data, aliases, lambda: meanwhile(measured))
    merges = sheet.merged_cell_ranges or []
    if len(merges) > MERGE_MAX_RANGES:
        raise ReadError(FILE_CORRUPT)
    merges = sorted(
        (first[0] + 1, first[1], last[0] + 1, last[1])
        for first, last in merges
        if first[1] < MERGE_FILL_MAX_COLUMNS
    )
    end = sheet.end
    return _sheet_rows(sheet, merges), (end[0] + 1 if end else 0)


def _load_sheet(data: bytes, aliases):
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise ReadError(FILE_ENCRYPTED) from None
    return _pick_sheet(workbook, aliases)


def _load_sheet_meanwhile(data: bytes, aliases, work: Callable[[], None]):
    """_load_sheet in a second thread while `work` runs in this one (its database connection is
    this thread's). The loading thread is always waited for, whatever `work` raises."""
    loaded: dict = {}

    def load():
        try:
            loaded["sheet"] = _load_sheet(data, aliases)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            loaded["error"] = exc

    thread = threading.Thread(target=load, name="sheet-load", daemon=True)
    thread.start()
    try:
        work()
    except BaseException as exc:
        raise _MeanwhileFailed(exc) from exc
    finally:
        thread.join()
    if "error" in loaded:
        raise loaded["error"]
    return loaded["sheet"]


def _pick_sheet(workbook, aliases):
    """The first sheet whose first rows hold a known header name (a notes sheet is skipped)."""
    lookup = _lookup(aliases)
    names = workbook.sheet_names
    for name in names:
        sheet = workbook.get_sheet_by_name(name)
        for cells in sheet.to_python(skip_empty_area=False, nrows=HEADER_SEARCH_ROWS):
            if any(isinstance(c, str) and c and header_key(c) in lookup for c in cells):
                return sheet
    return workbook.get_sheet_by_index(0)


def _sheet_rows(sheet, merges):
    """Calamine's rows, numbered as the sheet shows them, with merged blocks filled. Rows are
    converted to Python one at a time (`iter_rows`: 0.2 s of CPU for 100,000 rows against 0.55 s
    for `to_python`, and never all of them in memory at once). `iter_rows` (python-calamine
    0.9.1) starts at the sheet's first row but at the first column holding a cell, so the columns
    before that one are put back as empty cells: a column's index is the sheet's (a test pins
    both). Empty text and whole floats are left to the cleaning of the data rows."""
    start = sheet.start
    if start is None:
        return
    pad = [None] * start[1]
    state = {"next": 0, "open": [], "values": {}}
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        if pad:
            cells = pad + cells
        if merges:
            _fill_merged(number, cells, merges, state)
        yield number, cells


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


# Serial numbers read as dates in a date column: 1920-01-01 to 2100-12-31 (1900 date system; the
# 1904 system, from old Mac Excel, shifts them by four years, and its serials arrive as dates
# whenever the format is one calamine knows).
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
SERIAL_FIRST = (datetime.date(1920, 1, 1) - _EXCEL_EPOCH).days
SERIAL_LAST = (datetime.date(2100, 12, 31) - _EXCEL_EPOCH).days


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
        if SERIAL_FIRST <= value < SERIAL_LAST + 1:
            # An Excel serial number: a date cell in one of the Chinese built-in formats
            # (ids 27–36, 50–58), which calamine, like the ECMA table it follows, does not count
            # as dates. The range cannot be taken for a year, yyyymm or yyyymmdd.
            return _EXCEL_EPOCH + datetime.timedelta(days=int(value))
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
