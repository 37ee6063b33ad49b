"""One screening backs one booking, even when two tabs submit it at the same moment."""

import threading
from datetime import date, datetime, timedelta

import pytest
from django.db import connection

from booking.models import Appointment
from screening import services
from screening.exceptions import ScreeningInvalid
from screening.models import Screening

from ..factories import patient
from .screening_helpers import LONDON, local, make_clinic


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tabs_booking_with_one_screening_at_once_get_one_booking(clock):
    microneedling = make_clinic()
    now = datetime.now(LONDON)
    screening = Screening.objects.create(
        treatment=microneedling,
        email="alex@example.com",
        answers={},
        outcome=Screening.Outcome.CLEAR,
        rules_version=1,
        created_at=now,
        expires_at=now + timedelta(hours=2),
    )
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def attempt(hour):
        try:
            barrier.wait(timeout=10)
            services.screening_book(
                screening=screening, start=local(date(2026, 3, 3), hour), patient=patient(), now=now
            )
            outcomes.append("booked")
        except ScreeningInvalid:
            outcomes.append("used")
        except Exception as error:  # the test fails on any other outcome
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(hour,)) for hour in (10, 14)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(outcomes) == ["booked", "used"]
    assert Appointment.objects.count() == 1
    screening.refresh_from_db()
    assert screening.appointment == Appointment.objects.get()
