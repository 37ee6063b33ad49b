"""Staff book up to two years ahead: an email's day names its year unless it is this year's, so "1 December" read on
30 November is never mistaken for tomorrow."""

from datetime import datetime

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from booking import services
from booking.emails import when_words

from ..factories import booked_by_phone
from .test_reminders_appointment import LONDON

pytestmark = pytest.mark.django_db


@pytest.fixture
def late_november():
    with time_machine.travel(datetime(2026, 11, 30, 9, tzinfo=LONDON), tick=False) as traveller:
        yield traveller


def dispatch():
    services.appointment_emails_dispatch(now=timezone.now())


def test_a_booking_two_years_ahead_names_its_year_in_the_subject_and_the_change_line(late_november, facial, nurse):
    booked_by_phone(facial, datetime(2028, 12, 1, 9, tzinfo=LONDON))
    dispatch()
    [message] = mail.outbox
    assert message.subject == "Your appointment is confirmed: Hydrating facial, 1 December 2028 at 09:00"
    assert "online until Thursday 30 November 2028, 09:00" in message.body
    assert "online until Thursday 30 November 2028, 09:00" in message.alternatives[0][0]


def test_a_booking_next_january_names_its_year_and_one_this_year_does_not(late_november, facial, nurse):
    booked_by_phone(facial, datetime(2027, 1, 5, 10, tzinfo=LONDON), email="jan@example.com")
    booked_by_phone(facial, datetime(2026, 12, 8, 10, tzinfo=LONDON), email="dec@example.com")
    dispatch()
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects["jan@example.com"].endswith("Hydrating facial, 5 January 2027 at 10:00")
    assert subjects["dec@example.com"].endswith("Hydrating facial, 8 December at 10:00")


def test_a_reminder_across_the_new_year_names_it(late_november):
    now = datetime(2026, 12, 29, 10, tzinfo=LONDON)
    assert when_words(datetime(2027, 1, 2, 10, tzinfo=LONDON), now=now) == "on Saturday 2 January 2027"
    assert when_words(datetime(2026, 12, 31, 10, tzinfo=LONDON), now=now) == "on Thursday 31 December"
