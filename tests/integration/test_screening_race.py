"""One screening backs one booking, even when two tabs submit it at the same moment; and a booking, the patient's
new answers, a clinician's approval and a change of the rules, at the same moment, each see what the other wrote."""

from datetime import date, datetime, timedelta

import pytest

from booking.models import Appointment
from screening import rules, services
from screening.exceptions import ScreeningInvalid
from screening.models import Screening, ScreeningPolicy

from ..factories import patient
from ..races import at_once, interleaved
from .screening_helpers import LONDON, local, make_clinic


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tabs_booking_with_one_screening_at_once_get_one_booking(clock):
    microneedling = make_clinic()
    now = datetime.now(LONDON)
    screening = Screening.objects.create(
        treatment=microneedling,
        email="alex@example.com",
        answers={},
        outcome=Screening.Outcome.CLEAR,
        rules_version=1,
        created_at=now,
        expires_at=now + timedelta(hours=2),
    )

    def attempt(hour):
        services.screening_book(screening=screening, start=local(date(2026, 3, 3), hour), patient=patient(), now=now)
        return "booked"

    outcomes = at_once(attempt, (10, 14), refused=(ScreeningInvalid,))
    assert sorted("used" if isinstance(o, ScreeningInvalid) else o for o in outcomes) == ["booked", "used"]
    assert Appointment.objects.count() == 1
    screening.refresh_from_db()
    assert screening.appointment == Appointment.objects.get()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_answers_that_arrive_while_a_clinician_approves_put_the_booking_back_on_hold(clock):
    """The approval checks the answers, then the patient's new ones commit, then the approval writes: the booking
    must not end confirmed. The answers' hold waits on the row the approval locked, and holds it once approved."""
    microneedling = make_clinic()
    now = datetime.now(LONDON)
    unsure = rules.Answers(taking_isotretinoin=False, isotretinoin_recently=True, last_dose_unsure=True)
    screening = services.screening_submit(treatment=microneedling, email="alex@example.com", answers=unsure, now=now)
    held = services.screening_book(screening=screening, start=local(date(2026, 3, 10)), patient=patient(), now=now)
    assert held.status == Appointment.Status.PENDING_REVIEW

    with interleaved(services, "screened_booking_allows", lambda: on_isotretinoin_now(microneedling, now)):
        services.screened_booking_approve(appointment=held, now=now, decided_by="clinician")
    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW
    assert held.status_reason.startswith("Held for a clinician: the patient answered the health questions again")


def on_isotretinoin_now(treatment, now):
    """The patient, in another tab, answers that they now take isotretinoin."""
    services.screening_submit(
        treatment=treatment, email="alex@example.com", answers=rules.Answers(taking_isotretinoin=True), now=now
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_answers_that_arrive_while_the_patient_books_put_the_new_booking_on_hold(clock):
    """The booking has checked the answers it was made with and written its row; the patient's new answers, from
    another tab, look for bookings to hold before that row commits. They wait on the treatment's row the booking
    locked, so they find it and hold it, rather than leaving a confirmed booking their answers rule out."""
    microneedling = make_clinic()
    now = datetime.now(LONDON)
    clear = services.screening_submit(
        treatment=microneedling, email="alex@example.com", answers=rules.Answers(taking_isotretinoin=False), now=now
    )
    with interleaved(services, "appointment_book", lambda: on_isotretinoin_now(microneedling, now)):
        booked = services.screening_book(screening=clear, start=local(date(2026, 3, 10)), patient=patient(), now=now)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rules_change_while_the_patient_books_holds_the_booking_the_new_rules_rule_out(clock):
    """The booking has checked the rules version and written its row when the clinic lengthens the wait and weighs
    the bookings ahead again. The change waits on the policy's row the booking locked, so it finds the booking and
    holds it, rather than missing an uncommitted row that then commits confirmed under the old rules."""
    microneedling = make_clinic()
    clock.move_to(datetime(2026, 5, 20, 9, tzinfo=LONDON))
    now = datetime.now(LONDON)
    # A last dose on 1 December 2025: six months allow 2 June, seven do not (from 1 July).
    answers = rules.Answers(taking_isotretinoin=False, isotretinoin_recently=True, last_dose=date(2025, 12, 1))
    screening = services.screening_submit(treatment=microneedling, email="alex@example.com", answers=answers, now=now)

    def clinic_lengthens_the_wait():
        policy = ScreeningPolicy.objects.get(treatment=microneedling)
        policy.isotretinoin_wait_months = 7
        policy.save()  # a new rules version
        services.screened_bookings_follow_policy(treatment=microneedling, now=now)

    with interleaved(services, "appointment_book", clinic_lengthens_the_wait):
        booked = services.screening_book(screening=screening, start=local(date(2026, 6, 2)), patient=patient(), now=now)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.PENDING_REVIEW
    assert "changed its screening rules" in booked.status_reason
