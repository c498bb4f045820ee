"""Dashboard figures kept in Django's cache until the part of the ledger they count changes.

A dashboard's report is a pure function of the ledger (workers, placements, their facts, the
targets, the enterprises and regions), the scope, the filters (year, as-of date, industry),
what the user may see and the language its labels are in. So it is cached under exactly those,
plus two *generations*: tokens kept in the cache itself and replaced by fresh ones when
something changes. A change never edits or deletes cached reports; it makes the keys built
before it unreachable (they expire later).

- The scope's own generation (`scope_parts`: the nation, a region's code prefix, an
  enterprise) is replaced when something inside the scope changes. A change at an enterprise
  replaces those of the enterprise, its group, each region above it (county, city, province:
  the prefixes of its region's code) and the nation; a region's target, those of the region,
  the regions above it and the nation. So one officer's edit in one county leaves the cached
  figures of every other county, city and province in place.
- The global generation is replaced by a write of a region (reference data, loaded rarely: a
  changed code or parent would move a whole subtree) and by `report_cache_invalidate()`.

What changed is told by
- `placement.signals.ledger_changed`, which every write of placement.services sends: the workers
  written (workers, placements), or the enterprises and regions whose targets were written;
- the saves and deletes of an Enterprise, a Worker (a deletion sends no ledger_changed) or an
  AnnualTarget, and of a Region, through the ORM (the admin's pages).
Which enterprises the workers belong to, and where an enterprise or a target was before a change
(an enterprise moved to another county or group; a worker moved to another enterprise), is read
once the write has committed, from the rows and their audit history: the old and the new place
are both refreshed, and the write itself runs no query more. A worker written without history
(the demo's bulk load) and then moved to another enterprise: the old enterprise's scopes are
refreshed only when their entries expire or change again.

At commit, not before: a report computed between an early change of generation and the commit
would read the old rows and be kept under the new generation. After the commit a reader that sees
the new token also sees the new rows (it reads the generations first). A token is random, not a
counter, so two writers committing at once cannot both write the same next value over a report
cached in between. A cache (or a look-up) that fails at commit never fails the committed write
(`robust`): its figures are then seen at the latest when the entries expire.

Writes that send no signal (an enterprise import's bulk insert, raw SQL) are seen when the entry
expires (LEDGER_REPORT_CACHE_SECONDS) or at the next change of the same scope.

The cache is the project's `default` cache (DJANGO_CACHE_URL): the database cache by default,
which every gunicorn worker and app server shares and which needs no server of its own. A
per-process cache (locmem) would leave the other processes' generations unchanged; do not use
it with more than one process.
"""

import functools
import operator
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from access.actors import SYSTEM, is_system
from enterprises.models import Enterprise, Region
from enterprises.querysets import user_scope
from placement.models import AnnualTarget, Worker

from .selectors import Report, Scope, placement_report, sees_whole_scope

# After the reports' own keys in sort order: a database cache that is full culls the keys that
# sort first, and culling a generation drops every report made under it.
GENERATION_KEY = "reports:~generation"
SCOPE_GENERATION_KEY = "reports:~generation:{part}"
NATIONAL = "national"
WHOLE = "whole"  # the visibility of everyone who sees the whole scope
REFRESH_PENDING_KEY = "reports:refresh-pending:{part}"
# Worker ids looked up per query at commit (an import's are a few contiguous runs).
LOOKUP_TERMS = 500


def _region_parts(code: str) -> set[str]:
    """The region scopes that contain a region of this code: each prefix a region's subtree can
    have (Region.code_prefix: 2 digits for a province, 4 for a city, 6 for a county)."""
    return {f"region:{code[:2]}", f"region:{code[:4]}", f"region:{code}"}


def scope_part(scope: Scope) -> str:
    """The generation a report of this scope is kept under."""
    if scope.national:
        return NATIONAL
    if scope.region is not None:
        return f"region:{scope.region.code_prefix}"
    return f"enterprise:{scope.enterprise.pk}"


