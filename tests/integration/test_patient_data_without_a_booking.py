"""A patient who screened, perhaps opted into eligibility reminders, but never booked has no appointment to start
from: a clinician exports or erases their data from the screenings or the eligibility reminders list instead."""

import json
from datetime import datetime

import pytest
from auditlog.models import LogEntry
from django.core import mail

from screening import reminders
from screening.models import EligibilityReminder, PatientDataRequest, Screening

from ..factories import signed_in
from .screening_helpers import LONDON, latest_screening, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
SCREENINGS = "/admin/screening/screening/"
REMINDERS = "/admin/screening/eligibilityreminder/"


@pytest.fixture
def screened_and_reminded(client, clock):
    """Told on Monday 2 March 2026 to wait until 10 July (last dose 10 January), the patient asks for reminders."""
    make_clinic()
    screen(client, email="Robin@Example.com", isotretinoin_recently="yes", last_dose="2026-01-10")
    screening = latest_screening()
    client.post(f"/book/microneedling/screening/{token_of(screening)}/reminder/", {"consent": "on"})
    assert EligibilityReminder.objects.filter(email__iexact="robin@example.com", state="pending").count() == 2
    client.cookies.clear()
    return screening


def run_action(client, changelist, action, row, **extra):
    return client.post(changelist, {"action": action, "_selected_action": [row.pk], **extra})


@pytest.mark.parametrize("changelist", [SCREENINGS, REMINDERS])
def test_a_clinician_erases_a_patient_who_never_booked_after_confirming(
    client, clock, screened_and_reminded, changelist
):
    row = screened_and_reminded if changelist == SCREENINGS else EligibilityReminder.objects.first()
    signed_in(client, "Clinician")
    assert 'value="erase_patient_data"' in client.get(changelist).content.decode()
    confirm = run_action(client, changelist, "erase_patient_data", row)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Screening.objects.get().answers is not None  # nothing is erased before the clinician confirms
    response = run_action(client, changelist, "erase_patient_data", row, confirm="yes")
    assert response.status_code == 302
    assert "Erased the data of 1 patient(s)." in client.get(response["Location"]).content.decode()
    screening = Screening.objects.get()
    assert screening.answers is None and "robin" not in screening.email.lower()
    assert not EligibilityReminder.objects.exists()
    request = PatientDataRequest.objects.get()
    assert request.kind == "erasure" and request.done_by.username == "clinician-user"
    assert request.counts["screenings"] == 1 and request.counts["eligibility_reminders"] == 2
    assert LogEntry.objects.filter(content_type__model="patientdatarequest").exists()


def test_an_erased_patient_is_never_sent_their_eligibility_reminder(client, clock, screened_and_reminded):
    signed_in(client, "Clinician")
    run_action(client, SCREENINGS, "erase_patient_data", screened_and_reminded, confirm="yes")
    clock.move_to(datetime(2026, 7, 10, 9, 30, tzinfo=LONDON))
    reminders.eligibility_reminders_dispatch(now=datetime.now(LONDON))
    assert mail.outbox == []


@pytest.mark.parametrize("changelist", [SCREENINGS, REMINDERS])
def test_a_clinician_exports_a_patient_who_never_booked(client, clock, screened_and_reminded, changelist):
    row = screened_and_reminded if changelist == SCREENINGS else EligibilityReminder.objects.first()
    signed_in(client, "Clinician")
    response = run_action(client, changelist, "export_patient_data", row)
    assert response["Content-Type"] == "application/json"
    (exported,) = json.loads(response.content)["patients"]
    assert exported["appointments"] == []
    assert exported["screenings"][0]["answers"]["last_dose"] == "2026-01-10"
    assert len(exported["eligibility_reminders"]) == 2
    assert PatientDataRequest.objects.get().kind == "export"


def test_reception_cannot_export_or_erase_from_the_screenings_list(client, clock, screened_and_reminded):
    signed_in(client, "Reception")
    page = client.get(SCREENINGS).content.decode()
    assert "erase_patient_data" not in page and "export_patient_data" not in page
    response = run_action(client, SCREENINGS, "erase_patient_data", screened_and_reminded, confirm="yes")
    assert response.status_code in (302, 403)
    assert Screening.objects.get().answers is not None and not PatientDataRequest.objects.exists()
