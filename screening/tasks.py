"""Celery entry points for eligibility reminders. The rows are the queue; the broker only carries the nudge."""

from celery import shared_task
from django.utils import timezone

from . import reminders


# Acked on receipt: if this pass is lost, the next beat runs another. Its time budget (EMAIL_DISPATCH_SECONDS) keeps
# it well inside the soft limit.
@shared_task(soft_time_limit=240, time_limit=300)
def dispatch_due_eligibility_reminders() -> dict[str, int]:
    """Send every due eligibility reminder once. Return the counts."""
    return dict(reminders.eligibility_reminders_dispatch(now=timezone.now()))
