"""The base of the ledger's django-import-export resources: header aliases for import, notes for
the blank template, and formula escaping on export."""

from import_export import resources

from .formulas import escape_formula
from .readers import Table, read_table
from .results import ColumnNote


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

    def read(self, data: bytes, *, filename: str) -> Table:
        """The file's rows under this resource's columns (raises readers.ReadError)."""
        return read_table(
            data, filename=filename, aliases=self.header_aliases(), required=self.REQUIRED
        )

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
