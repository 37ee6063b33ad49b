"""The bookings availability reads, as whole microseconds from the database, are the bookings' own times exactly."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking import selectors
from booking.availability import instant
from booking.models import Appointment

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def booked(treatment, practitioner, start, status=Appointment.Status.CONFIRMED):
    return Appointment.objects.create(
        treatment=treatment,
        practitioner=practitioner,
        start=start,
        status=status,
        patient_name="Sam Lee",
        patient_email="sam@example.com",
        patient_phone="07700 900123",
        patient_date_of_birth=date(1985, 6, 1),
    )


def test_a_bookings_span_is_its_start_and_busy_until_to_the_microsecond(facial, nurse):
    # Off the times grid and in summer time: nothing a rounding or a time zone could hide.
    appointment = booked(facial, nurse, datetime(2026, 7, 7, 10, 3, 1, 123457, tzinfo=LONDON))
    around = (appointment.start - timedelta(hours=2), appointment.start + timedelta(hours=2))
    assert selectors._booked_spans_us(*around, None) == [
        (nurse.pk, instant(appointment.start), instant(appointment.busy_until))
    ]
    assert selectors._booked_spans_us(*around, appointment.pk) == []  # the booking being moved


def test_only_bookings_that_hold_time_and_meet_the_range_are_read(facial, nurse):
    ten = datetime(2026, 3, 3, 10, tzinfo=LONDON)
    held = booked(facial, nurse, ten)
    booked(facial, nurse, ten + timedelta(hours=2), status=Appointment.Status.CANCELLED)
    booked(facial, nurse, ten + timedelta(days=1))
    spans = selectors._booked_spans_us(ten - timedelta(hours=1), ten + timedelta(hours=4), None)
    assert spans == [(nurse.pk, instant(held.start), instant(held.busy_until))]
