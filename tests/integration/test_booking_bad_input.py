"""Bad input gets a clear message or a 404, never a 500, and writes nothing."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import signing

from booking import services
from booking.forms import slot_value
from booking.models import Appointment
from booking.tokens import manage_token

from ..factories import booking_post, patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)


def local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def post(client, start, **overrides):
    return client.post("/book/hydrating-facial/details/", booking_post(start, **overrides))


def refused(response, status, reason):
    """The POST was refused with `status`, saying `reason`; what the patient typed is kept and nothing is written."""
    page = response.content.decode()
    assert response.status_code == status
    assert reason in page and "just been taken" not in page
    assert 'value="Alex Morgan"' in page and 'value="alex@example.com"' in page
    assert not Appointment.objects.exists()


def test_a_past_time_is_refused_as_passed(client, clock, nurse):
    refused(post(client, slot_value(local(date(2026, 3, 1), 10))), 410, "That time has passed.")


def test_a_time_within_the_minimum_notice_is_refused_as_too_soon(client, clock, nurse):
    refused(post(client, slot_value(local(date(2026, 3, 2), 9))), 410, "That time is too soon to book online.")


def test_a_time_beyond_the_horizon_is_refused_naming_where_bookings_end(client, clock, nurse):
    refused(post(client, slot_value(local(date(2026, 9, 1), 10))), 404, "further ahead than we take bookings")


def test_a_time_not_offered_is_refused_as_not_one_we_offer(client, clock, nurse):
    # not on the 15 minute grid
    refused(post(client, slot_value(local(TUESDAY, 10, 7))), 404, "That time is not one we offer.")


def test_a_time_outside_working_hours_is_refused_as_closed(client, clock, nurse):
    refused(post(client, slot_value(local(TUESDAY, 20))), 404, "We are not open then.")


def test_a_malformed_start_goes_back_to_the_times(client, clock, nurse):
    response = post(client, "yesterday-ish")
    assert response.status_code == 302 and response["Location"] == "/book/hydrating-facial/"
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("email", "not-an-email", "Enter a valid email address."),
        ("phone", "call me", "Please enter a phone number"),
        ("phone", "-------", "Please enter a phone number"),
        ("phone", "( ) ( ) ( )", "Please enter a phone number"),
        # Longer than the column holds: a form error, not a database error (a 500 on PostgreSQL).
        ("email", "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com", "at most 254 characters"),
        ("date_of_birth", "2030-01-01", "must be in the past"),
        ("date_of_birth", "1800-01-01", "check the year"),
        ("name", "   ", "Please enter your full name."),  # in words, not Django's "This field is required."
        ("name", "\u200b", "Please enter your name."),  # a zero-width space: looks empty in the diary
        ("name", "\x7f\x08\x1b", "Please enter your name."),
        ("name", "-- .", "Please enter your name."),
        ("phone", "+49 (0) 151 1234 5678 9999 9999 99999", "at most 32 characters"),
    ],
)
def test_bad_patient_details_are_form_errors(client, clock, nurse, field, value, message):
    response = post(client, slot_value(local(TUESDAY, 10)), **{field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Please check the following" in response.content.decode()
    assert "<title>Error: Your details" in response.content.decode()  # a screen reader hears it first
    assert not Appointment.objects.exists()


def test_cancelling_without_ticking_the_box_is_explained_in_the_error_summary(client, clock, nurse):
    appointment = services.appointment_book(
        treatment=nurse.treatments.get(), start=local(TUESDAY, 10), patient=patient(), now=datetime.now(LONDON)
    )
    token = manage_token(appointment.public_id)
    assert "novalidate" in client.get(f"/booking/{token}/cancel/").content.decode()  # not the browser's tooltip
    response = client.post(f"/booking/{token}/cancel/", {})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Please check the following" in page and "Tick the box to confirm that you want to cancel." in page
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED


def test_unknown_treatment_is_404(client, clock, nurse):
    assert client.get("/book/botox/").status_code == 404


@pytest.mark.parametrize("day", ["2026-02-01", "2027-01-01", "not-a-date"])
def test_a_day_outside_the_booking_window_is_a_400_with_a_message(client, clock, nurse, day):
    response = client.get("/book/hydrating-facial/", {"date": day})
    assert response.status_code == 400
    assert "Please choose a day between" in response.content.decode() or "valid date" in response.content.decode()


def test_tampered_manage_token_is_404(client, clock, nurse):
    appointment = services.appointment_book(
        treatment=nurse.treatments.get(), start=local(TUESDAY, 10), patient=patient(), now=datetime.now(LONDON)
    )
    token = manage_token(appointment.public_id)
    assert client.get(f"/booking/{token}/").status_code == 200
    assert client.get(f"/booking/{token[:-2]}xx/").status_code == 404
    assert client.get(f"/booking/{appointment.public_id}/").status_code == 404
    assert client.get(f"/booking/{appointment.pk}/").status_code == 404


def test_expired_manage_token_is_404(client, clock, nurse, settings):
    appointment = services.appointment_book(
        treatment=nurse.treatments.get(), start=local(TUESDAY, 10), patient=patient(), now=datetime.now(LONDON)
    )
    token = manage_token(appointment.public_id)
    # A link lasts MANAGE_LINK_MAX_AGE_DAYS after the visit (tokens.manage_link_expires_at), then it is gone.
    expires = appointment.start.astimezone(UTC) + timedelta(days=settings.MANAGE_LINK_MAX_AGE_DAYS)  # not wall time
    clock.move_to(expires - timedelta(hours=1))
    assert client.get(f"/booking/{token}/").status_code == 200
    clock.move_to(expires + timedelta(hours=1))
    assert client.get(f"/booking/{token}/").status_code == 404


def test_token_signed_for_another_purpose_is_404(client, clock, nurse):
    appointment = services.appointment_book(
        treatment=nurse.treatments.get(), start=local(TUESDAY, 10), patient=patient(), now=datetime.now(LONDON)
    )
    forged = signing.TimestampSigner(salt="something-else").sign(appointment.public_id.hex)
    assert client.get(f"/booking/{forged}/").status_code == 404


def test_a_cancelled_bookings_link_cannot_reschedule(client, clock, nurse):
    appointment = services.appointment_book(
        treatment=nurse.treatments.get(), start=local(TUESDAY, 10), patient=patient(), now=datetime.now(LONDON)
    )
    services.appointment_cancel(appointment=appointment, now=datetime.now(LONDON))
    token = manage_token(appointment.public_id)
    # The manage page says why, instead of a "page not found" the patient cannot make sense of.
    response = client.get(f"/booking/{token}/reschedule/", follow=True)
    assert response.redirect_chain == [(f"/booking/{token}/", 302)]
    assert "This appointment is cancelled." in response.content.decode()
    response = client.post(f"/booking/{token}/reschedule/", {"start": slot_value(local(TUESDAY, 12))})
    assert response.status_code == 302 and response["Location"] == f"/booking/{token}/"
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED and appointment.start == local(TUESDAY, 10)
    assert Appointment.objects.count() == 1


def test_wrong_method_is_405_not_500(client, clock, nurse):
    assert client.post("/", {}).status_code == 405
    assert client.delete("/book/hydrating-facial/details/").status_code == 405


def test_confirm_without_choosing_one_of_the_times_offered_keeps_what_was_typed_and_asks_for_a_time(
    client, clock, nurse
):
    other = local(TUESDAY, 11)
    refused = post(client, slot_value(local(TUESDAY, 10, 7)))  # off the grid: refused, the day's times offered
    assert 'name="day" value="2026-03-03"' in refused.content.decode()  # the page offers that day's times
    response = client.post(
        "/book/hydrating-facial/details/", {**booking_post(slot_value(other)), "start": "", "day": "2026-03-03"}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "Please choose a time." in page
    assert 'value="Alex Morgan"' in page and slot_value(other) in page
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("phone", ["+49 (0) 151 1234 5678", "06.12.34.56.78", "+1.415.555.0100"])
def test_phone_numbers_written_the_usual_ways_abroad_are_kept_whole(client, clock, nurse, phone):
    # The form's limit was 20 characters: the browser cut the German number's last digit without a word.
    response = post(client, slot_value(local(TUESDAY, 10)), phone=phone)
    assert response.status_code == 302
    assert Appointment.objects.get().patient_phone == phone