def _generations(part: str) -> tuple[str, str] | None:
    """The global generation and the scope's, or None without a cache (DummyCache)."""
    keys = [GENERATION_KEY, SCOPE_GENERATION_KEY.format(part=part)]
    found = cache.get_many(keys)
    if len(found) < len(keys):
        # First use, or a key was culled: a new token, so nothing cached before is reused.
        for key in keys:
            if key not in found:
                cache.add(key, uuid.uuid4().hex, timeout=None)
        found = cache.get_many(keys)
        if len(found) < len(keys):
            return None
    return found[keys[0]], found[keys[1]]


def _visibility(scope: Scope, user) -> str:
    """What decides which of the scope's enterprises the user sees (enterprises.querysets.
    visible_to): all of them (administrators, staff of a region above), shared by every such
    user; otherwise the role and the one region or enterprise of the user's scope."""
    if sees_whole_scope(scope, user):
        return WHOLE
    own = user_scope(user)
    if own is None:
        return "none"
    return f"{own.role}:{own.region_id or ''}:{own.enterprise_id or ''}"


def report_cache_key(
    *,
    scope: Scope,
    year: int,
    as_of,
    industry,
    visibility: str,
    generations: tuple[str, str],
    language: str,
) -> str:
    """The language too: a report holds its labels (channels, categories, the scope's own level)
    translated when it was computed, so a Chinese page must never be served an English one."""
    return ":".join(
        [
            "reports:report",
            *generations,
            scope.key,
            str(year),
            as_of.isoformat(),
            industry or "",
            visibility,
            language,
        ]
    )


def placement_report_cached(
    *, scope: Scope, year: int, as_of, industry: str | None = None, user
) -> Report:
    """`placement_report`, from the cache when the scope has not changed since it was kept."""
    generations = None if is_system(user) else _generations(scope_part(scope))
    if generations is None:  # a command's actor, or no cache at all (DummyCache)
        return placement_report(scope=scope, year=year, as_of=as_of, industry=industry, user=user)
    key = report_cache_key(
        scope=scope,
        year=year,
        as_of=as_of,
        industry=industry,
        visibility=_visibility(scope, user),
        generations=generations,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    report = cache.get(key)
    if report is None:
        report = placement_report(scope=scope, year=year, as_of=as_of, industry=industry, user=user)
        cache.set(key, report, timeout=settings.LEDGER_REPORT_CACHE_SECONDS)
    return report


def report_cache_fill(*, scope: Scope, year: int, as_of) -> Report | None:
    """Compute a report of the whole scope and keep it for everyone who sees the whole scope
    (the refresh job, reports.tasks), in the site's language (LANGUAGE_CODE, Chinese: what most
    officers read; a page in another language computes and keeps its own); None without a
    cache."""
    generations = _generations(scope_part(scope))  # read before counting, as a page does
    if generations is None:
        return None
    language = settings.LANGUAGE_CODE
    with translation.override(language):
        report = placement_report(scope=scope, year=year, as_of=as_of, user=SYSTEM)
    key = report_cache_key(
        scope=scope,
        year=year,
        as_of=as_of,
        industry=None,
        visibility=WHOLE,
        generations=generations,
        language=language,
    )
    cache.set(key, report, timeout=settings.LEDGER_REPORT_CACHE_SECONDS)
    return report


def scope_from_part(part: str) -> Scope | None:
    """The scope whose reports are kept under this part (`scope_part`), if it still exists and is
    shown: a region's code prefix, an enterprise, or the nation when there are several
    provinces (with one, the home page shows the province)."""
    kind, _sep, value = part.partition(":")
    if kind == NATIONAL:
        provinces = Region.objects.filter(level=Region.Level.PROVINCE)[:2].count()
        return Scope(national=True) if provinces > 1 else None
    if kind == "region":
        region = Region.objects.filter(code=value.ljust(6, "0")).first()
        # A county's code is also a prefix of the city's parts: only the region's own part.
        return Scope(region=region) if region and region.code_prefix == value else None
    if kind == "enterprise":
        enterprise = Enterprise.objects.filter(pk=int(value)).first()
        return Scope(enterprise=enterprise) if enterprise else None
    return None


def report_cache_invalidate(parts: Iterable[str] | None = None) -> None:
    """Make the cached reports of the given scope parts unreachable (fresh generations), or of
    every scope when none are given."""
    keys = (
        [GENERATION_KEY]
        if parts is None
        else [SCOPE_GENERATION_KEY.format(part=part) for part in sorted(set(parts))]
    )
    if keys:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)


