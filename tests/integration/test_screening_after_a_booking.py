"""A patient who booked on clear answers and then answers again in a way that rules the treatment out (now on
isotretinoin, or a last dose too recent for the booked day) does not keep a confirmed booking: it goes back on hold
for a clinician, the clinic is nudged, and the patient is told on their result page."""

from datetime import date

import pytest
from django.test import Client

from booking.models import Appointment, AppointmentEmail

from .screening_helpers import answers_post, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
ON_ISOTRETINOIN = {"taking_isotretinoin": "yes", "isotretinoin_recently": None}
WAIT_UNTIL_30_MARCH = {"isotretinoin_recently": "yes", "last_dose": "2025-09-30"}


@pytest.fixture
def microneedling(db):
    return make_clinic()


def booked_on_clearanswers_post(client, commits, day):
    screen(client)
    book(client, commits, local(day), token_of(latest_screening()))
    appointment = Appointment.objects.latest("pk")
    assert appointment.status == Appointment.Status.CONFIRMED
    return appointment


def test_answers_that_now_block_put_the_booking_back_on_hold(client, clock, microneedling, commits):
    appointment = booked_on_clearanswers_post(client, commits, date(2026, 3, 10))
    later = Client()  # another day, another device: the same email
    response = later.post("/book/microneedling/screening/", follow=True, data=answers_post(**ON_ISOTRETINOIN))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    assert "isotretinoin" not in appointment.status_reason.lower()  # reception reads it: no health answers
    page = response.content.decode()
    assert "You already have a booking for microneedling" in page and "Tuesday 10 March 2026, 10:00" in page
    assert AppointmentEmail.objects.filter(appointment=appointment, kind="review_due", state="pending").exists()


def test_a_wait_holds_only_the_bookings_before_the_day_it_allows(client, clock, microneedling, commits):
    before = booked_on_clearanswers_post(client, commits, date(2026, 3, 10))
    after = booked_on_clearanswers_post(client, commits, date(2026, 4, 2))
    Client().post("/book/microneedling/screening/", data=answers_post(**WAIT_UNTIL_30_MARCH))
    before.refresh_from_db()
    after.refresh_from_db()
    assert before.status == Appointment.Status.PENDING_REVIEW
    assert after.status == Appointment.Status.CONFIRMED


def test_clear_answers_again_leave_the_booking_confirmed(client, clock, microneedling, commits):
    appointment = booked_on_clearanswers_post(client, commits, date(2026, 3, 10))
    screen(Client())
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED
