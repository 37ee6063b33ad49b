"""One dispatch pass by hand (cron, or an operator after an outage): send every due email and reminder once."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from booking.services import appointment_emails_dispatch
from screening.reminders import eligibility_reminders_dispatch


def _line(label, counts) -> str:
    return (
        f"{label}: {counts['sent']} sent, {counts['retrying']} to retry, "
        f"{counts['failed']} failed, {counts['skipped']} skipped"
    )


class Command(BaseCommand):
    help = "Send the appointment emails and eligibility reminders that are due now, each once, and print counts."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="At most this many rows of each kind (all due).")

    def handle(self, *args, limit, **options):
        now = timezone.now()
        appointment = appointment_emails_dispatch(now=now, limit=limit)
        eligibility = eligibility_reminders_dispatch(now=now, limit=limit)
        self.stdout.write(_line("Appointment emails", appointment))
        self.stdout.write(_line("Eligibility reminders", eligibility))
