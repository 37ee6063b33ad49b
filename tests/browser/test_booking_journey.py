"""A patient books a hydrating facial, then moves and cancels it from the link in their email."""

import re

import pytest
from playwright.sync_api import expect

from booking.models import Appointment

pytestmark = pytest.mark.browser


def manage_link(message, site_url):
    match = re.search(re.escape(site_url) + r"/booking/[^/\s]+/", message.body)
    assert match, f"no manage link in: {message.body}"
    return match.group(0)


def test_patient_books_a_facial_then_moves_and_cancels_it_from_the_email_link(clinic, patient, site, mailoutbox):
    page = patient.page
    page.goto("/")
    patient.check_accessibility()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a treatment")
    expect(page.get_by_text("020 7946 0321").first).to_be_visible()
    page.get_by_role("link", name=re.compile("^Book hydrating facial")).click()

    # Monday: nobody works; the page says so and names the next free day.
    expect(page.get_by_role("heading", name="Monday 2 March 2026")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("No times on this day")
    patient.check_accessibility()
    page.get_by_role("link", name="Tuesday 3 March").click()

    expect(page.get_by_role("heading", name="Tuesday 3 March 2026")).to_be_visible()
    expect(page.locator("[aria-current=step]")).to_contain_text("Time")
    patient.check_accessibility()
    patient.screenshot("times")
    page.get_by_role("link", name="10:00").click()

    # Sending the form empty: a summary at the top, each message linked to its field.
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    patient.check_accessibility()
    page.get_by_role("button", name="Confirm booking").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check the following")
    expect(summary).to_be_focused()
    patient.check_accessibility()
    summary.get_by_role("link", name=re.compile("^Full name")).click()
    expect(page.get_by_label("Full name")).to_be_focused()

    page.get_by_label("Full name").fill("Alex Morgan")
    page.get_by_label("Email").fill("alex@example.com")
    page.get_by_label("Mobile phone").fill("07700 900123")
    page.get_by_label("Date of birth").fill("1990-05-17")
    expect(page.get_by_text("Tuesday 3 March 2026, 10:00")).to_be_visible()
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    expect(page.get_by_text("Tuesday 3 March 2026, 10:00 to 10:45")).to_be_visible()
    patient.check_accessibility()
    patient.screenshot("confirmed")

    assert [m.to for m in mailoutbox] == [["alex@example.com"]]
    confirmation = mailoutbox[0]
    assert "Tuesday 3 March" in confirmation.subject or "Tuesday 3 March" in confirmation.body
    page.goto(manage_link(confirmation, site.url))
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    patient.check_accessibility()

    page.get_by_role("link", name="Move to another time").click()
    expect(page.get_by_role("heading", name="Move your appointment")).to_be_visible()
    patient.check_accessibility()
    page.get_by_label("Choose a day").fill("2026-03-04")
    page.get_by_role("button", name="Show times").click()
    expect(page.get_by_role("heading", name="Wednesday 4 March 2026")).to_be_visible()
    patient.check_accessibility()
    page.get_by_text("14:00", exact=True).click()
    expect(page.get_by_label("14:00")).to_be_checked()
    page.get_by_role("button", name="Move to this time").click()

    expect(page.get_by_role("status").filter(has_text="moved")).to_be_visible()
    expect(page.get_by_text("Wednesday 4 March 2026, 14:00 to 14:45")).to_be_visible()
    patient.check_accessibility()
    assert len(mailoutbox) == 2 and "Wednesday 4 March" in mailoutbox[1].body

    page.get_by_role("link", name="Cancel appointment").click()
    expect(page.get_by_role("heading", name="Cancel your appointment?")).to_be_visible()
    patient.check_accessibility()
    page.get_by_label("Yes, cancel this appointment").check()
    page.get_by_role("button", name="Cancel appointment").click()

    expect(page.get_by_role("status").filter(has_text="cancelled")).to_be_visible()
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Move to another time")).to_have_count(0)
    patient.check_accessibility()
    assert len(mailoutbox) == 3 and "cancel" in mailoutbox[2].subject.lower()
    assert Appointment.objects.get().status == Appointment.Status.CANCELLED


def test_a_broken_manage_link_shows_a_friendly_page_not_found(clinic, patient):
    page = patient.page
    response = page.goto("/booking/not-a-real-link/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("We couldn't find that page")
    expect(page.get_by_role("link", name="See our treatments")).to_be_visible()
    patient.check_accessibility()
    patient.screenshot("not-found")


def test_a_day_outside_the_diary_is_explained_next_to_the_day_picker(clinic, patient):
    page = patient.page
    page.goto("/book/hydrating-facial/?date=2026-03-03")
    patient.check_accessibility()
    page.get_by_label("Choose a day").fill("2026-09-01")
    page.get_by_role("button", name="Show times").click()
    expect(page.get_by_role("alert")).to_have_text("Please choose a day between 2 March 2026 and 31 May 2026.")
    expect(page.get_by_label("Choose a day")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("link", name=re.compile(r"^\d\d:\d\d$"))).to_have_count(0)
    expect(page.get_by_text("No times on this day")).to_have_count(0)
    patient.check_accessibility()


FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  return {
    text: (element.innerText || "").trim(),
    id: element.id,
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
  };
}"""


def tab_to(page, *, text=None, element_id=None, limit=40):
    """Press Tab until the wanted element has focus, as a keyboard user would; return what is focused."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if (text and focused["text"] == text) or (element_id and focused["id"] == element_id):
            return focused
    raise AssertionError(f"Tab never reached {text or element_id}")


def test_a_keyboard_user_books_without_a_mouse_and_always_sees_where_the_focus_is(clinic, patient, mailoutbox):
    page = patient.page
    page.goto("/book/hydrating-facial/?date=2026-03-03")
    patient.check_accessibility()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")

    slot = tab_to(page, text="10:00")
    assert slot["outline"], "the focused time has a visible outline"
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    patient.check_accessibility()
    for element_id, typed in (
        ("id_name", "Sam Okoro"),
        ("id_email", "sam@example.com"),
        ("id_phone", "07700 900789"),
    ):
        assert tab_to(page, element_id=element_id)["outline"]
        page.keyboard.type(typed)
    assert tab_to(page, element_id="id_date_of_birth")["outline"]
    # Headless Chromium lays date fields out month/day/year whatever the page's locale; a patient types what they see.
    page.keyboard.type("05171990")
    expect(page.get_by_label("Date of birth")).to_have_value("1990-05-17")
    confirm = tab_to(page, text="Confirm booking")
    assert confirm["outline"]
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    expect(page.get_by_text("Tuesday 3 March 2026, 10:00 to 10:45")).to_be_visible()
    patient.check_accessibility()
    assert [m.to for m in mailoutbox] == [["sam@example.com"]]


def test_a_long_email_address_does_not_make_the_confirmation_scroll_sideways_on_a_phone(clinic, patient, site):
    page = patient.page
    page.goto("/book/hydrating-facial/?date=2026-03-03")
    patient.check_accessibility()
    page.get_by_role("link", name="10:00").click()
    patient.check_accessibility()
    page.get_by_label("Full name").fill("Alex Morgan")
    page.get_by_label("Email").fill("a.very.long.email.address.for.testing.purposes@subdomain.example-clinic.co.uk")
    page.get_by_label("Mobile phone").fill("07700 900123")
    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    patient.check_accessibility()  # fails if the page scrolls sideways at phone width
