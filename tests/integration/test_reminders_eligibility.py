"""Eligibility reminders: at 09:00 on the day the wait ends, once, naming no drug, and easy to unsubscribe from."""

import smtplib
from datetime import date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from booking import services as booking_services
from screening import reminders, services
from screening.models import EligibilityReminder, Screening
from screening.rules import BRAND_NAMES

from ..factories import make_practitioner, make_treatment, patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
State = EligibilityReminder.State
Kind = EligibilityReminder.Kind


class SMTPDown(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


@pytest.fixture
def needling(db):
    return make_treatment("microneedling", minutes=60, requires_screening=True)


def opt_in(treatment, eligible_from: date, email="sam@example.com") -> list[EligibilityReminder]:
    """The patient told to wait ticks "email me" on the result page."""
    now = timezone.now()
    screening = Screening.objects.create(
        treatment=treatment,
        email=email,
        answers={},
        outcome=Screening.Outcome.WAIT,
        eligible_from=eligible_from,
        rules_version=1,
        created_at=now,
        expires_at=now + timedelta(hours=2),
    )
    return services.eligibility_reminder_subscribe(screening=screening, now=now)


def dispatch():
    return reminders.eligibility_reminders_dispatch(now=timezone.now())


def test_leap_day_eligibility_email_goes_at_nine_that_morning_once_and_the_advance_one_two_weeks_before(
    clock, needling
):
    # Last dose 31 August 2027: six calendar months later is Tuesday 29 February 2028.
    clock.move_to(at(date(2027, 9, 1), 18))
    opt_in(needling, date(2028, 2, 29))
    assert dispatch()["sent"] == 0

    clock.move_to(at(date(2028, 2, 15), 8, 59))
    assert dispatch()["sent"] == 0
    clock.move_to(at(date(2028, 2, 15), 9))
    assert dispatch()["sent"] == 1
    [advance] = mail.outbox
    assert advance.subject == "Two weeks to go: you can book microneedling from 29 February"
    assert "from Tuesday 29 February 2028 you can book microneedling" in advance.body

    clock.move_to(at(date(2028, 2, 29), 8, 59))
    assert dispatch()["sent"] == 0
    clock.move_to(at(date(2028, 2, 29), 9))
    assert dispatch()["sent"] == 1
    clock.move_to(at(date(2028, 2, 29), 9, 2))
    assert dispatch()["sent"] == 0
    assert [m.subject for m in mail.outbox[1:]] == ["Your wait is over: you can book microneedling now"]
    eligible = EligibilityReminder.objects.get(kind=Kind.ELIGIBLE)
    assert eligible.state == State.SENT and eligible.sent_at == at(date(2028, 2, 29), 9)


def test_eligibility_email_on_the_day_the_clocks_go_forward_goes_at_nine_local_time(clock, needling):
    opt_in(needling, date(2026, 3, 29))
    clock.move_to(at(date(2026, 3, 29), 8, 59))
    assert dispatch()["sent"] == 0
    clock.move_to(at(date(2026, 3, 29), 9))  # 08:00 UTC: British Summer Time began at 01:00 UTC
    assert dispatch()["sent"] == 1


def test_eligibility_email_names_no_drug_and_links_to_a_fresh_screening_with_the_email_filled_in(
    clock, needling, client
):
    opt_in(needling, date(2026, 3, 10))
    clock.move_to(at(date(2026, 3, 10), 9))
    dispatch()
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert message.to == ["sam@example.com"]
    assert message.subject == "Your wait is over: you can book microneedling now"
    assert "from Tuesday 10 March 2026, you can book microneedling" in message.body
    for text in (message.subject, message.body, html):
        assert "isotretinoin" not in text.lower()
        assert not any(brand.lower() in text.lower() for brand in BRAND_NAMES)

    reminder = EligibilityReminder.objects.get(kind=Kind.ELIGIBLE)
    book_url = reminders.screening_url(reminder)
    assert book_url.startswith("http://testserver/book/microneedling/screening/?")
    assert book_url in message.body and book_url in html
    page = client.get(book_url.removeprefix("http://testserver")).content.decode()
    assert 'value="sam@example.com"' in page

    unsubscribe_url = f"http://testserver/reminders/unsubscribe/{reminder.unsubscribe_token}/"
    assert unsubscribe_url in message.body and unsubscribe_url in html
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.message()["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "http://testserver"


def test_one_click_unsubscribe_from_a_mail_client_stops_every_pending_reminder_about_it(clock, needling):
    eligible, advance = opt_in(needling, date(2026, 6, 1))
    other = opt_in(make_treatment("laser-resurfacing", minutes=30, requires_screening=True), date(2026, 6, 1))[0]
    # RFC 8058: a POST with no cookie and no CSRF token.
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        f"/reminders/unsubscribe/{advance.unsubscribe_token}/", {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    for reminder in (eligible, advance):
        reminder.refresh_from_db()
        assert reminder.state == State.UNSUBSCRIBED
    other.refresh_from_db()
    assert other.state == State.PENDING

    clock.move_to(at(date(2026, 6, 1), 9))
    assert dispatch()["sent"] == 1  # only the other treatment's
    assert [m.subject for m in mail.outbox] == ["Your wait is over: you can book laser resurfacing now"]


def test_unsubscribe_link_asks_first_and_opening_it_changes_nothing(clock, needling, client):
    [reminder] = opt_in(needling, date(2026, 3, 10))
    url = f"/reminders/unsubscribe/{reminder.unsubscribe_token}/"
    page = client.get(url).content.decode()
    assert "Stop reminder emails?" in page and "microneedling" in page
    reminder.refresh_from_db()
    assert reminder.state == State.PENDING

    client.post(url)
    reminder.refresh_from_db()
    assert reminder.state == State.UNSUBSCRIBED
    assert "<title>You are unsubscribed" in client.get(url).content.decode()  # the title says so too


def test_unsubscribing_after_the_email_was_sent_is_recorded_on_that_reminder(clock, needling, client):
    [reminder] = opt_in(needling, date(2026, 3, 10))
    clock.move_to(at(date(2026, 3, 10), 9))
    dispatch()
    client.post(f"/reminders/unsubscribe/{reminder.unsubscribe_token}/")
    reminder.refresh_from_db()
    assert reminder.state == State.UNSUBSCRIBED and reminder.sent_at == at(date(2026, 3, 10), 9)
    assert dispatch()["sent"] == 0 and len(mail.outbox) == 1


def test_an_opt_out_is_recorded_with_its_time_and_a_second_click_keeps_the_first(clock, needling, client):
    eligible, advance = opt_in(needling, date(2026, 6, 1))
    other = opt_in(make_treatment("laser-resurfacing", minutes=30, requires_screening=True), date(2026, 6, 1))[0]
    opted_out_at = timezone.now()
    client.post(f"/reminders/unsubscribe/{advance.unsubscribe_token}/")
    clock.shift(timedelta(days=3))
    client.post(f"/reminders/unsubscribe/{advance.unsubscribe_token}/")
    opted_out = EligibilityReminder.objects.filter(unsubscribed_at__isnull=False)
    assert set(opted_out.values_list("pk", "unsubscribed_at")) == {
        (eligible.pk, opted_out_at),
        (advance.pk, opted_out_at),
    }
    other.refresh_from_db()
    assert other.unsubscribed_at is None


def test_staff_see_when_a_patient_unsubscribed_in_the_reminders_list(clock, needling, client, admin_client):
    [reminder] = opt_in(needling, date(2026, 3, 10))
    client.post(f"/reminders/unsubscribe/{reminder.unsubscribe_token}/")
    page = admin_client.get("/admin/screening/eligibilityreminder/").content.decode()
    assert "Unsubscribed at" in page and "2 Mar 2026, 08:00" in page  # the 24-hour clock, as everywhere


@pytest.mark.parametrize(
    "path", ["/reminders/unsubscribe/00000000-0000-4000-8000-000000000000/", "/reminders/unsubscribe/nope/"]
)
def test_unknown_unsubscribe_link_is_not_found(client, path):
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


def test_no_reminder_once_the_patient_has_booked_the_treatment(clock, needling):
    make_practitioner("Dr Okafor", treatments=[needling])
    [reminder] = opt_in(needling, date(2026, 3, 10), email="alex@example.com")
    booking_services.appointment_book(
        treatment=needling, start=at(date(2026, 3, 12), 10), patient=patient(), now=timezone.now()
    )
    clock.move_to(at(date(2026, 3, 10), 9))
    assert dispatch()["skipped"] == 1
    reminder.refresh_from_db()
    assert reminder.state == State.SKIPPED
    assert not [m for m in mail.outbox if "wait is over" in m.subject]


def test_advance_reminder_held_up_past_the_end_of_the_wait_is_skipped_not_sent_late(clock, needling):
    eligible, advance = opt_in(needling, date(2026, 4, 20))
    # The beat was down from before the advance date until the day the wait ended.
    clock.move_to(at(date(2026, 4, 20), 9, 30))
    counts = dispatch()
    assert (counts["sent"], counts["skipped"]) == (1, 1)
    assert [m.subject for m in mail.outbox] == ["Your wait is over: you can book microneedling now"]
    advance.refresh_from_db()
    assert advance.state == State.SKIPPED


def test_smtp_failure_retries_then_marks_the_reminder_failed_with_the_error_in_admin(clock, needling, settings, client):
    settings.EMAIL_BACKEND = f"{__name__}.SMTPDown"
    settings.EMAIL_MAX_ATTEMPTS = 3
    [reminder] = opt_in(needling, date(2026, 3, 10))
    clock.move_to(reminder.send_at)
    for attempt in (1, 2):
        assert dispatch()["retrying"] == 1
        reminder.refresh_from_db()
        assert reminder.attempts == attempt
        clock.move_to(reminder.send_at)
    assert dispatch()["failed"] == 1
    reminder.refresh_from_db()
    assert reminder.state == State.FAILED and reminder.sent_at is None
    assert reminder.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    clock.move_to(reminder.send_at + timedelta(days=1))
    assert sum(dispatch().values()) == 0

    client.force_login(get_user_model().objects.create_superuser("clinician", "c@example.com", "pw"))
    page = client.get("/admin/screening/eligibilityreminder/", {"state__exact": "failed"}).content.decode()
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in page


def test_send_due_reminders_command_counts_eligibility_reminders(clock, needling):
    opt_in(needling, date(2026, 3, 10))
    opt_in(needling, date(2026, 3, 10), email="kim@example.com")
    clock.move_to(at(date(2026, 3, 10), 9))
    out = StringIO()
    call_command("send_due_reminders", stdout=out)
    assert "Eligibility reminders: 2 sent, 0 to retry, 0 failed, 0 skipped" in out.getvalue()
    assert len(mail.outbox) == 2


def test_an_eligibility_email_sent_a_day_late_does_not_call_its_day_today(clock, needling):
    opt_in(needling, date(2026, 3, 10))
    clock.move_to(at(date(2026, 3, 11), 11))  # the worker was down on the day
    dispatch()
    [message] = mail.outbox
    assert "from Tuesday 10 March 2026, you can book" in message.body and "today" not in message.body
