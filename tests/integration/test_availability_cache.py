"""The availability cache never shows a time that a change in the diary has taken or freed."""

import re
import time as time_module
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client

from booking import selectors, services, views
from booking.forms import slot_value
from booking.models import Appointment, TimeOff

from ..factories import booking_post, make_practitioner, make_treatment, patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.AVAILABILITY_CACHE_SECONDS = 60
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "avail"}}


def starts(treatment, now):
    return [slot.start for slot in selectors.slots_on(treatment=treatment, day=TUESDAY, now=now)]


def test_a_second_look_at_the_same_day_needs_no_availability_queries(clock, facial, nurse, django_assert_num_queries):
    now = datetime.now(LONDON)
    first = starts(facial, now)
    with django_assert_num_queries(0):
        assert starts(facial, now) == first


def test_a_booked_time_disappears_at_once_and_comes_back_when_cancelled(clock, facial, nurse):
    now = datetime.now(LONDON)
    ten = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)
    assert ten in starts(facial, now)
    appointment = services.appointment_book(treatment=facial, start=ten, patient=patient(), now=now)
    assert ten not in starts(facial, now)
    services.appointment_cancel(appointment=appointment, now=now)
    assert ten in starts(facial, now)


def test_after_a_booking_only_that_days_bookings_and_time_off_are_read_again(
    clock, facial, nurse, django_assert_num_queries
):
    now = datetime.now(LONDON)
    starts(facial, now)
    services.appointment_book(
        treatment=facial, start=datetime.combine(TUESDAY, time(10), tzinfo=LONDON), patient=patient(), now=now
    )
    with django_assert_num_queries(2):  # practitioners and their hours are kept for the diary's version
        assert datetime.combine(TUESDAY, time(10), tzinfo=LONDON) not in starts(facial, now)


def tuesdays_entry(facial):
    """(stamp, times, when it expires, seconds it took, digest of what it was made from), as the shared cache has it."""
    return cache.get(selectors._entry_key(facial, TUESDAY, TUESDAY))


def test_ranges_made_in_the_same_moment_come_due_at_different_moments_within_the_bound(clock, facial, nurse):
    """After a change to the whole diary every range is made again within a minute: they must not all come due
    again in one moment, for every worker to check them all at once."""
    now, made_at = datetime.now(LONDON), time_module.time()
    days = [TUESDAY + timedelta(days=n) for n in range(30)]
    for day in days:
        selectors.slots_on(treatment=facial, day=day, now=now)
    fresh_for = [cache.get(selectors._entry_key(facial, day, day))[2] - made_at for day in days]
    assert all(48 <= seconds <= 60 for seconds in fresh_for)  # AVAILABILITY_CACHE_SECONDS is the bound
    assert max(fresh_for) - min(fresh_for) > 4


def test_a_day_about_to_expire_is_checked_by_one_reader_while_the_others_keep_reading_it(
    clock, facial, nurse, django_assert_num_queries
):
    now = datetime.now(LONDON)
    first = starts(facial, now)
    _stamp, _times, expires_at, took, _digest = tuesdays_entry(facial)
    clock.move_to(expires_at - took / 100)  # the last hundredth of the time it took to make, before it expires
    # Checked once against practitioners, hours, bookings and time off; the other nineteen read what it kept.
    with django_assert_num_queries(4):
        for _worker in range(20):
            selectors._recent.clear()  # each as a gunicorn worker without a copy of its own
            assert starts(facial, now) == first
    assert tuesdays_entry(facial)[2] > expires_at


def booked_in_sql(treatment, practitioner, start) -> None:
    """A data fix in SQL, say: bulk_create sends no model signal, so no version changes."""
    fixed_in_sql = Appointment(treatment=treatment, practitioner=practitioner, start=start, patient_name="Out Of Band")
    fixed_in_sql.patient_email, fixed_in_sql.patient_phone = "oob@example.com", "07700 900000"
    fixed_in_sql.patient_date_of_birth = date(1980, 1, 2)
    fixed_in_sql.fill_times()
    Appointment.objects.bulk_create([fixed_in_sql])


