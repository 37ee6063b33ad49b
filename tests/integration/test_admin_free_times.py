"""Reception finds a free time for a patient on the phone: a treatment's free starts on a day, with who is free at
each, each a link to the phone booking form filled in; the times are the diary's own, sooner than patients may book
online, never passed."""

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User

from booking.models import Appointment, TimeOff, Treatment

from ..factories import booked_by_phone, make_practitioner

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)  # the clock fixture stands at Monday 2 March 2026, 08:00
FINDER = "/admin/booking/appointment/free-times/"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


@pytest.fixture
def colleague(facial):
    return make_practitioner("Dr Ada", treatments=[facial], opens=time(13), closes=time(17))


def free_times(client, treatment, day) -> dict[str, list[str]]:
    """{"09:00": ["Nurse Ben"], …} as the page shows them."""
    response = client.get(FINDER, {"treatment": treatment.pk, "day": day.isoformat()})
    assert response.status_code == 200
    return {
        start.astimezone(LONDON).strftime("%H:%M"): [str(who) for who, _url in free]
        for start, free in response.context["times"]
    }


def test_reception_sees_each_free_time_with_who_is_free_then(reception, clock, facial, nurse, colleague):
    booked_by_phone(facial, at(TUESDAY, 14), practitioner=nurse)
    times = free_times(reception, facial, TUESDAY)
    assert times["09:00"] == ["Nurse Ben"]  # Dr Ada starts at 13:00
    assert times["13:00"] == ["Dr Ada", "Nurse Ben"]
    assert times["14:00"] == ["Dr Ada"]  # Nurse Ben's patient
    assert "16:30" not in times  # 45 minutes and a 15-minute buffer do not fit before 17:00


def test_time_off_and_a_closure_take_their_times_away(reception, clock, facial, nurse, colleague):
    TimeOff.objects.create(practitioner=colleague, start=at(TUESDAY, 13), end=at(TUESDAY, 15))
    times = free_times(reception, facial, TUESDAY)
    assert times["13:00"] == ["Nurse Ben"] and times["15:00"] == ["Dr Ada", "Nurse Ben"]
    TimeOff.objects.create(practitioner=None, start=at(TUESDAY, 0), end=at(TUESDAY, 23, 59), reason="Bank holiday")
    response = reception.get(FINDER, {"treatment": facial.pk, "day": TUESDAY.isoformat()})
    page = re.sub(r"\s+", " ", response.content.decode())
    assert response.context["times"] == []
    assert "The clinic is closed Tue 3 Mar 00:00 to Tue 3 Mar 23:59 (Bank holiday)." in page
    assert 'The next day with free times is <a href="?treatment=' in page and "Wednesday 4 March 2026</a>" in page


def test_a_day_with_nothing_free_jumps_past_a_long_closure(reception, clock, facial, nurse):
    TimeOff.objects.create(practitioner=None, start=at(TUESDAY, 0), end=at(date(2026, 4, 20), 0), reason="Refit")
    response = reception.get(FINDER, {"treatment": facial.pk, "day": "2026-03-10"})
    assert response.context["next_day_with_times"] == date(2026, 4, 20)


def test_a_treatment_nobody_gives_says_there_is_nothing_to_its_horizon(reception, clock, db):
    from ..factories import make_treatment

    make_treatment("brow-lift")
    response = reception.get(FINDER, {"treatment": Treatment.objects.get().pk, "day": "2026-03-03"})
    assert response.context["next_day_with_times"] is None
    assert "No free times from this day to 3 March 2028." in re.sub(r"\s+", " ", response.content.decode())


def test_today_starts_now_not_after_the_online_notice(reception, clock, facial, nurse):
    times = free_times(reception, facial, MONDAY)  # 08:00: patients online may book from 10:00
    assert "09:00" in times
    clock.move_to(at(MONDAY, 12, 5))
    times = free_times(reception, facial, MONDAY)
    assert "12:00" not in times and "12:15" in times


