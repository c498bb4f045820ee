"""The one rule for every cell the ledger writes to a spreadsheet (report tables, the admin's
exports, the error reports and templates of imports): text that a spreadsheet program would run
as a formula gets a leading apostrophe, so that it is shown, not run (OWASP, CSV injection).

A formula starts with = + - or @; a leading tab, carriage return or line feed is refused as OWASP
advises (some programs drop it and read what follows). The full-width forms ＝ ＋ － ＠ (and the
other compatibility forms NFKC folds into them) count too: an input method in Chinese types them,
and some programs fold them into ASCII on input. Leading white space does not hide a formula
either (" =1+1" is escaped as well): it costs an apostrophe on text that nobody writes that way,
and spares asking which program trims what.

Only text is escaped: a number stays a number, so that -5 is still -5 in a cell.
django-import-export's own IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT stays off: it handles "=" only,
by deleting it, and turns every cell into text (PITFALLS.md).
"""

import unicodedata

FORMULA_STARTS = frozenset("=+-@")
CONTROL_STARTS = frozenset("\t\r\n")


def looks_like_formula(text: str) -> bool:
    """Would a spreadsheet program read this text as a formula (or could it, after trimming)?"""
    if not text:
        return False
    if text[0] in CONTROL_STARTS:
        return True
    first = text.lstrip()[:1]
    if not first:
        return False
    if not first.isascii():
        first = unicodedata.normalize("NFKC", first)[:1]
    return first in FORMULA_STARTS


def escape_formula(value):
    """The value to write to a cell: text that looks like a formula with a leading apostrophe,
    anything else unchanged."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def unescape_formula(text: str) -> str:
    """The text as it was before escape_formula, for an export imported back."""
    if text[:1] == "'" and looks_like_formula(text[1:]):
        return text[1:]
    return text
