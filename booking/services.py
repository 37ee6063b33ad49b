"""Booking use cases. Views, admin actions, commands and tasks call these; none re-implements them."""

import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from . import emails
from .exceptions import DecisionRefused, SlotTaken, SlotUnavailable, TooLateToChange
from .models import Appointment, AppointmentEmail, Treatment
from .selectors import booking_window, clinic_tz, slots_on

logger = logging.getLogger(__name__)

EXCLUSION_VIOLATION = "23P01"
REMINDER_BEFORE = timedelta(hours=24)
EMAIL_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class PatientDetails:
    name: str
    email: str
    phone: str
    date_of_birth: date


def _is_overlap_refusal(error: IntegrityError) -> bool:
    return getattr(error.__cause__, "pgcode", None) == EXCLUSION_VIOLATION


def _free_practitioner_ids(*, treatment, start, now, not_before=None, exclude_appointment=None) -> tuple[int, ...]:
    earliest, latest = booking_window(now)
    if not_before is not None:
        earliest = max(earliest, not_before)
    if not earliest <= start <= latest:
        raise SlotUnavailable()
    day = start.astimezone(clinic_tz()).date()
    for slot in slots_on(
        treatment=treatment, day=day, now=now, not_before=not_before, exclude_appointment=exclude_appointment
    ):
        if slot.start == start:
            return slot.practitioner_ids
    raise SlotTaken()


def _claim_time(appointment: Appointment, practitioner_ids: tuple[int, ...]) -> Appointment:
    """Save `appointment` with the first practitioner the database lets have it, or raise SlotTaken.

    The read that offered the time can be stale by the time we write; PostgreSQL's exclusion constraint is the
    referee, and a refusal just means trying the next free practitioner.
    """
    appointment.fill_times()
    for practitioner_id in practitioner_ids:
        appointment.practitioner_id = practitioner_id
        try:
            with transaction.atomic():
                # SQLite has no exclusion constraint: check again inside the (serialised) write transaction.
                clash = (
                    Appointment.objects.holding_time()
                    .filter(practitioner_id=practitioner_id)
                    .exclude(pk=appointment.pk)
                    .overlapping(appointment.start, appointment.busy_until)
                )
                if clash.exists():
                    continue
                appointment.save()
                return appointment
        except IntegrityError as error:
            if not _is_overlap_refusal(error):
                raise
    raise SlotTaken()


def appointment_book(
    *,
    treatment: Treatment,
    start: datetime,
    patient: PatientDetails,
    now: datetime,
    status: str = Appointment.Status.CONFIRMED,
    not_before: datetime | None = None,
) -> Appointment:
    """Book `treatment` at `start` with any free practitioner and queue the patient's email.

    `status` is PENDING_REVIEW when a clinician must look first; the time is held either way.
    `not_before` is the earliest start the patient may have (e.g. their screening's eligibility date).
    """
    if not treatment.active:
        raise SlotUnavailable("This treatment is not bookable online at the moment.")
    practitioner_ids = _free_practitioner_ids(treatment=treatment, start=start, now=now, not_before=not_before)
    with transaction.atomic():
        appointment = _claim_time(
            Appointment(
                treatment=treatment,
                start=start,
                status=status,
                patient_name=patient.name,
                patient_email=patient.email,
                patient_phone=patient.phone,
                patient_date_of_birth=patient.date_of_birth,
            ),
            practitioner_ids,
        )
        kind = (
            AppointmentEmail.Kind.RECEIVED
            if status == Appointment.Status.PENDING_REVIEW
            else AppointmentEmail.Kind.CONFIRMED
        )
        appointment_email_queue(appointment=appointment, kind=kind, now=now)
        appointment_reminder_schedule(appointment=appointment, now=now)
    return appointment


