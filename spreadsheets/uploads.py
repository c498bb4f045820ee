"""Encryption of what the background jobs keep in the database: uploads (full ID numbers and
phones), their previews and exported files, with the ID-number keys (Fernet,
LEDGER_ID_ENCRYPTION_KEYS: the first encrypts, the others still decrypt, for rotation)."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404


class UploadGone(Http404):
    """The stored file is missing, expired or unreadable (made with a key no longer set)."""


def _cipher() -> MultiFernet:
    # The ID numbers' keys (placement.idnumbers holds the same construction; this package sits
    # below placement and cannot import it).
    keys = settings.LEDGER_ID_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("LEDGER_ID_ENCRYPTION_KEYS is not set")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def seal(data: bytes) -> bytes:
    return _cipher().encrypt(data)


def unseal(token: bytes) -> bytes:
    if not token:
        raise UploadGone
    try:
        return _cipher().decrypt(bytes(token))
    except InvalidToken:
        raise UploadGone from None
