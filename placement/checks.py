"""System check: the app does not start without its ID-number keys, and never falls back to
storing numbers in the clear."""

import base64
import binascii
import sys

from django.conf import settings
from django.core.checks import Error, Tags, register

KEYS_MISSING = "placement.E001"
KEY_INVALID = "placement.E002"
# Commands that only read or write the schema, never an ID number: they run without the keys, so
# that `makemigrations --check` works in a checkout that has never been started.
SCHEMA_ONLY_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate"}


@register()
def id_number_keys_check(app_configs, **kwargs):
    errors = []
    if sys.argv[1:2] and sys.argv[1] in SCHEMA_ONLY_COMMANDS:
        return errors
    if not settings.LEDGER_ID_ENCRYPTION_KEYS or not settings.LEDGER_ID_HMAC_KEY:
        errors.append(
            Error(
                "LEDGER_ID_ENCRYPTION_KEYS and LEDGER_ID_HMAC_KEY must be set in the environment.",
                hint="Run `make .env` for a development key pair; production keys come from the "
                "deployment's secret store.",
                id=KEYS_MISSING,
            )
        )
        return errors
    for key in settings.LEDGER_ID_ENCRYPTION_KEYS:
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            errors.append(
                Error(
                    "A LEDGER_ID_ENCRYPTION_KEYS entry is not a Fernet key "
                    "(32 url-safe base64-encoded bytes).",
                    id=KEY_INVALID,
                )
            )
    if len(settings.LEDGER_ID_HMAC_KEY) < 32:
        errors.append(Error("LEDGER_ID_HMAC_KEY must be at least 32 characters.", id=KEY_INVALID))
    return errors


KEYS_NOT_THE_LEDGERS = "placement.E003"


@register(Tags.database)
def id_number_keys_match_check(app_configs, databases=None, **kwargs):
    """With `check --database default` (and before `migrate`): the keys read the stored numbers."""
    if not databases or not settings.LEDGER_ID_ENCRYPTION_KEYS or not settings.LEDGER_ID_HMAC_KEY:
        return []
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from .keys import id_keys_match

    try:
        id_keys_match()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id=KEYS_NOT_THE_LEDGERS)]
    except DatabaseError:
        return []  # no table yet (before the first migrate)
    return []
