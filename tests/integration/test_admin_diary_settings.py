"""Reception keeps practitioners' time off and hours, and the lead keeps treatments: a wrong entry gets a plain
message beside it, and a change that leaves booked patients outside the diary says who they are."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction

from booking.models import TimeOff, Treatment

from ..factories import make_treatment

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)  # the clock fixture stands at Monday 2 March 2026, 08:00
TIME_OFF_ADD = "/admin/booking/timeoff/add/"
HOURS_ADD = "/admin/booking/workinghours/add/"
TREATMENT_ADD = "/admin/booking/treatment/add/"
RAW_CONSTRAINT = "Constraint “"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


@pytest.fixture
def reception(client):
    user = User.objects.create_user("reception", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Reception"))
    client.force_login(user)
    return client


@pytest.fixture
def lead(client):
    client.force_login(User.objects.create_superuser("lead", password="x"))
    return client


def time_off(practitioner, start: datetime, end: datetime, **overrides):
    data = {
        "practitioner": practitioner.pk,
        "start_0": start.date().isoformat(),  # strftime writes year 1 as "1"
        "start_1": f"{start:%H:%M:%S}",
        "end_0": end.date().isoformat(),
        "end_1": f"{end:%H:%M:%S}",
        "reason": "Training",
    }
    data.update(overrides)
    return data


def form_errors(response):
    form = response.context["adminform"].form
    return {field or "__all__": " ".join(errors) for field, errors in form.errors.items()}


# --- Dates at the edge of the calendar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, day, message",
    [
        ("end", date(9999, 12, 31), "That is more than two years ahead. Please check the year."),
        ("start", date(1, 1, 1), "That is more than two years ago. Please check the year."),
        ("end", date(2029, 3, 3), "That is more than two years ahead."),
    ],
)
def test_time_off_with_a_mistyped_year_is_refused_beside_the_date(reception, clock, nurse, field, day, message):
    start, end = at(TUESDAY, 9), at(TUESDAY, 13)
    dates = {"start": at(day, 9), "end": end} if field == "start" else {"start": start, "end": at(day, 13)}
    response = reception.post(TIME_OFF_ADD, time_off(nurse, dates["start"], dates["end"]))
    assert response.status_code == 200
    assert message in form_errors(response)[field]
    assert not TimeOff.objects.exists()


def test_time_off_months_ahead_and_behind_is_recorded(reception, clock, nurse):
    for start in (at(date(2027, 8, 2), 9), at(date(2025, 1, 6), 9)):
        response = reception.post(TIME_OFF_ADD, time_off(nurse, start, start.replace(hour=17)))
        assert response.status_code == 302
    assert TimeOff.objects.count() == 2


def test_time_off_recorded_long_ago_can_still_be_edited(reception, clock, nurse):
    away = TimeOff.objects.create(practitioner=nurse, start=at(date(2020, 8, 3), 9), end=at(date(2020, 8, 7), 17))
    response = reception.post(
        f"/admin/booking/timeoff/{away.pk}/change/", time_off(nurse, away.start, away.end, reason="Annual leave")
    )
    assert response.status_code == 302, form_errors(response)
    away.refresh_from_db()
    assert away.reason == "Annual leave"


# --- Plain words for the diary's constraints ------------------------------------------------------------------------


def test_time_off_ending_before_it_starts_says_so_plainly(reception, clock, nurse):
    response = reception.post(TIME_OFF_ADD, time_off(nurse, at(TUESDAY, 13), at(TUESDAY, 9)))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The end must be after the start." in page and RAW_CONSTRAINT not in page
    assert not TimeOff.objects.exists()


def test_working_hours_ending_before_they_start_say_so_plainly(reception, nurse):
    data = {"practitioner": nurse.pk, "weekday": 0, "start_time": "17:00", "end_time": "09:00"}
    response = reception.post(HOURS_ADD, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The end time must be after the start time." in page and RAW_CONSTRAINT not in page


def treatment_form(**overrides):
    data = {
        "name": "Brow lift",
        "slug": "brow-lift",
        "duration_minutes": "30",
        "buffer_after_minutes": "0",
        "price": "45.00",
        "display_order": "0",
        "active": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("duration_minutes", "0", "A treatment lasts at least one minute."),
        ("price", "-5", "The price cannot be negative."),
    ],
)
def test_a_treatment_needs_a_length_and_a_price_that_is_not_negative(lead, field, value, message):
    response = lead.post(TREATMENT_ADD, treatment_form(**{field: value}))
    assert response.status_code == 200
    assert form_errors(response) == {field: message}
    assert RAW_CONSTRAINT not in response.content.decode()
    assert not Treatment.objects.filter(slug="brow-lift").exists()


def test_the_database_refuses_a_negative_price_however_it_is_written(db):
    facial = make_treatment("hydrating-facial")
    with pytest.raises(IntegrityError), transaction.atomic():
        Treatment.objects.filter(pk=facial.pk).update(price=Decimal("-5.00"))
    facial.refresh_from_db()
    assert facial.price == Decimal("80.00")


def test_a_free_treatment_is_still_allowed(lead):
    response = lead.post(TREATMENT_ADD, treatment_form(price="0"))
    assert response.status_code == 302
    assert Treatment.objects.get(slug="brow-lift").price == 0
