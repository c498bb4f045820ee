"""Spreadsheet imports: an enterprise's roster (花名册) and the annual targets. The admin, the
command line and the benchmark call these services and nothing else.

Each import reads the whole file, checks every row with the same rules as the single-row path
(placement.rules, placement.idnumbers, the models' constraints), compares it with what is stored
(in bulk: a few queries per 2,000 rows, never one per row), and keeps what it writes only when
no row is wrong: one transaction, in one function per import (`_roster_write`, `_targets_write`),
so that a refused file changes nothing. A roster is read in a second thread and written 10,000
rows at a time while the rest is read (spreadsheets.ahead); what a later wrong row finds written
is undone.
"""

import contextlib
import dataclasses
import datetime
import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from access.actors import is_system
from audit.history import (
    import_source,
)
from enterprises.models import Enterprise, Region
from enterprises.regions import REGION_AMBIGUOUS, RegionAmbiguous, RegionIndex
from enterprises.validators import normalize_credit_code
from spreadsheets import resources as sheet_resources
from spreadsheets.ahead import read_ahead
from spreadsheets.readers import MonthDate, ReadError
from spreadsheets.resources import error_text
from spreadsheets.results import Change, ImportResult

from . import idnumbers, retirement, rules, services
from .access import (
    can_see_full_id,
    duplicate_message,
    duplicate_names,
    duplicates_outside_scope_record,
)
from .channels import Channel
from .error_reports import mask_personal_text
from .models import (
    BINDING_SOURCES,
    STATED_SOURCES,
    TARGET_MAX,
    TARGET_OUT_OF_RANGE,
    AnnualTarget,
    DiversionSource,
    Placement,
    Worker,
    phone_validator,
    stored_placements_refusals,
)
from .resources import AnnualTargetResource, RosterResource
from .rules import DIVERSION_DATE_IN_FUTURE

NAME_REQUIRED = _("姓名不能为空")
DUPLICATE_IN_FILE = _("第 %(first)s 行和第 %(row)s 行是同一个公民身份号码")
PLACEMENT_DATE_REQUIRED = _("填写了安置方式，但没有安置时间")
PLACEMENT_CHANNEL_REQUIRED = _("填写了安置时间，但没有安置方式")
ROSTER_WITHOUT_ROWS = _("文件中没有职工数据行：表头下面是空的")
PLACEMENT_UNIT_WITHOUT_CHANNEL = _("填写了安置单位，但没有安置方式和安置时间")
WORKER_CHANGE_NOT_ALLOWED = _("该职工已登记：您可以导入新职工，但没有修改已登记职工的权限")
PLACEMENT_ADD_NOT_ALLOWED = _("您没有登记安置记录的权限")
PLACEMENT_CHANGE_NOT_ALLOWED = _("您没有修改安置记录的权限")
TARGET_SCOPE_REQUIRED = _("地区代码和统一社会信用代码须填且只填一个")
TARGET_REGION_UNKNOWN = _("地区“%(value)s”不存在或不在您的管辖范围内")
TARGET_REGION_AMBIGUOUS = REGION_AMBIGUOUS
TARGET_ENTERPRISE_UNKNOWN = _("统一社会信用代码为“%(value)s”的企业不存在或不在您的管辖范围内")
TARGET_DUPLICATE_IN_FILE = _("第 %(first)s 行和第 %(row)s 行是同一年度、同一范围的目标")
VALUE_REQUIRED = _("不能为空")
# A stored worker's row with a later placement: a placement is added, the one before stays in the
# worker's history (DOMAIN.md, "Placement history"), and the preview says so.
PLACEMENT_ADDED = _("安置（新增一条，原安置留作记录）")
PLACED_BEFORE_NEW_DIVERSION = _(
    "该职工已有 %(placed)s 的安置记录，早于新的分流时间（%(diverted)s）：安置不能早于分流"
)
DIVERSION_BY_ROSTER = _(
    "%(count)s 名职工自 %(date)s 起计入需安置人数（依据花名册的“%(column)s”列）"
)
DIVERSION_BY_ROSTER_RANGE = _(
    "%(count)s 名职工依据花名册的“%(column)s”列计入需安置人数，分流时间从 %(first)s 到 %(last)s"
)
DIVERSION_BY_ENTERPRISE = _(
    "%(count)s 名职工自 %(date)s 起计入需安置人数（花名册没有其分流时间，"
    "依据企业“%(enterprise)s”的分流安置方案实施日期）"
)
DIVERSION_BY_IMPORT = _(
    "%(count)s 名职工没有分流时间（%(reason)s），自导入之日 %(date)s 起计入需安置人数"
)
DIVERSION_BY_IMPORT_PLACED = _(
    "其中 %(count)s 名已安置的职工自其安置日期起计入（最早 %(first)s）；"
    "仍待安置的职工不计入过去日期的需安置人数"
)
DIVERSION_NO_COLUMN = _("文件没有分流时间列，企业也没有填写分流安置方案实施日期")
DIVERSION_BLANK = _("分流时间为空，企业也没有填写分流安置方案实施日期")
DIVERSION_KEPT = _("%(count)s 名已登记的职工分流时间不变")
DIVERSION_SHOWN = _("%(date)s（%(source)s）")
DIVERSION_PLACED_BEFORE_IMPORT = _("安置日期：已在导入前安置，自安置之日起计入")
# Up to this many distinct roster dates are listed one by one; more are shown as a range.
DIVERSION_DATES_LISTED = 5
IMPORT_CONFLICT = _("导入期间有职工被其他操作同时登记、调出或删除，未导入任何数据；请重新导入")
OUTSIDE_DUPLICATES_TOO_MANY = _(
    "文件中有 %(count)s 个公民身份号码已在您管辖范围以外的企业登记（超过 %(limit)s 个），"
    "不逐行列出，未导入任何数据；请核对文件是否为本企业的花名册，或联系县（市、区）或市人社部门"
)
# pg_advisory_xact_lock key of roster imports ("LEDGER" in ASCII).
IMPORTS_LOCK_KEY = 0x4C4544474552
YEAR_OUT_OF_RANGE = _("年度应在 2000 至 2100 之间")
TARGET_CHANGE_NOT_ALLOWED = _(
    "%(label)s 的年度目标已设定：您可以导入新的目标，但没有修改已设定目标的权限"
)

BATCH = 2000

# Worker fields a roster may change; the ID number (and with it sex and birth date) never changes.
ROSTER_WORKER_FIELDS = ["name", "status", "post", "special_work_type", "hire_date", "phone"]

Progress = Callable[[int], None] | None


