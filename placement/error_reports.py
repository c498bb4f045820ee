"""Error reports (the debug page and the mails to ADMINS) with ID numbers and phones masked.

Django's default filter hides settings and POST fields whose names look secret; ID numbers and
phones are neither, and they reach a report under any name: a search box's query string, a
Referer, a path, a local variable, a note typed into a free-text field. So every text of the
report is masked by the shape of the number, whatever its name, as people write numbers: an ID
number in groups (140105 19700501 0012, 140105-1970-0501-0012), a mobile with +86 or in groups
(+86 138 1234 5678), a landline with its area code ((0351)1234567, 0351-1234567, 035112345678).
In a URL a space is "+" or "%20": both count as the spaces people type between groups.
"""

import logging
import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from . import idnumbers

# What may stand between two digits of a number written in groups: a space (ideographic and
# URL-encoded too), a hyphen (full-width too), "+" (a space in a query string).
_GAP = r"(?:[ \-+\u3000\uff0d]|%20|%2[Dd])?"
_GAPS = re.compile(r"[ \-+\u3000\uff0d]|%20|%2[Dd]")
# Not preceded or followed by a letter or digit: a number inside a longer token (a hash, a memory
# address in an element id) is left alone. Chinese text around a number does not hide it.
_START = r"(?<![0-9A-Za-z])(?<!\d)"
_END = r"(?![0-9A-Za-z])(?!\d)"

_ID_NUMBER = re.compile(_START + r"\d(?:" + _GAP + r"\d){16}" + _GAP + r"[\dXxＸｘ]" + _END)
_OLD_ID_NUMBER = re.compile(_START + r"\d(?:" + _GAP + r"\d){14}" + _END)
_MOBILE = re.compile(
    _START
    + r"(?:(?:\+|%2[Bb]|00)?86"
    + _GAP
    + r")?(1"
    + _GAP
    + r"[3-9](?:"
    + _GAP
    + r"\d){9})"
    + _END
)
_LANDLINE = re.compile(
    r"(?<![0-9A-Za-z])(?<!\d)(\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3})"
    + _GAP
    + r"(\d(?:"
    + _GAP
    + r"\d){6,7})"
    + _END
)
PERSONAL_FIELDS = re.compile(r"id_number|phone|身份证|电话", flags=re.IGNORECASE)


def _digits(text: str) -> str:
    return _GAPS.sub("", text)


def _mask_id_number(match) -> str:
    digits = _digits(match.group())
    return digits[:6] + "*" * 8 + digits[14:]


def _mask_old_id_number(match) -> str:
    return _digits(match.group())[:6] + "*" * 9


def _mask_mobile(match) -> str:
    digits = _digits(match.group(1))
    return digits[:3] + "****" + digits[7:]


def _mask_landline(match) -> str:
    local = _digits(match.group(2))
    return match.group(1) + "-" + "*" * (len(local) - 4) + local[-4:]


def mask_personal_text(text: str) -> str:
    """Mask every ID number (18 or 15 digits), mobile and landline found in a piece of text,
    however its digits are grouped."""
    text = _ID_NUMBER.sub(_mask_id_number, text)
    text = _OLD_ID_NUMBER.sub(_mask_old_id_number, text)
    text = _MOBILE.sub(_mask_mobile, text)
    return _LANDLINE.sub(_mask_landline, text)


def _mask_str(value):
    """A text masked; a lazy text (a setting's, a translation) left lazy when it holds nothing to
    mask."""
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a broken lazy value must not break the error report
        return value
    masked = mask_personal_text(text)
    return masked if masked != text else value


class LedgerExceptionReporterFilter(SafeExceptionReporterFilter):
    """Masks ID numbers and phones in POST data, request headers (META, with the query string
    and the Referer), cookies, local variables and settings of error reports."""

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

    def cleanse_setting(self, key, value):
        """Settings, request.META and cookies all pass here (dictionaries and lists item by
        item): their text is masked by shape as well as hidden by name."""
        cleansed = super().cleanse_setting(key, value)
        return _mask_str(cleansed) if isinstance(cleansed, str) else cleansed

    def cleanse_special_types(self, request, value):
        value = super().cleanse_special_types(request, value)
        return _mask_str(value) if isinstance(value, str) else value

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self._mask_variable(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    @staticmethod
    def _mask_variable(value):
        if isinstance(value, str):
            return _mask_str(value)
        # Objects are shown through their repr; mask what that would show.
        try:
            shown = repr(value)
        except Exception:  # noqa: BLE001 - a broken repr must not break the error report
            return value
        masked = mask_personal_text(shown)
        return masked if masked != shown else value


class LedgerExceptionReporter(ExceptionReporter):
    """Django's report with what its filter never sees masked too: the query string's values,
    the URL, the path and the exception's message. Values are masked before they are laid out
    (pprint breaks a long one between lines, and a number in groups with it); the finished
    report is masked once more for what the templates show beyond them."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None:
            data["request_GET_items"] = [
                (mask_personal_text(key), mask_personal_text(value))
                for key, value in data["request_GET_items"]
            ]
            data["request_insecure_uri"] = mask_personal_text(data["request_insecure_uri"])
        for key in ("exception_value", "exception_notes"):
            if isinstance(data.get(key), str):
                data[key] = mask_personal_text(data[key])
        return data

    def get_traceback_html(self):
        return mask_personal_text(super().get_traceback_html())

    def get_traceback_text(self):
        return mask_personal_text(super().get_traceback_text())


def self_cleansed() -> str:
    return SafeExceptionReporterFilter.cleansed_substitute


class PersonalDataLogFilter(logging.Filter):
    """Masks ID numbers and phones in every log line, its traceback included, before any handler
    writes it: a request log names the path, a traceback the exception's message, and either may
    carry a number that a user typed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_text(record.stack_info)
        # The values a call passed as `extra` (the request log's path, one a user may have typed
        # a number into): a structured formatter writes them as they are.
        for name, value in list(vars(record).items()):
            if name not in _RECORD_FIELDS and isinstance(value, str):
                masked = mask_personal_text(value)
                if masked != value:
                    setattr(record, name, masked)
        return True


# A LogRecord's own attributes (anything else on a record came in `extra`).
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}
