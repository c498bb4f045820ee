"""The login lockout: django-axes' database handler with a second, higher limit per address.

axes locks the pair (username, address) after AXES_FAILURE_LIMIT failures. This handler also
locks the address alone once the failures from it, over every username, reach
LEDGER_LOGIN_ADDRESS_FAILURE_LIMIT (one password sprayed over many usernames). A successful login
still resets only its own pair (AXES_LOCKOUT_PARAMETERS), so a sprayer cannot clear the address's
count by logging in to an account of their own. Why not axes' own "ip_address" criterion: see the
settings.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

LOCKED_OUT = _("登录已暂时锁定")


class LoginLockoutHandler(AxesDatabaseHandler):
    """axes' database handler; an address over its own limit counts as locked for every user."""

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures < limit and self.address_failures(request) >= (
            settings.LEDGER_LOGIN_ADDRESS_FAILURE_LIMIT
        ):
            return limit
        return failures

    def address_failures(self, request) -> int:
        """Failures from the request's address within the cool-off time, over all usernames."""
        attempts = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            attempt_time__gte=get_cool_off_threshold(request),
        )
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out login gets (AXES_LOCKOUT_CALLABLE): a page in the login page's look and
    the user's language, saying for how long and what to do, with axes' status (429). axes' own
    answer was one bare English sentence. The username typed is not repeated: the same page
    answers a lock of the address alone."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(
        request,
        "registration/lockout.html",
        {"minutes": minutes, "title": LOCKED_OUT},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
