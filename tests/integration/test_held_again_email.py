"""A patient whose confirmed booking goes back on hold for a clinician (answers given again under their email, the
clinic's rules changed, a date of birth corrected) is emailed that it awaits a clinician, in words that name no
health answer; a stranger who typed their email is found out this way too. One email, not two: a move that held it
says so in its own email, and an address staff corrected gets the booking as it stands."""

from datetime import date, datetime

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from booking import services
from booking.models import Appointment, AppointmentEmail, Treatment
from screening.models import ScreeningPolicy
from screening.services import screened_bookings_follow_policy

from ..factories import booked_by_phone, signed_in
from .screening_helpers import LONDON, answers_post, book, latest_screening, local, make_clinic, screen, token_of
from .test_admin_diary import change_url, edit_form

pytestmark = pytest.mark.django_db
ON_ISOTRETINOIN = {"taking_isotretinoin": "yes", "isotretinoin_recently": None}


def booked_and_told(client, commits, day, **details):
    """A confirmed microneedling booking at 10:00 on `day`, its confirmation sent and the outbox emptied."""
    make_clinic()
    screen(client)
    book(client, commits, local(day), token_of(latest_screening()), **details)
    booked = Appointment.objects.get()
    assert booked.status == Appointment.Status.CONFIRMED
    services.appointment_emails_dispatch(now=timezone.now())
    mail.outbox.clear()
    return booked


def answer_again_on_another_device(**answers):
    Client().post("/book/microneedling/screening/", data=answers_post(**answers))


def sent():
    services.appointment_emails_dispatch(now=timezone.now())
    return [m for m in mail.outbox if m.to == ["alex@example.com"]]


def test_answers_given_again_that_rule_the_booking_out_email_the_patient_that_it_is_on_hold(client, clock, commits):
    booked_and_told(client, commits, date(2026, 3, 10))
    answer_again_on_another_device(**ON_ISOTRETINOIN)
    [held] = sent()
    assert held.subject == "Your appointment is on hold for a clinician's check: Microneedling, 10 March at 10:00"
    assert "Tuesday 10 March 2026, 10:00" in held.body and "Your time is still held for you" in held.body
    assert "If you have not answered the health questions again recently, please call us" in held.body
    assert "isotretinoin" not in held.body.lower()  # the address may be mistyped: no health answers in an email


def test_a_booking_approved_before_the_email_went_is_not_said_to_be_on_hold(client, clock, commits):
    booked = booked_and_told(client, commits, date(2026, 3, 10))
    answer_again_on_another_device(q_keloid="yes")  # a clinician must look
    booked.refresh_from_db()
    services.appointment_approve(appointment=booked, now=timezone.now())
    subjects = [m.subject for m in sent()]
    assert subjects == ["Your appointment is confirmed: Microneedling, 10 March at 10:00"]


def test_a_booking_held_again_after_an_approval_is_told_again(client, clock, commits):
    booked = booked_and_told(client, commits, date(2026, 3, 10))
    answer_again_on_another_device(q_keloid="yes")
    assert len(sent()) == 1
    booked.refresh_from_db()
    services.appointment_approve(appointment=booked, now=timezone.now())
    sent()
    mail.outbox.clear()
    clock.shift(3600)
    answer_again_on_another_device(**ON_ISOTRETINOIN)
    assert ["on hold" in m.subject for m in sent()] == [True]


def test_a_staff_move_that_holds_the_booking_sends_only_the_moved_email(client, clock, commits):
    # 18 on Thursday 5 March 2026: confirmed on the 6th, held when reception moves it to the 4th.
    booked = booked_and_told(client, commits, date(2026, 3, 6), date_of_birth="2008-03-05")
    reception = signed_in(Client(), "Reception")
    reception.post(change_url(booked), edit_form(booked, start_0="2026-03-04", start_1="10:00:00"))
    [moved] = sent()
    assert "moved" in moved.subject
    assert "A clinician has to check your booking before it is confirmed" in moved.body


def test_a_corrected_date_of_birth_emails_the_patient_and_tells_reception_so(client, clock, commits):
    make_clinic()
    booked = booked_by_phone(Treatment.objects.get(slug="microneedling"), local(date(2026, 3, 10)))
    services.appointment_approve(appointment=booked, now=timezone.now())
    sent()
    mail.outbox.clear()
    booked.refresh_from_db()
    response = signed_in(Client(), "Reception").post(
        change_url(booked), edit_form(booked, patient_date_of_birth="2012-01-01"), follow=True
    )
    assert "The patient is emailed that it awaits a clinician." in response.content.decode()
    services.appointment_emails_dispatch(now=timezone.now())
    [held] = [m for m in mail.outbox if m.to == [booked.patient_email]]
    assert "on hold" in held.subject and "your date of birth needs a check" in held.body
    assert "If you have not answered the health questions again recently" not in held.body
    # Nothing in the answers stops a move: the link offers one, as the page behind it does.
    assert "To see, move or cancel your booking (online until" in held.body
    assert "See, move or cancel your booking</a>" in held.alternatives[0][0]


def test_a_corrected_address_and_date_of_birth_get_one_email_at_the_new_address(client, clock, commits):
    booked = booked_and_told(client, commits, date(2026, 3, 10))
    reception = signed_in(Client(), "Reception")
    reception.post(
        change_url(booked),
        edit_form(booked, patient_email="alex.new@example.com", patient_date_of_birth="2012-01-01"),
    )
    services.appointment_emails_dispatch(now=timezone.now())
    to_patient = [m for m in mail.outbox if m.to != [settings.CLINIC_REVIEW_EMAIL]]
    assert [m.to for m in to_patient] == [["alex.new@example.com"]]
    assert "awaiting review" in to_patient[0].subject or "received" in to_patient[0].subject
    assert AppointmentEmail.objects.filter(kind="held", state="skipped").count() == 1