def _ensure_changeable(appointment: Appointment, now: datetime) -> None:
    if appointment.status not in (Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW):
        raise TooLateToChange("This booking has already been cancelled or has taken place.")
    if appointment.start - now < timedelta(hours=settings.BOOKING_CANCEL_CUTOFF_HOURS):
        raise TooLateToChange(
            f"Bookings can be changed online up to {settings.BOOKING_CANCEL_CUTOFF_HOURS} hours before. "
            f"Please call the clinic on {settings.CLINIC_PHONE}."
        )


def appointment_can_change(*, appointment: Appointment, now: datetime) -> bool:
    try:
        _ensure_changeable(appointment, now)
    except TooLateToChange:
        return False
    return True


def appointment_cancel(
    *, appointment: Appointment, now: datetime, reason: str = "Cancelled by the patient"
) -> Appointment:
    """Cancel a booking the patient may still change, free its time and tell them."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().select_related("treatment").get(pk=appointment.pk)
        _ensure_changeable(appointment, now)
        appointment.transition_to(Appointment.Status.CANCELLED, reason=reason)
        appointment.save()
        _skip_pending_reminders(appointment)
        appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.CANCELLED, now=now)
    return appointment


def appointment_reschedule(
    *, appointment: Appointment, new_start: datetime, now: datetime, not_before: datetime | None = None
) -> Appointment:
    """Move a booking to another free time of the same treatment; the old time is freed in the same step."""
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update().select_related("treatment", "practitioner").get(pk=appointment.pk)
        )
        _ensure_changeable(appointment, now)
        practitioner_ids = _free_practitioner_ids(
            treatment=appointment.treatment,
            start=new_start,
            now=now,
            not_before=not_before,
            exclude_appointment=appointment,
        )
        # Prefer the practitioner the patient already had, when they are free at the new time.
        if appointment.practitioner_id in practitioner_ids:
            practitioner_ids = (appointment.practitioner_id,) + tuple(
                p for p in practitioner_ids if p != appointment.practitioner_id
            )
        appointment.start = new_start
        _claim_time(appointment, practitioner_ids)
        _skip_pending_reminders(appointment)
        appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.RESCHEDULED, now=now)
        appointment_reminder_schedule(appointment=appointment, now=now)
    return appointment


def _skip_pending_reminders(appointment: Appointment) -> None:
    appointment.emails.filter(kind=AppointmentEmail.Kind.REMINDER, state=AppointmentEmail.State.PENDING).update(
        state=AppointmentEmail.State.SKIPPED
    )


def appointment_email_queue(*, appointment: Appointment, kind: str, now: datetime, due_at: datetime | None = None):
    """Record that an email must go out and, once the transaction commits, hand it to a worker."""
    email, created = AppointmentEmail.objects.get_or_create(
        appointment=appointment,
        kind=kind,
        appointment_start=appointment.start,
        defaults={"due_at": due_at or now},
    )
    if created and email.due_at <= now:
        enqueue_email_send(email.pk)
    return email


def appointment_reminder_schedule(*, appointment: Appointment, now: datetime) -> AppointmentEmail | None:
    """Queue the day-before reminder, unless the appointment is already closer than that."""
    due_at = appointment.start - REMINDER_BEFORE
    if due_at <= now:
        return None
    return appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.REMINDER, now=now, due_at=due_at)


def enqueue_email_send(email_id: int) -> None:
    """After commit, ask a worker to send now. If the broker is down the row waits for the next dispatch."""
    from .tasks import send_appointment_email

    def send_later():
        try:
            send_appointment_email.apply_async((email_id,), retry=False)
        except Exception:  # noqa: BLE001 - any broker failure: the periodic dispatch will pick the row up
            logger.warning("Broker unavailable; appointment email %s left for the periodic dispatch", email_id)

    transaction.on_commit(send_later)


def appointment_email_send(*, email_id: int, now: datetime) -> bool:
    """Send one due email exactly once. Return True if this call sent it.

    The row is locked while sending (skipping rows another worker holds) so two workers never send the same one.
    A failure is retried later with exponential backoff and jitter, up to EMAIL_MAX_ATTEMPTS, then marked failed.
    """
    with transaction.atomic():
        email = (
            AppointmentEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("appointment__treatment", "appointment__practitioner")
            .filter(pk=email_id, state=AppointmentEmail.State.PENDING, due_at__lte=now)
            .first()
        )
        if email is None:
            return False
        if not emails.still_relevant(email):
            email.state = AppointmentEmail.State.SKIPPED
            email.save(update_fields=["state"])
            return False
        email.attempts += 1
        try:
            emails.send_appointment_email(email)
        except Exception as error:  # noqa: BLE001 - SMTP and socket errors alike: record, back off, retry
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            if email.attempts >= EMAIL_MAX_ATTEMPTS:
                email.state = AppointmentEmail.State.FAILED
            else:
                backoff = 60 * 2 ** (email.attempts - 1)
                email.due_at = now + timedelta(seconds=backoff + random.uniform(0, backoff / 2))
            email.save(update_fields=["attempts", "last_error", "state", "due_at"])
            logger.warning("Appointment email %s failed (attempt %s)", email.pk, email.attempts)
            return False
        email.state = AppointmentEmail.State.SENT
        email.sent_at = now
        email.save(update_fields=["attempts", "state", "sent_at"])
        return True


def due_appointment_email_ids(*, now: datetime, limit: int = 500) -> list[int]:
    return list(
        AppointmentEmail.objects.filter(state=AppointmentEmail.State.PENDING, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )


def appointment_change_status(*, appointment: Appointment, status: str, now: datetime, reason: str = "") -> Appointment:
    """Staff move a booking along (completed, no-show, cancelled by the clinic), within the transition table."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        appointment.transition_to(status, reason=reason)
        appointment.save()
        if status == Appointment.Status.CANCELLED:
            _skip_pending_reminders(appointment)
            appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.CANCELLED, now=now)
    return appointment


