"""Property: no answers with a dose inside the wait ever give a confirmable booking before the eligible date.

Goes through the service layer (screening_submit, then screening_book), not the form, so even answer sets the form
would refuse are tried.
"""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.exceptions import BookingError
from booking.models import Appointment
from screening import rules, services
from screening.exceptions import ScreeningError
from screening.models import Contraindication, ScreeningPolicy

from ..factories import patient
from .screening_helpers import LONDON, make_clinic

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 8, tzinfo=LONDON)
TODAY = NOW.date()
QUESTION_KEYS = [
    "pregnancy",
    "active_infection",
    "keloid",
    "blood_thinners",
    "recent_resurfacing",
    "sunburn",
    "skin_flare",
    "radiation",
    "healing_condition",
]


@pytest.fixture
def microneedling(db):
    treatment = make_clinic()
    ScreeningPolicy.objects.create(treatment=treatment)
    assert set(QUESTION_KEYS) <= set(Contraindication.objects.values_list("key", flat=True))
    return treatment


@st.composite
def dose_inside_the_wait(draw):
    wait_months = draw(st.integers(min_value=1, max_value=12))
    earliest_dose = rules.add_months(TODAY, -wait_months) + timedelta(days=1)
    last_dose = draw(st.dates(min_value=earliest_dose, max_value=TODAY))
    answers = rules.Answers(
        taking_isotretinoin=draw(st.booleans()),
        isotretinoin_recently=draw(st.booleans()),
        last_dose=last_dose,
        last_dose_unsure=draw(st.booleans()),
        course_end=draw(st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))),
        yes_to=frozenset(draw(st.sets(st.sampled_from(QUESTION_KEYS)))),
        answered=frozenset(QUESTION_KEYS),
    )
    eligible = rules.add_months(last_dose, wait_months)
    days_ahead = (eligible - TODAY).days
    # Any bookable day before the eligible one (the horizon is 90 days), at a time the practitioner works.
    day = TODAY + timedelta(days=draw(st.integers(min_value=1, max_value=max(1, min(days_ahead - 1, 89)))))
    start = datetime.combine(day, time(draw(st.integers(min_value=9, max_value=15))), tzinfo=LONDON)
    return wait_months, answers, eligible, start


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=dose_inside_the_wait(), told_to_wait_before=st.booleans())
def test_no_dose_inside_the_wait_ever_books_before_the_eligible_date(microneedling, case, told_to_wait_before):
    wait_months, answers, eligible, start = case
    if start.date() >= eligible:
        return  # the wait ends tomorrow: no bookable day before it
    with transaction.atomic():
        ScreeningPolicy.objects.filter(treatment=microneedling).update(isotretinoin_wait_months=wait_months)
        microneedling.refresh_from_db()
        if told_to_wait_before:
            services.screening_submit(treatment=microneedling, email="alex@example.com", answers=answers, now=NOW)
        screening = services.screening_submit(
            treatment=microneedling, email="alex@example.com", answers=answers, now=NOW
        )
        try:
            services.screening_book(screening=screening, start=start, patient=patient(), now=NOW)
        except (ScreeningError, BookingError):
            pass
        booked = list(Appointment.objects.filter(treatment=microneedling, start__date__lt=eligible))
        transaction.set_rollback(True)
    assert booked == [], (answers, eligible, start, screening.outcome, screening.eligible_from)


def test_the_same_path_does_book_once_the_wait_is_over(microneedling):
    """The property above is not vacuous: with the wait over, the very same calls book and confirm."""
    answers = rules.Answers(
        taking_isotretinoin=False, isotretinoin_recently=True, last_dose=date(2025, 9, 1), answered=frozenset()
    )
    screening = services.screening_submit(treatment=microneedling, email="alex@example.com", answers=answers, now=NOW)
    start = datetime.combine(date(2026, 3, 3), time(10), tzinfo=LONDON)
    appointment = services.screening_book(screening=screening, start=start, patient=patient(), now=NOW)
    assert appointment.status == Appointment.Status.CONFIRMED