def test_a_write_that_bypassed_the_versions_shows_once_the_day_is_due_and_not_before(clock, facial, nurse):
    now = datetime.now(LONDON)
    ten = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)
    assert ten in starts(facial, now)
    booked_in_sql(facial, nurse, ten)
    selectors._recent.clear()
    assert ten in starts(facial, now)  # the documented staleness, up to AVAILABILITY_CACHE_SECONDS
    clock.move_to(tuesdays_entry(facial)[2] + 1)
    selectors._recent.clear()
    assert ten not in starts(facial, now)


def test_time_off_added_in_admin_removes_the_afternoon_at_once(clock, facial, nurse):
    now = datetime.now(LONDON)
    assert any(s.hour >= 14 for s in starts(facial, now))
    TimeOff.objects.create(
        practitioner=nurse,
        start=datetime.combine(TUESDAY, time(13), tzinfo=LONDON),
        end=datetime.combine(TUESDAY + timedelta(days=1), time(0), tzinfo=LONDON),
    )
    assert [s for s in starts(facial, now) if s.astimezone(LONDON).hour >= 13] == []


def test_the_minimum_notice_still_moves_with_the_clock_on_cached_times(clock, facial, nurse):
    first = starts(facial, datetime.now(LONDON))
    clock.move_to(datetime.combine(TUESDAY, time(11), tzinfo=LONDON))
    later = starts(facial, datetime.now(LONDON))
    assert later and later[0] >= datetime.combine(TUESDAY, time(13), tzinfo=LONDON) and len(later) < len(first)


def test_a_booking_on_another_day_keeps_this_days_times_cached(clock, facial, nurse, django_assert_num_queries):
    now = datetime.now(LONDON)
    first = starts(facial, now)
    wednesday_ten = datetime.combine(TUESDAY + timedelta(days=1), time(10), tzinfo=LONDON)
    services.appointment_book(treatment=facial, start=wednesday_ten, patient=patient(), now=now)
    with django_assert_num_queries(0):
        assert starts(facial, now) == first


def test_moving_a_booking_to_another_day_frees_its_old_time_at_once(clock, facial, nurse):
    now = datetime.now(LONDON)
    ten = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)
    appointment = services.appointment_book(treatment=facial, start=ten, patient=patient(), now=now)
    assert ten not in starts(facial, now)
    later = datetime.combine(TUESDAY + timedelta(days=2), time(11), tzinfo=LONDON)
    services.appointment_reschedule(appointment=appointment, new_start=later, now=now)
    assert ten in starts(facial, now)
    assert later not in [s.start for s in selectors.slots_on(treatment=facial, day=later.date(), now=now)]


# --- Pages and JSON kept per process under the availability version (booking/views.py) ------------------------------


def times_page(client, day=TUESDAY):
    response = client.get("/book/hydrating-facial/", {"date": day.isoformat()})
    assert response.status_code == 200
    return response.content.decode()


API = "/api/availability/hydrating-facial/"


def api_times(client, start=TUESDAY, days=3):
    response = client.get(API, {"start": start.isoformat(), "days": days})
    assert response.status_code == 200
    return [time for times in response.json()["days"].values() for time in times]


@pytest.fixture
def pages_made(monkeypatch):
    """How many times a times page or API answer was made from free times, in any worker."""
    made = []
    real = selectors.availability

    def counting(**kwargs):
        made.append(kwargs["last_day"] - kwargs["first_day"])
        return real(**kwargs)

    monkeypatch.setattr(selectors, "availability", counting)
    return made


def test_a_worker_without_a_copy_serves_the_page_and_answer_another_worker_made(
    client, clock, facial, nurse, pages_made
):
    page, month = times_page(client), api_times(client, days=30)
    assert len(pages_made) == 2
    views._made.clear()  # another gunicorn worker
    assert times_page(client) == page and api_times(client, days=30) == month
    assert len(pages_made) == 2


def test_a_shared_page_is_made_again_once_it_has_expired(client, clock, facial, nurse, pages_made):
    month = api_times(client, days=30)
    clock.shift(timedelta(seconds=61))  # past AVAILABILITY_CACHE_SECONDS
    views._made.clear()
    assert api_times(client, days=30) == month
    assert len(pages_made) == 2


def test_a_kept_times_page_costs_no_query_and_loses_a_time_booked_since(client, clock, facial, nurse):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ten = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)
    first = times_page(client)
    assert ">10:00<" in first
    with CaptureQueriesContext(connection) as queries:
        assert times_page(client) == first
    assert len(queries) == 0
    appointment = services.appointment_book(treatment=facial, start=ten, patient=patient(), now=datetime.now(LONDON))
    assert ">10:00<" not in times_page(client)
    services.appointment_cancel(appointment=appointment, now=datetime.now(LONDON))
    assert ">10:00<" in times_page(client)


def test_a_kept_page_shows_a_renamed_treatment_and_a_retired_one_is_gone(client, clock, facial, nurse):
    assert "Hydrating facial" in times_page(client)
    facial.name = "Glow facial"
    facial.save()
    assert "Glow facial" in times_page(client)
    facial.active = False
    facial.save()
    assert client.get("/book/hydrating-facial/", {"date": TUESDAY.isoformat()}).status_code == 404
    assert client.get("/api/availability/hydrating-facial/", {"start": TUESDAY.isoformat()}).status_code == 404


def test_a_patients_own_message_is_never_kept_for_the_next_patient(client, clock, facial, nurse):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import Client, RequestFactory

    assert "Your screening has expired" not in times_page(client)  # a plain page, now kept
    told = Client()
    storage = CookieStorage(RequestFactory().get("/"))
    told.cookies[CookieStorage.cookie_name] = storage._encode([Message(constants.INFO, "Your screening has expired")])
    assert "Your screening has expired" in times_page(told)
    assert "Your screening has expired" not in times_page(client)


def test_the_first_bookable_day_still_follows_the_clock(client, clock, facial, nurse):
    monday = TUESDAY - timedelta(days=1)
    assert ">10:00<" in times_page(client, monday)
    clock.move_to(datetime.combine(monday, time(10, 30), tzinfo=LONDON))
    later = times_page(client, monday)
    assert ">10:00<" not in later and ">12:30<" in later


def test_a_kept_month_loses_a_time_booked_since(client, clock, facial, nurse, django_assert_num_queries):
    later = datetime.combine(TUESDAY + timedelta(days=17), time(11), tzinfo=LONDON)  # stamped by its week's version
    assert later in [datetime.fromisoformat(t) for t in api_times(client, days=30)]
    with django_assert_num_queries(0):
        api_times(client, days=30)
    services.appointment_book(treatment=facial, start=later, patient=patient(), now=datetime.now(LONDON))
    assert later not in [datetime.fromisoformat(t) for t in api_times(client, days=30)]


def test_a_kept_api_answer_loses_a_time_booked_since(client, clock, facial, nurse):
    ten = datetime.combine(TUESDAY + timedelta(days=1), time(10), tzinfo=LONDON)
    assert ten in [datetime.fromisoformat(t) for t in api_times(client)]
    services.appointment_book(treatment=facial, start=ten, patient=patient(), now=datetime.now(LONDON))
    assert ten not in [datetime.fromisoformat(t) for t in api_times(client)]


def test_a_browser_gets_the_api_answer_gzipped_and_the_same_once_unpacked(client, clock, facial, nurse):
    import gzip

    query = {"start": TUESDAY.isoformat(), "days": 30}
    plain = client.get("/api/availability/hydrating-facial/", query)
    for _ in range(2):  # made, then kept
        packed = client.get("/api/availability/hydrating-facial/", query, headers={"Accept-Encoding": "gzip, br"})
        assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
        assert gzip.decompress(packed.content) == plain.content
        assert len(packed.content) < len(plain.content) / 4
    assert "Content-Encoding" not in plain and "Accept-Encoding" in plain["Vary"]


def test_a_gzipped_answer_is_always_the_plain_answer_it_is_sent_for(rf):
    """Made again once it expires, an answer may differ under the same key (a write that bypassed the versions now
    shows): the gzipped copy kept for the old bytes must not be sent for the new ones."""
    import gzip

    browser = rf.get(API, HTTP_ACCEPT_ENCODING="gzip")
    key = ("api", "hydrating-facial", "a version")
    assert gzip.decompress(views._json(browser, b'{"days":{"2026-03-03":["2026-03-03T10:00Z"]}}', key).content)
    made_again = b'{"days":{"2026-03-03":[]}}'
    assert gzip.decompress(views._json(browser, made_again, key).content) == made_again


# --- The details form for a free time, kept per treatment with a hole for the time and each visitor's CSRF token ------

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
DETAILS = "/book/hydrating-facial/details/"


