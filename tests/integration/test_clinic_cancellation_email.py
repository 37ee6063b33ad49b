"""When the clinic cancels, the patient is told it was the clinic, with an apology and a way to book again; when
reception cancels because the patient asked (by phone, inside the online cut-off), the patient is told plainly, as
when they cancel online."""

import re

import icalendar
import pytest
from django.core import mail
from django.utils import timezone

from booking import services
from booking.models import Appointment

from .test_admin_diary import LIST, THURSDAY, at, booked_online

pytestmark = pytest.mark.django_db


def test_a_clinic_cancellation_apologises_and_invites_the_patient_to_rebook_or_call(
    reception, clock, commits, facial, nurse, settings
):
    settings.CLINIC_PHONE = "020 7946 0999"
    appointment = booked_online(facial, at(THURSDAY, 10))
    mail.outbox.clear()
    with commits(execute=True):
        response = reception.post(
            LIST, {"action": "cancel_by_clinic", "_selected_action": [appointment.pk], "post": "yes"}, follow=True
        )
    assert "1 appointment(s) cancelled by the clinic." in response.content.decode()
    [message] = mail.outbox
    assert message.subject == "We are sorry, we have had to cancel your appointment: Hydrating facial, 5 March"
    assert "we have had to cancel your appointment below" in message.body
    assert "we apologise" in message.body
    assert f"call us on 020 7946 0999 and we will find one that suits you, or book online: {settings.SITE_URL}/" in (
        message.body
    )
    assert "has been cancelled and the time released" not in message.body
    assert "we have had to cancel" in message.alternatives[0][0]
    [(_name, content, _type)] = message.attachments
    assert icalendar.Calendar.from_ical(content).walk("VEVENT")[0]["status"] == "CANCELLED"


def test_a_patients_own_cancellation_still_reads_as_theirs(clock, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 10))
    mail.outbox.clear()
    services.appointment_cancel(appointment=appointment, now=timezone.now())
    services.appointment_emails_dispatch(now=timezone.now())
    [message] = mail.outbox
    assert message.subject == "Your appointment has been cancelled: Hydrating facial, 5 March"
    assert "sorry" not in message.body.lower()


def test_the_diary_offers_a_cancellation_at_the_patients_request_and_one_by_the_clinic(reception, clock, facial, nurse):
    booked_online(facial, at(THURSDAY, 10))
    page = reception.get(LIST).content.decode()
    assert "Cancel selected at the patient&#x27;s request (patients are emailed that it is cancelled)" in page
    assert "Cancel selected: the clinic cancels (patients are emailed an apology)" in page


def test_a_cancellation_the_patient_asked_for_by_phone_reads_as_theirs_not_the_clinics(
    reception, clock, commits, facial, nurse
):
    appointment = booked_online(facial, at(THURSDAY, 10))
    clock.move_to(at(THURSDAY, 8))  # inside the online cut-off: the patient has to phone
    mail.outbox.clear()
    with commits(execute=True):
        response = reception.post(
            LIST, {"action": "cancel_for_patient", "_selected_action": [appointment.pk], "post": "yes"}, follow=True
        )
    assert "1 appointment(s) cancelled at the patient&#x27;s request." in response.content.decode()
    [message] = mail.outbox
    assert message.subject == "Your appointment has been cancelled: Hydrating facial, 5 March"
    assert "has been cancelled and the time released" in message.body
    assert "sorry" not in message.body.lower() and "we have had to cancel" not in message.body
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.status_reason.startswith("Cancelled at the patient's request.")


def test_staff_cancelling_must_say_who_cancels(clock, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 10))
    with pytest.raises(ValueError, match="who cancels"):
        services.appointment_change_status(appointment=appointment, status="cancelled", now=timezone.now())
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED


@pytest.mark.parametrize("action", ["cancel_by_clinic", "cancel_for_patient"])
def test_cancelling_from_the_list_asks_first_naming_whom_it_will_email(
    reception, clock, commits, facial, nurse, action
):
    first, second = booked_online(facial, at(THURSDAY, 10)), booked_online(facial, at(THURSDAY, 11))
    mail.outbox.clear()
    with commits(execute=True):
        asked = reception.post(LIST, {"action": action, "_selected_action": [first.pk, second.pk]})
    page = asked.content.decode()
    assert asked.status_code == 200 and "Cancel 2 appointment(s)?" in page
    assert "A cancellation cannot be undone, and each patient below will be emailed at once" in page
    assert page.count("Alex Morgan: Hydrating facial") == 2
    assert not mail.outbox
    assert set(Appointment.objects.values_list("status", flat=True)) == {Appointment.Status.CONFIRMED}


def test_the_cancel_confirmation_says_whom_it_emails_what_has_passed_and_what_it_leaves_alone(
    reception, clock, commits, facial, nurse
):
    from datetime import date

    done = booked_online(facial, at(THURSDAY, 10))
    unmarked = booked_online(facial, at(THURSDAY, 12))  # passed, its outcome never recorded
    clock.move_to(at(date(2026, 3, 9), 8))
    services.appointment_change_status(appointment=done, status=Appointment.Status.COMPLETED, now=timezone.now())
    ahead = booked_online(facial, at(date(2026, 3, 10), 10))
    selected = {"action": "cancel_by_clinic", "_selected_action": [done.pk, unmarked.pk, ahead.pk]}
    page = reception.post(LIST, selected).content.decode()
    assert "Cancel 2 appointment(s)?" in page and "Yes, cancel 2 and email 1 patient" in page
    assert "These visits have already passed: they will be marked cancelled, and nobody is emailed" in page
    assert "1 other selected appointment (completed, a no-show, declined or cancelled already) cannot be" in page
    mail.outbox.clear()
    posted = [int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', page)]
    assert sorted(posted) == sorted([unmarked.pk, ahead.pk])
    with commits(execute=True):
        reception.post(LIST, {"action": "cancel_by_clinic", "_selected_action": posted, "post": "yes"})
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses[done.pk] == Appointment.Status.COMPLETED
    assert statuses[unmarked.pk] == statuses[ahead.pk] == Appointment.Status.CANCELLED
    assert [m.to for m in mail.outbox] == [[ahead.patient_email]]


def test_a_request_never_confirmed_is_cancelled_without_a_calendar_file_for_an_event_the_patient_never_had(clock, db):
    from ..factories import booked_by_phone, make_practitioner, make_treatment

    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    make_practitioner("Nurse Ben", treatments=[needling])
    held = booked_by_phone(needling, at(THURSDAY, 10))  # held for a clinician: "received", no calendar file
    services.appointment_emails_dispatch(now=timezone.now())
    assert [m.attachments for m in mail.outbox] == [[]]
    mail.outbox.clear()
    services.appointment_change_status(appointment=held, status="cancelled", now=timezone.now(), cancelled_by="clinic")
    services.appointment_emails_dispatch(now=timezone.now())
    [message] = mail.outbox
    assert "cancel" in message.subject and message.attachments == []
