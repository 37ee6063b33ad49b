"""A "wait" result promises times only when the diary has some free on or after the eligible day."""

from datetime import date

import pytest

from ..factories import make_practitioner
from .screening_helpers import SLUG, latest_screening, make_microneedling, screen, token_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekdays_only(db):
    """Microneedling given Monday to Friday only; the diary's last day (31 May 2026) is a Sunday."""
    microneedling = make_microneedling()
    make_practitioner("Nurse Ben", treatments=[microneedling], weekdays=range(5))
    return microneedling


def test_a_wait_ending_on_a_closed_day_links_to_the_first_day_with_free_times(client, clock, weekdays_only):
    response = screen(client, isotretinoin_recently="yes", last_dose="2025-09-28")  # eligible Saturday 28 March
    assert latest_screening().eligible_from == date(2026, 3, 28)
    page = client.get(response["Location"]).content.decode()
    assert "The first free time from then is on Monday 30 March." in page
    assert "See times from Monday 30 March" in page and "Our diary is already open" not in page
    link = f"/book/{SLUG}/?screening={token_of(latest_screening())}&amp;date=2026-03-30"
    assert link in page
    times = client.get(link.replace("&amp;", "&")).content.decode()
    assert "Monday 30 March 2026" in times and ">10:00<" in times


def test_a_wait_ending_when_the_diary_has_no_free_times_promises_none(client, clock, weekdays_only):
    response = screen(client, isotretinoin_recently="yes", last_dose="2025-11-30")  # eligible Saturday 30 May
    page = client.get(response["Location"]).content.decode()
    assert "You can book microneedling from Saturday 30 May 2026" in page
    assert "See times from" not in page and "Our diary is already open" not in page
    assert "Our diary has no free times from Saturday 30 May yet" in page
    assert 'name="consent"' in page  # the email when the wait ends is still offered
