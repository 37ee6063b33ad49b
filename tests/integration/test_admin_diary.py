"""Reception runs the diary in the admin: phone bookings and moves follow the patients' rules and send their emails."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.utils import timezone

from booking import services
from booking.models import Appointment

from ..factories import patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)  # the clock fixture stands at Monday 2 March 2026, 08:00
LIST = "/admin/booking/appointment/"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


@pytest.fixture
def reception(client):
    user = User.objects.create_user("reception", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Reception"))
    client.force_login(user)
    return client


def booked_online(treatment, start, email="alex@example.com"):
    appointment = services.appointment_book(
        treatment=treatment, start=start, patient=patient(email=email), now=timezone.now()
    )
    services.appointment_emails_dispatch(now=timezone.now())  # the confirmation goes
    mail.outbox.clear()
    return appointment


# --- Recording how a visit went -------------------------------------------------------------------------------------


@pytest.mark.parametrize("action, label", [("mark_completed", "completed"), ("mark_no_show", "no-show")])
def test_a_visit_ahead_cannot_be_marked_completed_or_no_show(reception, clock, facial, nurse, action, label):
    appointment = booked_online(facial, at(TUESDAY, 10))
    response = reception.post(LIST, {"action": action, "_selected_action": [appointment.pk]}, follow=True)
    page = response.content.decode()
    assert f"starts on 03 Mar at 10:00: it can be marked {label} only once it has started" in page
    assert "0 appointment(s) marked" in page
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED

    clock.move_to(at(TUESDAY, 10))
    response = reception.post(LIST, {"action": action, "_selected_action": [appointment.pk]}, follow=True)
    assert f"1 appointment(s) marked {label}" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == action.removeprefix("mark_")
