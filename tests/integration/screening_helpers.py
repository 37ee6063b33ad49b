"""Shared builders for the screening tests."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from booking.forms import slot_value
from screening.gate import screening_token
from screening.models import Contraindication, Screening

from ..factories import booking_post, make_practitioner, make_treatment

LONDON = ZoneInfo("Europe/London")
SLUG = "microneedling"
QUEUE = "/admin/screening/flaggedbooking/"  # bookings awaiting review


def local(day, hh=10, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def make_microneedling():
    return make_treatment(SLUG, minutes=60, buffer=15, requires_screening=True)


def make_clinic():
    """Microneedling and a safe alternative, with a practitioner working 09:00-17:00 every day."""
    microneedling = make_microneedling()
    facial = make_treatment("hydrating-facial", minutes=45, safe_alternative=True)
    make_practitioner("Nurse Ben", treatments=[microneedling, facial])
    return microneedling


def answers_post(**overrides):
    """A screening that clears: no isotretinoin and "No" to every other question."""
    data = {"email": "alex@example.com", "taking_isotretinoin": "no", "isotretinoin_recently": "no"}
    for key in Contraindication.objects.filter(active=True).values_list("key", flat=True):
        data[f"q_{key}"] = "no"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def screen(client, **overrides):
    return client.post(f"/book/{SLUG}/screening/", answers_post(**overrides))


def latest_screening():
    return Screening.objects.latest("created_at", "pk")


def token_of(screening):
    return screening_token(screening)


def book(client, commits, start, token=None, **overrides):
    data = booking_post(slot_value(start), **overrides)
    if token is not None:
        data["screening"] = token
    with commits(execute=True):
        return client.post(f"/book/{SLUG}/details/", data)


def book_held_for_review(client, commits, day):
    """A microneedling booking at 10:00 on `day`, held because the patient was unsure of their last isotretinoin
    dose; the client is signed out again and the outbox emptied."""
    from django.core import mail

    from booking.models import Appointment

    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose_unsure="on")
    book(client, commits, local(day), token=token_of(latest_screening()))
    client.logout()
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    mail.outbox.clear()
    return appointment
