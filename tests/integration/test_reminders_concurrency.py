"""Two dispatchers (two beats, or a beat and an operator) running at once still send each due email once."""

import threading
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from booking import services as booking_services
from booking.models import AppointmentEmail
from screening import reminders
from screening.models import EligibilityReminder, Screening
from screening.services import eligibility_reminder_subscribe

from ..factories import make_practitioner, make_treatment, patient
from ..races import at_once

LONDON = ZoneInfo("Europe/London")
THURSDAY = date(2026, 3, 5)
HOURS = range(9, 17)

_lock = threading.Lock()
_sent: list[tuple[str, str, str]] = []
_rendezvous = threading.Barrier(2)


class RendezvousBackend(BaseEmailBackend):
    """Records who sent what; each dispatcher's first send waits for the other's, so both hold a row at once."""

    def send_messages(self, email_messages):
        thread = threading.current_thread().name
        with _lock:
            first = not any(sender == thread for sender, _, _ in _sent)
        if first:
            _rendezvous.wait(timeout=10)
        with _lock:
            _sent.extend((thread, message.to[0], message.subject) for message in email_messages)
        return len(email_messages)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_due_reminder_exactly_once(clock, settings):
    facial = make_treatment("hydrating-facial", minutes=45, buffer=15)
    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    make_practitioner("Nurse Ben", treatments=[facial])
    make_practitioner("Nurse Ada", treatments=[facial])
    for n, hour in enumerate([*HOURS, *HOURS]):
        booking_services.appointment_book(
            treatment=facial, start=at(THURSDAY, hour), patient=patient(email=f"p{n}@example.com"), now=clock_now()
        )
    for n in range(10):
        screening = Screening.objects.create(
            treatment=needling,
            email=f"w{n}@example.com",
            answers={},
            outcome=Screening.Outcome.WAIT,
            eligible_from=date(2026, 3, 4),
            rules_version=1,
            created_at=clock_now(),
            expires_at=clock_now() + timedelta(hours=2),
        )
        eligibility_reminder_subscribe(screening=screening, now=clock_now())
    # Only the reminders are in the race (the confirmations went out at booking).
    AppointmentEmail.objects.exclude(kind=AppointmentEmail.Kind.REMINDER).delete()
    settings.EMAIL_BACKEND = f"{__name__}.RendezvousBackend"
    _sent.clear()
    _rendezvous.reset()

    now = at(date(2026, 3, 4), 16, 30)  # every reminder for Thursday is due, and every eligibility email

    def dispatcher(beat):
        return booking_services.appointment_emails_dispatch(now=now) + reminders.eligibility_reminders_dispatch(now=now)

    beats = ("beat-1", "beat-2")
    counts = dict(zip(beats, at_once(dispatcher, beats), strict=True))

    recipients = Counter(recipient for _, recipient, _ in _sent)
    assert len(recipients) == 26 and set(recipients.values()) == {1}
    assert counts["beat-1"]["sent"] + counts["beat-2"]["sent"] == 26
    # Both really dispatched at the same time (neither found the work already done).
    assert counts["beat-1"]["sent"] > 0 and counts["beat-2"]["sent"] > 0
    reminders_rows = AppointmentEmail.objects.filter(kind=AppointmentEmail.Kind.REMINDER)
    assert set(reminders_rows.values_list("state", "attempts")) == {("sent", 1)}
    assert set(EligibilityReminder.objects.values_list("state", "attempts")) == {("sent", 1)}


def clock_now() -> datetime:
    return datetime.now(LONDON)
