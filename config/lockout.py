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
