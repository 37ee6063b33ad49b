"""The whole clinic closed (a bank holiday, a refit): one row of time off without a practitioner. Patients are offered
no time then and cannot book one; reception is told which booked patients to call, and cannot book a patient in by
phone either. Leaving the practitioner out by mistake closes nothing."""

from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import strip_tags

from booking import services
from booking.exceptions import SlotUnavailable
from booking.forms import slot_value
from booking.models import Appointment, TimeOff

from ..factories import booked_by_phone, booking_post, make_practitioner, patient, signed_in
from .test_admin_diary_settings import LONDON, TIME_OFF_ADD, form_errors, time_off, warnings

pytestmark = pytest.mark.django_db
TUESDAY, WEDNESDAY = date(2026, 3, 3), date(2026, 3, 4)  # the clock fixture stands at Monday 2 March 2026, 08:00


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def close_clinic(day: date, reason="Bank holiday") -> TimeOff:
    """Closed from midnight to midnight, as a clinic enters a bank holiday."""
    return TimeOff.objects.create(
        practitioner=None, start=at(day, 0), end=at(day + timedelta(days=1), 0), reason=reason
    )


@pytest.fixture
def colleague(facial):
    return make_practitioner("Dr Ada", treatments=[facial])


def day_times(client, day: date) -> str:
    return client.get("/book/hydrating-facial/", {"date": day.isoformat()}).content.decode()


# --- Patients ---------------------------------------------------------------------------------------------------------


def test_a_closed_day_offers_no_times_with_anyone_and_names_the_next_open_day(client, clock, nurse, colleague):
    close_clinic(TUESDAY)
    page = day_times(client, TUESDAY)
    assert ">09:00<" not in page and "No times on this day" in page and "Wednesday 4 March" in page
    assert ">09:00<" in day_times(client, WEDNESDAY)

    days = client.get("/api/availability/hydrating-facial/", {"start": "2026-03-03", "days": 2}).json()["days"]
    assert days["2026-03-03"] == [] and days["2026-03-04"]


def test_a_closure_of_part_of_a_day_leaves_the_rest_of_it(client, clock, nurse):
    TimeOff.objects.create(practitioner=None, start=at(TUESDAY, 9), end=at(TUESDAY, 13), reason="Staff training")
    page = day_times(client, TUESDAY)
    assert ">12:00<" not in page and ">13:00<" in page


def test_a_practitioner_who_joins_after_the_closure_is_closed_too(client, clock, facial):
    close_clinic(TUESDAY)
    make_practitioner("New starter", treatments=[facial])
    assert ">09:00<" not in day_times(client, TUESDAY)


def test_a_time_opened_on_a_closed_day_says_the_clinic_is_not_open_then(client, clock, nurse):
    close_clinic(TUESDAY)
    response = client.get("/book/hydrating-facial/details/", {"start": slot_value(at(TUESDAY, 10))})
    page = response.content.decode()
    assert response.status_code == 404 and "We are not open then." in page
    assert "just been taken" not in page


def test_a_booking_sent_for_a_time_the_clinic_has_since_closed_is_refused_and_nothing_is_booked(client, clock, nurse):
    opened = client.get("/book/hydrating-facial/details/", {"start": slot_value(at(TUESDAY, 10))})
    assert opened.status_code == 200
    close_clinic(TUESDAY)
    response = client.post("/book/hydrating-facial/details/", booking_post(slot_value(at(TUESDAY, 10))))
    assert response.status_code == 404 and "We are not open then." in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_closure_hides_times_already_cached(client, clock, nurse, settings):
    settings.AVAILABILITY_CACHE_SECONDS = 60
    assert ">09:00<" in day_times(client, TUESDAY)
    reception = signed_in(Client(), "Reception")
    assert reception.post(TIME_OFF_ADD, time_off(None, at(TUESDAY, 0), at(TUESDAY, 23, 59))).status_code == 302
    assert ">09:00<" not in day_times(client, TUESDAY)


# --- Reception --------------------------------------------------------------------------------------------------------