def details_form(client, start):
    response = client.get(DETAILS, {"start": slot_value(start)})
    token = CSRF_FIELD.search(response.content.decode())
    return response, token.group(1) if token else None


def test_a_kept_details_form_gives_each_patient_a_token_of_their_own_that_books(clock, facial, nurse):
    ten = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    made, first_token = details_form(first, ten)
    kept, second_token = details_form(second, ten)
    assert made.status_code == kept.status_code == 200
    assert made.templates and not kept.templates  # the second came from the kept copy, not the templates
    assert first_token != second_token and "csrftoken" in kept.cookies
    assert made.content.decode().replace(first_token, "") == kept.content.decode().replace(second_token, "")
    # The second patient's own token and cookie book; the first now finds the time taken, said plainly.
    booked = second.post(DETAILS, {**booking_post(slot_value(ten)), "csrfmiddlewaretoken": second_token})
    assert booked.status_code == 302
    taken, _ = details_form(first, ten)
    assert taken.status_code == 409 and "just been taken" in taken.content.decode()
    refused = first.post(DETAILS, {**booking_post(slot_value(ten)), "csrfmiddlewaretoken": first_token})
    assert refused.status_code == 409


def test_the_kept_details_form_for_another_day_and_time_reads_exactly_as_one_rendered_for_it(clock, facial, nurse):
    ten, wednesday_four = (
        datetime.combine(TUESDAY, time(10), tzinfo=LONDON),
        datetime.combine(TUESDAY + timedelta(days=1), time(16), tzinfo=LONDON),
    )
    details_form(Client(), ten)  # renders the form once and keeps it
    kept, kept_token = details_form(Client(), wednesday_four)
    assert kept.status_code == 200 and not kept.templates
    page = kept.content.decode()
    assert "Wednesday 4 March 2026, 16:00" in page and f'value="{slot_value(wednesday_four)}"' in page
    assert "?date=2026-03-04" in page and "Tuesday" not in page
    # A visitor with a session gets the page rendered from the template for them: the same, token aside.
    with_session = Client()
    with_session.cookies["sessionid"] = "someone"
    rendered, rendered_token = details_form(with_session, wednesday_four)
    assert rendered.templates
    assert page.replace(kept_token, "") == rendered.content.decode().replace(rendered_token, "")


def test_a_kept_details_form_shows_a_renamed_treatment(client, clock, facial, nurse):
    ten = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)
    assert "Hydrating facial" in details_form(client, ten)[0].content.decode()
    facial.name = "Glow facial"
    facial.save()
    assert "Glow facial" in details_form(client, ten)[0].content.decode()


def test_a_request_reads_the_diary_version_once_and_the_next_request_reads_it_again():
    from django.core.cache import cache

    # What booking/apps.py connects to Django's request_started and request_finished (sending those here would
    # also close the test's database connection).
    cache.set(selectors.DIARY_VERSION_KEY, "one", timeout=None)
    selectors.request_started()
    assert selectors.diary_version() == "one"
    cache.set(selectors.DIARY_VERSION_KEY, "two", timeout=None)  # another process changed the diary meanwhile
    assert selectors.diary_version() == "one"  # one round trip per request
    selectors.request_finished()
    assert selectors.diary_version() == "two"  # outside a request (a worker, a command): always afresh
    cache.set(selectors.DIARY_VERSION_KEY, "three", timeout=None)
    assert selectors.diary_version() == "three"


def test_a_colleagues_bookings_for_another_treatment_leave_this_treatments_times_alone(clock, facial, nurse):
    """Availability reads every practitioner's bookings in the range and uses only those of who gives the treatment."""
    peel = make_treatment("chemical-peel", minutes=30)
    doctor = make_practitioner("Dr Ada", treatments=[peel])
    now = datetime.now(LONDON)
    ten = datetime.combine(TUESDAY, time(10), tzinfo=LONDON)
    services.appointment_book(treatment=peel, start=ten, patient=patient(), now=now)
    assert ten in starts(facial, now)
    assert ten not in [slot.start for slot in selectors.slots_on(treatment=peel, day=TUESDAY, now=now)]
    assert doctor.pk not in selectors.free_slot_at(treatment=facial, start=ten, now=now).practitioner_ids
