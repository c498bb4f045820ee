import sqlite3

import pytest
from django.core.checks import run_checks
from django.db import connection

from reports.checks import SQLITE_TOO_OLD


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a check of the SQLite library")
def test_an_sqlite_library_without_delete_returning_is_refused_at_start(monkeypatch):
    assert SQLITE_TOO_OLD not in {e.id for e in run_checks()}

    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")

    errors = [e for e in run_checks() if e.id == SQLITE_TOO_OLD]
    assert errors and "3.31.1" in errors[0].msg