def _pending_for_decision(appointment: Appointment, now: datetime) -> Appointment:
    """Lock a booking awaiting review, or refuse with a message staff can act on."""
    appointment = (
        Appointment.objects.select_for_update().select_related("treatment", "practitioner").get(pk=appointment.pk)
    )
    if appointment.status != Appointment.Status.PENDING_REVIEW:
        raise DecisionRefused(
            f"This booking is already {appointment.get_status_display().lower()}; no decision was recorded."
        )
    if appointment.start <= now:
        raise DecisionRefused("This booking's time has passed; no decision was recorded.")
    return appointment


def appointment_approve(*, appointment: Appointment, now: datetime, decided_by: str = "") -> Appointment:
    """A clinician confirms a booking held for review; the patient is emailed the confirmation."""
    with transaction.atomic():
        appointment = _pending_for_decision(appointment, now)
        # The held time can only have been lost through a staff edit that bypassed the diary; refuse, don't double.
        clash = (
            Appointment.objects.holding_time()
            .filter(practitioner_id=appointment.practitioner_id)
            .exclude(pk=appointment.pk)
            .overlapping(appointment.start, appointment.busy_until)
        )
        if clash.exists():
            raise DecisionRefused("Another booking now holds this time; no decision was recorded.")
        appointment.transition_to(Appointment.Status.CONFIRMED, reason=f"Approved by {decided_by}".strip())
        appointment.save()
        appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.APPROVED, now=now)
    return appointment


def appointment_decline(*, appointment: Appointment, reason: str, now: datetime, decided_by: str = "") -> Appointment:
    """A clinician declines a booking held for review: the time is freed and the patient is told kindly."""
    if not reason.strip():
        raise DecisionRefused("Please give a reason for declining.")
    with transaction.atomic():
        appointment = _pending_for_decision(appointment, now)
        appointment.transition_to(Appointment.Status.DECLINED, reason=reason.strip())
        appointment.save()
        _skip_pending_reminders(appointment)
        appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.DECLINED, now=now)
    return appointment
