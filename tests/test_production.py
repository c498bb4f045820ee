"""Serving in production: the health endpoint and the structured request log."""

import json
import logging

import pytest
from django.urls import reverse

from config import health
from config.logging import JsonFormatter


def test_health_answers_without_a_login_and_names_each_part(client, db):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "queue": "ok", "keys": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_answers_503_naming_the_failing_part(client, db, monkeypatch):
    def broken():
        raise ConnectionError("refused")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json() == {"database": "failing", "queue": "ok", "keys": "ok"}


def test_health_names_a_failing_queue(client, db, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    def missing(*args, **kwargs):
        raise DBTaskResult.DoesNotExist("no queue table")

    monkeypatch.setattr(DBTaskResult.objects, "only", missing)
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "queue": "failing", "keys": "ok"}


def test_health_takes_a_fresh_connection(db, django_assert_num_queries):
    # The request's own connection is untouched: the check opens and closes its own.
    with django_assert_num_queries(0):
        assert health.database_check() == "ok"


@pytest.fixture
def request_log(caplog):
    logger = logging.getLogger("ledger.requests")
    logger.addHandler(caplog.handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield caplog
    logger.setLevel(level)
    logger.removeHandler(caplog.handler)


def test_each_request_writes_one_json_line_without_query_string_or_names(
    client, django_user_model, request_log
):
    user = django_user_model.objects.create_superuser("officer", password="x" * 16)
    client.force_login(user)
    client.get("/admin/placement/worker/", {"q": "张三"})
    records = [r for r in request_log.records if r.name == "ledger.requests"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    entry = json.loads(line)
    assert entry["user_id"] == user.pk
    assert entry["path"] == "/admin/placement/worker/"
    assert entry["method"] == "GET"
    assert entry["status"] == 200
    assert entry["duration_ms"] > 0
    assert {"time", "level", "logger", "message"} <= set(entry)
    assert "张三" not in line and "q=" not in line
