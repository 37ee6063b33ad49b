"""A "your wait is over" email goes only while it is still true: the patient has not answered again since with
something else (now on isotretinoin, a later last dose). Answers again with the same date keep it."""

from datetime import date, datetime, time

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from booking.models import Appointment
from screening import reminders
from screening.models import EligibilityReminder, Screening
from screening.rules import Answers
from screening.services import screening_submit

from ..factories import signed_in
from .screening_helpers import LONDON, QUEUE, SLUG, book, latest_screening, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
WAIT_OVER = "Your wait is over: you can book microneedling now"


@pytest.fixture
def microneedling(db):
    return make_clinic()


def at_nine(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=LONDON)


def opt_in(client, **answers):
    """Answer (told to wait) and tick "Email me"; return the page shown after."""
    screen(client, **answers)
    url = f"/book/{SLUG}/screening/{token_of(latest_screening())}/reminder/"
    return client.post(url, {"consent": "on"}, follow=True).content.decode()


def dispatch_on(clock, day: date):
    clock.move_to(at_nine(day))
    return reminders.eligibility_reminders_dispatch(now=timezone.now())


def wait_over_emails():
    return [m for m in mail.outbox if m.subject.startswith("Your wait is over")]


def test_no_wait_is_over_email_after_the_patient_answers_that_they_are_back_on_isotretinoin(clock, microneedling):
    opt_in(Client(), isotretinoin_recently="yes", last_dose="2026-01-15")  # eligible 15 July
    clock.move_to(datetime(2026, 5, 1, 10, tzinfo=LONDON))
    screen(Client(), email="ALEX@example.com", taking_isotretinoin="yes", isotretinoin_recently=None)

    assert dispatch_on(clock, date(2026, 7, 1))["sent"] == 0  # nor two weeks before
    assert dispatch_on(clock, date(2026, 7, 15))["sent"] == 0
    assert mail.outbox == []


def test_a_later_last_dose_without_a_new_opt_in_gets_no_email_on_the_old_day(clock, microneedling):
    opt_in(Client(), isotretinoin_recently="yes", last_dose="2026-01-15")
    clock.move_to(datetime(2026, 3, 9, 10, tzinfo=LONDON))
    later = Client()
    result = later.get(screen(later, isotretinoin_recently="yes", last_dose="2026-02-20")["Location"])
    assert "Email me" in result.content.decode()  # this date has no reminder yet: the patient is asked again

    dispatch_on(clock, date(2026, 7, 15))
    dispatch_on(clock, date(2026, 8, 20))
    assert wait_over_emails() == []


def test_a_later_last_dose_with_a_new_opt_in_is_reminded_on_its_own_day_only(clock, microneedling):
    opt_in(Client(), isotretinoin_recently="yes", last_dose="2026-01-15")
    clock.move_to(datetime(2026, 3, 9, 10, tzinfo=LONDON))
    page = opt_in(Client(), isotretinoin_recently="yes", last_dose="2026-02-20")
    assert "We will email alex@example.com on Thursday 20 August 2026" in page

    assert dispatch_on(clock, date(2026, 7, 15))["sent"] == 0
    assert dispatch_on(clock, date(2026, 8, 20))["sent"] == 1
    [email] = wait_over_emails()
    assert "from Thursday 20 August 2026, you can book microneedling" in email.body


def test_the_same_answers_again_keep_the_reminder_without_ticking_the_box_again(clock, microneedling):
    opt_in(Client(), isotretinoin_recently="yes", last_dose="2026-01-15")
    clock.move_to(datetime(2026, 4, 1, 10, tzinfo=LONDON))
    again = Client()
    result = again.get(screen(again, isotretinoin_recently="yes", last_dose="2026-01-15")["Location"])
    page = result.content.decode()
    assert "Email me" not in page and "We will email alex@example.com on Wednesday 15 July 2026" in page

    assert dispatch_on(clock, date(2026, 7, 15))["sent"] == 1
    [email] = wait_over_emails()
    assert "from Wednesday 15 July 2026, you can book microneedling" in email.body


def test_later_answers_stop_a_reminder_even_when_they_were_stored_without_retiring_it(clock, microneedling):
    # Reminders opted into before this check existed, or rows written some other way: the send itself asks.
    opt_in(Client(), isotretinoin_recently="yes", last_dose="2026-01-15")
    first = latest_screening()
    Screening.objects.create(
        treatment=microneedling,
        email="Alex@Example.com",
        answers={},
        outcome=Screening.Outcome.BLOCKED,
        rules_version=first.rules_version,
        created_at=datetime(2026, 5, 1, 10, tzinfo=LONDON),
        expires_at=datetime(2026, 5, 1, 12, tzinfo=LONDON),
    )
    counts = dispatch_on(clock, date(2026, 7, 15))
    assert (counts["sent"], counts["skipped"]) == (0, 2)  # the advance one too
    assert mail.outbox == []
    assert set(EligibilityReminder.objects.values_list("state", flat=True)) == {"skipped"}


def test_answers_given_while_the_pass_is_sending_stop_the_reminders_it_has_not_sent(clock, microneedling, monkeypatch):
    opt_in(Client(), isotretinoin_recently="yes", last_dose="2026-01-15")
    read_batch = reminders._due_batch

    def answers_arrive_after_the_batch_is_read(*args, **kwargs):
        batch = read_batch(*args, **kwargs)
        if batch:
            screening_submit(
                treatment=microneedling,
                email="alex@example.com",
                answers=Answers(taking_isotretinoin=True),
                now=timezone.now(),
            )
        return batch

    monkeypatch.setattr(reminders, "_due_batch", answers_arrive_after_the_batch_is_read)
    assert dispatch_on(clock, date(2026, 7, 15))["sent"] == 0
    assert mail.outbox == []


def test_a_pass_that_read_its_batch_before_the_same_date_was_given_again_still_sends(clock, microneedling):
    opt_in(Client(), isotretinoin_recently="yes", last_dose="2026-01-15")  # eligible 15 July, and 1 July before
    clock.move_to(at_nine(date(2026, 7, 1)))
    read_by_the_pass = list(EligibilityReminder.objects.filter(kind=EligibilityReminder.Kind.ADVANCE))
    screen(Client(), isotretinoin_recently="yes", last_dose="2026-01-15")  # the same answers, meanwhile
    assert EligibilityReminder.objects.get(kind="advance").screening_id != read_by_the_pass[0].screening_id
    assert reminders._answered_again(read_by_the_pass) == set()  # the same day: still true, still goes


def test_no_wait_is_over_email_after_a_clinician_declined_the_booking_made_on_those_answers(
    clock, microneedling, commits
):
    """The clinician knows better than the answers: "wait until August", not "you can book now" in April."""
    patient = Client()
    opt_in(patient, isotretinoin_recently="yes", last_dose="2025-10-15", last_dose_unsure="on")  # 15 April, unsure
    book(patient, commits, at_nine(date(2026, 4, 20)), token_of(latest_screening()))
    held = Appointment.objects.get()
    assert held.status == Appointment.Status.PENDING_REVIEW
    signed_in(Client(), "Clinician").post(
        f"{QUEUE}{held.pk}/review/", {"decline": "1", "reason": "Last dose was in February: wait until August"}
    )
    held.refresh_from_db()
    assert held.status == Appointment.Status.DECLINED

    assert dispatch_on(clock, date(2026, 4, 1))["sent"] == 0  # nor two weeks before
    assert dispatch_on(clock, date(2026, 4, 15))["sent"] == 0
    assert wait_over_emails() == []