def test_closing_the_clinic_warns_of_every_practitioners_booked_patients(reception, clock, facial, nurse, colleague):
    sam = booked_by_phone(facial, at(TUESDAY, 10), practitioner=nurse, name="Sam Carter", email="sam@example.com")
    jo = booked_by_phone(facial, at(TUESDAY, 10), practitioner=colleague, name="Jo Blake", email="jo@example.com")
    booked_by_phone(facial, at(WEDNESDAY, 10), practitioner=nurse, name="Ray Finch", email="ray@example.com")

    response = reception.post(TIME_OFF_ADD, time_off(None, at(TUESDAY, 0), at(TUESDAY, 23, 59)), follow=True)

    assert response.status_code == 200
    closed = TimeOff.objects.get()
    assert closed.practitioner is None and closed.whole_clinic
    [warning] = warnings(response)
    assert warning.startswith("2 upcoming appointments are still booked while the clinic is closed:")
    assert "Sam Carter, Tue 03 Mar 2026 10:00" in warning and "Jo Blake, Tue 03 Mar 2026 10:00" in warning
    assert "Ray Finch" not in warning
    assert {sam.pk, jo.pk} == set(
        Appointment.objects.filter(status="confirmed", start__date=TUESDAY).values_list("pk", flat=True)
    )
    listed = reception.get("/admin/booking/timeoff/").content.decode()
    assert "Whole clinic closed" in listed


def test_a_closure_over_many_bookings_links_to_that_days_diary(reception, clock, facial):
    practitioners = [make_practitioner(f"Nurse {n}", treatments=[facial]) for n in range(21)]
    for n, practitioner in enumerate(practitioners):
        booked_by_phone(facial, at(TUESDAY, 10), practitioner=practitioner, email=f"p{n}@example.com")

    response = reception.post(TIME_OFF_ADD, time_off(None, at(TUESDAY, 0), at(TUESDAY, 23, 59)), follow=True)

    [warning] = warnings(response)
    assert "and 1 more (the appointments on those days)" in warning
    [link] = [
        part.split('"')[0]
        for message in response.context["messages"]
        for part in str(message).split('href="')[1:]
        if "start__gte" in part
    ]
    diary = reception.get(link.replace("&amp;", "&"))
    assert diary.status_code == 200
    shown = diary.context["cl"].queryset
    assert shown.count() == 21 and set(shown.values_list("start", flat=True)) == {at(TUESDAY, 10)}


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"practitioner": ""}, "Choose who is away, or tick “Close the whole clinic” to close it for everyone."),
        ({"whole_clinic": "on"}, "A closure of the whole clinic names no practitioner"),
    ],
)
def test_time_off_needs_either_a_practitioner_or_the_whole_clinic_ticked(reception, clock, nurse, fields, message):
    response = reception.post(TIME_OFF_ADD, {**time_off(nurse, at(TUESDAY, 9), at(TUESDAY, 13)), **fields})
    assert response.status_code == 200
    assert message in form_errors(response)["practitioner"]
    assert not TimeOff.objects.exists()


def test_a_closure_opens_again_as_a_closure_and_can_be_edited(reception, clock, nurse):
    closed = close_clinic(TUESDAY)
    page = reception.get(f"/admin/booking/timeoff/{closed.pk}/change/")
    assert page.context["adminform"].form["whole_clinic"].value() is True
    response = reception.post(
        f"/admin/booking/timeoff/{closed.pk}/change/",
        time_off(None, at(TUESDAY, 0), at(TUESDAY, 12), reason="Half day"),
    )
    assert response.status_code == 302
    closed.refresh_from_db()
    assert closed.practitioner is None and closed.end == at(TUESDAY, 12)


def test_reception_cannot_book_a_patient_by_phone_while_the_clinic_is_closed(clock, facial, nurse):
    close_clinic(TUESDAY, reason="Easter Monday")
    with pytest.raises(SlotUnavailable) as refused:
        booked_by_phone(facial, at(TUESDAY, 10))
    assert "The clinic is closed from 03 Mar 00:00 to 04 Mar 00:00 (Easter Monday)." in strip_tags(str(refused.value))
    assert not Appointment.objects.exists()


def test_a_held_booking_on_a_day_since_closed_tells_the_clinician_why_it_cannot_be_kept(clock, facial, nurse):
    from booking.selectors import why_the_practitioner_cannot_keep

    booking = services.appointment_book(treatment=facial, start=at(TUESDAY, 10), patient=patient(), now=timezone.now())
    close_clinic(TUESDAY)
    assert (
        why_the_practitioner_cannot_keep(booking)
        == "The clinic is closed from 03 Mar 00:00 to 04 Mar 00:00 (Bank holiday)."
    )
