"""Booking use cases. Views, admin actions, commands and tasks call these; none re-implements them."""

import copy
import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q

from . import emails
from .exceptions import (
    AlreadyBooked,
    DecisionRefused,
    InvalidTransition,
    PractitionerUnavailable,
    SameTime,
    SlotTaken,
    SlotUnavailable,
    TooLateToChange,
    TreatmentUnavailable,
)
from .models import (
    HELD_AGAIN,
    HOLDING_TIME,
    ONCE_PER_PATIENT_AND_TIME,
    STILL_EXPECTED,
    Appointment,
    AppointmentEmail,
    Practitioner,
    Treatment,
    status_in_words,
)
from .selectors import (
    booking_window,
    clinic_tz,
    free_practitioners_at,
    staff_booking_window,
    why_not_free,
    why_the_practitioner_cannot_keep,
)

logger = logging.getLogger(__name__)

EXCLUSION_VIOLATION = "23P01"
DEADLOCK_DETECTED = "40P01"
# How often one practitioner's time is asked for again after PostgreSQL broke a deadlock by refusing this claim.
CLAIM_TRIES_PER_PRACTITIONER = 5


@dataclass(frozen=True)
class PatientDetails:
    name: str
    email: str
    phone: str
    date_of_birth: date


def _is_overlap_refusal(error: IntegrityError) -> bool:
    return getattr(error.__cause__, "pgcode", None) == EXCLUSION_VIOLATION


def _free_practitioners(*, treatment, start, now, not_before=None, exclude_appointment=None) -> list[Practitioner]:
    earliest, latest = booking_window(now, not_before)
    if not earliest <= start <= latest:
        raise SlotUnavailable()
    free = free_practitioners_at(
        treatment=treatment, start=start, now=now, not_before=not_before, exclude_appointment=exclude_appointment
    )
    if not free:
        raise SlotTaken()
    return free


def _in_turn(practitioners: list[Practitioner]) -> list[Practitioner]:
    """The free practitioners, from a random one onwards: bookings spread across the team, and patients booking at
    the same moment seldom reach for the same diary (PostgreSQL makes the second wait for the first to commit)."""
    first = random.randrange(len(practitioners)) if practitioners else 0  # noqa: S311 - not a secret
    return practitioners[first:] + practitioners[:first]


def _claim_time(appointment: Appointment, practitioners: list[Practitioner], *, then=None) -> Appointment:
    """Save `appointment` with the first practitioner the database lets have it, or raise SlotTaken.

    The read that offered the time can be stale by the time we write; PostgreSQL's exclusion constraint is the
    referee, and a refusal just means trying the next free practitioner. `then(appointment)` writes what goes with
    the claim in the same transaction: called outside one (a new booking), each try is a transaction of its own,
    with no savepoint to set and release.
    """
    appointment.fill_times()
    for practitioner in practitioners:
        appointment.practitioner = copy.copy(practitioner)  # the selector's own is shared; named without a query
        for _ in range(CLAIM_TRIES_PER_PRACTITIONER):
            try:
                claimed = _claim_once(appointment, then)
            except IntegrityError as error:
                if ONCE_PER_PATIENT_AND_TIME in str(error):
                    raise AlreadyBooked() from error  # the same form sent twice: not another practitioner
                if not _is_overlap_refusal(error):
                    raise
                break  # this practitioner is taken then: the next one
            except OperationalError as error:
                # Two patients inserting the same time each wait, inside the exclusion check, for the other's row
                # to commit; PostgreSQL refuses one of them. Ask again: the other claim has won or gone by now.
                if getattr(error.__cause__, "pgcode", None) != DEADLOCK_DETECTED:
                    raise
                logger.info("Booking claim refused to break a deadlock; trying the same practitioner again")
                continue
            if claimed is None:
                break
            return claimed
    raise SlotTaken()


def _claim_once(appointment: Appointment, then) -> Appointment | None:
    """One try at saving `appointment` with its practitioner, in a transaction (or savepoint) of its own; None when
    SQLite finds the time taken (PostgreSQL's exclusion constraint says so by raising IntegrityError)."""
    with transaction.atomic():
        # SQLite has no exclusion constraint: check again inside the (serialised) write transaction.
        if connection.vendor != "postgresql" and Appointment.objects.clashing_with(appointment).exists():
            return None
        appointment.save()
        if then is not None:
            then(appointment)
        return appointment


