"""Patient data use cases: retention, export and erasure. Screening answers are the health data; bookings stay.

Kept apart from services.py (the booking gate and reminders) as reminders.py and review.py are: admin actions,
the retention task and the management command all call these functions.
"""

from datetime import datetime, time, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from booking.models import ERASED_PATIENT_NAME, HOLDING_TIME, Appointment, AppointmentEmail
from booking.selectors import clinic_tz

from .exceptions import ErasureRefused
from .models import EligibilityReminder, PatientDataRequest, Screening, email_digest
from .rules import add_months

PATIENT_FIELDS = {"patient_name", "patient_email", "patient_phone", "patient_date_of_birth"}
# What erasure leaves in place of the patient's email: an address that reaches no one and names no patient.
ERASED_EMAIL_DOMAIN = "erased.invalid"


def _retention_cutoffs(now: datetime) -> tuple[datetime, datetime]:
    tz = clinic_tz()
    today = now.astimezone(tz).date()
    booked = datetime.combine(add_months(today, -settings.SCREENING_RETENTION_MONTHS), time.min, tzinfo=tz)
    return booked, now - timedelta(days=settings.SCREENING_RETENTION_UNBOOKED_DAYS)


def expired_screenings(*, now: datetime):
    """Screenings whose answers are past keeping: behind a past appointment for SCREENING_RETENTION_MONTHS, or
    never behind a booking that went ahead (abandoned, declined, cancelled) for SCREENING_RETENTION_UNBOOKED_DAYS.

    Answers behind an eligibility reminder still to be sent are kept until it goes: the patient asked to hear when
    their wait ends, and a change of the waiting period is counted again from the dates they gave.
    """
    booked_cutoff, unbooked_cutoff = _retention_cutoffs(now)
    went_ahead = Q(appointment__isnull=False) & ~Q(
        appointment__status__in=[Appointment.Status.DECLINED, Appointment.Status.CANCELLED]
    )
    awaited = EligibilityReminder.objects.filter(screening=OuterRef("pk"), state=EligibilityReminder.State.PENDING)
    return Screening.objects.filter(answers_erased_at__isnull=True).filter(
        (went_ahead & Q(appointment__start__lt=booked_cutoff))
        | (~went_ahead & Q(created_at__lt=unbooked_cutoff) & ~Exists(awaited))
    )


def _erase_answers(screenings, *, now: datetime) -> int:
    return Screening.objects.filter(pk__in=list(screenings.values_list("pk", flat=True))).update(
        answers=None, reasons=[], answers_erased_at=now
    )


