"""Bookings the diary no longer has room for (time off or a closure over them, working hours cut short under them, a
practitioner made inactive or no longer giving the treatment) stay on reception's list until each is moved or
cancelled, and their reminders are held back: no "see you on Wednesday" to a clinic closed that day."""

from datetime import date, datetime, time

import pytest
from django.core import mail
from django.utils import timezone

from booking import services
from booking.models import AppointmentEmail, TimeOff, Weekday, WorkingHours

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


@pytest.mark.usefixtures("a_day_before")
def test_working_hours_cut_short_under_a_booking_put_it_on_the_list_and_its_reminder_waits(
    reception, clock, facial, nurse
):
    late = booked_by_phone(facial, at(WEDNESDAY, 15), name="Pat Late", email="p@example.com")
    booked_by_phone(facial, at(WEDNESDAY, 11), name="Kim Kept", email="k@example.com")
    services.appointment_emails_dispatch(now=timezone.now())  # the confirmations

    WorkingHours.objects.filter(practitioner=nurse, weekday=Weekday.WEDNESDAY).update(end_time=time(13))

    assert listed(reception) == ["Pat Late"]
    assert (
        "1 upcoming booking falls in time off or a closure, outside working hours"
        in reception.get("/admin/").content.decode()
    )
    clock.move_to(at(date(2026, 3, 3), 16))
    mail.outbox.clear()
    services.appointment_emails_dispatch(now=timezone.now())
    assert [m.subject for m in mail.outbox if m.subject.startswith("Reminder")] == [
        "Reminder: Hydrating facial tomorrow at 11:00"
    ]

    services.appointment_staff_move(appointment=late, practitioner=nurse, start=at(WEDNESDAY, 12), now=timezone.now())
    assert listed(reception) == []


def test_a_visit_across_two_touching_windows_is_within_hours_on_either_side_of_the_clock_change(
    reception, clock, facial, nurse
):
    """A split day whose halves meet (09:00-13:00, 13:00-17:00) is one stretch of work, as availability offers it;
    and hours are kept on the clinic's clock, so 09:00 in summer (08:00 UTC) is within them."""
    WorkingHours.objects.filter(practitioner=nurse, weekday=Weekday.WEDNESDAY).update(end_time=time(13))
    WorkingHours.objects.create(practitioner=nurse, weekday=Weekday.WEDNESDAY, start_time=time(13), end_time=time(17))
    summer_wednesday = date(2026, 4, 1)  # the clocks went forward on Sunday 29 March
    booked_by_phone(facial, at(WEDNESDAY, 12, 30), name="Across Lunch", email="a@example.com")
    booked_by_phone(facial, at(summer_wednesday, 9), name="First Thing", email="f@example.com")
    booked_by_phone(facial, at(summer_wednesday, 16, 15), name="Last Thing", email="l@example.com")
    assert listed(reception) == []

    WorkingHours.objects.filter(practitioner=nurse, weekday=Weekday.WEDNESDAY, start_time=time(13)).update(
        start_time=time(13, 30)
    )
    assert sorted(listed(reception)) == ["Across Lunch"]
    WorkingHours.objects.filter(practitioner=nurse, weekday=Weekday.WEDNESDAY, start_time=time(9)).update(
        start_time=time(9, 30)
    )
    assert sorted(listed(reception)) == ["Across Lunch", "First Thing"]
