"""The booking's date of birth is weighed against the screening: when they conflict, or the patient is a child, a
clinician decides (the booking is held), as the clinic's rule says for conflicting answers."""

from datetime import date

import pytest
from django.core import mail

from booking.models import Appointment
from screening.models import Screening

from .screening_helpers import book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)
CLEAR_AFTER_A_DOSE = {"isotretinoin_recently": "yes", "last_dose": "2025-08-01"}  # six months over on 1 Feb 2026


@pytest.fixture
def microneedling(db):
    return make_clinic()


def test_a_date_of_birth_after_the_last_dose_is_held_for_a_clinician(client, clock, microneedling, commits):
    screen(client, **CLEAR_AFTER_A_DOSE)
    screening = latest_screening()
    assert screening.outcome == Screening.Outcome.CLEAR

    response = book(client, commits, local(TUESDAY), token_of(screening), date_of_birth="2025-09-01")
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    assert "A clinician will look at your answers" in client.get(response["Location"]).content.decode()
    assert not any("confirmed" in message.subject.lower() for message in mail.outbox)
    screening.refresh_from_db()
    reasons = " ".join(reason["text"] for reason in screening.reasons)
    assert "date of birth you gave is after the isotretinoin dates" in reasons


def test_the_clinician_sees_why_a_date_of_birth_booking_is_held(client, admin_client, clock, microneedling, commits):
    screen(client, **CLEAR_AFTER_A_DOSE)
    book(client, commits, local(TUESDAY), token_of(latest_screening()), date_of_birth="2025-09-01")
    appointment = Appointment.objects.get()
    page = admin_client.get(f"/admin/screening/flaggedbooking/{appointment.pk}/review/").content.decode()
    assert "born 1 Sep 2025" in page and "date of birth you gave is after the isotretinoin dates" in page
    assert (
        "Date of birth after the isotretinoin dates"
        in admin_client.get("/admin/screening/flaggedbooking/").content.decode()
    )


def test_a_child_is_held_for_a_clinician_and_an_adult_on_the_day_is_not(client, clock, microneedling, commits):
    screen(client)
    book(client, commits, local(TUESDAY), token_of(latest_screening()), date_of_birth="2026-03-01")
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW
    assert "under 18 on the day" in latest_screening().reasons[-1]["text"]

    screen(client)  # 18 on the day of the appointment: confirmed
    book(client, commits, local(TUESDAY, 14), token_of(latest_screening()), date_of_birth="2008-03-03")
    assert Appointment.objects.latest("start").status == Appointment.Status.CONFIRMED


def test_moving_a_screened_booking_to_a_day_the_patient_is_under_18_holds_it(client, clock, microneedling, commits):
    from booking.forms import slot_value
    from booking.tokens import manage_token

    screen(client)
    book(client, commits, local(date(2026, 3, 10)), token_of(latest_screening()), date_of_birth="2008-03-05")
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.CONFIRMED  # 18 on 5 March
    token = manage_token(appointment.public_id)
    with commits(execute=True):
        response = client.post(
            f"/booking/{token}/reschedule/?date=2026-03-04", {"start": slot_value(local(date(2026, 3, 4)))}
        )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == local(date(2026, 3, 4)) and appointment.status == Appointment.Status.PENDING_REVIEW