# Columns whose blank cell says nothing: 身份 left blank must not turn a cadre into a worker
# (it decides a woman's retirement age).
KEEP_WHEN_BLANK = frozenset({"status", "special_work_type"})


@dataclass(slots=True)
class _RosterRow:
    row: int
    parsed: idnumbers.ParsedIdNumber
    digest: str
    values: dict
    channel: str | None
    placed_on: datetime.date | None
    destination_unit: str | None
    placed_month_only: bool = False
    # The roster's diversion date (分流时间; a month only means its first day), or None.
    diverted_on: datetime.date | None = None
    # What the import makes of it: the worker's diversion date and its source.
    registered_on: datetime.date | None = None
    registered_on_source: str = ""
    # The ID number encrypted ahead by the reading thread (a new worker's), or None.
    cipher: str | None = None


# The model's phone rule, searched directly: the validator reaches its pattern through a lazy
# object, twice a call (6.4 s of 139 s for 100,000 phones under cProfile). It still gives the
# error of a phone that does not match.
assert not phone_validator.inverse_match
_phone_valid = re.compile(phone_validator.regex.pattern, phone_validator.regex.flags).search


def _parse_roster(
    table, resource, result: ImportResult, *, encrypt: threading.Event, pause=lambda: None
):
    """Every cell through its resource widget; the identity rules on every row. Yields (rows read
    so far, the rows read well since the last yield, whether this is the end) every
    PROGRESS_EVERY rows read and at the end. Runs in the reading thread (spreadsheets.ahead),
    calling `pause` between rows: it adds its errors to `result` and touches no database. While
    `encrypt` is set (the rows are mostly new workers), it encrypts each chunk's ID numbers too,
    so that the writing thread finds them done."""
    header = table.header
    has_unit = "destination_unit" in table.columns
    today = timezone.localdate()
    every = sheet_resources.PROGRESS_EVERY
    rows: list[_RosterRow] = []
    seen: dict[str, int] = {}
    count = 0

    def chunk():
        if encrypt.is_set() and rows:
            pause()
            ciphers = idnumbers.encrypt_many([row.parsed.number for row in rows])
            for row, cipher in zip(rows, ciphers, strict=True):
                row.cipher = cipher
        return rows

    # A blank 身份: a new worker gets the model's default, a stored one keeps theirs.
    for row_number, values, bad in resource.clean_rows(
        table, result, keep_when_blank=KEEP_WHEN_BLANK
    ):
        pause()
        if count and count % every == 0:
            yield count, chunk(), False
            rows = []
        count += 1
        if values.get("name") == "":
            result.add_error(row_number, header("name"), NAME_REQUIRED)
            bad = True
        parsed = values.pop("id_number", None)
        if parsed is None:
            continue
        first = seen.get(parsed.number)
        if first is not None:
            result.add_error(
                row_number,
                header("id_number"),
                DUPLICATE_IN_FILE % {"first": first, "row": row_number},
            )
            continue
        seen[parsed.number] = row_number
        birth = values.pop("birth_date", None)
        contradictions = rules.identity_contradictions(
            parsed=parsed,
            sex=values.pop("sex", None),
            birth_date=birth,
            birth_month_only=isinstance(birth, MonthDate),
        )
        hire = values.get("hire_date")
        if isinstance(hire, MonthDate):
            values["hire_date"] = hire = datetime.date(hire.year, hire.month, 1)
        contradictions |= rules.hire_date_errors(birth_date=parsed.birth_date, hire_date=hire)
        phone = values.get("phone")
        if phone and not _phone_valid(phone):
            try:
                phone_validator(phone)
            except ValidationError as exc:
                contradictions["phone"] = exc
        for field, error in contradictions.items():
            result.add_error(row_number, header(field), error_text(error))
        if contradictions or bad:
            continue
        diverted_on = values.pop("diverted_on", None)
        if diverted_on is not None:
            diverted_on = datetime.date(diverted_on.year, diverted_on.month, diverted_on.day)
            if diverted_on > today:
                result.add_error(row_number, header("diverted_on"), DIVERSION_DATE_IN_FUTURE)
                continue
        channel = values.pop("channel", None)
        placed_on = values.pop("placed_on", None)
        unit = values.pop("destination_unit", None) if has_unit else None
        month_only = isinstance(placed_on, MonthDate)
        if month_only:
            placed_on = datetime.date(placed_on.year, placed_on.month, 1)
        if channel and not placed_on:
            result.add_error(row_number, header("placed_on"), PLACEMENT_DATE_REQUIRED)
            continue
        if placed_on and not channel:
            result.add_error(row_number, header("channel"), PLACEMENT_CHANNEL_REQUIRED)
            continue
        if unit and not channel:
            # Else the unit would be dropped without a word: it belongs to a placement.
            result.add_error(row_number, header("channel"), PLACEMENT_UNIT_WITHOUT_CHANNEL)
            continue
        rows.append(
            _RosterRow(
                row_number,
                parsed,
                idnumbers.digest(parsed.number),
                values,
                channel,
                placed_on,
                unit,
                month_only,
                diverted_on,
            )
        )
    if count and count % every == 0:
        yield count, chunk(), False
        rows = []
    yield count, chunk(), True


# What the comparison needs of a stored worker; a tuple per worker keeps 100,000 of them small.
_COMPARED = ["id", "enterprise_id", *ROSTER_WORKER_FIELDS, "registered_on", "registered_on_source"]
_COMPARED_INDEX = {field: index for index, field in enumerate(_COMPARED)}


def _existing_workers(digests: list[str]) -> dict[str, tuple]:
    """Stored workers by ID digest (the _COMPARED columns): one query per batch."""
    found = {}
    if connection.vendor == "postgresql":
        for row in _select_any(
            Worker, ["id_number_digest", *_COMPARED], "id_number_digest", digests
        ):
            found[row[0]] = row[1:]
        return found
    for start in range(0, len(digests), BATCH):
        batch = digests[start : start + BATCH]
        for row in Worker.objects.filter(id_number_digest__in=batch).values_list(
            "id_number_digest", *_COMPARED
        ):
            found[row[0]] = row[1:]
    return found


_PLACEMENT_COMPARED = ["id", "worker_id", "placed_on", "channel", "destination_unit", "ended_on"]
# A worker's current placement in `_existing_placements` (the latest never ended) is under
# (worker, _CURRENT, 0): three parts, like a month's key, so that a (worker, date) key stays
# the only kind with two.
_CURRENT = "current"


