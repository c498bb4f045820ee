"""Who may see ID numbers and phones in full, and the access log of every reveal and export.

Lists, exports and reports call `can_see_full_id(user)` to decide between the full and the masked
number, and `access_log_record(...)` once per reveal or export. Nothing else reads AccessLog.
"""

from axes.helpers import get_client_ip_address
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from . import idnumbers
from .models import AccessLog, Worker

FULL_ID_PERMISSION = "placement.view_full_id_number"
REVEAL_NOT_ALLOWED = _("您没有查看完整公民身份号码的权限")


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
