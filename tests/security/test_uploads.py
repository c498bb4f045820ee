"""Uploads waiting for confirmation: stored in the database every app server shares, encrypted
with the ID-number keys, owned by their uploader, removed on confirm, cancel and expiry (each
upload and `manage.py cleanup_imports` remove the expired ones)."""

import datetime
import io

import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from jobs.models import ImportJob
from placement.demo_rosters import roster_csv, roster_rows
from placement.models import Worker
from spreadsheets.admin import UPLOAD_CANCELLED, UPLOAD_EXPIRED
from tests.job_queue import confirm_and_write, upload_and_check

IMPORT_URL = reverse("admin:placement_worker_import")
PROCESS_URL = reverse("admin:placement_worker_process_import")
ROWS = roster_rows(3, seed=2)
# What a roster must never show at rest: ID numbers, names, phones.
PERSONAL = [str(row[i]) for row in ROWS for i in (1, 2, 9) if row[i]]


@pytest.fixture
def hr(world, login):
    return login(world.users["hr"])


def _upload(client, world, rows=ROWS):
    file = io.BytesIO(roster_csv(rows))
    file.name = "roster.csv"
    data = {"import_file": file, "enterprise": world.a.enterprise.pk}
    response = upload_and_check(client, IMPORT_URL, data)
    assert response.status_code == 200
    return response.context["confirm"]


def _cipher(settings) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.LEDGER_ID_ENCRYPTION_KEYS])


def _age(token, minutes):
    # Uploaded, and its preview made (the check's last report), that long ago.
    then = timezone.now() - datetime.timedelta(minutes=minutes)
    ImportJob.objects.filter(token=token).update(created_at=then, heartbeat_at=then)


def _messages(response):
    return [str(m) for m in response.context["messages"]]


def test_attack_upload_lying_in_the_clear_is_encrypted(hr, world, settings):
    confirm = _upload(hr, world)
    job = ImportJob.objects.get(token=confirm["token"])
    for stored in (bytes(job.data), bytes(job.result)):
        for value in PERSONAL:
            assert value.encode() not in stored
    # It is the upload itself, encrypted with the ID-number keys.
    assert _cipher(settings).decrypt(bytes(job.data)) == roster_csv(ROWS)


def test_a_confirmed_upload_is_removed(hr, world):
    confirm = _upload(hr, world)
    assert confirm_and_write(hr, PROCESS_URL, confirm).status_code == 302
    assert Worker.objects.filter(enterprise=world.a.enterprise).count() == 4
    job = ImportJob.objects.get(token=confirm["token"])
    assert (job.status, bytes(job.data)) == (ImportJob.Status.DONE, b"")


def test_a_cancelled_upload_is_removed_and_imports_nothing(hr, world):
    confirm = _upload(hr, world)
    response = hr.post(PROCESS_URL, {"token": confirm["token"], "cancel": "1"}, follow=True)
    assert _messages(response) == [str(UPLOAD_CANCELLED)]
    job = ImportJob.objects.get(token=confirm["token"])
    assert (job.status, bytes(job.data)) == (ImportJob.Status.CANCELLED, b"")
    assert confirm_and_write(hr, PROCESS_URL, confirm).status_code == 302
    assert Worker.objects.filter(enterprise=world.a.enterprise).count() == 1


def test_another_user_cannot_cancel_an_upload(hr, world, login):
    confirm = _upload(hr, world)
    other = login(world.users["administrator"])
    assert other.post(PROCESS_URL, {"token": confirm["token"], "cancel": "1"}).status_code == 404
    assert ImportJob.objects.get(token=confirm["token"]).status == ImportJob.Status.PREVIEW


def test_an_expired_upload_is_refused_before_it_is_removed(hr, world, settings):
    confirm = _upload(hr, world)
    _age(confirm["token"], settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES + 1)
    response = hr.post(PROCESS_URL, confirm, follow=True)
    assert _messages(response) == [str(UPLOAD_EXPIRED)]
    assert Worker.objects.filter(enterprise=world.a.enterprise).count() == 1


def test_abandoned_upload_is_removed_on_expiry_by_the_next_upload(hr, world, settings):
    expiry = settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES
    abandoned = _upload(hr, world)["token"]
    recent = _upload(hr, world)["token"]
    _age(abandoned, expiry + 1)
    _age(recent, expiry - 1)
    newest = _upload(hr, world)["token"]
    kept = ImportJob.objects.exclude(data=b"").values_list("token", flat=True)
    assert set(kept) == {recent, newest}
    assert ImportJob.objects.get(token=abandoned).status == ImportJob.Status.EXPIRED


def test_cleanup_imports_removes_expired_uploads_only(hr, world, settings):
    abandoned = _upload(hr, world)["token"]
    recent = _upload(hr, world)["token"]
    _age(abandoned, settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES + 1)
    out = io.StringIO()
    call_command("cleanup_imports", stdout=out)
    assert out.getvalue().strip() == (
        "removed 1 expired uploads and 0 expired exports; 0 jobs put back on the queue"
    )
    kept = ImportJob.objects.exclude(data=b"").values_list("token", flat=True)
    assert list(kept) == [recent]
