"""A mail server away for longer than the retries: staff see what went to nobody on the admin's home page, and try
it again once the server is back, instead of the patients never hearing."""

from datetime import date

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from booking import services
from booking.models import AppointmentEmail
from screening import reminders
from screening.models import EligibilityReminder

from ..factories import signed_in
from .test_admin_diary import THURSDAY, at, booked_online

pytestmark = pytest.mark.django_db
OUTBOX = "/admin/booking/appointmentemail/"


def given_up(appointment) -> AppointmentEmail:
    """The confirmation, after every try failed."""
    appointment.emails.filter(kind=AppointmentEmail.Kind.CONFIRMED).update(
        state=AppointmentEmail.State.FAILED, attempts=10, last_error="ConnectionRefusedError"
    )
    return appointment.emails.get(kind=AppointmentEmail.Kind.CONFIRMED)


def test_reception_sees_emails_that_went_to_nobody_and_tries_them_again(reception, clock, facial, nurse, commits):
    appointment = booked_online(facial, at(THURSDAY, 10))
    assert "Emails that could not be sent" not in reception.get("/admin/").content.decode()
    failed = given_up(appointment)
    home = reception.get("/admin/").content.decode()
    assert "1 email about visits still ahead could not be sent" in home
    assert f"{OUTBOX}?state__exact=failed" in home

    with commits(execute=True):
        response = reception.post(OUTBOX, {"action": "try_again", "_selected_action": [failed.pk]}, follow=True)
    assert "1 email(s) will be tried again now." in response.content.decode()
    services.appointment_emails_dispatch(now=timezone.now())
    failed.refresh_from_db()
    assert failed.state == AppointmentEmail.State.SENT and failed.attempts == 1
    assert [m.to for m in mail.outbox] == [[appointment.patient_email]]
    assert "Emails that could not be sent" not in reception.get("/admin/").content.decode()


def test_a_failed_email_about_a_visit_now_past_is_neither_counted_nor_sent_again(reception, clock, facial, nurse):
    failed = given_up(booked_online(facial, at(THURSDAY, 10)))
    clock.move_to(at(date(2026, 3, 6), 9))
    assert "Emails that could not be sent" not in reception.get("/admin/").content.decode()
    listed = reception.get(OUTBOX, {"state__exact": "failed", "visit": "ahead"}).content.decode()
    assert f"{OUTBOX}{failed.pk}/change/" not in listed
    assert f"{OUTBOX}{failed.pk}/change/" in reception.get(OUTBOX, {"visit": "past"}).content.decode()
    response = reception.post(OUTBOX, {"action": "try_again", "_selected_action": [failed.pk]}, follow=True)
    assert "1 failed email(s) about visits already past were left as they are." in response.content.decode()
    services.appointment_emails_dispatch(now=timezone.now())
    assert not mail.outbox  # no "confirmed for Thursday" on Friday
    failed.refresh_from_db()
    assert failed.state == AppointmentEmail.State.FAILED


def test_an_email_to_the_clinic_is_not_counted_as_a_patient_who_may_not_know(reception, clock, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 10))
    services.appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.REVIEW_DUE, now=timezone.now())
    appointment.emails.filter(kind=AppointmentEmail.Kind.REVIEW_DUE).update(state=AppointmentEmail.State.FAILED)
    assert "Emails that could not be sent" not in reception.get("/admin/").content.decode()


def test_a_patient_who_unsubscribed_is_not_reached_by_trying_a_failed_reminder_again(clock, facial):
    def reminder(kind, state):
        return EligibilityReminder.objects.create(
            email="sam@example.com",
            treatment=facial,
            kind=kind,
            due_on=date(2026, 3, 3),
            send_at=timezone.now(),
            state=state,
        )

    advance = reminder("advance", EligibilityReminder.State.SENT)
    reminder("eligible", EligibilityReminder.State.FAILED)
    reminders.eligibility_reminder_unsubscribe(reminder=advance, now=timezone.now())  # from the advance email's link
    assert reminders.eligibility_reminders_retry(reminders=EligibilityReminder.objects.all(), now=timezone.now()) == 0
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 0


def test_a_clinician_tries_failed_eligibility_reminders_again(clock, facial):
    reminder = EligibilityReminder.objects.create(
        email="sam@example.com",
        treatment=facial,
        kind="eligible",
        due_on=date(2026, 3, 3),
        send_at=timezone.now(),
        state=EligibilityReminder.State.FAILED,
        attempts=10,
    )
    clinician = signed_in(Client(), "Clinician")
    assert "1 eligibility reminder could not be sent." in clinician.get("/admin/").content.decode()
    reception = signed_in(Client(), "Reception")
    assert "eligibility reminder" not in reception.get("/admin/").content.decode()  # not theirs to see
    clinician.post("/admin/screening/eligibilityreminder/", {"action": "try_again", "_selected_action": [reminder.pk]})
    reminder.refresh_from_db()
    assert (reminder.state, reminder.attempts) == (EligibilityReminder.State.PENDING, 0)
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 1
