"""Chainable filters for regions and enterprises, and the one rule of who sees what."""

from django.db import models

from access.actors import SYSTEM, is_system


def user_scope(user):
    """The user's UserScope row (cached on the user object), or None."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not hasattr(user, "_ledger_scope"):
        from .models import UserScope

        user._ledger_scope = (
            UserScope.objects.select_related("region", "enterprise").filter(user=user).first()
        )
    return user._ledger_scope


def sees_everything(user) -> bool:
    """Administrators, superusers and the server's own code (a system actor) see every scope;
    None or an anonymous user sees nothing."""
    if is_system(user):
        return True
    scope = user_scope(user)
    return bool(
        getattr(user, "is_active", False)
        and (user.is_superuser or (scope is not None and scope.role == scope.Role.ADMINISTRATOR))
    )


def visible_enterprise_ids(user):
    """The enterprises the user sees (`EnterpriseQuerySet.visible_to`, the one rule), as a value
    for an `enterprise__in` filter; None for a user who sees everything (no condition at all).

    For region staff the ids are written out, resolved by one small query and kept on the user
    object for the request: filtering workers or placements by `enterprise IN (SELECT … region
    code LIKE '14%')` leaves PostgreSQL to guess how many enterprises the subquery yields, and it
    guesses a handful (5 for a province's 268), then scans where an index would do. For an HR
    officer (one enterprise, or a group and its members) the rule's subquery stays: a handful is
    right there, and a written-out id made PostgreSQL walk the whole date index of placements
    hoping to meet that enterprise's rows early (7.8 s for one mine's placement list at 500,000
    workers; benchmarks/README.md).

    Cached like `user_scope` and forgotten with it (`forget_scope`); keyed by the scope, so a
    changed role, region or enterprise recomputes it."""
    if sees_everything(user):
        return None
    scope = user_scope(user)
    if scope is None:
        return []
    from .models import Enterprise

    if scope.role == scope.Role.ENTERPRISE_HR:
        return Enterprise.objects.visible_to(user).values("pk")
    key = (scope.pk, scope.role, scope.region_id, scope.enterprise_id)
    cached = getattr(user, "_ledger_enterprise_ids", None)
    if cached is None or cached[0] != key:
        ids = list(Enterprise.objects.visible_to(user).order_by("pk").values_list("pk", flat=True))
        user._ledger_enterprise_ids = cached = (key, ids)
    return cached[1]


def forget_scope(user) -> None:
    """Drop what `user_scope` and `visible_enterprise_ids` keep on the user object (after the
    user's scope or the enterprises changed within the object's lifetime)."""
    for attribute in ("_ledger_scope", "_ledger_enterprise_ids"):
        if hasattr(user, attribute):
            delattr(user, attribute)


class RegionQuerySet(models.QuerySet):
    def subtree_of(self, region):
        """The region and every region below it (GB/T 2260 codes nest by prefix)."""
        return self.filter(code__startswith=region.code_prefix)

    def visible_to(self, user):
        """Regions whose reports the user may read: their region's subtree, or all."""
        if sees_everything(user):
            return self
        scope = user_scope(user)
        if scope is None or scope.region_id is None:
            return self.none()
        return self.subtree_of(scope.region)


class EnterpriseQuerySet(models.QuerySet):
    def in_region(self, region):
        """Enterprises located anywhere in the region's subtree."""
        return self.filter(region__code__startswith=region.code_prefix)

    def in_group(self, group):
        """The group itself and its member enterprises."""
        return self.filter(models.Q(pk=group.pk) | models.Q(parent=group))

    def visible_to(self, user):
        """The one rule of enterprise visibility: an HR officer sees their enterprise (a group's
        officer also its members), region staff their region's subtree, administrators all."""
        if sees_everything(user):
            return self
        scope = user_scope(user)
        if scope is None:
            return self.none()
        if scope.role == scope.Role.ENTERPRISE_HR:
            return self.in_group(scope.enterprise)
        return self.in_region(scope.region)


def command_user(username: str | None):
    """The active user a management command acts as (`--user`), or the named system actor of
    the server's operator, who sees everything. An unknown or deactivated user is refused."""
    if not username:
        return SYSTEM
    from django.contrib.auth import get_user_model
    from django.core.management.base import CommandError

    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active user {username!r}")
    return user
