"""'Next free day' near the end of the booking horizon stays on the day and says where online booking ends."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from booking import selectors

from ..factories import make_practitioner

pytestmark = pytest.mark.django_db


def last_bookable_day():
    return selectors.bookable_days(timezone.now())[1]


@pytest.fixture
def nothing_free_on_the_last_days(clock, facial):
    """A practitioner who works every day but the horizon's last two (by weekday), from the clinic's clock."""
    last = last_bookable_day()
    off = {last.weekday(), (last - timedelta(days=1)).weekday()}
    return make_practitioner("Most days", treatments=[facial], weekdays=[d for d in range(7) if d not in off])


def test_next_free_day_with_nothing_left_before_the_horizon_stays_on_the_day_and_names_the_last_day(
    client, nothing_free_on_the_last_days
):
    last = last_bookable_day()
    after = last - timedelta(days=2)
    response = client.get("/book/hydrating-facial/next/", {"after": after.isoformat()}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain == [(f"/book/hydrating-facial/?date={after.isoformat()}", 302)]
    assert f"There are no free times after {date_format(after, 'l j F')}" in page
    assert f"we take bookings online up to {date_format(last, 'l j F Y')}" in page
    assert "no free times in the diary yet" not in page
    assert date_format(after, "l j F Y") in page  # still the day the patient was looking at


def test_next_free_day_from_the_last_day_stays_there(client, clock, nurse):
    last = last_bookable_day()
    response = client.get("/book/hydrating-facial/next/", {"after": last.isoformat()}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain == [(f"/book/hydrating-facial/?date={last.isoformat()}", 302)]
    assert f"We take bookings online up to {date_format(last, 'l j F Y')}" in page
    assert "no free times in the diary yet" not in page


def test_the_last_days_with_nothing_free_say_where_online_booking_ends_not_that_times_are_coming(
    client, nothing_free_on_the_last_days
):
    last = last_bookable_day()
    page = client.get("/book/hydrating-facial/", {"date": (last - timedelta(days=1)).isoformat()}).content.decode()
    assert f"No free times from this day to {date_format(last, 'l j F')}</strong>, the last day we take" in page
    page = client.get("/book/hydrating-facial/", {"date": last.isoformat()}).content.decode()
    assert "No free times on this day</strong>, the last day we take bookings for online." in page
    assert "coming weeks" not in page