def _existing_placements(worker_ids: list[int]) -> dict[tuple, dict]:
    """Stored placements by (worker, date), the latest per date, by (worker, year, month), the
    latest per month (for rows that give the month only), and by (worker, _CURRENT, 0), the
    latest placement never ended: one query per batch."""
    found = {}
    if connection.vendor == "postgresql":
        rows = (
            dict(zip(_PLACEMENT_COMPARED, row, strict=True))
            for row in _select_any(Placement, _PLACEMENT_COMPARED, "worker_id", worker_ids)
        )
    else:
        rows = (
            row
            for start in range(0, len(worker_ids), BATCH)
            for row in Placement.objects.filter(worker_id__in=worker_ids[start : start + BATCH])
            .order_by("id")
            .values(*_PLACEMENT_COMPARED)
        )
    for row in rows:
        found[(row["worker_id"], row["placed_on"])] = row
        day = row["placed_on"]
        found[(row["worker_id"], day.year, day.month)] = row
        if row["ended_on"] is None:
            current = found.get((row["worker_id"], _CURRENT, 0))
            if current is None or (day, row["id"]) > (current["placed_on"], current["id"]):
                found[(row["worker_id"], _CURRENT, 0)] = row
    return found


# A file of at least a quarter of the enterprise's stored workers is compared with all of them,
# read at once (`_EnterpriseStored`) rather than looked up by number a batch at a time: the
# 100,000 numbers of a re-import looked up 2,000 at a time kept PostgreSQL busy 1.4 s, against
# 0.25 s for the enterprise's workers read whole (benchmarks/README.md). Their placements are
# still read a batch at a time, by the workers' ids: read whole, they took 80 MB more.
STORED_WHOLE_SHARE = 4
# A smaller file is looked up a batch at a time (one batch: one query either way).
STORED_WHOLE_MIN_ROWS = BATCH
# The _COMPARED columns whose values repeat from worker to worker.
_SHARED = frozenset(
    _COMPARED_INDEX[field]
    for field in ("status", "post", "hire_date", "registered_on", "registered_on_source")
)


class _EnterpriseStored:
    """The enterprise's stored workers by ID digest (the _COMPARED columns), read in one query
    before the first batch is compared. The values that repeat (a 身份, a post, a date) are kept
    once: 100,000 workers take about 45 MB instead of 70."""

    def __init__(self, enterprise: Enterprise):
        shared: dict = {}
        self.workers = {
            row[0]: tuple(
                shared.setdefault(value, value) if index in _SHARED else value
                for index, value in enumerate(row[1:])
            )
            for row in Worker.objects.filter(enterprise=enterprise)
            .order_by()  # in any order: no sort by the list's ordering
            .values_list("id_number_digest", *_COMPARED)
            .iterator(chunk_size=BATCH)
        }

    @staticmethod
    def worth_reading(enterprise: Enterprise, file_rows: int) -> bool:
        """Whether the file's rows are enough of the enterprise's stored workers (or there are
        none) for them all to be read at once."""
        if file_rows < STORED_WHOLE_MIN_ROWS:
            return False
        stored = Worker.objects.filter(enterprise=enterprise).count()
        return stored <= file_rows * STORED_WHOLE_SHARE

    def existing(self, digests: list[str]) -> dict[str, tuple]:
        """As _existing_workers: those of the enterprise from memory, the others (new numbers,
        or numbers registered with another enterprise) looked up."""
        found = {}
        missing = []
        workers = self.workers
        for digest in digests:
            stored = workers.get(digest)
            if stored is None:
                missing.append(digest)
            else:
                found[digest] = stored
        if missing:
            found |= _existing_workers(missing)
        return found


def _select_any(model, fields: list[str], key: str, values: list):
    """PostgreSQL: the rows (tuples of `fields`, ordered by id) whose `key` is one of `values`,
    one query per batch with the batch as one array parameter. The ORM's `__in` of 2,000
    values prepares each value in Python and sends 2,000 parameters (3.4 s of a 100,000-row
    re-import under cProfile); the columns come back as the database adapter gives them (str,
    int, bool, date), as values_list would."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(field).column) for field in fields)
    table = quote(model._meta.db_table)
    column = quote(model._meta.get_field(key).column)
    sql = f"SELECT {columns} FROM {table} WHERE {column} = ANY(%s) ORDER BY {quote('id')}"
    with connection.cursor() as cursor:
        for start in range(0, len(values), BATCH):
            cursor.execute(sql, [values[start : start + BATCH]])
            yield from cursor.fetchall()


def _display(field: str, value, *, full: bool = True) -> str:
    if value is None:
        return ""
    if field == "diverted_on" and isinstance(value, str):
        return value  # already shown with its source (_display_diversion)
    if field == "phone" and not full:
        return idnumbers.mask_phone(value)
    if isinstance(value, bool):
        return str(_("是")) if value else str(_("否"))
    if field == "status":
        return _choice_label(Worker.Status, value, get_language())
    if field == "channel":
        return _choice_label(Channel, value, get_language())
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


@functools.lru_cache(maxsize=256)
def _choice_label(choices, value: str, language: str | None) -> str:
    """A choice's label in the current language (a few labels for 100,000 rows)."""
    return str(choices(value).label)


def _first_placements(placements: dict[tuple, dict]) -> dict[int, datetime.date]:
    """Each stored worker's earliest placement date, from _existing_placements' answer."""
    first: dict[int, datetime.date] = {}
    for key in placements:
        if len(key) == 2:
            worker_id, day = key
            if worker_id not in first or day < first[worker_id]:
                first[worker_id] = day
    return first


