"""A clinician reviewing a held booking sees every screening the patient gave for that treatment: a phone booking's
patient's online answers, and answers given after the booking's own screening, marked as such."""

from datetime import date, datetime

import pytest
from auditlog.models import LogEntry

from booking.models import Appointment

from ..factories import booked_by_phone, signed_in
from .screening_helpers import LONDON, QUEUE, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
FRIDAY = date(2026, 3, 6)


def review_page(client, appointment, group):
    client.logout()
    return signed_in(client, group).get(f"{QUEUE}{appointment.pk}/review/").content.decode()


def phone_booking(microneedling, *, email):
    """Reception books microneedling by phone for `email`: held for a clinician, with no screening of its own."""
    appointment = booked_by_phone(microneedling, local(FRIDAY, 11), name="Sam Carter", email=email)
    assert appointment.status == Appointment.Status.PENDING_REVIEW and not hasattr(appointment, "screening")
    return appointment


@pytest.fixture
def blocked_online_then_booked_by_phone(client, clock):
    """Blocked online on Monday (taking isotretinoin); reception then books microneedling for the same email."""
    microneedling = make_clinic()
    screen(client, email="Sam@Example.com", taking_isotretinoin="yes")
    assert latest_screening().outcome == "blocked"
    client.cookies.clear()
    return phone_booking(microneedling, email="sam@example.com")


def test_a_clinician_sees_the_online_screenings_of_a_patient_booked_by_phone_and_the_latest_outcome(
    client, blocked_online_then_booked_by_phone
):
    page = review_page(client, blocked_online_then_booked_by_phone, "Clinician")
    assert "Booked by staff, no health answers yet" in page
    assert "Latest screening from sam@example.com, 2 Mar 2026 08:00: Blocked" in page
    assert "Earlier screenings from sam@example.com" in page and ">Blocked<" in page
    assert "<th></th>" not in page  # every column is named for a screen reader
    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS, actor__username="clinician-user").exists()


def test_reception_sees_no_online_screenings_of_a_patient_booked_by_phone(client, blocked_online_then_booked_by_phone):
    page = review_page(client, blocked_online_then_booked_by_phone, "Reception")
    assert "Booked by staff, no health answers yet" in page
    assert "Blocked" not in page and "Latest screening" not in page and "Earlier screenings" not in page
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_a_clinician_is_told_plainly_when_a_patient_booked_by_phone_has_no_online_screening(client, clock):
    appointment = phone_booking(make_clinic(), email="new@example.com")
    page = review_page(client, appointment, "Clinician")
    assert "No online screening from new@example.com for Microneedling." in page


def test_answers_given_after_the_booking_are_listed_as_later_not_as_earlier(client, clock, commits):
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose_unsure="on")
    book(client, commits, local(FRIDAY), token=token_of(latest_screening()))
    appointment = Appointment.objects.get()
    clock.move_to(datetime(2026, 3, 3, 9, tzinfo=LONDON))
    client.cookies.clear()
    screen(client, taking_isotretinoin="yes")  # answered again the next day: now on isotretinoin
    page = review_page(client, appointment, "Clinician")
    assert "Latest screening from alex@example.com, 3 Mar 2026 09:00: Blocked" in page
    later = page.index("Answers given since this booking")
    assert page.index(">Blocked<") > later
    assert "Earlier screenings from alex@example.com" not in page[: page.index(">Blocked<")]
