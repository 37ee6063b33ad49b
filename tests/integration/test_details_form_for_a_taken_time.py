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
