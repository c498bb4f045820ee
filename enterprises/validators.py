"""Validation of unified social credit codes (统一社会信用代码, GB 32100)."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

CREDIT_CODE_INVALID = _("统一社会信用代码无效（应为 18 位，校验位正确）")


def normalize_credit_code(value: str) -> str:
    """Full-width to ASCII, strip spaces and invisible characters, upper case."""
    value = unicodedata.normalize("NFKC", str(value or ""))
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf" and not ch.isspace())
    return value.upper()


def validate_credit_code(value: str) -> None:
    """Refuse a code that stdnum.cn.uscc does not accept (length, alphabet, check digit)."""
    try:
        uscc.validate(value)
    except StdnumError as exc:
        raise ValidationError(CREDIT_CODE_INVALID, code="invalid_credit_code") from exc
