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
