"""Report refreshes as jobs: once a write has committed, a job worker (`manage.py db_worker`)
recomputes the default view (the year a dashboard opens on, as of today) of every dashboard
whose figures the write made stale, so that the officers who open it next meet cached figures
instead of computing them inside their request (the national dashboard takes most of a second at
2,000,000 workers).

A refresh is enqueued by reports.cache at commit, REFRESH_DELAY after the write, and at most one
is waiting per scope (a marker in the cache): the edits of many officers in one minute cost one
refresh of the province and the nation, not one each. A refresh is taken after any waiting
import or export (REFRESH_PRIORITY). The job removes its markers before it
reads anything, so a write committed while it computes enqueues the next refresh.
"""

import datetime

from django.utils import timezone
from django_tasks import task

REFRESH_DELAY = datetime.timedelta(seconds=10)
# Below the jobs someone is watching (an import's check and write, an export: the default, 0):
# a worker free to take a job takes those first, so an officer's preview never waits behind the
# refreshes a large import left on the queue. A refresh under way is not interrupted.
REFRESH_PRIORITY = -10


@task(priority=REFRESH_PRIORITY)
def reports_refresh(parts: list[str]) -> int:
    """Recompute and cache the default view of the dashboards of these scopes (reports.cache's
    scope parts); returns how many were computed."""
    from .cache import report_cache_fill, report_refresh_done, scope_from_part
    from .facts import fact_months_compact
    from .selectors import report_as_of, report_default_year

    report_refresh_done(parts)
    # The writes that made these scopes stale appended rows to the monthly sums: merge them
    # before counting (reports.models.FactMonth).
    fact_months_compact()
    today = timezone.localdate()
    year = report_default_year(today=today)
    as_of = report_as_of(year=year, today=today)
    computed = 0
    for part in parts:
        scope = scope_from_part(part)
        if scope is not None:
            report_cache_fill(scope=scope, year=year, as_of=as_of)
            computed += 1
    return computed
