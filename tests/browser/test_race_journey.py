"""Two patients, two browsers, one time: one is booked, the other is told at once and offered what is still free."""

from datetime import datetime

import pytest
from playwright.sync_api import expect

from booking.models import Appointment

from .conftest import LONDON

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def choose_ten_on_tuesday(patient, *, name, email):
    page = patient.page
    page.goto("/book/hydrating-facial/?date=2026-03-03")
    expect(page.get_by_role("heading", name="Tuesday 3 March 2026")).to_be_visible()
    patient.check_accessibility()
    page.get_by_role("link", name="10:00").click()
    expect(page.get_by_text("Tuesday 3 March 2026, 10:00")).to_be_visible()
    patient.check_accessibility()
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mobile phone").fill("07700 900123")
    page.get_by_label("Date of birth").fill("1988-11-02")


def outcome_of(patient) -> str:
    """Wait for the answer to the booking and say which one it was."""
    page = patient.page
    answer = page.locator("#error-summary").or_(page.get_by_role("heading", name="You're booked"))
    expect(answer).to_be_visible()
    patient.check_accessibility()
    return "booked" if page.get_by_role("heading", name="You're booked").is_visible() else "taken"


def test_two_patients_racing_for_one_time_one_is_booked_and_the_other_sees_fresh_times(clinic, new_patient):
    alex, sam = new_patient("alex"), new_patient("sam")
    choose_ten_on_tuesday(alex, name="Alex Morgan", email="alex@example.com")
    choose_ten_on_tuesday(sam, name="Sam Patel", email="sam@example.com")

    # Both press "Confirm booking" before either answer comes back: two requests in flight on the live server.
    for patient in (alex, sam):
        patient.page.get_by_role("button", name="Confirm booking").click(no_wait_after=True)
    outcomes = {patient.name: outcome_of(patient) for patient in (alex, sam)}

    assert sorted(outcomes.values()) == ["booked", "taken"], outcomes
    loser = alex if outcomes["alex"] == "taken" else sam
    page = loser.page
    expect(page.locator("#error-summary")).to_contain_text("that time has just been taken")
    times = page.get_by_role("group", name="Choose another time")
    expect(times.get_by_label("10:00")).to_have_count(0)
    expect(times.get_by_label("11:00")).to_have_count(1)
    expect(page.get_by_label("Full name")).not_to_be_empty()
    loser.screenshot("just-taken")

    times.get_by_text("11:00", exact=True).click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    expect(page.get_by_text("Tuesday 3 March 2026, 11:00 to 11:45")).to_be_visible()
    loser.check_accessibility()

    booked = Appointment.objects.filter(status=Appointment.Status.CONFIRMED).order_by("start")
    assert [(a.start, a.patient_email) for a in booked] == [
        (datetime(2026, 3, 3, 10, 0, tzinfo=LONDON), f"{'sam' if loser is alex else 'alex'}@example.com"),
        (datetime(2026, 3, 3, 11, 0, tzinfo=LONDON), f"{loser.name}@example.com"),
    ]
