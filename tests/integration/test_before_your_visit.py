"""A treatment's "before the visit" advice (no retinoids for three days, clean skin on the day) reaches a patient who
is to come: in the confirmation, a clinician's approval, a move and the reminder, and on the page that says they
are booked; never in an email about a visit that is not going ahead, nor while a clinician has yet to confirm it."""

from datetime import date, datetime, time

import pytest
from django.core import mail
from django.utils import timezone

from booking import services
from booking.forms import slot_value
from booking.models import Appointment

from ..factories import booked_by_phone, booking_post, make_practitioner, make_treatment
from .test_reminders_appointment import LONDON, a_day_before, dispatch  # noqa: F401 - a_day_before is a fixture

pytestmark = pytest.mark.django_db
ADVICE = "For three days before, please stop retinoids.\nOn the day, come with clean skin & no make-up."
WEDNESDAY = date(2026, 3, 4)  # the clock fixture stands at Monday 2 March 2026, 08:00


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


@pytest.fixture
def peel(db):
    peel = make_treatment("mild-peel", minutes=30, before_your_visit=ADVICE)
    make_practitioner("Nurse Ben", treatments=[peel])
    return peel


def sent(subject_starts: str):
    [message] = [m for m in mail.outbox if m.subject.startswith(subject_starts)]
    return message.body, message.alternatives[0][0]


def test_the_confirmation_and_the_booked_page_carry_the_advice(client, clock, peel, commits):
    with commits(execute=True):
        response = client.post("/book/mild-peel/details/", booking_post(slot_value(at(WEDNESDAY, 10))))
    page = client.get(response["Location"]).content.decode()
    assert "Before your visit" in page and "come with clean skin &amp; no make-up." in page

    text, html = sent("Your appointment is confirmed")
    assert (
        "Before your visit:\nFor three days before, please stop retinoids.\nOn the day, come with clean skin & no"
        in text
    )
    assert "please stop retinoids.<br>On the day, come with clean skin &amp; no make-up." in html
    # Booked for tomorrow, or reminded two days ahead of "three days before": what to do if it is too late.
    for body in (page, text, html):
        assert "If there is not time for any of this before your visit, please call us first." in body


def test_the_reminder_and_a_move_carry_it_and_a_cancellation_does_not(clock, peel, a_day_before):  # noqa: F811
    appointment = booked_by_phone(peel, at(WEDNESDAY, 10))
    dispatch()
    services.appointment_staff_move(
        appointment=appointment, practitioner=appointment.practitioner, start=at(WEDNESDAY, 11), now=timezone.now()
    )
    dispatch()
    assert "Before your visit:" in sent("Your appointment has moved")[0]
    clock.move_to(at(date(2026, 3, 3), 11))
    dispatch()
    assert "Before your visit:" in sent("Reminder")[0]

    services.appointment_change_status(
        appointment=Appointment.objects.get(), status="cancelled", now=timezone.now(), cancelled_by="clinic"
    )
    dispatch()
    [cancelled] = [m for m in mail.outbox if "cancel" in m.subject.lower()]
    assert "Before your visit" not in cancelled.body


def test_a_booking_a_clinician_has_yet_to_confirm_is_not_told_how_to_prepare(clock, db):
    needling = make_treatment("microneedling", minutes=60, requires_screening=True, before_your_visit=ADVICE)
    make_practitioner("Nurse Ben", treatments=[needling])
    booked_by_phone(needling, at(WEDNESDAY, 10))  # held for a clinician: no answers behind a phone booking
    dispatch()
    assert mail.outbox and all("Before your visit" not in m.body for m in mail.outbox)


def test_a_treatment_without_advice_says_nothing_of_it(client, clock, facial, nurse, commits):
    with commits(execute=True):
        response = client.post("/book/hydrating-facial/details/", booking_post(slot_value(at(WEDNESDAY, 10))))
    assert "Before your visit" not in client.get(response["Location"]).content.decode()
    assert "Before your visit" not in sent("Your appointment is confirmed")[0]


def test_advice_the_box_lets_through_is_saved_with_its_line_breaks_counted_once(client, db):
    from django.contrib.auth.models import User

    from booking.models import Treatment

    peel = make_treatment("mild-peel", minutes=30)
    client.force_login(User.objects.create_superuser("lead", password="x"))
    advice = "\r\n".join(["x" * 99] * 10)  # 999 characters as the box counts them, 1,008 as posted
    data = {
        "name": "Mild peel",
        "slug": "mild-peel",
        "duration_minutes": "30",
        "buffer_after_minutes": "0",
        "price": "80.00",
        "display_order": "0",
        "active": "on",
        "before_your_visit": advice,
    }
    response = client.post(f"/admin/booking/treatment/{peel.pk}/change/", data)
    assert response.status_code == 302
    assert Treatment.objects.get().before_your_visit == advice.replace("\r\n", "\n")
