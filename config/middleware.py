"""Project-wide middleware."""

import logging
import time

from django.middleware.locale import LocaleMiddleware

request_log = logging.getLogger("ledger.requests")


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user picked another language with the switch in the header.

    Django's LocaleMiddleware would follow the browser's Accept-Language; the ledger's users work
    in Chinese whatever their browser says, so only the language cookie (set by the switch)
    overrides LANGUAGE_CODE.
    """

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)


class RequestLogMiddleware:
    """One structured log line per request (logger "ledger.requests"): time, user id, method,
    path without its query string, status and duration. Never a name, an ID number or a phone:
    the ledger's URLs carry primary keys only, and query strings (a name search) are left out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        request_log.info(
            "request",
            extra={
                "user_id": getattr(user, "pk", None),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return response
