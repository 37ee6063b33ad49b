"""The reschedule page opens on the day now booked, and asks for a time in plain words."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from booking import selectors, services
from booking.forms import slot_value
from booking.tokens import manage_token

from ..factories import make_practitioner, patient

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


def test_browsing_days_to_move_to_is_not_throttled_only_moving_is(client, clock, facial, nurse, throttle):
    # The default limits: a patient looking through two months of days is not locked out.
    day = selectors.today_local() + timedelta(days=3)
    appointment, token = booked(facial, local(day, 10))
    url = f"/booking/{token}/reschedule/"
    for offset in range(60):
        assert client.get(url, {"date": f"{day + timedelta(days=offset):%Y-%m-%d}"}).status_code == 200
    # Moves are still counted: someone trying time after time with a link is held back.
    statuses = [client.post(url, {"start": slot_value(local(day, 10))}).status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429  # 400: the time it already has
    appointment.refresh_from_db()
    assert appointment.start == local(day, 10)


def test_the_reschedule_page_jumps_to_the_next_free_day_past_closed_and_full_days(client, clock, facial):
    # Open Tuesdays, Wednesdays and Thursdays, one time a day (10:00-11:00 for a 45-minute facial and its buffer).
    make_practitioner("Nurse Ben", treatments=[facial], weekdays=[1, 2, 3], opens=time(10), closes=time(11))
    tuesday = selectors.today_local() + timedelta(days=8)  # Tuesday 10 March
    assert tuesday.weekday() == 1
    services.appointment_book(
        treatment=facial,
        start=local(tuesday + timedelta(days=1), 10),
        patient=patient("Sam Carter"),
        now=timezone.now(),
    )
    _appointment, token = booked(facial, local(tuesday + timedelta(days=2), 10))  # the patient's own: Thursday
    page = client.get(f"/booking/{token}/reschedule/", {"date": f"{tuesday:%Y-%m-%d}"}).content.decode()
    # Wednesday is full; Thursday's time is the patient's own, theirs to keep or move from.
    assert f'href="?date={tuesday + timedelta(days=2):%Y-%m-%d}">Next free day' in page
    page = client.get(f"/booking/{token}/reschedule/", {"date": f"{tuesday + timedelta(days=2):%Y-%m-%d}"})
    assert f'href="?date={tuesday + timedelta(days=7):%Y-%m-%d}">Next free day' in page.content.decode()


def test_a_time_on_a_day_the_clinic_has_since_closed_says_so_and_shows_that_day(client, clock, facial, nurse):
    from booking.models import TimeOff

    day, closed_day = selectors.today_local() + timedelta(days=10), selectors.today_local() + timedelta(days=12)
    appointment, token = booked(facial, local(day, 10))
    TimeOff.objects.create(practitioner=None, start=local(closed_day, 0), end=local(closed_day + timedelta(days=1), 0))
    response = client.post(f"/booking/{token}/reschedule/", {"start": slot_value(local(closed_day, 11))})
    page = response.content.decode()
    assert response.status_code == 400
    assert "We are not open then." in page and "That time is not available" not in page
    assert f'<h2 class="h4" id="day-heading">{closed_day:%A} {closed_day.day} {closed_day:%B %Y}</h2>' in page
    before = closed_day - timedelta(days=1)
    assert f"?date={before:%Y-%m-%d}" in page  # the link to the day before is that day's, not the one booked
    appointment.refresh_from_db()
    assert appointment.start == local(day, 10)
