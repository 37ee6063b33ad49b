"""Screening use cases. Views, admin actions, commands and tasks call these; none re-implements them."""

from datetime import date, datetime, time, timedelta

from django.db import transaction

from booking.selectors import clinic_tz, today_local

from .exceptions import NoReminderDate
from .models import EligibilityReminder, Screening

ADVANCE_REMINDER_DAYS = 14
REMINDER_SEND_TIME = time(9)


def local_start_of(day: date) -> datetime:
    """Return 00:00 clinic time on `day`, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=clinic_tz())


def _send_at(day: date) -> datetime:
    return datetime.combine(day, REMINDER_SEND_TIME, tzinfo=clinic_tz())


def eligibility_reminder_subscribe(*, screening: Screening, now: datetime) -> list[EligibilityReminder]:
    """Opt the screening's email in to an email when the wait ends, and one 14 days before when that is ahead.

    Safe to call twice. Pending reminders for the same email and treatment about another day are skipped: the
    latest screening knows the date best. Rows the patient unsubscribed from are left as they are.
    """
    eligible_from = screening.eligible_from
    if eligible_from is None:
        raise NoReminderDate()
    today = today_local(now)
    if eligible_from <= today:
        return []
    email = screening.email.lower()
    wanted = [(EligibilityReminder.Kind.ELIGIBLE, eligible_from)]
    if eligible_from - today > timedelta(days=ADVANCE_REMINDER_DAYS):
        wanted.append((EligibilityReminder.Kind.ADVANCE, eligible_from - timedelta(days=ADVANCE_REMINDER_DAYS)))
    reminders = []
    with transaction.atomic():
        for kind, due_on in wanted:
            reminder, _ = EligibilityReminder.objects.get_or_create(
                email=email,
                treatment_id=screening.treatment_id,
                kind=kind,
                due_on=due_on,
                defaults={"screening": screening, "send_at": _send_at(due_on)},
            )
            reminders.append(reminder)
        EligibilityReminder.objects.filter(
            email=email, treatment_id=screening.treatment_id, state=EligibilityReminder.State.PENDING
        ).exclude(pk__in=[r.pk for r in reminders]).update(state=EligibilityReminder.State.SKIPPED)
    return reminders
