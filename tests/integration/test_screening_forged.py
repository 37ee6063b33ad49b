"""Crafted requests that try to get round the screening never give a confirmed microneedling booking."""

from datetime import date

import pytest
from django.test import Client

from booking.models import Appointment
from screening.models import Screening

from ..factories import make_treatment
from .screening_helpers import SLUG, answers_post, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def microneedling(db):
    return make_clinic()


def refused_to_screening(response):
    return response.status_code == 302 and response["Location"] == f"/book/{SLUG}/screening/"


def test_booking_without_any_screening_is_sent_to_the_questions(client, clock, microneedling, commits):
    assert refused_to_screening(book(client, commits, local(TUESDAY)))
    assert refused_to_screening(client.get(f"/book/{SLUG}/details/", {"start": "2026-03-03T10:00Z"}))
    assert not Appointment.objects.exists()


def test_someone_elses_screening_token_does_not_work_in_another_browser(client, clock, microneedling, commits):
    screen(client)
    token = token_of(latest_screening())
    stranger = Client()
    assert refused_to_screening(stranger.get(f"/book/{SLUG}/", {"screening": token}))
    assert refused_to_screening(book(stranger, commits, local(TUESDAY), token))
    assert stranger.get(f"/book/{SLUG}/screening/{token}/").status_code == 404
    assert not Appointment.objects.exists()


def test_a_screening_backs_one_booking_only(client, clock, microneedling, commits):
    screen(client)
    token = token_of(latest_screening())
    book(client, commits, local(TUESDAY, 10), token)
    again = book(client, commits, local(TUESDAY, 14), token, email="alex@example.com")
    assert refused_to_screening(again)
    assert Appointment.objects.count() == 1


def test_an_expired_screening_opens_nothing(client, clock, microneedling, commits):
    screen(client)
    token = token_of(latest_screening())
    clock.shift(120 * 60)
    assert refused_to_screening(client.get(f"/book/{SLUG}/", {"screening": token}))
    assert refused_to_screening(book(client, commits, local(TUESDAY), token))
    assert not Appointment.objects.exists()


def test_a_tampered_token_opens_nothing(client, clock, microneedling, commits):
    screen(client)
    token = token_of(latest_screening())
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert refused_to_screening(book(client, commits, local(TUESDAY), forged))
    assert not Appointment.objects.exists()


def test_a_screening_for_another_treatment_opens_nothing(client, clock, microneedling, commits):
    make_treatment("microneedling-body", minutes=60, requires_screening=True)
    client.post("/book/microneedling-body/screening/", answers_post())
    token = token_of(latest_screening())
    assert refused_to_screening(book(client, commits, local(TUESDAY), token))
    assert not Appointment.objects.exists()


def test_answers_sent_with_the_booking_are_ignored(client, clock, microneedling, commits):
    screen(client, isotretinoin_recently="yes", last_dose="2025-09-30")  # wait until 30 March
    token = token_of(latest_screening())
    response = book(
        client, commits, local(TUESDAY), token, taking_isotretinoin="no", isotretinoin_recently="no", outcome="clear"
    )
    assert response.status_code in (400, 409)
    assert not Appointment.objects.exists()
    assert latest_screening().outcome == Screening.Outcome.WAIT


def test_a_time_before_the_eligible_date_is_refused_with_a_clear_message(client, clock, microneedling, commits):
    screen(client, isotretinoin_recently="yes", last_dose="2025-09-30")
    token = token_of(latest_screening())
    response = book(client, commits, local(date(2026, 3, 29)), token)
    assert response.status_code in (400, 409)
    assert "You can book microneedling from Monday 30 March 2026" in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_blocked_screening_cannot_book_at_all(client, clock, microneedling, commits):
    screen(client, taking_isotretinoin="yes", isotretinoin_recently=None, course_end="2026-03-15")
    token = token_of(latest_screening())
    response = book(client, commits, local(date(2026, 3, 20)), token)
    assert response.status_code == 302 and response["Location"] == f"/book/{SLUG}/screening/{token}/"
    assert not Appointment.objects.exists()


def test_the_booking_email_must_be_the_screening_email(client, clock, microneedling, commits):
    screen(client)
    response = book(client, commits, local(TUESDAY), token_of(latest_screening()), email="someone.else@example.com")
    assert response.status_code == 400 and "same email address" in response.content.decode()
    assert not Appointment.objects.exists()
    assert latest_screening().used_at is None


def test_changing_the_answers_means_a_new_screening_judged_against_the_old_one(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-02-01")
    screen(client, email="new.address@example.com")  # same browser, new email, answers that would clear
    assert latest_screening().outcome == Screening.Outcome.REVIEW


def test_a_forged_reminder_post_from_another_browser_is_a_404(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-02-01")
    token = token_of(latest_screening())
    response = Client().post(f"/book/{SLUG}/screening/{token}/reminder/", {"consent": "on"})
    assert response.status_code == 404


def test_the_availability_api_shows_no_screened_times_without_a_screening(client, clock, microneedling):
    response = client.get(f"/api/availability/{SLUG}/", {"start": "2026-03-03"})
    assert response.status_code == 403 and "health questions" in response.json()["errors"]["screening"][0]
    screen(client, isotretinoin_recently="yes", last_dose="2025-09-30")  # wait until 30 March
    days = client.get(f"/api/availability/{SLUG}/", {"start": "2026-03-27", "days": 4}).json()["days"]
    assert days["2026-03-27"] == [] and days["2026-03-30"]
