"""Answers a clinician has yet to weigh never replace the ones they contradict, and a booking's answers are read
under the address it is booked under, whenever given: the seams a second clinical-safety pass found."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from booking.forms import slot_value
from booking.models import Appointment
from booking.tokens import manage_token
from screening import services as screening_services
from screening.models import EligibilityReminder, Screening, ScreeningPolicy

from ..factories import signed_in
from .screening_helpers import answers_post, book, latest_screening, local, make_clinic, screen, token_of
from .test_admin_diary import change_url, edit_form

pytestmark = pytest.mark.django_db
ON_ISOTRETINOIN = {"taking_isotretinoin": "yes", "isotretinoin_recently": None}


@pytest.fixture
def microneedling(db):
    return make_clinic()


def reschedule(client, commits, booked, start):
    with commits(execute=True):
        return client.post(f"/booking/{manage_token(booked.public_id)}/reschedule/", {"start": slot_value(start)})


def test_a_sooner_wait_held_as_changed_answers_does_not_launder_the_wait_it_contradicted(
    client, clock, microneedling, commits
):
    """2 March: last dose 15 February, wait until 15 August. 3 March: an older dose (wait until 10 March), held as
    changed answers, nothing booked. 3 April, once that sooner wait is over: the old date again."""
    screen(client, isotretinoin_recently="yes", last_dose="2026-02-15")
    clock.shift(timedelta(days=1))
    screen(Client(), isotretinoin_recently="yes", last_dose="2025-09-10")
    assert latest_screening().needs_review
    clock.shift(timedelta(days=31))
    browser = Client()
    screen(browser, isotretinoin_recently="yes", last_dose="2025-09-10")
    third = latest_screening()
    assert third.outcome == Screening.Outcome.REVIEW and third.previous.eligible_from == date(2026, 8, 15)
    book(browser, commits, local(date(2026, 4, 7)), token_of(third))
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW


def test_changed_answers_neither_offer_a_reminder_nor_replace_the_one_asked_for(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-02-15")  # wait until 15 August
    client.post(f"/book/microneedling/screening/{token_of(latest_screening())}/reminder/", {"consent": "on"})
    clock.shift(timedelta(days=1))
    other = Client()
    screen(other, isotretinoin_recently="yes", last_dose="2025-09-10")  # sooner: held as changed answers
    changed = latest_screening()
    page = other.get(f"/book/microneedling/screening/{token_of(changed)}/").content.decode()
    assert "Yes, email me when I can book" not in page
    response = other.post(f"/book/microneedling/screening/{token_of(changed)}/reminder/", {"consent": "on"})
    assert response.status_code == 302
    pending = set(EligibilityReminder.objects.filter(state="pending").values_list("kind", "due_on"))
    assert ("eligible", date(2026, 8, 15)) in pending and not [d for _, d in pending if d == date(2026, 3, 10)]


def test_taking_it_then_a_last_dose_from_before_that_is_held_but_a_later_one_is_the_course_ending(
    client, clock, microneedling
):
    screen(client, **ON_ISOTRETINOIN)  # 2 March: taking it
    clock.shift(timedelta(days=60))  # 1 May
    screen(client, isotretinoin_recently="yes", last_dose="2026-02-01")  # before 2 March: they said taking then
    assert latest_screening().needs_review
    screen(Client(), email="sam@example.com", **ON_ISOTRETINOIN)  # 1 May: taking it
    clock.shift(timedelta(days=50))  # 20 June
    screen(Client(), email="sam@example.com", isotretinoin_recently="yes", last_dose="2026-06-15")
    stopped = latest_screening()
    assert stopped.outcome == Screening.Outcome.WAIT and not stopped.needs_review  # the course ended


def test_an_email_corrected_to_one_that_answered_before_the_booking_weighs_those_answers(client, clock, commits):
    make_clinic()
    Client().post("/book/microneedling/screening/", data=answers_post(email="home@example.com", **ON_ISOTRETINOIN))
    clock.shift(3600)
    screen(client, email="work@example.com")
    book(client, commits, local(date(2026, 3, 20)), token_of(latest_screening()), email="work@example.com")
    booked = Appointment.objects.get()
    assert booked.status == Appointment.Status.CONFIRMED
    signed_in(Client(), "Reception").post(change_url(booked), edit_form(booked, patient_email="home@example.com"))
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_an_email_corrected_to_one_whose_answers_need_a_clinician_holds_the_booking(client, clock, commits):
    make_clinic()
    screen(client, email="work@example.com")
    book(client, commits, local(date(2026, 3, 20)), token_of(latest_screening()), email="work@example.com")
    booked = Appointment.objects.get()
    clock.shift(3600)
    Client().post(
        "/book/microneedling/screening/",
        data=answers_post(email="home@example.com", isotretinoin_recently="yes", last_dose_unsure="on"),
    )
    signed_in(Client(), "Reception").post(change_url(booked), edit_form(booked, patient_email="home@example.com"))
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def booked_on_clear_answers(client, commits) -> Appointment:
    """The demo patient's microneedling on 20 March, booked online on clear answers: confirmed."""
    make_clinic()
    screen(client)
    book(client, commits, local(date(2026, 3, 20)), token_of(latest_screening()))
    booked = Appointment.objects.get()
    assert booked.status == Appointment.Status.CONFIRMED
    return booked


