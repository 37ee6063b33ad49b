"""Answers a patient gives after a clinician was involved, or after they booked, are weighed before anything is
confirmed: a patient declined or held for review cannot answer their way to an instant booking, a clinician cannot
approve a time the patient's newer answers rule out, and neither the patient nor reception can move a booking into
a wait the answers set."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from booking import services
from booking.forms import slot_value
from booking.models import Appointment, Treatment
from booking.tokens import manage_token
from screening import services as screening_services
from screening.models import ScreeningPolicy

from ..factories import booked_by_phone, signed_in
from .screening_helpers import (
    LONDON,
    QUEUE,
    answers_post,
    book,
    book_held_for_review,
    latest_screening,
    local,
    make_clinic,
    screen,
    token_of,
)
from .test_admin_diary import change_url, edit_form, field_errors

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)
ON_ISOTRETINOIN = {"taking_isotretinoin": "yes", "isotretinoin_recently": None}
# Monday 2 March 2026 is the clock's day: a last dose on 10 Sep 2025 allows microneedling from 10 March 2026.
LAST_DOSE_10_SEPTEMBER = {"isotretinoin_recently": "yes", "last_dose": "2025-09-10"}


def screen_and_book(client, commits, day, hh=10, **answers):
    screen(client, **answers)
    book(client, commits, local(day, hh), token_of(latest_screening()))
    return Appointment.objects.latest("created_at", "pk")


def review_url(appointment):
    return f"{QUEUE}{appointment.pk}/review/"


def test_a_patient_a_clinician_declined_who_answers_again_without_the_flag_is_held_not_confirmed(
    client, clock, commits
):
    make_clinic()
    first = screen_and_book(client, commits, TUESDAY, q_keloid="yes")
    assert first.status == Appointment.Status.PENDING_REVIEW
    services.appointment_decline(appointment=first, reason="Keloid history: consultation first", now=timezone.now())
    again = screen_and_book(client, commits, date(2026, 3, 5))  # "No" to everything this time
    assert again.status == Appointment.Status.PENDING_REVIEW
    reason = latest_screening().reasons[-1]
    assert reason["code"] == "declined_recently"  # for the clinician
    # For whoever typed the email: nothing about an earlier booking or answers.
    assert reason["text"] == "A clinician will check your answers before confirming your booking."
    page = signed_in(Client(), "Clinician").get(review_url(again)).content.decode()
    assert "Declined: Keloid history: consultation first" in page  # why, for the clinician weighing it again


def test_a_patient_held_for_an_unsure_date_who_answers_no_isotretinoin_is_held_again(client, clock, commits):
    held = book_held_for_review(client, commits, TUESDAY)
    again = screen_and_book(client, commits, date(2026, 3, 5))
    assert again.status == Appointment.Status.PENDING_REVIEW
    assert "changed_answers" in [reason["code"] for reason in latest_screening().reasons]
    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW


def test_a_clinician_cannot_approve_a_booking_the_patients_newer_answers_rule_out(client, clock, commits):
    held = book_held_for_review(client, commits, TUESDAY)
    Client().post("/book/microneedling/screening/", data=answers_post(**ON_ISOTRETINOIN))  # now on it
    held.refresh_from_db()
    assert "answered the health questions again" in held.status_reason  # the queue says what is new
    clinician = signed_in(client, "Clinician")
    page = clinician.get(review_url(held)).content.decode()
    assert "This booking cannot be approved." in page and 'name="approve"' not in page
    page = clinician.post(review_url(held), {"approve": "1"}, follow=True).content.decode()
    assert "cannot be booked for them now" in page and "no decision was recorded" in page
    page = clinician.post(
        QUEUE, {"action": "approve_selected", "_selected_action": [held.pk]}, follow=True
    ).content.decode()  # nor all at once
    assert "No booking was approved." in page and "0 booking(s) approved" not in page
    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW
    # "That was not me": the patient answers again; changed answers are for a clinician, who may now approve.
    screen(Client())
    clinician.post(review_url(held), {"approve": "1"})
    held.refresh_from_db()
    assert held.status == Appointment.Status.CONFIRMED


def test_newer_answers_that_a_clinician_must_check_and_set_a_wait_hold_a_booking_after_the_wait(client, clock, commits):
    make_clinic()
    booked = screen_and_book(client, commits, date(2026, 3, 20))
    # Keloid needs a clinician; sunburn sets a wait of its own, which ends before 20 March.
    Client().post("/book/microneedling/screening/", data=answers_post(q_keloid="yes", q_sunburn="yes"))
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_the_patient_cannot_move_a_booking_into_the_wait_their_newer_answers_set(client, clock, commits):
    make_clinic()
    booked = screen_and_book(client, commits, date(2026, 3, 20))
    Client().post("/book/microneedling/screening/", data=answers_post(**LAST_DOSE_10_SEPTEMBER))
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED  # 20 March is after the wait: it stands
    url = f"/booking/{manage_token(booked.public_id)}/reschedule/"
    page = client.get(url, {"date": "2026-03-05"}).content.decode()
    assert slot_value(local(date(2026, 3, 5), 11)) not in page  # no times inside the wait are offered
    assert "you can move it to a day from Tuesday 10 March 2026" in page  # and the page says why
    client.post(url, {"start": slot_value(local(date(2026, 3, 5), 11))})
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 20))
    client.post(url, {"start": slot_value(local(date(2026, 3, 12), 11))})  # after the wait: moves
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 12), 11)


def test_a_patient_whose_newer_answers_block_cannot_move_the_booking_online(client, clock, commits):
    make_clinic()
    booked = screen_and_book(client, commits, date(2026, 3, 20))
    Client().post("/book/microneedling/screening/", data=answers_post(**ON_ISOTRETINOIN))
    manage = client.get(f"/booking/{manage_token(booked.public_id)}/").content.decode()
    assert "cannot be moved online" in manage and "Move to another time" not in manage
    url = f"/booking/{manage_token(booked.public_id)}/reschedule/"
    page = client.get(url, follow=True).content.decode()
    assert "cannot be moved online" in page
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 20)) and booked.status == Appointment.Status.PENDING_REVIEW


def test_reception_cannot_move_a_screened_booking_before_the_day_the_answers_allow(client, clock, commits):
    make_clinic()
    booked = screen_and_book(client, commits, date(2026, 3, 12), **LAST_DOSE_10_SEPTEMBER)
    assert booked.status == Appointment.Status.CONFIRMED
    reception = signed_in(Client(), "Reception")
    response = reception.post(change_url(booked), edit_form(booked, start_0="2026-03-04", start_1="10:00:00"))
    assert response.status_code == 200
    assert "allow Microneedling from Tuesday 10 March 2026, not before" in field_errors(response)["start"]
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 12))
    response = reception.post(change_url(booked), edit_form(booked, start_0="2026-03-10", start_1="10:00:00"))
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 10))


def test_a_staff_move_to_a_day_the_patient_is_under_18_holds_the_booking(client, clock, commits):
    make_clinic()
    screen(client)
    # 18 on Thursday 5 March 2026: a booking on the 6th is fine, one on the 4th is not.
    book(client, commits, local(date(2026, 3, 6)), token_of(latest_screening()), date_of_birth="2008-03-05")
    booked = Appointment.objects.get()
    assert booked.status == Appointment.Status.CONFIRMED
    reception = signed_in(Client(), "Reception")
    response = reception.post(
        change_url(booked), edit_form(booked, start_0="2026-03-04", start_1="10:00:00"), follow=True
    )
    assert "held for review" in response.content.decode()
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 4)) and booked.status == Appointment.Status.PENDING_REVIEW


def phone_booking(day, *, born=date(1990, 1, 1)):
    return booked_by_phone(Treatment.objects.get(slug="microneedling"), local(day), date_of_birth=born)


@pytest.mark.parametrize(
    "first, again",
    [
        ({"q_keloid": "yes"}, {"q_sunburn": "yes"}),  # held for a flag, then only a wait: still for a clinician
        (  # an unsure date inside the wait, then the same date, sure
            {"isotretinoin_recently": "yes", "last_dose": "2025-10-01", "last_dose_unsure": "on"},
            {"isotretinoin_recently": "yes", "last_dose": "2025-10-01"},
        ),
    ],
)
def test_answers_held_for_a_clinician_then_a_wait_without_the_flag_are_still_held_after_the_wait(
    client, clock, commits, first, again
):
    make_clinic()
    screen(client, **first)
    booked = screen_and_book(client, commits, date(2026, 4, 2), **again)
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_a_phone_booking_is_bound_by_the_answers_the_patient_gave_online_before_it(client, clock, commits):
    make_clinic()
    Client().post(
        "/book/microneedling/screening/", data=answers_post(isotretinoin_recently="yes", last_dose="2026-03-01")
    )  # wait until 1 September
    clock.shift(3600)
    booked = phone_booking(date(2026, 3, 10))
    assert booked.status == Appointment.Status.PENDING_REVIEW
    clinician = signed_in(client, "Clinician")
    assert 'name="approve"' not in clinician.get(review_url(booked)).content.decode()
    clinician.post(QUEUE, {"action": "approve_selected", "_selected_action": [booked.pk]})
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_answers_under_the_email_staff_corrected_to_bind_the_booking_and_show_on_the_review_page(
    client, clock, commits
):
    make_clinic()
    screen(client, email="alex@exmaple.com")  # a slip of the keyboard
    book(client, commits, local(date(2026, 3, 20)), token_of(latest_screening()), email="alex@exmaple.com")
    booked = Appointment.objects.get()
    Appointment.objects.filter(pk=booked.pk).update(patient_email="alex@example.com")  # reception's correction
    Client().post("/book/microneedling/screening/", data=answers_post(**ON_ISOTRETINOIN))
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW
    page = signed_in(client, "Clinician").get(review_url(booked)).content.decode()
    assert "This booking cannot be approved." in page and "answered the health questions again" in page


def test_a_phone_booking_moved_to_a_day_the_patient_is_under_18_is_held(client, clock, commits):
    make_clinic()
    booked = phone_booking(date(2026, 3, 10), born=date(2008, 3, 5))
    services.appointment_approve(appointment=booked, now=timezone.now())
    reception = signed_in(Client(), "Reception")
    reception.post(change_url(booked), edit_form(booked, start_0="2026-03-04", start_1="10:00:00"))
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 4)) and booked.status == Appointment.Status.PENDING_REVIEW
    page = signed_in(Client(), "Clinician").get(QUEUE).content.decode()
    assert "date of birth needs a check" in page  # the queue says why it is back


def test_a_stranger_cannot_tell_a_recent_decline_by_what_the_result_page_offers(client, clock, commits):
    make_clinic()
    declined = screen_and_book(client, commits, TUESDAY, q_keloid="yes")
    services.appointment_decline(appointment=declined, reason="Consultation first", now=timezone.now())
    waiting = {"isotretinoin_recently": "yes", "last_dose": "2026-03-01"}
    pages = [
        Client().post("/book/microneedling/screening/", data=answers_post(email=email, **waiting), follow=True)
        for email in ("alex@example.com", "someone.else@example.com")
    ]
    offers = ["Hydrating facial" in page.content.decode() for page in pages]
    assert offers == [True, True]


def test_correcting_a_date_of_birth_to_a_minor_holds_the_booking(client, clock, commits):
    make_clinic()
    booked = phone_booking(date(2026, 3, 10))
    services.appointment_approve(appointment=booked, now=timezone.now())
    booked.refresh_from_db()
    reception = signed_in(Client(), "Reception")
    response = reception.post(change_url(booked), edit_form(booked, patient_date_of_birth="2012-01-01"), follow=True)
    assert "held for review" in response.content.decode()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_after_a_longer_wait_neither_the_patient_nor_reception_can_move_a_booking_into_it(client, clock, commits):
    make_clinic()
    clock.move_to(datetime(2026, 5, 20, 9, tzinfo=LONDON))
    # A last dose on 1 December 2025: from 1 June under six months, from 1 July under seven.
    booked = screen_and_book(client, commits, date(2026, 7, 20), isotretinoin_recently="yes", last_dose="2025-12-01")
    policy = ScreeningPolicy.objects.get()
    policy.isotretinoin_wait_months = 7  # save() moves the rules on
    policy.save()
    url = f"/booking/{manage_token(booked.public_id)}/reschedule/"
    client.post(url, {"start": slot_value(local(date(2026, 6, 10), 11))})
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 7, 20))  # 10 June is inside the new wait
    response = signed_in(Client(), "Reception").post(
        change_url(booked), edit_form(booked, start_0="2026-06-10", start_1="10:00:00")
    )
    assert "from Wednesday 1 July 2026, not before" in field_errors(response)["start"]


def test_clinicians_see_that_a_phone_booking_is_for_someone_under_18(client, clock, commits):
    make_clinic()
    booked = phone_booking(date(2026, 3, 10), born=date(2012, 1, 1))
    page = signed_in(client, "Clinician").get(QUEUE).content.decode()
    assert "Booked by staff, no health answers yet; Under 18 on the day" in page
    assert "Under 18" not in signed_in(Client(), "Reception").get(QUEUE).content.decode()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_a_booking_held_again_after_clear_answers_names_no_reason_it_never_had(client, clock, commits):
    make_clinic()
    booked = screen_and_book(client, commits, date(2026, 3, 20))
    Client().post("/book/microneedling/screening/", data=answers_post(**ON_ISOTRETINOIN))
    page = signed_in(Client(), "Clinician").get(QUEUE).content.decode()
    assert "answered the health questions again" in page and "booked as" not in page
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_the_review_shows_the_earlier_answers_a_changed_answers_flag_weighed_under_another_email(
    client, clock, commits
):
    make_clinic()
    screen(client, email="first@example.com", q_pregnancy="yes")  # blocked, in this browser
    screen(client, email="second@example.com")  # clear answers, so changed ones: held
    book(client, commits, local(TUESDAY), token_of(latest_screening()), email="second@example.com")
    held = Appointment.objects.get(patient_email="second@example.com")
    assert held.status == Appointment.Status.PENDING_REVIEW
    page = signed_in(Client(), "Clinician").get(review_url(held)).content.decode()
    assert "Blocked" in page  # the earlier screening, listed...
    assert "(given in the same browser as first@example.com)" in page  # ...as someone else's email, not this one
    assert "Earlier screenings from second@example.com, and from other emails in the same browser" in page


def test_a_patient_whose_own_move_puts_the_booking_on_hold_is_told_so_as_news(client, clock, commits):
    make_clinic()
    screen(client)
    # 18 on Thursday 5 March 2026: confirmed on the 6th, held when moved to the 4th.
    book(client, commits, local(date(2026, 3, 6)), token_of(latest_screening()), date_of_birth="2008-03-05")
    booked = Appointment.objects.get()
    services.appointment_emails_dispatch(now=timezone.now())
    mail.outbox.clear()
    clock.shift(timedelta(minutes=5))
    with commits(execute=True):
        client.post(
            f"/booking/{manage_token(booked.public_id)}/reschedule/", {"start": slot_value(local(date(2026, 3, 4)))}
        )
    services.appointment_emails_dispatch(now=timezone.now())
    [moved] = [m for m in mail.outbox if "moved" in m.subject]
    assert "A clinician has to check your booking before it is confirmed" in moved.body
    assert "still" not in moved.body


def test_a_rules_change_adds_to_why_a_held_booking_is_held_and_keeps_the_first_reason(client, clock, commits):
    make_clinic()
    booked = screen_and_book(client, commits, date(2026, 3, 20))
    Client().post("/book/microneedling/screening/", data=answers_post(**ON_ISOTRETINOIN))  # held: answered again
    policy = ScreeningPolicy.objects.get()
    policy.isotretinoin_wait_months = 8
    policy.save()
    from screening.services import screened_bookings_follow_policy

    screened_bookings_follow_policy(treatment=policy.treatment, now=timezone.now())
    booked.refresh_from_db()
    assert booked.status_reason == (
        "Held for a clinician: the patient answered the health questions again on 2 Mar 2026. "
        "Also: the clinic changed its screening rules on 2 Mar 2026."
    )


def test_a_phone_booking_is_approved_only_once_the_clinician_says_they_asked_the_questions_by_phone(
    client, clock, commits
):
    make_clinic()
    booked = phone_booking(date(2026, 3, 10))
    clinician = signed_in(client, "Clinician")
    page = clinician.get(review_url(booked)).content.decode()
    assert 'name="asked_by_phone"' in page and "I asked the patient the health questions by phone" in page
    # What to ask, as the online form asks it under the rules now.
    assert "Have you taken it in the last 12 months?" in page and "less than 6 months before the visit" in page
    assert "Have you ever had raised, thick scars" in page
    services.appointment_emails_dispatch(now=timezone.now())
    [received] = mail.outbox
    assert "A clinician will call you to ask a few health questions first" in received.body
    clinician.post(review_url(booked), {"approve": "Approve"})
    clinician.post(QUEUE, {"action": "approve_selected", "_selected_action": [booked.pk]})
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW  # neither the page without the tick nor in bulk
    clinician.post(review_url(booked), {"approve": "Approve", "asked_by_phone": "on"})
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED
    assert booked.status_reason == "Approved by clinician-user, after asking the health questions by phone"


def reschedule(client, commits, booked, start):
    with commits(execute=True):
        return client.post(f"/booking/{manage_token(booked.public_id)}/reschedule/", {"start": slot_value(start)})


def test_a_booking_a_clinician_confirmed_for_changed_answers_is_held_again_when_the_patient_moves_it_earlier(
    client, clock, commits
):
    """Told to wait until 15 April, then "no isotretinoin" in the same browser: a clinician confirmed 1 May knowing
    both answers. 4 March, inside the first answers' wait, is not what they confirmed."""
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose="2025-10-15")
    screen_and_book(client, commits, date(2026, 5, 1))
    booked = Appointment.objects.get()
    assert booked.status == Appointment.Status.PENDING_REVIEW
    screening_services.screened_booking_approve(appointment=booked, now=timezone.now())
    reschedule(client, commits, booked, local(date(2026, 5, 8)))
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED  # later than confirmed: as the clinician weighed it

    services.appointment_emails_dispatch(now=timezone.now())
    mail.outbox.clear()
    response = reschedule(client, commits, booked, local(date(2026, 3, 4)))
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 4)) and booked.status == Appointment.Status.PENDING_REVIEW
    assert "A clinician will check it before it is confirmed" in client.get(response["Location"]).content.decode()
    services.appointment_emails_dispatch(now=timezone.now())
    [moved] = [m for m in mail.outbox if "moved" in m.subject]
    assert "A clinician has to check your booking before it is confirmed" in moved.body
    assert "for a later day" in signed_in(Client(), "Clinician").get(QUEUE).content.decode()