def appointment_book(
    *,
    treatment: Treatment,
    start: datetime,
    patient: PatientDetails,
    now: datetime,
    status: str = Appointment.Status.CONFIRMED,
    not_before: datetime | None = None,
    also=None,
) -> Appointment:
    """Book `treatment` at `start` with any free practitioner and queue the patient's email.

    `status` is PENDING_REVIEW when a clinician must look first; the time is held either way.
    `not_before` is the earliest start the patient may have (e.g. their screening's eligibility date).
    `also(appointment)` writes what must stand or fall with the booking, in its transaction (a peel's holds on the
    patient's screened bookings: `screening.services.screened_bookings_after_resurfacing`).
    """
    if not treatment.active:
        raise SlotUnavailable("This treatment is not bookable online at the moment.")
    try:
        practitioners = _in_turn(_free_practitioners(treatment=treatment, start=start, now=now, not_before=not_before))
    except SlotTaken:
        if _already_holds(patient, treatment=treatment, start=start):
            raise AlreadyBooked() from None  # taken by this very patient a moment ago (Back, then Confirm)
        raise

    def then(appointment):
        _queue_first_emails(appointment, now=now)
        if also is not None:
            also(appointment)

    return _claim_time(
        _new_appointment(treatment=treatment, start=start, patient=patient, status=status), practitioners, then=then
    )


def _already_holds(
    patient: PatientDetails, *, treatment: Treatment, start: datetime, other_than: Appointment | None = None
) -> bool:
    """Whether this patient (by email and name, whatever their case) already holds `treatment` at `start`."""
    return (
        Appointment.objects.holding_time()
        .filter(treatment=treatment, start=start, patient_email__iexact=patient.email)
        .filter(patient_name__iexact=patient.name)
        .exclude(pk=other_than.pk if other_than else None)
        .exists()
    )


def appointment_staff_check_patient(*, appointment: Appointment, patient: PatientDetails, status: str) -> None:
    """Raise the refusal a correction of the booking's patient (their name or email, as staff retype it) meets when
    it makes them the patient of another booking of the same treatment at the same time: the once-per-patient
    constraint's rule, which the database would otherwise refuse as an error. `status`: the booking's as saved."""
    if status in HOLDING_TIME and _already_holds(
        patient, treatment=appointment.treatment, start=appointment.start, other_than=appointment
    ):
        raise AlreadyBooked(
            f"{patient.name} already has {appointment.treatment} booked at this time, in another booking. "
            "Check the name and email, or cancel one of the two."
        )


def appointment_staff_book(
    *, treatment: Treatment, practitioner: Practitioner, start: datetime, patient: PatientDetails, now: datetime
) -> Appointment:
    """Book `treatment` at `start` with the practitioner staff chose (a phone booking) and queue the patient's emails,
    the same ones an online booking queues.

    The diary's rules are the patients' own (see `appointment_staff_check`). A treatment that requires the online
    screening is held for a clinician's review: no screening backs a phone booking, and a clinician decides, as they
    do on every booking the screening could not clear (the review queue shows it as held by staff).
    """
    appointment_staff_check(treatment=treatment, practitioner=practitioner, start=start, now=now)
    status = Appointment.Status.PENDING_REVIEW if treatment.requires_screening else Appointment.Status.CONFIRMED
    return _claim_time(
        _new_appointment(treatment=treatment, start=start, patient=patient, status=status),
        [practitioner],
        then=lambda appointment: _queue_first_emails(appointment, now=now),
    )