def test_a_booking_a_clinician_approved_on_later_answers_is_held_again_when_moved_to_an_earlier_day(
    client, clock, commits
):
    booked = booked_on_clear_answers(client, commits)
    screen(Client(), isotretinoin_recently="yes", last_dose_unsure="on")  # held: a clinician must look
    booked.refresh_from_db()
    screening_services.screened_booking_approve(appointment=booked, now=timezone.now(), decided_by="Dr A")
    reschedule(client, commits, booked, local(date(2026, 3, 4)))
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 4)) and booked.status == Appointment.Status.PENDING_REVIEW


def test_a_longer_wait_than_the_months_the_patient_was_asked_about_holds_their_booking(client, clock, commits):
    """'None in the last 6 months' says nothing of the seventh to the ninth month of a new 9-month wait."""
    microneedling = make_clinic()
    ScreeningPolicy.objects.create(treatment=microneedling, isotretinoin_wait_months=6, recent_dose_window_months=6)
    screen(client)
    book(client, commits, local(date(2026, 3, 20)), token_of(latest_screening()))
    booked = Appointment.objects.get()
    assert booked.status == Appointment.Status.CONFIRMED
    policy = ScreeningPolicy.objects.get()
    policy.isotretinoin_wait_months, policy.recent_dose_window_months = 9, 9
    policy.save()
    assert screening_services.screened_bookings_follow_policy(treatment=microneedling, now=timezone.now()) == 1
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_ordinary_moves_and_truthful_answers_again_keep_a_booking_confirmed(client, clock, microneedling, commits):
    screen(client, isotretinoin_recently="yes", last_dose="2025-09-10")  # eligible 10 March
    book(client, commits, local(date(2026, 3, 12)), token_of(latest_screening()))
    booked = Appointment.objects.get()
    for day in (date(2026, 3, 26), date(2026, 3, 10), date(2026, 3, 18)):
        reschedule(client, commits, booked, local(day, 11))
        booked.refresh_from_db()
        assert booked.start == local(day, 11) and booked.status == Appointment.Status.CONFIRMED
    clock.shift(timedelta(days=40))
    screen(Client(), isotretinoin_recently="yes", last_dose="2025-09-10")
    assert latest_screening().outcome == Screening.Outcome.CLEAR


def test_answers_held_only_for_being_less_strict_leave_a_booking_the_stricter_ones_allowed(client, clock, commits):
    """Unsure of the date, held, approved by a clinician who called; a week later the patient gives the exact date,
    long past the wait: the new answers are held as changed, but the approved visit was weighed under stricter
    ones and stays confirmed (it used to go back on hold, and the patient was emailed so)."""
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose_unsure="on")
    book(client, commits, local(date(2026, 3, 20)), token_of(latest_screening()))
    approved = Appointment.objects.get()
    screening_services.screened_booking_approve(appointment=approved, now=timezone.now(), decided_by="Dr A")
    clock.shift(timedelta(days=7))
    screen(client, isotretinoin_recently="yes", last_dose="2025-06-10")
    assert latest_screening().outcome == Screening.Outcome.REVIEW  # a clinician still looks before a new booking
    approved.refresh_from_db()
    assert approved.status == Appointment.Status.CONFIRMED


# --- A third pass: each new answer's own date binds, and two newer answers hide no wait --------------------------


def approved_on(client, commits, **answers) -> Appointment:
    screen(client, **answers)
    book(client, commits, local(date(2026, 3, 20)), token_of(latest_screening()))
    booked = Appointment.objects.get()
    screening_services.screened_booking_approve(appointment=booked, now=timezone.now(), decided_by="Dr A")
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED
    return booked


