"""What an import answers, and the workbooks built around imports: the error report and the blank
template with its notes sheet."""

import io
import json
from dataclasses import asdict, dataclass, field

from django.utils.translation import gettext_lazy as _

from .formulas import escape_formula

ERROR_REPORT_HEADERS = [_("行号"), _("列"), _("问题")]
TEMPLATE_NOTES_HEADERS = [_("列名"), _("是否必填"), _("也可写作"), _("填写说明")]
UNUSED_COLUMNS = _("文件中这些列没有导入（列名不认识，或与前面的列重复）：“%(columns)s”")


@dataclass(slots=True)
class RowError:
    """One problem: the row as the spreadsheet program numbers it, the column header as written
    in the file, and the reason. `row` is None for a problem with the whole file."""

    row: int | None
    column: str
    message: str


@dataclass(slots=True)
class Change:
    """One row that would be created or changed, for the preview: what it is and what differs."""

    row: int
    kind: str  # "new" or "changed"
    label: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (column, old, new)


@dataclass
class ImportResult:
    """Counts, errors and changes of one import (or dry run) of one file."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    imported: bool = False
    # Said before anything is written: the file's columns that were not used, and notes such as
    # from which date the workers count (each a sentence in the user's language).
    unused_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.errors)

    def add_error(self, row: int | None, column: str, message) -> None:
        self.errors.append(RowError(row, str(column), str(message)))

    def as_dict(self) -> dict:
        """The command line's JSON answer."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [asdict(error) for error in self.errors],
            "unused_columns": self.unused_columns,
            "notes": self.notes,
        }

    def dumps(self) -> str:
        """Everything, for the admin preview stored between requests."""
        return json.dumps(
            {
                **self.as_dict(),
                "changes": [asdict(change) for change in self.changes],
                "dry_run": self.dry_run,
                "imported": self.imported,
            },
            ensure_ascii=False,
        )

    @classmethod
    def loads(cls, text: str) -> "ImportResult":
        data = json.loads(text)
        return cls(
            created=data["created"],
            updated=data["updated"],
            unchanged=data["unchanged"],
            errors=[RowError(**error) for error in data["errors"]],
            changes=[
                Change(c["row"], c["kind"], c["label"], [tuple(f) for f in c["fields"]])
                for c in data["changes"]
            ],
            dry_run=data["dry_run"],
            imported=data["imported"],
            unused_columns=data.get("unused_columns", []),
            notes=data.get("notes", []),
        )


def _workbook_bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_sheet(sheet, rows) -> None:
    for row in rows:
        sheet.append([escape_formula(str(value)) if value is not None else "" for value in row])
    for column in sheet.columns:
        for cell in column:
            cell.number_format = "@"


def error_report_xlsx(errors: list[RowError]) -> bytes:
    """The refused file's problems as a workbook: row, column, reason."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = str(_("错误清单"))
    rows = [[str(h) for h in ERROR_REPORT_HEADERS]]
    rows += [
        [error.row if error.row is not None else "", error.column, error.message]
        for error in errors
    ]
    _text_sheet(sheet, rows)
    sheet.column_dimensions["A"].width = 8
    sheet.column_dimensions["B"].width = 18
    sheet.column_dimensions["C"].width = 90
    return _workbook_bytes(workbook)


@dataclass
class ColumnNote:
    """One column of a blank template: its header, whether it must be filled, other accepted
    headers and how to fill it."""

    header: str
    required: bool
    aliases: list[str]
    note: str


def template_xlsx(*, title: str, columns: list[ColumnNote]) -> bytes:
    """A blank template: the header row (every cell formatted as text, so that ID numbers keep
    their digits) and a notes sheet explaining each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append([column.header for column in columns])
    for index, _column in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 18
        sheet.cell(row=1, column=index).font = Font(bold=True)
        for row in range(2, 1002):
            sheet.cell(row=row, column=index).number_format = "@"
    notes = workbook.create_sheet(str(_("填写说明")))
    _text_sheet(
        notes,
        [[str(h) for h in TEMPLATE_NOTES_HEADERS]]
        + [
            [
                column.header,
                str(_("必填")) if column.required else str(_("选填")),
                "、".join(column.aliases),
                column.note,
            ]
            for column in columns
        ],
    )
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["C"].width = 36
    notes.column_dimensions["D"].width = 90
    return _workbook_bytes(workbook)
