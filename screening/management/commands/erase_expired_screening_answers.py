from django.core.management.base import BaseCommand
from django.utils import timezone

from screening import patient_data


class Command(BaseCommand):
    help = "Erase screening answers past their retention period (SCREENING_RETENTION_*); bookings stay."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be erased.")

    def handle(self, *args, dry_run, **options):
        now = timezone.now()
        if dry_run:
            count = patient_data.expired_screenings(now=now).count()
            self.stdout.write(f"{count} screening(s) would have their answers erased.")
            return
        count = patient_data.screening_answers_erase_expired(now=now)
        self.stdout.write(self.style.SUCCESS(f"Erased the answers of {count} screening(s)."))
