"""Microneedling journeys: health questions first, then times only when (and from when) they are safe."""

import re
from datetime import datetime

import pytest
from django.core import mail
from playwright.sync_api import expect

from booking.models import Appointment
from screening.models import EligibilityReminder
from screening.tasks import dispatch_due_eligibility_reminders

from .conftest import LONDON

pytestmark = pytest.mark.browser


def answer_health_questions(page, *, email, taking="No", recently="No", last_dose=None, unsure=False, course_end=None):
    expect(page.get_by_role("heading", name="A few health questions")).to_be_visible()
    email_field = page.get_by_label("Your email")
    if email_field.input_value() != email:
        email_field.fill(email)
    page.get_by_role("group", name="Are you taking isotretinoin now?").get_by_label(taking, exact=True).check()
    if taking == "No":
        page.get_by_role("group", name=re.compile("Have you taken isotretinoin in the last")).get_by_label(
            recently, exact=True
        ).check()
    if course_end:
        page.get_by_label("When is your course expected to end?").fill(course_end)
    if last_dose:
        page.get_by_label("Date of your last dose").fill(last_dose)
    if unsure:
        page.get_by_label("I’m not sure of the date").check()
    skin = page.get_by_role("group", name="Your skin and health")
    questions = skin.get_by_role("group").all()
    assert len(questions) >= 5, "the clinic's seeded questions are asked"
    for question in questions:
        question.get_by_label("No", exact=True).check()


def fill_in_details(page, *, name, email):
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mobile phone").fill("07700 900456")
    page.get_by_label("Date of birth").fill("1992-08-30")


def test_patient_with_clear_answers_books_microneedling_and_is_confirmed(clinic, patient, mailoutbox):
    page = patient.page
    page.goto("/")
    patient.check_accessibility()
    page.get_by_role("link", name=re.compile("^Book microneedling")).click()

    expect(page.locator("[aria-current=step]")).to_contain_text("Health questions")
    patient.check_accessibility()
    answer_health_questions(page, email="jo@example.com")
    patient.screenshot("health-questions")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Microneedling")
    expect(page.locator("[aria-current=step]")).to_contain_text("Time")
    expect(page.get_by_text("A clinician will check your answers")).to_have_count(0)
    patient.check_accessibility()
    page.get_by_role("link", name="Tuesday 3 March").click()
    expect(page.get_by_role("heading", name="Tuesday 3 March 2026")).to_be_visible()
    patient.check_accessibility()
    page.get_by_role("link", name="11:30").click()

    expect(page.get_by_text("Tuesday 3 March 2026, 11:30")).to_be_visible()
    patient.check_accessibility()
    fill_in_details(page, name="Jo Lindqvist", email="jo@example.com")
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    expect(page.get_by_text("Tuesday 3 March 2026, 11:30 to 12:30")).to_be_visible()
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    patient.check_accessibility()
    patient.screenshot("microneedling-booked")
    appointment = Appointment.objects.get()
    assert (appointment.treatment.slug, appointment.status) == ("microneedling", Appointment.Status.CONFIRMED)
    assert [m.to for m in mailoutbox] == [["jo@example.com"]]