def _diversion(
    row: _RosterRow,
    *,
    stored,
    enterprise: Enterprise,
    today: datetime.date,
    stored_date: datetime.date | None,
    stored_source: str | None,
    first_placed: datetime.date | None,
) -> dict[str, ValidationError]:
    """Set the row's diversion date and its source, and check its placement against it.

    The roster's 分流时间 wins; a new worker without one takes the enterprise's date
    (分流安置方案实施日期), and only without that the import day: a worker placed before the
    import was to be placed from then at the latest, so the reports count them as to place and
    as placed from the same day. A worker already registered keeps their date unless the roster
    states another one. A placement before a date the roster or the enterprise gives is an error.
    """
    if stored is None:
        if row.diverted_on:
            date, source = row.diverted_on, DiversionSource.ROSTER
        elif enterprise.diversion_date:
            date, source = enterprise.diversion_date, DiversionSource.ENTERPRISE
        else:
            date = min(today, row.placed_on) if row.placed_on else today
            source = DiversionSource.IMPORT
    elif row.diverted_on and not (
        row.diverted_on == stored_date and stored_source in STATED_SOURCES
    ):
        date, source = row.diverted_on, DiversionSource.ROSTER
    else:
        date, source = stored_date, stored_source
        if source == DiversionSource.IMPORT and row.placed_on and row.placed_on < date:
            # Registered by an import that had no date for them, and placed before that day:
            # to be placed from the placement at the latest, as a new worker placed before
            # their import is (one roster gives the same figures in one import or in two). A
            # month-only placement in the month of that day may be the same day or after it.
            same_month = (row.placed_on.year, row.placed_on.month) == (date.year, date.month)
            if not (row.placed_month_only and same_month):
                date = row.placed_on
    row.registered_on, row.registered_on_source = date, source
    if source not in BINDING_SOURCES:
        return {}
    label = str(DiversionSource(source).label)
    errors = rules.placement_diversion_errors(
        placed_on=row.placed_on if row.channel else None,
        diverted_on=date,
        source_label=label,
        month_only=row.placed_month_only,
    )
    if stored is not None and date != stored_date and first_placed and first_placed < date:
        errors["diverted_on"] = ValidationError(
            PLACED_BEFORE_NEW_DIVERSION,
            params={"placed": first_placed.isoformat(), "diverted": date.isoformat()},
        )
    return errors


def _display_diversion(date: datetime.date, source: str) -> str:
    """A diversion date with where it came from, for the preview."""
    return _diversion_shown(date, source, get_language())


def _diversion_source_shown(row: _RosterRow, today: datetime.date) -> str:
    """The row's diversion source as the preview names it. A new worker placed before the
    import, with no date of their own, counts from their placement date (`_diversion`): shown
    as such, not as the import day the source's name would say."""
    source = row.registered_on_source
    if (
        source == DiversionSource.IMPORT
        and row.registered_on == row.placed_on
        and row.placed_on < today  # placed on the import day: that is the import day
    ):
        return _PLACED_BEFORE_IMPORT
    return source


# A display-only source: the import day's rule applied to a worker placed before it.
_PLACED_BEFORE_IMPORT = "placed-before-import"


@functools.lru_cache(maxsize=1024)
def _diversion_shown(date: datetime.date, source: str, language: str | None) -> str:
    # A roster's 100,000 rows share a few dates: translating and formatting each row's took
    # 3.5 s of a first import under cProfile.
    if source == _PLACED_BEFORE_IMPORT:
        label = DIVERSION_PLACED_BEFORE_IMPORT
    else:
        label = DiversionSource(source).label
    return str(DIVERSION_SHOWN % {"date": date.isoformat(), "source": label})


class _DiversionTally:
    """How many of the file's workers count as to be placed from which date, and why: the
    preview says it before anything is written."""

    def __init__(self, today: datetime.date):
        self.today = today
        self.roster: dict[datetime.date, int] = {}
        self.enterprise: dict[datetime.date, int] = {}
        self.by_import = 0
        self.placed_earlier: list[datetime.date] = []
        self.kept = 0

    def add(self, row: _RosterRow, *, new: bool) -> None:
        source = row.registered_on_source
        if row.diverted_on:
            self.roster[row.registered_on] = self.roster.get(row.registered_on, 0) + 1
        elif not new:
            self.kept += 1
        elif source == DiversionSource.ENTERPRISE:
            self.enterprise[row.registered_on] = self.enterprise.get(row.registered_on, 0) + 1
        else:
            self.by_import += 1
            if row.placed_on and row.registered_on == row.placed_on < self.today:
                self.placed_earlier.append(row.placed_on)

    def notes(self, *, column: str | None, enterprise: Enterprise, today) -> list[str]:
        notes = []
        dates = sorted(self.roster)
        if len(dates) <= DIVERSION_DATES_LISTED:
            for date in dates:
                notes.append(
                    DIVERSION_BY_ROSTER
                    % {"count": self.roster[date], "date": date.isoformat(), "column": column}
                )
        else:
            notes.append(
                DIVERSION_BY_ROSTER_RANGE
                % {
                    "count": sum(self.roster.values()),
                    "column": column,
                    "first": dates[0].isoformat(),
                    "last": dates[-1].isoformat(),
                }
            )
        for date, count in sorted(self.enterprise.items()):
            notes.append(
                DIVERSION_BY_ENTERPRISE
                % {"count": count, "date": date.isoformat(), "enterprise": enterprise.name}
            )
        if self.by_import:
            reason = DIVERSION_NO_COLUMN if column is None else DIVERSION_BLANK
            notes.append(
                DIVERSION_BY_IMPORT
                % {"count": self.by_import, "reason": reason, "date": today.isoformat()}
            )
            if self.placed_earlier:
                notes.append(
                    DIVERSION_BY_IMPORT_PLACED
                    % {
                        "count": len(self.placed_earlier),
                        "first": min(self.placed_earlier).isoformat(),
                    }
                )
        if self.kept:
            notes.append(DIVERSION_KEPT % {"count": self.kept})
        return [str(note) for note in notes]


def roster_import(
    *,
    data: bytes,
    filename: str,
    enterprise: Enterprise,
    dry_run: bool = False,
    user,
    progress: Progress = None,
    request=None,
) -> ImportResult:
    """Import one enterprise's roster: workers keyed on the ID number, each with their current
    placement. All or nothing: a file with any bad row changes nothing and lists every problem.
    `user` is the person importing, or a named system actor (access.actors) for the server's
    own code; `request` only gives the access log its page and address (numbers registered
    outside the user's scope are logged)."""
    options = {"data": data, "filename": filename, "enterprise": enterprise, "user": user}
    options["request"] = request
    if dry_run:
        return _roster_import(dry_run=True, progress=progress, **options)
    try:
        with transaction.atomic():
            # Imports run one at a time: between reading what is stored and writing, another
            # import of the same people would otherwise make the unique ID number fail.
            _imports_lock()
            return _roster_import(dry_run=False, progress=progress, **options)
    except IntegrityError:
        # A worker registered, moved or deleted meanwhile by another path (the admin): nothing
        # was written.
        result = ImportResult(dry_run=False)
        result.add_error(None, "", str(IMPORT_CONFLICT))
        return result


