"""Dashboard figures kept in Django's cache until the ledger changes.

A dashboard's report is a pure function of the ledger (workers, placements, their facts, the
targets, the enterprises and regions), the scope, the filters (year, as-of date, industry) and
what the user may see. So it is cached under exactly those, plus a *generation*: a token kept in
the cache itself, replaced by a fresh one whenever the ledger changes. A change never edits or
deletes cached reports; it makes every key built before it unreachable (they expire later).

When the generation changes: once the writing transaction has committed
(`transaction.on_commit`), on
- `placement.signals.ledger_changed`, which every write of placement.services sends (workers,
  placements and targets, single or in bulk);
- any save or delete of an Enterprise, Region or AnnualTarget through the ORM (the admin's
  enterprise and region pages).
At commit, not before: a report computed between an early bump and the commit would read the old
rows and be kept under the new generation. After the commit a reader that sees the new token
also sees the new rows (it reads the generation first). The token is random, not a counter, so
two writers committing at once cannot both write the same next value over a report cached in
between.

Writes that send no signal (an enterprise import's bulk insert, raw SQL) are seen when the entry
expires (LEDGER_REPORT_CACHE_SECONDS) or at the next change that does send one.

The cache is the project's `default` cache (DJANGO_CACHE_URL): the database cache by default,
which every gunicorn worker and app server shares and which needs no server of its own. A
per-process cache (locmem) would leave the other processes' generations unchanged; do not use
it with more than one process.
"""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from access.actors import is_system
from enterprises.querysets import sees_everything, user_scope

from .selectors import Report, Scope, placement_report

GENERATION_KEY = "reports:generation"


def _generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        # First use, or the key was culled: a new token, so nothing cached before is reused.
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def _visibility(user) -> str:
    """What decides which enterprises the user sees (enterprises.querysets.visible_to): all, or
    the role and the one region or enterprise of the user's scope."""
    if sees_everything(user):
        return "all"
    scope = user_scope(user)
    if scope is None:
        return "none"
    return f"{scope.role}:{scope.region_id or ''}:{scope.enterprise_id or ''}"


def report_cache_key(*, scope: Scope, year: int, as_of, industry, user, generation: str) -> str:
    return ":".join(
        [
            "reports:report",
            generation,
            scope.key,
            str(year),
            as_of.isoformat(),
            industry or "",
            _visibility(user),
        ]
    )


def placement_report_cached(
    *, scope: Scope, year: int, as_of, industry: str | None = None, user
) -> Report:
    """`placement_report`, from the cache when the ledger has not changed since it was kept."""
    generation = None if is_system(user) else _generation()
    if generation is None:  # a command's actor, or no cache at all (DummyCache)
        return placement_report(scope=scope, year=year, as_of=as_of, industry=industry, user=user)
    key = report_cache_key(
        scope=scope, year=year, as_of=as_of, industry=industry, user=user, generation=generation
    )
    report = cache.get(key)
    if report is None:
        report = placement_report(scope=scope, year=year, as_of=as_of, industry=industry, user=user)
        cache.set(key, report, timeout=settings.LEDGER_REPORT_CACHE_SECONDS)
    return report


def report_cache_invalidate() -> None:
    """Make every cached report unreachable (a fresh generation)."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def _changed(**kwargs) -> None:
    """Receiver of ledger_changed and of the models' saves and deletes: once committed."""
    # robust: a cache that is down must not undo or fail a committed write.
    transaction.on_commit(report_cache_invalidate, robust=True)