def test_a_phone_booking_confirmed_after_asking_by_phone_is_held_again_when_reception_moves_it_earlier(
    client, clock, commits
):
    make_clinic()
    booked = phone_booking(date(2026, 3, 20))
    screening_services.screened_booking_approve(appointment=booked, now=timezone.now(), asked_by_phone=True)
    reception = signed_in(Client(), "Reception")
    # Later, back part-way, and earlier the same day: all on or after the day the clinician confirmed.
    for day, hour in (("2026-03-27", "10:00:00"), ("2026-03-24", "10:00:00"), ("2026-03-20", "09:00:00")):
        reception.post(change_url(booked), edit_form(booked, start_0=day, start_1=hour))
        booked.refresh_from_db()
        assert booked.status == Appointment.Status.CONFIRMED and booked.start.date().isoformat() == day

    response = reception.post(
        change_url(booked), edit_form(booked, start_0="2026-03-04", start_1="10:00:00"), follow=True
    )
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 4)) and booked.status == Appointment.Status.PENDING_REVIEW
    assert "A clinician confirmed this booking for a later day" in response.content.decode()
    assert "for a later day (20 Mar 2026)" in signed_in(Client(), "Clinician").get(QUEUE).content.decode()


def test_correcting_the_email_to_an_address_whose_answers_rule_the_time_out_holds_the_booking(client, clock, commits):
    make_clinic()
    screen(client, email="work@example.com")
    book(client, commits, local(date(2026, 3, 20)), token_of(latest_screening()), email="work@example.com")
    booked = Appointment.objects.get()
    assert booked.status == Appointment.Status.CONFIRMED
    Client().post("/book/microneedling/screening/", data=answers_post(email="home@example.com", **ON_ISOTRETINOIN))
    services.appointment_emails_dispatch(now=timezone.now())
    mail.outbox.clear()

    response = signed_in(Client(), "Reception").post(
        change_url(booked), edit_form(booked, patient_email="home@example.com"), follow=True
    )
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW
    assert "given under the booking&#x27;s email need a clinician&#x27;s check" in response.content.decode()
    services.appointment_emails_dispatch(now=timezone.now())
    # The booking as it stands, sent again to the corrected address: the confirmation never reached it.
    assert [m.to for m in mail.outbox] == [["home@example.com"]]
    assert "A clinician will look at it" in mail.outbox[0].body


