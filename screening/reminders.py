"""Eligibility reminders: send them when they fall due, each once, and let the patient unsubscribe.

A reminder is a row (`EligibilityReminder`) made when the patient opts in; months may pass before it is due, so
the broker never holds it. A periodic task calls `eligibility_reminders_dispatch`, which claims due rows one at a
time with `SELECT ... FOR UPDATE SKIP LOCKED`, sends, and records the outcome on the row in the same short
transaction. The email says the wait is over and links to a fresh screening: it names no drug and no answer.
"""

import logging
from collections import Counter
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from booking import emails as outbox
from booking.models import Appointment
from booking.selectors import clinic_tz, today_local
from clinic.mail import send_templated_email

from .models import EligibilityReminder
from .services import ADVANCE_REMINDER_DAYS

logger = logging.getLogger(__name__)

State = EligibilityReminder.State


def eligible_on(reminder: EligibilityReminder):
    """Return the day the patient's wait ends, which an advance reminder is due two weeks before."""
    if reminder.kind == EligibilityReminder.Kind.ADVANCE:
        return reminder.due_on + timedelta(days=ADVANCE_REMINDER_DAYS)
    return reminder.due_on


def unsubscribe_url(reminder: EligibilityReminder) -> str:
    return settings.SITE_URL + reverse("screening:unsubscribe", args=[reminder.unsubscribe_token])


def screening_url(reminder: EligibilityReminder) -> str:
    """A fresh screening for the treatment, with the patient's email filled in."""
    url = settings.SITE_URL + reverse("screening:start", args=[reminder.treatment.slug])
    return f"{url}?{urlencode({'email': reminder.email})}"


def _why_not_send(reminder: EligibilityReminder, now: datetime) -> str | None:
    """Return why a due reminder should no longer go out, or None when it should."""
    if not reminder.treatment.active:
        return "the treatment is no longer offered online"
    if reminder.kind == EligibilityReminder.Kind.ADVANCE and today_local(now) >= eligible_on(reminder):
        return "the wait has already ended"
    booked = Appointment.objects.filter(
        patient_email__iexact=reminder.email,
        treatment_id=reminder.treatment_id,
        status__in=[Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW],
        start__gte=now,
    )
    if booked.exists():
        return "the patient has booked it already"
    return None


def _send_eligibility_email(reminder: EligibilityReminder) -> None:
    unsubscribe = unsubscribe_url(reminder)
    send_templated_email(
        name=f"eligibility_{reminder.kind}",
        context={
            "treatment": reminder.treatment,
            "eligible_on": eligible_on(reminder),
            "book_url": screening_url(reminder),
            "unsubscribe_url": unsubscribe,
        },
        to=reminder.email,
        # RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to the URL.
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def _attempt(reminder: EligibilityReminder, now: datetime) -> str:
    reason = _why_not_send(reminder, now)
    if reason:
        reminder.state = State.SKIPPED
        reminder.save(update_fields=["state"])
        logger.info("Eligibility reminder %s skipped: %s", reminder.pk, reason)
        return outbox.SKIPPED
    return outbox.attempt_send(reminder, send=lambda: _send_eligibility_email(reminder), now=now, due_field="send_at")


def _claimable(now: datetime):
    """Due pending reminders, locked as they are read; rows another dispatcher holds are skipped, not waited for."""
    return (
        EligibilityReminder.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("treatment")
        .filter(state=State.PENDING, send_at__lte=now)
    )


def eligibility_reminders_dispatch(*, now: datetime, limit: int | None = None) -> Counter:
    """Send every due eligibility reminder once, retrying failures with backoff. Return the counts."""
    return outbox.dispatch_pass(
        claim_next=lambda: _claimable(now).order_by("send_at", "pk").first(),
        attempt=lambda reminder: _attempt(reminder, now),
        limit=limit,
    )


def eligibility_reminder_by_token(token) -> EligibilityReminder | None:
    return EligibilityReminder.objects.select_related("treatment").filter(unsubscribe_token=token).first()


def eligibility_reminder_unsubscribe(*, reminder: EligibilityReminder, now: datetime) -> int:
    """Stop this reminder and every other one still pending for the same email and treatment. Return how many.

    The row whose link was used is marked unsubscribed even when it was already sent (its `sent_at` stays), so
    the opt-out is on record; a later beat never sends a row that is not pending. Each row stopped records
    `unsubscribed_at`; a second click keeps the time of the first.
    """
    with transaction.atomic():
        stopped = EligibilityReminder.objects.filter(
            email=reminder.email, treatment_id=reminder.treatment_id, state=State.PENDING
        ).update(state=State.UNSUBSCRIBED, unsubscribed_at=now)
        marked = (
            EligibilityReminder.objects.filter(pk=reminder.pk)
            .exclude(state=State.UNSUBSCRIBED)
            .update(state=State.UNSUBSCRIBED, unsubscribed_at=now)
        )
    logger.info(
        "Eligibility reminder %s unsubscribed at %s (%s pending stopped)",
        reminder.pk,
        now.astimezone(clinic_tz()).isoformat(timespec="seconds"),
        stopped,
    )
    return stopped + marked
