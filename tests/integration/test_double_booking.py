"""No double booking, refereed by PostgreSQL itself."""

import threading
import time as time_module
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from booking import services
from booking.exceptions import SlotTaken
from booking.models import Appointment

from ..factories import make_practitioner, make_treatment, patient
from ..races import at_once

LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)


def local(hh, mm=0):
    return datetime.combine(TUESDAY, time(hh, mm), tzinfo=LONDON)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_patients_racing_for_one_time_get_one_booking(clock):
    facial = make_treatment("hydrating-facial", minutes=45)
    make_practitioner("Only nurse", treatments=[facial])
    now = datetime.now(LONDON)

    def attempt(n):
        services.appointment_book(
            treatment=facial, start=local(10), patient=patient(email=f"p{n}@example.com"), now=now
        )
        return "booked"

    outcomes = at_once(attempt, range(20), refused=(SlotTaken,))
    assert outcomes.count("booked") == 1 and sum(isinstance(o, SlotTaken) for o in outcomes) == 19
    assert Appointment.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racers_spread_over_free_practitioners_before_anyone_is_told_taken(clock):
    facial = make_treatment("hydrating-facial", minutes=45)
    for name in ("A", "B", "C"):
        make_practitioner(name, treatments=[facial])
    now = datetime.now(LONDON)

    def attempt(n):
        services.appointment_book(treatment=facial, start=local(10), patient=patient(email=f"p{n}@x.com"), now=now)
        return "booked"

    outcomes = at_once(attempt, range(8), refused=(SlotTaken,))
    assert outcomes.count("booked") == 3 and sum(isinstance(o, SlotTaken) for o in outcomes) == 5
    assert Appointment.objects.values("practitioner").distinct().count() == 3


@pytest.mark.postgres
@pytest.mark.django_db
def test_database_refuses_overlapping_treatments_of_different_lengths(clock):
    long = make_treatment("microneedling", minutes=60, buffer=15)
    short = make_treatment("peel", minutes=30)
    nurse = make_practitioner("Nurse", treatments=[long, short])
    details = dict(
        patient_name="A",
        patient_email="a@example.com",
        patient_phone="0770090012",
        patient_date_of_birth=date(1990, 1, 1),
        practitioner=nurse,
    )
    Appointment.objects.create(treatment=long, start=local(10), **details)
    with pytest.raises(IntegrityError), transaction.atomic():
        # 11:00 is inside the 60 minute treatment's 15 minute buffer.
        Appointment.objects.create(treatment=short, start=local(11), **details)
    # A cancelled booking does not hold its time.
    Appointment.objects.create(treatment=short, start=local(8), status="cancelled", **details)
    Appointment.objects.create(treatment=short, start=local(8, 15), **details)
    assert Appointment.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db
def test_admin_cannot_store_an_overlap_either(admin_client, clock):
    facial = make_treatment("hydrating-facial", minutes=45)
    nurse = make_practitioner("Nurse", treatments=[facial])
    services.appointment_book(treatment=facial, start=local(10), patient=patient(), now=datetime.now(LONDON))
    response = admin_client.post(
        "/admin/booking/appointment/add/",
        {
            "treatment": facial.pk,
            "practitioner": nurse.pk,
            "start_0": "03/03/2026",
            "start_1": "10:30:00",
            "status": "confirmed",
            "patient_name": "B",
            "patient_email": "b@example.com",
            "patient_phone": "07700900123",
            "patient_date_of_birth": "1990-01-01",
            "emails-TOTAL_FORMS": "0",
            "emails-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "Nurse already has Hydrating facial from 10:00 to 10:45" in response.content.decode()
    assert Appointment.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_postgresql_refuses_to_break_a_deadlock_is_tried_again_not_shown_as_an_error(clock):
    """Two sessions inserting overlapping rows each wait, inside the exclusion check, for the other to commit, and
    PostgreSQL refuses one of them with "deadlock detected". Here the patient's booking is the one refused (the
    other session waits ten times longer before it looks for deadlocks); once the other session gives up its claim,
    the patient must be booked, not shown an error."""
    facial = make_treatment("hydrating-facial", minutes=45)
    nurse = make_practitioner("Only nurse", treatments=[facial])
    now = datetime.now(LONDON)
    other = connection.get_new_connection(connection.get_connection_params())  # another patient's session
    other.autocommit = False
    held = other.cursor()
    held.execute("SET deadlock_timeout = '10s'")

    def claim(start):
        held.execute(
            """INSERT INTO booking_appointment (public_id, treatment_id, practitioner_id, start, "end", busy_until,
                   status, patient_name, patient_email, patient_phone, patient_date_of_birth, status_reason,
                   created_at, updated_at)
               VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, 'confirmed', 'Other', 'o@example.com', '0770090012',
                   '1990-01-01', '', now(), now())""",
            [facial.pk, nurse.pk, start, start + facial.duration, start + facial.duration],
        )

    def waiting_sessions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            return cursor.fetchone()[0]

    claim(local(9, 30))  # until 10:15, and uncommitted: the patient's free check cannot see it yet
    outcome = []

    def patient_books():
        try:
            services.appointment_book(treatment=facial, start=local(10), patient=patient(), now=now)
            outcome.append("booked")
        except Exception as error:  # noqa: BLE001 - the assertion below shows it
            outcome.append(error)
        finally:
            connection.close()

    booking = threading.Thread(target=patient_books)
    booking.start()
    for _ in range(500):  # the patient's insert now waits on the other session's row
        if waiting_sessions():
            break
        time_module.sleep(0.01)
    claim(local(10, 30))  # clear of its own 9:30 but meets the patient's waiting row: each now waits on the other
    other.rollback()  # the other patient gives up their claims
    other.close()
    booking.join(timeout=30)
    assert outcome == ["booked"]
    assert Appointment.objects.get().practitioner == nurse
