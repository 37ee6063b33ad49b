"""A patient unsure of their last isotretinoin dose books after the wait: the clinician is told the date is uncertain
and what the patient gave, not only that the dose was recent."""

from datetime import date

import pytest

from booking.models import Appointment

from ..factories import signed_in
from .screening_helpers import QUEUE, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
# Screened on Monday 2 Mar 2026 with a rough last dose of 15 Oct 2025: wait until 15 Apr 2026, booked 16 Apr.
AFTER_THE_WAIT = date(2026, 4, 16)


@pytest.fixture
def held_after_the_wait(client, clock, commits):
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose="2025-10-15", last_dose_unsure="on")
    screening = latest_screening()
    assert screening.outcome == "wait" and screening.eligible_from == date(2026, 4, 15)
    book(client, commits, local(AFTER_THE_WAIT), token=token_of(screening))
    client.logout()
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    return appointment


def test_the_queue_tells_the_clinician_the_patient_was_unsure_of_a_date(client, held_after_the_wait):
    page = signed_in(client, "Clinician").get(QUEUE).content.decode()
    assert "Unsure of a date" in page and "An answer needs a clinician" not in page


def test_the_review_page_says_the_date_is_uncertain_and_what_the_patient_gave(client, held_after_the_wait):
    page = signed_in(client, "Clinician").get(f"{QUEUE}{held_after_the_wait.pk}/review/").content.decode()
    assert "Unsure of a date" in page
    assert "not sure when they last took isotretinoin; 15 Oct 2025 is their guess" in page
    assert "the 6-month wait ends on 15 Apr 2026" in page
    assert "You are not sure when you last took isotretinoin" in page  # the reason the patient was given


def test_a_screening_stored_before_the_fix_is_still_labelled_unsure(client, held_after_the_wait):
    screening = held_after_the_wait.screening
    screening.reasons = [reason for reason in screening.reasons if reason["code"] == "isotretinoin_recent"]
    screening.save(update_fields=["reasons"])
    page = signed_in(client, "Clinician").get(QUEUE).content.decode()
    assert "Unsure of a date" in page and "An answer needs a clinician" not in page


def test_reception_is_told_neither_the_date_nor_that_it_is_uncertain(client, held_after_the_wait):
    page = signed_in(client, "Reception").get(f"{QUEUE}{held_after_the_wait.pk}/review/").content.decode()
    assert "Held for a clinician" in page
    assert "Date uncertain" not in page and "15 Oct 2025" not in page and "Unsure" not in page


def test_after_the_clinic_lengthens_the_wait_the_note_counts_it_as_the_approval_does(client, held_after_the_wait):
    from screening.models import ScreeningPolicy

    policy = ScreeningPolicy.objects.get()
    policy.isotretinoin_wait_months = 9
    policy.save()
    page = signed_in(client, "Clinician").get(f"{QUEUE}{held_after_the_wait.pk}/review/").content.decode()
    assert "the 9-month wait ends on 15 Jul 2026 (the clinic&#x27;s wait is 9 months now; it was 6 when" in page
    assert "15 Apr 2026" not in page  # no second, stale end date beside the approval's


def test_the_review_says_when_the_answers_were_decided_under_rules_changed_since(client, held_after_the_wait):
    from screening.models import ScreeningPolicy

    page = signed_in(client, "Clinician").get(f"{QUEUE}{held_after_the_wait.pk}/review/").content.decode()
    assert "The rules have changed since." not in page
    policy = ScreeningPolicy.objects.get()
    policy.isotretinoin_wait_months = 9
    policy.save()
    page = signed_in(client, "Clinician").get(f"{QUEUE}{held_after_the_wait.pk}/review/").content.decode()
    assert "The rules have changed since.</strong> These reasons were given under rules version 1" in page
    assert page.count("You are not sure when you last took isotretinoin") == 1  # each reason once
