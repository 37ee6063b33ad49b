"""The reschedule page opens on the day now booked, and asks for a time in plain words."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from booking import selectors, services
from booking.forms import slot_value
from booking.tokens import manage_token

from ..factories import patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def booked(facial, start):
    appointment = services.appointment_book(treatment=facial, start=start, patient=patient(), now=timezone.now())
    return appointment, manage_token(appointment.public_id)


def test_the_reschedule_page_opens_on_the_day_now_booked(client, clock, facial, nurse):
    day = selectors.today_local() + timedelta(days=10)
    _appointment, token = booked(facial, local(day, 10))
    response = client.get(f"/booking/{token}/reschedule/")
    page = response.content.decode()
    assert response.status_code == 200
    assert f'<h2 class="h4" id="day-heading">{day:%A} {day.day} {day:%B %Y}</h2>' in page
    assert slot_value(local(day, 14)) in page
    assert slot_value(local(selectors.today_local(), 14)) not in page


def test_moving_without_choosing_a_time_asks_for_one_in_plain_words(client, clock, facial, nurse):
    day = selectors.today_local() + timedelta(days=10)
    appointment, token = booked(facial, local(day, 10))
    response = client.post(f"/booking/{token}/reschedule/", {})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Please choose a time." in page and "This field is required" not in page
    assert 'href="#id_start_0"' in page  # the error summary links to the first time
    assert slot_value(local(day, 14)) in page  # still the booked day's times to choose from
    appointment.refresh_from_db()
    assert appointment.start == local(day, 10)
