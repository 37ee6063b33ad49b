"""Eligibility reminders go out in batches: what a patient (and the clinic) would notice stays the same.

One refused address costs only its own email; a batch larger or smaller than what is due sends each once; every
patient gets their own links although a batch is rendered once; two dispatchers sharing batches send each once.
"""

import smtplib
import threading
import time as clock_time
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from screening import reminders
from screening.models import EligibilityReminder

from ..factories import make_treatment
from ..races import at_once

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 3, 10)
State = EligibilityReminder.State


class RefusesOneAddress(LocmemBackend):
    """The mail server turns away one recipient and takes everyone else."""

    def send_messages(self, messages):
        for message in messages:
            if message.to == ["bounce@example.com"]:
                raise smtplib.SMTPRecipientsRefused({"bounce@example.com": (550, b"no such user")})
        return super().send_messages(messages)


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def due(treatment, emails) -> list[EligibilityReminder]:
    return EligibilityReminder.objects.bulk_create(
        EligibilityReminder(
            email=email, treatment=treatment, kind=EligibilityReminder.Kind.ELIGIBLE, due_on=DAY, send_at=at(9)
        )
        for email in emails
    )


@pytest.fixture
def needling(db):
    return make_treatment("microneedling", minutes=60, requires_screening=True)


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "http://testserver"


@pytest.mark.django_db
def test_one_refused_address_in_a_batch_neither_stops_nor_resends_the_others(clock, needling, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusesOneAddress"
    due(needling, ["ann@example.com", "bounce@example.com", "cy@example.com", "di@example.com"])
    clock.move_to(at(9))
    counts = reminders.eligibility_reminders_dispatch(now=timezone.now())
    assert (counts["sent"], counts["retrying"]) == (3, 1)
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "cy@example.com", "di@example.com"]
    bounce = EligibilityReminder.objects.get(email="bounce@example.com")
    assert (bounce.state, bounce.attempts, bounce.sent_at) == (State.PENDING, 1, None)
    assert bounce.last_error.startswith("SMTPRecipientsRefused")

    clock.move_to(bounce.send_at)  # the retry: only the refused address is tried again
    counts = reminders.eligibility_reminders_dispatch(now=timezone.now())
    assert (counts["sent"], counts["retrying"]) == (0, 1)
    assert len(mail.outbox) == 3
    assert set(EligibilityReminder.objects.exclude(pk=bounce.pk).values_list("state", "attempts")) == {("sent", 1)}


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [200, 2])
def test_each_due_reminder_goes_once_whether_the_batch_is_larger_or_smaller_than_what_is_due(
    clock, needling, monkeypatch, batch_size
):
    monkeypatch.setattr(reminders, "BATCH_SIZE", batch_size)
    due(needling, [f"p{n}@example.com" for n in range(5)])
    clock.move_to(at(9, 1))
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 5
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 0
    assert sorted(m.to[0] for m in mail.outbox) == [f"p{n}@example.com" for n in range(5)]
    assert set(EligibilityReminder.objects.values_list("state", "attempts")) == {("sent", 1)}


@pytest.mark.django_db
def test_patients_sharing_a_batch_each_get_their_own_links(clock, needling):
    first, second = due(needling, ["ann@example.com", "o'neil+clinic@example.com"])
    clock.move_to(at(9))
    reminders.eligibility_reminders_dispatch(now=timezone.now())
    by_recipient = {m.to[0]: m for m in mail.outbox}
    for reminder in (first, second):
        message = by_recipient[reminder.email]
        html = message.alternatives[0][0]
        unsubscribe = f"http://testserver/reminders/unsubscribe/{reminder.unsubscribe_token}/"
        book = reminders.screening_url(reminder)
        assert unsubscribe in message.body and unsubscribe in html
        assert book in message.body and book in html
        assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
        other = second if reminder is first else first
        assert str(other.unsubscribe_token) not in message.body + html
        assert reminders.screening_url(other) not in message.body + html
    # The merged emails are the same as ones rendered one by one.
    for reminder in (first, second):
        reminder.refresh_from_db()
        full = reminders._eligibility_email(reminder)
        sent = by_recipient[reminder.email]
        assert (sent.subject, sent.body, sent.alternatives) == (full.subject, full.body, full.alternatives)


_lock = threading.Lock()
_sent: list[tuple[str, str]] = []


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        clock_time.sleep(0.001)  # talking to the mail server lets the other dispatcher run
        with _lock:
            _sent.extend((threading.current_thread().name, message.to[0]) for message in messages)
        return len(messages)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_sharing_batches_send_each_reminder_once(settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.RecordingBackend"
    monkeypatch.setattr(reminders, "BATCH_SIZE", 7)  # many batches, each shared by both dispatchers
    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    rows = due(needling, [f"p{n}@example.com" for n in range(120)])
    _sent.clear()
    now = rows[0].send_at + timedelta(minutes=1)
    beats = ("beat-1", "beat-2")
    results = at_once(lambda beat: reminders.eligibility_reminders_dispatch(now=now), beats)
    counts = dict(zip(beats, results, strict=True))

    recipients = Counter(recipient for _, recipient in _sent)
    assert len(recipients) == 120 and set(recipients.values()) == {1}
    assert counts["beat-1"]["sent"] + counts["beat-2"]["sent"] == 120
    assert counts["beat-1"]["sent"] > 0 and counts["beat-2"]["sent"] > 0, "both really dispatched"
    assert set(EligibilityReminder.objects.values_list("state", "attempts")) == {("sent", 1)}
