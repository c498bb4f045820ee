"""ID numbers at rest: no plaintext in any column of any table (history included), the key
check, and key rotation."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from placement import checks, idnumbers
from placement.models import Worker

from .conftest import worker_form


def _text_columns():
    """(table, column) of every text-like column in the database."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            for column in connection.introspection.get_table_description(cursor, table):
                kind = connection.introspection.get_field_type(column.type_code, column)
                if kind in ("CharField", "TextField", "JSONField") or "char" in str(kind).lower():
                    yield table, column.name


def _rows_containing(needle: str):
    found = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote(table)} WHERE CAST({quote(column)} AS TEXT) LIKE %s",
                [f"%{needle}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_no_column_of_any_table_holds_an_id_number_in_the_clear(world, login, client):
    # Every write path has run: services (world), the admin (an edit), the history tables.
    from django.urls import reverse

    worker = world.a.worker
    login(world.users["hr"]).post(
        reverse("admin:placement_worker_change", args=[worker.pk]),
        worker_form(worker, name="改名", id_number=world.a.id_number),
    )
    assert Worker.history.model.objects.count() >= 4
    assert list(_text_columns())
    for site in world.sites.values():
        # The full number, and its birth-date-and-sequence part (which only the number holds).
        assert _rows_containing(site.id_number) == []
        assert _rows_containing(site.id_number[6:17]) == []


def test_the_scan_finds_a_number_stored_in_the_clear(world):
    # The scan itself can fail: a number written into a text column is found.
    Worker.objects.filter(pk=world.a.worker.pk).update(post=world.a.id_number)
    assert "placement_worker.post" in _rows_containing(world.a.id_number)


@pytest.mark.parametrize(
    "override",
    [{"LEDGER_ID_ENCRYPTION_KEYS": []}, {"LEDGER_ID_HMAC_KEY": ""}],
)
def test_the_app_refuses_to_start_without_its_keys(settings, override):
    for name, value in override.items():
        setattr(settings, name, value)
    assert [e.id for e in checks.id_number_keys_check(None)] == [checks.KEYS_MISSING]


def test_the_key_check_refuses_a_key_that_is_not_a_fernet_key(settings):
    settings.LEDGER_ID_ENCRYPTION_KEYS = ["not-a-key"]
    assert [e.id for e in checks.id_number_keys_check(None)] == [checks.KEY_INVALID]


def test_rotation_reencrypts_workers_and_history_with_the_new_key(world, settings):
    old_keys = list(settings.LEDGER_ID_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.LEDGER_ID_ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("rotate_id_keys", batch_size=2, stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.LEDGER_ID_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    for site in world.sites.values():
        worker = Worker.objects.get(pk=site.worker.pk)
        assert worker.id_number == site.id_number
        assert Fernet(new_key.encode()).decrypt(worker.id_number_cipher.encode()).decode() == (
            site.id_number
        )
    for row in Worker.history.model.objects.all():
        assert idnumbers.decrypt(row.id_number_cipher) in {
            s.id_number for s in world.sites.values()
        }
    # Rotation changes no number: no history row is written for it.
    assert Worker.history.model.objects.count() == 3
