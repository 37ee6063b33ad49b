"""A form sent without its security cookie gets the site's own page, in plain words, with a way back."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.views.defaults import permission_denied

from booking import services
from booking.forms import slot_value
from booking.models import Appointment
from booking.tokens import manage_token
from screening.models import Screening

from ..factories import booking_post, patient
from .screening_helpers import answers_post, make_clinic

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)


def local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


@pytest.fixture
def browser(settings):
    settings.DEBUG = False
    settings.CLINIC_NAME = "Quayside Skin"
    return Client(enforce_csrf_checks=True)


def assert_branded_csrf_page(response):
    page = response.content.decode()
    assert response.status_code == 403
    assert "Quayside Skin" in page and 'href="/static/css/clinic.css"' in page  # the site's layout
    assert "Sorry, that form could not be sent" in page and "Nothing has been booked or changed." in page
    assert "open for too long" in page and "blocking cookies" in page
    assert "CSRF" not in page and "Forbidden" not in page
    return page


def test_details_sent_without_the_cookie_get_a_branded_page_back_to_that_days_times(browser, clock, nurse):
    response = browser.post("/book/hydrating-facial/details/", booking_post(slot_value(local(TUESDAY, 10))))
    page = assert_branded_csrf_page(response)
    assert 'href="/book/hydrating-facial/?date=2026-03-03">Back to the times for Hydrating facial</a>' in page
    assert not Appointment.objects.exists()


def test_details_sent_with_an_expired_token_get_the_same_page(browser, clock, nurse):
    browser.get("/book/hydrating-facial/details/", {"start": slot_value(local(TUESDAY, 10))})  # sets the cookie
    data = booking_post(slot_value(local(TUESDAY, 10)), csrfmiddlewaretoken="x" * 64)
    page = assert_branded_csrf_page(browser.post("/book/hydrating-facial/details/", data))
    assert "Back to the times for Hydrating facial" in page


def test_a_form_left_open_past_its_day_links_to_the_times_without_that_day(browser, clock, nurse):
    response = browser.post("/book/hydrating-facial/details/", booking_post(slot_value(local(date(2026, 3, 1), 10))))
    page = assert_branded_csrf_page(response)
    assert 'href="/book/hydrating-facial/">Back to the times for Hydrating facial</a>' in page


def test_a_form_for_an_unknown_treatment_links_to_the_treatment_list(browser, clock, nurse):
    page = assert_branded_csrf_page(browser.post("/book/botox/details/", booking_post("2026-03-03T10:00Z")))
    assert 'href="/">See our treatments</a>' in page


def test_moving_a_booking_without_the_cookie_links_back_to_the_booking(browser, clock, nurse):
    appointment = services.appointment_book(
        treatment=nurse.treatments.get(), start=local(TUESDAY, 10), patient=patient(), now=datetime.now(LONDON)
    )
    token = manage_token(appointment.public_id)
    response = browser.post(f"/booking/{token}/reschedule/", {"start": slot_value(local(TUESDAY, 12))})
    page = assert_branded_csrf_page(response)
    assert f'href="/booking/{token}/">Back to your booking</a>' in page
    appointment.refresh_from_db()
    assert appointment.start == local(TUESDAY, 10)


def test_the_403_page_is_the_sites_own(rf, settings, db):
    settings.CLINIC_NAME = "Quayside Skin"
    response = permission_denied(rf.get("/admin/"), PermissionDenied("internal reason 42"))
    page = response.content.decode()
    assert response.status_code == 403
    assert "Quayside Skin" in page and "Sorry, you can't open this page" in page and 'href="/"' in page
    assert "403 Forbidden" not in page and "internal reason 42" not in page


def test_health_answers_sent_without_the_cookie_link_back_to_the_questions(browser, clock):
    make_clinic()
    page = assert_branded_csrf_page(browser.post("/book/microneedling/screening/", answers_post()))
    assert 'href="/book/microneedling/screening/">Back to the health questions</a>' in page
    assert not Screening.objects.exists()