@pytest.mark.parametrize(
    "first, then",
    [
        ({"isotretinoin_recently": "yes", "last_dose_unsure": "on"}, {"last_dose": "2026-01-10"}),  # until 10 July
        ({"q_keloid": "yes"}, {"last_dose": "2026-02-01", "q_keloid": "no"}),  # until 1 August
    ],
    ids=["unsure-then-a-recent-date", "a-flag-then-a-recent-dose"],
)
def test_an_approved_visit_inside_the_wait_that_newer_answers_set_goes_back_on_hold(
    client, clock, commits, first, then
):
    make_clinic()
    approved = approved_on(client, commits, **first)
    clock.shift(timedelta(days=1))
    screen(client, isotretinoin_recently="yes", **then)
    approved.refresh_from_db()
    assert approved.status == Appointment.Status.PENDING_REVIEW


def test_a_visit_inside_the_wait_of_answers_held_as_changed_goes_back_on_hold(client, clock, commits):
    """No clinician at all: a wait to 20 March, booked 25 March; a sooner date (changed answers); then 10 January,
    whose wait (10 July) the 25 March visit is inside."""
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose="2025-09-20")
    book(client, commits, local(date(2026, 3, 25)), token_of(latest_screening()))
    booked = Appointment.objects.get()
    clock.shift(timedelta(days=1))
    screen(client, isotretinoin_recently="yes", last_dose="2025-09-10")
    clock.shift(timedelta(days=1))
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-10")
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_the_next_session_of_a_course_answered_the_same_leaves_the_approved_first_one_confirmed(client, clock, commits):
    make_clinic()
    first = approved_on(client, commits, q_keloid="yes")
    clock.shift(timedelta(days=3))
    screen(client, q_keloid="yes")
    assert latest_screening().needs_review  # the new booking still goes to a clinician
    first.refresh_from_db()
    assert first.status == Appointment.Status.CONFIRMED


def hide_the_wait_behind_two_newer_answers(client, clock):
    """15 August wait; a keloid 'yes' held as changed; then keloid 'yes' with an old dose (a 10 March wait)."""
    screen(client, isotretinoin_recently="yes", last_dose="2026-02-15")
    clock.shift(timedelta(days=1))
    screen(client, q_keloid="yes")
    clock.shift(timedelta(days=1))
    screen(client, q_keloid="yes", isotretinoin_recently="yes", last_dose="2025-09-10")
    return latest_screening()


def test_two_newer_answers_do_not_hide_a_wait_still_running(client, clock, microneedling, commits):
    hidden = hide_the_wait_behind_two_newer_answers(client, clock)
    assert hidden.previous is not None and hidden.previous.eligible_from == date(2026, 8, 15)
    clock.shift(timedelta(days=32))  # 5 April
    browser = Client()
    screen(browser)
    book(browser, commits, local(date(2026, 4, 8)), token_of(latest_screening()))
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW


def test_two_newer_answers_send_no_early_wait_is_over_email(client, clock, microneedling):
    from django.core import mail

    from screening.reminders import eligibility_reminders_dispatch

    screen(client, isotretinoin_recently="yes", last_dose="2026-02-15")
    client.post(f"/book/microneedling/screening/{token_of(latest_screening())}/reminder/", {"consent": "on"})
    clock.shift(timedelta(days=1))
    screen(client, q_keloid="yes")
    clock.shift(timedelta(days=1))
    screen(client, q_keloid="yes", isotretinoin_recently="yes", last_dose="2025-09-10")
    client.post(f"/book/microneedling/screening/{token_of(latest_screening())}/reminder/", {"consent": "on"})
    clock.move_to(local(date(2026, 3, 10), 9, 5))
    mail.outbox.clear()
    eligibility_reminders_dispatch(now=timezone.now())
    assert mail.outbox == []
    assert EligibilityReminder.objects.filter(state="pending", due_on=date(2026, 8, 15)).exists()


def test_a_pregnancy_block_is_not_answered_by_a_wait_as_a_course_ending_would_be(client, clock, microneedling):
    screen(client, q_pregnancy="yes")
    clock.shift(timedelta(days=1))
    screen(client, isotretinoin_recently="yes", last_dose="2026-03-03")
    assert latest_screening().needs_review  # not pregnant now: a clinician checks the contradiction
    clock.shift(timedelta(days=184))  # 3 September: that wait is over, the block is not answered
    screen(client, isotretinoin_recently="yes", last_dose="2026-03-03")
    assert latest_screening().needs_review


