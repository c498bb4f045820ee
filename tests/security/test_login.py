"""Login and sessions: lockout, idle expiry, login required everywhere, CSP, the deploy check."""

import datetime
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from .conftest import PASSWORD

LOGIN = "admin:login"


def _attempt(client, username, password, address="10.0.0.1"):
    return client.post(
        reverse(LOGIN),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_a_username_is_locked_out_at_one_address_after_repeated_failures(world, client):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _attempt(client, "province", "wrong-password").status_code == 200
    assert _attempt(client, "province", "wrong-password").status_code == 429
    # Now even the right password is refused from that address …
    assert _attempt(client, "province", PASSWORD).status_code == 429
    # … while the same user from another address, and another user here, still get in.
    assert _attempt(client, "province", PASSWORD, address="10.0.0.2").status_code == 302
    client.logout()
    assert _attempt(client, "city-taiyuan", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(world, client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "province", "wrong-password")
    assert _attempt(client, "province", PASSWORD).status_code == 429
    later = timezone.now() - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=later)
    assert _attempt(client, "province", PASSWORD).status_code == 302


def test_a_session_ends_after_thirty_idle_minutes(world, login, client):
    login(world.users["province"])
    index = reverse("admin:index")
    assert client.get(index).status_code == 200
    now = timezone.now()
    # 29 idle minutes: still in, and the request moves the expiry on.
    with mock.patch("django.utils.timezone.now", return_value=now + datetime.timedelta(minutes=29)):
        assert client.get(index).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=now + datetime.timedelta(minutes=58)):
        assert client.get(index).status_code == 200
    # 31 idle minutes after the last request: logged out.
    with mock.patch("django.utils.timezone.now", return_value=now + datetime.timedelta(minutes=89)):
        response = client.get(index)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(LOGIN))


def test_every_page_needs_a_login(client, db):
    for url in ("/", reverse("admin:index"), reverse("admin:placement_worker_changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse(LOGIN))
    assert client.get(reverse(LOGIN)).status_code == 200


def test_passwords_need_twelve_characters(db):
    try:
        validate_password("Short-pw-1!")
    except ValidationError as exc:
        assert "min_length" in [e.code for e in exc.error_list] or exc.messages
    else:
        raise AssertionError("an 11-character password was accepted")
    validate_password("Twelve-chars-ok-1")


def test_pages_carry_a_csp_without_inline_scripts_and_hsts(world, login, client, settings):
    response = login(world.users["administrator"]).get(
        reverse("admin:placement_worker_change", args=[world.a.worker.pk]), secure=True
    )
    policy = response["Content-Security-Policy"]
    script = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'self'" in script
    assert "<script>" not in response.content.decode()  # every admin script is a file
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE


def test_the_deploy_check_passes_with_production_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="prod-like-" + "k3y-" * 16,
        DJANGO_ALLOWED_HOSTS="ledger.example.gov.cn",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
