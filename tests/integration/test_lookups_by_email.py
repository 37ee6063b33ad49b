"""Patients are looked up by email whatever its case, and PostgreSQL can answer those lookups from an index.

Export, erasure, the reminders' "already booked" check, the earlier wait every screening looks for and a reviewer's
earlier screenings all ask `email__iexact`, which PostgreSQL runs as UPPER(email) = UPPER(...): a plain index on the
column cannot answer that, and each was a scan of the whole table (42 ms over 100,000 appointments).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking import services
from screening import patient_data, selectors

from ..factories import patient
from .screening_helpers import make_clinic

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def plans_of(call) -> dict[str, str]:
    """Run `call`, then EXPLAIN each SELECT it sent; by the table it reads first."""
    with CaptureQueriesContext(connection) as sent:
        call()
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny test table: ask whether an index *can* answer
        for query in sent.captured_queries:
            if query["sql"].startswith("SELECT"):
                cursor.execute(f"EXPLAIN {query['sql']}")
                table = query["sql"].split(" FROM ", 1)[1].split()[0].strip('"')
                plans.setdefault(table, "\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_a_patients_data_is_found_whatever_the_case_of_their_email(clock):
    treatment = make_clinic()
    now = datetime.now(LONDON)
    start = datetime(2026, 3, 3, 10, tzinfo=LONDON)
    services.appointment_book(
        treatment=treatment, start=start, patient=patient(email="Alex.Morgan@Example.com"), now=now
    )
    exported = patient_data.patient_data_export(email="alex.morgan@example.COM", now=now)
    assert [a["email"] for a in exported["appointments"]] == ["Alex.Morgan@Example.com"]


@pytest.mark.postgres
def test_an_export_finds_appointments_and_screenings_through_the_case_insensitive_indexes(clock):
    make_clinic()
    plans = plans_of(lambda: patient_data.patient_data_export(email="alex@example.com", now=datetime.now(LONDON)))
    assert "appointment_patient_email_ci" in plans["booking_appointment"], plans["booking_appointment"]
    assert "screening_email_ci_treatment" in plans["screening_screening"], plans["screening_screening"]
    assert "eligibility_reminder_email_ci" in plans["screening_eligibilityreminder"], plans[
        "screening_eligibilityreminder"
    ]


@pytest.mark.postgres
def test_the_earlier_wait_every_screening_looks_for_is_read_through_the_index(clock):
    treatment = make_clinic()
    plans = plans_of(
        lambda: selectors.earlier_to_weigh(treatment=treatment, email="Alex@Example.com", now=datetime.now(LONDON))
    )
    assert "screening_email_ci_treatment" in plans["screening_screening"], plans["screening_screening"]