def appointment_staff_check(
    *,
    treatment: Treatment,
    practitioner: Practitioner,
    start: datetime,
    now: datetime,
    appointment: Appointment | None = None,
    patient: PatientDetails | None = None,
) -> None:
    """Raise the refusal `appointment_staff_book` (or, given `appointment`, `appointment_staff_move`) would make, and
    write nothing: forms call it to show the refusal beside the input at fault (the error's `field`). Given
    `patient`, also refuse booking them into a time they already hold (the once-per-patient constraint's rule).

    The patients' rules for the one practitioner staff chose: both active (a booking already made of a treatment since
    deactivated may still move), the practitioner gives the treatment, and
    the start is on their times grid, within their hours, not in their time off and clear of their other bookings.
    Staff may book sooner than the minimum notice and beyond the online horizon, never in the past.
    """
    if appointment is not None and appointment.status not in STILL_EXPECTED:
        raise TooLateToChange(
            f"This booking is {status_in_words(appointment.status)}: its time can no longer be changed."
        )
    if not treatment.active and appointment is None:  # its bookings already made stand, and may move as patients' may
        raise TreatmentUnavailable(f"{treatment} is not active. Make it active under Treatments, or choose another.")
    if not practitioner.active:
        raise PractitionerUnavailable(f"{practitioner} is not active. Choose another practitioner.")
    if not practitioner.treatments.filter(pk=treatment.pk).exists():
        raise PractitionerUnavailable(f"{practitioner} does not give {treatment}. Choose another practitioner.")
    earliest, latest = staff_booking_window(now)
    if start <= earliest:
        raise SlotUnavailable("That time has already passed. Choose a time ahead.")
    if start > latest:
        raise SlotUnavailable("That is more than two years ahead. Please check the year.")
    # Before the practitioner's diary: the same patient sent twice (Back, then Save) is told it is theirs, not that
    # the practitioner is busy with someone.
    if patient is not None and _already_holds(patient, treatment=treatment, start=start, other_than=appointment):
        raise AlreadyBooked(f"{patient.name} already has {treatment} booked at this time.")
    free = free_practitioners_at(
        treatment=treatment, start=start, now=now, window=(earliest, latest), exclude_appointment=appointment
    )
    if all(each.pk != practitioner.pk for each in free):
        raise SlotUnavailable(
            why_not_free(practitioner=practitioner, treatment=treatment, start=start, exclude_appointment=appointment)
            or SlotTaken.default_message
        )


def _new_appointment(*, treatment: Treatment, start: datetime, patient: PatientDetails, status: str) -> Appointment:
    return Appointment(
        treatment=treatment,
        start=start,
        status=status,
        patient_name=patient.name,
        patient_email=patient.email,
        patient_phone=patient.phone,
        patient_date_of_birth=patient.date_of_birth,
    )


def _queue_first_emails(appointment: Appointment, *, now: datetime) -> None:
    """A booking made this moment has no email rows yet: add them in one statement, and hand the due ones on.

    A confirmed booking gets the confirmation; one held for review the "received" email and the clinic's nudge.
    Either gets its reminder (which waits while a clinician has yet to decide), unless it would be due within
    REMINDER_MIN_GAP: the first email has just said it all.
    """
    if appointment.status == Appointment.Status.PENDING_REVIEW:
        nudge_at = review_nudge_due_at(appointment.start, now=now)
        due = {AppointmentEmail.Kind.RECEIVED: now, AppointmentEmail.Kind.REVIEW_DUE: nudge_at}
    else:
        due = {AppointmentEmail.Kind.CONFIRMED: now}
    reminder_at = appointment_reminder_due_at(appointment.start)
    if reminder_worth_sending(reminder_at, now=now):
        due[AppointmentEmail.Kind.REMINDER] = reminder_at
    rows = AppointmentEmail.objects.bulk_create(
        AppointmentEmail(appointment=appointment, kind=kind, appointment_start=appointment.start, due_at=due_at)
        for kind, due_at in due.items()
    )
    if any(email.due_at <= now for email in rows):
        send_due_emails_soon()


def appointment_change_refusal(*, appointment: Appointment, now: datetime) -> str | None:
    """Why the patient can no longer change or cancel this booking online, in plain words; None if they still can."""
    if appointment.status == Appointment.Status.CANCELLED:
        return "This appointment is cancelled."
    if appointment.status == Appointment.Status.DECLINED:
        return "This booking request was declined, so there is nothing to change."
    if appointment.status == Appointment.Status.NO_SHOW:
        return "This appointment was missed."
    if appointment.status not in STILL_EXPECTED or (appointment.start <= now):
        return "This appointment has already taken place."
    if now > appointment.changeable_online_until:
        hours = settings.BOOKING_CANCEL_CUTOFF_HOURS
        return f"This appointment starts in less than {hours} hours, so it can no longer be changed online."
    return None