def _imports_lock() -> None:
    """Serialise imports for the rest of the transaction (PostgreSQL; SQLite writes one at a
    time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORTS_LOCK_KEY])


def _roster_import(
    *, data: bytes, filename: str, enterprise: Enterprise, dry_run: bool, user, progress, request
) -> ImportResult:
    """Read, check, compare and (unless a dry run) write, chunk by chunk: a thread reads and
    checks the next rows (spreadsheets.ahead) while this one compares and writes the rows before
    them. Whatever was written is undone when a later row turns out wrong."""
    result = ImportResult(dry_run=dry_run)
    resource = RosterResource()
    stored = []

    def meanwhile(rows: int | None) -> None:
        # While calamine builds the sheet, the enterprise's stored workers are read, if the
        # file holds enough of them.
        if rows is not None and _EnterpriseStored.worth_reading(enterprise, rows):
            stored.append(_EnterpriseStored(enterprise))

    try:
        table = resource.read(data, filename=filename, meanwhile=meanwhile)
    except ReadError as exc:
        result.add_error(None, "", str(exc.message))
        return result
    check = _RosterCheck(
        table=table,
        resource=resource,
        enterprise=enterprise,
        dry_run=dry_run,
        user=user,
        request=request,
        result=result,
        stored=stored[0] if stored else None,
    )
    every = sheet_resources.PROGRESS_EVERY
    try:
        # check.undoable enters an atomic block before the file's first write mid-file: a later
        # row found wrong leaves it by _Undo, which takes back those writes and the commit
        # callbacks they asked for (a bare savepoint would leave the callbacks).
        with check.undoable:
            with read_ahead(
                lambda pause: _parse_roster(
                    table, resource, result, encrypt=check.encrypt_ahead, pause=pause
                ),
                # The reader runs while a write does: room for the chunks the next write takes.
                depth=READ_AHEAD_CHUNKS,
            ) as chunks:
                count = 0
                for count, rows, final in chunks:
                    if progress and (not final or count >= every):
                        progress(count)
                    check.add(rows)
            if not count and not result.errors:
                # A header and nothing under it (the blank template sent back, the wrong sheet):
                # said so, rather than "identical to the ledger".
                result.add_error(None, "", str(ROSTER_WITHOUT_ROWS))
            if check.failed():
                raise _Undo
            check.write_rest()
    except _Undo:
        pass
    except ReadError as exc:
        # The file broke half-way: its problem is the one error naming no row.
        result.add_error(None, "", str(exc.message))
        result.created = result.updated = result.unchanged = 0
        result.changes = []
        return result
    return check.finish()


# Rows compared before the pending writes are sent (the reading runs ahead meanwhile).
WRITE_EVERY = 10_000
# Chunks (of PROGRESS_EVERY rows) read ahead at most: those of one write and a few more.
READ_AHEAD_CHUNKS = 8


class _Undo(Exception):
    """A row found wrong after some were written: the writes are taken back."""


class _RosterCheck:
    """The comparison of a roster's rows with what is stored, a chunk at a time, and their
    writing (`_roster_write`) every WRITE_EVERY rows while no row is wrong."""

    def __init__(self, *, table, resource, enterprise, dry_run, user, request, result, stored):
        self.table = table
        self.enterprise = enterprise
        self.dry_run = dry_run
        self.user = user
        self.request = request
        self.result = result
        self.header = table.header
        self.today = timezone.localdate()
        self.diversions = _DiversionTally(self.today)
        # The preview shows stored values beside the file's: phones only to those who may see
        # them (the operator at the command line, without --user, may).
        self.full = can_see_full_id(user)
        self.labels = {name: str(field.column_name) for name, field in resource.fields.items()}
        self.labels["placement_added"] = str(PLACEMENT_ADDED)
        system = is_system(user)
        self.may = {
            permission: system or user.has_perm(f"placement.{permission}")
            for permission in ("change_worker", "add_placement", "change_placement")
        }
        self.language = get_language()
        self.other_names: dict[int, str] = {}
        self.others_asked: set[int] = set()
        self.outside: list[int] = []
        self.refused = False
        # The comparison's errors, kept apart from the reading's: a file refused for its
        # numbers registered elsewhere lists only the reading's.
        self.errors: list[tuple[int, str, str]] = []
        self.pending = _RosterWrites()
        self.written = False
        self.undoable = contextlib.ExitStack()
        self.encrypt_ahead = threading.Event()
        # The enterprise's stored workers read whole, or None: looked up a batch at a time.
        self.stored = stored
        result.unused_columns = list(table.unused)

    def failed(self) -> bool:
        return bool(self.result.errors or self.errors or self.refused)

    def add(self, rows: list[_RosterRow]) -> None:
        digests = [row.digest for row in rows]
        stored = self.stored
        existing = stored.existing(digests) if stored is not None else _existing_workers(digests)
        enterprise = self.enterprise
        # The key read once: Model.pk is a property (400,000 calls for a 100,000-row file).
        enterprise_pk = enterprise.pk
        others = {stored[1] for stored in existing.values() if stored[1] != enterprise_pk}
        if others - self.others_asked:
            # Enterprises the user may not see are left out: their rows are answered without
            # a name.
            asked = others - self.others_asked
            self.other_names |= duplicate_names(user=self.user, enterprise_ids=asked)
            self.others_asked |= asked
        self.outside += [
            stored[0]
            for stored in existing.values()
            if stored[1] != enterprise_pk and stored[1] not in self.other_names
        ]
        if len(self.outside) > settings.LEDGER_IMPORT_MAX_OUTSIDE_DUPLICATES:
            self.refused = True
        if self.refused:
            return
        new = sum(1 for row in rows if row.digest not in existing)
        if not self.dry_run and new * 2 > len(rows):
            self.encrypt_ahead.set()
        self._compare(rows, existing)
        if not self.dry_run and not self.failed() and len(self.pending) >= WRITE_EVERY:
            if not self.written:
                # Before the file's first write: a later row found wrong undoes it.
                self.undoable.enter_context(transaction.atomic())
            self._write()

    def _compare(self, rows: list[_RosterRow], existing: dict[str, tuple]) -> None:
        enterprise = self.enterprise
        enterprise_pk = enterprise.pk
        result = self.result
        header = self.header
        labels = self.labels
        full = self.full
        today = self.today
        pending = self.pending
        placements = _existing_placements(
            [stored[0] for stored in existing.values() if stored[1] == enterprise_pk]
        )
        first_placed = _first_placements(placements)
        placements_of = _PlacementsByWorker(placements)
        field_index = _COMPARED_INDEX
        for row in rows:
            stored = existing.get(row.digest)
            if stored is not None and stored[1] != enterprise_pk:
                self.errors.append(
                    (
                        row.row,
                        header("id_number"),
                        duplicate_message(enterprise_id=stored[1], names=self.other_names),
                    )
                )
                continue
            values = row.values
            if stored is None:
                status = values.get("status") or Worker.Status.WORKER
                special = values.get("special_work_type", False)
            else:
                status = values.get("status") or stored[field_index["status"]]
                special = values.get("special_work_type", stored[field_index["special_work_type"]])
            if row.channel:
                retires = None
                if row.channel == Channel.INTERNAL_RETIREMENT:
                    retires = retirement.statutory_retirement_date(
                        birth_date=row.parsed.birth_date,
                        sex=row.parsed.sex,
                        cadre=status == Worker.Status.CADRE,
                        special_work_type=special,
                    )
                errors = rules.placement_errors(
                    channel=row.channel,
                    placed_on=row.placed_on,
                    birth_date=row.parsed.birth_date,
                    retirement_date=retires,
                    today=today,
                )
                if errors:
                    for field, error in errors.items():
                        self.errors.append((row.row, header(field), error_text(error)))
                    continue
            if stored is not None:
                retirement_errors = _stored_placements_errors(
                    row, stored, placements_of, header, status=status, special=special
                )
                if retirement_errors:
                    self.errors += retirement_errors
                    continue
            diversion_errors = _diversion(
                row,
                stored=stored,
                enterprise=enterprise,
                today=today,
                stored_date=stored[field_index["registered_on"]] if stored else None,
                stored_source=stored[field_index["registered_on_source"]] if stored else None,
                first_placed=first_placed.get(stored[0]) if stored else None,
            )
            if diversion_errors:
                for field, error in diversion_errors.items():
                    self.errors.append((row.row, header(field), error_text(error)))
                continue
            if self.failed():
                # Once the file is refused, only further errors matter.
                continue
            if stored is None and row.channel and not self.may["add_placement"]:
                self.errors.append((row.row, header("channel"), str(PLACEMENT_ADD_NOT_ALLOWED)))
                continue
            self.diversions.add(row, new=stored is None)
            if stored is None:
                pending.new_rows.append(row)
                result.created += 1
                if self.dry_run:
                    result.changes.append(self._new_change(row))
                continue
            worker_id = stored[0]
            diffs = [
                (field, stored[field_index[field]], value)
                for field, value in values.items()
                if stored[field_index[field]] != value
            ]
            if diffs:
                pending.changed_workers[worker_id] = {field: value for field, _old, value in diffs}
            if row.registered_on_source != stored[field_index["registered_on_source"]] or (
                row.registered_on != stored[field_index["registered_on"]]
            ):
                pending.changed_workers.setdefault(worker_id, {}).update(
                    registered_on=row.registered_on,
                    registered_on_source=row.registered_on_source,
                    diversion_year=_diversion_year(row),
                )
                old = _display_diversion(
                    stored[field_index["registered_on"]],
                    stored[field_index["registered_on_source"]],
                )
                new = _display_diversion(
                    row.registered_on, _diversion_source_shown(row, self.today)
                )
                diffs.append(("diverted_on", old, new))
            added, corrected = len(pending.new_placements), len(pending.changed_placements)
            placement_diff = _placement_change(
                row, worker_id, placements, pending.new_placements, pending.changed_placements
            )
            # The import needs "add worker"; what a row changes needs the page's permission.
            refusal = None
            if diffs and not self.may["change_worker"]:
                field = diffs[0][0]
                column = header(field) if field in self.table.columns else labels[field]
                refusal = (column, WORKER_CHANGE_NOT_ALLOWED)
            elif len(pending.new_placements) > added and not self.may["add_placement"]:
                refusal = (header("channel"), PLACEMENT_ADD_NOT_ALLOWED)
            elif len(pending.changed_placements) > corrected and not self.may["change_placement"]:
                refusal = (header("channel"), PLACEMENT_CHANGE_NOT_ALLOWED)
            if refusal is not None:
                self.errors.append((row.row, refusal[0], str(refusal[1])))
                continue
            if diffs or placement_diff:
                result.updated += 1
                if not self.dry_run:
                    continue
                result.changes.append(
                    Change(
                        row.row,
                        "changed",
                        _label(
                            values.get("name") or stored[field_index["name"]], row.parsed.number
                        ),
                        [
                            (labels[f], _display(f, old, full=full), _display(f, new, full=full))
                            for f, old, new in diffs + placement_diff
                        ],
                    )
                )
            else:
                result.unchanged += 1

    def _new_change(self, row: _RosterRow) -> Change:
        """A new row as the preview shows it (only a dry run lists the rows: the import itself
        answers with its counts). Its values shown directly (as _display shows them), with the
        language looked up once for the file: a first preview builds 100,000 of these."""
        labels, language = self.labels, self.language
        fields = [
            (
                labels["diverted_on"],
                "",
                _diversion_shown(
                    row.registered_on, _diversion_source_shown(row, self.today), language
                ),
            )
        ]
        if row.channel:
            fields += [
                (labels["channel"], "", _choice_label(Channel, row.channel, language)),
                (labels["placed_on"], "", row.placed_on.isoformat()),
            ]
        return Change(row.row, "new", _label(row.values.get("name"), row.parsed.number), fields)

    def _write(self) -> None:
        self.written = True
        pending, self.pending = self.pending, _RosterWrites()
        _roster_write(
            source=self.source,
            enterprise=self.enterprise,
            new_rows=pending.new_rows,
            user=self.user,
            changed_workers=pending.changed_workers,
            new_placements=pending.new_placements,
            changed_placements=pending.changed_placements,
        )

    @functools.cached_property
    def source(self) -> str:
        """The import's history source, one for all its chunks."""
        return import_source("roster", self.user)

    def write_rest(self) -> None:
        """What the last chunks left to write, once every row is known to be right."""
        if not self.dry_run and (self.pending or not self.written):
            self._write()

    def finish(self) -> ImportResult:
        result = self.result
        # The numbers registered outside the user's scope: one access-log row for the file
        # (written after any undo, so that it stays); beyond the limit, the file is refused
        # without saying which rows they are (the rows would otherwise tell, number by number,
        # who is registered anywhere in the country).
        source = "" if self.request is not None else "import:roster"
        duplicates_outside_scope_record(
            user=self.user, worker_ids=self.outside, request=self.request, source=source
        )
        if self.refused:
            result.add_error(
                None,
                "",
                OUTSIDE_DUPLICATES_TOO_MANY
                % {
                    "count": len(self.outside),
                    "limit": settings.LEDGER_IMPORT_MAX_OUTSIDE_DUPLICATES,
                },
            )
        else:
            for row, column, message in self.errors:
                result.add_error(row, column, message)
        if result.errors:
            result.errors.sort(key=lambda error: error.row or 0)
            if not self.full:
                # A message may repeat what was typed (an ID number in the wrong column).
                for error in result.errors:
                    error.message = mask_personal_text(error.message)
            result.created = result.updated = result.unchanged = 0
            result.changes = []
            return result
        result.changes.sort(key=lambda c: c.row)
        result.notes = self.diversions.notes(
            column=self.header("diverted_on") if "diverted_on" in self.table.columns else None,
            enterprise=self.enterprise,
            today=self.today,
        )
        result.imported = not self.dry_run
        return result


