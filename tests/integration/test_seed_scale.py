"""seed_scale writes a large diary quickly; here a tiny one, checked row by row."""

from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.utils import timezone

from booking.models import HOLDING_TIME, Appointment, Practitioner, TimeOff, WorkingHours
from screening.models import EligibilityReminder

pytestmark = pytest.mark.django_db


def test_seed_scale_writes_the_asked_rows_with_no_overlapping_appointments(clock):
    call_command("seed_scale", size=0.01, practitioners=3, days=40, stdout=StringIO())

    assert Practitioner.objects.count() == 3
    assert WorkingHours.objects.count() == 3 * 7
    assert TimeOff.objects.count() == 3 * 4  # a tenth of the days, each a whole day off
    assert Appointment.objects.count() == 1_000
    assert EligibilityReminder.objects.filter(state="pending", send_at__lte=timezone.now()).count() == 1_000
    for practitioner in Practitioner.objects.all():
        held = list(
            Appointment.objects.filter(practitioner=practitioner, status__in=HOLDING_TIME)
            .order_by("start")
            .values_list("start", "busy_until")
        )
        assert held, "every practitioner has appointments"
        assert all(before[1] <= after[0] for before, after in pairwise(held))


def test_seed_scale_refuses_a_database_that_already_has_scale_data(clock):
    call_command("seed_scale", size=0.001, practitioners=1, days=10, stdout=StringIO())
    with pytest.raises(Exception, match="already holds scale data"):
        call_command("seed_scale", size=0.001, practitioners=1, days=10, stdout=StringIO())
