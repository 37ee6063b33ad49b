"""The explicit opt-in to an email when the wait ends."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core import mail

from screening.models import EligibilityReminder
from screening.reminders import eligibility_reminders_dispatch
from screening.services import eligibility_reminder_subscribe

from .screening_helpers import LONDON, SLUG, latest_screening, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def microneedling(db):
    return make_clinic()


def reminder_url(screening):
    return f"/book/{SLUG}/screening/{token_of(screening)}/reminder/"


def test_ticking_the_box_books_an_email_on_the_day_and_two_weeks_before(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    screening = latest_screening()
    response = client.post(reminder_url(screening), {"consent": "on"}, follow=True)
    assert "We will email alex@example.com on Wednesday 15 July 2026" in response.content.decode()
    rows = {r.kind: r for r in EligibilityReminder.objects.all()}
    assert rows["eligible"].due_on == date(2026, 7, 15)
    assert rows["eligible"].send_at == datetime(2026, 7, 15, 9, tzinfo=LONDON)
    assert rows["advance"].due_on == date(2026, 7, 1)
    assert all(r.state == "pending" and r.screening == screening for r in rows.values())


def test_without_the_box_ticked_nothing_is_booked(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    response = client.post(reminder_url(latest_screening()), {})
    assert response.status_code == 400 and "Please tick the box" in response.content.decode()
    assert not EligibilityReminder.objects.exists()


def test_a_blocked_patient_with_a_course_end_is_reminded_at_that_end_plus_the_wait(client, clock, microneedling):
    screen(client, taking_isotretinoin="yes", isotretinoin_recently=None, course_end="2026-05-31")
    client.post(reminder_url(latest_screening()), {"consent": "on"})
    assert EligibilityReminder.objects.get(kind="eligible").due_on == date(2026, 11, 30)


def test_subscribing_twice_keeps_one_row_per_kind(clock, microneedling, client):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    screening, now = latest_screening(), datetime(2026, 3, 2, 8, tzinfo=LONDON)
    first = eligibility_reminder_subscribe(screening=screening, now=now)
    second = eligibility_reminder_subscribe(screening=screening, now=now)
    assert [r.pk for r in first] == [r.pk for r in second] and EligibilityReminder.objects.count() == 2


def test_a_wait_of_two_weeks_or_less_gets_only_the_email_on_the_day(clock, microneedling, client):
    screen(client, q_sunburn="yes")
    reminders = eligibility_reminder_subscribe(screening=latest_screening(), now=datetime(2026, 3, 2, 8, tzinfo=LONDON))
    assert [(r.kind, r.due_on) for r in reminders] == [("eligible", date(2026, 3, 16))]


def test_a_later_screening_replaces_pending_reminders_about_another_day(clock, microneedling, client):
    now = datetime(2026, 3, 2, 8, tzinfo=LONDON)
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    eligibility_reminder_subscribe(screening=latest_screening(), now=now)
    screen(client, isotretinoin_recently="yes", last_dose="2026-02-15")
    eligibility_reminder_subscribe(screening=latest_screening(), now=now)
    pending = EligibilityReminder.objects.filter(state="pending").values_list("due_on", flat=True)
    assert sorted(pending) == [date(2026, 8, 1), date(2026, 8, 15)]


def test_no_date_means_no_reminder_offer(client, clock, microneedling):
    screen(client, q_pregnancy="yes")
    response = client.post(reminder_url(latest_screening()), {"consent": "on"}, follow=True)
    assert "no date to remind you about" in response.content.decode()
    assert not EligibilityReminder.objects.exists()


def test_the_send_time_is_nine_in_the_clinic_even_across_the_clock_change(clock, microneedling, client):
    screen(client, isotretinoin_recently="yes", last_dose="2025-10-29")  # eligible 29 April, summer time
    (reminder,) = [
        r
        for r in eligibility_reminder_subscribe(screening=latest_screening(), now=datetime.now(LONDON))
        if r.kind == "eligible"
    ]
    assert reminder.send_at.astimezone(LONDON).time() == time(9)
    assert reminder.send_at.utcoffset() == timedelta(hours=1)


def test_ticking_the_box_again_after_unsubscribing_brings_the_emails_back(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    client.post(reminder_url(latest_screening()), {"consent": "on"})
    eligible = EligibilityReminder.objects.get(kind="eligible")
    client.post(f"/reminders/unsubscribe/{eligible.unsubscribe_token}/")

    clock.move_to(datetime(2026, 3, 9, 10, tzinfo=LONDON))
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    page = client.post(reminder_url(latest_screening()), {"consent": "on"}, follow=True).content.decode()
    assert (
        "Thank you. We will email alex@example.com on Wednesday 15 July 2026, when you can book, and two weeks" in page
    )
    assert "Email me" not in page
    rows = EligibilityReminder.objects.all()
    assert {(r.kind, r.state) for r in rows} == {("eligible", "pending"), ("advance", "pending")}
    assert {r.opted_in_at for r in rows} == {datetime(2026, 3, 9, 10, tzinfo=LONDON)}
    assert {r.unsubscribed_at for r in rows} == {datetime(2026, 3, 2, 8, tzinfo=LONDON)}  # the opt-out stays on record

    clock.move_to(datetime(2026, 7, 15, 9, tzinfo=LONDON))
    eligibility_reminders_dispatch(now=datetime.now(LONDON))
    assert [m.subject for m in mail.outbox] == ["Your wait is over: you can book microneedling now"]


def test_the_result_page_says_both_emails_as_the_thank_you_did_until_the_first_has_gone(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    screening = latest_screening()
    client.post(reminder_url(screening), {"consent": "on"})
    page = client.get(f"/book/{SLUG}/screening/{token_of(screening)}/").content.decode()
    assert "on Wednesday 15 July 2026, when you can book, and two weeks before.</p>" in page
    EligibilityReminder.objects.filter(kind="advance").update(state="sent")
    page = client.get(f"/book/{SLUG}/screening/{token_of(screening)}/").content.decode()
    assert "on Wednesday 15 July 2026, when you can book.</p>" in page
