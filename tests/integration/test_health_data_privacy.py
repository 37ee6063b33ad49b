"""Screening answers: encrypted at rest with keys of their own, erased when past keeping, exported and erased on a
patient's request by staff allowed to, with a record of each request."""

import json
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connection

from booking import services as booking_services
from booking.models import Appointment
from clinic import encryption
from clinic.encryption import UndecryptableError
from screening import patient_data
from screening.exceptions import ErasureRefused
from screening.models import EligibilityReminder, PatientDataRequest, Screening
from screening.tasks import erase_expired_screening_answers

from ..factories import patient
from .screening_helpers import latest_screening, make_clinic, screen

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)
EMAIL = "alex@example.com"


@pytest.fixture
def microneedling(db):
    return make_clinic()


def raw_columns(screening):
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers, reasons FROM screening_screening WHERE id = %s", [screening.pk])
        return cursor.fetchone()


def make_screening(treatment, *, email=EMAIL, created_at=None, appointment=None, outcome="clear"):
    created_at = created_at or datetime.now(LONDON)
    return Screening.objects.create(
        treatment=treatment,
        email=email,
        answers={"taking_isotretinoin": False, "last_dose": "2025-12-01", "contraindications": {"keloid": True}},
        outcome=outcome,
        reasons=[{"code": "keloid", "text": "Raised scars need a clinician's look."}],
        rules_version=1,
        created_at=created_at,
        expires_at=created_at + timedelta(hours=2),
        appointment=appointment,
        used_at=created_at if appointment else None,
    )


def booked(treatment, *, hour=10, email=EMAIL):
    return booking_services.appointment_book(
        treatment=treatment,
        start=datetime.combine(TUESDAY, time(hour), tzinfo=LONDON),
        patient=patient(email=email),
        now=datetime.now(LONDON),
    )


# --- Encryption at rest --------------------------------------------------------------------------------------------