@dataclass
class _RosterWrites:
    """What the compared rows will write, until `_roster_write` writes it."""

    new_rows: list = dataclasses.field(default_factory=list)
    changed_workers: dict = dataclasses.field(default_factory=dict)
    new_placements: list = dataclasses.field(default_factory=list)
    changed_placements: list = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.new_rows)
            + len(self.changed_workers)
            + len(self.new_placements)
            + len(self.changed_placements)
        )


def _stored_placements_errors(row, stored, placements_of, header, *, status, special) -> list:
    """A stored worker's 身份 or 特殊工种 changed by the row moves their statutory retirement
    date: their stored internal retirements must stay within its window (as the worker's page
    refuses it, Worker.clean). Errors as (row, column, message)."""
    index = _COMPARED_INDEX
    changed = [
        field
        for field, value in (("status", status), ("special_work_type", special))
        if value != stored[index[field]]
    ]
    if not changed:
        return []
    retires = retirement.statutory_retirement_date(
        birth_date=row.parsed.birth_date,
        sex=row.parsed.sex,
        cadre=status == Worker.Status.CADRE,
        special_work_type=special,
    )
    refusals = stored_placements_refusals(
        [(p["channel"], p["placed_on"]) for p in placements_of(stored[0])],
        birth_date=row.parsed.birth_date,
        retirement_date=retires,
    )
    return [(row.row, header(changed[0]), error.messages[0]) for _key, error in refusals]


