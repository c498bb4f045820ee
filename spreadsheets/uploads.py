"""Uploads kept between an import's preview and its confirmation.

A roster holds full ID numbers and phones. So the file, its preview and its owner record are
stored encrypted with the ID-number keys (Fernet, LEDGER_ID_ENCRYPTION_KEYS), each file with mode
0600, in a folder (LEDGER_IMPORT_UPLOAD_DIR) of mode 0700 that belongs to the app's user; the
folder is checked before every use, and one that another user owns, or that others may enter, is
refused. An upload without its owner record is refused. Uploads expire after
LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES: they are removed on confirmation, on cancel, at each new
upload and by `manage.py cleanup_imports`, and an expired one is refused even before it is removed
(a Fernet token carries the time it was made).

With more than one app server the folder must be shared storage.
"""

import contextlib
import json
import os
import re
import secrets
import stat
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404

from .results import ImportResult

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_STORED_NAME = re.compile(r"^(?P<token>[0-9a-f]{32})\.(bin|json|confirm\.json)$")


class UploadGone(Http404):
    """The upload, or its owner record, is missing, expired or unreadable."""


def _lifetime_seconds() -> int:
    return settings.LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES * 60


def _cipher() -> MultiFernet:
    # The ID numbers' keys (placement.idnumbers holds the same construction; this app sits below
    # placement and cannot import it): the first encrypts, the others still decrypt.
    keys = settings.LEDGER_ID_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("LEDGER_ID_ENCRYPTION_KEYS is not set")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def storage_dir() -> Path:
    """The uploads' folder, created with mode 0700 if missing; refused unless it is a real folder
    (not a link) of the app's own user that no one else may enter. Once checked, no other user
    can add, swap or read anything inside it."""
    path = Path(settings.LEDGER_IMPORT_UPLOAD_DIR)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise ImproperlyConfigured(f"LEDGER_IMPORT_UPLOAD_DIR {path} is not a folder")
    if info.st_uid != os.geteuid():
        raise ImproperlyConfigured(
            f"LEDGER_IMPORT_UPLOAD_DIR {path} belongs to another user (uid {info.st_uid}); "
            "it must belong to the app's user"
        )
    if info.st_mode & 0o077:
        raise ImproperlyConfigured(
            f"LEDGER_IMPORT_UPLOAD_DIR {path} has mode {stat.S_IMODE(info.st_mode):o}; "
            "it must be 700 (no access for group or others)"
        )
    return path


def _write(path: Path, data: bytes) -> None:
    token = _cipher().encrypt(data)
    # O_NOFOLLOW: never write through a link; 0600 whatever the umask allows beyond it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(token)


def _read(path: Path) -> bytes:
    try:
        token = path.read_bytes()
    except FileNotFoundError:
        raise UploadGone from None
    try:
        return _cipher().decrypt(token, ttl=_lifetime_seconds())
    except InvalidToken:
        # Expired, or made with a key that is no longer configured.
        raise UploadGone from None


class Upload:
    """One stored upload: the file (`.bin`), its preview (`.json`) and its owner record
    (`.confirm.json`: the token, the file's name, the user and the import's options)."""

    def __init__(self, token: str):
        if not _TOKEN.match(token or ""):
            raise Http404
        self.token = token
        folder = storage_dir()
        self.data_path = folder / f"{token}.bin"
        self.result_path = folder / f"{token}.json"
        self.confirm_path = folder / f"{token}.confirm.json"

    @classmethod
    def create(cls, data: bytes, *, confirm: dict) -> "Upload":
        """Store a new upload under a random token, its owner record first; expired uploads are
        removed on the way."""
        uploads_expired_remove()
        upload = cls(secrets.token_hex(16))
        upload.save_confirm({"token": upload.token, **confirm})
        _write(upload.data_path, data)
        return upload

    def read(self) -> bytes:
        return _read(self.data_path)

    def save_result(self, result: ImportResult) -> None:
        _write(self.result_path, result.dumps().encode())

    def result(self) -> ImportResult:
        return ImportResult.loads(_read(self.result_path).decode())

    def save_confirm(self, confirm: dict) -> None:
        _write(self.confirm_path, json.dumps(confirm).encode())

    def confirm(self) -> dict:
        """The owner record; an upload without one (or an expired one) is gone."""
        try:
            return json.loads(_read(self.confirm_path))
        except UploadGone:
            self.remove()
            raise

    def remove(self) -> None:
        for path in (self.data_path, self.result_path, self.confirm_path):
            path.unlink(missing_ok=True)


def uploads_expired_remove() -> int:
    """Remove every upload older than LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES (by its oldest file:
    the owner record is written first); returns how many uploads were removed."""
    folder = storage_dir()
    stale = time.time() - _lifetime_seconds()
    oldest: dict[str, float] = {}
    for path in folder.iterdir():
        match = _STORED_NAME.match(path.name)
        if match is None:
            continue
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile by another request
            token = match["token"]
            oldest[token] = min(oldest.get(token, time.time()), path.lstat().st_mtime)
    removed = 0
    for token, made in oldest.items():
        if made < stale:
            for suffix in (".bin", ".json", ".confirm.json"):
                (folder / f"{token}{suffix}").unlink(missing_ok=True)
            removed += 1
    return removed