# --- What a change touched, resolved at commit ---------------------------------------------


def _id_terms(ids: Iterable[int], field: str) -> Iterable[Q]:
    """Conditions selecting the given ids, a few hundred terms a query: a run of consecutive ids
    (the workers of an import) is one range, so 100,000 new workers are one or a few terms."""
    runs: list[list[int]] = []
    for pk in sorted(set(ids)):
        if runs and pk == runs[-1][1] + 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    for start in range(0, len(runs), LOOKUP_TERMS):
        chunk = runs[start : start + LOOKUP_TERMS]
        singles = [low for low, high in chunk if low == high]
        terms = [Q(**{f"{field}__range": (low, high)}) for low, high in chunk if low != high]
        if singles:
            terms.append(Q(**{f"{field}__in": singles}))
        yield functools.reduce(operator.or_, terms)


def _workers_enterprises(worker_ids: Iterable[int]) -> set[int]:
    """The enterprises the workers are in, and were in before (their history: a worker moved to
    another enterprise changes the figures of both)."""
    found: set[int] = set()
    for condition in _id_terms(worker_ids, "id"):
        now = Worker.objects.filter(condition).values_list("enterprise_id").order_by()
        before = Worker.history.filter(condition).values_list("enterprise_id").order_by()
        found.update(pk for (pk,) in now.union(before))
    return found


def _enterprise_parts(enterprise_ids: Iterable[int], *, history: bool = False) -> set[str]:
    """The scopes containing these enterprises: each itself, its group, the regions above it and
    the nation; with `history`, also where each was before (another group or region)."""
    ids = set(enterprise_ids) - {None}
    if not ids:
        return set()
    parts = {NATIONAL} | {f"enterprise:{pk}" for pk in ids}
    rows = Enterprise.objects.filter(pk__in=ids).values_list("parent_id", "region__code")
    if history:
        rows = rows.order_by().union(
            Enterprise.history.filter(id__in=ids)
            .values_list("parent_id", "region__code")
            .order_by()
        )
    for parent_id, code in rows:
        if parent_id is not None:
            parts.add(f"enterprise:{parent_id}")
        if code:
            parts |= _region_parts(code)
    return parts


def _region_id_parts(region_ids: Iterable[int]) -> set[str]:
    ids = set(region_ids) - {None}
    if not ids:
        return set()
    parts = {NATIONAL}
    for code in Region.objects.filter(pk__in=ids).values_list("code", flat=True):
        parts |= _region_parts(code)
    return parts


def _targets_parts(target_ids: Iterable[int]) -> set[str]:
    """Where targets are now and were before (a target moved to another region or enterprise)."""
    ids = set(target_ids)
    rows = list(
        AnnualTarget.objects.filter(pk__in=ids)
        .values_list("region_id", "enterprise_id")
        .order_by()
        .union(
            AnnualTarget.history.filter(id__in=ids)
            .values_list("region_id", "enterprise_id")
            .order_by()
        )
    )
    return _region_id_parts(r for r, _e in rows) | _enterprise_parts(e for _r, e in rows)


def _caching() -> bool:
    # The backend itself: `cache` is a proxy, never an instance of the backend's class.
    return not isinstance(caches["default"], DummyCache)


def _worth_refreshing(part: str) -> bool:
    """Only the nation, provinces and cities are recomputed ahead of the officers: they count
    hundreds of enterprises (0.1–1 s at 2,000,000 workers). A county or an enterprise counts in
    tens of milliseconds on demand, and refreshing every one of them after a bulk load (322 jobs
    after `seed_demo --workers 500000`) took the CPU from the officers under load."""
    if part == NATIONAL:
        return True
    kind, _, key = part.partition(":")
    return kind == "region" and len(key) <= 4