def test_a_move_away_and_back_still_waiting_to_go_does_not_silence_the_held_email(client, clock, commits):
    booked = booked_and_told(client, commits, date(2026, 3, 10))
    nurse = booked.practitioner
    for hour in (11, 10):  # a mis-click and its undo, before the outbox ran: nothing new to tell
        services.appointment_staff_move(
            appointment=booked, start=local(date(2026, 3, 10), hour), practitioner=nurse, now=timezone.now()
        )
    answer_again_on_another_device(**ON_ISOTRETINOIN)
    assert ["on hold" in m.subject for m in sent()] == [True]


def test_a_rules_change_hold_says_so_and_does_not_ask_the_patient_to_call(client, clock, commits):
    make_clinic()
    clock.move_to(datetime(2026, 5, 20, 9, tzinfo=LONDON))
    screen(client, isotretinoin_recently="yes", last_dose="2025-12-01")  # six months: from 1 June
    book(client, commits, local(date(2026, 6, 2)), token_of(latest_screening()))
    sent()
    mail.outbox.clear()
    policy = ScreeningPolicy.objects.get()
    policy.isotretinoin_wait_months = 7  # from 1 July
    policy.save()
    screened_bookings_follow_policy(treatment=policy.treatment, now=timezone.now())
    [held] = sent()
    assert (
        "A clinician needs to check your booking again before it goes ahead: the clinic has changed its screening rules"
        in held.body
    )
    assert "If you have not answered the health questions again recently" not in held.body


def test_each_approval_after_a_hold_confirms_again_also_at_a_corrected_address(client, clock, commits):
    booked = booked_and_told(client, commits, date(2026, 3, 10))
    answer_again_on_another_device(q_keloid="yes")
    booked.refresh_from_db()
    services.appointment_approve(appointment=booked, now=timezone.now())
    sent()
    clock.shift(3600)
    answer_again_on_another_device(q_keloid="yes", q_sunburn="yes")  # held again, at the same time
    booked.refresh_from_db()
    Appointment.objects.filter(pk=booked.pk).update(patient_email="alex.new@example.com")  # reception's correction
    booked.refresh_from_db()
    mail.outbox.clear()
    services.appointment_approve(appointment=booked, now=timezone.now())
    services.appointment_emails_dispatch(now=timezone.now())
    assert [m.subject.split(":")[0] for m in mail.outbox if m.to == ["alex.new@example.com"]] == [
        "Your appointment is confirmed"
    ]


def test_a_move_of_a_held_booking_puts_it_in_the_calendar_as_tentative_not_confirmed(client, clock, commits):
    import icalendar

    booked = booked_and_told(client, commits, date(2026, 3, 10))
    answer_again_on_another_device(q_keloid="yes")  # held for a clinician
    booked.refresh_from_db()
    sent()
    mail.outbox.clear()
    services.appointment_staff_move(
        appointment=booked, start=local(date(2026, 3, 10), 11), practitioner=booked.practitioner, now=timezone.now()
    )
    [moved] = [m for m in sent() if "moved" in m.subject]
    [event] = icalendar.Calendar.from_ical(moved.attachments[0][1]).walk("VEVENT")
    assert event["status"] == "TENTATIVE"


def test_a_held_booking_for_later_today_says_a_clinician_looks_before_it_and_to_call_if_not_heard(
    client, clock, commits
):
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose_unsure="on")  # held for a clinician
    response = book(client, commits, local(date(2026, 3, 2), 14), token_of(latest_screening()))  # today, 14:00
    page = client.get(response["Location"]).content.decode()
    assert "before your appointment and confirm it by email" in page and "usually within one working day" not in page
    assert "please call us on 020 7946 0321 before you come" in page
    [received] = [m for m in mail.outbox if "received" in m.subject]
    assert "A clinician will look at it before your appointment" in received.body
    assert "please call us on 020 7946 0321 before you come" in received.body


def test_a_held_booking_days_ahead_keeps_the_working_day_wording(client, clock, commits):
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose_unsure="on")
    response = book(client, commits, local(date(2026, 3, 10)), token_of(latest_screening()))
    assert "usually within one working day" in client.get(response["Location"]).content.decode()


def test_the_held_email_updates_the_calendar_to_tentative_and_offers_no_online_change(client, clock, commits):
    import icalendar

    booked_and_told(client, commits, date(2026, 3, 10))
    answer_again_on_another_device(**ON_ISOTRETINOIN)  # nothing can be moved online now
    [held] = sent()
    assert "To see your booking, or cancel it (online until" in held.body and "To change" not in held.body
    [event] = icalendar.Calendar.from_ical(held.attachments[0][1]).walk("VEVENT")
    assert event["status"] == "TENTATIVE"


def test_a_declined_request_never_confirmed_carries_no_calendar_file(client, clock, commits):
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose_unsure="on")  # held: the "received" email has no file
    book(client, commits, local(date(2026, 3, 10)), token_of(latest_screening()))
    held = Appointment.objects.get()
    sent()
    mail.outbox.clear()
    services.appointment_decline(appointment=held, reason="Consultation first", now=timezone.now())
    [declined] = sent()
    assert declined.attachments == []


def test_the_calendar_event_keeps_its_id_when_the_clinic_changes_its_address(client, clock, commits, settings):
    from booking.emails import appointment_ics

    booked = booked_and_told(client, commits, date(2026, 3, 10))
    before = appointment_ics(booked)
    settings.SITE_URL = "https://book.harbourskin.example"  # going live, or a new domain
    import icalendar

    uids = [icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]["uid"] for ics in (before, appointment_ics(booked))]
    assert uids[0] == uids[1]
