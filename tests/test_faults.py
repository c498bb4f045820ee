"""Faults the app must survive, on PostgreSQL (skipped on SQLite, which has no server).

PostgreSQL restarting under a running app is reproduced by terminating the server side of the
app's connections (what a restart does to every client) while requests go through Django's real
WSGI handler, which, unlike the test client, runs the per-request connection checks.
"""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL restart needs PostgreSQL"
)


def _terminate_other_connections():
    """Every connection to the test database except the one used to do it: as a restart."""
    from django.db import connections

    killer = connections["default"].copy()
    try:
        with killer.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]
    finally:
        killer.close()


@pytest.fixture
def serve(django_user_model):
    """GET a page through the WSGI handler as a logged-in administrator: the status code."""
    user = django_user_model.objects.create_superuser("ops", password="x" * 16)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    handler = WSGIHandler()

    def get(path):
        environ = RequestFactory()._base_environ(
            PATH_INFO=path, REQUEST_METHOD="GET", HTTP_COOKIE=f"sessionid={session.session_key}"
        )
        status = []
        b"".join(handler(environ, lambda line, headers: status.append(line)))
        return int(status[0].split()[0])

    return get


@pytest.mark.django_db(transaction=True)
def test_every_request_succeeds_once_postgresql_is_back_after_a_restart(serve):
    assert serve("/admin/") == 200
    assert connection.connection is not None  # kept between requests (CONN_MAX_AGE)
    assert _terminate_other_connections() >= 1
    for _ in range(3):
        assert serve("/admin/") == 200


@pytest.mark.django_db(transaction=True)
def test_without_health_checks_the_first_request_after_a_restart_fails(serve, monkeypatch):
    # The test above can fail: this is what the setting prevents.
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", False)
    connection.close()  # the setting is read when a connection opens
    assert serve("/admin/") == 200
    _terminate_other_connections()
    assert serve("/admin/") == 500
    assert serve("/admin/") == 200  # Django closes the broken connection after the error
