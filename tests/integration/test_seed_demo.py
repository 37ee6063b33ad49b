"""`make run` loads the demo clinic every time it starts: each run tells the developer how to sign in to the admin."""

import io
import itertools
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from booking.models import Appointment, AppointmentEmail, TimeOff

from ..factories import signed_in

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def seed_demo(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--appointments", "2", *args, stdout=out)
    return out.getvalue()


def test_the_first_run_prints_a_staff_login_that_works():
    first = seed_demo()
    password = re.search(r"Staff login for /admin/: username 'admin', password '([^']+)'", first)[1]
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_a_later_run_still_says_how_to_sign_in():
    seed_demo()
    again = seed_demo()
    assert "Demo data already present; nothing to do." in again
    assert "username 'admin'" in again and "python manage.py changepassword admin" in again
    assert "password '" not in again  # it cannot know the password: only the first run saw it


def test_a_later_run_without_the_demo_login_says_how_to_make_one():
    seed_demo()
    get_user_model().objects.filter(username="admin").delete()
    assert "python manage.py createsuperuser" in seed_demo()


def test_the_demo_clinic_is_closed_on_the_coming_christmas_and_boxing_day():
    with time_machine.travel(datetime(2026, 12, 20, 9, tzinfo=LONDON), tick=False):
        call_command("seed_demo", "--appointments", "40", stdout=io.StringIO())
    [closure] = TimeOff.objects.all()
    assert closure.whole_clinic
    assert timezone.localtime(closure.start) == datetime(2026, 12, 25, tzinfo=LONDON)
    assert timezone.localtime(closure.end) == datetime(2026, 12, 27, tzinfo=LONDON)
    assert Appointment.objects.exists()
    assert not Appointment.objects.filter(start__gte=closure.start, start__lt=closure.end).exists()


def test_the_demo_clinic_has_no_set_up_left_to_check(client):
    seed_demo()
    assert "Set-up to check" not in signed_in(client, "Reception").get("/admin/").content.decode()


def test_the_demo_reads_like_a_clinic_one_date_of_birth_a_patient_and_a_booking_for_a_clinician_to_review(client):
    with time_machine.travel(datetime(2026, 11, 30, 9, tzinfo=LONDON), tick=False):
        call_command("seed_demo", "--appointments", "25", stdout=io.StringIO())
        home = signed_in(client, "Clinician").get("/admin/").content.decode()
    for name in set(Appointment.objects.values_list("patient_name", flat=True)):
        theirs = Appointment.objects.filter(patient_name=name)
        assert theirs.values("patient_date_of_birth", "patient_phone").distinct().count() == 1, name
        days = sorted(timezone.localdate(each.start) for each in theirs)
        assert all((later - earlier).days >= 7 for earlier, later in itertools.pairwise(days)), name
        peels = sorted(timezone.localdate(each.start) for each in theirs if each.treatment.resurfacing)
        assert all((later - earlier).days >= 28 for earlier, later in itertools.pairwise(peels)), name
    # Told of their bookings, as a clinic's patients would have been: a move says what changed, nothing looks failed.
    assert not AppointmentEmail.objects.filter(state=AppointmentEmail.State.SKIPPED).exists()
    assert not Appointment.objects.filter(told_start__isnull=True).exists()
    assert AppointmentEmail.objects.filter(kind="review_due", state="pending").count() == 1  # the clinicians' nudge
    screened = Appointment.objects.filter(treatment__slug="microneedling")
    assert sorted(screened.values_list("status", flat=True)) == ["confirmed", "pending_review"]
    assert all(hasattr(each, "screening") for each in screened)  # booked with answers, as online
    assert "1 booking awaits a clinician's decision." in home
