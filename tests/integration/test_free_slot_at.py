"""Booking checks the one time a patient chose, not their whole day: the answer is the same as the day's times."""

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking import selectors, services
from booking.exceptions import BookingError
from booking.models import Appointment, TimeOff

from ..factories import make_practitioner, make_treatment, patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
# An ordinary Tuesday, and the Sunday the clocks go forward (01:00 becomes 02:00).
DAYS = [date(2026, 3, 3), date(2026, 3, 29)]
SHIFTS = [[(time(9), time(17))], [(time(8, 30), time(12)), (time(13), time(18, 10))], [(time(0, 30), time(3))], []]


def random_diary(rng: random.Random, day: date):
    """A treatment, four practitioners with assorted hours (one works a plain day), and that day's bookings (some
    cancelled) and time off."""
    treatment = make_treatment(f"t-{rng.random()}", minutes=rng.choice([30, 45, 60]), buffer=rng.choice([0, 10, 15]))
    other = make_treatment(f"o-{rng.random()}", minutes=20)
    practitioners = []
    for n in range(4):
        shifts = SHIFTS[0] if n == 0 else rng.choice(SHIFTS)
        practitioner = make_practitioner(f"P{n}", treatments=[treatment, other], weekdays=[])
        practitioner.working_hours.bulk_create(
            practitioner.working_hours.model(practitioner=practitioner, weekday=day.weekday(), start_time=a, end_time=b)
            for a, b in shifts
        )
        practitioners.append(practitioner)
    now = datetime.combine(day - timedelta(days=2), time(8), tzinfo=LONDON)
    booked = []
    for _ in range(12):
        start = datetime.combine(day, time(rng.randrange(0, 19), rng.choice([0, 5, 15, 30, 45])), tzinfo=LONDON)
        try:
            booked.append(
                services.appointment_book(
                    treatment=rng.choice([treatment, other]), start=start, patient=patient(), now=now
                )
            )
        except BookingError:
            pass
    for appointment in rng.sample(booked, k=len(booked) // 4):
        services.appointment_cancel(appointment=appointment, now=now)
    for practitioner in rng.sample(practitioners, k=2):
        start = datetime.combine(day, time(rng.randrange(8, 16), rng.choice([0, 20, 40])), tzinfo=LONDON)
        TimeOff.objects.create(
            practitioner=practitioner, start=start, end=start + timedelta(minutes=rng.randrange(15, 200))
        )
    return treatment, now, booked


def every_five_minutes(day: date):
    first = datetime.combine(day, time.min, tzinfo=LONDON)
    last = datetime.combine(day + timedelta(days=1), time.min, tzinfo=LONDON)
    moment = first
    while moment < last:
        yield moment
        moment += timedelta(minutes=5)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("day", DAYS)
def test_the_chosen_time_is_free_exactly_when_the_day_offers_it_with_the_same_practitioners(seed, day, settings):
    settings.AVAILABILITY_CACHE_SECONDS = 0
    rng = random.Random(seed)
    treatment, now, booked = random_diary(rng, day)
    # A screened patient's eligible date, and a patient moving their own booking, shape the answer too.
    not_before = rng.choice([None, datetime.combine(day, time(11), tzinfo=LONDON)])
    mine = rng.choice([None, *[a for a in booked if a.treatment_id == treatment.pk and a.status != "cancelled"]])
    offered = {
        slot.start: slot
        for slot in selectors.slots_on(
            treatment=treatment, day=day, now=now, not_before=not_before, exclude_appointment=mine
        )
    }
    assert offered, "a diary with no free time would test nothing"
    for start in every_five_minutes(day):
        found = selectors.free_slot_at(
            treatment=treatment, start=start, now=now, not_before=not_before, exclude_appointment=mine
        )
        assert found == offered.get(start), start


def test_a_time_inside_the_minimum_notice_or_past_the_horizon_is_not_free(clock, facial, nurse):
    now = datetime.now(LONDON)
    soon = datetime.combine(now.date(), time(9), tzinfo=LONDON)  # within two hours of 08:00
    far = datetime.combine(now.date() + timedelta(days=120), time(10), tzinfo=LONDON)
    tomorrow = datetime.combine(now.date() + timedelta(days=1), time(10), tzinfo=LONDON)
    assert selectors.free_slot_at(treatment=facial, start=soon, now=now) is None
    assert selectors.free_slot_at(treatment=facial, start=far, now=now) is None
    assert selectors.free_slot_at(treatment=facial, start=tomorrow, now=now).practitioner_ids == (nurse.pk,)


def test_checking_a_time_reads_only_the_bookings_and_time_off_that_meet_it(
    clock, facial, nurse, settings, django_assert_num_queries
):
    settings.AVAILABILITY_CACHE_SECONDS = 60
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "slot"}}
    now = datetime.now(LONDON)
    ten = datetime.combine(date(2026, 3, 3), time(10), tzinfo=LONDON)
    selectors.free_slot_at(treatment=facial, start=ten, now=now)  # hours are then kept for the diary's version
    services.appointment_book(treatment=facial, start=ten, patient=patient(), now=now)
    with django_assert_num_queries(1):
        assert selectors.free_slot_at(treatment=facial, start=ten, now=now) is None
    with django_assert_num_queries(1):
        assert selectors.free_slot_at(treatment=facial, start=ten + timedelta(hours=1), now=now) is not None
    assert Appointment.objects.count() == 1


