"""Celery entry points: eligibility reminders (the rows are the queue; the broker only carries the nudge) and the
retention of screening answers."""

from celery import shared_task
from django.utils import timezone

from booking.emails import start_sibling_passes

from . import patient_data, reminders


# Acked on receipt: if this pass is lost, the next beat runs another. Its time budget (EMAIL_DISPATCH_SECONDS) keeps
# it well inside the soft limit.
@shared_task(bind=True, soft_time_limit=240, time_limit=300)
def dispatch_due_eligibility_reminders(self, siblings: int | None = None) -> dict[str, int]:
    """Send every due eligibility reminder once. Return the counts."""
    start_sibling_passes(self, siblings)
    return dict(reminders.eligibility_reminders_dispatch(now=timezone.now()))


@shared_task
def erase_expired_screening_answers() -> int:
    """Erase what is past keeping; return how many. Beat runs it every few minutes; running it twice is harmless."""
    return patient_data.screening_answers_erase_expired(now=timezone.now())
