"""Re-encrypt stored ID numbers with the first key of LEDGER_ID_ENCRYPTION_KEYS.

Rotation: put the new key first and keep the old one after it
(LEDGER_ID_ENCRYPTION_KEYS=new,old), restart, run this command, then drop the old key.
"""

from django.core.management.base import BaseCommand

from placement.keys import ROTATE_BATCH, id_keys_rotate


class Command(BaseCommand):
    help = "用第一个密钥重新加密全部公民身份号码密文（含历史记录），用于更换密钥"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=ROTATE_BATCH)

    def handle(self, *args, batch_size, **options):
        count = id_keys_rotate(batch_size=batch_size)
        self.stdout.write(f"re-encrypted {count} ciphertexts with the first key")
