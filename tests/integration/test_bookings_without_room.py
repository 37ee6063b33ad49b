"""Bookings the diary no longer has room for (time off or a closure over them, a practitioner made inactive or no
longer giving the treatment) stay on reception's list until each is moved or cancelled, and their reminders are held
back: no "see you on Wednesday" to a clinic closed that day."""

from datetime import date, datetime, time

import pytest
from django.core import mail
from django.utils import timezone

from booking import services
from booking.models import AppointmentEmail, TimeOff

from ..factories import booked_by_phone, make_practitioner
from .test_reminders_appointment import LONDON, a_day_before  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
WEDNESDAY, THURSDAY = date(2026, 3, 4), date(2026, 3, 5)  # the clock fixture stands at Monday 2 March 2026, 08:00
LISTED = "/admin/booking/appointment/?room=none"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def listed(client) -> list[str]:
    return [each.patient_name for each in client.get(LISTED).context["cl"].result_list]


def test_a_closure_time_off_or_a_practitioner_who_left_puts_the_booking_on_the_list(reception, clock, facial, nurse):
    colleague = make_practitioner("Dr Ada", treatments=[facial])
    closed = booked_by_phone(facial, at(WEDNESDAY, 10), practitioner=nurse, name="Sam Closed", email="s@example.com")
    away = booked_by_phone(facial, at(THURSDAY, 10), practitioner=nurse, name="Jo Away", email="j@example.com")
    booked_by_phone(facial, at(THURSDAY, 11), practitioner=colleague, name="Ray Left", email="r@example.com")
    booked_by_phone(facial, at(THURSDAY, 14), practitioner=nurse, name="Kim Kept", email="k@example.com")
    assert listed(reception) == []
    assert "Bookings to move" not in reception.get("/admin/").content.decode()

    TimeOff.objects.create(practitioner=None, start=at(WEDNESDAY, 0), end=at(THURSDAY, 0), reason="Bank holiday")
    TimeOff.objects.create(practitioner=nurse, start=at(THURSDAY, 9), end=at(THURSDAY, 12))
    colleague.active = False
    colleague.save()

    assert sorted(listed(reception)) == sorted(["Sam Closed", "Jo Away", "Ray Left"])
    home = reception.get("/admin/").content.decode()
    assert (
        "3 upcoming bookings fall in time off or a closure" in home
        and 'href="/admin/booking/appointment/?room=none"' in home
    )

    services.appointment_staff_move(appointment=closed, practitioner=nurse, start=at(THURSDAY, 15), now=timezone.now())
    services.appointment_change_status(appointment=away, status="cancelled", now=timezone.now(), cancelled_by="clinic")
    assert listed(reception) == ["Ray Left"]


@pytest.mark.usefixtures("a_day_before")
def test_the_reminder_of_a_booking_in_a_closure_is_held_back_and_one_moved_out_is_sent(clock, facial, nurse):
    booking = booked_by_phone(facial, at(WEDNESDAY, 10))
    TimeOff.objects.create(practitioner=None, start=at(WEDNESDAY, 0), end=at(THURSDAY, 0), reason="Bank holiday")
    services.appointment_emails_dispatch(now=timezone.now())  # the confirmation, sent before the closure mattered
    mail.outbox.clear()

    clock.move_to(at(date(2026, 3, 3), 10))
    services.appointment_emails_dispatch(now=timezone.now())
    assert [m.subject for m in mail.outbox if m.subject.startswith("Reminder")] == []
    assert booking.emails.get(kind=AppointmentEmail.Kind.REMINDER).state == AppointmentEmail.State.PENDING  # waits

    services.appointment_staff_move(appointment=booking, practitioner=nurse, start=at(THURSDAY, 15), now=timezone.now())
    clock.move_to(at(WEDNESDAY, 15))
    services.appointment_emails_dispatch(now=timezone.now())
    assert [m.subject for m in mail.outbox if m.subject.startswith("Reminder")] == [
        "Reminder: Hydrating facial tomorrow at 15:00"
    ]


def test_staff_who_cannot_see_the_diary_are_not_shown_the_count(client, clock, facial, nurse):
    from django.contrib.auth.models import User

    booked_by_phone(facial, at(WEDNESDAY, 10))
    TimeOff.objects.create(practitioner=None, start=at(WEDNESDAY, 0), end=at(THURSDAY, 0))
    client.force_login(User.objects.create_user("auditor", password="x", is_staff=True))
    assert "Bookings to move" not in client.get("/admin/").content.decode()


@pytest.mark.usefixtures("a_day_before")
def test_a_reminder_held_by_a_closure_entered_by_mistake_goes_once_it_is_deleted(clock, facial, nurse):
    booked_by_phone(facial, at(WEDNESDAY, 10))
    closure = TimeOff.objects.create(practitioner=None, start=at(WEDNESDAY, 0), end=at(THURSDAY, 0))
    services.appointment_emails_dispatch(now=timezone.now())
    clock.move_to(at(date(2026, 3, 3), 10))
    services.appointment_emails_dispatch(now=timezone.now())
    assert not [m for m in mail.outbox if m.subject.startswith("Reminder")]

    closure.delete()
    clock.move_to(at(date(2026, 3, 3), 12))
    services.appointment_emails_dispatch(now=timezone.now())
    assert [m.subject for m in mail.outbox if m.subject.startswith("Reminder")] == [
        "Reminder: Hydrating facial tomorrow at 10:00"
    ]


@pytest.mark.usefixtures("a_day_before")
def test_a_reminder_held_until_the_visit_passed_is_never_sent(clock, facial, nurse):
    booking = booked_by_phone(facial, at(WEDNESDAY, 10))
    TimeOff.objects.create(practitioner=None, start=at(WEDNESDAY, 0), end=at(THURSDAY, 0))
    clock.move_to(at(THURSDAY, 9))
    services.appointment_emails_dispatch(now=timezone.now())
    assert not [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert booking.emails.get(kind=AppointmentEmail.Kind.REMINDER).state == AppointmentEmail.State.SKIPPED
