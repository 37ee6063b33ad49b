"""Canary values typed by a patient never reach logs, task messages, error reports or email subjects."""

import logging
import smtplib
from datetime import date, datetime, time
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from celery.app.task import Task
from django.core import mail
from django.views.debug import ExceptionReporter

from booking import services
from booking.forms import slot_value
from booking.models import Appointment
from booking.tokens import manage_token

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)
CANARY = {
    "name": "Canaria Zyxwvut",
    "email": "canary.qzx81@example.org",
    "phone": "07700 913579",
    "date_of_birth": "1987-06-05",
}
CANARY_VALUES = [CANARY["name"], "Zyxwvut", CANARY["email"], "canary.qzx81", CANARY["phone"], "913579", "1987-06-05"]


@pytest.fixture
def captured(caplog, monkeypatch):
    """Everything that leaves the request: log records at DEBUG from every logger, and every task sent."""
    caplog.set_level(logging.DEBUG)
    tasks = []
    original = Task.apply_async

    def apply_async(self, args=None, kwargs=None, *rest, **options):
        result = original(self, args, kwargs, *rest, **options)
        tasks.append({"task": self.name, "args": args, "kwargs": kwargs, "result": getattr(result, "result", None)})
        return result

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return {"logs": caplog, "tasks": tasks}


def leaks(captured, values=CANARY_VALUES):
    records = captured["logs"].records
    haystacks = {
        "logs": "\n".join(f"{record.getMessage()} {record.exc_text or ''} {record.args!r}" for record in records),
        "task messages": repr(captured["tasks"]),
        "email subjects": "\n".join(message.subject for message in mail.outbox),
    }
    return {(where, value) for where, text in haystacks.items() for value in values if value in text}


def local(hh):
    return datetime.combine(TUESDAY, time(hh), tzinfo=LONDON)


def test_booking_managing_and_cancelling_leak_no_patient_detail(client, clock, nurse, commits, captured):
    with commits(execute=True):
        response = client.post("/book/hydrating-facial/details/", {"start": slot_value(local(10)), **CANARY})
    assert response.status_code == 302
    token = manage_token(Appointment.objects.get().public_id)
    with commits(execute=True):
        client.post(f"/booking/{token}/reschedule/?date=2026-03-03", {"start": slot_value(local(14))})
    with commits(execute=True):
        client.post(f"/booking/{token}/cancel/", {"confirm": "on"})
    assert len(mail.outbox) >= 3 and len(captured["tasks"]) >= 3, "the journey really sent emails through tasks"
    assert leaks(captured) == set()


def test_refused_bookings_leak_no_patient_detail(client, clock, nurse, captured):
    response = client.post("/book/hydrating-facial/details/", {"start": slot_value(local(10)), **CANARY, "phone": "x"})
    assert response.status_code == 400
    assert leaks(captured) == set()


def test_an_email_the_mail_server_refuses_leaks_no_address_into_logs(client, clock, nurse, commits, captured):
    refused = smtplib.SMTPRecipientsRefused({CANARY["email"]: (550, f"<{CANARY['email']}> unknown".encode())})
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=refused):
        with commits(execute=True):
            client.post("/book/hydrating-facial/details/", {"start": slot_value(local(10)), **CANARY})
    assert Appointment.objects.count() == 1
    assert any(record.levelno >= logging.WARNING for record in captured["logs"].records), "the failure was logged"
    assert leaks(captured) == set()


def test_an_error_report_of_a_failed_booking_shows_no_patient_detail(client, clock, nurse, settings, captured):
    settings.DEBUG = False
    client.raise_request_exception = False
    with mock.patch.object(services, "appointment_book", side_effect=RuntimeError("boom")):
        response = client.post("/book/hydrating-facial/details/", {"start": slot_value(local(10)), **CANARY})
    assert response.status_code == 500
    record = next(record for record in captured["logs"].records if record.name == "django.request")
    assert set(record.request.sensitive_post_parameters) >= {"name", "email", "phone", "date_of_birth"}
    report = ExceptionReporter(record.request, *record.exc_info).get_traceback_text()
    assert "boom" in report and "Canaria" not in report and "canary.qzx81" not in report and "913579" not in report
    assert leaks(captured) == set()


def test_a_failed_booking_emailed_to_the_admins_shows_no_patient_detail(client, clock, nurse, settings, captured):
    settings.DEBUG = False
    settings.ADMINS = [("Ops Team", "ops@quayside.example")]
    client.raise_request_exception = False
    with mock.patch.object(services, "appointment_book", side_effect=RuntimeError("boom")):
        response = client.post("/book/hydrating-facial/details/", {"start": slot_value(local(10)), **CANARY})
    assert response.status_code == 500
    [report] = [message for message in mail.outbox if message.to == ["ops@quayside.example"]]
    assert "Internal Server Error: /book/hydrating-facial/details/" in report.subject
    assert "boom" in report.body
    assert [value for value in CANARY_VALUES if value in report.subject or value in report.body] == []


# --- Screening: health answers are canaries too ---------------------------------------------------------------------

HEALTH_CANARY = {"email": "canary.health77@example.org", "last_dose": "2026-01-17", "course_end": "2026-02-19"}


def test_screening_answers_and_their_reminder_leak_nothing(client, clock, commits, captured, settings):
    from screening.models import EligibilityReminder
    from screening.tasks import dispatch_due_eligibility_reminders

    from .screening_helpers import SLUG, answers_post, latest_screening, make_clinic, token_of

    make_clinic()
    canaries = [*HEALTH_CANARY.values(), "canary.health77"]
    response = client.post(
        f"/book/{SLUG}/screening/",
        answers_post(email=HEALTH_CANARY["email"], isotretinoin_recently="yes", last_dose=HEALTH_CANARY["last_dose"]),
    )
    assert response.status_code == 302
    screening = latest_screening()
    with commits(execute=True):
        client.post(f"/book/{SLUG}/screening/{token_of(screening)}/reminder/", {"consent": "on"})
    assert EligibilityReminder.objects.filter(email=HEALTH_CANARY["email"]).exists()
    client.post(
        f"/book/{SLUG}/screening/",
        answers_post(email=HEALTH_CANARY["email"], taking_isotretinoin="yes", course_end=HEALTH_CANARY["course_end"]),
    )
    clock.move_to(datetime(2026, 7, 18, 9, 30, tzinfo=LONDON))  # the wait is over: the reminder goes out
    dispatch_due_eligibility_reminders.delay()
    assert any(HEALTH_CANARY["email"] in message.to for message in mail.outbox), "the reminder was really sent"
    assert leaks(captured, canaries) == set()


def test_an_error_report_of_a_failed_screening_shows_no_answer(client, clock, settings, captured):
    from screening import services as screening_services

    from .screening_helpers import SLUG, answers_post, make_clinic

    make_clinic()
    settings.DEBUG = False
    client.raise_request_exception = False
    with mock.patch.object(screening_services, "screening_submit", side_effect=RuntimeError("boom")):
        response = client.post(
            f"/book/{SLUG}/screening/",
            answers_post(
                email=HEALTH_CANARY["email"], isotretinoin_recently="yes", last_dose=HEALTH_CANARY["last_dose"]
            ),
        )
    assert response.status_code == 500
    record = next(record for record in captured["logs"].records if record.name == "django.request")
    report = ExceptionReporter(record.request, *record.exc_info).get_traceback_text()
    assert "boom" in report
    assert HEALTH_CANARY["last_dose"] not in report and "canary.health77" not in report
