"""A details form sent twice (Back after booking, then Confirm again; a reload that re-posts) books once."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from booking.forms import slot_value
from booking.models import Appointment

from ..factories import booking_post, make_practitioner

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TEN = datetime.combine(date(2026, 3, 3), time(10), tzinfo=LONDON)
ALREADY = "You have already booked this treatment at this time"


def send(client, commits, **overrides):
    with commits(execute=True):
        return client.post("/book/hydrating-facial/details/", booking_post(slot_value(TEN), **overrides))


def test_the_same_form_sent_again_books_nobody_else_and_says_so(client, clock, nurse, facial, commits):
    make_practitioner("Nurse Sofia", treatments=[facial])  # free at ten too: the repeat used to take her
    assert send(client, commits).status_code == 302
    again = send(client, commits, email="ALEX@example.com")  # the same patient, however they type it
    assert again.status_code == 409 and ALREADY in again.content.decode()
    assert Appointment.objects.count() == 1
    assert len(mail.outbox) == 1  # one confirmation


def test_with_nobody_else_free_the_repeat_is_not_told_the_time_was_taken(client, clock, nurse, commits):
    assert send(client, commits).status_code == 302
    page = send(client, commits).content.decode()
    assert ALREADY in page and "just been taken" not in page
    assert Appointment.objects.count() == 1


def test_a_family_under_one_email_still_books_two_people_into_one_time(client, clock, nurse, facial, commits):
    make_practitioner("Nurse Sofia", treatments=[facial])
    assert send(client, commits, name="Alex Morgan").status_code == 302
    assert send(client, commits, name="Sam Morgan").status_code == 302
    assert Appointment.objects.count() == 2


def test_the_database_itself_refuses_a_second_active_booking_of_one_patient_at_one_time(clock, nurse, facial):
    other = make_practitioner("Nurse Sofia", treatments=[facial])
    details = dict(
        treatment=facial,
        start=TEN,
        patient_name="Alex Morgan",
        patient_phone="07700 900123",
        patient_date_of_birth=date(1990, 5, 17),
    )
    Appointment.objects.create(practitioner=nurse, patient_email="alex@example.com", **details)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(practitioner=other, patient_email="Alex@Example.com", **details)
    # Once the first is cancelled, booking that time again is a new booking.
    Appointment.objects.update(status=Appointment.Status.CANCELLED)
    Appointment.objects.create(practitioner=other, patient_email="alex@example.com", **details)
    assert Appointment.objects.holding_time().count() == 1
