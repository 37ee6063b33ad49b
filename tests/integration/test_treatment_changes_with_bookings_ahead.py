"""A clinic that changes a treatment with bookings ahead: the bookings stand as they were made. Lengthening a
treatment used to stretch each booking already in the diary over the next one on its next save (an approval, a
hold, a cancellation): a double booking on SQLite, a 500 on PostgreSQL that lost a patient's new answers."""

from datetime import date

import pytest
from django.core import mail
from django.utils import timezone

from booking import services
from booking.exceptions import SlotUnavailable
from booking.models import Appointment, Treatment

from ..factories import booked_by_phone, make_practitioner, make_treatment
from .screening_helpers import local, make_clinic

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def held_then_a_facial_right_after(db):
    """A held microneedling booking 10:00-11:00 (busy to 11:15) and a facial booked at 11:15 with the same nurse."""
    microneedling = make_clinic()
    held = booked_by_phone(microneedling, local(TUESDAY, 10))
    booked_by_phone(Treatment.objects.get(slug="hydrating-facial"), local(TUESDAY, 11, 15), name="Sam Lee")
    Treatment.objects.filter(pk=microneedling.pk).update(duration_minutes=120)  # the clinic lengthens it
    return Appointment.objects.get(pk=held.pk)


def test_approving_a_booking_made_before_a_treatment_was_lengthened_keeps_its_time(
    clock, held_then_a_facial_right_after, commits
):
    with commits(execute=True):
        approved = services.appointment_approve(appointment=held_then_a_facial_right_after, now=timezone.now())
    approved.refresh_from_db()
    assert approved.status == Appointment.Status.CONFIRMED
    assert (approved.end, approved.busy_until) == (local(TUESDAY, 11), local(TUESDAY, 11, 15))
    assert not Appointment.objects.clashing_with(approved).exists()
    [email] = [m for m in mail.outbox if m.subject.startswith("Your appointment is confirmed: Microneedling")]
    assert "10:00 to 11:00" in email.body


def test_cancelling_one_keeps_the_time_it_was_booked_for_in_the_email(clock, held_then_a_facial_right_after, commits):
    with commits(execute=True):
        services.appointment_change_status(
            appointment=held_then_a_facial_right_after,
            status=Appointment.Status.CANCELLED,
            now=timezone.now(),
            cancelled_by=services.CancelledBy.CLINIC,
        )
    [email] = [m for m in mail.outbox if "cancel" in m.subject.lower()]
    assert "10:00 to 11:00" in email.body


def test_a_booking_moved_after_the_change_takes_the_new_length_and_is_checked_for_it(clock):
    # A guard (it passed before the fix too): keeping a booking's length must not keep it through a move.
    facial = make_treatment(minutes=45)
    nurse = make_practitioner(treatments=[facial])
    first = booked_by_phone(facial, local(TUESDAY, 9))
    booked_by_phone(facial, local(TUESDAY, 12), name="Sam Lee")
    Treatment.objects.filter(pk=facial.pk).update(duration_minutes=120)
    with pytest.raises(SlotUnavailable):  # 10:30 + 2 hours runs into Sam at 12:00
        services.appointment_staff_move(
            appointment=first, start=local(TUESDAY, 10, 30), practitioner=nurse, now=timezone.now()
        )
    moved = services.appointment_staff_move(
        appointment=first, start=local(TUESDAY, 9, 30), practitioner=nurse, now=timezone.now()
    )
    assert moved.end == local(TUESDAY, 11, 30)


def treatment_form(treatment, **changes):
    data = {
        "name": treatment.name,
        "slug": treatment.slug,
        "description": treatment.description,
        "duration_minutes": treatment.duration_minutes,
        "buffer_after_minutes": treatment.buffer_after_minutes,
        "price": treatment.price,
        "display_order": treatment.display_order,
        **({"active": "on"} if treatment.active else {}),
        **({"requires_screening": "on"} if treatment.requires_screening else {}),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    "changes, told",
    [
        ({"duration_minutes": 90}, "1 booking(s) of Hydrating facial ahead keep the length they were booked with"),
        ({"requires_screening": "on"}, "1 booking(s) of Hydrating facial ahead were made without the health questions"),
        ({"active": None}, "Hydrating facial is no longer offered for new bookings. Its 1 booking(s) ahead stand"),
    ],
)
def test_staff_who_change_a_treatment_with_bookings_ahead_are_told_what_happens_to_them(
    admin_client, clock, changes, told
):
    facial = make_treatment(minutes=45)
    make_practitioner(treatments=[facial])
    booked_by_phone(facial, local(TUESDAY, 10))
    response = admin_client.post(
        f"/admin/booking/treatment/{facial.pk}/change/", treatment_form(facial, **changes), follow=True
    )
    assert told in response.content.decode()


def test_staff_can_move_a_booking_of_a_treatment_no_longer_offered(clock):
    facial = make_treatment(minutes=45)
    nurse = make_practitioner(treatments=[facial])
    booked = booked_by_phone(facial, local(TUESDAY, 10))
    Treatment.objects.filter(pk=facial.pk).update(active=False)
    moved = services.appointment_staff_move(
        appointment=booked, start=local(TUESDAY, 14), practitioner=nurse, now=timezone.now()
    )
    assert moved.start == local(TUESDAY, 14)


def test_reception_can_move_a_booking_to_a_colleague_once_the_treatment_is_shorter(clock):
    # 60 minutes when booked with Ann at 10:00; Ben is busy from 10:30. Shortened to 30, it fits Ben at 10:00.
    from django.test import Client

    from ..factories import signed_in
    from .test_admin_diary import change_url, edit_form

    facial = make_treatment(minutes=60)
    ann = make_practitioner("Nurse Ann", treatments=[facial])
    ben = make_practitioner("Nurse Ben", treatments=[facial])
    booked = booked_by_phone(facial, local(TUESDAY, 10), practitioner=ann)
    booked_by_phone(facial, local(TUESDAY, 10, 30), practitioner=ben, name="Sam Lee")
    Treatment.objects.filter(pk=facial.pk).update(duration_minutes=30)
    booked.refresh_from_db()
    reception = signed_in(Client(), "Reception")
    response = reception.post(change_url(booked), edit_form(booked, practitioner=ben.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    booked.refresh_from_db()
    assert (booked.practitioner, booked.end) == (ben, local(TUESDAY, 10, 30))


def test_reception_is_told_when_a_move_gives_a_booking_the_treatments_new_length(clock):
    from django.test import Client

    from ..factories import signed_in
    from .test_admin_diary import change_url, edit_form

    facial = make_treatment(minutes=60)
    ann = make_practitioner("Nurse Ann", treatments=[facial])
    ben = make_practitioner("Nurse Ben", treatments=[facial])
    booked = booked_by_phone(facial, local(TUESDAY, 10), practitioner=ann)
    Treatment.objects.filter(pk=facial.pk).update(duration_minutes=90)
    booked.refresh_from_db()
    response = signed_in(Client(), "Reception").post(
        change_url(booked), edit_form(booked, practitioner=ben.pk), follow=True
    )
    assert (
        "This booking now takes Hydrating facial&#x27;s current length, 90 minutes, to 11:30; it was booked for 60."
        in response.content.decode()
    )
