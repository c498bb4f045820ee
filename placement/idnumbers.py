"""Resident ID numbers (公民身份号码, GB 11643): normalise, check, hash, encrypt, mask.

This is the only module that sees an ID number in the clear on its way in or out of the database.
The check follows python-stdnum's pieces but not `stdnum.cn.ric.validate` as a whole: that also
demands that the region existed in the birth year, which refuses real people whose district was
created after they were born (PITFALLS.md). The region is checked against the table of any period.
"""

import datetime
import functools
import hmac
import re
import time
import unicodedata
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.cn import ric

ID_NUMBER_REQUIRED = _("公民身份号码不能为空")
ID_NUMBER_LOST_DIGITS = _(
    "公民身份号码被表格软件存成了数字，末几位已经丢失，无法还原；请把该列设置为“文本”格式后重新填写"
)
ID_NUMBER_BAD_FORMAT = _("公民身份号码应为 18 位（或旧式 15 位）数字，最后一位可为 X")
ID_NUMBER_BAD_CHECK_DIGIT = _("公民身份号码校验位错误")
ID_NUMBER_BAD_BIRTH_DATE = _("公民身份号码中的出生日期不存在")
ID_NUMBER_UNKNOWN_REGION = _("公民身份号码中的地区码不在国家行政区划代码表中")

_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?E\+?\d+$")
_EARLIEST_BIRTH = datetime.date(1900, 1, 1)


@dataclass(frozen=True)
class ParsedIdNumber:
    """A checked 18-character ID number with what it says about its holder."""

    number: str
    birth_date: datetime.date
    sex: str  # "M" or "F": the 17th digit is odd for men

    @property
    def region_code(self) -> str:
        return self.number[:6]


