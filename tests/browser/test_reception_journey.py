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


def test_reception_cuts_a_day_short_and_finds_the_patient_to_move(clinic, new_staff):
    """Hours cut short under a booking: warned on saving, counted on the home page, listed to move, and the booking
    says why. The practitioner's page (Django's two-box chooser for treatments) passes axe."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from booking.models import Practitioner

    from ..factories import booked_by_phone

    ben = Practitioner.objects.get(name="Nurse Ben Clarke")
    tuesday_3pm = datetime(2026, 3, 3, 15, 0, tzinfo=ZoneInfo("Europe/London"))
    booked_by_phone(clinic["facial"], tuesday_3pm, practitioner=ben, name="Pat Late", email="pat@example.com")
    staff = new_staff("sam.desk", "Reception")
    admin = staff.page
    admin.goto(f"/admin/booking/practitioner/{ben.pk}/change/")
    staff.check_accessibility()
    admin.locator("#id_working_hours-0-end_time").fill("13:00")  # Tuesday, the first day Ben works
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("still booked outside their working hours: Pat Late")

    admin.goto("/admin/")
    expect(admin.locator("body")).to_contain_text("1 upcoming booking falls in time off or a closure, outside working")
    admin.get_by_role("link", name="See them").click()
    staff.check_accessibility()
    expect(admin.locator("#result_list tbody tr")).to_have_count(1)
    admin.locator("#result_list tbody tr th a").click()  # the booking's time links to its page
    expect(admin.locator(".messagelist")).to_contain_text(
        "This booking needs moving: Nurse Ben Clarke no longer works at that time."
    )
    staff.check_accessibility()
