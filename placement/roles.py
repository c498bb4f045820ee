"""The four roles as Django groups with their model permissions, kept in code.

`roles_setup()` creates or corrects the groups (idempotent: `manage.py setup_roles`, also run by
`seed_demo`). `user_role_sync(user)` puts a user into the group of the role set on their
UserScope, so that an administrator sets the role once, on the user's page. What a role *sees*
is decided by `visible_to(user)`; what it may *do* there, by these permissions.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from enterprises.models import UserScope
from enterprises.querysets import forget_scope

Role = UserScope.Role

_READ = [
    "enterprises.view_region",
    "enterprises.view_enterprise",
    "placement.view_worker",
    "placement.view_placement",
    "placement.view_annualtarget",
]

_RETURNS = [
    "reports.view_monthlyreturn",
    "reports.submit_return",
    "reports.approve_return",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Reads and writes the workers and placements of their enterprise (or group); may reveal
    # full ID numbers and phones of their own workers, each reveal logged.
    Role.ENTERPRISE_HR: _READ
    + [
        "placement.add_worker",
        "placement.change_worker",
        "placement.add_placement",
        "placement.change_placement",
        "placement.view_full_id_number",
    ],
    # Read their region's subtree; anything more is granted per user by an administrator.
    # Monthly returns: a county generates and submits its own, a city also approves its
    # counties' (reports/returns/querysets.py says on which returns).
    Role.REGION_STAFF: _READ + _RETURNS,
    # Read the whole province, never write the ledger; approves the cities' returns.
    Role.PROVINCE_STAFF: _READ + _RETURNS,
}
# Administrators hold every permission of these apps (accounts, lockouts and the access log too).
ADMINISTRATOR_APPS = ["auth", "admin", "enterprises", "placement", "reports", "axes"]


def _permissions(names: list[str]):
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(query)


@transaction.atomic
def roles_setup() -> dict[str, int]:
    """Create or correct one group per role with exactly its permissions; returns their sizes."""
    sizes = {}
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        if role == Role.ADMINISTRATOR:
            permissions = Permission.objects.filter(content_type__app_label__in=ADMINISTRATOR_APPS)
        else:
            permissions = _permissions(ROLE_PERMISSIONS[role])
        group.permissions.set(permissions)
        sizes[role.value] = group.permissions.count()
    return sizes


@transaction.atomic
def user_role_sync(*, user) -> None:
    """Put the user into their role's group (and out of the other roles' groups) and let them
    into the admin; a user without a role keeps no role group."""
    scope = UserScope.objects.filter(user=user).first()
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*role_groups)
    if scope is not None:
        group, _created = Group.objects.get_or_create(name=scope.role)
        user.groups.add(group)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    forget_scope(user)


def _scope_saved(sender, instance, **kwargs):
    """Whichever page or command set or removed a scope (the user's page, the scopes' own list,
    a shell): the user's group follows its role, or goes with it."""
    user_role_sync(user=instance.user)
