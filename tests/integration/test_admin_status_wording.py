"""The appointments list's status actions say, in plain words, what they did and why they did nothing."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from booking import services
from booking.models import Appointment

from ..factories import patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
LIST = "/admin/booking/appointment/"
TEN_ON_TUESDAY = datetime.combine(date(2026, 3, 3), time(10), tzinfo=LONDON)


def shown(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


@pytest.fixture
def no_show(clock, facial, nurse):
    appointment = services.appointment_book(
        treatment=facial, start=TEN_ON_TUESDAY, patient=patient(), now=timezone.now()
    )
    clock.move_to(TEN_ON_TUESDAY.replace(hour=11))
    services.appointment_change_status(appointment=appointment, status="no_show", now=timezone.now())
    return appointment


def test_cancelling_a_no_show_says_so_in_words_and_that_nothing_changed(reception, no_show):
    response = reception.post(
        LIST, {"action": "cancel_for_patient", "_selected_action": [no_show.pk], "post": "yes"}, follow=True
    )

    assert shown(response) == [
        (
            "warning",
            f"{no_show}: This booking is marked as a no-show and can no longer be cancelled.",
        ),
        ("warning", "No appointment was changed."),
    ]
    no_show.refresh_from_db()
    assert no_show.status == Appointment.Status.NO_SHOW


@pytest.fixture
def cancelled(clock, facial, nurse):
    """A booking at 10:00 on Tuesday, cancelled by the clinic before it; the clock still before it."""
    appointment = services.appointment_book(
        treatment=facial, start=TEN_ON_TUESDAY, patient=patient(), now=timezone.now()
    )
    services.appointment_change_status(
        appointment=appointment, status="cancelled", now=timezone.now(), cancelled_by="clinic"
    )
    return appointment


def test_a_cancelled_booking_cannot_be_marked_as_a_no_show(reception, clock, cancelled):
    clock.move_to(TEN_ON_TUESDAY.replace(hour=11))

    response = reception.post(LIST, {"action": "mark_no_show", "_selected_action": [cancelled.pk]}, follow=True)

    page = response.content.decode()
    assert "This booking is cancelled and can no longer be marked as a no-show." in page
    assert "No appointment was changed." in page


def test_a_no_show_recorded_by_mistake_can_be_corrected_to_completed_and_back(reception, no_show):
    reception.post(LIST, {"action": "mark_completed", "_selected_action": [no_show.pk]})
    no_show.refresh_from_db()
    assert no_show.status == Appointment.Status.COMPLETED
    reception.post(LIST, {"action": "mark_no_show", "_selected_action": [no_show.pk]})
    no_show.refresh_from_db()
    assert no_show.status == Appointment.Status.NO_SHOW


def test_a_cancelled_booking_ahead_is_not_promised_a_completed_mark_later(reception, cancelled):
    response = reception.post(LIST, {"action": "mark_completed", "_selected_action": [cancelled.pk]}, follow=True)
    page = response.content.decode()
    assert "This booking is cancelled and can no longer be marked completed." in page
    assert "only once it has started" not in page
