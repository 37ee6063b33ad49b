"""What each staff group sees of a held booking: reception runs the diary, clinicians see the health data."""

from datetime import date

import pytest
from auditlog.models import LogEntry

from booking.models import Appointment

from ..factories import signed_in
from .screening_helpers import QUEUE, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def held_after_a_wait(client, clock, commits):
    """Told on Monday to wait until 10 Jul 2026, the patient answers again, clears, and books: held for review."""
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-10")
    screen(client)
    book(client, commits, local(TUESDAY), token=token_of(latest_screening()))
    client.logout()
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    return appointment


def review_url(appointment):
    return f"{QUEUE}{appointment.pk}/review/"


def test_reception_sees_no_earlier_screening_outcomes_or_eligibility_dates_on_the_review_page(
    client, held_after_a_wait
):
    page = signed_in(client, "Reception").get(review_url(held_after_a_wait)).content.decode()
    assert "Alex Morgan" in page and "Held for a clinician" in page
    assert "Earlier screenings" not in page
    assert "10 Jul 2026" not in page and ">Wait<" not in page
    assert "Answers changed" not in page
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()
    diary = f'<a href="/admin/booking/appointment/{held_after_a_wait.pk}/change/">Open this booking in the diary</a>'
    assert diary in page  # where reception moves, cancels or corrects it


def test_clinician_sees_the_earlier_screening_its_outcome_and_date_and_the_view_is_recorded(client, held_after_a_wait):
    page = signed_in(client, "Clinician").get(review_url(held_after_a_wait)).content.decode()
    assert "Earlier screenings from alex@example.com" in page
    assert ">Wait<" in page and "10 Jul 2026" in page
    assert "Answers changed since an earlier screening" in page
    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS, actor__username="clinician-user").exists()


def test_the_queue_gives_reception_a_neutral_reason_and_clinicians_the_reason(client, held_after_a_wait):
    reception_page = signed_in(client, "Reception").get(QUEUE).content.decode()
    assert "Alex Morgan" in reception_page and "Held for a clinician" in reception_page
    assert "Answers changed" not in reception_page and "Unsure" not in reception_page
    client.logout()
    clinician_page = signed_in(client, "Clinician").get(QUEUE).content.decode()
    assert "Answers changed since an earlier screening" in clinician_page
