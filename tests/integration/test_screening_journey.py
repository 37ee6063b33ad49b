"""Every screening outcome, as a patient meets it through the Django test client."""

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from django.core import mail

from booking.models import Appointment
from screening.models import Screening

from .screening_helpers import SLUG, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
WAIT_IN_HORIZON = {"isotretinoin_recently": "yes", "last_dose": "2025-09-30"}  # eligible Monday 30 March 2026


@pytest.fixture
def microneedling(db):
    return make_clinic()


def test_choosing_a_screened_treatment_opens_the_questions_first(client, clock, microneedling):
    response = client.get(f"/book/{SLUG}/")
    assert response.status_code == 302 and response["Location"] == f"/book/{SLUG}/screening/"
    page = client.get(response["Location"]).content.decode()
    assert "Are you taking isotretinoin now?" in page
    assert all(brand in page for brand in ["Accutane", "Roaccutane", "Absorica", "Claravis", "Epuris"])
    assert "Are you pregnant" in page and "Health questions" in page


def test_a_treatment_without_screening_shows_times_straight_away(client, clock, microneedling):
    assert client.get("/book/hydrating-facial/").status_code == 200
    assert client.get("/book/hydrating-facial/screening/")["Location"] == "/book/hydrating-facial/"


def test_clear_answers_show_the_usual_times_and_the_booking_is_confirmed(client, clock, microneedling, commits):
    response = screen(client)
    screening = latest_screening()
    assert screening.outcome == Screening.Outcome.CLEAR
    assert response["Location"] == f"/book/{SLUG}/?screening={token_of(screening)}"
    times = client.get(response["Location"]).content.decode()
    assert "Monday 2 March 2026" in times and ">10:00<" in times and "clinician" not in times

    response = book(client, commits, local(date(2026, 3, 3)), token_of(screening))
    appointment = Appointment.objects.get()
    assert response.status_code == 302 and appointment.status == Appointment.Status.CONFIRMED
    screening.refresh_from_db()
    assert screening.appointment == appointment and screening.used_at is not None
    assert "confirmed" in mail.outbox[0].subject.lower()


def test_answers_that_lapse_while_confirming_bring_the_patient_back_to_their_time_with_their_email(
    client, clock, microneedling, commits
):
    screen(client)
    token = token_of(latest_screening())
    details = client.get(f"/book/{SLUG}/details/", {"start": "2026-03-03T10:00Z", "screening": token})
    assert 'value="alex@example.com"' in details.content.decode()  # the email given with the answers
    clock.shift(timedelta(hours=3))  # the answers were good for two hours; the patient was interrupted
    bounced = book(client, commits, local(date(2026, 3, 3)), token)
    assert bounced["Location"] == f"/book/{SLUG}/screening/" and not Appointment.objects.exists()
    questions = client.get(bounced["Location"]).content.decode()
    assert "we take you back to the time you chose" in questions
    assert 'value="alex@example.com"' in questions

    answered = screen(client)
    again = token_of(latest_screening())
    assert (
        answered["Location"] == f"/book/{SLUG}/details/?{urlencode({'start': '2026-03-03T10:00Z', 'screening': again})}"
    )
    page = client.get(answered["Location"]).content.decode()
    assert "Tuesday 3 March" in page and "10:00" in page and 'value="alex@example.com"' in page
    book(client, commits, local(date(2026, 3, 3)), again)
    assert Appointment.objects.get().start == local(date(2026, 3, 3))
    assert screen(client)["Location"].startswith(f"/book/{SLUG}/?screening=")  # kept once, not for ever


def test_rules_changed_while_confirming_bring_the_patient_back_to_their_time_after_answering_again(
    client, clock, microneedling, commits
):
    from screening.models import ScreeningPolicy

    screen(client)
    token = token_of(latest_screening())
    policy = ScreeningPolicy.objects.get(treatment=microneedling)
    policy.isotretinoin_wait_months = 7
    policy.save()  # a new rules version while the patient types their details
    bounced = book(client, commits, local(date(2026, 3, 3)), token)
    questions = client.get(bounced["Location"]).content.decode()
    assert "changed its health questions" in questions and "we take you back to the time you chose" in questions
    assert screen(client)["Location"].startswith(f"/book/{SLUG}/details/?start=2026-03-03T10%3A00Z")