class _PlacementsByWorker:
    """A worker's stored placements from `_existing_placements`' answer (each under its own
    date), indexed by worker on first use: a batch's rows ask only for the few workers whose
    身份 or 特殊工种 changed."""

    def __init__(self, placements: dict):
        self.placements = placements
        self.index: dict[int, list[dict]] | None = None

    def __call__(self, worker_id: int) -> list[dict]:
        if self.index is None:
            self.index = {}
            for key, placement in self.placements.items():
                if len(key) == 2:
                    self.index.setdefault(key[0], []).append(placement)
        return self.index.get(worker_id, [])


def _label(name, number: str) -> str:
    return f"{name or ''} {idnumbers.mask(number)}".strip()


def _placement_change(row, worker_id, placements, new_placements, changed_placements):
    """Compare the row's placement with the worker's placement of the same date: the same → no
    change; another channel or unit → that placement is updated; a new date → a new placement (the
    earlier ones stay as history). Returns the differences for the preview."""
    if not row.channel:
        return []
    if row.placed_month_only:
        # "2017.03" is the placement of March 2017 the ledger already has, whatever its day.
        key = (worker_id, row.placed_on.year, row.placed_on.month)
    else:
        key = (worker_id, row.placed_on)
    stored = placements.get(key)
    if stored is None:
        new_placements.append(
            Placement(
                worker_id=worker_id,
                channel=row.channel,
                placed_on=row.placed_on,
                destination_unit=row.destination_unit or "",
            )
        )
        current = placements.get((worker_id, _CURRENT, 0))
        if current is not None and current["placed_on"] < row.placed_on:
            # The new one becomes the current placement; the preview shows both, as such.
            return [
                (
                    "placement_added",
                    _placement_shown(current["channel"], current["placed_on"]),
                    _placement_shown(row.channel, row.placed_on),
                )
            ]
        return [("placed_on", None, row.placed_on), ("channel", None, row.channel)]
    diffs = []
    if stored["channel"] != row.channel:
        diffs.append(("channel", stored["channel"], row.channel))
    if row.destination_unit is not None and stored["destination_unit"] != row.destination_unit:
        diffs.append(("destination_unit", stored["destination_unit"], row.destination_unit))
    if diffs:
        changed_placements.append(
            Placement(
                pk=stored["id"],
                worker_id=worker_id,
                channel=row.channel,
                placed_on=row.placed_on,
                destination_unit=row.destination_unit
                if row.destination_unit is not None
                else stored["destination_unit"],
            )
        )
    return diffs


def _placement_shown(channel: str, placed_on: datetime.date) -> str:
    return f"{_choice_label(Channel, channel, get_language())} {placed_on.isoformat()}"


@transaction.atomic
def _roster_write(
    *,
    source: str,
    enterprise: Enterprise,
    new_rows: list[_RosterRow],
    user,
    changed_workers: dict[int, dict],
    new_placements: list[Placement],
    changed_placements: list[Placement],
) -> None:
    """Every database write of a roster import, in one transaction, through the bulk services
    (placement.services), which write the audit history and keep the report facts."""

    enterprise_pk = enterprise.pk
    _stored_workers_hold(
        enterprise_pk,
        {
            *changed_workers,
            *(placement.worker_id for placement in (*new_placements, *changed_placements)),
        },
    )

    def new_batches():
        # A batch at a time: the tuples and ciphertexts of 100,000 rows never sit in memory
        # together.
        for start in range(0, len(new_rows), BATCH):
            batch = new_rows[start : start + BATCH]
            # Encrypted ahead by the reading thread, or here.
            encrypted = iter(
                idnumbers.encrypt_many([row.parsed.number for row in batch if row.cipher is None])
            )
            ciphers = [row.cipher or next(encrypted) for row in batch]
            yield [
                (
                    _new_worker(row, enterprise_pk, cipher),
                    (row.channel, row.placed_on, row.destination_unit or "")
                    if row.channel
                    else None,
                )
                for row, cipher in zip(batch, ciphers, strict=True)
            ]

    # Every worker an import writes is of its enterprise (others' rows are refused).
    for placement in (*new_placements, *changed_placements):
        placement.enterprise_id = enterprise_pk
    services.workers_bulk_add(batches=new_batches(), actor=user, source=source)
    services.workers_bulk_correct(changes=changed_workers, actor=user, source=source)
    services.placements_bulk_add(placements=new_placements, actor=user, source=source)
    services.placements_bulk_correct(
        placements=changed_placements,
        fields=["channel", "destination_unit"],
        actor=user,
        source=source,
    )


