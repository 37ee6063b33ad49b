"""A patient books, is emailed, manages, reschedules and cancels, through the Django test client."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core import mail
from django.urls import reverse

from booking import services
from booking.forms import slot_value
from booking.models import Appointment, AppointmentEmail
from booking.tokens import manage_token

from ..factories import booking_post

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)


def times_page(client, day="2026-03-03"):
    return client.get("/book/hydrating-facial/", {"date": day}).content.decode()


def local(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def book(client, commits, start, slug="hydrating-facial", **overrides):
    with commits(execute=True):
        return client.post(f"/book/{slug}/details/", booking_post(slot_value(start), **overrides))


def test_home_lists_active_treatments_with_duration_and_price(client, facial, nurse):
    facial.description = "Restores moisture."
    facial.save()
    retired = type(facial).objects.create(slug="old", name="Retired peel", duration_minutes=30, price=10, active=False)
    page = client.get("/").content.decode()
    assert "Hydrating facial" in page and "45 minutes" in page and "£80.00" in page and "Restores moisture." in page
    assert retired.name not in page


def test_home_leaves_out_a_treatment_no_active_practitioner_gives(client, facial, nurse):
    from ..factories import make_practitioner, make_treatment

    make_treatment("brow-lift", name="Brow lift")  # nobody gives it yet
    peel = make_treatment("mild-peel", name="Mild peel")
    make_practitioner("Dr Gone", treatments=[peel]).__class__.objects.filter(name="Dr Gone").update(active=False)
    page = client.get("/").content.decode()
    assert "Hydrating facial" in page
    assert "Brow lift" not in page and "Mild peel" not in page


def test_times_page_shows_local_times_for_the_chosen_day(client, clock, nurse):
    response = client.get("/book/hydrating-facial/", {"date": "2026-03-03"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Tuesday 3 March 2026" in page
    assert "<title>Times for Hydrating facial, Tuesday 3 March" in page  # moving between days reads differently
    assert ">09:00<" in page and ">16:15<" in page  # 45 min + 15 min buffer may run past closing? no: treatment fits
    assert ">16:30<" not in page


def test_the_day_box_holds_the_day_shown_when_none_was_asked_for(client, clock, nurse):
    page = client.get("/book/hydrating-facial/").content.decode()
    assert "Monday 2 March 2026" in page
    assert 'value="2026-03-02"' in page  # the box agrees with the heading, so "Show" keeps the day
    from_a_newsletter = client.get("/book/hydrating-facial/", {"utm_source": "newsletter"}).content.decode()
    assert 'value="2026-03-02"' in from_a_newsletter


def test_times_on_the_day_the_clocks_change_are_local(client, nurse):
    with __import__("time_machine").travel(datetime(2026, 3, 27, 12, tzinfo=LONDON), tick=False):
        page = client.get("/book/hydrating-facial/", {"date": "2026-03-29"}).content.decode()
    assert ">09:00<" in page and "2026-03-29T09:00:00+01:00" in page


def test_empty_day_names_the_next_day_with_times(client, clock, facial):
    from ..factories import make_practitioner

    make_practitioner("Weekday only", treatments=[facial], weekdays=[0, 1, 2, 3, 4])
    page = client.get("/book/hydrating-facial/", {"date": "2026-03-07"}).content.decode()  # a Saturday
    assert "No times on this day" in page and "Monday 9 March" in page


def test_next_day_link_jumps_past_empty_days(client, clock, facial):
    from ..factories import make_practitioner

    make_practitioner("Weekday only", treatments=[facial], weekdays=[0])
    response = client.get("/book/hydrating-facial/next/", {"after": "2026-03-02"})
    assert response.status_code == 302 and response["Location"].endswith("?date=2026-03-09")


def test_booking_confirms_emails_with_calendar_file_and_manage_link(client, clock, nurse, commits):
    start = local(TUESDAY, 10)
    response = book(client, commits, start)
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("booking:confirmed", args=[manage_token(appointment.public_id)])
    assert appointment.status == Appointment.Status.CONFIRMED and appointment.practitioner == nurse
    assert appointment.end == start + timedelta(minutes=45)

    page = client.get(response["Location"]).content.decode()
    assert "re booked" in page and "Tuesday 3 March 2026" in page and "10:00" in page

    [message] = mail.outbox
    assert message.to == ["alex@example.com"]
    assert "confirmed" in message.subject and "3 March at 10:00" in message.subject
    assert manage_token(appointment.public_id) in message.body
    assert "Your appointment is booked." in message.body and "again" not in message.body
    html = message.alternatives[0][0]
    assert "Change or cancel" in html
    assert '<meta name="viewport"' in html and "<title>" in html  # a phone's mail app lays it out at its width
    [(filename, content, mimetype)] = message.attachments
    assert filename == "appointment.ics" and mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(content)
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(minutes=45)
    assert str(event.decoded("dtstart").tzinfo) == "Europe/London"
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/London"
    assert AppointmentEmail.objects.get(kind="confirmed").sent_at is not None
    # Until when it can be changed online: the cut-off before the start, as a date and time.
    assert "online until Monday 2 March, 10:00" in message.body
    assert "reminder" not in page  # 26 hours ahead: the reminder's time (two days before) has passed


def test_a_booking_days_ahead_is_promised_a_reminder_while_it_can_still_be_changed(client, clock, nurse, commits):
    response = book(client, commits, local(date(2026, 3, 5), 10))
    page = client.get(response["Location"]).content.decode()
    assert "We will email you a reminder before your appointment, while you can still change it online." in page


def test_a_same_day_booking_is_promised_neither_a_reminder_nor_changes_online(client, clock, nurse, commits):
    response = book(client, commits, local(date(2026, 3, 2), 14))  # the clock says Monday 2 March, 08:00
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "re booked" in page and "reminder" not in page
    assert "can no longer be changed online" in page and "manage your booking here" not in page
    assert not AppointmentEmail.objects.filter(kind="reminder").exists()
    [message] = mail.outbox
    assert "too close to the appointment to change it online" in message.body
    assert "online until" not in message.body and "Change or cancel" not in message.alternatives[0][0]


def test_a_cancelled_bookings_confirmation_page_shows_it_cancelled(client, clock, nurse, commits):
    book(client, commits, local(TUESDAY, 10))
    token = manage_token(Appointment.objects.get().public_id)
    with commits(execute=True):
        client.post(f"/booking/{token}/cancel/", {"confirm": "on"})
    response = client.get(f"/booking/{token}/confirmed/", follow=True)  # Back, or a reload of the old tab
    page = response.content.decode()
    assert "re booked" not in page and "This appointment is cancelled." in page
    assert "Book another appointment" in page


def test_a_past_appointments_link_says_it_has_taken_place(client, clock, nurse, commits):
    book(client, commits, local(TUESDAY, 10))
    token = manage_token(Appointment.objects.get().public_id)
    clock.move_to(local(TUESDAY, 15))
    page = client.get(f"/booking/{token}/").content.decode()
    assert "This appointment has already taken place." in page and "less than" not in page
    assert "Move to another time" not in page


@pytest.mark.parametrize(
    ("status", "says", "not_said"),
    [
        ("no_show", "This appointment was missed.", "taken place"),
        ("completed", "This appointment has already taken place.", "missed"),
    ],
)
def test_a_past_appointments_link_says_what_became_of_it(client, clock, nurse, commits, status, says, not_said):
    book(client, commits, local(TUESDAY, 10))
    appointment = Appointment.objects.get()
    clock.move_to(local(TUESDAY, 15))
    services.appointment_change_status(appointment=appointment, status=status, now=datetime.now(LONDON))
    page = client.get(f"/booking/{manage_token(appointment.public_id)}/").content.decode()
    assert says in page and not_said not in page
    assert "Move to another time" not in page and "Book another appointment" in page


def test_patient_reschedules_to_another_free_time(client, clock, nurse, commits):
    book(client, commits, local(TUESDAY, 10))
    clock.move_to(datetime.now(LONDON) + timedelta(minutes=5))  # the patient comes back later
    appointment = Appointment.objects.get()
    token = manage_token(appointment.public_id)
    page = client.get(f"/booking/{token}/reschedule/", {"date": "2026-03-04"}).content.decode()
    new_start = local(date(2026, 3, 4), 14, 30)
    assert slot_value(new_start) in page
    with commits(execute=True):
        response = client.post(f"/booking/{token}/reschedule/?date=2026-03-04", {"start": slot_value(new_start)})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == new_start and appointment.status == Appointment.Status.CONFIRMED
    assert "has moved" in mail.outbox[-1].subject
    [event] = icalendar.Calendar.from_ical(mail.outbox[-1].attachments[0][1]).walk("VEVENT")
    assert event.decoded("dtstart") == new_start
    # The same event, later in its life: a calendar that holds the first file moves it rather than adding another.
    [first] = icalendar.Calendar.from_ical(mail.outbox[0].attachments[0][1]).walk("VEVENT")
    assert event["uid"] == first["uid"] and event["sequence"] > first["sequence"]
    # The old time is free again for someone else.
    assert slot_value(local(TUESDAY, 10)) in times_page(client)


def test_patient_may_reschedule_into_an_overlapping_time_their_own_booking_holds(client, clock, nurse):
    from booking import services

    from ..factories import patient

    appointment = services.appointment_book(
        treatment=nurse.treatments.get(), start=local(TUESDAY, 10), patient=patient(), now=datetime.now(LONDON)
    )
    token = manage_token(appointment.public_id)
    new_start = slot_value(local(TUESDAY, 10, 30))
    response = client.post(f"/booking/{token}/reschedule/?date=2026-03-03", {"start": new_start})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == local(TUESDAY, 10, 30)


def test_patient_cancels_and_the_time_is_freed(client, clock, nurse, commits):
    book(client, commits, local(TUESDAY, 10))
    clock.move_to(datetime.now(LONDON) + timedelta(minutes=5))  # the patient comes back later
    appointment = Appointment.objects.get()
    token = manage_token(appointment.public_id)
    assert client.get(f"/booking/{token}/cancel/").status_code == 200
    with commits(execute=True):
        response = client.post(f"/booking/{token}/cancel/", {"confirm": "on"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert "cancelled" in mail.outbox[-1].subject
    # Its calendar file takes the event out of the patient's calendar: the same UID, cancelled, a later SEQUENCE.
    [booked] = icalendar.Calendar.from_ical(mail.outbox[0].attachments[0][1]).walk("VEVENT")
    [cancelled] = icalendar.Calendar.from_ical(mail.outbox[-1].attachments[0][1]).walk("VEVENT")
    assert cancelled["uid"] == booked["uid"] and cancelled["status"] == "CANCELLED" and booked["status"] == "CONFIRMED"
    assert cancelled["sequence"] > booked["sequence"]
    assert "Cancelled" in client.get(f"/booking/{token}/").content.decode()
    assert slot_value(local(TUESDAY, 10)) in times_page(client)
    # No reminder will go for a cancelled booking.
    assert not AppointmentEmail.objects.filter(kind="reminder", state="pending").exists()


def test_cancel_inside_the_cut_off_is_refused_with_the_clinic_phone(client, clock, nurse, commits):
    book(client, commits, local(TUESDAY, 10))
    appointment = Appointment.objects.get()
    token = manage_token(appointment.public_id)
    clock.move_to(local(TUESDAY, 9) - timedelta(hours=12))
    page = client.get(f"/booking/{token}/").content.decode()
    assert "can no longer be changed online" in page
    response = client.post(f"/booking/{token}/cancel/", {"confirm": "on"}, follow=True)
    assert "Please call the clinic" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED


def test_just_taken_time_shows_a_clear_message_and_fresh_times(client, clock, nurse, commits):
    start = local(TUESDAY, 10)
    book(client, commits, start)
    response = book(client, commits, start, email="second@example.com", name="Sam Lee")
    page = response.content.decode()
    assert response.status_code == 409
    assert "just been taken" in page
    assert slot_value(local(TUESDAY, 11)) in page  # fresh times to choose from
    assert 'value="Sam Lee"' in page  # what the patient typed is kept
    assert Appointment.objects.count() == 1


def test_api_returns_free_times_for_a_range(client, clock, nurse):
    data = client.get("/api/availability/hydrating-facial/", {"start": "2026-03-03", "days": 3}).json()
    assert data["time_zone"] == "Europe/London"
    assert list(data["days"]) == ["2026-03-03", "2026-03-04", "2026-03-05"]
    assert data["days"]["2026-03-03"][0] == "2026-03-03T09:00Z"
    # Each time is what the booking form takes: it opens the details form for that time.
    details = client.get("/book/hydrating-facial/details/", {"start": data["days"]["2026-03-05"][-1]})
    assert details.status_code == 200 and "Thursday 5 March 2026, 16:15" in details.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-13-01"},
        {"start": "2026-03-03", "days": "x"},
        {"start": "2026-03-03", "days": "500"},
        {"start": "2020-01-01"},
    ],
)
def test_api_rejects_bad_ranges_with_400(client, clock, nurse, query):
    response = client.get("/api/availability/hydrating-facial/", query)
    assert response.status_code == 400 and "errors" in response.json()


def test_moving_to_the_time_already_booked_changes_nothing_and_sends_nothing(client, clock, nurse, commits):
    book(client, commits, local(TUESDAY, 10))
    appointment = Appointment.objects.get()
    token = manage_token(appointment.public_id)
    sent = len(mail.outbox)
    with commits(execute=True):
        response = client.post(
            f"/booking/{token}/reschedule/?date=2026-03-03", {"start": slot_value(local(TUESDAY, 10))}
        )
    assert response.status_code == 400
    assert "That is the time you already have" in response.content.decode()
    assert len(mail.outbox) == sent and not AppointmentEmail.objects.filter(kind="rescheduled").exists()


def test_the_booked_page_says_the_confirmation_is_on_its_way_not_that_it_arrived(client, clock, nurse, commits):
    """It is sent a moment later, by a worker, and may fail: the page must not promise what has not happened."""
    with commits(execute=False):
        response = client.post("/book/hydrating-facial/details/", booking_post(slot_value(local(TUESDAY, 10))))
    page = client.get(response["Location"]).content.decode()
    assert "We are sending a confirmation to" in page and "have emailed" not in page
    assert "spam folder, or call us on" in page


def test_the_booking_page_names_the_year_of_a_day_in_another_year(client, clock, facial, nurse):
    """Staff book up to two years ahead: "until Sunday 3 January" read in March means the wrong January."""
    from ..factories import booked_by_phone

    booked = booked_by_phone(facial, local(date(2027, 1, 4), 10))
    page = client.get(f"/booking/{manage_token(booked.public_id)}/").content.decode()
    assert "online until Sunday 3 January 2027, 10:00" in page
    this_year = booked_by_phone(facial, local(date(2026, 3, 10), 10), email="sam@example.com")
    page = client.get(f"/booking/{manage_token(this_year.public_id)}/").content.decode()
    assert "online until Monday 9 March, 10:00" in page
