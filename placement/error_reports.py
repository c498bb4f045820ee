"""Error reports (the debug page and the mails to ADMINS) with ID numbers and phones masked.

Django's default filter hides settings and POST fields whose names look secret; ID numbers and
phones are neither, so this filter masks them by name in POST data and by shape anywhere else.
"""

import re

from django.views.debug import SafeExceptionReporterFilter

from . import idnumbers

# An 18-character ID number (or a 15-digit old one) standing alone, and an 11-digit mobile.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_OLD_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{6})(\d{3})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
PERSONAL_FIELDS = re.compile(r"id_number|phone|身份证|电话", flags=re.IGNORECASE)


def mask_personal_text(text: str) -> str:
    """Mask every ID number and mobile number found in a piece of text."""
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(3), text)
    text = _OLD_ID_NUMBER.sub(lambda m: m.group(1) + "*" * 9, text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


class LedgerExceptionReporterFilter(SafeExceptionReporterFilter):
    """Masks ID numbers and phones in POST data, local variables and settings of error reports."""

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if not params:
            return params
        params = params.copy()
        for key in list(params.keys()):
            values = params.getlist(key)
            if PERSONAL_FIELDS.search(key):
                params.setlist(key, [self._mask_field(value) for value in values])
            else:
                params.setlist(key, [mask_personal_text(str(value)) for value in values])
        return params

    @staticmethod
    def _mask_field(value) -> str:
        value = str(value)
        if value == self_cleansed():
            return value
        if value.startswith("1") or "-" in value:
            return idnumbers.mask_phone(value)
        return mask_personal_text(value) if len(value) >= 15 else "*" * len(value)

    def cleanse_special_types(self, request, value):
        value = super().cleanse_special_types(request, value)
        if isinstance(value, str):
            return mask_personal_text(value)
        return value

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self._mask_variable(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    @staticmethod
    def _mask_variable(value):
        if isinstance(value, str):
            return mask_personal_text(value)
        # Objects are shown through their repr; mask what that would show.
        try:
            shown = repr(value)
        except Exception:  # noqa: BLE001 - a broken repr must not break the error report
            return value
        masked = mask_personal_text(shown)
        return masked if masked != shown else value


def self_cleansed() -> str:
    return SafeExceptionReporterFilter.cleansed_substitute
