"""The clinic's "still awaiting review" email follows a held booking when it moves, as the patient's reminder does."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking import services
from booking.models import Appointment, AppointmentEmail

from ..factories import patient

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
