"""One screening backs one booking, even when two tabs submit it at the same moment."""

import threading
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection

from booking.models import Appointment
from screening import rules, services
from screening.exceptions import ScreeningInvalid
from screening.models import Screening

from ..factories import patient
from ..races import at_once
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

    def on_isotretinoin_now():
        try:
            services.screening_submit(
                treatment=microneedling,
                email="alex@example.com",
                answers=rules.Answers(taking_isotretinoin=True),
                now=now,
            )
        finally:
            connection.close()

    patient_tab = threading.Thread(target=on_isotretinoin_now)
    checked = services.screened_booking_allows

    def checked_then_the_patient_answers(appointment, **kwargs):
        verdict = checked(appointment, **kwargs)
        patient_tab.start()
        patient_tab.join(2)  # the answers commit now, unless they must wait for this approval
        return verdict

    with mock.patch.object(services, "screened_booking_allows", checked_then_the_patient_answers):
        services.screened_booking_approve(appointment=held, now=now, decided_by="clinician")
    patient_tab.join(30)
    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW
    assert held.status_reason.startswith("Held for a clinician: the patient answered the health questions again")
