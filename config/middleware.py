"""Project-wide middleware."""

from django.middleware.locale import LocaleMiddleware


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user picked another language with the switch in the header.

    Django's LocaleMiddleware would follow the browser's Accept-Language; the ledger's users work
    in Chinese whatever their browser says, so only the language cookie (set by the switch)
    overrides LANGUAGE_CODE.
    """

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)