def test_a_recent_dose_shows_why_the_date_and_no_times_beyond_the_diary(client, clock, microneedling):
    response = screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    screening = latest_screening()
    assert screening.outcome == Screening.Outcome.WAIT and screening.eligible_from == date(2026, 7, 15)
    page = client.get(response["Location"]).content.decode()
    assert "You can book microneedling from Wednesday 15 July 2026" in page
    assert "redness, irritation and pain" in page and "scarring" in page and "Slower healing" in page
    assert "See times from" not in page
    assert 'href="/book/hydrating-facial/"' in page  # the safe alternative, with a link to book it
    assert 'name="consent"' in page
    # The times page itself refuses to show microneedling times with this screening.
    assert client.get(f"/book/{SLUG}/")["Location"] == response["Location"]


def test_a_wait_ending_inside_the_diary_offers_times_from_that_day_only(client, clock, microneedling, commits):
    response = screen(client, **WAIT_IN_HORIZON)
    screening = latest_screening()
    page = client.get(response["Location"]).content.decode()
    assert "See times from Monday 30 March" in page
    times = client.get(f"/book/{SLUG}/", {"screening": token_of(screening), "date": "2026-03-30"}).content.decode()
    assert "Monday 30 March 2026" in times and ">10:00<" in times and "Only times from that day" in times
    too_early = client.get(f"/book/{SLUG}/", {"screening": token_of(screening), "date": "2026-03-27"})
    assert too_early.status_code == 400 and 'datetime="2026-03-27' not in too_early.content.decode()

    book(client, commits, local(date(2026, 3, 30)), token_of(screening))
    assert Appointment.objects.get().status == Appointment.Status.CONFIRMED


def test_on_isotretinoin_with_a_course_end_is_told_the_earliest_date(client, clock, microneedling):
    response = screen(client, taking_isotretinoin="yes", course_end="2026-05-31", isotretinoin_recently=None)
    screening = latest_screening()
    assert screening.outcome == Screening.Outcome.BLOCKED and screening.eligible_from == date(2026, 11, 30)
    page = client.get(response["Location"]).content.decode()
    assert "from 30 November 2026 at the earliest" in page and "You are taking isotretinoin now" in page
    assert "scarring" in page and 'href="/book/hydrating-facial/"' in page and 'name="consent"' in page


def test_on_isotretinoin_without_an_end_date_gets_no_date_and_no_reminder(client, clock, microneedling):
    response = screen(client, taking_isotretinoin="yes", isotretinoin_recently=None)
    page = client.get(response["Location"]).content.decode()
    assert "can't book microneedling for you at the moment" in page
    assert 'name="consent"' not in page and 'href="/book/hydrating-facial/"' in page


def test_pregnancy_blocks_with_a_plain_reason(client, clock, microneedling):
    response = screen(client, q_pregnancy="yes")
    page = client.get(response["Location"]).content.decode()
    assert "during pregnancy or while breastfeeding" in page
    assert client.get(f"/book/{SLUG}/")["Location"] == response["Location"]


def test_not_sure_of_the_date_books_a_held_time_a_clinician_confirms(client, clock, microneedling, commits):
    response = screen(client, isotretinoin_recently="yes", last_dose_unsure="on")
    screening = latest_screening()
    assert screening.outcome == Screening.Outcome.REVIEW
    times = client.get(response["Location"]).content.decode()
    assert "A clinician will check your answers before confirming" in times and ">10:00<" in times

    response = book(client, commits, local(date(2026, 3, 3)), token_of(screening))
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    confirmed = client.get(response["Location"]).content.decode()
    assert "A clinician will look at your answers" in confirmed


def test_a_flagged_answer_books_a_held_time(client, clock, microneedling, commits):
    screen(client, q_keloid="yes")
    book(client, commits, local(date(2026, 3, 3)), token_of(latest_screening()))
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW


def test_a_wait_with_a_flag_books_from_the_date_but_held_for_review(client, clock, microneedling, commits):
    screen(client, q_keloid="yes", **WAIT_IN_HORIZON)
    screening = latest_screening()
    assert screening.outcome == Screening.Outcome.WAIT and screening.needs_review
    book(client, commits, local(date(2026, 3, 30)), token_of(screening))
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW


def test_told_to_wait_then_answering_differently_is_held_for_review_with_both_linked(
    client, clock, microneedling, commits
):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    told_to_wait = latest_screening()
    clock.shift(60 * 60 * 24 * 3)
    other_browser = type(client)()
    response = screen(other_browser)  # same email, now says no isotretinoin at all
    again = latest_screening()
    assert again.outcome == Screening.Outcome.REVIEW and again.previous == told_to_wait
    assert "changed_answers" in [r["code"] for r in again.reasons]
    assert "A clinician will check" in other_browser.get(response["Location"]).content.decode()
    book(other_browser, commits, local(date(2026, 3, 9)), token_of(again))
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW


def test_told_to_wait_months_ago_then_answering_no_just_before_the_wait_ends_is_held_for_review(
    client, clock, microneedling, commits
):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")  # 2 March: wait until 15 July
    told_to_wait = latest_screening()
    clock.move_to(local(date(2026, 7, 1)))
    other_browser = type(client)()
    screen(other_browser)  # same email, now "no isotretinoin in the last twelve months"
    again = latest_screening()
    assert again.outcome == Screening.Outcome.REVIEW and again.previous == told_to_wait
    book(other_browser, commits, local(date(2026, 7, 2)), token_of(again))
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW


def test_a_patient_who_was_taking_it_then_waited_it_out_books_without_a_clinician(
    client, clock, microneedling, commits
):
    """Taking isotretinoin in March, stopped on 15 April (wait until 15 October): in November the same dates are true
    and the wait is over. The March block was answered since, by the wait: it holds nothing."""
    screen(client, taking_isotretinoin="yes", isotretinoin_recently=None)
    assert latest_screening().outcome == Screening.Outcome.BLOCKED
    clock.move_to(local(date(2026, 5, 1)))
    screen(client, isotretinoin_recently="yes", last_dose="2026-04-15")
    assert latest_screening().outcome == Screening.Outcome.WAIT
    clock.move_to(local(date(2026, 11, 2)))
    screen(client, isotretinoin_recently="yes", last_dose="2026-04-15")
    assert latest_screening().outcome == Screening.Outcome.CLEAR


def test_every_decision_is_stored_with_answers_reasons_date_and_rules_version(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15", q_sunburn="yes")
    screening = latest_screening()
    assert screening.answers["last_dose"] == "2026-01-15" and screening.answers["contraindications"]["sunburn"]
    assert [r["code"] for r in screening.reasons] == ["isotretinoin_recent", "sunburn"]
    assert screening.rules_version >= 1 and screening.rules["isotretinoin_wait_months"] == 6
    assert screening.email == "alex@example.com"
    assert (screening.expires_at - screening.created_at).total_seconds() == 120 * 60


def test_the_waiting_period_comes_from_the_treatments_policy(client, clock, microneedling):
    from screening.models import ScreeningPolicy

    ScreeningPolicy.objects.create(treatment=microneedling, isotretinoin_wait_months=3)
    screen(client, isotretinoin_recently="yes", last_dose="2025-11-30")
    assert latest_screening().outcome == Screening.Outcome.CLEAR  # 30 Nov + 3 months = 28 Feb, before today
    screen(client, isotretinoin_recently="yes", last_dose="2025-12-31")
    assert latest_screening().eligible_from == date(2026, 3, 31)


def test_rescheduling_a_screened_booking_never_moves_it_before_the_eligible_day(client, clock, microneedling, commits):
    from booking.forms import slot_value
    from booking.tokens import manage_token

    screen(client, **WAIT_IN_HORIZON)
    book(client, commits, local(date(2026, 3, 31)), token_of(latest_screening()))
    appointment = Appointment.objects.get()
    url = f"/booking/{manage_token(appointment.public_id)}/reschedule/"
    page = client.get(url).content.decode()
    assert "Tuesday 31 March 2026" in page  # it opens on the day now booked
    assert 'min="2026-03-30"' in page and "Mon 30 Mar" in page  # the first day offered is the eligible day
    assert client.get(url, {"date": "2026-03-29"}).status_code == 400  # not tomorrow, nor any day before it
    response = client.post(url, {"start": slot_value(local(date(2026, 3, 27)))})
    assert response.status_code in (400, 409)
    appointment.refresh_from_db()
    assert appointment.start == local(date(2026, 3, 31))
    client.post(url, {"start": slot_value(local(date(2026, 3, 30), 11))})
    appointment.refresh_from_db()
    assert appointment.start == local(date(2026, 3, 30), 11)
