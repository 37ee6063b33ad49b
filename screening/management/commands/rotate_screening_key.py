from django.core.management.base import BaseCommand
from django.db import transaction

from clinic import encryption
from screening.models import Screening


class Command(BaseCommand):
    help = (
        "Re-encrypt every screening's answers under the first key of SCREENING_ENCRYPTION_KEYS, so older keys can "
        "then be removed. With --new-key, print a fresh key and change nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="Print a new key to put first in the list.")
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args, new_key, batch, **options):
        if new_key:
            self.stdout.write(encryption.new_key())
            return
        done, last_pk = 0, 0
        while True:
            with transaction.atomic():
                rows = list(Screening.objects.select_for_update().filter(pk__gt=last_pk).order_by("pk")[:batch])
                if not rows:
                    break
                for row in rows:
                    # Decrypted with whichever key wrote it, encrypted again with the first key on save.
                    row.save(update_fields=["answers", "reasons"])
                done += len(rows)
                last_pk = rows[-1].pk
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {done} screening(s) under the current key."))
