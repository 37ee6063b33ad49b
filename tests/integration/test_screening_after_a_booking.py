"""A patient who booked on clear answers and then answers again in a way that rules the treatment out (now on
isotretinoin, a last dose too recent for the booked day, or answers a clinician must check) does not keep a
confirmed booking: it goes back on hold for a clinician and the clinic is nudged. The result page says so in general
words only: anyone can type any email, so it never shows whose booking, or when."""

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


def booked_on_clear_answers(client, commits, day):
    screen(client)
    book(client, commits, local(day), token_of(latest_screening()))
    appointment = Appointment.objects.latest("pk")
    assert appointment.status == Appointment.Status.CONFIRMED
    return appointment


def test_answers_that_now_block_put_the_booking_back_on_hold(client, clock, microneedling, commits):
    appointment = booked_on_clear_answers(client, commits, date(2026, 3, 10))
    later = Client()  # another day, another device: the same email
    response = later.post("/book/microneedling/screening/", follow=True, data=answers_post(**ON_ISOTRETINOIN))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    assert "isotretinoin" not in appointment.status_reason.lower()  # reception reads it: no health answers
    assert appointment.status_reason.endswith("answered the health questions again on 2 Mar 2026.")  # as admin dates
    page = response.content.decode()
    assert "Already booked microneedling with us? A clinician will look at that booking" in page
    assert "10 March" not in page  # whoever typed the email learns nothing of the booking
    assert AppointmentEmail.objects.filter(appointment=appointment, kind="review_due", state="pending").exists()


def test_a_wait_holds_only_the_bookings_before_the_day_it_allows(client, clock, microneedling, commits):
    before = booked_on_clear_answers(client, commits, date(2026, 3, 10))
    after = booked_on_clear_answers(client, commits, date(2026, 4, 2))
    Client().post("/book/microneedling/screening/", data=answers_post(**WAIT_UNTIL_30_MARCH))
    before.refresh_from_db()
    after.refresh_from_db()
    assert before.status == Appointment.Status.PENDING_REVIEW
    assert after.status == Appointment.Status.CONFIRMED


def test_clear_answers_again_leave_the_booking_confirmed(client, clock, microneedling, commits):
    appointment = booked_on_clear_answers(client, commits, date(2026, 3, 10))
    screen(Client())
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED


def test_answers_a_clinician_must_check_hold_the_booking_too(client, clock, microneedling, commits):
    appointment = booked_on_clear_answers(client, commits, date(2026, 3, 10))
    Client().post("/book/microneedling/screening/", data=answers_post(q_keloid="yes"))  # flags for review
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.PENDING_REVIEW


def test_sending_the_booking_form_again_says_it_is_booked_not_that_the_answers_expired(
    client, clock, microneedling, commits
):
    screen(client)
    token = token_of(latest_screening())
    book(client, commits, local(date(2026, 3, 10)), token)
    again = book(client, commits, local(date(2026, 3, 10)), token)
    page = client.get(again["Location"]).content.decode()
    assert "You have already booked microneedling with these answers" in page and "expired" not in page
    assert Appointment.objects.count() == 1


def test_declining_a_booking_held_again_takes_it_out_of_the_patients_calendar(client, clock, microneedling, commits):
    import icalendar
    from django.core import mail
    from django.utils import timezone

    from booking import services as booking_services

    appointment = booked_on_clear_answers(client, commits, date(2026, 3, 10))
    Client().post("/book/microneedling/screening/", data=answers_post(**ON_ISOTRETINOIN))
    mail.outbox.clear()
    with commits(execute=True):
        booking_services.appointment_decline(appointment=appointment, reason="On isotretinoin", now=timezone.now())
    [declined] = [m for m in mail.outbox if m.to == ["alex@example.com"]]
    assert "will not go ahead" in declined.body
    assert declined.subject.startswith("About your booking: ")  # confirmed once: a booking, not a request
    assert "Thank you for wanting to book" not in declined.body and "looking at your booking again" in declined.body
    [event] = icalendar.Calendar.from_ical(declined.attachments[0][1]).walk("VEVENT")
    assert event["status"] == "CANCELLED"
