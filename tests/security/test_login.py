"""Login and sessions: lockout (per user and address, per address, behind a proxy), idle expiry,
login required everywhere, CSP, the deploy check."""

import datetime
import os
import runpy
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from axes.models import AccessAttempt
from axes.models import AccessLog as LoginLog
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from placement.models import AccessLog

from .conftest import PASSWORD

LOGIN = "admin:login"
PROXY = "10.0.0.254"  # the reverse proxy: the connection's address of every request behind it
ATTACKER = "198.51.100.66"
USER = "198.51.100.7"


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


def test_a_locked_out_login_gets_a_page_in_the_users_language(world, client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "province", "wrong-password")
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)

    locked = _attempt(client, "province", PASSWORD)

    assert locked.status_code == 429
    assert "registration/lockout.html" in [template.name for template in locked.templates]
    page = locked.content.decode()
    assert f"已暂时锁定：请在 {minutes} 分钟后再试" in page and "安置台账" in page
    assert "Account locked" not in page and "province" not in page  # not the name typed
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = _attempt(client, "province", PASSWORD).content.decode()
    assert f"Please try again in {minutes} minutes" in english


def _settings_from_environment(monkeypatch, **environ) -> dict:
    """config/settings.py evaluated afresh with these environment variables."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(settings.BASE_DIR) / "config" / "settings.py"))


@pytest.fixture
def behind_one_proxy(settings, monkeypatch):
    """The settings that DJANGO_PROXY_COUNT=1 gives (one reverse proxy in front of the app)."""
    fresh = _settings_from_environment(monkeypatch, DJANGO_PROXY_COUNT="1")
    for name in (
        "AXES_IPWARE_META_PRECEDENCE_ORDER",
        "AXES_IPWARE_PROXY_COUNT",
        "AXES_IPWARE_PROXY_ORDER",
        "IPWARE_STRICT",
    ):
        setattr(settings, name, fresh[name])


def _via_proxy(client, username, password, address, forged=""):
    """A login through the proxy, which appends the address it saw to whatever the client sent
    in X-Forwarded-For (`forged`)."""
    return client.post(
        reverse(LOGIN),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{forged}, {address}" if forged else address,
    )


def test_attack_lockout_behind_a_proxy_does_not_lock_out_the_user_elsewhere(
    world, client, behind_one_proxy
):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _via_proxy(client, "administrator", "wrong-password", ATTACKER).status_code == 200
    assert _via_proxy(client, "administrator", "wrong-password", ATTACKER).status_code == 429
    assert _via_proxy(client, "administrator", PASSWORD, ATTACKER).status_code == 429
    # The administrator, through the same proxy from their own address, still gets in.
    assert _via_proxy(client, "administrator", PASSWORD, USER).status_code == 302


def test_attack_forged_forwarded_for_does_not_escape_the_lockout_behind_a_proxy(
    world, client, behind_one_proxy
):
    # A new made-up address in front of every attempt: the proxy's own entry still counts.
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        response = _via_proxy(
            client, "province", "wrong-password", ATTACKER, forged=f"203.0.113.{attempt}"
        )
    assert response.status_code == 429
    assert _via_proxy(
        client, "province", PASSWORD, ATTACKER, forged="203.0.113.99"
    ).status_code == (429)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_attack_forged_forwarded_for_from_a_direct_client_is_ignored(world, client):
    # DJANGO_PROXY_COUNT=0 (the default): X-Forwarded-For is the client's own word, not read.
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            reverse(LOGIN),
            {"username": "province", "password": "wrong-password", "next": "/admin/"},
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        )
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_attack_password_spray_from_one_address_is_locked(world, client, behind_one_proxy):
    limit = settings.LEDGER_LOGIN_ADDRESS_FAILURE_LIMIT
    assert limit > settings.AXES_FAILURE_LIMIT
    # One password over many usernames: never more than one failure per username.
    for index in range(limit - 1):
        assert _via_proxy(client, f"user-{index}", "Spring2017!", ATTACKER).status_code == 200
    assert _via_proxy(client, "city-taiyuan", "Spring2017!", ATTACKER).status_code == 429
    # From that address nobody gets in now, not even with the right password …
    assert _via_proxy(client, "province", PASSWORD, ATTACKER).status_code == 429
    # … while the same user from another address does.
    assert _via_proxy(client, "province", PASSWORD, USER).status_code == 302


def test_attack_password_spray_is_not_reset_by_the_sprayers_own_login(
    world, client, behind_one_proxy
):
    limit = settings.LEDGER_LOGIN_ADDRESS_FAILURE_LIMIT
    for index in range(limit - 1):
        _via_proxy(client, f"user-{index}", "Spring2017!", ATTACKER)
    # The sprayer holds one valid account: logging in to it clears only its own failures.
    assert _via_proxy(client, "hr-a", PASSWORD, ATTACKER).status_code == 302
    client.logout()
    assert _via_proxy(client, "user-last", "Spring2017!", ATTACKER).status_code == 429


def test_a_successful_login_clears_only_its_own_failures(world, client):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, "province", "wrong-password")
        _attempt(client, "city-taiyuan", "wrong-password")
    assert _attempt(client, "province", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="province").exists()
    assert AccessAttempt.objects.get(username="city-taiyuan").failures_since_start == 4


def test_the_logs_record_the_real_client_address_behind_a_proxy(world, client, behind_one_proxy):
    _via_proxy(client, "hr-a", "wrong-password", USER, forged="203.0.113.1")
    assert AccessAttempt.objects.get().ip_address == USER
    assert _via_proxy(client, "hr-a", PASSWORD, USER, forged="203.0.113.2").status_code == 302
    assert LoginLog.objects.get(username="hr-a").ip_address == USER
    client.post(
        reverse("admin:placement_worker_reveal", args=[world.a.worker.pk]),
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"203.0.113.3, {USER}",
    )
    assert AccessLog.objects.get().address == USER


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
