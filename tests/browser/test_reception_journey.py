"""Reception books a patient on the phone: finds a free time for the treatment they ask for, books it from the link
with the practitioner free then, and the patient is emailed as after an online booking."""

import pytest
from playwright.sync_api import expect

from booking.models import Appointment

pytestmark = pytest.mark.browser


def test_reception_finds_a_free_time_and_books_a_patient_on_the_phone(clinic, new_staff, mailoutbox):
    staff = new_staff("sam.desk", "Reception")
    admin = staff.page
    admin.goto("/admin/booking/appointment/")
    admin.get_by_role("link", name="Find a free time").click()
    expect(admin.get_by_role("heading", name="Find a free time")).to_be_visible()
    staff.check_accessibility()
    admin.get_by_label("Treatment").select_option(label="Hydrating facial")
    admin.get_by_label("Day").fill("2026-03-03")
    admin.get_by_role("button", name="Show free times").click()

    expect(admin.get_by_role("heading", name="Hydrating facial, Tuesday 3 March 2026")).to_be_visible()
    staff.check_accessibility()
    staff.screenshot("free-times")
    admin.get_by_role("row").filter(has_text="11:00").get_by_role("link", name="Book with Nurse Ben Clarke").click()

    expect(admin.get_by_role("heading", name="Add appointment")).to_be_visible()
    staff.check_accessibility()
    admin.get_by_label("Patient name").fill("Robin Hale")
    admin.get_by_label("Patient email").fill("robin@example.com")
    admin.get_by_label("Patient phone").fill("07700 900456")
    admin.get_by_label("Patient date of birth").fill("1988-07-21")
    admin.get_by_role("button", name="Save", exact=True).click()

    expect(admin.locator(".messagelist")).to_contain_text("was added successfully")
    staff.check_accessibility()
    booked = Appointment.objects.get()
    assert (booked.patient_name, booked.practitioner.name, booked.status) == (
        "Robin Hale",
        "Nurse Ben Clarke",
        "confirmed",
    )
    assert booked.start.isoformat() == "2026-03-03T11:00:00+00:00"
    assert [message.to for message in mailoutbox] == [["robin@example.com"]]
