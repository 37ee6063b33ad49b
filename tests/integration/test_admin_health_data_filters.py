"""Staff who may not see health data cannot find it out by filtering or searching a list on it either."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from booking import services
from booking.models import Appointment

from ..factories import patient, signed_in

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TEN_ON_TUESDAY = datetime.combine(date(2026, 3, 3), time(10), tzinfo=LONDON)
APPOINTMENTS = "/admin/booking/appointment/"
QUEUE = "/admin/screening/flaggedbooking/"
REFUSED = 400  # Django's answer to a filter it does not allow: the list is not shown


@pytest.fixture
def declined(clock, facial, nurse):
    held = services.appointment_book(
        treatment=facial, start=TEN_ON_TUESDAY, patient=patient(), now=timezone.now(), status="pending_review"
    )
    services.appointment_decline(appointment=held, reason="Told us she is pregnant", now=timezone.now())
    return held


@pytest.fixture
def held(clock, facial, nurse):
    appointment = services.appointment_book(
        treatment=facial, start=TEN_ON_TUESDAY, patient=patient(), now=timezone.now(), status="pending_review"
    )
    Appointment.objects.filter(pk=appointment.pk).update(status_reason="Unsure of her last isotretinoin dose")
    return appointment


@pytest.mark.parametrize(
    "lookup",
    [
        "status_reason__icontains=pregnant",
        "status_reason__icontains=zzzz",
        "status_reason=Told us she is pregnant",
        "status_reason__startswith=Told",
        "status_reason__regex=preg",
        "status_reason__isnull=False",
    ],
)
def test_reception_cannot_filter_appointments_by_the_clinicians_decline_reason(reception, declined, lookup):
    response = reception.get(f"{APPOINTMENTS}?{lookup}")
    # The same answer whatever the reason says, and no list: nothing to tell the reasons apart by.
    assert response.status_code == REFUSED
    assert "Alex Morgan" not in response.content.decode()
    # The list itself is still there.
    assert "Alex Morgan" in reception.get(APPOINTMENTS).content.decode()


def test_reception_cannot_search_appointments_by_the_decline_reason(reception, declined):
    response = reception.get(f"{APPOINTMENTS}?q=pregnant")
    assert response.status_code == 200 and response.context["cl"].result_count == 0


def test_clinicians_still_filter_appointments_by_the_reason(client, declined):
    clinician = signed_in(client, "Clinician")
    assert clinician.get(f"{APPOINTMENTS}?status_reason__icontains=pregnant").context["cl"].result_count == 1
    assert clinician.get(f"{APPOINTMENTS}?status_reason__icontains=zzzz").context["cl"].result_count == 0


def test_reception_cannot_filter_the_review_queue_by_why_a_booking_is_held(reception, held):
    assert "Alex Morgan" in reception.get(QUEUE).content.decode()
    for words in ("isotretinoin", "zzzz"):
        response = reception.get(f"{QUEUE}?status_reason__icontains={words}")
        assert response.status_code == REFUSED and "Alex Morgan" not in response.content.decode()


@pytest.fixture
def screenings_viewer(client, db):
    """Staff allowed the screenings and reminders lists, but not the health answers (a group a clinic might make)."""
    user = User.objects.create_user("auditor", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["screening", "booking"], codename__startswith="view_"
        ).exclude(codename="view_health_answers")
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/screening/screening/?reasons__icontains=a",
        "/admin/screening/screening/?answers__icontains=a",
        "/admin/screening/screening/?answers__isnull=False",
        "/admin/screening/eligibilityreminder/?screening__reasons__icontains=a",
        "/admin/booking/appointment/?screening__reasons__icontains=a",
        "/admin/booking/appointmentemail/?appointment__status_reason__icontains=a",
        "/admin/screening/flaggedbooking/?status_reason__icontains=a",
    ],
)
def test_health_columns_cannot_be_filtered_on_through_any_list_without_the_permission(screenings_viewer, url):
    assert screenings_viewer.get(url).status_code == REFUSED
