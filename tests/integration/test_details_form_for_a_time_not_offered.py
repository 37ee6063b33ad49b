"""Opening the details form for a time that cannot be booked says why (not "just been taken"), and offers free
times with what was typed kept: that day's, or the nearest day's that has some."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from booking.forms import slot_value
from booking.models import Appointment

from ..factories import booking_post, make_practitioner

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)  # the clock fixture's day, 08:00; the horizon (90 days) ends on Sunday 31 May 2026
TUESDAY = date(2026, 3, 3)


def local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def open_details(client, start):
    response = client.get("/book/hydrating-facial/details/", {"start": start})
    return response, response.content.decode()


def test_an_old_bookmark_for_a_past_time_says_it_has_passed_and_offers_todays_times(client, clock, nurse):
    response, page = open_details(client, "2020-01-01T09:00Z")
    assert response.status_code == 410
    assert "That time has passed." in page and "just been taken" not in page
    assert "Choose a time on Monday 2 March 2026" in page and slot_value(local(MONDAY, 11)) in page
    assert 'href="/book/hydrating-facial/?date=2026-03-02">Change time</a>' in page
    assert "?date=2020-01-01" not in page  # no link to a day the times page refuses
    assert "Please check the following" in page  # the error summary, linked to the message
    assert 'href="#id_start_0"' in page and 'id="id_start_0"' in page  # to the first time offered


def test_a_time_earlier_today_says_it_has_passed_and_offers_todays_free_times(client, clock, nurse):
    response, page = open_details(client, slot_value(local(MONDAY, 7)))
    assert response.status_code == 410
    assert "That time has passed." in page
    assert slot_value(local(MONDAY, 11)) in page and "Choose another time" in page


def test_a_time_within_the_minimum_notice_is_too_soon_to_book_online(client, clock, nurse):
    response, page = open_details(client, slot_value(local(MONDAY, 9)))  # two hours' notice: 10:00 onwards
    assert response.status_code == 410
    assert "That time is too soon to book online." in page and "just been taken" not in page
    assert slot_value(local(MONDAY, 11)) in page


def test_a_time_beyond_the_horizon_names_the_last_day_we_take_bookings_for(client, clock, nurse):
    response, page = open_details(client, slot_value(local(date(2026, 6, 2), 10)))
    assert response.status_code == 404
    assert "That time is further ahead than we take bookings (up to Sunday 31 May 2026, 09:00)." in page
    assert "Choose a time on Sunday 31 May 2026" in page and slot_value(local(date(2026, 5, 31), 9)) in page
    assert "just been taken" not in page


def test_a_time_beyond_the_horizon_offers_the_last_day_with_times_when_the_last_day_is_closed(client, clock, facial):
    make_practitioner("Nurse Ada", treatments=[facial], weekdays=range(5))  # Monday to Friday; 31 May is a Sunday
    response, page = open_details(client, slot_value(local(date(2026, 6, 2), 10)))
    assert response.status_code == 404
    assert "Choose a time on Friday 29 May 2026" in page and slot_value(local(date(2026, 5, 29), 10)) in page


def test_a_time_later_on_the_horizons_last_day_names_the_moment_bookings_end(client, clock, nurse):
    # The clock says Monday 2 March 08:00 (UTC): bookings run to 31 May 08:00 UTC, 09:00 in summer time.
    response, page = open_details(client, slot_value(local(date(2026, 5, 31), 15)))
    assert response.status_code == 404
    assert "(up to Sunday 31 May 2026, 09:00)" in page


def test_a_time_after_closing_says_we_are_not_open_and_offers_the_days_times(client, clock, nurse):
    response, page = open_details(client, slot_value(local(TUESDAY, 20)))
    assert response.status_code == 404
    assert "We are not open then." in page and "just been taken" not in page
    assert slot_value(local(TUESDAY, 10)) in page and "Choose another time" in page


def test_a_day_the_clinic_is_closed_says_so_and_offers_the_next_free_days_times(client, clock, facial):
    make_practitioner("Weekdays only", treatments=[facial], weekdays=[0, 1, 2, 3, 4])
    response, page = open_details(client, slot_value(local(date(2026, 3, 7), 10)))  # a Saturday
    assert response.status_code == 404
    assert "You chose Saturday 7 March at 10:00. We are not open then." in page  # the page shows Monday's times
    assert "Choose a time on Monday 9 March 2026" in page and slot_value(local(date(2026, 3, 9), 10)) in page


@pytest.mark.parametrize("hh, mm", [(10, 7), (16, 30)])  # off the 15-minute grid; too late to finish by 17:00
def test_a_time_off_the_grid_is_not_one_we_offer(client, clock, nurse, hh, mm):
    response, page = open_details(client, slot_value(local(TUESDAY, hh, mm)))
    assert response.status_code == 404
    assert "That time is not one we offer." in page and "just been taken" not in page
    assert slot_value(local(TUESDAY, 10)) in page


def test_a_free_time_still_opens_the_empty_form(client, clock, nurse):
    response, page = open_details(client, slot_value(local(TUESDAY, 10)))
    assert response.status_code == 200
    assert "Tuesday 3 March 2026, 10:00" in page and "Please check the following" not in page


CONFIRM = ">Confirm booking</button>"


@pytest.mark.parametrize(
    ("start", "says", "offered"),
    [
        ("2020-01-01T09:00Z", "That time has passed.", local(MONDAY, 11)),
        (slot_value(local(date(2026, 6, 15), 10)), "further ahead than we take bookings", local(date(2026, 5, 31), 9)),
    ],
)
def test_a_refused_time_keeps_the_details_and_confirm_books_a_time_on_the_nearest_day(
    client, clock, nurse, start, says, offered
):
    response = client.post("/book/hydrating-facial/details/", booking_post(start))
    page = response.content.decode()
    assert says in page and CONFIRM in page
    assert 'value="07700 900123"' in page  # what was typed is kept...
    again = client.post("/book/hydrating-facial/details/", booking_post(slot_value(offered)))  # ...and sent again
    assert again.status_code == 302
    assert Appointment.objects.get().start == offered


def test_a_closed_day_offers_the_next_free_days_times_and_the_confirm_button(client, clock, facial):
    make_practitioner("Nurse Ben", treatments=[facial], weekdays=range(5))
    response = client.post("/book/hydrating-facial/details/", booking_post(slot_value(local(date(2026, 3, 8), 10))))
    page = response.content.decode()
    assert "We are not open then." in page and "Choose a time on Monday 9 March 2026" in page
    assert CONFIRM in page


def test_with_no_free_time_anywhere_the_page_links_to_the_times_and_offers_no_confirm_button(client, clock, facial):
    make_practitioner("Nurse Ben", treatments=[], weekdays=range(7))  # nobody gives the facial
    response = client.post("/book/hydrating-facial/details/", booking_post(slot_value(local(TUESDAY, 10))))
    page = response.content.decode()
    assert 'href="/book/hydrating-facial/?date=2026-03-03">See the times you can book</a>' in page
    assert CONFIRM not in page  # pressing it would post no time: the typed details lost, with no word why


def test_a_refused_time_with_other_times_that_day_still_offers_them_and_the_confirm_button(client, clock, nurse):
    response = client.post("/book/hydrating-facial/details/", booking_post(slot_value(local(MONDAY, 7))))
    page = response.content.decode()
    assert "Choose another time" in page and CONFIRM in page


def test_a_closed_last_day_of_the_horizon_offers_the_last_day_before_it_with_times(client, clock, facial):
    make_practitioner(
        "Nurse Ada", treatments=[facial], weekdays=range(5)
    )  # 31 May, the horizon's last day, is a Sunday
    response, page = open_details(client, slot_value(local(date(2026, 5, 31), 8)))
    assert response.status_code == 404
    assert "Choose a time on Friday 29 May 2026" in page and CONFIRM in page
