"""A review link opens only for a booking in the review queue: a malformed one is a 404, never a server error, and
one for a booking that is not held says there is nothing to review."""

from datetime import date, datetime

import pytest

from booking import services

from ..factories import patient, signed_in
from .screening_helpers import LONDON, QUEUE, local, make_clinic

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)


@pytest.mark.parametrize("object_id", ["abc", "1.5", "-1", "99999", "99999999999999999999999", "1%00", "1/2"])
@pytest.mark.parametrize("group", ["Clinician", "Reception"])
def test_a_review_link_that_names_no_booking_is_a_404(client, db, group, object_id):
    staff = signed_in(client, group)
    assert staff.get(f"{QUEUE}{object_id}/review/").status_code == 404
    assert staff.post(f"{QUEUE}{object_id}/review/", {"decline": "1", "reason": "x"}).status_code in (403, 404)
    assert staff.get(f"{QUEUE}{object_id}/change/", follow=True).status_code == 404


@pytest.mark.parametrize("status", ["cancelled", "confirmed"])
def test_a_review_link_for_a_booking_not_held_shows_nothing_to_review(client, clock, status):
    treatment = make_clinic()
    appointment = services.appointment_book(
        treatment=treatment, start=local(TUESDAY), patient=patient(), now=datetime.now(LONDON)
    )
    if status == "cancelled":
        services.appointment_cancel(appointment=appointment, now=datetime.now(LONDON))
    response = signed_in(client, "Clinician").get(f"{QUEUE}{appointment.pk}/review/", follow=True)
    assert response.redirect_chain[-1][0] == QUEUE
    page = response.content.decode()
    assert f"This booking is {status}: there is nothing to review." in page
    assert 'name="approve"' not in page and 'name="decline"' not in page
    appointment.refresh_from_db()
    assert appointment.status == status
