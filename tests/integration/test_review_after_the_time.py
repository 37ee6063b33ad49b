"""A held booking nobody decided on before its time: it can no longer be approved, but a clinician declines it to
take it off the queue, with the reason on the record and no email to the patient about a time already gone."""

from datetime import date, timedelta

import pytest
from auditlog.models import LogEntry
from django.core import mail

from booking import services as booking_services
from booking.models import Appointment, AppointmentEmail

from ..factories import signed_in
from .screening_helpers import (
    QUEUE,
    book_held_for_review,
    local,
)

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)
LATE = "Not reviewed before the appointment time."


@pytest.fixture
def held_and_passed(client, clock, commits):
    """Held for review for Tuesday 10:00, and it is now Tuesday 10:05 with no decision."""
    appointment = book_held_for_review(client, commits, TUESDAY)
    clock.move_to(local(TUESDAY) + timedelta(minutes=5))
    return appointment


def review_url(appointment):
    return f"{QUEUE}{appointment.pk}/review/"


def test_the_queue_says_the_time_has_passed(client, held_and_passed):
    page = signed_in(client, "Clinician").get(QUEUE).content.decode()
    assert "Alex Morgan" in page and "Time passed: can only be declined" in page


def test_the_review_page_offers_only_a_decline_with_the_reason_filled_in(client, held_and_passed):
    page = signed_in(client, "Clinician").get(review_url(held_and_passed)).content.decode()
    assert 'name="approve"' not in page and 'name="decline"' in page
    assert "can no longer be approved" in page and "the patient is not emailed" in page
    assert LATE in page


def test_a_clinician_declines_it_it_leaves_the_queue_and_the_patient_gets_no_email(client, held_and_passed, commits):
    clinician = signed_in(client, "Clinician")
    with commits(execute=True):
        response = clinician.post(review_url(held_and_passed), {"decline": "1", "reason": LATE}, follow=True)
    page = response.content.decode()
    assert "Declined" in page and "not emailed" in page
    held_and_passed.refresh_from_db()
    assert held_and_passed.status == Appointment.Status.DECLINED and held_and_passed.status_reason == LATE
    booking_services.appointment_emails_dispatch(now=held_and_passed.start + timedelta(hours=1))
    assert mail.outbox == []
    assert not held_and_passed.emails.filter(kind=AppointmentEmail.Kind.DECLINED).exists()
    assert "Alex Morgan" not in clinician.get(QUEUE).content.decode()
    decision = LogEntry.objects.get_for_object(held_and_passed).filter(action=LogEntry.Action.UPDATE).latest("pk")
    assert decision.actor.username == "clinician-user" and "declined" in str(decision.changes)


def test_it_still_cannot_be_approved(client, held_and_passed):
    response = signed_in(client, "Clinician").post(review_url(held_and_passed), {"approve": "1"}, follow=True)
    assert "time has passed; no decision was recorded" in response.content.decode()
    held_and_passed.refresh_from_db()
    assert held_and_passed.status == Appointment.Status.PENDING_REVIEW


def test_the_bulk_decline_clears_it_too(client, held_and_passed, commits):
    with commits(execute=True):
        response = signed_in(client, "Clinician").post(
            QUEUE, {"action": "decline_selected", "_selected_action": [held_and_passed.pk], "reason": LATE}, follow=True
        )
    assert "1 booking(s) declined" in response.content.decode()
    held_and_passed.refresh_from_db()
    assert held_and_passed.status == Appointment.Status.DECLINED
    assert not held_and_passed.emails.filter(kind=AppointmentEmail.Kind.DECLINED).exists()


def test_reception_still_cannot_decline_it(client, held_and_passed):
    response = signed_in(client, "Reception").post(review_url(held_and_passed), {"decline": "1", "reason": LATE})
    assert response.status_code == 403
    held_and_passed.refresh_from_db()
    assert held_and_passed.status == Appointment.Status.PENDING_REVIEW
