"""Fuzz every booking page, the availability API, manage links and the admin sign-in with hostile input.

Never a 5xx, and a refused request writes nothing (see tests/fuzzing.py; the case count prints at the end).
"""

from datetime import date, datetime, time
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from booking import services
from booking.forms import slot_value
from booking.models import Appointment, AppointmentEmail
from booking.tokens import manage_token

from ..factories import patient
from ..fuzzing import FUZZ, ODD_METHODS, checked, content_types, count_case, form, nasty_text, raw_body

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)
SLUG = "hydrating-facial"

slot_values = st.builds(
    lambda day, hour, minute: slot_value(datetime.combine(day, time(hour, minute), tzinfo=LONDON)),
    st.dates(min_value=date(2026, 3, 1), max_value=date(2026, 6, 30)),
    st.integers(8, 17),
    st.sampled_from([0, 7, 15, 30, 45]),
)
booking_form = form(
    {
        "start": slot_values,
        "name": st.just("Alex Morgan"),
        "email": st.emails(),
        "phone": st.just("07700 900123"),
        "date_of_birth": st.dates().map(str),
    }
)


@pytest.fixture
def world(clock, nurse, throttle):
    """A bookable diary, one booking with its manage link, and the throttle on with limits fuzzing cannot reach."""
    throttle.THROTTLE_RULES = {
        name: {**rule, "limits": dict.fromkeys(rule["limits"], "1000000/h")}
        for name, rule in throttle.THROTTLE_RULES.items()
    }
    appointment = services.appointment_book(
        treatment=nurse.treatments.get(),
        start=datetime.combine(TUESDAY, time(11), tzinfo=LONDON),
        patient=patient(),
        now=datetime.now(LONDON),
    )
    return {"appointment": appointment, "token": manage_token(appointment.public_id)}


def rows():
    return (
        Appointment.objects.count(),
        AppointmentEmail.objects.count(),
        tuple(Appointment.objects.order_by("pk").values_list("status", "start")),
    )


def restore(appointment):
    """Undo what an accepted cancel or reschedule did, so the next case starts from the same booking."""
    Appointment.objects.filter(pk=appointment.pk).update(
        status=appointment.status, start=appointment.start, end=appointment.end, busy_until=appointment.busy_until
    )
    Appointment.objects.exclude(pk=appointment.pk).delete()


def fuzz_request(client, method, path, data=None, **extra):
    before = rows()
    response = (
        getattr(client, method.lower())(path, data, **extra)
        if data is not None
        else client.generic(method, path, **extra)
    )
    return checked(response, rows_before=before, rows_after=rows())


@FUZZ
@given(data=booking_form)
def test_fuzzed_booking_details_are_refused_cleanly_or_booked(client, world, data):
    count_case()
    response = fuzz_request(client, "POST", f"/book/{SLUG}/details/", data)
    if response.status_code == 302 and "/confirmed/" in response["Location"]:
        assert Appointment.objects.count() == 2
    restore(world["appointment"])


@FUZZ
@given(
    page=st.sampled_from(["times", "next", "details", "api"]),
    params=st.dictionaries(st.sampled_from(["date", "after", "start", "days", "screening"]), nasty_text, max_size=3),
    slug=st.one_of(st.just(SLUG), nasty_text),
)
def test_fuzzed_queries_on_booking_pages_and_the_api_never_fail(client, world, page, params, slug):
    count_case()
    safe_slug = quote(slug, safe="") or "x"
    path = {
        "times": f"/book/{safe_slug}/",
        "next": f"/book/{safe_slug}/next/",
        "details": f"/book/{safe_slug}/details/",
        "api": f"/api/availability/{safe_slug}/",
    }[page]
    fuzz_request(client, "GET", path, params)


@FUZZ
@given(
    page=st.sampled_from(["", "confirmed/", "cancel/", "reschedule/"]),
    token=st.one_of(nasty_text, st.just("VALID")),
    method=st.sampled_from(["GET", "POST"]),
    data=form({"confirm": st.sampled_from(["on", "true", "1"]), "start": slot_values, "date": st.dates().map(str)}),
)
def test_fuzzed_manage_links_and_their_forms_never_fail(client, world, page, token, method, data):
    count_case()
    token = world["token"] if token == "VALID" else quote(token, safe="") or "x"
    response = fuzz_request(client, method, f"/booking/{token}/{page}", data)
    if response.status_code < 400:
        restore(world["appointment"])


@FUZZ
@given(
    path=st.sampled_from(["/book/hydrating-facial/details/", "TOKEN/cancel/", "TOKEN/reschedule/", "/admin/login/"]),
    body=raw_body,
    content_type=content_types,
)
def test_raw_garbage_bodies_never_fail(client, world, path, body, content_type):
    count_case()
    path = path.replace("TOKEN", f"/booking/{world['token']}")
    before = rows()
    response = client.generic("POST", path, body, content_type=content_type)
    checked(response, rows_before=before, rows_after=rows())
    restore(world["appointment"])


@FUZZ
@given(data=form({"username": st.just("reception"), "password": st.just("secret")}), axes=st.booleans())
def test_fuzzed_admin_sign_in_never_fails(client, world, data, axes, settings):
    count_case()
    settings.AXES_ENABLED = axes
    fuzz_request(client, "POST", "/admin/login/", data)


@FUZZ
@given(data=booking_form, target=st.sampled_from(["details", "cancel", "reschedule", "login"]))
def test_posts_without_a_csrf_token_are_refused_and_write_nothing(world, data, target):
    count_case()
    path = {
        "details": f"/book/{SLUG}/details/",
        "cancel": f"/booking/{world['token']}/cancel/",
        "reschedule": f"/booking/{world['token']}/reschedule/",
        "login": "/admin/login/",
    }[target]
    response = fuzz_request(Client(enforce_csrf_checks=True), "POST", path, {**data, "confirm": "on"})
    assert response.status_code == 403


def every_path(token):
    return [
        "/",
        f"/book/{SLUG}/",
        f"/book/{SLUG}/next/",
        f"/book/{SLUG}/details/",
        f"/booking/{token}/",
        f"/booking/{token}/confirmed/",
        f"/booking/{token}/cancel/",
        f"/booking/{token}/reschedule/",
        f"/api/availability/{SLUG}/",
        "/healthz",
        "/admin/login/",
    ]


@pytest.mark.parametrize("method", ODD_METHODS)
def test_unexpected_methods_on_every_page_never_fail(client, world, method):
    for path in every_path(world["token"]):
        count_case()
        response = fuzz_request(client, method, path)
        assert response.status_code in (200, 302, 405), (path, response.status_code)


@pytest.mark.parametrize("start", ["0001-01-01T00:00Z", "9999-12-31T23:59Z"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_slot_in_an_absurd_year_goes_back_to_the_times_page(client, world, start, method):
    """Found by fuzzing: these once overflowed into a 500 when moved to the clinic's time zone."""
    count_case()
    response = fuzz_request(client, method, f"/book/{SLUG}/details/", {"start": start})
    assert response.status_code == 302 and response["Location"] == f"/book/{SLUG}/"


@pytest.mark.parametrize("two_factor", [False, True])
def test_an_overlong_username_is_a_form_error_even_with_lockout_on(client, world, settings, two_factor):
    """Found by fuzzing on PostgreSQL: django-axes stored the whole username and the insert failed (500)."""
    count_case()
    settings.AXES_ENABLED, settings.STAFF_2FA_REQUIRED = True, two_factor
    response = fuzz_request(client, "POST", "/admin/login/", {"username": "u" * 300, "password": "x"})
    assert response.status_code == 200 and "at most 150 characters" in response.content.decode()