def _ensure_changeable(appointment: Appointment, now: datetime) -> None:
    refusal = appointment_change_refusal(appointment=appointment, now=now)
    if refusal:
        raise TooLateToChange(f"{refusal} Please call the clinic on {settings.CLINIC_PHONE} if you need help.")


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
        if new_start == appointment.start:
            raise SameTime()  # not a move: no "your appointment has moved" email for an unchanged time
        practitioners = _free_practitioners(
            treatment=appointment.treatment,
            start=new_start,
            now=now,
            not_before=not_before,
            exclude_appointment=appointment,
        )
        # Prefer the practitioner the patient already had, when they are free at the new time (a stable sort).
        practitioners.sort(key=lambda practitioner: practitioner.pk != appointment.practitioner_id)
        appointment.start = new_start
        appointment.moved_by_clinic = False  # the patient's own move
        _move(appointment, practitioners, now=now)
    return appointment


def appointment_staff_move(
    *, appointment: Appointment, start: datetime, practitioner: Practitioner, now: datetime, by_clinic: bool = False
) -> Appointment:
    """Staff move a booking to another time or practitioner (or both), under the rules of `appointment_staff_check`
    but with no cut-off before the old time; the patient is emailed the move (with an apology when it is the clinic's
    doing, `by_clinic`, rather than the patient's request by phone) and reminded of the new time."""
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update().select_related("treatment", "practitioner").get(pk=appointment.pk)
        )
        appointment_staff_check(
            treatment=appointment.treatment, practitioner=practitioner, start=start, now=now, appointment=appointment
        )
        appointment.start = start
        appointment.moved_by_clinic = by_clinic
        _move(appointment, [practitioner], now=now)
    return appointment


def _move(appointment: Appointment, practitioners: list[Practitioner], *, now: datetime) -> None:
    """Write a booking's new time with the first of `practitioners` free then; the patient hears of the move and is
    reminded of the new time, not the old."""
    _claim_time(appointment, practitioners)
    _skip_pending_reminders(appointment)
    appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.RESCHEDULED, now=now)
    appointment_reminder_schedule(appointment=appointment, now=now)
    if appointment.status == Appointment.Status.PENDING_REVIEW:
        # The clinic's nudge follows the booking: a held booking moved closer still reaches a clinician in time.
        due_at = review_nudge_due_at(appointment.start, now=now)
        appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.REVIEW_DUE, now=now, due_at=due_at)


def _skip_pending_reminders(appointment: Appointment) -> None:
    """The patient's reminder and the clinic's review nudge were for the old time (or a booking now closed)."""
    appointment.emails.filter(
        kind__in=[AppointmentEmail.Kind.REMINDER, AppointmentEmail.Kind.REVIEW_DUE],
        state=AppointmentEmail.State.PENDING,
    ).update(state=AppointmentEmail.State.SKIPPED)


# Emails that can be due again for the same start time: a patient may move away from a time and back to it.
_REARMABLE = {
    AppointmentEmail.Kind.RESCHEDULED,
    AppointmentEmail.Kind.REMINDER,
    AppointmentEmail.Kind.REVIEW_DUE,
    AppointmentEmail.Kind.HELD,  # held, approved, then held again at the same time: the patient is told each time
    AppointmentEmail.Kind.APPROVED,  # and each approval after such a hold confirms it again
}


def review_nudge_due_at(start: datetime, *, now: datetime) -> datetime:
    """When the clinic is told a booking at `start` still awaits review: REVIEW_NUDGE_HOURS before, or now."""
    return max(now, start - timedelta(hours=settings.REVIEW_NUDGE_HOURS))


def appointment_email_queue(
    *, appointment: Appointment, kind: str, now: datetime, due_at: datetime | None = None, again: bool = False
):
    """Record that an email must go out and, once the transaction commits, hand it to a worker if it is due.

    `again`: send it even if this kind already went for this start (a confirmation sent again), and a row still
    waiting (e.g. backing off after the old address was refused) goes at `due_at` with a fresh count of attempts.
    """
    due_at = due_at or now
    email, created = AppointmentEmail.objects.get_or_create(
        appointment=appointment,
        kind=kind,
        appointment_start=appointment.start,
        defaults={"due_at": due_at, "sent_again": again},
    )
    if not created and (again or (kind in _REARMABLE and email.state != AppointmentEmail.State.PENDING)):
        # One row per kind and start time: moving back to a time re-arms its row rather than adding another.
        email.state = AppointmentEmail.State.PENDING
        email.due_at = due_at
        email.attempts = 0
        email.last_error = ""
        email.sent_at = None
        email.sent_again = again
        email.save(update_fields=["state", "due_at", "attempts", "last_error", "sent_at", "sent_again"])
        created = True
    if created and email.due_at <= now:
        send_due_emails_soon()
    return email


