"""The latest answers win: a screening answered again for the same treatment cannot book by itself any more.

QA's gate bypass: clear answers, Back, answers that block (or say wait), Back again to the first times URL, and the
old token booked a confirmed time.
"""

from datetime import date

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from booking.models import Appointment
from screening import services
from screening.exceptions import ScreeningInvalid
from screening.models import EligibilityReminder, Screening

from ..factories import patient
from .screening_helpers import SLUG, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)
ON_ISOTRETINOIN = {"taking_isotretinoin": "yes", "isotretinoin_recently": None}
WAIT_UNTIL_30_MARCH = {"isotretinoin_recently": "yes", "last_dose": "2025-09-30"}


@pytest.fixture
def microneedling(db):
    return make_clinic()


def nothing_booked():
    return not Appointment.objects.exists() and not mail.outbox


def test_an_old_clear_token_cannot_book_after_answers_that_block(client, clock, microneedling, commits):
    screen(client, email="stale@example.com")
    clear_token = token_of(latest_screening())
    screen(client, email="stale@example.com", **ON_ISOTRETINOIN)
    blocked = latest_screening()
    assert blocked.outcome == Screening.Outcome.BLOCKED
    blocked_result = f"/book/{SLUG}/screening/{token_of(blocked)}/"

    times = client.get(f"/book/{SLUG}/", {"screening": clear_token})
    assert times.status_code == 302 and times["Location"] == blocked_result
    page = client.get(blocked_result).content.decode()
    assert "only your latest answers can be used" in page and "can't book microneedling" in page

    response = book(client, commits, local(TUESDAY), clear_token, email="stale@example.com")
    assert response.status_code == 302 and response["Location"] == blocked_result
    assert nothing_booked()
    assert Screening.objects.get(pk=blocked.pk).used_at is None


def test_an_old_clear_token_cannot_book_before_a_later_wait_ends(client, clock, microneedling, commits):
    screen(client)
    clear_token = token_of(latest_screening())
    screen(client, **WAIT_UNTIL_30_MARCH)
    wait_result = f"/book/{SLUG}/screening/{token_of(latest_screening())}/"

    response = book(client, commits, local(TUESDAY), clear_token)
    assert response.status_code == 302 and response["Location"] == wait_result
    assert "You can book microneedling from Monday 30 March 2026" in client.get(wait_result).content.decode()
    assert nothing_booked()

    book(client, commits, local(date(2026, 3, 30)), token_of(latest_screening()))  # the latest answers still book
    assert Appointment.objects.get().status == Appointment.Status.CONFIRMED


def test_answers_given_in_another_browser_with_the_same_email_replace_these(client, clock, microneedling, commits):
    screen(client, email="stale@example.com")
    clear_token = token_of(latest_screening())
    screen(Client(), email="STALE@example.com", **ON_ISOTRETINOIN)

    response = book(client, commits, local(TUESDAY), clear_token, email="stale@example.com")
    assert response.status_code == 302 and response["Location"] == f"/book/{SLUG}/screening/"
    page = client.get(response["Location"]).content.decode()
    assert "answered the health questions again with the same email" in page
    assert nothing_booked()


def test_answers_given_again_with_another_email_in_this_browser_replace_these(client, clock, microneedling, commits):
    screen(client, email="first@example.com")
    clear_token = token_of(latest_screening())
    screen(client, email="second@example.com", **ON_ISOTRETINOIN)

    response = book(client, commits, local(TUESDAY), clear_token, email="first@example.com")
    assert (
        response.status_code == 302
        and response["Location"] == f"/book/{SLUG}/screening/{token_of(latest_screening())}/"
    )
    assert nothing_booked()


def test_an_old_wait_result_leads_to_the_latest_and_takes_no_reminder(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")  # wait until 15 July
    wait_token = token_of(latest_screening())
    screen(client, **ON_ISOTRETINOIN)
    blocked_result = f"/book/{SLUG}/screening/{token_of(latest_screening())}/"

    assert client.get(f"/book/{SLUG}/screening/{wait_token}/")["Location"] == blocked_result
    response = client.post(f"/book/{SLUG}/screening/{wait_token}/reminder/", {"consent": "on"})
    assert response["Location"] == blocked_result
    assert not EligibilityReminder.objects.exists()


def test_the_booking_service_refuses_a_screening_answered_again_and_writes_nothing(client, clock, microneedling):
    screen(client)
    first = latest_screening()
    screen(Client(), **ON_ISOTRETINOIN)
    with pytest.raises(ScreeningInvalid, match="latest answers"):
        services.screening_book(screening=first, start=local(TUESDAY), patient=patient(), now=timezone.now())
    first.refresh_from_db()
    assert first.used_at is None and not Appointment.objects.exists()