def _refresh_later(parts: set[str]) -> None:
    """Enqueue the job that recomputes these scopes' default views (reports.tasks), unless one
    is already waiting for a scope (its marker in the cache)."""
    from .tasks import REFRESH_DELAY, reports_refresh

    waiting = REFRESH_PENDING_KEY.format
    new = sorted(
        part
        for part in parts
        if _worth_refreshing(part)
        and cache.add(waiting(part=part), 1, timeout=settings.LEDGER_REPORT_CACHE_SECONDS)
    )
    if new:
        reports_refresh.using(run_after=timezone.now() + REFRESH_DELAY).enqueue(new)


def report_refresh_done(parts: Iterable[str]) -> None:
    """The refresh of these scopes has started: a change from now on enqueues another."""
    cache.delete_many([REFRESH_PENDING_KEY.format(part=part) for part in parts])


def _committed(resolve) -> None:
    parts = resolve()
    report_cache_invalidate(parts)
    _refresh_later(parts)


def _on_commit(resolve) -> None:
    """Replace the generations `resolve()` names once the current transaction commits, and have
    their dashboards recomputed by a job. Robust: a cache that is down (or a look-up that fails)
    must not undo or fail a committed write."""
    if _caching():
        transaction.on_commit(lambda: _committed(resolve), robust=True)


# --- Receivers (connected in reports.apps) -------------------------------------------------


def _ledger_changed(sender, worker_ids=(), enterprise_ids=(), region_ids=(), **kwargs) -> None:
    """Receiver of placement.signals.ledger_changed."""
    workers, enterprises, regions = set(worker_ids), set(enterprise_ids), set(region_ids)

    def resolve() -> set[str]:
        return _enterprise_parts(enterprises | _workers_enterprises(workers)) | _region_id_parts(
            regions
        )

    _on_commit(resolve)


def _worker_deleted(sender, instance, **kwargs) -> None:
    """A deleted worker leaves their enterprise's "to place" (a deletion sends no
    ledger_changed)."""
    enterprise_id = instance.enterprise_id
    _on_commit(lambda: _enterprise_parts([enterprise_id]))


def _enterprise_changed(sender, instance, **kwargs) -> None:
    """An enterprise saved or deleted: its scopes now and before (a move to another region or
    group refreshes both)."""
    pk, parent_id, region_id = instance.pk, instance.parent_id, instance.region_id

    def resolve() -> set[str]:
        parts = _enterprise_parts([pk], history=True) | _region_id_parts([region_id])
        if parent_id is not None:
            parts.add(f"enterprise:{parent_id}")
        return parts | {f"enterprise:{pk}", NATIONAL}

    _on_commit(resolve)


def _target_changed(sender, instance, **kwargs) -> None:
    """A target saved or deleted through the ORM (the admin): its region or enterprise now and
    before."""
    pk, region_id, enterprise_id = instance.pk, instance.region_id, instance.enterprise_id

    def resolve() -> set[str]:
        return (
            _targets_parts([pk])
            | _region_id_parts([region_id])
            | _enterprise_parts([enterprise_id])
        )

    _on_commit(resolve)


def _enterprises_written(sender, enterprise_ids=(), region_ids=(), **kwargs) -> None:
    """Receiver of enterprises.signals.enterprises_written (an import's bulk writes): the
    enterprises written and the places the changed ones left."""
    enterprises, regions = set(enterprise_ids), set(region_ids)

    def resolve() -> set[str]:
        return _enterprise_parts(enterprises) | _region_id_parts(regions)

    _on_commit(resolve)


def _region_changed(sender, **kwargs) -> None:
    """A region saved or deleted: every report (a code or parent changed moves a subtree)."""
    if _caching():
        transaction.on_commit(report_cache_invalidate, robust=True)
