"""Backup and restore as the README describes them: pg_dump of the ledger, pg_restore into an
empty database, and the restored copy gives the same counts and the same report (with the same
ID-number keys; without them the numbers cannot be read)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from tests.security.conftest import world  # noqa: F401  (the fixture world, committed here)

ROOT = Path(__file__).resolve().parent.parent
TABLES = ["placement_worker", "placement_placement", "placement_annualtarget"]
TABLES += ["enterprises_enterprise", "placement_historicalworker", "placement_accesslog"]

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="backup and restore are PostgreSQL's tools"
    ),
    pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed"),
]


def _url(name: str) -> str:
    s = connection.settings_dict
    user, host, port = s["USER"], s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{user}{password}@{host}:{port}/{name}"


def _counts(url: str) -> dict[str, int]:
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
            counts[table] = cursor.fetchone()[0]
    return counts


def _report(url: str) -> dict:
    command = [sys.executable, "manage.py", "placement_report", "--year", "2016", "--json"]
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _admin_sql(url: str, *statements: str) -> None:
    # CREATE and DROP DATABASE refuse to run inside a transaction: autocommit, no `with db`.
    db = psycopg2.connect(url)
    db.autocommit = True
    try:
        with db.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        db.close()


@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_gives_the_same_counts_and_report(world, tmp_path):  # noqa: F811
    source = _url(connection.settings_dict["NAME"])
    scratch = connection.settings_dict["NAME"] + "_restore"
    admin = _url("postgres")
    dump = tmp_path / "ledger.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", dump, "-d", source], check=True)
    _admin_sql(admin, f'DROP DATABASE IF EXISTS "{scratch}"', f'CREATE DATABASE "{scratch}"')
    try:
        subprocess.run(["pg_restore", "--no-owner", "-d", _url(scratch), dump], check=True)
        assert _counts(_url(scratch)) == _counts(source)
        assert _counts(source)["placement_worker"] == 3
        assert _report(_url(scratch)) == _report(source)
    finally:
        _admin_sql(admin, f'DROP DATABASE IF EXISTS "{scratch}"')
