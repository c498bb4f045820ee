"""Key rotation for stored ID numbers: re-encrypt every ciphertext with the first key."""

from django.db import transaction

from . import idnumbers
from .models import Worker

ROTATE_BATCH = 2000


def id_keys_rotate(*, batch_size: int = ROTATE_BATCH) -> int:
    """Re-encrypt every worker's ID number, and every copy in the history, with the first key of
    LEDGER_ID_ENCRYPTION_KEYS; returns how many ciphertexts were rewritten. The numbers do not
    change, so no history row is written for it; the digest stays as it is (the HMAC key is not
    rotated here: a new HMAC key means recomputing every digest from the decrypted numbers)."""
    rewritten = 0
    for model in (Worker, Worker.history.model):
        pk_name = model._meta.pk.attname
        last = None
        while True:
            rows = model.objects.order_by(pk_name)
            if last is not None:
                rows = rows.filter(**{f"{pk_name}__gt": last})
            batch = list(rows.only(pk_name, "id_number_cipher")[:batch_size])
            if not batch:
                break
            for row in batch:
                row.id_number_cipher = idnumbers.rotate(row.id_number_cipher)
            with transaction.atomic():
                model.objects.bulk_update(batch, ["id_number_cipher"], batch_size=batch_size)
            rewritten += len(batch)
            last = getattr(batch[-1], pk_name)
    return rewritten
