"""The clinic's safe alternatives (gentle facials, mild peels) are offered only where they are safe for the reason
the patient was stopped: while waiting out isotretinoin, not in pregnancy, with an infection or wound, sunburn or a
recent peel. Otherwise the page and the decline email ask the patient to call the clinic."""

from datetime import date

import pytest
from django.core import mail

from booking import services
from booking.models import Appointment, Practitioner, Treatment
from screening.models import Contraindication, ScreeningPolicy

from ..factories import make_treatment
from .screening_helpers import book, book_held_for_review, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
FRIDAY = date(2026, 3, 6)
PHONE = "020 7946 0321"


@pytest.fixture
def clinic(db, settings):
    settings.CLINIC_PHONE = PHONE
    microneedling = make_clinic()  # with a hydrating facial as a safe alternative
    peel = make_treatment("mild-chemical-peel", minutes=30, safe_alternative=True, resurfacing=True)
    Practitioner.objects.get().treatments.add(peel)
    return microneedling


def result_page(client, **answers):
    return client.get(screen(client, **answers)["Location"]).content.decode()


def offers_alternatives(page):
    return "Mild chemical peel" in page and 'href="/book/hydrating-facial/"' in page


@pytest.mark.parametrize(
    "answers",
    [
        {"q_pregnancy": "yes"},
        {"q_active_infection": "yes"},
        {"q_sunburn": "yes"},
        {"q_recent_resurfacing": "yes"},
        {"q_pregnancy": "yes", "isotretinoin_recently": "yes", "last_dose": "2026-01-15"},
    ],
    ids=["pregnant", "infection-or-wound", "sunburn", "recent-peel", "pregnant-and-waiting-out-isotretinoin"],
)
def test_a_patient_stopped_for_a_reason_the_alternatives_do_not_suit_is_asked_to_call_instead(
    client, clock, clinic, answers
):
    page = result_page(client, **answers)
    assert not offers_alternatives(page) and "These can suit you while you wait" not in page
    assert f'please call us on <a href="tel:02079460321">{PHONE}</a>' in page


def test_a_patient_waiting_out_isotretinoin_is_offered_the_alternatives(client, clock, clinic):
    page = result_page(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    assert offers_alternatives(page) and "These can suit you while you wait" in page
    assert "A peel or laser, like products with retinoids or acids, is only for after a dermatologist" in page


def test_the_clinic_decides_per_question_and_for_isotretinoin_whether_the_alternatives_apply(client, clock, clinic):
    Contraindication.objects.filter(key="sunburn").update(safe_alternatives=True)
    assert offers_alternatives(result_page(client, q_sunburn="yes"))
    ScreeningPolicy.objects.filter(treatment=clinic).update(isotretinoin_safe_alternatives=False)
    client.cookies.clear()
    assert not offers_alternatives(result_page(client, email="sam@example.com", taking_isotretinoin="yes"))


def decline(appointment, commits):
    mail.outbox.clear()
    with commits(execute=True):
        services.appointment_decline(appointment=appointment, reason="Not suitable now", now=appointment.created_at)
    [message] = mail.outbox
    return message.body, message.alternatives[0][0]


def test_a_booking_held_over_an_unsure_isotretinoin_date_is_declined_with_the_alternatives(client, clock, commits):
    held = book_held_for_review(client, commits, FRIDAY)
    peel = make_treatment("mild-chemical-peel", minutes=30, safe_alternative=True, resurfacing=True)
    Practitioner.objects.get().treatments.add(peel)
    text, html = decline(held, commits)
    assert "Mild chemical peel" in text and "Hydrating facial" in html
    assert "Please call us" not in text
    for body in (text, html):  # as the result page says it
        assert "A peel or laser, like products with retinoids or acids, is only for after a dermatologist" in body


def test_a_booking_held_for_a_clinician_over_keloid_scars_is_declined_without_treatments_to_book(
    client, clock, clinic, commits
):
    screen(client, q_keloid="yes")
    book(client, commits, local(FRIDAY), token=token_of(latest_screening()))
    held = Appointment.objects.get()
    assert held.status == Appointment.Status.PENDING_REVIEW
    text, html = decline(held, commits)
    for body in (text, html):
        assert "Mild chemical peel" not in body and "hydrating-facial" not in body
        assert f"Please call us on {PHONE}" in body
        assert "questions about this decision" not in body  # asked to call once is enough
        assert "dermatologist" not in body
    assert "\n\n\n" not in text  # one blank line where a part is left out


def test_a_decline_after_the_patient_answered_again_that_they_are_pregnant_lists_no_treatments(client, clock, commits):
    held = book_held_for_review(client, commits, FRIDAY)
    client.cookies.clear()
    screen(client, q_pregnancy="yes")
    text, _ = decline(held, commits)
    assert "Hydrating facial" not in text and f"Please call us on {PHONE}" in text


def test_a_decline_after_staff_corrected_the_email_weighs_answers_given_under_the_corrected_one(client, clock, commits):
    held = book_held_for_review(client, commits, FRIDAY)
    # Reception corrects a typo in the address; the patient then answers again under the right one: pregnant.
    Appointment.objects.filter(pk=held.pk).update(patient_email="alex.morgan@example.com")
    held.refresh_from_db()
    client.cookies.clear()
    screen(client, email="alex.morgan@example.com", q_pregnancy="yes")
    text, _ = decline(held, commits)
    assert "Hydrating facial" not in text and f"Please call us on {PHONE}" in text


def test_only_alternatives_someone_gives_are_offered_and_the_peel_advice_only_with_a_peel(client, clock, clinic):
    Practitioner.objects.get().treatments.remove(Treatment.objects.get(slug="mild-chemical-peel"))
    page = result_page(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    assert "Hydrating facial" in page and "Mild chemical peel" not in page  # nobody gives it: no times to book
    assert "dermatologist" not in page  # the advice is about a peel, and none is offered
