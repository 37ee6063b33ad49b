"""A manage link works until well after the visit, however far ahead staff booked it, and not for ever."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from booking import selectors, services

from ..factories import booked_by_phone

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def manage_path_from_the_email():
    [message] = mail.outbox
    return re.search(r"https?://[^/\s]+(/booking/[^/\s]+/)", message.body)[1]


def staff_booking(facial, nurse, start):
    booked = booked_by_phone(facial, start, practitioner=nurse)
    services.appointment_emails_dispatch(now=timezone.now())  # the confirmation, with the link
    return booked


@pytest.mark.parametrize("days_after_booking", [181, 400, selectors.STAFF_HORIZON_DAYS - 2])
def test_a_link_to_a_visit_booked_at_the_staff_horizon_works_until_the_day_before(
    client, clock, facial, nurse, days_after_booking
):
    visit_day = selectors.today_local() + timedelta(days=selectors.STAFF_HORIZON_DAYS - 1)
    staff_booking(facial, nurse, local(visit_day, 10))
    path = manage_path_from_the_email()
    clock.move_to(local(selectors.today_local() + timedelta(days=days_after_booking), 9))
    response = client.get(path)
    assert response.status_code == 200
    assert "Move to another time" in response.content.decode()
    assert client.get(path + "reschedule/").status_code == 200


def test_a_far_ahead_link_still_shows_the_booking_a_while_after_the_visit_then_stops(client, clock, facial, nurse):
    visit_day = selectors.today_local() + timedelta(days=700)
    staff_booking(facial, nurse, local(visit_day, 10))
    path = manage_path_from_the_email()
    clock.move_to(local(visit_day + timedelta(days=30), 9))
    assert "already taken place" in client.get(path).content.decode()
    clock.move_to(local(visit_day + timedelta(days=181), 9))
    assert client.get(path).status_code == 404


def test_a_link_follows_its_booking_when_it_is_moved_further_ahead(client, clock, facial, nurse):
    booked = staff_booking(facial, nurse, local(selectors.today_local() + timedelta(days=10), 10))
    path = manage_path_from_the_email()
    later = local(selectors.today_local() + timedelta(days=500), 10)
    services.appointment_staff_move(appointment=booked, start=later, practitioner=nurse, now=timezone.now())
    clock.move_to(later - timedelta(days=3))
    assert "Move to another time" in client.get(path).content.decode()


def test_an_ordinary_link_stops_its_max_age_after_the_visit(client, clock, facial, nurse, settings):
    visit = local(selectors.today_local() + timedelta(days=10), 10)
    staff_booking(facial, nurse, visit)
    path = manage_path_from_the_email()
    clock.move_to(visit + timedelta(days=settings.MANAGE_LINK_MAX_AGE_DAYS - 1))
    assert client.get(path).status_code == 200
    clock.move_to(visit + timedelta(days=settings.MANAGE_LINK_MAX_AGE_DAYS + 1))
    assert client.get(path).status_code == 404


def test_a_tampered_link_is_not_found(client, clock, facial, nurse):
    staff_booking(facial, nurse, local(selectors.today_local() + timedelta(days=10), 10))
    path = manage_path_from_the_email()
    assert client.get(path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]).status_code == 404
    assert client.get("/booking/not-a-token/").status_code == 404
