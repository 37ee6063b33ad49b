"""The details fields rendered once per process are only ever the empty ones."""

from datetime import UTC, datetime

from booking.forms import BookingForm
from booking.templatetags.booking_tags import patient_fields

SLOTS = []


def test_empty_fields_are_the_same_for_everyone_and_filled_ones_are_never_kept(settings):
    settings.DEBUG = False
    empty = patient_fields(BookingForm(slots=SLOTS))
    assert 'name="email"' in empty and "value=" not in empty.split('name="email"')[1].split(">")[0]

    prefilled = patient_fields(BookingForm(slots=SLOTS, initial={"email": "sam@example.com"}))
    assert 'value="sam@example.com"' in prefilled
    assert patient_fields(BookingForm(slots=SLOTS)) == empty  # the next patient still gets empty fields

    sent = BookingForm({"name": "Sam", "email": "not-an-email", "start": datetime.now(UTC).isoformat()}, slots=SLOTS)
    assert 'value="Sam"' in patient_fields(sent) and 'value="Sam"' not in patient_fields(BookingForm(slots=SLOTS))
