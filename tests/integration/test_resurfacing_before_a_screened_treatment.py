"""A peel (a treatment marked resurfacing) booked shortly before microneedling: the screening asked "a peel in the
last two weeks?", and the patient truthfully said no, because it had not happened yet. Whichever is booked second,
the microneedling is held for a clinician, and a confirmed one is put back on hold with the patient told."""

from datetime import date

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from booking import services
from booking.forms import slot_value
from booking.models import Appointment, Practitioner

from ..factories import booking_post, make_treatment, signed_in
from .screening_helpers import QUEUE, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def clinic(db):
    microneedling = make_clinic()
    peel = make_treatment("mild-chemical-peel", minutes=30, resurfacing=True)
    Practitioner.objects.get().treatments.add(peel)
    return microneedling


def book_peel(client, day, hh=10):
    response = client.post("/book/mild-chemical-peel/details/", booking_post(slot_value(local(day, hh))))
    assert response.status_code == 302
    return Appointment.objects.get(treatment__slug="mild-chemical-peel", start=local(day, hh))


def test_a_peel_booked_the_same_morning_puts_a_confirmed_microneedling_on_hold(client, clock, clinic, commits):
    screen(client)  # "No" to a peel in the last two weeks: true today
    book(client, commits, local(TUESDAY, 14), token_of(latest_screening()))
    needling = Appointment.objects.get(treatment=clinic)
    assert needling.status == Appointment.Status.CONFIRMED
    services.appointment_emails_dispatch(now=timezone.now())
    mail.outbox.clear()
    with commits(execute=True):
        book_peel(client, TUESDAY, 10)
    needling.refresh_from_db()
    assert needling.status == Appointment.Status.PENDING_REVIEW
    assert (
        needling.status_reason
        == "Held for a clinician: the patient booked Mild chemical peel on 3 Mar 2026, shortly before it."
    )
    services.appointment_emails_dispatch(now=timezone.now())
    assert any("on hold" in m.subject and "Microneedling" in m.subject for m in mail.outbox)


def test_microneedling_booked_after_a_peel_within_the_wait_is_held_and_says_why_to_clinicians(
    client, clock, clinic, commits
):
    book_peel(client, TUESDAY, 10)
    screen(client)
    book(client, commits, local(date(2026, 3, 10), 10), token_of(latest_screening()))  # a week later
    needling = Appointment.objects.get(treatment=clinic)
    assert needling.status == Appointment.Status.PENDING_REVIEW
    queue = signed_in(Client(), "Clinician").get(QUEUE).content.decode()
    assert "A peel or laser booked shortly before" in queue


def test_microneedling_three_weeks_after_a_peel_is_confirmed(client, clock, clinic, commits):
    # A guard (it passed before the change too): the hold is only within the resurfacing question's wait.
    book_peel(client, TUESDAY, 10)
    screen(client)
    book(client, commits, local(date(2026, 3, 24), 10), token_of(latest_screening()))
    assert Appointment.objects.get(treatment=clinic).status == Appointment.Status.CONFIRMED
