"""System check: the report facts' refresh needs `DELETE … RETURNING`, which SQLite has from
3.35 on (Django 5.2 itself accepts 3.31)."""

import sqlite3

from django.core.checks import Error, register
from django.db import connections

SQLITE_TOO_OLD = "reports.E001"
SQLITE_MINIMUM = (3, 35)


@register()
def sqlite_version_check(app_configs, **kwargs):
    """Every configured SQLite database (the library's version: no connection is opened), at
    every start, not only where checks are run with --database."""
    errors = []
    for alias in connections:
        if connections[alias].vendor != "sqlite":
            continue
        if sqlite3.sqlite_version_info < SQLITE_MINIMUM:
            errors.append(
                Error(
                    f"SQLite {sqlite3.sqlite_version} is too old: the ledger needs "
                    f"{'.'.join(map(str, SQLITE_MINIMUM))} or newer (DELETE … RETURNING).",
                    hint="Use PostgreSQL (DATABASE_URL), or a Python built with a newer SQLite.",
                    id=SQLITE_TOO_OLD,
                )
            )
    return errors