def test_patient_three_months_after_isotretinoin_waits_opts_in_and_books_from_the_reminder(
    clinic, patient, journey_clock, mailoutbox
):
    page = patient.page
    page.goto("/book/microneedling/")
    patient.check_accessibility()
    # Last dose 1 December 2025: six calendar months later is Monday 1 June 2026, past the 90-day diary.
    answer_health_questions(page, email="ria@example.com", recently="Yes", last_dose="2025-12-01")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You can book microneedling from Monday 1 June 2026")
    expect(page.get_by_text("A higher risk of scarring")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^See times"))).to_have_count(0)
    expect(page.get_by_role("link", name="Book hydrating facial")).to_be_visible()
    patient.check_accessibility()
    patient.screenshot("wait-until-eligible")

    # No earlier time is offered, even to a patient who goes straight to the times page.
    page.goto("/book/microneedling/?date=2026-05-30")
    expect(page.get_by_role("heading", level=1)).to_have_text("You can book microneedling from Monday 1 June 2026")
    expect(page.get_by_role("link", name=re.compile(r"^\d\d:\d\d$"))).to_have_count(0)
    patient.check_accessibility()

    page.get_by_label(re.compile("Yes, email me")).check()
    page.get_by_role("button", name="Email me").click()
    expect(page.get_by_role("status").filter(has_text="We will email ria@example.com")).to_be_visible()
    patient.check_accessibility()
    assert EligibilityReminder.objects.filter(email="ria@example.com", state="pending").exists()

    # Three months on: the dispatch (what Celery beat runs) sends the email on the morning the wait ends.
    journey_clock.move_to(datetime(2026, 6, 1, 9, 0, tzinfo=LONDON))
    mail.outbox.clear()
    dispatch_due_eligibility_reminders()
    [reminder] = mailoutbox
    assert reminder.to == ["ria@example.com"] and "isotretinoin" not in reminder.body.lower()
    link = re.search(r"https?://\S+/book/microneedling/screening/\S*", reminder.body).group(0)

    page.goto(link)
    expect(page.get_by_label("Your email")).to_have_value("ria@example.com")
    patient.check_accessibility()
    answer_health_questions(page, email="ria@example.com", recently="Yes", last_dose="2025-12-01")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Microneedling")
    patient.check_accessibility()
    page.get_by_role("link", name="Tuesday 2 June").click()
    expect(page.get_by_role("heading", name="Tuesday 2 June 2026")).to_be_visible()
    patient.check_accessibility()
    page.get_by_role("link", name="10:00").click()
    expect(page.get_by_text("Tuesday 2 June 2026, 10:00")).to_be_visible()
    patient.check_accessibility()
    fill_in_details(page, name="Ria Shah", email="ria@example.com")
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    expect(page.get_by_text("Tuesday 2 June 2026, 10:00 to 11:00")).to_be_visible()
    patient.check_accessibility()
    assert Appointment.objects.get().status == Appointment.Status.CONFIRMED


def test_patient_unsure_of_the_date_is_held_for_review_and_confirmed_once_a_clinician_approves(
    clinic, patient, new_staff, mailoutbox
):
    page = patient.page
    page.goto("/book/microneedling/")
    patient.check_accessibility()
    answer_health_questions(page, email="lee@example.com", recently="Yes", unsure=True)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("A clinician will check your answers before confirming")).to_be_visible()
    patient.check_accessibility()
    page.get_by_role("link", name="Tuesday 3 March").click()
    expect(page.get_by_role("heading", name="Tuesday 3 March 2026")).to_be_visible()
    patient.check_accessibility()
    page.get_by_role("link", name="14:00").click()
    expect(page.get_by_text("Tuesday 3 March 2026, 14:00")).to_be_visible()
    patient.check_accessibility()
    fill_in_details(page, name="Lee Carter", email="lee@example.com")
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your time is held")
    expect(page.get_by_text("Awaiting clinician review")).to_be_visible()
    patient.check_accessibility()
    patient.screenshot("held-for-review")
    assert Appointment.objects.get().status == Appointment.Status.PENDING_REVIEW
    assert [m.to for m in mailoutbox] == [["lee@example.com"]]
    mail.outbox.clear()

    staff = new_staff("dr.okafor", "Clinician")
    admin = staff.page

    expect(admin.locator("#review-queue-summary")).to_contain_text("1 booking awaits")
    staff.check_accessibility()
    admin.get_by_role("link", name="Open the review queue").click()
    expect(admin.get_by_text("Lee Carter")).to_be_visible()
    staff.check_accessibility()
    admin.get_by_role("row").filter(has_text="Lee Carter").get_by_role("link").first.click()
    expect(admin.locator("#screening-answers")).to_contain_text("not sure")
    staff.check_accessibility()
    admin.get_by_role("button", name="Approve").click()
    expect(admin.locator(".messagelist")).to_contain_text(re.compile("Approved.*Lee Carter"))
    expect(admin.get_by_text("0 bookings awaiting review")).to_be_visible()
    staff.check_accessibility()

    assert Appointment.objects.get().status == Appointment.Status.CONFIRMED
    [confirmation] = mailoutbox
    assert confirmation.to == ["lee@example.com"]
    assert any(name.endswith(".ics") for name, _, _ in confirmation.attachments)
    page.goto(re.search(r"https?://\S+/booking/[^/\s]+/", confirmation.body).group(0))
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    patient.check_accessibility()


def test_patient_on_isotretinoin_sees_the_earliest_date_opts_in_and_unsubscribes_from_the_email(
    clinic, patient, journey_clock, mailoutbox
):
    page = patient.page
    page.goto("/book/microneedling/")
    patient.check_accessibility()
    answer_health_questions(page, email="kit@example.com", taking="Yes", course_end="2026-04-30")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "You can book microneedling from 30 October 2026 at the earliest"
    )
    expect(page.get_by_text("Slower healing")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^See times"))).to_have_count(0)
    expect(page.get_by_role("link", name="Book dermatology consultation")).to_be_visible()
    patient.check_accessibility()
    patient.screenshot("on-isotretinoin")
    page.get_by_label(re.compile("Yes, email me")).check()
    page.get_by_role("button", name="Email me").click()
    expect(page.get_by_role("status").filter(has_text="We will email kit@example.com")).to_be_visible()
    patient.check_accessibility()

    # Two weeks before the date, the early reminder arrives; its unsubscribe link stops every reminder.
    journey_clock.move_to(datetime(2026, 10, 16, 9, 0, tzinfo=LONDON))
    mail.outbox.clear()
    dispatch_due_eligibility_reminders()
    [early] = mailoutbox
    assert early.to == ["kit@example.com"] and "30 October" in early.body
    page.goto(re.search(r"https?://\S+/reminders/unsubscribe/\S+/", early.body).group(0))
    expect(page.get_by_role("heading", level=1)).to_have_text("Stop reminder emails?")
    patient.check_accessibility()
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    patient.check_accessibility()

    journey_clock.move_to(datetime(2026, 10, 30, 9, 0, tzinfo=LONDON))
    dispatch_due_eligibility_reminders()
    assert len(mailoutbox) == 1, "no reminder after unsubscribing"
    assert not EligibilityReminder.objects.filter(email="kit@example.com", state="pending").exists()