def _stored_workers_hold(enterprise_id: int, worker_ids: set[int]) -> None:
    """The stored workers a write changes or places are still the enterprise's, and stay so until
    it commits (PostgreSQL: FOR SHARE, so that a move or a deletion by another session waits; an
    SQLite write transaction holds the whole database). They were read before the write, up to
    the whole import before it (`_EnterpriseStored`): one moved to another enterprise or deleted
    since raises IntegrityError, and the import answers IMPORT_CONFLICT with nothing written,
    rather than rewrite another enterprise's worker or give them this enterprise's placement."""
    if not worker_ids:
        return
    ids = sorted(worker_ids)
    held = 0
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Worker._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(ids), BATCH):
                cursor.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM {table}"
                    " WHERE id = ANY(%s) AND enterprise_id = %s FOR SHARE) AS held",
                    [ids[start : start + BATCH], enterprise_id],
                )
                held += cursor.fetchone()[0]
    else:
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            held += Worker.objects.filter(pk__in=batch, enterprise_id=enterprise_id).count()
    if held != len(ids):
        raise IntegrityError("a stored worker was moved or deleted during the import")


# What a new worker's row holds when the roster leaves a column out (the models' defaults).
_NEW_WORKER_DEFAULTS = {
    "name": "",
    "post": "",
    "status": Worker.Status.WORKER,
    "special_work_type": False,
    "hire_date": None,
    "phone": "",
}


def _new_worker(row: _RosterRow, enterprise_id: int, cipher: str) -> tuple:
    """A new worker's values in services.NEW_WORKER_FIELDS' order."""
    values = {**_NEW_WORKER_DEFAULTS, **row.values}
    return (
        enterprise_id,
        row.digest,
        cipher,
        values["name"],
        row.parsed.sex,
        row.parsed.birth_date,
        values["post"],
        values["status"],
        values["special_work_type"],
        values["hire_date"],
        values["phone"],
        _diversion_year(row),
        row.registered_on,
        row.registered_on_source,
    )


def _diversion_year(row: _RosterRow) -> int | None:
    """Worker.diversion_year: the year of a date stated for the worker (by the roster or the
    enterprise), none for the day of their import."""
    return row.registered_on.year if row.registered_on_source in BINDING_SOURCES else None


# --- Annual targets --------------------------------------------------------------------------


def target_import(
    *, data: bytes, filename: str, dry_run: bool = False, user, progress: Progress = None
) -> ImportResult:
    """Import annual targets keyed on (year, region) or (year, enterprise). All or nothing."""
    result = ImportResult(dry_run=dry_run)
    resource = AnnualTargetResource()
    read = resource.read_parsed(
        data,
        filename=filename,
        result=result,
        parse=lambda table: list(_parse_targets(table, resource, result, user)),
    )
    if read is None:
        return result
    table, parsed = read
    if result.errors:
        return result
    years = {year for _row, year, _scope, _workers in parsed}
    stored = {
        (t.year, ("region", t.region_id) if t.region_id else ("enterprise", t.enterprise_id)): t
        for t in AnnualTarget.objects.filter(year__in=years)
    }
    creates, updates = [], []
    may_change = is_system(user) or user.has_perm("placement.change_annualtarget")
    for row, year, scope, workers in parsed:
        target = stored.get((year, (scope[0], scope[1].pk)))
        label = f"{year} {scope[1]}"
        if target is None:
            creates.append(AnnualTarget(year=year, workers=workers, **{scope[0]: scope[1]}))
            result.created += 1
            result.changes.append(
                Change(row, "new", label, [(table.header("workers"), "", str(workers))])
            )
        elif target.workers != workers and not may_change:
            # The import needs "add"; changing a target already set needs "change", as on its
            # page.
            result.add_error(
                row, table.header("workers"), TARGET_CHANGE_NOT_ALLOWED % {"label": label}
            )
        elif target.workers != workers:
            result.changes.append(
                Change(
                    row,
                    "changed",
                    label,
                    [(table.header("workers"), str(target.workers), str(workers))],
                )
            )
            target.workers = workers
            updates.append(target)
            result.updated += 1
        else:
            result.unchanged += 1
    if result.errors:
        result.created = result.updated = result.unchanged = 0
        result.changes = []
        return result
    if not dry_run:
        services.targets_bulk_set(
            creates=creates, updates=updates, actor=user, source=import_source("targets", user)
        )
        result.imported = True
    return result


def _parse_targets(table, resource, result, user):
    regions = RegionIndex(Region.objects.visible_to(user))
    codes = set()
    rows = []
    for row_number, values, bad in resource.clean_rows(table, result):
        rows.append((row_number, values, bad))
        if values.get("enterprise"):
            codes.add(normalize_credit_code(values["enterprise"]))
    enterprises = Enterprise.objects.visible_to(user)
    by_credit = {e.credit_code: e for e in enterprises.filter(credit_code__in=codes)}
    seen = {}
    for row_number, values, bad_cell in rows:
        if bad_cell:
            continue
        year, workers = values.get("year"), values.get("workers")
        region_value, credit = values.get("region"), values.get("enterprise")
        bad = False
        for name, value in (("year", year), ("workers", workers)):
            if value is None:
                result.add_error(row_number, table.header(name), VALUE_REQUIRED)
                bad = True
        if year is not None and not 2000 <= year <= 2100:
            result.add_error(row_number, table.header("year"), YEAR_OUT_OF_RANGE)
            bad = True
        if workers is not None and not 0 <= workers <= TARGET_MAX:
            result.add_error(row_number, table.header("workers"), TARGET_OUT_OF_RANGE)
            bad = True
        if bool(region_value) == bool(credit):
            result.add_error(row_number, table.header("region"), TARGET_SCOPE_REQUIRED)
            continue
        if region_value:
            scope_name = "region"
            try:
                found = regions.find(region_value)
            except RegionAmbiguous:
                result.add_error(
                    row_number,
                    table.header("region"),
                    TARGET_REGION_AMBIGUOUS % {"value": region_value},
                )
                continue
            if found is None:
                result.add_error(
                    row_number,
                    table.header("region"),
                    TARGET_REGION_UNKNOWN % {"value": region_value},
                )
                continue
        else:
            scope_name = "enterprise"
            found = by_credit.get(normalize_credit_code(credit))
            if found is None:
                result.add_error(
                    row_number,
                    table.header("enterprise"),
                    TARGET_ENTERPRISE_UNKNOWN % {"value": credit},
                )
                continue
        if bad:
            continue
        key = (year, scope_name, found.pk)
        if key in seen:
            result.add_error(
                row_number,
                table.header(scope_name),
                TARGET_DUPLICATE_IN_FILE % {"first": seen[key], "row": row_number},
            )
            continue
        seen[key] = row_number
        yield row_number, year, (scope_name, found), workers
