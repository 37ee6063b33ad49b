"""The clinic's "still awaiting review" email follows a held booking when it moves, as the patient's reminder does."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from booking import services
from booking.models import Appointment, AppointmentEmail

from ..factories import booked_by_phone, make_practitioner, patient
from .screening_helpers import book_held_for_review, make_microneedling

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def local(day, hh):
    return datetime.combine(day, time(hh), tzinfo=LONDON)


def pending_nudges():
    return list(
        AppointmentEmail.objects.filter(kind=AppointmentEmail.Kind.REVIEW_DUE, state="pending").values_list(
            "appointment_start", "due_at"
        )
    )


def test_a_held_booking_moved_sooner_nudges_the_clinic_in_time_for_the_new_time(clock, nurse, facial):
    now = datetime.now(LONDON)  # Monday 2 March, 08:00
    held = services.appointment_book(
        treatment=facial,
        start=local(date(2026, 3, 6), 10),
        patient=patient(),
        now=now,
        status=Appointment.Status.PENDING_REVIEW,
    )
    assert pending_nudges() == [(held.start, held.start - timedelta(hours=24))]

    moved = services.appointment_reschedule(appointment=held, new_start=local(date(2026, 3, 4), 9), now=now)
    # The old nudge (Thursday 10:00) would have come after the new time had passed.
    assert pending_nudges() == [(moved.start, moved.start - timedelta(hours=24))]

    services.appointment_reschedule(appointment=moved, new_start=local(date(2026, 3, 6), 10), now=now)
    assert pending_nudges() == [(held.start, held.start - timedelta(hours=24))]  # back again: its row re-armed


def moved_email_after(move) -> str:
    mail.outbox.clear()
    move()
    services.appointment_emails_dispatch(now=timezone.now())
    [message] = mail.outbox
    assert message.subject.startswith("Your appointment has moved")
    return message.body


def test_a_held_phone_booking_moved_says_a_clinician_must_confirm_it_not_look_at_answers(clock):
    microneedling = make_microneedling()
    ben = make_practitioner("Nurse Ben", treatments=[microneedling])
    held = booked_by_phone(microneedling, local(date(2026, 3, 6), 10), practitioner=ben)
    services.appointment_emails_dispatch(now=timezone.now())
    clock.shift(timedelta(minutes=5))
    body = moved_email_after(
        lambda: services.appointment_staff_move(
            appointment=held, start=local(date(2026, 3, 9), 11), practitioner=ben, now=timezone.now()
        )
    )
    assert "A clinician still has to confirm it; we will email you when they have." in body
    assert "answers" not in body


def test_a_held_online_booking_moved_still_says_a_clinician_will_look_at_the_answers(client, clock, commits):
    held = book_held_for_review(client, commits, date(2026, 3, 6))
    clock.shift(timedelta(minutes=5))
    body = moved_email_after(
        lambda: services.appointment_reschedule(
            appointment=held, new_start=local(date(2026, 3, 9), 11), now=timezone.now()
        )
    )
    assert "A clinician still has to look at your answers before it is confirmed" in body
