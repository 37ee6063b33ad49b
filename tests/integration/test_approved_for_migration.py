"""Upgrading to booking/0023: a booking a clinician confirmed before `approved_for` was recorded counts as confirmed
for its time, so a move to an earlier day still goes back to them; one confirmed on booking does not."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ..factories import make_practitioner, make_treatment
from ..integration.screening_helpers import LONDON

BEFORE, AFTER = [("booking", "0022_appointment_email_sent_again")], [("booking", "0023_appointment_approved_for")]


@pytest.mark.django_db(transaction=True)
def test_bookings_a_clinician_approved_before_the_upgrade_are_approved_for_their_time():
    treatment = make_treatment("microneedling", minutes=60, requires_screening=True)
    practitioner = make_practitioner(treatments=[treatment])
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    Appointment = executor.loader.project_state(BEFORE).apps.get_model("booking", "Appointment")
    start = datetime(2026, 3, 20, 10, tzinfo=LONDON)

    def booked(hours_later, **fields):
        at = start + timedelta(hours=hours_later)
        return Appointment.objects.create(
            treatment_id=treatment.pk,
            practitioner_id=practitioner.pk,
            start=at,
            end=at + timedelta(hours=1),
            busy_until=at + timedelta(hours=1),
            patient_name="Alex Morgan",
            patient_email=f"alex{hours_later}@example.com",
            patient_phone="07700 900101",
            patient_date_of_birth=datetime(1990, 5, 17).date(),
            **fields,
        ).pk

    approved = booked(0, status="confirmed", status_reason="Approved by dr.ng, after asking the health questions")
    confirmed_on_booking = booked(2, status="confirmed")
    still_held = booked(4, status="pending_review", status_reason="Held: unsure of the date")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("booking", "Appointment")
        approved_for = dict(new.objects.values_list("pk", "approved_for"))
        assert approved_for[approved] == start
        assert approved_for[confirmed_on_booking] is None and approved_for[still_held] is None
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
