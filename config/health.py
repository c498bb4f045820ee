"""`GET /health/`: whether this app server can serve, for the load balancer and the monitoring.

No login (a probe has none) and nothing about the ledger's data: only "ok" or the name of the
failing part. 200 when every check passes, 503 otherwise.
"""

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


def database_check() -> str:
    """A fresh connection (not the request's kept one) answers a query."""
    connection = connections[DEFAULT_DB_ALIAS].copy()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()
    return "ok"


def queue_check() -> str:
    """The job queue (django-tasks' table in the same database) answers a query: without it no
    import or large export can run, though pages still would."""
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.only("pk").first()
    return "ok"


def keys_check() -> str:
    """The ID-number keys this server was given read the stored numbers (placement.keys)."""
    from placement.keys import id_keys_match

    return id_keys_match()


# name -> check; a check returns "ok" or raises.
CHECKS = {"database": database_check, "queue": queue_check, "keys": keys_check}


@login_not_required
@never_cache
@require_GET
def health(request):
    results, healthy = {}, True
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception:  # noqa: BLE001 - any failure of a part is reported, not raised
            log.exception("health check %s failed", name)
            results[name] = "failing"
            healthy = False
    return JsonResponse(results, status=200 if healthy else 503)
