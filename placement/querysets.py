"""Chainable filters for workers and placements; ID-number lookups live here and nowhere else."""

import datetime

from django.db import models

from . import idnumbers


class WorkerQuerySet(models.QuerySet):
    def by_id_number(self, value):
        """Workers whose ID number equals `value` (any accepted spelling). The only way to look a
        worker up by ID number: the number is stored encrypted and matched by its keyed hash."""
        return self.filter(id_number_digest=idnumbers.digest(idnumbers.normalize(value)))

    def by_id_numbers(self, numbers):
        """Workers with any of the given canonical (already normalised) ID numbers."""
        return self.filter(id_number_digest__in=[idnumbers.digest(n) for n in numbers])

    def in_region(self, region):
        return self.filter(enterprise__region__code__startswith=region.code_prefix)

    def visible_to(self, user):
        """Workers of the enterprises the user may see (enterprises.querysets is the rule)."""
        from enterprises.querysets import visible_enterprise_ids

        ids = visible_enterprise_ids(user)
        if ids is None:
            # No condition at all, rather than "in every enterprise": the admin's unfiltered
            # list then counts from the statistics (database/paginator.py).
            return self
        # For region staff the ids written out, not the rule's subquery: see
        # visible_enterprise_ids.
        return self.filter(enterprise_id__in=ids)

    def placed_on(self, day: datetime.date):
        """Workers with a placement in force on `day`: placed for good by then
        (Worker.placed_open_since), or in a placement that ends after it."""
        return self.filter(
            models.Q(placed_open_since__lte=day) | models.Exists(self._ended_in_force(day))
        )

    def pending_on(self, day: datetime.date):
        """Workers without any placement in force on `day` (still waiting).

        No placement that never ended is dated by `day` — read from the worker's own
        Worker.placed_open_since, kept by the write path, so that the few still waiting among
        2,000,000 are found by an index on it instead of an anti-join over every placement
        (5.8 s for a province's staff, 11.2 s for an administrator; benchmarks/README.md) — and
        no placement dated by `day` ends after it (the few rows of the `placement_ended`
        index)."""
        return self.filter(
            models.Q(placed_open_since__isnull=True) | models.Q(placed_open_since__gt=day)
        ).exclude(models.Exists(self._ended_in_force(day)))

    @staticmethod
    def _ended_in_force(day: datetime.date):
        """The worker's placements with an end date that are in force on `day`."""
        from .models import Placement

        return Placement.objects.filter(
            worker=models.OuterRef("pk"), placed_on__lte=day, ended_on__gt=day
        )


def latest_in_force(placements, day: datetime.date):
    """`PlacementQuerySet.current_on` over placements held in memory as (pk, channel, placed_on,
    ended_on) tuples: the latest in force on `day` by date then id, or None."""
    in_force = [
        (placed_on, pk, channel)
        for pk, channel, placed_on, ended_on in placements
        if placed_on <= day and (ended_on is None or ended_on > day)
    ]
    return max(in_force) if in_force else None


class PlacementQuerySet(models.QuerySet):
    def in_force_on(self, day: datetime.date):
        """Placements dated on or before `day` that had not ended by then."""
        return self.filter(placed_on__lte=day).filter(
            models.Q(ended_on__isnull=True) | models.Q(ended_on__gt=day)
        )

    def current_on(self, day: datetime.date):
        """The current placement of each worker on `day`: the latest in force (latest
        `placed_on`, then latest id), one per worker at most. The one definition of "current";
        reports.facts computes the same in Python with `latest_in_force`.

        NOT EXISTS a later placement in force rather than ordering and taking the first per
        worker: PostgreSQL runs it as one anti-join over a whole list, and as an index probe
        when correlated with one worker (an admin column)."""
        later = self.model.objects.in_force_on(day).filter(
            models.Q(placed_on__gt=models.OuterRef("placed_on"))
            | models.Q(placed_on=models.OuterRef("placed_on"), pk__gt=models.OuterRef("pk")),
            worker=models.OuterRef("worker"),
        )
        return self.in_force_on(day).exclude(models.Exists(later))

    def current_of_each(self, field: str, day: datetime.date):
        """A subquery of one field of the worker's current placement on `day`, for annotating
        workers (the admin's list, the roster export)."""
        return models.Subquery(
            self.current_on(day).filter(worker=models.OuterRef("pk")).values(field)[:1]
        )

    def in_year(self, year: int):
        return self.filter(placed_on__year=year)

    def visible_to(self, user):
        """Placements of the workers the user may see."""
        from enterprises.querysets import visible_enterprise_ids

        ids = visible_enterprise_ids(user)
        if ids is None:
            return self
        # The placement's own copy of the worker's enterprise: no join with the workers.
        return self.filter(enterprise_id__in=ids)


class AnnualTargetQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Targets of visible regions or visible enterprises."""
        from enterprises.models import Region
        from enterprises.querysets import visible_enterprise_ids

        ids = visible_enterprise_ids(user)
        if ids is None:
            return self
        return self.filter(
            models.Q(region__in=Region.objects.visible_to(user)) | models.Q(enterprise_id__in=ids)
        )