def test_a_course_ending_sooner_than_expected_is_not_changed_answers(client, clock, microneedling):
    screen(client, taking_isotretinoin="yes", isotretinoin_recently=None, course_end="2026-04-30")  # to 30 October
    clock.shift(timedelta(days=49))  # 20 April: stopped on the 15th
    screen(client, isotretinoin_recently="yes", last_dose="2026-04-15")
    stopped = latest_screening()
    assert stopped.outcome == Screening.Outcome.WAIT and stopped.eligible_from == date(2026, 10, 15)
    assert not stopped.needs_review and stopped.previous is None


# --- A fourth pass: a block for a question of the clinic's is never answered away; holds added at booking and a
# --- recent decline are not the answers' own ----------------------------------------------------------------------


def test_a_pregnancy_block_hidden_behind_an_isotretinoin_block_is_still_held_and_sends_no_early_email(
    client, clock, commits
):
    from django.core import mail

    from screening.reminders import eligibility_reminders_dispatch

    make_clinic()
    screen(client, q_pregnancy="yes")  # 2 March
    clock.shift(timedelta(days=1))
    screen(client, **ON_ISOTRETINOIN)  # 3 March: not pregnant now, taking isotretinoin
    assert latest_screening().previous is not None  # the pregnancy answered away: held as changed
    clock.shift(timedelta(days=1))
    screen(client, isotretinoin_recently="yes", last_dose="2026-03-04")  # 4 March: the course ended
    client.post(f"/book/microneedling/screening/{token_of(latest_screening())}/reminder/", {"consent": "on"})
    clock.move_to(local(date(2026, 9, 4), 9, 5))
    mail.outbox.clear()
    eligibility_reminders_dispatch(now=timezone.now())
    assert mail.outbox == []
    browser = Client()
    screen(browser, isotretinoin_recently="yes", last_dose="2026-03-04")
    book(browser, commits, local(date(2026, 9, 10)), token_of(latest_screening()))
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW


def test_taking_isotretinoin_now_holds_a_confirmed_visit_after_the_course_s_expected_end(client, clock, commits):
    from ..factories import booked_by_phone

    needling = make_clinic()
    booked = booked_by_phone(needling, local(date(2026, 11, 10)), email="alex@example.com")
    screening_services.screened_booking_approve(
        appointment=booked, now=timezone.now(), decided_by="Dr A", asked_by_phone=True
    )
    clock.shift(timedelta(days=1))
    screen(client, course_end="2026-04-30", **ON_ISOTRETINOIN)  # blocked until 30 October, if it ends as expected
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


@pytest.mark.parametrize(
    "taking_with", [{"q_sunburn": "yes"}, {"course_end": "2026-04-30", "q_recent_resurfacing": "yes"}]
)
def test_a_course_ending_is_not_changed_answers_when_other_answers_came_with_taking_it(
    client, clock, microneedling, taking_with
):
    screen(client, **ON_ISOTRETINOIN, **taking_with)
    clock.shift(timedelta(days=49))  # 20 April
    screen(client, isotretinoin_recently="yes", last_dose="2026-04-15")
    stopped = latest_screening()
    assert not stopped.needs_review and stopped.previous is None


def test_a_decline_of_another_booking_does_not_hold_a_confirmed_one_when_the_patient_answers_again(
    client, clock, commits
):
    from ..factories import booked_by_phone

    first = booked_on_clear_answers(client, commits)
    phone = booked_by_phone(first.treatment, local(date(2026, 3, 27)), email="alex@example.com")
    screening_services.screened_booking_decline(appointment=phone, reason="Too close to the first", now=timezone.now())
    clock.shift(timedelta(days=1))
    screen(Client())  # the same clear answers, for a later session: held for a clinician, as after any decline
    assert latest_screening().needs_review
    first.refresh_from_db()
    assert first.status == Appointment.Status.CONFIRMED