def test_answers_are_stored_as_ciphertext_and_read_back_as_answers(client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15", q_keloid="yes")
    screening = latest_screening()
    answers, reasons = raw_columns(screening)
    for column in (answers, reasons):
        assert column.startswith("gAAAAA")
        assert "2026-01-15" not in column and "keloid" not in column and "isotretinoin" not in column
    assert screening.answers["last_dose"] == "2026-01-15"
    assert any(reason["code"] for reason in screening.reasons)


def test_the_key_is_not_the_secret_key_and_a_bad_key_is_reported(settings):
    assert settings.SECRET_KEY not in settings.SCREENING_ENCRYPTION_KEYS
    settings.SECRET_KEY = "a-deployment's-own-secret-key-" * 2  # tests run with DEBUG off: not the public dev key
    settings.SCREENING_ENCRYPTION_KEYS = [settings.SECRET_KEY]
    assert {error.id for error in encryption.check_keys()} >= {"clinic.E002", "clinic.E003"}
    settings.SCREENING_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert encryption.check_keys() == []


def test_keys_rotate_without_losing_answers(clock, microneedling, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SCREENING_ENCRYPTION_KEYS = [old]
    screening = make_screening(microneedling)
    settings.SCREENING_ENCRYPTION_KEYS = [new, old]
    assert Screening.objects.get(pk=screening.pk).answers["last_dose"] == "2025-12-01"  # old rows still read
    call_command("rotate_screening_key")
    answers, _ = raw_columns(screening)
    assert json.loads(Fernet(new).decrypt(answers.encode()))["last_dose"] == "2025-12-01"
    settings.SCREENING_ENCRYPTION_KEYS = [new]
    assert Screening.objects.get(pk=screening.pk).answers["contraindications"] == {"keloid": True}


def test_answers_written_under_a_key_that_was_dropped_fail_loudly_not_silently(clock, microneedling, settings):
    screening = make_screening(microneedling)
    settings.SCREENING_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(UndecryptableError):
        Screening.objects.get(pk=screening.pk)


def test_clinicians_still_read_the_answers_in_the_admin(admin_client, client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    page = admin_client.get(f"/admin/screening/screening/{latest_screening().pk}/change/").content.decode()
    assert "Taking isotretinoin now" in page and "15 Jan 2026" in page


# --- Retention ------------------------------------------------------------------------------------------------------


def test_answers_behind_a_past_appointment_are_kept_24_months_then_erased_and_the_booking_stays(clock, microneedling):
    appointment = booked(microneedling)
    screening = make_screening(microneedling, appointment=appointment)
    clock.move_to(datetime(2028, 3, 2, 12, tzinfo=LONDON))  # 23 months and a bit after the appointment
    assert erase_expired_screening_answers() == 0
    clock.move_to(datetime(2028, 3, 4, 12, tzinfo=LONDON))
    assert erase_expired_screening_answers() == 1
    screening.refresh_from_db()
    assert screening.answers is None and screening.reasons == [] and screening.answers_erased_at is not None
    assert screening.outcome == "clear" and screening.appointment == appointment
    appointment.refresh_from_db()
    assert appointment.patient_name == "Alex Morgan"  # the booking record stays whole
    assert erase_expired_screening_answers() == 0  # safe to run again


@pytest.mark.parametrize("status", [None, Appointment.Status.DECLINED, Appointment.Status.CANCELLED])
def test_answers_that_never_led_to_a_visit_are_erased_after_90_days(clock, microneedling, status):
    appointment = None
    if status:
        appointment = booked(microneedling)
        Appointment.objects.filter(pk=appointment.pk).update(status=status)
    screening = make_screening(microneedling, appointment=appointment, outcome="blocked" if not status else "review")
    clock.shift(timedelta(days=89))
    call_command("erase_expired_screening_answers")
    screening.refresh_from_db()
    assert screening.answers is not None
    clock.shift(timedelta(days=2))
    call_command("erase_expired_screening_answers")
    screening.refresh_from_db()
    assert screening.answers is None


def test_answers_behind_a_reminder_still_to_be_sent_are_kept_until_it_goes(clock, microneedling):
    screening = make_screening(microneedling, outcome="blocked")  # e.g. on isotretinoin until a course ends
    reminder = EligibilityReminder.objects.create(
        email=screening.email,
        treatment=microneedling,
        screening=screening,
        kind=EligibilityReminder.Kind.ELIGIBLE,
        due_on=date(2026, 8, 1),
        send_at=datetime(2026, 8, 1, 9, tzinfo=LONDON),
    )
    clock.shift(timedelta(days=120))
    assert erase_expired_screening_answers() == 0
    EligibilityReminder.objects.filter(pk=reminder.pk).update(state=EligibilityReminder.State.SENT)
    assert erase_expired_screening_answers() == 1


def test_the_retention_periods_are_settings(clock, microneedling, settings):
    settings.SCREENING_RETENTION_UNBOOKED_DAYS = 7
    make_screening(microneedling)
    clock.shift(timedelta(days=8))
    assert patient_data.expired_screenings(now=datetime.now(LONDON)).count() == 1


def test_retention_runs_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["erase-expired-screening-answers"]
    assert entry["task"] == "screening.tasks.erase_expired_screening_answers" and entry["schedule"] <= 24 * 3600


# --- Export and erasure on request -----------------------------------------------------------------------------------


def staff(username, *permissions):
    user = User.objects.create_user(username, password="x", is_staff=True)
    codenames = ["view_appointment", "change_appointment", *permissions]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def run_action(client, action, appointment, **extra):
    return client.post("/admin/booking/appointment/", {"action": action, "_selected_action": [appointment.pk], **extra})


def test_a_clinician_exports_a_patients_data_as_json_and_it_is_recorded(client, clock, microneedling):
    appointment = booked(microneedling)
    declined = booked(microneedling, hour=14)
    Appointment.objects.filter(pk=declined.pk).update(status="declined", status_reason="Last dose too recent")
    make_screening(microneedling, appointment=appointment)
    make_screening(microneedling, email="ALEX@example.com")
    clinician = staff("clinician", "export_patient_data")
    client.force_login(clinician)
    response = run_action(client, "export_patient_data", appointment)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    (exported,) = json.loads(response.content)["patients"]
    assert exported["appointments"][0]["name"] == "Alex Morgan" and exported["appointments"][0]["phone"]
    # What the clinic wrote about them is theirs too: why a booking was declined.
    assert [a["status_reason"] for a in exported["appointments"]][1] == "Last dose too recent"
    assert len(exported["screenings"]) == 2
    assert exported["screenings"][0]["answers"]["contraindications"] == {"keloid": True}
    request = PatientDataRequest.objects.get()
    assert request.kind == "export" and request.done_by == clinician and request.done_from == "127.0.0.1"
    assert EMAIL not in json.dumps(request.counts) and EMAIL not in request.email_digest


def test_reception_without_the_permission_neither_sees_nor_runs_the_actions(client, clock, microneedling):
    appointment = booked(microneedling)
    client.force_login(staff("reception"))
    page = client.get("/admin/booking/appointment/").content.decode()
    assert "export_patient_data" not in page and "erase_patient_data" not in page
    response = run_action(client, "export_patient_data", appointment)
    assert response.get("Content-Type") != "application/json"
    assert not PatientDataRequest.objects.exists()


def test_a_clinician_erases_a_patients_data_after_confirming(client, clock, microneedling):
    appointment = booked(microneedling)
    screening = make_screening(microneedling, appointment=appointment)
    EligibilityReminder.objects.create(
        email=EMAIL, treatment=microneedling, kind="eligible", due_on=date(2026, 9, 1), send_at=datetime.now(LONDON)
    )
    other = booked(microneedling, hour=14, email="sam@example.com")
    clock.move_to(datetime(2026, 3, 4, 9, tzinfo=LONDON))  # the visit is over
    client.force_login(staff("clinician", "erase_patient_data"))
    confirm = run_action(client, "erase_patient_data", appointment)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Screening.objects.get(pk=screening.pk).answers is not None
    response = run_action(client, "erase_patient_data", appointment, confirm="yes")
    assert response.status_code == 302
    screening.refresh_from_db()
    appointment.refresh_from_db()
    assert screening.answers is None and EMAIL not in screening.email
    assert appointment.patient_name == "(erased on request)" and EMAIL not in appointment.patient_email
    assert appointment.patient_phone == "" and appointment.start.date() == TUESDAY  # the diary keeps the visit
    assert appointment.patient_date_of_birth is None  # not a made-up date someone could read as real
    assert not EligibilityReminder.objects.filter(email=EMAIL).exists()
    other.refresh_from_db()
    assert other.patient_name == "Alex Morgan" and other.patient_email == "sam@example.com"
    assert PatientDataRequest.objects.get().kind == "erasure"


def test_erasure_takes_the_patients_address_out_of_a_failed_emails_error(admin_client, clock, microneedling):
    appointment = booked(microneedling)
    refused = f"SMTPRecipientsRefused: {{'{EMAIL}': (550, b'5.1.1 mailbox unavailable')}}"
    appointment.emails.update(state="failed", last_error=refused)
    clock.move_to(datetime(2026, 3, 4, 9, tzinfo=LONDON))
    patient_data.patient_data_erase(email=EMAIL, now=datetime.now(LONDON))
    outbox = admin_client.get("/admin/booking/appointmentemail/?state__exact=failed").content.decode()
    assert "SMTPRecipientsRefused (details erased on request)" in outbox
    assert EMAIL not in outbox and EMAIL not in str(list(appointment.emails.values_list("last_error", flat=True)))


def test_staff_can_still_change_an_erased_appointment_without_typing_its_details_in(admin_client, clock, microneedling):
    appointment = booked(microneedling)
    clock.move_to(datetime(2026, 3, 4, 9, tzinfo=LONDON))
    patient_data.patient_data_erase(email=EMAIL, now=datetime.now(LONDON))
    url = f"/admin/booking/appointment/{appointment.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "(erased on request)" in page and 'name="patient_date_of_birth"' not in page
    form = {
        "treatment": appointment.treatment_id,
        "practitioner": appointment.practitioner_id,
        "start_0": "03/03/2026",
        "start_1": "10:00:00",
        "status_reason": "Patient asked us to forget them after the visit.",
        "emails-TOTAL_FORMS": "0",
        "emails-INITIAL_FORMS": "0",
        "seen": re.search(r'name="seen" value="([^"]+)"', page)[1],  # as the page was opened
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment.refresh_from_db()
    assert appointment.status_reason.startswith("Patient asked") and appointment.patient_date_of_birth is None


def test_only_erased_details_may_lack_a_date_of_birth(clock, microneedling):
    from django.db import IntegrityError, transaction

    appointment = booked(microneedling)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.filter(pk=appointment.pk).update(patient_date_of_birth=None)
    assert Appointment.objects.get(pk=appointment.pk).patient_date_of_birth == date(1990, 5, 17)


def test_a_clinician_is_told_before_confirming_that_a_patient_with_an_upcoming_visit_cannot_be_erased(
    client, clock, microneedling
):
    appointment = booked(microneedling)  # Tuesday, still ahead
    client.force_login(staff("clinician", "erase_patient_data"))
    response = run_action(client, "erase_patient_data", appointment)
    page = client.get("/admin/booking/appointment/").content.decode()
    assert response.status_code == 302 and "Nothing to erase yet" in page
    appointment.refresh_from_db()
    assert appointment.patient_name == "Alex Morgan"


def test_erasure_waits_until_an_upcoming_appointment_is_cancelled(clock, microneedling):
    booked(microneedling)
    with pytest.raises(ErasureRefused):
        patient_data.patient_data_erase(email=EMAIL, now=datetime.now(LONDON))
    assert Appointment.objects.get().patient_email == EMAIL and not PatientDataRequest.objects.exists()


def test_the_record_of_requests_cannot_be_edited_or_deleted_in_the_admin(admin_client, clock, microneedling):
    patient_data.patient_data_export(email=EMAIL, now=datetime.now(LONDON))
    request = PatientDataRequest.objects.get()
    assert admin_client.get("/admin/screening/patientdatarequest/").status_code == 200
    delete = admin_client.post(f"/admin/screening/patientdatarequest/{request.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert PatientDataRequest.objects.filter(pk=request.pk).exists()


def test_each_request_is_in_the_audit_log(client, clock, microneedling):
    from auditlog.models import LogEntry

    appointment = booked(microneedling)
    client.force_login(staff("clinician", "export_patient_data"))
    screening = make_screening(microneedling, appointment=appointment)
    run_action(client, "export_patient_data", appointment)
    assert LogEntry.objects.get_for_model(PatientDataRequest).get().actor.username == "clinician"
    access = LogEntry.objects.get_for_object(screening).get(action=LogEntry.Action.ACCESS)
    assert access.actor.username == "clinician"


def test_the_clinician_group_gets_the_patient_data_permissions_after_migrate(db):
    from django.contrib.auth.models import Group

    patient_data_permissions = {"export_patient_data", "erase_patient_data", "view_patientdatarequest"}
    clinicians, reception = Group.objects.get(name="Clinician"), Group.objects.get(name="Reception")
    granted = clinicians.permissions.filter(content_type__app_label="screening")
    assert set(granted.values_list("codename", flat=True)) >= patient_data_permissions
    assert not reception.permissions.filter(codename__in=patient_data_permissions).exists()


def test_erasure_also_removes_the_patients_details_from_the_audit_log(clock, microneedling):
    from auditlog.models import LogEntry

    appointment = booked(microneedling)
    make_screening(microneedling, appointment=appointment)
    Appointment.objects.get(pk=appointment.pk).save()  # any later change is on the log too
    entries = LogEntry.objects.get_for_object(appointment)
    assert any("Alex Morgan" in json.dumps(entry.changes) for entry in entries)
    logged_before = entries.count()
    clock.move_to(datetime(2026, 3, 4, 9, tzinfo=LONDON))
    patient_data.patient_data_erase(email=EMAIL, now=datetime.now(LONDON))
    logged = json.dumps([[entry.changes, entry.serialized_data] for entry in LogEntry.objects.all()])
    assert "Alex Morgan" not in logged and EMAIL not in logged and "07700 900123" not in logged
    assert LogEntry.objects.get_for_object(appointment).count() == logged_before  # the who/when/what stays


def test_export_and_erasure_find_the_answers_behind_a_booking_whose_email_staff_corrected(clock, microneedling):
    appointment = booked(microneedling)
    screening = make_screening(microneedling, email="alex@exmaple.com", appointment=appointment)  # typed wrongly
    Appointment.objects.filter(pk=appointment.pk).update(patient_email=EMAIL, status=Appointment.Status.CANCELLED)
    exported = patient_data.patient_data_export(email=EMAIL, now=datetime.now(LONDON))
    assert [s["appointment"] for s in exported["screenings"]] == [str(appointment.public_id)]
    patient_data.patient_data_erase(email=EMAIL, now=datetime.now(LONDON))
    screening.refresh_from_db()
    assert screening.answers is None and "exmaple" not in screening.email


def test_erasure_takes_a_clinicians_decline_note_from_the_booking_and_the_audit_log(clock, microneedling):
    from auditlog.models import LogEntry

    from screening.patient_data import patient_data_erase

    declined = booked(microneedling)
    Appointment.objects.filter(pk=declined.pk).update(status=Appointment.Status.PENDING_REVIEW)  # held for review
    booking_services.appointment_decline(
        appointment=declined, reason="On warfarin; needs haematology sign-off first.", now=datetime.now(LONDON)
    )
    clock.move_to(datetime(2026, 3, 4, 9, tzinfo=LONDON))
    patient_data_erase(email=EMAIL, now=datetime.now(LONDON))
    declined.refresh_from_db()
    assert declined.status == Appointment.Status.DECLINED  # the diary keeps what happened...
    assert "warfarin" not in declined.status_reason  # ...not the clinician's note about the patient
    logged = [json.dumps([entry.changes, entry.serialized_data]) for entry in LogEntry.objects.all()]
    assert logged and not any("warfarin" in text for text in logged)