def screening_answers_erase_expired(*, now: datetime, batch: int = 500) -> int:
    """Erase the answers (and the reasons drawn from them) of expired screenings, in short batches; return how many.

    The screening's outcome and dates stay, as does the booking: the diary and the decision remain on record.
    """
    erased = 0
    while True:
        with transaction.atomic():
            ids = list(expired_screenings(now=now).order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return erased
            erased += _erase_answers(Screening.objects.filter(pk__in=ids), now=now)


def _screenings_of(email: str):
    """The patient's screenings: given under this email, or behind one of its bookings (a booking whose email staff
    corrected keeps the screening it was made with, under the email first typed)."""
    # Two lookups, each through its own case-insensitive index; one OR across the join would read every screening.
    by_email = Screening.objects.filter(email__iexact=email).values_list("pk", flat=True)
    by_booking = Screening.objects.filter(appointment__patient_email__iexact=email).values_list("pk", flat=True)
    return Screening.objects.filter(pk__in={*by_email, *by_booking})


def _reminders_of(email: str, screenings):
    """The patient's eligibility reminders: under this email, or asked for on one of their screenings."""
    # Two lookups, as for screenings: the OR read every reminder (100,000 due ones: 144 ms a patient).
    by_email = EligibilityReminder.objects.filter(email__iexact=email).values_list("pk", flat=True)
    by_screening = EligibilityReminder.objects.filter(screening__in=screenings).values_list("pk", flat=True)
    return EligibilityReminder.objects.filter(pk__in={*by_email, *by_screening})


def patient_data_export(*, email: str, now: datetime, done_by=None, done_from=None) -> dict:
    """Everything held about the patient with this email, as JSON-ready data; record that it was exported."""
    appointments = Appointment.objects.filter(patient_email__iexact=email.strip()).select_related(
        "treatment", "practitioner"
    )
    screenings = _screenings_of(email.strip()).select_related("treatment")
    reminders = _reminders_of(email.strip(), screenings).select_related("treatment")
    emails = AppointmentEmail.objects.filter(appointment__in=appointments).order_by("pk")
    data = {
        "email": email.strip(),
        "exported_at": now.isoformat(),
        "appointments": [
            {
                "reference": str(a.public_id),
                "treatment": a.treatment.name,
                "practitioner": a.practitioner.name,
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "status": a.status,
                "status_reason": a.status_reason,  # e.g. why a clinician declined it: held about them, so theirs
                "name": a.patient_name,
                "email": a.patient_email,
                "phone": a.patient_phone,
                "date_of_birth": a.patient_date_of_birth.isoformat() if a.patient_date_of_birth else None,
                "booked_at": a.created_at.isoformat(),
            }
            for a in appointments
        ],
        "screenings": [
            {
                "reference": str(s.public_id),
                "treatment": s.treatment.name,
                "answered_at": s.created_at.isoformat(),
                "answers": s.answers,
                "outcome": s.outcome,
                "reasons": [reason.get("text", "") for reason in s.reasons or []],
                "eligible_from": s.eligible_from.isoformat() if s.eligible_from else None,
                "answers_erased_at": s.answers_erased_at.isoformat() if s.answers_erased_at else None,
                "appointment": str(s.appointment.public_id) if s.appointment_id else None,
            }
            for s in screenings.select_related("appointment")
        ],
        "eligibility_reminders": [
            {
                "treatment": r.treatment.name,
                "kind": r.kind,
                "due_on": r.due_on.isoformat(),
                "state": r.state,
                "opted_in_at": r.opted_in_at.isoformat() if r.opted_in_at else None,
                "unsubscribed_at": r.unsubscribed_at.isoformat() if r.unsubscribed_at else None,
            }
            for r in reminders
        ],
        "emails": [
            {"kind": e.kind, "state": e.state, "sent_at": e.sent_at.isoformat() if e.sent_at else None} for e in emails
        ],
    }
    if apps.is_installed("auditlog"):
        from auditlog.signals import accessed

        for screening in screenings:  # the answers were read: an access on each screening's record
            accessed.send(sender=Screening, instance=screening)
    counts = {key: len(data[key]) for key in ("appointments", "screenings", "eligibility_reminders", "emails")}
    _record(PatientDataRequest.Kind.EXPORT, email, now=now, done_by=done_by, done_from=done_from, counts=counts)
    return data


def erasure_refusal(*, email: str, now: datetime) -> str | None:
    """Why the patient's data cannot be erased now (an upcoming appointment: cancel it first), or None."""
    upcoming = Appointment.objects.filter(patient_email__iexact=email.strip(), status__in=HOLDING_TIME, start__gt=now)
    if upcoming.exists():
        return "This patient has an upcoming appointment. Cancel it first, then erase their data."
    return None


def patient_data_erase(*, email: str, now: datetime, done_by=None, done_from=None) -> dict:
    """Erase the patient's health answers and contact details; keep anonymous bookings for the diary's history.

    Refused while the patient has an upcoming appointment: cancel it first, so no one is left without a booking
    the clinic can still reach them about.
    """
    email = email.strip()
    with transaction.atomic():
        appointments = Appointment.objects.select_for_update().filter(patient_email__iexact=email)
        if refusal := erasure_refusal(email=email, now=now):
            raise ErasureRefused(refusal)
        appointment_ids = list(appointments.values_list("pk", flat=True))
        screenings = _screenings_of(email)
        screening_ids = list(screenings.values_list("pk", flat=True))
        reminders = _reminders_of(email, screenings)
        counts = {
            # The status reason too: a clinician's free-text note (why they declined) is health data about them.
            "audit_entries_scrubbed": _scrub_audit_log(Appointment, appointment_ids, {*PATIENT_FIELDS, "status_reason"})
            + _scrub_audit_log(Screening, screening_ids, {"email", "reasons"}),
            "screenings": _erase_screenings(screenings, now=now),
            "appointments": _anonymise_appointments(appointments),
            "eligibility_reminders": reminders.delete()[0],
        }
        _record(PatientDataRequest.Kind.ERASURE, email, now=now, done_by=done_by, done_from=done_from, counts=counts)
    return counts


def _scrub_audit_log(model, pks, fields) -> int:
    """Remove the patient's details from the audit log's copies of their rows; the who/when/what stays."""
    if not pks or not apps.is_installed("auditlog"):
        return 0
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_pk__in=[str(pk) for pk in pks]
    )
    scrubbed = 0
    for entry in entries.iterator():
        changes = {key: value for key, value in (entry.changes or {}).items() if key not in fields}
        data = entry.serialized_data
        if data and isinstance(data.get("fields"), dict):
            data["fields"] = {key: value for key, value in data["fields"].items() if key not in fields}
        LogEntry.objects.filter(pk=entry.pk).update(
            changes={**changes, **dict.fromkeys(sorted(fields & set(entry.changes or {})), ["(erased)", "(erased)"])},
            serialized_data=data,
        )
        scrubbed += 1
    return scrubbed


def _erase_screenings(screenings, *, now: datetime) -> int:
    erased = 0
    for pk in list(screenings.values_list("pk", flat=True)):
        erased += Screening.objects.filter(pk=pk).update(
            answers=None, reasons=[], answers_erased_at=now, email=f"erased-{pk}@{ERASED_EMAIL_DOMAIN}"
        )
    return erased


def _anonymise_appointments(appointments) -> int:
    # Row updates, not save(): no signal handler gets to copy the old contact details anywhere on the way out. The
    # status stays (the diary's history); its reason, which may be a clinician's note about the patient, goes. So
    # does a failed email's error beyond its kind: a refusing mail server names the address ("SMTPRecipientsRefused:
    # {'sam@…': (550, …)}"), and reception reads it in the outbox.
    rows = list(appointments.values_list("pk", "public_id", "status_reason"))
    failed = AppointmentEmail.objects.filter(appointment_id__in=[pk for pk, _, _ in rows]).exclude(last_error="")
    for pk, error in failed.values_list("pk", "last_error"):
        AppointmentEmail.objects.filter(pk=pk).update(
            last_error=f"{error.partition(':')[0]} (details erased on request)"
        )
    return sum(
        Appointment.objects.filter(pk=pk).update(
            patient_name=ERASED_PATIENT_NAME,
            patient_email=f"erased-{public_id.hex[:12]}@{ERASED_EMAIL_DOMAIN}",
            patient_phone="",
            patient_date_of_birth=None,
            status_reason=ERASED_PATIENT_NAME if status_reason else "",
        )
        for pk, public_id, status_reason in rows
    )


def _record(kind, email, *, now, done_by, done_from, counts) -> PatientDataRequest:
    return PatientDataRequest.objects.create(
        kind=kind, email_digest=email_digest(email), done_by=done_by, done_from=done_from, done_at=now, counts=counts
    )
