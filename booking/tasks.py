"""Celery entry points for appointment emails. They take ids, are safe to run twice, and the rows record the result."""

from celery import shared_task
from django.utils import timezone

from . import emails, services


# Sends one row. New emails ask for a dispatch pass instead (services.send_due_emails_soon); this stays so messages an
# earlier version queued still run after an upgrade. acks_late: a worker that dies mid-send leaves the message to be
# delivered again, which is safe because the send locks the row and checks `state` first; a message for an email
# already sent does nothing.
@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def send_appointment_email(email_id: int) -> bool:
    return services.appointment_email_send(email_id=email_id, now=timezone.now())


# Acked on receipt: if this pass is lost, the next beat runs another. Its time budget (EMAIL_DISPATCH_SECONDS) keeps
# it well inside the soft limit.
@shared_task(bind=True, soft_time_limit=240, time_limit=300)
def dispatch_due_appointment_emails(self, siblings: int | None = None) -> dict[str, int]:
    """Send every due appointment email (reminders, retries, any the broker lost). Return the counts."""
    emails.start_sibling_passes(self, siblings)
    return dict(services.appointment_emails_dispatch(now=timezone.now()))