def test_bookings_at_the_same_time_go_to_every_free_practitioner_not_always_the_first(clock, facial):
    team = [make_practitioner(name, treatments=[facial]) for name in ("Ada", "Ben", "Cleo")]
    now = datetime.now(LONDON)
    given = []
    for day in range(3, 23):  # one booking a day at ten, with all three free each time
        start = datetime.combine(date(2026, 3, day), time(10), tzinfo=LONDON)
        given.append(services.appointment_book(treatment=facial, start=start, patient=patient(), now=now).practitioner)
    # Twenty bookings all given to one practitioner of three: by chance about once in a billion runs.
    assert len(set(given)) > 1 and set(given) <= set(team)
    # And when all three are busy, the time is no longer offered.
    ten = datetime.combine(date(2026, 3, 24), time(10), tzinfo=LONDON)
    for n, _ in enumerate(team):  # three patients (one patient twice at one time is a repeat, refused)
        services.appointment_book(treatment=facial, start=ten, patient=patient(email=f"p{n}@example.com"), now=now)
    assert selectors.free_slot_at(treatment=facial, start=ten, now=now) is None


def test_a_booking_reads_only_who_is_busy_at_its_time_then_writes(clock, facial, nurse, settings):
    settings.AVAILABILITY_CACHE_SECONDS = 60
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "one"}}
    now = datetime.now(LONDON)
    nine = datetime.combine(date(2026, 3, 3), time(9), tzinfo=LONDON)
    services.appointment_book(treatment=facial, start=nine, patient=patient(), now=now)  # the diary is now known
    with CaptureQueriesContext(connection) as queries:
        booked = services.appointment_book(
            treatment=facial, start=nine + timedelta(hours=2), patient=patient(), now=now
        )
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip("(").startswith("SELECT")]
    # No day of bookings, no practitioner, no hours (SQLite, lacking the exclusion constraint, re-checks).
    assert len(reads) == (1 if connection.vendor == "postgresql" else 2) and "booking_timeoff" in reads[0]
    assert str(booked) == f"{facial} with {nurse} at 2026-03-03 11:00"  # named for the audit entry all the same


def test_a_moved_booking_keeps_its_practitioner_when_they_are_free_at_the_new_time(clock, facial):
    team = [make_practitioner(name, treatments=[facial]) for name in ("Ada", "Ben", "Cleo")]
    now = datetime.now(LONDON)
    for day in range(3, 13):
        start = datetime.combine(date(2026, 3, day), time(10), tzinfo=LONDON)
        booked = services.appointment_book(treatment=facial, start=start, patient=patient(), now=now)
        moved = services.appointment_reschedule(appointment=booked, new_start=start + timedelta(hours=3), now=now)
        assert moved.practitioner == booked.practitioner in team
