"""Reception finds a booking while the patient is on the phone: by part of the name, the email, the number as
written or as dictated, or the booking's reference; on PostgreSQL through one trigram index, not a scan of every
visit ever booked (0.8-1.7 s a search at 100,000 appointments before it)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import services
from booking.models import Appointment
from booking.tokens import manage_token

from ..factories import patient
from .test_admin_diary import LIST, THURSDAY, at, booked_online, change_url

pytestmark = pytest.mark.django_db


def booked_for(treatment, start, name, email, phone=None):
    booked = services.appointment_book(
        treatment=treatment, start=start, patient=patient(name=name, email=email), now=timezone.now()
    )
    if phone is not None:
        Appointment.objects.filter(pk=booked.pk).update(patient_phone=phone)
    return booked


@pytest.fixture
def two_patients(clock, facial, nurse):
    priya = booked_for(facial, at(THURSDAY, 10), "Priya Shah", "priya.shah@example.com", phone="07700 900456")
    booked_for(facial, at(THURSDAY, 12), "Jan Vos", "jan@example.nl", phone="+44 (0)7700-900 401")
    sam = booked_online(facial, at(date(2026, 3, 6), 10), email="sam@example.com")
    return priya, sam


@pytest.mark.parametrize(
    "typed",
    ["shah", "Priya Shah", "PRIYA.SHAH@EXAMPLE", "07700 900456", "07700900456", "900456", "+44 7700 900456"],
    ids=[
        "part of the name",
        "the whole name",
        "the email in capitals",
        "as written",
        "as dictated",
        "its end",
        "with the country code",
    ],
)
def test_reception_finds_the_patient_however_they_are_asked_for(reception, two_patients, typed):
    priya, sam = two_patients
    found = reception.get(LIST, {"q": typed}).content.decode()
    assert change_url(priya) in found and change_url(sam) not in found


def test_a_number_stored_with_its_country_code_is_found_as_dictated_at_home(reception, two_patients):
    found = reception.get(LIST, {"q": "07700 900401"}).content.decode()
    assert "Jan Vos" in found and "Priya Shah" not in found


@pytest.mark.parametrize(
    "written",
    [
        lambda booking: f" {booking.public_id} ",
        lambda booking: booking.public_id.hex.upper(),
        lambda booking: f"http://testserver/booking/{manage_token(booking.public_id)}/",  # the link, pasted whole
    ],
    ids=["as a UUID", "as hex", "in its manage link"],
)
def test_the_booking_reference_finds_that_booking(reception, two_patients, written):
    priya, sam = two_patients
    found = reception.get(LIST, {"q": written(priya)}).content.decode()
    assert change_url(priya) in found and change_url(sam) not in found


def test_a_search_lists_the_patients_latest_visit_first(reception, two_patients, facial):
    priya, _ = two_patients
    later = booked_for(facial, at(date(2026, 3, 20), 10), "Priya Shah", "priya.shah@example.com")
    found = reception.get(LIST, {"q": "Priya"}).content.decode()
    assert found.index(change_url(later)) < found.index(change_url(priya))


@pytest.mark.postgres
@pytest.mark.parametrize("typed", ["Priya Shah", "07700900456"], ids=["words", "digits"])
def test_every_query_of_a_search_reads_the_trigram_index(reception, two_patients, typed):
    with CaptureQueriesContext(connection) as sent:
        reception.get(LIST, {"q": typed})
    # The page and its count. (The date navigation's two also ask `start IS NOT NULL`, which on a table this small
    # any index on the start answers as well; on the scale data their plans read this index too.)
    searching = [
        q["sql"]
        for q in sent.captured_queries
        if "LIKE" in q["sql"]
        and q["sql"].startswith("SELECT")
        and "DATE_TRUNC" not in q["sql"]
        and "MIN(" not in q["sql"]
    ]
    assert len(searching) == 2
    with connection.cursor() as cursor:
        # A tiny table: ask whether the index *can* answer. Walking a btree in order and filtering each row is no
        # answer either, so only bitmap scans are left.
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{scan} = off")
        for sql in searching:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "appointment_patient_search" in plan and "Seq Scan on booking_appointment" not in plan, plan
