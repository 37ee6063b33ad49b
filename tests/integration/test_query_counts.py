"""Availability loads in a fixed number of queries, whatever the range or the size of the diary."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking import selectors, services
from booking.exceptions import BookingError

from ..factories import make_practitioner, make_treatment, patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
AVAILABILITY_QUERIES = 4  # practitioners, their working hours, appointments, time off


@pytest.fixture(autouse=True)
def computing(settings):
    """What computing costs: the availability cache off (its own counts are in test_availability_cache.py)."""
    settings.AVAILABILITY_CACHE_SECONDS = 0


@pytest.fixture
def busy_clinic(clock):
    facial = make_treatment("hydrating-facial", minutes=45)
    for n in range(5):
        make_practitioner(f"P{n}", treatments=[facial])
    now = datetime.now(LONDON)
    day = date(2026, 3, 3)
    for offset in range(30):
        for hour in (9, 11, 14):
            try:
                services.appointment_book(
                    treatment=facial,
                    start=datetime.combine(day + timedelta(days=offset), time(hour), tzinfo=LONDON),
                    patient=patient(),
                    now=now,
                )
            except BookingError:
                pass
    return facial


@pytest.mark.parametrize("days", [1, 30])
def test_availability_query_count_is_fixed(busy_clinic, django_assert_num_queries, days):
    first = date(2026, 3, 3)
    with django_assert_num_queries(AVAILABILITY_QUERIES):
        result = selectors.availability(
            treatment=busy_clinic, first_day=first, last_day=first + timedelta(days=days - 1), now=datetime.now(LONDON)
        )
    assert len(result) == days and any(result.values())


@pytest.mark.parametrize("days", [1, 30])
def test_availability_api_query_count_is_fixed(client, busy_clinic, django_assert_num_queries, days):
    with django_assert_num_queries(AVAILABILITY_QUERIES + 1):  # + the treatment
        response = client.get("/api/availability/hydrating-facial/", {"start": "2026-03-03", "days": days})
    assert response.status_code == 200 and len(response.json()["days"]) == days


def test_times_page_query_count_is_fixed(client, busy_clinic, django_assert_num_queries):
    with django_assert_num_queries(AVAILABILITY_QUERIES + 1):
        assert client.get("/book/hydrating-facial/", {"date": "2026-03-03"}).status_code == 200
