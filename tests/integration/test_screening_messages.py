"""What the booking pages and the availability API tell a screened patient they turn away is true, and said once."""

from datetime import date

import pytest

from .screening_helpers import SLUG, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
WAIT_UNTIL_30_MARCH = {"isotretinoin_recently": "yes", "last_dose": "2025-09-30"}


@pytest.fixture
def microneedling(db):
    return make_clinic()


def test_a_time_before_the_eligible_day_opens_that_days_times_with_one_message(client, clock, microneedling):
    screen(client, **WAIT_UNTIL_30_MARCH)
    token = token_of(latest_screening())
    response = client.get(f"/book/{SLUG}/details/", {"start": "2026-03-27T10:00Z", "screening": token})
    assert response.status_code == 302
    assert response["Location"] == f"/book/{SLUG}/?screening={token}&date=2026-03-30"
    page = client.get(response["Location"]).content.decode()
    assert "Friday 27 March, 10:00 is before the day you can book from" in page
    assert page.count("30 March 2026") == 2  # the notice, and the day shown
    assert ">10:00<" in page and "No times are left" not in page and "Please choose a time from that day" not in page


def test_the_availability_api_says_why_a_blocked_patient_sees_no_times(client, clock, microneedling):
    screen(client, taking_isotretinoin="yes", isotretinoin_recently=None)
    response = client.get(f"/api/availability/{SLUG}/", {"start": "2026-03-03"})
    message = response.json()["errors"]["screening"][0]
    assert response.status_code == 403
    assert "Answer the health questions first" not in message
    result = f"/book/{SLUG}/screening/{token_of(latest_screening())}/"
    assert message == f"Your answers mean microneedling cannot be booked online at the moment. See why: {result}"


def test_the_availability_api_says_when_a_wait_ends_beyond_the_diary(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")  # wait until 15 July
    message = client.get(f"/api/availability/{SLUG}/", {"start": "2026-03-03"}).json()["errors"]["screening"][0]
    assert message.startswith("You can book microneedling from 15 July 2026, after the last day our diary is open")


def test_the_availability_api_asks_for_answers_again_once_they_were_used(client, clock, microneedling, commits):
    screen(client)
    book(client, commits, local(date(2026, 3, 3)), token_of(latest_screening()))
    message = client.get(f"/api/availability/{SLUG}/", {"start": "2026-03-03"}).json()["errors"]["screening"][0]
    assert message == f"These answers were used for a booking already: /book/{SLUG}/screening/"
