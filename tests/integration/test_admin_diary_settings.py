"""Reception keeps practitioners' time off and hours, and the lead keeps treatments: a wrong entry gets a plain
message beside it, and a change that leaves booked patients outside the diary says who they are."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags

from booking import services
from booking.models import Appointment, TimeOff, Treatment, WorkingHours

from ..factories import make_treatment, patient

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
def lead(client):
    client.force_login(User.objects.create_superuser("lead", password="x"))
    return client


def time_off(practitioner, start: datetime, end: datetime, **overrides):
    """The time off form as reception sends it; without a practitioner, with the whole clinic's box ticked."""
    data = {
        "practitioner": practitioner.pk if practitioner else "",
        **({} if practitioner else {"whole_clinic": "on"}),
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
        # A slip of the keyboard, refused alike on SQLite and PostgreSQL (whose own limit is 32,767).
        ("duration_minutes", "100000", "A treatment lasts at most 720 minutes (12 hours)."),
        ("duration_minutes", "6000", "A treatment lasts at most 720 minutes (12 hours)."),
        ("buffer_after_minutes", "10000", "The time kept free after it is at most 240 minutes (4 hours)."),
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


# --- Booked patients a change leaves outside the diary --------------------------------------------------------------


def book(treatment, start, name):
    email = f"{name.split()[0].lower()}@example.com"
    return services.appointment_book(
        treatment=treatment, start=start, patient=patient(name=name, email=email), now=timezone.now()
    )


def warnings(response):
    """The warnings shown, in words (their links are checked in the page)."""
    return [strip_tags(str(message)) for message in response.context["messages"] if message.level_tag == "warning"]


def change_link(appointment):
    return f'href="/admin/booking/appointment/{appointment.pk}/change/"'


def test_time_off_over_booked_patients_is_saved_with_a_warning_naming_them(reception, clock, facial, nurse):
    sam = book(facial, at(TUESDAY, 10), "Sam Carter")
    alex = book(facial, at(TUESDAY, 11), "Alex Morgan")
    kept = book(facial, at(TUESDAY, 14), "Jo Blake")
    gone = book(facial, at(TUESDAY, 12), "Ray Finch")
    services.appointment_change_status(appointment=gone, status="cancelled", now=timezone.now(), cancelled_by="clinic")

    response = reception.post(TIME_OFF_ADD, time_off(nurse, at(TUESDAY, 9), at(TUESDAY, 13)), follow=True)

    assert response.status_code == 200
    assert TimeOff.objects.filter(practitioner=nurse).count() == 1
    [warning] = warnings(response)
    assert warning.startswith("2 upcoming appointments with Nurse Ben are still booked in this time off:")
    assert "Sam Carter, Tue 03 Mar 2026 10:00 (Hydrating facial)" in warning
    assert "Alex Morgan, Tue 03 Mar 2026 11:00 (Hydrating facial)" in warning
    assert "Please call the patients to move them." in warning
    assert "Jo Blake" not in warning and "Ray Finch" not in warning
    page = response.content.decode()
    assert change_link(sam) in page and change_link(alex) in page and change_link(kept) not in page
    assert set(Appointment.objects.filter(pk__in=[sam.pk, alex.pk]).values_list("status", flat=True)) == {"confirmed"}


def test_time_off_moved_onto_a_booking_warns_too(reception, clock, facial, nurse):
    sam = book(facial, at(TUESDAY, 15), "Sam Carter")
    away = TimeOff.objects.create(practitioner=nurse, start=at(TUESDAY, 9), end=at(TUESDAY, 13))
    response = reception.post(
        f"/admin/booking/timeoff/{away.pk}/change/", time_off(nurse, at(TUESDAY, 9), at(TUESDAY, 17)), follow=True
    )
    [warning] = warnings(response)
    assert warning.startswith("1 upcoming appointment with Nurse Ben is still booked in this time off:")
    assert change_link(sam) in response.content.decode()


def test_time_off_clear_of_bookings_gives_no_warning(reception, clock, facial, nurse):
    book(facial, at(TUESDAY, 14), "Jo Blake")
    response = reception.post(TIME_OFF_ADD, time_off(nurse, at(TUESDAY, 9), at(TUESDAY, 13)), follow=True)
    assert response.status_code == 200 and warnings(response) == []


def test_shortened_hours_are_saved_with_a_warning_naming_the_bookings_outside_them(reception, clock, facial, nurse):
    morning = book(facial, at(TUESDAY, 10), "Sam Carter")
    afternoon = book(facial, at(TUESDAY, 14), "Jo Blake")
    tuesday = WorkingHours.objects.get(practitioner=nurse, weekday=TUESDAY.weekday())
    data = {"practitioner": nurse.pk, "weekday": tuesday.weekday, "start_time": "09:00", "end_time": "12:00"}

    response = reception.post(f"/admin/booking/workinghours/{tuesday.pk}/change/", data, follow=True)

    tuesday.refresh_from_db()
    assert tuesday.end_time == time(12)
    [warning] = warnings(response)
    assert warning.startswith("1 upcoming appointment with Nurse Ben is still booked outside their working hours:")
    assert "Jo Blake, Tue 03 Mar 2026 14:00 (Hydrating facial)" in warning and "Sam Carter" not in warning
    page = response.content.decode()
    assert change_link(afternoon) in page and change_link(morning) not in page


def test_a_day_of_hours_removed_on_the_practitioners_page_warns_of_its_bookings(reception, clock, facial, nurse):
    sam = book(facial, at(TUESDAY, 10), "Sam Carter")
    data = practitioner_page(nurse, treatments=[facial])
    hours = WorkingHours.objects.filter(practitioner=nurse).order_by("weekday")
    tuesday_row = [row.weekday for row in hours].index(TUESDAY.weekday())
    data[f"working_hours-{tuesday_row}-DELETE"] = "on"

    response = reception.post(f"/admin/booking/practitioner/{nurse.pk}/change/", data, follow=True)

    assert response.status_code == 200
    assert not WorkingHours.objects.filter(practitioner=nurse, weekday=TUESDAY.weekday()).exists()
    [warning] = warnings(response)
    assert "outside their working hours: Sam Carter, Tue 03 Mar 2026 10:00" in warning
    assert change_link(sam) in response.content.decode()


def test_removing_a_day_of_hours_warns_of_its_bookings_still_to_come_only(reception, clock, facial, nurse):
    book(facial, at(TUESDAY, 10), "Sam Carter")
    next_week = book(facial, at(date(2026, 3, 10), 10), "Jo Blake")
    clock.move_to(at(TUESDAY, 12))  # Sam's visit is over
    tuesday = WorkingHours.objects.get(practitioner=nurse, weekday=TUESDAY.weekday())

    response = reception.post(f"/admin/booking/workinghours/{tuesday.pk}/delete/", {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert not WorkingHours.objects.filter(pk=tuesday.pk).exists()
    [warning] = warnings(response)
    assert "outside their working hours: Jo Blake, Tue 10 Mar 2026 10:00" in warning and "Sam Carter" not in warning
    assert change_link(next_week) in response.content.decode()


def test_a_long_leave_names_the_first_twenty_and_links_to_the_rest(reception, clock, facial, nurse):
    days = [date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)]
    for day in days:
        for hour in range(9, 17):
            book(facial, at(day, hour), f"Pat <i>{day.day}-{hour}</i>")

    response = reception.post(TIME_OFF_ADD, time_off(nurse, at(days[0], 0), at(days[-1], 23)), follow=True)

    [warning] = warnings(response)
    assert warning.startswith("24 upcoming appointments with Nurse Ben are still booked in this time off:")
    assert warning.count("Pat &lt;i&gt;") == 20 and "and 4 more (Nurse Ben's appointments)" in warning
    page = response.content.decode()
    assert "Pat &lt;i&gt;3-9&lt;/i&gt;" in page and "<i>3-9</i>" not in page  # a name is text, never markup
    assert f'href="/admin/booking/appointment/?practitioner__id__exact={nurse.pk}"' in page


def practitioner_page(practitioner, *, treatments, active=True):
    """The practitioner's change form as posted, their working hours unchanged."""
    hours = list(WorkingHours.objects.filter(practitioner=practitioner).order_by("weekday"))
    data = {
        "name": practitioner.name,
        "title": "",
        "email": "",
        "treatments": [treatment.pk for treatment in treatments],
        "working_hours-TOTAL_FORMS": str(len(hours)),
        "working_hours-INITIAL_FORMS": str(len(hours)),
        **({"active": "on"} if active else {}),
    }
    for index, row in enumerate(hours):
        prefix = f"working_hours-{index}-"
        data |= {
            f"{prefix}id": row.pk,
            f"{prefix}practitioner": practitioner.pk,
            f"{prefix}weekday": row.weekday,
            f"{prefix}start_time": f"{row.start_time:%H:%M}",
            f"{prefix}end_time": f"{row.end_time:%H:%M}",
        }
    return data


def test_taking_a_treatment_off_a_practitioner_warns_of_its_booked_patients(reception, clock, facial, nurse):
    peel = make_treatment("mild-peel", minutes=30)
    nurse.treatments.add(peel)
    sam = book(facial, at(TUESDAY, 10), "Sam Carter")
    url = f"/admin/booking/practitioner/{nurse.pk}/change/"
    response = reception.post(url, practitioner_page(nurse, treatments=[peel]), follow=True)
    [warning] = warnings(response)
    assert "for treatments they no longer give: Sam Carter, Tue 03 Mar 2026 10:00" in warning
    assert change_link(sam) in response.content.decode()
    response = reception.post(url, practitioner_page(nurse, treatments=[facial, peel], active=False), follow=True)
    assert "now that they are inactive: Sam Carter" in warnings(response)[0]
