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
            with transaction.atomic():
                # Locked while rotated: an officer's correction of a number saved in between
                # would otherwise be overwritten with the old number's re-encrypted ciphertext
                # (the keyed digest staying the new one's).
                batch = list(
                    rows.select_for_update().only(pk_name, "id_number_cipher")[:batch_size]
                )
                if not batch:
                    break
                for row in batch:
                    row.id_number_cipher = idnumbers.rotate(row.id_number_cipher)
                model.objects.bulk_update(batch, ["id_number_cipher"], batch_size=batch_size)
            rewritten += len(batch)
            last = getattr(batch[-1], pk_name)
    return rewritten


def id_keys_unrotated(*, limit: int = 10) -> list[tuple[str, int]]:
    """Ciphertexts not yet under the first key (model label, primary key), at most `limit`: the
    old key may be dropped only when there are none (rotate_id_keys --check)."""
    first = idnumbers.first_key_cipher()
    found = []
    for model in (Worker, Worker.history.model):
        pk_name = model._meta.pk.attname
        for pk, token in (
            model.objects.order_by(pk_name)
            .values_list(pk_name, "id_number_cipher")
            .iterator(chunk_size=2000)
        ):
            if not idnumbers.readable_with(first, token):
                found.append((model._meta.label, pk))
                if len(found) >= limit:
                    return found
    return found


def id_keys_match() -> str:
    """Whether the keys this server was given are the ledger's: the most recently written
    worker's ciphertext decrypts with LEDGER_ID_ENCRYPTION_KEYS, and the number it holds gives
    its stored digest under LEDGER_ID_HMAC_KEY ("ok"; an empty ledger is "ok"). A wrong
    encryption key would fail every page showing a number; a changed HMAC key would find no one
    by number and let a person be registered twice. Raises ImproperlyConfigured otherwise."""
    from django.core.exceptions import ImproperlyConfigured

    row = Worker.objects.order_by("-pk").values_list("id_number_cipher", "id_number_digest").first()
    if row is None:
        return "ok"
    cipher, digest = row
    number = idnumbers.decrypt(cipher)  # ImproperlyConfigured with a wrong key
    if idnumbers.digest(number) != digest:
        raise ImproperlyConfigured(
            "LEDGER_ID_HMAC_KEY is not the key the stored digests were made with"
        )
    return "ok"
