"""A clinician cannot approve a held booking the diary no longer has room for: its practitioner now away, inactive,
no longer giving the treatment or no longer working then. The patient would be emailed "confirmed" for a visit
nobody will give; the review page says why and what to do instead, and nothing is recorded."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core import mail
from django.test import Client

from booking import services
from booking.exceptions import DecisionRefused
from booking.models import Appointment, Practitioner, TimeOff, WorkingHours

from ..factories import booked_by_phone, signed_in
from .screening_helpers import LONDON, QUEUE, local, make_clinic

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def held(clock, db):
    """A microneedling booking at 10:00 on Tuesday with Nurse Ben, held for a clinician (a phone booking)."""
    booked = booked_by_phone(make_clinic(), local(TUESDAY, 10))
    assert booked.status == Appointment.Status.PENDING_REVIEW
    return booked


def away_on_tuesday(appointment):
    TimeOff.objects.create(
        practitioner=appointment.practitioner,
        start=datetime.combine(TUESDAY, time(0), tzinfo=LONDON),
        end=datetime.combine(TUESDAY, time(23, 59), tzinfo=LONDON),
        reason="Training",
    )


def inactive(appointment):
    Practitioner.objects.filter(pk=appointment.practitioner_id).update(active=False)


def no_longer_gives_it(appointment):
    appointment.practitioner.treatments.remove(appointment.treatment)


def afternoons_only(appointment):
    WorkingHours.objects.filter(practitioner=appointment.practitioner).update(start_time=time(13))


@pytest.mark.parametrize(
    "change, says",
    [
        (away_on_tuesday, "Nurse Ben is away from 03 Mar 00:00 to 03 Mar 23:59."),
        (inactive, "Nurse Ben is no longer active."),
        (no_longer_gives_it, "Nurse Ben no longer gives Microneedling."),
        (afternoons_only, "Nurse Ben no longer works at that time."),
    ],
)
def test_approval_is_refused_with_the_reason_and_the_patient_is_not_told_confirmed(held, commits, change, says):
    change(held)
    mail.outbox.clear()
    with commits(execute=True), pytest.raises(DecisionRefused, match=says):
        services.appointment_approve(appointment=held, now=datetime.now(LONDON))
    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW
    assert not [m for m in mail.outbox if "confirmed" in m.subject]


def test_the_review_page_says_why_instead_of_offering_approve(held):
    away_on_tuesday(held)
    page = signed_in(Client(), "Clinician").get(f"{QUEUE}{held.pk}/review/").content.decode()
    assert "This booking cannot be approved as it stands." in page and "Nurse Ben is away" in page
    assert 'name="approve"' not in page and 'name="decline"' in page
    assert f'<a href="/admin/booking/appointment/{held.pk}/change/">Move it to another practitioner' in page


def test_a_booking_in_a_closure_is_to_be_moved_to_a_time_the_clinic_is_open(held):
    TimeOff.objects.create(
        practitioner=None, start=held.start - timedelta(hours=2), end=held.start + timedelta(hours=8)
    )
    page = signed_in(Client(), "Clinician").get(f"{QUEUE}{held.pk}/review/").content.decode()
    assert "The clinic is closed from" in page
    change = f"/admin/booking/appointment/{held.pk}/change/"
    assert f'<a href="{change}">Move it to a time the clinic is open in the diary</a>' in page


def test_a_booking_moved_to_a_colleague_who_is_there_can_be_approved(held):
    away_on_tuesday(held)
    colleague = Practitioner.objects.create(name="Nurse Ada")
    colleague.treatments.add(held.treatment)
    WorkingHours.objects.create(
        practitioner=colleague, weekday=TUESDAY.weekday(), start_time=time(9), end_time=time(17)
    )
    moved = services.appointment_staff_move(
        appointment=held, start=held.start, practitioner=colleague, now=datetime.now(LONDON)
    )
    approved = services.appointment_approve(appointment=moved, now=datetime.now(LONDON))
    assert approved.status == Appointment.Status.CONFIRMED


def test_hours_split_into_touching_windows_still_hold_a_booking_across_the_join(clock, db):
    # Availability joins 09:00-13:00 and 13:00-17:00; neither the approval nor the hours warning may split them.
    booked = booked_by_phone(make_clinic(), local(TUESDAY, 12, 30))
    hours = WorkingHours.objects.get(practitioner=booked.practitioner, weekday=TUESDAY.weekday())
    hours.end_time = time(13)
    hours.save()
    WorkingHours.objects.create(
        practitioner=booked.practitioner, weekday=TUESDAY.weekday(), start_time=time(13), end_time=time(17)
    )
    assert Appointment.objects.outside_hours(booked.practitioner_id) == []
    approved = services.appointment_approve(appointment=booked, now=datetime.now(LONDON))
    assert approved.status == Appointment.Status.CONFIRMED
