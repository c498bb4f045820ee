"""Access control, all of it findable from here: who sees which data and may do what.

The pieces live beside the data they guard (no model moves between apps); this module names
each one and re-exports it, so `from access import sees_everything, ScopedAdminMixin, …` works
and a reader starts here.

| question                                  | where                                         |
|-------------------------------------------|-----------------------------------------------|
| who is acting (a user or a system actor)  | access.actors: SYSTEM (commands without       |
|                                           | --user), DEMO (the seeder), is_system;        |
|                                           | enterprises.querysets.command_user (--user)   |
| what a user may see (their scope)         | enterprises.models.UserScope (role + region   |
|                                           | or enterprise); enterprises.querysets:        |
|                                           | user_scope, sees_everything, and the one rule |
|                                           | EnterpriseQuerySet.visible_to                 |
| each model's scope filter                 | visible_to(user) on Region, Enterprise        |
|                                           | (enterprises.querysets) and Worker, Placement,|
|                                           | AnnualTarget (placement.querysets)            |
| roles → permissions                       | placement.roles: ROLE_PERMISSIONS,            |
|                                           | roles_setup, user_role_sync                   |
| the admin, scoped                         | enterprises.admin_scoping.ScopedAdminMixin;   |
|                                           | config.admin_site (lookup allow-list,         |
|                                           | read-only history); the user admin with role  |
|                                           | and scope: placement.admin_accounts           |
| full ID numbers and phones, the access log| placement.access: can_see_full_id,            |
|                                           | access_log_record, duplicate answers          |
| login lockout, sessions, CSP              | config.lockout, config.settings               |

A forgotten actor fails closed: services and imports require it (TypeError), and
`visible_to(None)` or an anonymous user is an empty scope.
"""

import importlib

# name → "module:attribute"; imported on first use, so that importing `access.actors` from the
# lowest app (enterprises) does not load the apps above it.
_EXPORTS = {
    "SYSTEM": "access.actors:SYSTEM",
    "DEMO": "access.actors:DEMO",
    "SystemActor": "access.actors:SystemActor",
    "is_system": "access.actors:is_system",
    "history_user": "access.actors:history_user",
    "command_user": "enterprises.querysets:command_user",
    "user_scope": "enterprises.querysets:user_scope",
    "sees_everything": "enterprises.querysets:sees_everything",
    "UserScope": "enterprises.models:UserScope",
    "ROLE_PERMISSIONS": "placement.roles:ROLE_PERMISSIONS",
    "roles_setup": "placement.roles:roles_setup",
    "user_role_sync": "placement.roles:user_role_sync",
    "ScopedAdminMixin": "enterprises.admin_scoping:ScopedAdminMixin",
    "LedgerAdminSite": "config.admin_site:LedgerAdminSite",
    "can_see_full_id": "placement.access:can_see_full_id",
    "access_log_record": "placement.access:access_log_record",
}


def __getattr__(name: str):
    try:
        module, attribute = _EXPORTS[name].split(":")
    except KeyError:
        raise AttributeError(f"module 'access' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), attribute)


def __dir__():
    return sorted(_EXPORTS)
