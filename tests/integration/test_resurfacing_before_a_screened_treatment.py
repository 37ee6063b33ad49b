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
from booking.tokens import manage_token

from ..factories import booking_post, make_treatment, signed_in
from .screening_helpers import QUEUE, book, latest_screening, local, make_clinic, screen, token_of
from .test_admin_diary import change_url, edit_form

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
    [held] = [m for m in mail.outbox if "on hold" in m.subject and "Microneedling" in m.subject]
    assert "peel or laser treatment booked shortly before it" in held.body
    assert "date of birth" not in held.body


def test_a_peel_whose_holds_fail_to_be_written_is_not_booked_either(client, clock, clinic, commits, monkeypatch):
    """The database going away after the peel's row but before the hold: the patient is told nothing was booked,
    and nothing was; booking again puts the microneedling on hold."""
    from django.db import OperationalError

    from screening import services as screening_services

    screen(client)
    book(client, commits, local(TUESDAY, 14), token_of(latest_screening()))

    def connection_lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(screening_services, "appointment_hold_for_review", connection_lost)
    response = client.post("/book/mild-chemical-peel/details/", booking_post(slot_value(local(TUESDAY, 10))))
    assert response.status_code == 503 and "Nothing has been booked or changed" in response.content.decode()
    assert not Appointment.objects.filter(treatment__slug="mild-chemical-peel").exists()
    monkeypatch.undo()
    book_peel(client, TUESDAY, 10)
    assert Appointment.objects.get(treatment=clinic).status == Appointment.Status.PENDING_REVIEW


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


def confirmed_three_weeks_after_a_peel(client, commits, clinic):
    book_peel(client, TUESDAY, 10)
    screen(client)
    book(client, commits, local(date(2026, 3, 24), 10), token_of(latest_screening()))
    needling = Appointment.objects.get(treatment=clinic)
    assert needling.status == Appointment.Status.CONFIRMED
    return needling


def test_microneedling_moved_by_the_patient_to_shortly_after_their_peel_is_held(client, clock, clinic, commits):
    needling = confirmed_three_weeks_after_a_peel(client, commits, clinic)
    new_start = local(date(2026, 3, 10), 10)
    with commits(execute=True):
        response = client.post(
            f"/booking/{manage_token(needling.public_id)}/reschedule/", {"start": slot_value(new_start)}
        )
    assert response.status_code == 302
    needling.refresh_from_db()
    assert (needling.start, needling.status) == (new_start, Appointment.Status.PENDING_REVIEW)
    assert needling.status_reason == (
        "Held for a clinician: the patient booked Mild chemical peel on 3 Mar 2026, shortly before its new time."
    )
    services.appointment_emails_dispatch(now=timezone.now())
    [moved] = [m for m in mail.outbox if "moved" in m.subject.lower()]
    assert "peel or laser treatment booked shortly before the new time" in moved.body  # why it is not confirmed


def test_microneedling_moved_by_reception_to_shortly_after_the_patients_peel_is_held_and_staff_are_told(
    client, clock, clinic, commits
):
    needling = confirmed_three_weeks_after_a_peel(client, commits, clinic)
    reception = signed_in(Client(), "Reception")
    form = edit_form(needling, start_0="2026-03-10", start_1="10:00:00")
    response = reception.post(change_url(needling), form, follow=True)
    needling.refresh_from_db()
    assert needling.status == Appointment.Status.PENDING_REVIEW
    assert "The patient has a peel or laser booked shortly before the new time" in response.content.decode()


def test_correcting_the_date_of_birth_of_microneedling_a_clinician_approved_after_a_peel_keeps_it_confirmed(
    client, clock, clinic, commits
):
    book_peel(client, TUESDAY, 10)
    screen(client)
    book(client, commits, local(date(2026, 3, 10), 10), token_of(latest_screening()))
    needling = Appointment.objects.get(treatment=clinic)
    services.appointment_approve(appointment=needling, now=timezone.now(), decided_by="Dr Lee")
    needling.refresh_from_db()
    reception = signed_in(Client(), "Reception")
    reception.post(change_url(needling), edit_form(needling, patient_date_of_birth="1985-07-02"), follow=True)
    needling.refresh_from_db()
    assert needling.status == Appointment.Status.CONFIRMED  # the peel was weighed by the clinician who approved it


def test_an_approved_microneedling_moved_further_from_the_same_peel_stays_confirmed_and_closer_is_held_again(
    client, clock, clinic, commits
):
    book_peel(client, TUESDAY, 10)
    screen(client)
    book(client, commits, local(date(2026, 3, 10), 10), token_of(latest_screening()))  # held for the peel
    needling = Appointment.objects.get(treatment=clinic)
    services.appointment_approve(appointment=needling, now=timezone.now(), decided_by="Dr Lee")  # knowing of it
    token = manage_token(needling.public_id)

    def move_to(day):
        with commits(execute=True):
            client.post(f"/booking/{token}/reschedule/", {"start": slot_value(local(day, 10))})
        needling.refresh_from_db()
        return needling.start, needling.status

    assert move_to(date(2026, 3, 12)) == (local(date(2026, 3, 12), 10), Appointment.Status.CONFIRMED)
    assert move_to(date(2026, 3, 5)) == (local(date(2026, 3, 5), 10), Appointment.Status.PENDING_REVIEW)


def test_a_peel_booked_before_the_confirmation_went_makes_the_hold_the_first_word_not_again(
    client, clock, clinic, commits
):
    screen(client)
    book(client, commits, local(TUESDAY, 14), token_of(latest_screening()))
    mail.outbox.clear()  # in the test, the confirmation was sent at once; make it as if it had not gone yet
    Appointment.objects.get(treatment=clinic).emails.filter(kind="confirmed").update(state="pending", sent_at=None)
    with commits(execute=True):
        book_peel(client, TUESDAY, 10)  # its emails, and the microneedling's, go in the pass it asks for
    [held] = [m for m in mail.outbox if "on hold" in m.subject and "Microneedling" in m.subject]
    assert "A clinician needs to check your booking before it goes ahead" in held.body
    assert not [m for m in mail.outbox if "confirmed" in m.subject.lower() and "Microneedling" in m.subject]
