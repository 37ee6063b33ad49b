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


def test_the_free_time_finder_and_the_admin_home_read_a_fixed_number_of_queries(
    client, busy_clinic, django_assert_max_num_queries
):
    """Reception's finder is availability plus the page; the home page's counts one query each, whatever the diary."""
    from booking.models import TimeOff, Treatment

    from ..factories import signed_in

    reception = signed_in(client, "Reception")
    facial = Treatment.objects.get()
    TimeOff.objects.create(
        practitioner=None,
        start=datetime(2026, 3, 10, 0, tzinfo=LONDON),
        end=datetime(2026, 3, 11, 0, tzinfo=LONDON),
    )
    # A busy day, and a closed one that also reads the closure and looks ahead (two weeks at a time) for the next
    # free day: the session and staff member's permissions (4), the form's treatment, the day's availability, the
    # closure, and the next fortnight's availability, with the cache off (each read again).
    for day in ("2026-03-03", "2026-03-10"):
        with django_assert_max_num_queries(4 + 1 + 3 * AVAILABILITY_QUERIES + 3):
            response = reception.get("/admin/booking/appointment/free-times/", {"treatment": facial.pk, "day": day})
        assert response.status_code == 200
    with django_assert_max_num_queries(20):
        assert reception.get("/admin/").status_code == 200
