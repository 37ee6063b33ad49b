"""When the clinic cancels, the patient is told it was the clinic, with an apology and a way to book again."""

import icalendar
import pytest
from django.core import mail
from django.utils import timezone

from booking import services

from .test_admin_diary import LIST, THURSDAY, at, booked_online

pytestmark = pytest.mark.django_db


def test_a_clinic_cancellation_apologises_and_invites_the_patient_to_rebook_or_call(
    reception, clock, commits, facial, nurse, settings
):
    settings.CLINIC_PHONE = "020 7946 0999"
    appointment = booked_online(facial, at(THURSDAY, 10))
    mail.outbox.clear()
    with commits(execute=True):
        response = reception.post(LIST, {"action": "mark_cancelled", "_selected_action": [appointment.pk]}, follow=True)
    assert "1 appointment(s) cancelled." in response.content.decode()
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