def test_the_held_email_says_the_booking_moved_to_an_earlier_day_when_it_goes_before_the_moved_one(
    client, clock, commits
):
    """The "moved" email says it normally; when that one is retried later, the held email must not give another
    reason (it used to say the date of birth needed a check)."""
    from booking.models import AppointmentEmail

    make_clinic()
    booked = phone_booking(date(2026, 3, 20))
    screening_services.screened_booking_approve(appointment=booked, now=timezone.now(), asked_by_phone=True)
    services.appointment_emails_dispatch(now=timezone.now())
    mail.outbox.clear()
    booked.refresh_from_db()
    moved = services.appointment_staff_move(
        appointment=booked, start=local(date(2026, 3, 10)), practitioner=booked.practitioner, now=timezone.now()
    )
    screening_services.screened_booking_weigh_again(moved, now=timezone.now(), moved_from=local(date(2026, 3, 20)))
    booked.emails.filter(kind=AppointmentEmail.Kind.RESCHEDULED).update(due_at=timezone.now() + timedelta(minutes=5))
    services.appointment_emails_dispatch(now=timezone.now())
    [held] = [m for m in mail.outbox if "on hold" in m.subject]
    assert "it has moved to an earlier day than the one a clinician confirmed" in held.body
    assert "date of birth" not in held.body