def test_a_time_links_to_the_phone_booking_form_filled_in_and_it_books(reception, clock, facial, nurse, colleague):
    response = reception.get(FINDER, {"treatment": facial.pk, "day": TUESDAY.isoformat()})
    [(start, free)] = [(start, free) for start, free in response.context["times"] if start == at(TUESDAY, 14)]
    [url] = [url for who, url in free if who == colleague]
    assert f'href="{url.replace("&", "&amp;")}"' in response.content.decode()
    form = reception.get(url).context["adminform"].form
    assert form["treatment"].value() == str(facial.pk) and form["practitioner"].value() == str(colleague.pk)
    assert form["start"].value() == at(TUESDAY, 14)
    posted = reception.post(
        url,
        {
            "treatment": facial.pk,
            "practitioner": colleague.pk,
            "start_0": "2026-03-03",
            "start_1": "14:00",
            "patient_name": "Sam Carter",
            "patient_email": "sam@example.com",
            "patient_phone": "07700 900123",
            "patient_date_of_birth": "1990-05-17",
            "emails-TOTAL_FORMS": "0",
            "emails-INITIAL_FORMS": "0",
            "emails-MIN_NUM_FORMS": "0",
            "emails-MAX_NUM_FORMS": "1000",
        },
    )
    assert posted.status_code == 302
    assert Appointment.objects.get().practitioner == colleague
    assert free_times(reception, facial, TUESDAY)["14:00"] == ["Nurse Ben"]


@pytest.mark.parametrize(
    "query, message",
    [
        ({"day": "2026-03-03"}, "This field is required."),
        ({"treatment": "abc", "day": "2026-03-03"}, "Select a valid choice."),
        ({"treatment": "{facial}", "day": "2026-02-30"}, "Enter a valid date."),
        ({"treatment": "{facial}", "day": "2026-03-01"}, "Choose a day from today, 2 March 2026, to"),
        ({"treatment": "{facial}", "day": "2030-01-01"}, "Choose a day from today, 2 March 2026, to 3 March 2028."),
    ],
)
def test_a_day_or_treatment_that_cannot_be_looked_up_says_why(reception, clock, facial, nurse, query, message):
    query = {key: value.format(facial=facial.pk) for key, value in query.items()}
    response = reception.get(FINDER, query)
    assert response.status_code == 400
    assert message in re.sub(r"\s+", " ", response.content.decode())
    assert "times" not in response.context


def test_the_diary_links_to_the_finder_for_staff_who_may_book(reception, clock, facial, nurse):
    assert f'href="{FINDER}"' in reception.get("/admin/booking/appointment/").content.decode()


def test_staff_who_may_not_book_cannot_open_it(client, clock, facial, nurse):
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_appointment"))
    client.force_login(viewer)
    assert client.get(FINDER, {"treatment": facial.pk, "day": "2026-03-03"}).status_code == 403
    assert f'href="{FINDER}"' not in client.get("/admin/booking/appointment/").content.decode()


def test_the_finder_opens_on_today_in_the_form_a_date_input_takes(reception, clock, facial, nurse):
    page = reception.get(FINDER).content.decode()
    assert re.search(r'<input type="date" name="day" value="2026-03-02"', page)


# --- Moving a booking ---------------------------------------------------------------------------------------------


