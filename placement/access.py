"""Who may see ID numbers and phones in full, and the access log of every reveal and export.

Lists, exports and reports call `can_see_full_id(user)` to decide between the full and the masked
number, and `access_log_record(...)` once per reveal or export. Nothing else reads AccessLog.

A number already registered at another enterprise is told here too (`duplicate_names`,
`duplicate_message`, `duplicates_outside_scope_record`): the admin's worker form and the roster
import both answer through these, so the enterprise is named only to users who may see it.
"""

from datetime import timedelta

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access.actors import is_system
from enterprises.models import Enterprise

from . import idnumbers
from .models import (
    ID_NUMBER_ALREADY_REGISTERED,
    ID_NUMBER_REGISTERED_OUTSIDE_SCOPE,
    AccessLog,
    Worker,
)

FULL_ID_PERMISSION = "placement.view_full_id_number"
REVEAL_NOT_ALLOWED = _("您没有查看完整公民身份号码的权限")
LOOKUP_LIMIT_REACHED = _(
    "您在一分钟内按号码查找或查看完整号码已达 %(limit)s 次，请稍后再试；"
    "如需批量核对，请使用导出功能或联系管理员"
)
# The actions that count against a user's per-minute limit of looks at single numbers.
# Each is a number tried against the registry (a search, a form's check of a typed number) or
# a full number shown.
RATE_LIMITED_ACTIONS = (AccessLog.Action.FIND, AccessLog.Action.CHECK, AccessLog.Action.REVEAL)


class LookupLimitReached(PermissionDenied):
    """The user made too many searches by number or reveals in the last minute."""


def can_see_full_id(user) -> bool:
    """True when the user may see full ID numbers and phones (the custom permission)."""
    return bool(getattr(user, "is_active", False) and user.has_perm(FULL_ID_PERMISSION))


def id_number_for(user, worker: Worker) -> str:
    """The worker's ID number as this user may see it in a list or an export."""
    return worker.id_number if can_see_full_id(user) else worker.id_number_masked


def phone_for(user, worker: Worker) -> str:
    """The worker's phone as this user may see it in a list or an export."""
    return worker.phone if can_see_full_id(user) else idnumbers.mask_phone(worker.phone)


def _address(request) -> str | None:
    """The client's real address, read exactly as the login lockout reads it (django-ipware
    behind DJANGO_PROXY_COUNT proxies): the log names the client, not the reverse proxy."""
    if request is None:
        return None
    return get_client_ip_address(request) or None


def access_log_record(
    *,
    user,
    action: str,
    target: str,
    rows: int = 1,
    full_numbers: bool = True,
    request=None,
    source: str = "",
) -> AccessLog:
    """Record one reveal or export: who, when, what (a `app.model:pk` or an export's name), how
    many rows, whether the numbers were in full, and from where (page, address or command)."""
    if not source and request is not None:
        source = "page:" + request.path
    return AccessLog.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "",
        action=action,
        target=target[:200],
        rows=rows,
        full_numbers=full_numbers,
        source=source[:200],
        address=_address(request),
    )


def worker_reveal(*, user, worker: Worker, request=None) -> dict[str, str]:
    """The worker's full ID number and phone, for a user with the permission; logged."""
    if not can_see_full_id(user):
        raise PermissionDenied(REVEAL_NOT_ALLOWED)
    access_log_record(
        user=user,
        action=AccessLog.Action.REVEAL,
        target=f"placement.worker:{worker.pk}",
        request=request,
    )
    return {"id_number": worker.id_number, "phone": worker.phone}


def lookup_limit_check(*, user, request=None, target: str = "") -> None:
    """Refuse (and log the refusal) when the user has already made the allowed number of
    searches by full number and reveals in the last minute. Counted from the access log itself,
    so the limit holds across processes and servers without a shared cache."""
    limit = settings.LEDGER_LOOKUPS_PER_MINUTE
    since = timezone.now() - timedelta(minutes=1)
    recent = AccessLog.objects.filter(
        user_id=getattr(user, "pk", None), action__in=RATE_LIMITED_ACTIONS, at__gte=since
    )
    if recent.count() < limit:
        return
    access_log_record(
        user=user,
        action=AccessLog.Action.LIMITED,
        target=target,
        rows=0,
        full_numbers=False,
        request=request,
    )
    raise LookupLimitReached(LOOKUP_LIMIT_REACHED % {"limit": limit})


def duplicate_names(*, user, enterprise_ids) -> dict[int, str]:
    """The names of those of the given enterprises that the user may see (one query): a number
    registered at one of them is answered naming it, any other without a name. A system actor
    (a command run without --user) sees everything."""
    enterprises = Enterprise.objects.filter(pk__in=set(enterprise_ids)).visible_to(user)
    return dict(enterprises.values_list("pk", "name"))


def duplicate_message(*, enterprise_id: int, names: dict[int, str]) -> str:
    """How a number already registered at that enterprise is told, `names` being what
    `duplicate_names` gave for this user."""
    if enterprise_id in names:
        return ID_NUMBER_ALREADY_REGISTERED % {"enterprise": names[enterprise_id]}
    return str(ID_NUMBER_REGISTERED_OUTSIDE_SCOPE)


# The access log's target holds at most 200 characters: the first workers hit, then "…".
_TARGET_MAX = 200


def duplicates_outside_scope_record(
    *, user, worker_ids, request=None, source: str = ""
) -> AccessLog | None:
    """Log one answer (a form check, a roster preview or import) that told the user of numbers
    registered outside their scope: one row with their count, and the existing workers' primary
    keys (never the numbers) so that an administrator can open them and resolve the conflict.
    The server's own code (a system actor) sees everything and is not logged."""
    if is_system(user) or not worker_ids:
        return None
    ids = sorted(set(worker_ids))
    target = "placement.worker:" + ",".join(str(pk) for pk in ids)
    if len(target) > _TARGET_MAX:
        target = target[: _TARGET_MAX - 1].rsplit(",", 1)[0] + "…"
    return access_log_record(
        user=user,
        action=AccessLog.Action.DUPLICATE,
        target=target,
        rows=len(ids),
        full_numbers=False,
        request=request,
        source=source,
    )
