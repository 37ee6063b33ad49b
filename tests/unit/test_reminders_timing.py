"""When reminders fall due and when a failed send is tried again: plain functions of the clock, no database."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.emails import retry_at, when_words
from booking.services import appointment_reminder_due_at

LONDON = ZoneInfo("Europe/London")


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("appointment", "reminder", "real_hours"),
    [
        (london(2026, 3, 4, 10), london(2026, 3, 3, 10), 24),
        (london(2026, 3, 30, 9), london(2026, 3, 29, 9), 24),  # clocks went forward at 01:00 on the 29th
        (london(2026, 3, 29, 10), london(2026, 3, 28, 10), 23),  # the appointment is on the day they change
        (london(2026, 10, 26, 9), london(2026, 10, 25, 9), 24),
        (london(2026, 10, 25, 10), london(2026, 10, 24, 10), 25),  # clocks went back at 02:00 on the 25th
        (london(2028, 3, 1, 9), london(2028, 2, 29, 9), 24),  # leap day
    ],
)
def test_reminder_is_due_at_the_same_local_time_the_day_before(settings, appointment, reminder, real_hours):
    settings.APPOINTMENT_REMINDER_HOURS = 24
    settings.BOOKING_CANCEL_CUTOFF_HOURS = 12  # online changes until 12 hours before: the reminder comes before that
    due = appointment_reminder_due_at(appointment)
    assert due == reminder
    assert appointment.astimezone(UTC) - due.astimezone(UTC) == timedelta(hours=real_hours)


def test_reminder_whose_local_time_does_not_exist_goes_when_the_clocks_jump(settings):
    settings.APPOINTMENT_REMINDER_HOURS = 24
    settings.BOOKING_CANCEL_CUTOFF_HOURS = 12
    # 01:30 on Sunday 29 March 2026 never happens in London: 01:00 GMT becomes 02:00 BST.
    assert appointment_reminder_due_at(london(2026, 3, 30, 1, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_reminder_lead_time_follows_the_setting(settings):
    settings.APPOINTMENT_REMINDER_HOURS = 2
    settings.BOOKING_CANCEL_CUTOFF_HOURS = 0
    assert appointment_reminder_due_at(london(2026, 3, 4, 10)) == london(2026, 3, 4, 4)  # 6 hours before: see below
    settings.APPOINTMENT_REMINDER_HOURS = 72
    assert appointment_reminder_due_at(london(2026, 3, 4, 10)) == london(2026, 3, 1, 10)


def test_by_default_the_reminder_comes_a_day_before_online_changes_close():
    # Changes online until 24 hours before (BOOKING_CANCEL_CUTOFF_HOURS); the reminder goes 48 hours before.
    assert appointment_reminder_due_at(london(2026, 3, 5, 10)) == london(2026, 3, 3, 10)


@pytest.mark.parametrize("reminder_hours", [24, 26, 12])
def test_a_reminder_set_at_or_after_the_cutoff_goes_6_hours_before_it(settings, reminder_hours):
    settings.BOOKING_CANCEL_CUTOFF_HOURS = 24
    settings.APPOINTMENT_REMINDER_HOURS = reminder_hours
    assert appointment_reminder_due_at(london(2026, 3, 5, 10)) == london(2026, 3, 4, 4)


def test_a_reminder_setting_too_close_to_the_cutoff_is_warned_of(settings):
    from booking.checks import reminder_before_the_cutoff

    settings.BOOKING_CANCEL_CUTOFF_HOURS = 24
    settings.APPOINTMENT_REMINDER_HOURS = 48
    assert reminder_before_the_cutoff(None) == []
    settings.APPOINTMENT_REMINDER_HOURS = 24
    [warning] = reminder_before_the_cutoff(None)
    assert warning.id == "booking.W001" and "Set APPOINTMENT_REMINDER_HOURS to 30 or more" in warning.hint


def test_retries_back_off_exponentially_with_jitter_and_stop_at_the_limit(settings):
    settings.EMAIL_MAX_ATTEMPTS = 5
    settings.EMAIL_RETRY_BASE_SECONDS = 60
    now = london(2026, 3, 2, 8)
    for attempts, base in [(1, 60), (2, 120), (3, 240), (4, 480)]:
        delays = {(retry_at(attempts=attempts, now=now) - now).total_seconds() for _ in range(50)}
        assert all(base <= delay <= base * 1.5 for delay in delays)
        assert len(delays) > 1  # jittered: rows that failed together do not retry together
    assert retry_at(attempts=5, now=now) is None


def test_retries_are_at_most_an_hour_apart_and_the_defaults_try_for_about_four_hours(settings):
    now = london(2026, 3, 2, 8)
    settings.EMAIL_MAX_ATTEMPTS, settings.EMAIL_RETRY_BASE_SECONDS = 10, 60
    waits = [(retry_at(attempts=attempts, now=now) - now).total_seconds() for attempts in range(1, 10)]
    assert max(waits) <= 3600 * 1.5 and min(waits[-3:]) >= 3600  # the last tries an hour (plus jitter) apart
    assert 4 * 3600 <= sum(waits) <= 6.5 * 3600  # a mail server down for an afternoon loses nothing
    assert retry_at(attempts=10, now=now) is None


@pytest.mark.parametrize(
    ("start", "now", "words"),
    [
        (london(2026, 3, 4, 10), london(2026, 3, 4, 8), "today"),
        (london(2026, 3, 4, 10), london(2026, 3, 3, 10), "tomorrow"),
        (london(2026, 4, 1, 10), datetime(2026, 3, 31, 23, 30, tzinfo=UTC), "today"),  # 00:30 on 1 April in London
        (london(2026, 3, 4, 10), london(2026, 3, 2, 10), "on Wednesday 4 March"),
    ],
)
def test_reminder_says_when_the_appointment_is_from_the_day_it_is_sent(start, now, words):
    assert when_words(start, now=now) == words
