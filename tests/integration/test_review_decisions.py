"""A clinician's decision on a booking held for review: approve confirms, decline frees the time."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core import mail

from booking import selectors, services
from booking.exceptions import DecisionRefused
from booking.models import Appointment, AppointmentEmail
from screening.models import Screening

from ..factories import make_practitioner, make_treatment, patient
from ..races import at_once

LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)
TEN = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)


def now():
    return datetime.now(LONDON)


@pytest.fixture
def held(clock, db):
    needling = make_treatment("microneedling", minutes=60, buffer=15, requires_screening=True)
    facial = make_treatment("hydrating-facial", minutes=45, safe_alternative=True)
    make_practitioner("Dr Okafor", treatments=[needling, facial])
    return services.appointment_book(
        treatment=needling, start=TEN, patient=patient(), now=now(), status=Appointment.Status.PENDING_REVIEW
    )


def test_approve_confirms_and_emails_the_calendar_file(held, commits):
    with commits(execute=True):
        services.appointment_approve(appointment=held, now=now(), decided_by="dr.okafor")
    held.refresh_from_db()
    assert held.status == Appointment.Status.CONFIRMED
    [message] = [m for m in mail.outbox if "confirmed" in m.subject]
    [event] = icalendar.Calendar.from_ical(message.attachments[0][1]).walk("VEVENT")
    assert event.decoded("dtstart") == TEN
    # The clinic's nudge to review it is answered: the diary no longer lists it as still to go.
    assert not held.emails.filter(kind=AppointmentEmail.Kind.REVIEW_DUE, state=AppointmentEmail.State.PENDING).exists()


def unsure_of_the_last_dose(appointment):
    """Put behind `appointment` the screening that held it: the patient was unsure of their last isotretinoin dose."""
    Screening.objects.create(
        treatment=appointment.treatment,
        email=appointment.patient_email,
        answers={"isotretinoin_recently": True, "last_dose_unsure": True},
        outcome=Screening.Outcome.REVIEW,
        reasons=[{"code": "isotretinoin_date_unsure", "text": "A clinician will check the dates."}],
        needs_review=True,
        rules_version=1,
        created_at=now(),
        expires_at=now() + timedelta(hours=2),
        used_at=now(),
        appointment=appointment,
    )


def test_decline_frees_the_time_and_offers_alternatives_without_health_details(held, commits):
    unsure_of_the_last_dose(held)  # the alternatives suit a patient waiting out isotretinoin
    assert not any(s.start == TEN for s in selectors.slots_on(treatment=held.treatment, day=TUESDAY, now=now()))
    with commits(execute=True):
        services.appointment_decline(appointment=held, reason="Isotretinoin course ended 2 months ago", now=now())
    held.refresh_from_db()
    assert held.status == Appointment.Status.DECLINED
    assert any(s.start == TEN for s in selectors.slots_on(treatment=held.treatment, day=TUESDAY, now=now()))
    [message] = [m for m in mail.outbox if m.subject.startswith("About your booking")]
    text = message.body + message.alternatives[0][0] + message.subject
    assert "Hydrating facial" in text and "/book/hydrating-facial/" in text
    for secret in ("isotretinoin", "Isotretinoin", "Accutane", "2 months"):
        assert secret not in text


def test_a_booking_without_a_screening_is_declined_with_a_call_not_treatments_to_book(held, commits, settings):
    settings.CLINIC_PHONE = "020 7946 0321"
    with commits(execute=True):
        services.appointment_decline(appointment=held, reason="Not suitable now", now=now())
    [message] = [m for m in mail.outbox if m.subject.startswith("About your booking")]
    assert "Hydrating facial" not in message.body and "Please call us on 020 7946 0321" in message.body


def test_decline_needs_a_reason(held):
    with pytest.raises(DecisionRefused, match="reason"):
        services.appointment_decline(appointment=held, reason="  ", now=now())
    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW


def test_a_decision_on_a_cancelled_booking_is_refused(held):
    services.appointment_cancel(appointment=held, now=now())
    with pytest.raises(DecisionRefused, match="already cancelled"):
        services.appointment_approve(appointment=held, now=now())
    with pytest.raises(DecisionRefused, match="already cancelled"):
        services.appointment_decline(appointment=held, reason="x", now=now())


def test_a_decision_after_the_time_has_passed_is_refused(held, clock):
    clock.move_to(TEN + timedelta(minutes=5))
    with pytest.raises(DecisionRefused, match="passed"):
        services.appointment_approve(appointment=held, now=now())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clinicians_deciding_at_once_record_one_decision(clock):
    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    make_practitioner("Dr Okafor", treatments=[needling])
    held = services.appointment_book(
        treatment=needling, start=TEN, patient=patient(), now=now(), status=Appointment.Status.PENDING_REVIEW
    )

    def decide(action):
        if action == "approve":
            services.appointment_approve(appointment=held, now=now())
        else:
            services.appointment_decline(appointment=held, reason="Not suitable today", now=now())
        return action

    outcomes = [
        "refused" if isinstance(o, DecisionRefused) else o
        for o in at_once(decide, ("approve", "decline"), refused=(DecisionRefused,))
    ]
    held.refresh_from_db()
    assert sorted(outcomes) in (["approve", "refused"], ["decline", "refused"])
    assert held.status == {"approve": "confirmed", "decline": "declined"}[next(o for o in outcomes if o != "refused")]
