"""Celery entry points for appointment emails. They take ids and are safe to run twice."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True)
def send_appointment_email(email_id: int) -> bool:
    return services.appointment_email_send(email_id=email_id, now=timezone.now())


@shared_task
def dispatch_due_appointment_emails() -> int:
    """Send every due appointment email (reminders, retries, any the broker missed). Return how many went."""
    now = timezone.now()
    return sum(
        services.appointment_email_send(email_id=pk, now=now) for pk in services.due_appointment_email_ids(now=now)
    )
