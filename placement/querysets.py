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
        from enterprises.models import Enterprise

        return self.filter(enterprise__in=Enterprise.objects.visible_to(user))

    def placed_on(self, day: datetime.date):
        """Workers with a placement in force on `day`."""
        from .models import Placement

        return self.filter(
            models.Exists(Placement.objects.in_force_on(day).filter(worker=models.OuterRef("pk")))
        )

    def pending_on(self, day: datetime.date):
        """Workers without any placement in force on `day` (still waiting)."""
        from .models import Placement

        return self.exclude(
            models.Exists(Placement.objects.in_force_on(day).filter(worker=models.OuterRef("pk")))
        )


class PlacementQuerySet(models.QuerySet):
    def in_force_on(self, day: datetime.date):
        """Placements dated on or before `day` that had not ended by then."""
        return self.filter(placed_on__lte=day).filter(
            models.Q(ended_on__isnull=True) | models.Q(ended_on__gt=day)
        )

    def in_year(self, year: int):
        return self.filter(placed_on__year=year)

    def visible_to(self, user):
        from enterprises.models import Enterprise

        return self.filter(worker__enterprise__in=Enterprise.objects.visible_to(user))


class AnnualTargetQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Targets of visible regions or visible enterprises."""
        from enterprises.models import Enterprise, Region

        return self.filter(
            models.Q(region__in=Region.objects.visible_to(user))
            | models.Q(enterprise__in=Enterprise.objects.visible_to(user))
        )