def test_a_booking_in_a_closure_is_moved_from_its_page_through_the_finder(reception, clock, facial, nurse, colleague):
    stranded = booked_by_phone(facial, at(TUESDAY, 14), practitioner=nurse, name="Robin Hale")
    TimeOff.objects.create(practitioner=None, start=at(TUESDAY, 0), end=at(TUESDAY, 23, 59), reason="Bank holiday")
    change = f"/admin/booking/appointment/{stranded.pk}/change/"
    finder = f"{FINDER}?move={stranded.pk}"
    page = reception.get(change).content.decode()
    assert f'href="{finder}"' in page and "This booking needs moving: " in page  # why, where it is moved from

    response = reception.get(FINDER, {"move": stranded.pk})  # opens on the booking's day: closed
    page = re.sub(r"\s+", " ", response.content.decode())
    assert "It needs moving: " in page and "A phone booking of" not in page
    assert "Moving" in page and "Robin Hale's Hydrating facial" in page and "Tuesday 3 March 2026, 14:00" in page
    assert response.context["times"] == [] and "Bank holiday" in page
    assert f"day=2026-03-04&amp;move={stranded.pk}" in page  # the next day with times, still moving this booking

    response = reception.get(FINDER, {"move": stranded.pk, "day": "2026-03-04"})
    [(_start, free)] = [(start, free) for start, free in response.context["times"] if start == at(date(2026, 3, 4), 15)]
    [url] = [url for who, url in free if who == colleague]
    assert url == f"{change}?practitioner={colleague.pk}&start=2026-03-04T15:00Z"
    assert "Move to Dr Ada" in response.content.decode()

    opened = reception.get(url)
    form = opened.context["adminform"].form
    assert form["start"].value() == at(date(2026, 3, 4), 15) and form["practitioner"].value() == colleague.pk
    assert form["patient_name"].value() == "Robin Hale"
    assert form["clinic_moves_it"].value() is True  # the closure is the clinic's doing: the email apologises
    assert "The new time from the finder is filled in below: nothing changes until you save." in (
        opened.content.decode()
    )
    stranded.refresh_from_db()
    assert stranded.start == at(TUESDAY, 14)  # nothing changes until staff save the form


def test_the_booking_being_moved_counts_its_own_time_as_free(reception, clock, facial, nurse):
    booking = booked_by_phone(facial, at(TUESDAY, 14))
    assert "14:30" not in free_times(reception, facial, TUESDAY)
    moving = reception.get(FINDER, {"move": booking.pk, "day": "2026-03-03"})
    times = {start.astimezone(LONDON).strftime("%H:%M"): free for start, free in moving.context["times"]}
    assert [str(who) for who, _url in times["14:30"]] == ["Nurse Ben"]


def test_a_booking_of_a_treatment_since_deactivated_can_still_be_moved_through_it(reception, clock, facial, nurse):
    booking = booked_by_phone(facial, at(TUESDAY, 14))
    facial.active = False
    facial.save()
    response = reception.get(FINDER, {"move": booking.pk, "day": "2026-03-04"})
    assert response.status_code == 200 and response.context["times"]


@pytest.mark.parametrize("which", ["cancelled", "unknown", "junk"])
def test_a_booking_that_cannot_move_is_a_404(reception, clock, facial, nurse, which):
    booking = booked_by_phone(facial, at(TUESDAY, 14))
    if which == "cancelled":
        Appointment.objects.filter(pk=booking.pk).update(status="cancelled")
    move = {"cancelled": booking.pk, "unknown": booking.pk + 100, "junk": "1 OR 1=1"}[which]
    assert reception.get(FINDER, {"move": move}).status_code == 404
    if which == "cancelled":
        page = reception.get(f"/admin/booking/appointment/{booking.pk}/change/").content.decode()
        assert "Find a time to move it to" not in page


def test_a_booking_moved_through_the_finder_at_the_patients_request_is_not_ticked_as_the_clinics(
    reception, clock, facial, nurse, colleague
):
    booking = booked_by_phone(facial, at(TUESDAY, 14), practitioner=nurse)
    url = f"/admin/booking/appointment/{booking.pk}/change/?practitioner={colleague.pk}&start=2026-03-04T15:00Z"
    assert not reception.get(url).context["adminform"].form["clinic_moves_it"].value()


def test_moving_a_screened_booking_says_nothing_of_how_a_phone_booking_of_it_is_held(reception, clock, db):
    from ..factories import make_treatment

    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    make_practitioner("Nurse Ben", treatments=[needling])
    new = re.sub(r"\s+", " ", reception.get(FINDER, {"treatment": needling.pk, "day": "2026-03-03"}).content.decode())
    assert "A phone booking of Microneedling is held for a clinician" in new
    booking = booked_by_phone(needling, at(TUESDAY, 10))
    moving = re.sub(r"\s+", " ", reception.get(FINDER, {"move": booking.pk}).content.decode())
    assert "A phone booking of" not in moving and "Moving" in moving
