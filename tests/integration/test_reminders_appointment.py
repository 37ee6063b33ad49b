"""Appointment reminders: due on the clinic's clock while the booking can still be changed online, sent once by the
dispatch, retried, never stale."""

import re
import smtplib
from datetime import date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.utils import timezone

from booking import services, tasks
from booking.models import Appointment, AppointmentEmail
from clinic.celery import app as celery_app

from ..factories import booked_by_phone, make_practitioner, make_treatment, patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
REMINDER = AppointmentEmail.Kind.REMINDER


class SMTPDown(BaseEmailBackend):
    """An SMTP server that drops every connection."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


@pytest.fixture
def a_day_before(settings):
    """A clinic that takes changes online until 12 hours before can remind patients the day before."""
    settings.BOOKING_CANCEL_CUTOFF_HOURS = 12
    settings.APPOINTMENT_REMINDER_HOURS = 24


def book(treatment, start, **kwargs) -> Appointment:
    return services.appointment_book(treatment=treatment, start=start, patient=patient(), now=timezone.now(), **kwargs)


def dispatch():
    return services.appointment_emails_dispatch(now=timezone.now())


def reminders_sent():
    return [message for message in mail.outbox if message.subject.startswith("Reminder")]


def test_reminder_goes_out_at_its_due_time_once_and_not_a_minute_before(clock, facial, nurse, a_day_before):
    book(facial, at(date(2026, 3, 4), 10))
    dispatch()  # the confirmation
    clock.move_to(at(date(2026, 3, 3), 9, 59))
    assert dispatch()["sent"] == 0 and reminders_sent() == []

    clock.move_to(at(date(2026, 3, 3), 10))
    assert dispatch()["sent"] == 1
    [message] = reminders_sent()
    assert message.to == ["alex@example.com"]
    assert message.subject == "Reminder: Hydrating facial tomorrow at 10:00"
    assert AppointmentEmail.objects.get(kind=REMINDER).sent_at == at(date(2026, 3, 3), 10)

    clock.move_to(at(date(2026, 3, 3), 10, 5))
    assert dispatch()["sent"] == 0
    assert len(reminders_sent()) == 1


def test_reminder_across_the_spring_clock_change_is_at_the_same_local_time(clock, facial, nurse, a_day_before):
    # 09:00 BST on Monday 30 March 2026; the clocks went forward at 01:00 on Sunday 29 March.
    appointment = book(facial, at(date(2026, 3, 30), 9))
    reminder = appointment.emails.get(kind=REMINDER)
    assert reminder.due_at == datetime(2026, 3, 29, 8, 0, tzinfo=ZoneInfo("UTC")) == at(date(2026, 3, 29), 9)
    dispatch()
    clock.move_to(at(date(2026, 3, 29), 8, 59))
    dispatch()
    assert reminders_sent() == []
    clock.move_to(at(date(2026, 3, 29), 9))
    dispatch()
    [message] = reminders_sent()
    assert message.subject == "Reminder: Hydrating facial tomorrow at 09:00"


def test_reminder_for_the_day_the_clocks_go_forward_is_at_the_same_time_the_day_before(
    clock, facial, nurse, a_day_before
):
    # 10:00 BST on Sunday 29 March is only 23 real hours after 10:00 GMT on Saturday: the patient expects 10:00.
    appointment = book(facial, at(date(2026, 3, 29), 10))
    assert appointment.emails.get(kind=REMINDER).due_at == at(date(2026, 3, 28), 10)
    utc = ZoneInfo("UTC")
    assert at(date(2026, 3, 29), 10).astimezone(utc) - at(date(2026, 3, 28), 10).astimezone(utc) == timedelta(hours=23)
    dispatch()
    clock.move_to(at(date(2026, 3, 28), 9, 59))
    dispatch()
    assert reminders_sent() == []
    clock.move_to(at(date(2026, 3, 28), 10))
    dispatch()
    assert [m.subject for m in reminders_sent()] == ["Reminder: Hydrating facial tomorrow at 10:00"]


def test_reminder_across_the_autumn_clock_change_is_at_the_same_local_time(clock, facial, nurse, a_day_before):
    clock.move_to(at(date(2026, 10, 1), 8))
    # 09:00 GMT on Monday 26 October; the clocks went back at 02:00 BST on Sunday 25 October.
    appointment = book(facial, at(date(2026, 10, 26), 9))
    assert appointment.emails.get(kind=REMINDER).due_at == at(date(2026, 10, 25), 9)
    dispatch()
    clock.move_to(at(date(2026, 10, 25), 8, 59))
    dispatch()
    assert reminders_sent() == []
    clock.move_to(at(date(2026, 10, 25), 9))
    dispatch()
    assert [m.subject for m in reminders_sent()] == ["Reminder: Hydrating facial tomorrow at 09:00"]


def test_reminder_lead_time_is_configurable_and_the_email_names_the_day(clock, facial, nurse, settings):
    settings.APPOINTMENT_REMINDER_HOURS = 48
    book(facial, at(date(2026, 3, 5), 11))
    dispatch()
    clock.move_to(at(date(2026, 3, 3), 11))
    dispatch()
    [message] = reminders_sent()
    assert message.subject == "Reminder: Hydrating facial on Thursday 5 March at 11:00"
    assert "your appointment on Thursday 5 March." in message.body


def test_booking_less_than_a_day_ahead_gets_no_reminder(clock, facial, nurse):
    appointment = book(facial, at(date(2026, 3, 2), 15))
    assert not appointment.emails.filter(kind=REMINDER).exists()


def test_cancelled_appointment_gets_no_reminder(clock, facial, nurse, a_day_before):
    appointment = book(facial, at(date(2026, 3, 4), 10))
    services.appointment_cancel(appointment=appointment, now=timezone.now())
    clock.move_to(at(date(2026, 3, 3), 10))
    dispatch()
    assert reminders_sent() == []
    assert appointment.emails.get(kind=REMINDER).state == AppointmentEmail.State.SKIPPED


def test_rescheduled_appointment_is_reminded_of_the_new_time_only(clock, facial, nurse):
    appointment = book(facial, at(date(2026, 3, 4), 10))
    services.appointment_reschedule(appointment=appointment, new_start=at(date(2026, 3, 5), 14), now=timezone.now())
    clock.move_to(at(date(2026, 3, 3), 10))
    dispatch()
    assert reminders_sent() == []
    clock.move_to(at(date(2026, 3, 4), 14))
    dispatch()
    [message] = reminders_sent()
    assert message.subject == "Reminder: Hydrating facial tomorrow at 14:00"


def test_moving_away_from_a_time_and_back_again_reminds_once_for_that_time(clock, facial, nurse, a_day_before):
    ten = at(date(2026, 3, 4), 10)
    appointment = book(facial, ten)
    services.appointment_reschedule(appointment=appointment, new_start=at(date(2026, 3, 5), 14), now=timezone.now())
    services.appointment_reschedule(appointment=appointment, new_start=ten, now=timezone.now())
    assert [m.subject for m in mail.outbox] == []
    dispatch()
    # Sent late (nothing went out between the moves), the first "moved" email would name a time already given up,
    # and the second has nothing to tell once the confirmation has gone: the patient hears of the time they end with.
    assert [m.subject for m in mail.outbox] == ["Your appointment is confirmed: Hydrating facial, 4 March at 10:00"]
    clock.move_to(at(date(2026, 3, 3), 10))
    dispatch()
    clock.move_to(at(date(2026, 3, 4), 14))
    dispatch()
    assert [m.subject for m in reminders_sent()] == ["Reminder: Hydrating facial tomorrow at 10:00"]


def test_reminder_waits_for_the_clinician_and_goes_once_the_booking_is_approved_in_good_time(
    clock, facial, nurse, a_day_before
):
    appointment = book(facial, at(date(2026, 3, 5), 10), status=Appointment.Status.PENDING_REVIEW)
    clock.move_to(at(date(2026, 3, 3), 16))
    services.appointment_approve(appointment=appointment, now=timezone.now())
    dispatch()
    assert reminders_sent() == []
    clock.move_to(at(date(2026, 3, 4), 10))
    dispatch()
    assert [m.subject for m in reminders_sent()] == ["Reminder: Hydrating facial tomorrow at 10:00"]


def test_a_booking_approved_after_its_reminders_time_gets_the_confirmation_and_no_reminder(
    clock, facial, nurse, a_day_before
):
    appointment = book(facial, at(date(2026, 3, 4), 10), status=Appointment.Status.PENDING_REVIEW)
    clock.move_to(at(date(2026, 3, 3), 10))
    dispatch()
    assert reminders_sent() == []
    assert appointment.emails.get(kind=REMINDER).state == AppointmentEmail.State.PENDING  # waiting for a clinician

    clock.move_to(at(date(2026, 3, 3), 16))
    mail.outbox.clear()
    services.appointment_approve(appointment=appointment, now=timezone.now())
    dispatch()
    clock.move_to(at(date(2026, 3, 3), 20))
    dispatch()
    # The approval has just said it all; a reminder due earlier would even have gone first.
    assert [m.subject for m in mail.outbox] == ["Your appointment is confirmed: Hydrating facial, 4 March at 10:00"]


def test_a_phone_booking_held_for_review_and_approved_the_day_before_gets_no_reminder_before_its_confirmation(
    clock,
):
    microneedling = make_treatment("microneedling", minutes=60, requires_screening=True)
    ben = make_practitioner("Nurse Ben", treatments=[microneedling])
    clock.move_to(at(date(2026, 10, 20), 10))
    appointment = booked_by_phone(microneedling, at(date(2026, 10, 27), 11), practitioner=ben)
    dispatch()
    clock.move_to(at(date(2026, 10, 26), 9))  # a day after the reminder's time (Sunday 11:00)
    mail.outbox.clear()
    services.appointment_approve(appointment=appointment, now=timezone.now(), decided_by="Dr Shah")
    dispatch()
    clock.move_to(at(date(2026, 10, 27), 10))
    dispatch()
    assert [m.subject for m in mail.outbox] == ["Your appointment is confirmed: Microneedling, 27 October at 11:00"]


def test_a_reminder_due_within_hours_of_the_booking_is_not_sent_after_its_confirmation(clock, facial, nurse):
    clock.move_to(at(date(2026, 3, 2), 9, 55))
    appointment = book(facial, at(date(2026, 3, 4), 10))  # the reminder would be due at 10:00 today
    dispatch()
    clock.move_to(at(date(2026, 3, 2), 10, 5))
    dispatch()
    assert [m.subject for m in mail.outbox] == ["Your appointment is confirmed: Hydrating facial, 4 March at 10:00"]
    assert not appointment.emails.filter(kind=REMINDER).exists()
    # Further ahead than the margin (services.REMINDER_MIN_GAP, 12 hours), it goes as ever.
    later = book(facial, at(date(2026, 3, 5), 10))
    assert later.emails.get(kind=REMINDER).due_at == at(date(2026, 3, 3), 10)


def test_a_move_that_brings_the_reminder_within_hours_sends_the_moved_email_only(clock, facial, nurse):
    appointment = book(facial, at(date(2026, 3, 6), 10))
    dispatch()
    mail.outbox.clear()
    clock.move_to(at(date(2026, 3, 2), 9, 55))
    services.appointment_reschedule(appointment=appointment, new_start=at(date(2026, 3, 4), 10), now=timezone.now())
    dispatch()
    clock.move_to(at(date(2026, 3, 2), 10, 5))
    dispatch()
    assert [m.subject for m in mail.outbox] == ["Your appointment has moved: Hydrating facial, 4 March at 10:00"]


def test_declined_booking_and_one_never_decided_get_no_reminder(clock, facial, nurse, a_day_before):
    declined = book(facial, at(date(2026, 3, 4), 10), status=Appointment.Status.PENDING_REVIEW)
    undecided = book(facial, at(date(2026, 3, 4), 14), status=Appointment.Status.PENDING_REVIEW)
    services.appointment_decline(appointment=declined, reason="Not suitable", now=timezone.now())
    clock.move_to(at(date(2026, 3, 4), 14, 1))
    dispatch()
    assert reminders_sent() == []
    assert undecided.emails.get(kind=REMINDER).state == AppointmentEmail.State.SKIPPED


def test_smtp_failure_is_retried_with_growing_jittered_delays_then_marked_failed_and_shown_in_admin(
    clock, facial, nurse, settings, client, a_day_before
):
    settings.EMAIL_BACKEND = f"{__name__}.SMTPDown"
    settings.EMAIL_MAX_ATTEMPTS = 4
    settings.EMAIL_RETRY_BASE_SECONDS = 60
    appointment = book(facial, at(date(2026, 3, 4), 10))
    appointment.emails.exclude(kind=REMINDER).delete()
    reminder = appointment.emails.get(kind=REMINDER)
    clock.move_to(reminder.due_at)

    delays = []
    for attempt in (1, 2, 3):
        assert dispatch()["retrying"] == 1
        reminder.refresh_from_db()
        assert reminder.attempts == attempt and reminder.state == AppointmentEmail.State.PENDING
        delay = (reminder.due_at - timezone.now()).total_seconds()
        assert 60 * 2 ** (attempt - 1) <= delay <= 1.5 * 60 * 2 ** (attempt - 1)
        delays.append(delay)
        # Not a moment early: a second before the next try, the dispatch leaves it alone.
        clock.move_to(reminder.due_at - timedelta(seconds=1))
        assert sum(dispatch().values()) == 0
        clock.move_to(reminder.due_at)
    assert delays == sorted(delays)

    assert dispatch()["failed"] == 1
    reminder.refresh_from_db()
    assert reminder.state == AppointmentEmail.State.FAILED and reminder.attempts == 4
    assert reminder.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert reminder.sent_at is None

    # SMTP is back: a failed email stays failed (staff decide), and nothing is sent twice.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock.move_to(reminder.due_at + timedelta(hours=1))
    assert sum(dispatch().values()) == 0
    assert mail.outbox == []

    admin = get_user_model().objects.create_superuser("reception", "r@example.com", "pw")
    client.force_login(admin)
    page = client.get("/admin/booking/appointmentemail/", {"state__exact": "failed"}).content.decode()
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in page


def test_email_that_fails_once_is_sent_on_the_next_try_and_never_again(clock, facial, nurse, settings, a_day_before):
    settings.EMAIL_BACKEND = f"{__name__}.SMTPDown"
    appointment = book(facial, at(date(2026, 3, 4), 10))
    assert dispatch()["retrying"] == 1  # the confirmation
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock.move_to(appointment.emails.get(kind=AppointmentEmail.Kind.CONFIRMED).due_at)
    assert dispatch()["sent"] == 1
    confirmation = appointment.emails.get(kind=AppointmentEmail.Kind.CONFIRMED)
    assert confirmation.attempts == 2 and confirmation.state == AppointmentEmail.State.SENT
    assert confirmation.last_error.startswith("SMTPServerDisconnected")
    clock.move_to(at(date(2026, 3, 2), 12))
    assert dispatch()["sent"] == 0
    assert len(mail.outbox) == 1


def test_send_task_delivered_twice_sends_once(clock, facial, nurse):
    appointment = book(facial, at(date(2026, 3, 4), 10))
    confirmation = appointment.emails.get(kind=AppointmentEmail.Kind.CONFIRMED)
    assert tasks.send_appointment_email.delay(confirmation.pk).get() is True
    assert tasks.send_appointment_email.delay(confirmation.pk).get() is False
    assert tasks.dispatch_due_appointment_emails.delay().get()["sent"] == 0
    assert len(mail.outbox) == 1


def test_send_task_does_not_send_a_reminder_before_it_is_due(clock, facial, nurse, a_day_before):
    appointment = book(facial, at(date(2026, 3, 4), 10))
    reminder = appointment.emails.get(kind=REMINDER)
    assert tasks.send_appointment_email.delay(reminder.pk).get() is False
    assert reminders_sent() == []


def test_send_due_reminders_command_sends_what_is_due_and_prints_counts(clock, facial, nurse, a_day_before):
    book(facial, at(date(2026, 3, 4), 10))
    book(facial, at(date(2026, 3, 4), 14))
    clock.move_to(at(date(2026, 3, 3), 10))
    out = StringIO()
    call_command("send_due_reminders", stdout=out)
    assert out.getvalue().splitlines() == [
        "Appointment emails: 3 sent, 0 to retry, 0 failed, 0 skipped",
        "Eligibility reminders: 0 sent, 0 to retry, 0 failed, 0 skipped",
    ]
    out = StringIO()
    call_command("send_due_reminders", stdout=out)
    assert out.getvalue().startswith("Appointment emails: 0 sent")


def test_beat_schedule_in_code_runs_both_dispatches_every_few_minutes(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    entries = {entry["task"]: entry for entry in schedule.values()}
    assert set(entries) >= {
        "booking.tasks.dispatch_due_appointment_emails",
        "screening.tasks.dispatch_due_eligibility_reminders",
    }
    celery_app.loader.import_default_modules()
    for task, entry in entries.items():
        assert task in celery_app.tasks
        assert entry["schedule"] <= 300
        assert entry["options"]["expires"] < entry["schedule"]


def test_a_patient_who_finds_from_the_reminder_they_cannot_come_can_still_cancel_online(client, clock, facial, nurse):
    # Default settings: changes online until 24 hours before.
    appointment = book(facial, at(date(2026, 3, 5), 10))
    dispatch()
    clock.move_to(appointment.emails.get(kind=REMINDER).due_at + timedelta(minutes=2))  # beat comes by
    dispatch()
    [message] = reminders_sent()
    assert "online until Wednesday 4 March, 10:00" in message.body and "too close" not in message.body
    manage = re.search(r"https?://[^/\s]+(/booking/[^/\s]+/)", message.body)[1]
    response = client.post(f"{manage}cancel/", {"confirm": "on"}, follow=True)
    assert "Your appointment is cancelled." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
