"""One screening backs one booking, even when two tabs submit it at the same moment."""

from datetime import date, datetime, timedelta

import pytest

from booking.models import Appointment
from screening import services
from screening.exceptions import ScreeningInvalid
from screening.models import Screening

from ..factories import patient
from ..races import at_once
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

    def attempt(hour):
        services.screening_book(screening=screening, start=local(date(2026, 3, 3), hour), patient=patient(), now=now)
        return "booked"

    outcomes = at_once(attempt, (10, 14), refused=(ScreeningInvalid,))
    assert sorted("used" if isinstance(o, ScreeningInvalid) else o for o in outcomes) == ["booked", "used"]
    assert Appointment.objects.count() == 1
    screening.refresh_from_db()
    assert screening.appointment == Appointment.objects.get()
