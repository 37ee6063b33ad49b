"""Reception correct a patient's email address: the booking, its manage link and calendar file go to the new one."""

import re
import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from booking import services
from booking.models import Appointment, AppointmentEmail

from ..factories import patient
from .test_admin_diary import THURSDAY, at, booked_online, change_url, edit_form

pytestmark = pytest.mark.django_db
Kind = AppointmentEmail.Kind
LIST = "/admin/booking/appointment/"


def test_correcting_the_email_sends_the_confirmation_with_its_link_to_the_new_address(
    reception, client, clock, commits, facial, nurse
):
    appointment = booked_online(facial, at(THURSDAY, 10), email="alex@exmaple.com")  # mistyped on the phone
    mail.outbox.clear()
    with commits(execute=True):
        response = reception.post(change_url(appointment), edit_form(appointment, patient_email="alex@example.com"))
    assert response.status_code == 302
    assert (
        "The booking will be emailed again, to alex@example.com."
        in reception.get(response["Location"]).content.decode()
    )
    [message] = mail.outbox
    assert message.to == ["alex@example.com"]
    assert message.subject == "Your appointment is confirmed: Hydrating facial, 5 March at 10:00"
    assert [name for name, _content, _type in message.attachments] == ["appointment.ics"]
    # Sent again, and says so: not "booked", which reads like a second booking.
    assert "We are sending you your booking again, to this address, as it stands now" in message.body
    assert "Your appointment is booked" not in message.body
    manage = re.search(r"https?://[^/\s]+(/booking/[^/\s]+/)", message.body)[1]
    client.logout()
    assert "Move to another time" in client.get(manage).content.decode()
    # The reminder, still to come, goes to the new address too.
    reminder = appointment.emails.get(kind=Kind.REMINDER)
    clock.move_to(reminder.due_at)
    services.appointment_emails_dispatch(now=timezone.now())
    assert mail.outbox[-1].subject.startswith("Reminder") and mail.outbox[-1].to == ["alex@example.com"]


def test_editing_anything_else_or_a_closed_booking_sends_nothing(reception, clock, commits, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 10))
    mail.outbox.clear()
    with commits(execute=True):
        reception.post(change_url(appointment), edit_form(appointment, patient_phone="07700 900999"))
    assert mail.outbox == []
    services.appointment_change_status(
        appointment=appointment, status="cancelled", now=timezone.now(), cancelled_by="clinic"
    )
    appointment.refresh_from_db()
    mail.outbox.clear()
    with commits(execute=True):
        response = reception.post(change_url(appointment), edit_form(appointment, patient_email="sam@example.com"))
    assert response.status_code == 302 and mail.outbox == []


def test_staff_can_resend_the_confirmation_from_the_list(reception, clock, commits, facial, nurse):
    kept = booked_online(facial, at(THURSDAY, 10))
    gone = booked_online(facial, at(THURSDAY, 14), email="sam@example.com")
    services.appointment_change_status(appointment=gone, status="cancelled", now=timezone.now(), cancelled_by="clinic")
    services.appointment_emails_dispatch(now=timezone.now())  # the cancellation
    mail.outbox.clear()
    with commits(execute=True):
        response = reception.post(
            LIST, {"action": "resend_confirmation", "_selected_action": [kept.pk, gone.pk]}, follow=True
        )
    page = response.content.decode()
    assert "1 patient(s) will be emailed their booking again." in page
    assert "This booking is cancelled: there is nothing to confirm." in page
    [message] = mail.outbox
    assert message.to == ["alex@example.com"] and message.subject.startswith("Your appointment is confirmed")
    assert kept.emails.get(kind=Kind.CONFIRMED).state == "sent"
    assert Appointment.objects.get(pk=gone.pk).status == "cancelled"


def shown(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_correcting_the_email_while_moving_the_booking_sends_the_new_address_the_booking_as_it_stands(
    reception, clock, commits, facial, nurse
):
    appointment = booked_online(facial, at(THURSDAY, 10), email="alex@exmaple.com")
    with commits(execute=True):
        response = reception.post(
            change_url(appointment),
            edit_form(appointment, patient_email="alex@example.com", start_0="2026-03-06", start_1="14:00:00"),
            follow=True,
        )
    assert "The booking will be emailed again, to alex@example.com." in shown(response)
    # The new address never heard of Thursday: no "moved from Thursday", the confirmation of Friday.
    assert [(message.to, message.subject) for message in mail.outbox] == [
        (["alex@example.com"], "Your appointment is confirmed: Hydrating facial, 6 March at 14:00")
    ]


def test_correcting_only_the_case_of_the_email_sends_nothing_again(reception, clock, commits, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 10), email="alex@example.com")
    with commits(execute=True):
        response = reception.post(change_url(appointment), edit_form(appointment, patient_email="Alex@Example.com"))
        page = reception.get(response["Location"]).content.decode()
    assert "emailed again" not in page
    services.appointment_emails_dispatch(now=timezone.now())
    assert mail.outbox == []
    appointment.refresh_from_db()
    assert appointment.patient_email == "Alex@Example.com"  # kept as staff typed it


def test_correcting_an_address_the_mail_server_refused_sends_the_confirmation_at_once(
    reception, clock, commits, facial, nurse, settings
):
    appointment = services.appointment_book(
        treatment=facial, start=at(THURSDAY, 10), patient=patient(email="alex@exmaple.com"), now=timezone.now()
    )
    refused = smtplib.SMTPRecipientsRefused({"alex@exmaple.com": (550, b"no such user")})
    with mock.patch("booking.emails.send_templated_email", side_effect=refused):
        for _ in range(3):
            services.appointment_emails_dispatch(now=timezone.now())
            clock.shift(timedelta(minutes=3))
    confirmation = appointment.emails.get(kind=Kind.CONFIRMED)
    assert confirmation.attempts == 3 and confirmation.due_at > timezone.now()  # backing off

    with commits(execute=True):
        reception.post(change_url(appointment), edit_form(appointment, patient_email="alex@example.com"))
    [message] = mail.outbox  # now, not when the old address's backoff ends
    assert message.to == ["alex@example.com"]
    assert message.subject == "Your appointment is confirmed: Hydrating facial, 5 March at 10:00"
    confirmation.refresh_from_db()
    assert (confirmation.state, confirmation.attempts, confirmation.last_error) == ("sent", 1, "")
