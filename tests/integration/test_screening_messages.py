"""What the booking pages and the availability API tell a screened patient they turn away is true, and said once."""

from datetime import date

import pytest

from .screening_helpers import SLUG, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
WAIT_UNTIL_30_MARCH = {"isotretinoin_recently": "yes", "last_dose": "2025-09-30"}


@pytest.fixture
def microneedling(db):
    return make_clinic()


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
    assert message == (
        f"Your answers have expired or were already used. Please answer the health questions again: "
        f"/book/{SLUG}/screening/"
    )
