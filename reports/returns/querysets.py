"""Who sees which returns, and on which a user may act. Seeing follows the regions the user may
read (enterprises.querysets is the rule): a county its own returns, a city its counties' and its
own, the province all. Acting is narrower: a unit generates and submits its own return, the
level above approves or sends it back (the province also signs off its own), an administrator
reopens. Outside these a return is "not found" for that action."""

from django.db import models

from enterprises.querysets import sees_everything, user_scope


def _scope_region(user):
    scope = user_scope(user)
    return scope.region if scope is not None and scope.region_id else None


def regions_for_submit(user):
    """The regions whose returns the user may generate and submit: their own unit's."""
    from enterprises.models import Region

    if not user.has_perm("reports.submit_return"):
        return Region.objects.none()
    if sees_everything(user):
        return Region.objects.all()
    region = _scope_region(user)
    return Region.objects.filter(pk=region.pk) if region else Region.objects.none()


class MonthlyReturnQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Returns of the regions whose reports the user may read."""
        from enterprises.models import Region

        if not user.has_perm("reports.view_monthlyreturn"):
            return self.none()
        return self.filter(region__in=Region.objects.visible_to(user))

    def submittable_by(self, user):
        """Returns the user may generate again or submit: their own unit's."""
        return self.filter(region__in=regions_for_submit(user))

    def approvable_by(self, user):
        """Returns the user may approve or send back: those of the regions directly below
        theirs, and the province's own at the province (the ministry is outside the ledger)."""
        from enterprises.models import Region

        if not user.has_perm("reports.approve_return"):
            return self.none()
        if sees_everything(user):
            return self
        region = _scope_region(user)
        if region is None:
            return self.none()
        own_province = models.Q(region=region, region__level=Region.Level.PROVINCE)
        return self.filter(models.Q(region__parent=region) | own_province)

    def reopenable_by(self, user):
        """Returns the user may reopen after approval: administrators only."""
        if not user.has_perm("reports.reopen_return"):
            return self.none()
        return self

    def current(self):
        """The return in play per region and month (not a superseded or reopened version)."""
        return self.exclude(status__in=["superseded", "reopened"])