def test_a_hold_added_at_booking_does_not_make_the_same_answers_again_changed(client, clock, commits):
    from booking.models import Practitioner

    from ..factories import booking_post, make_treatment

    make_clinic()
    peel = make_treatment("mild-chemical-peel", minutes=30, resurfacing=True)
    Practitioner.objects.get().treatments.add(peel)
    with commits(execute=True):
        client.post("/book/mild-chemical-peel/details/", booking_post(slot_value(local(date(2026, 3, 5), 10))))
    screen(client, isotretinoin_recently="yes", last_dose="2025-09-10")  # wait until 10 March
    book(client, commits, local(date(2026, 3, 12), 14), token_of(latest_screening()))  # held for the peel
    clock.shift(timedelta(days=12))  # 14 March: the same truthful answers, for a second session
    screen(Client(), isotretinoin_recently="yes", last_dose="2025-09-10")
    assert not latest_screening().needs_review


# --- A fifth pass: the booking side reads past changed answers as the screening side does ---------------------------


def booked_then_a_wait_then_a_changed_no(client, commits, clock) -> Appointment:
    """Clear answers, booked 20 April; a last dose of 10 October (wait to 10 April, which 20 April is after); then a
    'no' held as changed answers, which gives no date at all."""
    make_clinic()
    screen(client)
    book(client, commits, local(date(2026, 4, 20)), token_of(latest_screening()))
    clock.shift(timedelta(days=1))
    screen(Client(), isotretinoin_recently="yes", last_dose="2025-10-10")
    clock.shift(timedelta(days=1))
    screen(Client())
    assert latest_screening().previous is not None
    booked = Appointment.objects.get()
    assert booked.status == Appointment.Status.CONFIRMED
    return booked


def test_changed_answers_do_not_open_the_wait_to_a_move_by_the_patient(client, clock, commits):
    booked = booked_then_a_wait_then_a_changed_no(client, commits, clock)
    reschedule(client, commits, booked, local(date(2026, 3, 10), 11))
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 4, 20))  # refused: the 10 April wait still binds


def test_changed_answers_do_not_open_the_wait_to_a_move_by_reception(client, clock, commits):
    booked = booked_then_a_wait_then_a_changed_no(client, commits, clock)
    response = signed_in(Client(), "Reception").post(
        change_url(booked), edit_form(booked, start_0="2026-03-10", start_1="11:00:00")
    )
    booked.refresh_from_db()
    assert response.status_code == 200 and booked.start == local(date(2026, 4, 20))


def test_a_longer_wait_after_changed_answers_holds_a_visit_inside_it(client, clock, commits):
    booked = booked_then_a_wait_then_a_changed_no(client, commits, clock)
    policy = ScreeningPolicy.objects.get()
    policy.isotretinoin_wait_months = 9  # the 10 October dose now waits to 10 July
    policy.save()
    screening_services.screened_bookings_follow_policy(treatment=booked.treatment, now=timezone.now())
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_an_approval_does_not_stand_on_changed_answers_that_drop_the_date_it_weighed(client, clock, commits):
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose="2025-09-20", last_dose_unsure="on")  # to 20 March
    book(client, commits, local(date(2026, 3, 25)), token_of(latest_screening()))
    booked = Appointment.objects.get()
    screening_services.screened_booking_approve(appointment=booked, now=timezone.now(), decided_by="Dr A")
    clock.shift(timedelta(days=5))
    screen(Client(), isotretinoin_recently="yes", last_dose_unsure="on")  # recently, not sure, and now no date
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


def test_a_clinician_who_approved_after_changed_answers_has_weighed_them_for_moves_and_rules_changes(
    client, clock, commits
):
    """Clear, booked 20 March; a last dose of 10 October holds it (wait to 10 April); a 'no' held as changed; a
    clinician weighs both and approves. The 10 April wait they set aside no longer refuses an ordinary move, nor
    holds the visit again on an unrelated rules change."""
    booked = booked_on_clear_answers(client, commits)
    clock.shift(timedelta(days=1))
    screen(Client(), isotretinoin_recently="yes", last_dose="2025-10-10")
    clock.shift(timedelta(days=1))
    screen(Client())
    booked.refresh_from_db()
    screening_services.screened_booking_approve(appointment=booked, now=timezone.now(), decided_by="Dr A")
    reschedule(client, commits, booked, local(date(2026, 3, 20), 11))
    booked.refresh_from_db()
    assert booked.start == local(date(2026, 3, 20), 11) and booked.status == Appointment.Status.CONFIRMED
    policy = ScreeningPolicy.objects.get()
    policy.recent_dose_window_months += 1
    policy.save()
    assert screening_services.screened_bookings_follow_policy(treatment=booked.treatment, now=timezone.now()) == 0
