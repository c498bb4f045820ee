"""The ID-number keys in operation, and what reaches the logs (found by a review of operations
as an attacker with the logs, backups or database would work, each reproduced first)."""

import base64
import io
import logging
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from access.actors import SYSTEM
from placement import idnumbers, keys
from placement.error_reports import PersonalDataLogFilter
from placement.models import AccessLog, Worker
from placement.services import worker_save
from tests.conftest import MODEL_BACKEND

OLD = "dGVzdC1vbmx5LWtleS1kby1ub3QtdXNlLTMyYnl0ZXM="
NEW = base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_a_worker_saved_across_a_rotation_keeps_the_new_keys_ciphertext(make_worker, settings):
    """A page loaded before the rotation reached the worker and saved after it: the stored
    ciphertext stays the rotated one (the page's copy would need the old key)."""
    worker = make_worker()
    number = worker.id_number
    page = Worker.objects.get(pk=worker.pk)  # the change page's copy, under the old key
    settings.LEDGER_ID_ENCRYPTION_KEYS = [NEW, OLD]
    keys.id_keys_rotate()
    page.post = "调度员"
    worker_save(worker=page, actor=SYSTEM)
    settings.LEDGER_ID_ENCRYPTION_KEYS = [NEW]  # the old key dropped
    assert Worker.objects.get(pk=worker.pk).id_number == number
    for row in Worker.history.filter(id=worker.pk):
        assert idnumbers.decrypt(row.id_number_cipher) == number


def test_the_old_key_may_go_only_when_the_check_finds_nothing_under_it(make_worker, settings):
    make_worker()
    settings.LEDGER_ID_ENCRYPTION_KEYS = [NEW, OLD]
    with pytest.raises(CommandError, match="still under an older key"):
        call_command("rotate_id_keys", "--check", stdout=io.StringIO())
    call_command("rotate_id_keys", stdout=io.StringIO())
    out = io.StringIO()
    call_command("rotate_id_keys", "--check", stdout=out)
    assert "the old key may go" in out.getvalue()


@pytest.mark.parametrize("wrong", ["encryption", "hmac"])
def test_health_and_the_database_check_refuse_keys_that_are_not_the_ledgers(
    make_worker, settings, client, wrong
):
    """A well-formed key of another ledger: the numbers cannot be read (encryption), or no one
    is found by number and a person could be registered twice (HMAC)."""
    make_worker()
    if wrong == "encryption":
        settings.LEDGER_ID_ENCRYPTION_KEYS = [NEW]
    else:
        settings.LEDGER_ID_HMAC_KEY = "another-ledgers-hmac-key-of-32-characters-or-more"
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json()["keys"] == "failing"
    from placement.checks import id_number_keys_match_check

    [error] = id_number_keys_match_check(None, databases=["default"])
    assert error.id == "placement.E003"


def test_the_web_server_refuses_to_start_without_its_keys(tmp_path):
    """gunicorn runs no system check: the WSGI module itself refuses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_ID_", "DJANGO_"))}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_SECRET_KEY": "x" * 50}
    run = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=os.getcwd(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and "LEDGER_ID_ENCRYPTION_KEYS" in run.stderr


def test_a_number_in_a_logged_path_is_masked_in_the_lines_extra_fields():
    record = logging.LogRecord("ledger.requests", logging.INFO, "", 0, "request", (), None)
    record.path = "/admin/placement/worker/14010519700501123X/change/13812345678/"
    PersonalDataLogFilter().filter(record)
    assert "14010519700501123X" not in record.path and "13812345678" not in record.path


def test_a_number_pasted_as_a_query_parameter_is_not_kept_in_the_access_log(world, login):
    client = login(world.users["administrator"])
    response = client.get("/admin/placement/worker/?140105197005014576")
    assert response.status_code == 400
    probe = AccessLog.objects.get(action=AccessLog.Action.PROBE)
    assert "140105197005014576" not in probe.target


def test_an_export_made_under_a_dropped_key_is_refused_before_its_download(world, settings):
    from spreadsheets.admin import EXPORT_GONE
    from tests.job_queue import run_jobs

    settings.LEDGER_EXPORT_JOB_ROWS = 0
    client = Client()
    client.force_login(world.users["hr"], backend=MODEL_BACKEND)
    export_url = reverse("admin:placement_worker_export")
    client.post(export_url, {"format": "0", "resource": "0"})
    run_jobs()
    from jobs.models import ExportJob

    job = ExportJob.objects.get()
    # Rotated (the stored numbers; not the day's export) and the old key dropped within the day.
    settings.LEDGER_ID_ENCRYPTION_KEYS = [NEW, OLD]
    keys.id_keys_rotate()
    settings.LEDGER_ID_ENCRYPTION_KEYS = [NEW]
    response = client.get(export_url, {"download": job.token}, follow=True)
    assert not response.get("Content-Disposition", "").startswith("attachment")
    assert str(EXPORT_GONE) in [str(m) for m in response.context["messages"]]
    assert not AccessLog.objects.filter(target="placement.worker:roster-export").exists()
