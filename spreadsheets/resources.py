"""The base of the ledger's django-import-export resources: header aliases for import, notes for
the blank template, and formula escaping on export."""

from collections.abc import Callable, Iterator

from django.core.exceptions import ValidationError
from import_export import resources

from .formulas import escape_formula
from .readers import ReadError, Table, read_table
from .results import ColumnNote, ImportResult

_NO_DEFAULT = object()
# Rows between two progress reports: about a tenth of a second of checking, so that the import
# page's bar moves within its first seconds (one UPDATE of the job each, 50 for 100,000 rows).
PROGRESS_EVERY = 2_000
# Cleaned values a column keeps for cells that repeat (`LedgerResource.clean_rows`).
CLEANED_KEPT = 5_000


def error_text(error) -> str:
    """The text of a ValidationError or ValueError, params filled in."""
    if isinstance(error, ValidationError):
        return "；".join(str(m) for m in error.messages)
    return str(error)


def _empty(widget):
    """What the widget makes of an empty cell, or _NO_DEFAULT when that is an error."""
    try:
        return widget.clean(None)
    except (ValueError, ValidationError):
        return _NO_DEFAULT


class LedgerResource(resources.ModelResource):
    """Shared by the ledger's resources: header aliases for import, formula escaping on export."""

    HEADER_ALIASES: dict[str, list[str]] = {}
    REQUIRED: list[str] = []
    NOTES: dict[str, str] = {}

    def header_aliases(self) -> dict[str, list[str]]:
        """field name -> every header accepted for it, the column name first."""
        return {
            name: [str(self.fields[name].column_name), *self.HEADER_ALIASES.get(name, [])]
            for name in self.get_export_order()
        }

    def read(self, data: bytes, *, filename: str, meanwhile=None) -> Table:
        """The file's rows under this resource's columns (raises readers.ReadError); `meanwhile`
        as read_table's."""
        return read_table(
            data,
            filename=filename,
            aliases=self.header_aliases(),
            required=self.REQUIRED,
            meanwhile=meanwhile,
        )

    def read_parsed(self, data: bytes, *, filename: str, result: ImportResult, parse: Callable):
        """`parse(table)` of the file's table, or None when the file cannot be read (its problem
        is then `result`'s one error, naming no row). The rows are read lazily, so a file that
        breaks half-way is caught here too: `parse` must read them all."""
        try:
            table = self.read(data, filename=filename)
            return table, parse(table)
        except ReadError as exc:
            result.add_error(None, "", str(exc.message))
            return None

    def clean_rows(
        self,
        table: Table,
        result: ImportResult,
        *,
        keep_when_blank: frozenset[str] = frozenset(),
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[int, dict, bool]]:
        """Every data row's cells through their column's widget: (row number, values, bad).
        A cell a widget refuses is an error in `result` naming the row and the column as
        written, and makes the row bad; a blank cell of a `keep_when_blank` column is left out
        (it says nothing). `progress(rows)` is called every PROGRESS_EVERY rows and at the end."""
        # An empty cell means the same in every row: its value is worked out once per column.
        # So does any cell that repeats (a sex, a channel, a post, a date): each column keeps
        # the values it cleaned, up to CLEANED_KEPT of them, keyed by the cell's type and value
        # (1, 1.0 and True are equal in Python but not to a widget). A cell a widget refuses is
        # not kept: its error is reported on every row that has it.
        present = [
            (name, index, column, self.fields[name].widget, _empty(self.fields[name].widget), {})
            for name, (index, column) in table.columns.items()
        ]
        count = 0
        for row_number, cells in table.rows:
            count += 1
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
            values = {}
            bad = False
            width = len(cells)
            for name, index, column, widget, empty, cleaned in present:
                cell = cells[index] if index < width else None
                if cell is None and name in keep_when_blank:
                    continue
                if cell is None and empty is not _NO_DEFAULT:
                    values[name] = empty
                    continue
                key = (type(cell), cell)
                value = cleaned.get(key, _NO_DEFAULT)
                if value is not _NO_DEFAULT:
                    values[name] = value
                    continue
                try:
                    values[name] = value = widget.clean(cell)
                except (ValueError, ValidationError) as exc:
                    result.add_error(row_number, column, error_text(exc))
                    bad = True
                    continue
                if len(cleaned) < CLEANED_KEPT:
                    cleaned[key] = value
            yield row_number, values, bad
        if progress and count >= PROGRESS_EVERY:
            progress(count)

    def column_notes(self) -> list[ColumnNote]:
        """The blank template's notes sheet."""
        return [
            ColumnNote(
                header=str(self.fields[name].column_name),
                required=name in self.REQUIRED,
                aliases=self.HEADER_ALIASES.get(name, []),
                note=str(self.NOTES.get(name, "")),
            )
            for name in self.get_export_order()
        ]

    def export_resource(self, instance, selected_fields=None, **kwargs):
        return [
            escape_formula(value)
            for value in super().export_resource(instance, selected_fields, **kwargs)
        ]
