"""An appointment lasts its treatment's real length, even on the nights the clocks change."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.models import Appointment, Treatment

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    "night, local_end",
    [
        (datetime(2026, 3, 29, 0, 30, tzinfo=LONDON), time(3, 0)),  # clocks go forward at 01:00: 01:00-02:00 never is
        (datetime(2026, 10, 25, 0, 30, tzinfo=LONDON), time(1, 0)),  # clocks go back at 02:00: 01:00-02:00 twice
    ],
)
def test_a_ninety_minute_treatment_ends_ninety_real_minutes_after_it_starts(night, local_end):
    appointment = Appointment(treatment=Treatment(duration_minutes=90, buffer_after_minutes=15), start=night)
    appointment.fill_times()
    assert appointment.end - night == timedelta(minutes=90)  # aware subtraction: real elapsed time
    assert appointment.end.astimezone(LONDON).time() == local_end
    assert appointment.busy_until - appointment.end == timedelta(minutes=15)
