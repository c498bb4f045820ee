"""Uploads waiting for confirmation: encrypted with the ID-number keys, mode 0600 in a private
folder whose owner and mode are checked, owned by their uploader, removed on confirm, cancel and
expiry (each upload and `manage.py cleanup_imports` remove the expired ones)."""

import io
import os
import stat
import time

import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.urls import reverse

from placement.demo_rosters import roster_csv, roster_rows
from placement.models import Worker
from spreadsheets.admin import UPLOAD_CANCELLED, UPLOAD_EXPIRED

IMPORT_URL = reverse("admin:placement_worker_import")
PROCESS_URL = reverse("admin:placement_worker_process_import")
ROWS = roster_rows(3, seed=2)
# What a roster must never show at rest: ID numbers, names, phones.
PERSONAL = [str(row[i]) for row in ROWS for i in (1, 2, 9) if row[i]]


@pytest.fixture
def folder(settings, tmp_path):
    settings.LEDGER_IMPORT_UPLOAD_DIR = tmp_path / "ledger-imports"
    return settings.LEDGER_IMPORT_UPLOAD_DIR


@pytest.fixture
def hr(world, login):
    return login(world.users["hr"])


def _upload(client, world, rows=ROWS):
    file = io.BytesIO(roster_csv(rows))
    file.name = "roster.csv"
    response = client.post(IMPORT_URL, {"import_file": file, "enterprise": world.a.enterprise.pk})
    assert response.status_code == 200
    return response.context["confirm"]


def _cipher(settings) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.LEDGER_ID_ENCRYPTION_KEYS])


def _age(settings, folder, token, minutes):
    """Make an upload look `minutes` old: its files' times and its tokens' times."""
    cipher = _cipher(settings)
    then = time.time() - minutes * 60
    for path in folder.glob(f"{token}.*"):
        path.write_bytes(cipher.encrypt_at_time(cipher.decrypt(path.read_bytes()), int(then)))
        os.utime(path, (then, then))


def _messages(response):
    return [str(m) for m in response.context["messages"]]


def test_attack_upload_lying_in_the_clear_is_encrypted_and_private(hr, world, folder, settings):
    confirm = _upload(hr, world)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    stored = sorted(folder.iterdir())
    assert [p.name.removeprefix(confirm["token"]) for p in stored] == [
        ".bin",
        ".confirm.json",
        ".json",
    ]
    for path in stored:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for value in PERSONAL:
            assert value.encode() not in path.read_bytes(), path.name
    # It is the upload itself, encrypted with the ID-number keys.
    data = next(p for p in stored if p.suffix == ".bin").read_bytes()
    assert _cipher(settings).decrypt(data) == roster_csv(ROWS)


def test_a_confirmed_upload_is_removed(hr, world, folder):
    confirm = _upload(hr, world)
    assert hr.post(PROCESS_URL, confirm).status_code == 302
    assert Worker.objects.filter(enterprise=world.a.enterprise).count() == 4
    assert list(folder.iterdir()) == []


def test_a_cancelled_upload_is_removed_and_imports_nothing(hr, world, folder):
    confirm = _upload(hr, world)
    response = hr.post(PROCESS_URL, {"token": confirm["token"], "cancel": "1"}, follow=True)
    assert _messages(response) == [str(UPLOAD_CANCELLED)]
    assert list(folder.iterdir()) == []
    assert Worker.objects.filter(enterprise=world.a.enterprise).count() == 1


def test_another_user_cannot_cancel_an_upload(hr, world, folder, login):
    confirm = _upload(hr, world)
    other = login(world.users["administrator"])
    assert other.post(PROCESS_URL, {"token": confirm["token"], "cancel": "1"}).status_code == 404
    assert len(list(folder.iterdir())) == 3


def test_attack_upload_without_owner_record_is_refused(hr, world, folder):
    confirm = _upload(hr, world)
    (folder / f"{confirm['token']}.confirm.json").unlink()
    assert hr.get(IMPORT_URL, {"preview": confirm["token"]}).status_code == 404
    response = hr.post(PROCESS_URL, confirm, follow=True)
    assert _messages(response) == [str(UPLOAD_EXPIRED)]
    assert Worker.objects.filter(enterprise=world.a.enterprise).count() == 1
    # What was left of it is gone too.
    assert list(folder.iterdir()) == []


def test_an_expired_upload_is_refused_before_it_is_removed(hr, world, folder, settings):
    confirm = _upload(hr, world)
    _age(settings, folder, confirm["token"], settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES + 1)
    response = hr.post(PROCESS_URL, confirm, follow=True)
    assert _messages(response) == [str(UPLOAD_EXPIRED)]
    assert Worker.objects.filter(enterprise=world.a.enterprise).count() == 1
    assert list(folder.iterdir()) == []


def test_abandoned_upload_is_removed_on_expiry_by_the_next_upload(hr, world, folder, settings):
    expiry = settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES
    abandoned = _upload(hr, world)["token"]
    recent = _upload(hr, world)["token"]
    _age(settings, folder, abandoned, expiry + 1)
    _age(settings, folder, recent, expiry - 1)
    newest = _upload(hr, world)["token"]
    assert {p.name.split(".")[0] for p in folder.iterdir()} == {recent, newest}


def test_cleanup_imports_removes_expired_uploads_only(hr, world, folder, settings):
    abandoned = _upload(hr, world)["token"]
    recent = _upload(hr, world)["token"]
    _age(settings, folder, abandoned, settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES + 1)
    (folder / "notes.txt").write_text("not an upload")
    out = io.StringIO()
    call_command("cleanup_imports", stdout=out)
    assert out.getvalue().strip() == "removed 1 expired uploads"
    assert {p.name.split(".")[0] for p in folder.iterdir()} == {recent, "notes"}


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o755, 0o1777])
def test_attack_upload_folder_open_to_others_is_refused(hr, world, folder, mode):
    folder.mkdir()
    folder.chmod(mode)
    with pytest.raises(ImproperlyConfigured, match="must be 700"):
        _upload(hr, world)
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_attack_upload_folder_of_another_user_is_refused(hr, world, folder):
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(ImproperlyConfigured, match="belongs to another user"):
        _upload(hr, world)
    assert list(folder.iterdir()) == []


def test_attack_upload_folder_replaced_by_a_link_is_refused(hr, world, folder, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.symlink_to(elsewhere)
    with pytest.raises(ImproperlyConfigured, match="not a folder"):
        _upload(hr, world)
    assert list(elsewhere.iterdir()) == []


def test_cleanup_imports_reports_a_folder_it_must_not_use(folder):
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    with pytest.raises(CommandError, match="must be 700"):
        call_command("cleanup_imports", stdout=io.StringIO())
