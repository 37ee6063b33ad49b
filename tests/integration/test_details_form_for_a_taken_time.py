"""Found by `make bench`: opening the details form for a time another patient has just taken was a 500."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from booking import services
from booking.forms import slot_value

from ..factories import patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def test_opening_the_form_for_a_time_just_taken_says_so_and_offers_fresh_times(client, clock, facial, nurse):
    ten = datetime.combine(date(2026, 3, 3), time(10), tzinfo=LONDON)
    services.appointment_book(treatment=facial, start=ten, patient=patient(), now=datetime.now(LONDON))

    response = client.get("/book/hydrating-facial/details/", {"start": slot_value(ten)})

    page = response.content.decode()
    assert response.status_code == 409
    assert "just been taken" in page
    assert slot_value(datetime.combine(date(2026, 3, 3), time(11), tzinfo=LONDON)) in page


def test_back_from_youre_booked_finds_the_patients_own_booking_not_a_taken_time(client, clock, nurse):
    from django.test import Client

    from ..factories import booking_post

    start = slot_value(datetime(2026, 3, 3, 10, tzinfo=ZoneInfo("Europe/London")))
    booked = client.post("/book/hydrating-facial/details/", booking_post(start))
    back = client.get("/book/hydrating-facial/details/", {"start": start}, follow=True)
    assert back.redirect_chain == [(booked["Location"], 302)]
    page = back.content.decode()
    assert "You have booked this time: here is your booking." in page and "just been taken" not in page
    someone_else = Client().get("/book/hydrating-facial/details/", {"start": start})
    assert someone_else.status_code == 409  # another browser: the time is taken