def appointment_confirmation_resend(*, appointment: Appointment, now: datetime) -> AppointmentEmail:
    """Email the patient their booking again, to the address it has now: the confirmation, with its manage link and
    calendar file (for a booking still awaiting review, the "received" email). For an address staff corrected, or
    a patient who lost the first email; the outbox's rules apply as to any email (`emails.still_relevant`)."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if appointment.details_erased:
            raise TooLateToChange("This patient's details were erased on request: there is no address to email.")
        if appointment.status not in STILL_EXPECTED:
            status = status_in_words(appointment.status)
            raise TooLateToChange(f"This booking is {status}: there is nothing to confirm.")
        if appointment.start <= now:
            raise TooLateToChange("This booking's time has passed: there is nothing to confirm.")
        pending = appointment.status == Appointment.Status.PENDING_REVIEW
        kind = AppointmentEmail.Kind.RECEIVED if pending else AppointmentEmail.Kind.CONFIRMED
        return appointment_email_queue(appointment=appointment, kind=kind, now=now, again=True)


def appointment_address_corrected(*, appointment: Appointment, now: datetime) -> AppointmentEmail:
    """Staff corrected the patient's email address: send the new one the booking as it stands now (the confirmation,
    or the "received" email, at once and with a fresh count of attempts), not a "moved" email about a time that
    address never heard of. Refused as `appointment_confirmation_resend` refuses (a booking closed or past)."""
    with transaction.atomic():
        email = appointment_confirmation_resend(appointment=appointment, now=now)
        # What the old address was told is nothing the new one knows: the next "moved" email compares with this one.
        Appointment.objects.filter(pk=appointment.pk).update(told_start=None, told_practitioner=None)
        # Nor a "moved" or "on hold again" email: the one just queued tells the booking as it stands.
        appointment.emails.filter(
            kind__in=[AppointmentEmail.Kind.RESCHEDULED, AppointmentEmail.Kind.HELD],
            state=AppointmentEmail.State.PENDING,
        ).update(state=AppointmentEmail.State.SKIPPED)
    return email


# The reminder leaves the patient at least this long to cancel or move online after reading it.
REMINDER_BEFORE_CUTOFF = timedelta(hours=6)


def appointment_reminder_due_at(start: datetime) -> datetime:
    """Return when the reminder for an appointment at `start` is due: APPOINTMENT_REMINDER_HOURS before it, and
    never later than REMINDER_BEFORE_CUTOFF before online changes close (BOOKING_CANCEL_CUTOFF_HOURS before it), so
    a patient who finds from the reminder that they cannot come can still cancel or move it themselves.

    Counted on the clinic's wall clock, so a reminder is at the same local time two days before even when the
    clocks change in between (09:00 on Saturday 28 March 2026 for 09:00 on Monday 30 March).
    """
    tz = clinic_tz()
    wall = start.astimezone(tz).replace(tzinfo=None) - timedelta(hours=settings.APPOINTMENT_REMINDER_HOURS)
    # Normalise through UTC: a wall time inside the spring-forward gap becomes the real instant after it.
    due = wall.replace(tzinfo=tz).astimezone(UTC)
    latest = start - timedelta(hours=settings.BOOKING_CANCEL_CUTOFF_HOURS) - REMINDER_BEFORE_CUTOFF
    return min(due, latest.astimezone(UTC))


# A reminder due this soon after an email that has just told the patient their booking in full (the confirmation,
# the "moved" email, the approval) is not sent: it would only repeat that email, minutes or hours later.
REMINDER_MIN_GAP = timedelta(hours=12)


def reminder_worth_sending(due_at: datetime, *, now: datetime) -> bool:
    """Whether a reminder due at `due_at` still says something new to a patient who has been told their booking at
    `now`: only if it is due more than REMINDER_MIN_GAP later."""
    return due_at > now + REMINDER_MIN_GAP


def appointment_reminder_schedule(*, appointment: Appointment, now: datetime) -> AppointmentEmail | None:
    """Queue the appointment reminder, unless it would be due within REMINDER_MIN_GAP of now (or has passed): the
    email telling the patient of the change has just said it all."""
    due_at = appointment_reminder_due_at(appointment.start)
    if not reminder_worth_sending(due_at, now=now):
        return None
    return appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.REMINDER, now=now, due_at=due_at)


def appointment_emails_retry(*, emails, now: datetime) -> int:
    """Try failed emails about visits still ahead again from now, with a fresh count of attempts (the mail server is
    back after an outage longer than the retries); one about a visit now past ("confirmed for yesterday") is left as
    it is. Whether each is still worth sending is decided when it goes, as for any email. Return how many."""
    retried = emails.filter(state=AppointmentEmail.State.FAILED, appointment__start__gt=now).update(
        state=AppointmentEmail.State.PENDING, due_at=now, attempts=0
    )
    if retried:
        send_due_emails_soon()
    return retried


def appointment_emails_undelivered(now: datetime):
    """Emails to patients given up on, about visits still ahead: what staff should know went to nobody."""
    return AppointmentEmail.objects.filter(state=AppointmentEmail.State.FAILED, appointment__start__gt=now).exclude(
        kind=AppointmentEmail.Kind.REVIEW_DUE
    )


def _publish_dispatch(countdown: float) -> None:
    from .tasks import dispatch_due_appointment_emails

    # siblings=0: one pass, not the fan-out beat starts. It expires like a sibling pass: a worker back after a long
    # outage need not run every kick that waited for it (beat's next pass covers them).
    dispatch_due_appointment_emails.apply_async(
        kwargs={"siblings": 0}, countdown=countdown or None, expires=settings.EMAIL_DISPATCH_SECONDS, retry=False
    )


# One per process (a gunicorn worker), shared by its threads.
_kick_dispatch = emails.DispatchKick(_publish_dispatch, window=lambda: settings.EMAIL_KICK_SECONDS)


def send_due_emails_soon() -> None:
    """After commit, ask a worker to send the due emails now. If the broker is down the rows wait for beat's pass.

    The publish does not retry and the broker's socket timeouts are short (REDIS_BROKER_TRANSPORT_OPTIONS), so a
    Redis outage costs a request milliseconds (connection refused), at most about 3 s (a Redis that never answers).
    """

    def send_soon():
        try:
            _kick_dispatch()
        except Exception as error:  # noqa: BLE001 - any broker failure: the periodic dispatch will pick the rows up
            logger.warning(
                "Broker unavailable (%s); appointment emails left for the periodic dispatch", type(error).__name__
            )

    transaction.on_commit(send_soon, robust=True)


def _claimable_emails(now: datetime):
    """Due pending emails, locked as they are read; rows another dispatcher holds are skipped, not waited for."""
    no_room = Appointment.objects.filter(pk=OuterRef("appointment_id")).without_room()
    return (
        AppointmentEmail.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("appointment__treatment", "appointment__practitioner")
        .filter(state=AppointmentEmail.State.PENDING, due_at__lte=now)
        # A reminder waits while a clinician has yet to decide; approved, it goes, unless the approval came so close to
        # it that it was skipped (appointment_approve).
        .exclude(
            kind=AppointmentEmail.Kind.REMINDER,
            appointment__status=Appointment.Status.PENDING_REVIEW,
            appointment__start__gt=now,
        )
        # And while the diary has no room for the visit (time off or a closure over it...): no "see you on Wednesday"
        # to a clinic closed that day. Moved, it is queued for the new time; the closure lifted, it goes as it was.
        .exclude(Q(kind=AppointmentEmail.Kind.REMINDER) & Q(appointment__start__gt=now) & Exists(no_room))
    )


def _appointment_email_attempt(email: AppointmentEmail, now: datetime) -> str:
    if not emails.still_relevant(email, now=now):
        email.state = AppointmentEmail.State.SKIPPED
        email.save(update_fields=["state"])
        return emails.SKIPPED
    outcome = emails.attempt_send(
        email, send=lambda: emails.send_appointment_email(email, now=now), now=now, due_field="due_at"
    )
    if outcome == emails.SENT and email.kind in emails.TELLS_THE_TIME:
        emails.record_what_was_told(email)
    return outcome


def appointment_email_send(*, email_id: int, now: datetime) -> bool:
    """Send one due email unless it is already sent or another worker holds it. Return True if this call sent it.

    The row stays locked until the send is recorded, so two workers never send the same one. A failure is retried
    by the periodic dispatch with exponential backoff and jitter, up to EMAIL_MAX_ATTEMPTS, then marked failed.
    """
    with transaction.atomic():
        email = _claimable_emails(now).filter(pk=email_id).first()
        return email is not None and _appointment_email_attempt(email, now) == emails.SENT


def appointment_emails_dispatch(*, now: datetime, limit: int | None = None) -> Counter:
    """Send every due appointment email (reminders, retries, any the broker lost), each once. Return the counts."""
    return emails.dispatch_pass(
        claim_next=lambda: _claimable_emails(now).order_by("due_at", "pk").first(),
        attempt=lambda email: _appointment_email_attempt(email, now),
        limit=limit,
    )


# What staff record of a visit once it has started.
_OUTCOMES = {Appointment.Status.COMPLETED, Appointment.Status.NO_SHOW}


class CancelledBy(StrEnum):
    """Who a cancellation staff record comes from: it decides what the patient is told."""

    PATIENT = "patient"  # they asked (by phone, at the desk): told it is cancelled, as when they cancel online
    CLINIC = "clinic"  # the clinic's doing: told so, with an apology


_CANCELLATION = {
    CancelledBy.PATIENT: ("Cancelled at the patient's request", AppointmentEmail.Kind.CANCELLED),
    CancelledBy.CLINIC: ("Cancelled by the clinic", AppointmentEmail.Kind.CLINIC_CANCELLED),
}


def appointment_change_status(
    *,
    appointment: Appointment,
    status: str,
    now: datetime,
    reason: str = "",
    cancelled_by: CancelledBy | None = None,
) -> Appointment:
    """Staff move a booking along (completed, no-show, cancelled), within the transition table.

    A cancellation says who it comes from (`cancelled_by`, required then): the patient is emailed the plain
    cancellation when they asked for it, the clinic's apology when the clinic cancels. Completed and no-show say how
    the visit went, so they wait until it has started (a mis-click on a booking ahead would leave it impossible to
    cancel or to remind the patient of); either may then be corrected to the other.
    """
    cancelling = status == Appointment.Status.CANCELLED
    if cancelling and cancelled_by is None:
        raise ValueError("Say who cancels (cancelled_by): the patient's email depends on it.")
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if not appointment.can_transition_to(status):
            appointment.transition_to(status)  # refused, saying why: before "not yet", which would promise later
        if status in _OUTCOMES and now < appointment.start:
            raise InvalidTransition(
                f"This booking starts on {appointment.start.astimezone(clinic_tz()):%d %b at %H:%M}: it can be "
                f"{status_in_words(status)} only once it has started."
            )
        if cancelling:
            who, kind = _CANCELLATION[CancelledBy(cancelled_by)]
            reason = f"{who}. {reason}" if reason else who
        appointment.transition_to(status, reason=reason)
        appointment.save()
        if cancelling:
            _skip_pending_reminders(appointment)
            if appointment.start > now:  # a visit already past frees no time: nothing to tell the patient
                appointment_email_queue(appointment=appointment, kind=kind, now=now)
    return appointment


def _pending_for_decision(appointment: Appointment, now: datetime, *, after_its_time: bool = False) -> Appointment:
    """Lock a booking awaiting review, or refuse with a message staff can act on; one whose time has passed only
    `after_its_time` (it can still be declined, so it leaves the queue, but not approved)."""
    appointment = (
        Appointment.objects.select_for_update().select_related("treatment", "practitioner").get(pk=appointment.pk)
    )
    if appointment.status != Appointment.Status.PENDING_REVIEW:
        raise DecisionRefused(
            f"This booking is already {status_in_words(appointment.status)}; no decision was recorded."
        )
    if appointment.start <= now and not after_its_time:
        raise DecisionRefused("This booking's time has passed; no decision was recorded.")
    return appointment


def appointment_hold_for_review(*, appointment: Appointment, reason: str, now: datetime) -> Appointment | None:
    """Put a confirmed booking back on hold for a clinician, its time still held (e.g. the patient's later screening
    answers rule it out); the clinic is nudged as for any held booking, and the patient is told, unless the move that
    held it has been emailed by then (that email says it is on hold). One already held keeps its nudge and adds
    `reason` to its own, so the queue says what held it and what is new. None when it is neither, or its time has
    passed: nothing to hold."""
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.start <= now or locked.status not in STILL_EXPECTED:
            return None
        if locked.status == Appointment.Status.PENDING_REVIEW:
            # What held it first stays first (the patient now on isotretinoin is not just "the rules changed").
            new = reason.removeprefix(HELD_AGAIN)
            if new not in locked.status_reason:
                locked.status_reason = f"{locked.status_reason} Also: {new}" if locked.status_reason else reason
                locked.save(update_fields=["status_reason", "updated_at"])
            return locked
        locked.transition_to(Appointment.Status.PENDING_REVIEW, reason=reason)
        locked.save()
        due_at = review_nudge_due_at(locked.start, now=now)
        appointment_email_queue(appointment=locked, kind=AppointmentEmail.Kind.REVIEW_DUE, now=now, due_at=due_at)
        # Decided when it goes (`emails.still_relevant`): not if the move's own email has said it by then.
        appointment_email_queue(appointment=locked, kind=AppointmentEmail.Kind.HELD, now=now)
    return locked


def appointment_approve(*, appointment: Appointment, now: datetime, decided_by: str = "") -> Appointment:
    """A clinician confirms a booking held for review; the patient is emailed the confirmation."""
    with transaction.atomic():
        appointment = _pending_for_decision(appointment, now)
        # The held time can only have been lost through a staff edit that bypassed the diary; refuse, don't double.
        if Appointment.objects.clashing_with(appointment).exists():
            raise DecisionRefused("Another booking now holds this time; no decision was recorded.")
        # Staff changed the diary under it (time off, hours, the practitioner's treatments): no "confirmed" email
        # for a visit nobody will be there to give.
        if why := why_the_practitioner_cannot_keep(appointment):
            raise DecisionRefused(
                f"{why} Move the booking to another practitioner or time first, or decline it; no decision was "
                "recorded."
            )
        appointment.transition_to(Appointment.Status.CONFIRMED, reason=f"Approved by {decided_by}".strip())
        appointment.approved_for, appointment.approved_at = appointment.start, now
        appointment.save()
        appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.APPROVED, now=now)
        # The nudge to review it is answered (it would be skipped when due; skipped now, the diary does not show it
        # as still to go).
        appointment.emails.filter(kind=AppointmentEmail.Kind.REVIEW_DUE, state=AppointmentEmail.State.PENDING).update(
            state=AppointmentEmail.State.SKIPPED
        )
        # The reminder waited for this decision; due already, or soon, it would only repeat the approval (or, sent
        # in due order, come before it), so it goes only if it is still well ahead.
        appointment.emails.filter(
            kind=AppointmentEmail.Kind.REMINDER,
            state=AppointmentEmail.State.PENDING,
            due_at__lte=now + REMINDER_MIN_GAP,
        ).update(state=AppointmentEmail.State.SKIPPED)
    return appointment


def appointment_decline(*, appointment: Appointment, reason: str, now: datetime, decided_by: str = "") -> Appointment:
    """A clinician declines a booking held for review: the time is freed and the patient is told kindly.

    Also once its time has passed, which is how a booking nobody decided on in time leaves the queue. That patient
    is not emailed: the email would release a time already gone and speak of a clinical judgement that may not
    have been made; the clinic calls them instead.
    """
    if not reason.strip():
        raise DecisionRefused("Please give a reason for declining.")
    with transaction.atomic():
        appointment = _pending_for_decision(appointment, now, after_its_time=True)
        appointment.transition_to(Appointment.Status.DECLINED, reason=reason.strip())
        appointment.save()
        _skip_pending_reminders(appointment)
        if appointment.start > now:
            appointment_email_queue(appointment=appointment, kind=AppointmentEmail.Kind.DECLINED, now=now)
    return appointment