def clean_text(value) -> str:
    """NFKC (full-width to ASCII), then drop spaces and invisible format characters (U+200B …)."""
    text = str(value)
    if text.isascii():
        # NFKC leaves ASCII as it is and no ASCII character is a format character: only the
        # spaces go (an import checks 100,000 numbers; the loop per character took 1.9 s).
        return "".join(text.split())
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def normalize(value) -> str:
    """The canonical 18-character form of a typed ID number, or a ValidationError saying why not.

    Numbers typed into a spreadsheet as numbers arrive as int or float (or as text like
    1.40102197005E+17) and have lost digits; that is refused, never guessed.
    """
    if value is None or value == "":
        raise ValidationError(ID_NUMBER_REQUIRED, code="required")
    if isinstance(value, float | int) and not isinstance(value, bool):
        raise ValidationError(ID_NUMBER_LOST_DIGITS, code="lost_digits")
    number = clean_text(value).upper()
    if not number:
        raise ValidationError(ID_NUMBER_REQUIRED, code="required")
    if _SCIENTIFIC.match(number) or number.endswith(".0"):
        raise ValidationError(ID_NUMBER_LOST_DIGITS, code="lost_digits")
    if len(number) == 15 and number.isdigit():
        # Old 15-digit numbers carry a two-digit year of the 1900s and no check digit.
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
    if (
        len(number) != 18
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        raise ValidationError(ID_NUMBER_BAD_FORMAT, code="bad_format")
    return number


def parse(value) -> ParsedIdNumber:
    """Normalise and fully check an ID number: check digit, birth date, region code."""
    number = normalize(value)
    if ric.calc_check_digit(number) != number[17]:
        raise ValidationError(ID_NUMBER_BAD_CHECK_DIGIT, code="bad_check_digit")
    birth = number[6:14]
    birth_date = _birth_date(birth)
    # timezone.localdate() costs more than the rest of the check (imports parse 100,000
    # numbers): only a birth date within a day or two of now needs the exact local date.
    if (
        birth_date is None
        or birth_date < _EARLIEST_BIRTH
        or (birth >= _recent_from() and birth_date > timezone.localdate())
    ):
        raise ValidationError(ID_NUMBER_BAD_BIRTH_DATE, code="bad_birth_date")
    if not region_code_known(number[:6]):
        raise ValidationError(ID_NUMBER_UNKNOWN_REGION, code="unknown_region")
    return ParsedIdNumber(
        number=number, birth_date=birth_date, sex="M" if int(number[16]) % 2 else "F"
    )


@functools.lru_cache(maxsize=32768)
def _birth_date(digits: str) -> datetime.date | None:
    """The date of YYYYMMDD digits, or None if there is no such day. A roster's birth dates
    repeat (some 25,000 days in 70 years): each is worked out once."""
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _recent_from() -> str:
    """The day before yesterday in UTC as YYYYMMDD: birth dates from then on are compared with
    the local date. Worked out once an hour: within the hour it is at most an hour early,
    which only sends a few more numbers to the exact comparison."""
    return _two_days_before(int(time.time() // 3600))


@functools.lru_cache(maxsize=1)
def _two_days_before(hour: int) -> str:
    day = datetime.datetime.fromtimestamp(hour * 3600, datetime.UTC).date()
    return (day - datetime.timedelta(days=2)).strftime("%Y%m%d")


@functools.lru_cache(maxsize=8192)
def region_code_known(code: str) -> bool:
    """True when the code is in the national division table at any period."""
    found = numdb.get("cn/loc").info(code)
    return len(found) == 2 and bool(found[1][1])


def with_check_digit(body17: str) -> str:
    """Complete 17 digits with their check digit (for synthetic demo and test numbers)."""
    return body17 + ric.calc_check_digit(body17 + "0")


def mask(number: str) -> str:
    """Hide the birth date and sequence: 140121********101X keeps the region and last four."""
    return number[:6] + "*" * 8 + number[14:]


# --- Storage: a keyed hash for lookup and uniqueness, Fernet for the value itself -----------------


@functools.cache
def _hmac_key() -> bytes:
    """The key, read from the settings once, not per digest (0.04 s of 100,000 digests);
    forgotten when a test overrides it."""
    key = settings.LEDGER_ID_HMAC_KEY
    if not key:
        raise ImproperlyConfigured("LEDGER_ID_HMAC_KEY is not set")
    return key.encode()


@receiver(setting_changed)
def _key_setting_changed(*, setting, **kwargs) -> None:
    if setting == "LEDGER_ID_HMAC_KEY":
        _hmac_key.cache_clear()


def digest(number: str) -> str:
    """HMAC-SHA256 of the canonical number: equal numbers have equal digests, and without the key
    the digest cannot be reversed by trying all the (few) possible numbers."""
    return hmac.digest(_hmac_key(), number.encode(), "sha256").hex()


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _cipher() -> MultiFernet:
    keys = tuple(settings.LEDGER_ID_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("LEDGER_ID_ENCRYPTION_KEYS is not set")
    return _fernet(keys)


def encrypt(number: str) -> str:
    return _cipher().encrypt(number.encode()).decode()


def encrypt_many(numbers: list[str]) -> list[str]:
    """`encrypt` of each number, with one cipher for the list. `cryptography`'s Fernet, one token
    at a time: a batch encryption written by hand (one AES context, CBC chained in Python) made
    the same tokens in 14 µs a number instead of 36, about 2 s of a 100,000-row first import,
    and was not kept: hand-written cryptography for personal data is not worth 2 seconds."""
    cipher = _cipher()
    return [cipher.encrypt(number.encode()).decode() for number in numbers]


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An ID number cannot be decrypted with LEDGER_ID_ENCRYPTION_KEYS (wrong key?)"
        ) from None


# --- Masks for phones and for pages that also show the birth date ---------------------------------


def mask_beside_birth_date(number: str) -> str:
    """Keep the region code only: 140121************. For pages that show the birth date, where
    the usual mask (which hides exactly the birth date) plus that date would rebuild the number."""
    return number[:6] + "*" * 12


def mask_phone(phone: str) -> str:
    """A mobile keeps its first three and last four digits (138****5678); a landline keeps its
    area code and last four (0351-****4567)."""
    if not phone:
        return ""
    if "-" in phone:
        area, local = phone.split("-", 1)
        return area + "-" + "*" * max(len(local) - 4, 0) + local[-4:]
    if phone.startswith("1"):
        return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:]
    return phone[:4] + "*" * max(len(phone) - 8, 0) + phone[-4:]


def first_key_cipher() -> Fernet:
    """The first (current) key alone."""
    keys = tuple(settings.LEDGER_ID_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("LEDGER_ID_ENCRYPTION_KEYS is not set")
    return Fernet(keys[0].encode())


def readable_with(cipher: Fernet, token: str) -> bool:
    try:
        cipher.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """Re-encrypt a stored token with the first key (MultiFernet.rotate); the value is unchanged."""
    try:
        return _cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An ID number cannot be decrypted with LEDGER_ID_ENCRYPTION_KEYS (wrong key?)"
        ) from None
