"""Re-encrypt stored ID numbers with the first key of LEDGER_ID_ENCRYPTION_KEYS.

Rotation: put the new key first and keep the old one after it
(LEDGER_ID_ENCRYPTION_KEYS=new,old), restart, run this command, then `--check` (it fails while any
ciphertext still needs the old key), then drop the old key.
"""

from django.core.management.base import BaseCommand, CommandError

from placement.keys import ROTATE_BATCH, id_keys_rotate, id_keys_unrotated


class Command(BaseCommand):
    help = "用第一个密钥重新加密全部公民身份号码密文（含历史记录），用于更换密钥"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=ROTATE_BATCH)
        parser.add_argument(
            "--check",
            action="store_true",
            help="只检查：仍有需要旧密钥才能解密的密文时报错（此时不能删除旧密钥）",
        )

    def handle(self, *args, batch_size, check, **options):
        if check:
            left = id_keys_unrotated()
            if left:
                shown = ", ".join(f"{label}:{pk}" for label, pk in left)
                raise CommandError(
                    f"ciphertexts still under an older key (first {len(left)}): {shown}; "
                    "run rotate_id_keys again before dropping the old key"
                )
            self.stdout.write("every ciphertext is under the first key: the old key may go")
            return
        count = id_keys_rotate(batch_size=batch_size)
        self.stdout.write(f"re-encrypted {count} ciphertexts with the first key")
