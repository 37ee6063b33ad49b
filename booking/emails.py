"""The patient's emails about an appointment, its calendar file, and the outbox rules every email row shares."""

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from icalendar import Calendar, Event

from clinic.mail import send_templated_email
from screening.selectors import safe_alternatives_after_decline

from .models import (
    HELD_AGAIN,
    HELD_FOR_ANSWERS_AGAIN,
    HELD_FOR_EARLIER_TIME,
    HELD_FOR_NEW_RULES,
    HELD_FOR_RESURFACING,
    STILL_EXPECTED,
    Appointment,
    AppointmentEmail,
)
from .selectors import clinic_tz
from .tokens import manage_token

logger = logging.getLogger(__name__)

# What one attempt at an outbox row came to; a dispatch pass counts them.
SENT, RETRYING, FAILED, SKIPPED = "sent", "retrying", "failed", "skipped"

# Which emails carry the calendar file: the ones that leave the patient with a firm time, and the cancellation, whose
# file (same UID, a later SEQUENCE, STATUS:CANCELLED) takes the event out of the calendar it was added to.
WITH_CALENDAR = {
    AppointmentEmail.Kind.CONFIRMED,
    AppointmentEmail.Kind.RESCHEDULED,
    AppointmentEmail.Kind.APPROVED,
    AppointmentEmail.Kind.REMINDER,
    AppointmentEmail.Kind.CANCELLED,
    AppointmentEmail.Kind.CLINIC_CANCELLED,
    AppointmentEmail.Kind.DECLINED,  # only to take out an event sent before (`_calendar_file_wanted`)
    AppointmentEmail.Kind.HELD,  # the event already sent, now TENTATIVE
}


def manage_url(appointment: Appointment) -> str:
    return settings.SITE_URL + reverse("booking:manage", args=[manage_token(appointment.public_id)])


def appointment_ics(appointment: Appointment) -> bytes:
    """Return an iCalendar file for the appointment, in the clinic's time zone."""
    tz = clinic_tz()
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Online booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    # The booking's own id, and nothing the clinic may change (SITE_URL once went here: a clinic going live, or
    # moving domain, left patients' calendars with a second event that the next file could not move or cancel).
    event.add("uid", f"{appointment.public_id}@clinic-booking")
    # Calendars apply a file for an event they hold only if its SEQUENCE is higher: the time since the booking was
    # made, at its last change, only ever grows.
    # Tenths of a second: a change in the same second as the booking still counts, and a booking's whole life fits
    # in the 32-bit integer calendars read (6.8 years).
    event.add("sequence", int((appointment.updated_at - appointment.created_at).total_seconds() * 10))
    cancelled = appointment.status in (Appointment.Status.CANCELLED, Appointment.Status.DECLINED)
    # Held for a clinician: in the patient's calendar, but not yet confirmed (RFC 5545's TENTATIVE).
    held = appointment.status == Appointment.Status.PENDING_REVIEW
    event.add("status", "CANCELLED" if cancelled else "TENTATIVE" if held else "CONFIRMED")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start.astimezone(tz))
    event.add("dtend", appointment.end.astimezone(tz))
    event.add("summary", f"{appointment.treatment.name} at {settings.CLINIC_NAME}")
    event.add("location", settings.CLINIC_ADDRESS)
    event.add("description", "Cancelled." if cancelled else f"Change or cancel: {manage_url(appointment)}")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


# What a booking must still be for each email to go: one sent late (a worker down, a retry) never contradicts what
# happened since, e.g. a confirmation after the patient cancelled.
_STILL_TRUE_OF = {
    AppointmentEmail.Kind.CONFIRMED: {Appointment.Status.CONFIRMED},
    AppointmentEmail.Kind.APPROVED: {Appointment.Status.CONFIRMED},
    AppointmentEmail.Kind.HELD: {Appointment.Status.PENDING_REVIEW},
    AppointmentEmail.Kind.RECEIVED: {Appointment.Status.PENDING_REVIEW},
    AppointmentEmail.Kind.RESCHEDULED: set(STILL_EXPECTED),
    AppointmentEmail.Kind.CANCELLED: {Appointment.Status.CANCELLED},
    AppointmentEmail.Kind.CLINIC_CANCELLED: {Appointment.Status.CANCELLED},
    AppointmentEmail.Kind.DECLINED: {Appointment.Status.DECLINED},
    AppointmentEmail.Kind.REMINDER: {Appointment.Status.CONFIRMED},
    AppointmentEmail.Kind.REVIEW_DUE: {Appointment.Status.PENDING_REVIEW},
}
# These speak of one start time: a move since makes them stale (the move queues its own).
_FOR_ONE_START = {AppointmentEmail.Kind.RESCHEDULED, AppointmentEmail.Kind.REMINDER, AppointmentEmail.Kind.HELD}
# These are about a time still to come.
_AHEAD_ONLY = {AppointmentEmail.Kind.REMINDER, AppointmentEmail.Kind.REVIEW_DUE, AppointmentEmail.Kind.HELD}


def still_relevant(email: AppointmentEmail, *, now: datetime) -> bool:
    """Whether a due email should still go: none to a patient whose details were erased (the clinic's review nudge
    aside); each only while the booking is still what it says (`_STILL_TRUE_OF`), for the start it was queued for
    when it names one, and reminders and nudges only for a time still ahead; a "moved" email only while the time or
    practitioner differ from what the patient was last told."""
    appointment = email.appointment
    if appointment.details_erased and email.kind != AppointmentEmail.Kind.REVIEW_DUE:
        return False  # the patient asked to be forgotten: their address is a placeholder now
    if appointment.status not in _STILL_TRUE_OF.get(email.kind, {appointment.status}):
        return False
    if email.kind in _FOR_ONE_START and appointment.start != email.appointment_start:
        return False
    if email.kind == AppointmentEmail.Kind.RESCHEDULED and nothing_new_to_tell(appointment):
        return False  # moved away and back, or an email since already said it: nothing changed for the patient
    if email.kind == AppointmentEmail.Kind.HELD and _a_move_said_it(email):
        return False  # the "moved" email that went since it was queued said the booking awaits a clinician
    return email.kind not in _AHEAD_ONLY or appointment.start > now


# Emails whose calendar file takes the event out of the patient's calendar.
REMOVE_THE_EVENT = {
    AppointmentEmail.Kind.DECLINED,
    AppointmentEmail.Kind.CANCELLED,
    AppointmentEmail.Kind.CLINIC_CANCELLED,
}


def _calendar_file_wanted(email: AppointmentEmail) -> bool:
    """A decline or a cancellation takes out of the patient's calendar an event they were sent before; for a request
    never confirmed there is no event, and a cancelled one would only show up as news."""
    if email.kind not in REMOVE_THE_EVENT:
        return True
    return email.appointment.emails.filter(
        kind__in=WITH_CALENDAR - REMOVE_THE_EVENT, state=AppointmentEmail.State.SENT
    ).exists()


def _a_move_said_it(held: AppointmentEmail) -> bool:
    """Whether a "moved" email for the same time went after `held` was queued: it told the patient of the hold."""
    return held.appointment.emails.filter(
        kind=AppointmentEmail.Kind.RESCHEDULED,
        appointment_start=held.appointment_start,
        state=AppointmentEmail.State.SENT,
        sent_at__gte=held.created_at,
    ).exists()


# Emails that tell the patient their time and practitioner: once one has gone, the booking records what it said.
TELLS_THE_TIME = {
    AppointmentEmail.Kind.CONFIRMED,
    AppointmentEmail.Kind.RECEIVED,
    AppointmentEmail.Kind.APPROVED,
    AppointmentEmail.Kind.RESCHEDULED,
    AppointmentEmail.Kind.REMINDER,
    AppointmentEmail.Kind.HELD,
}


def record_what_was_told(email: AppointmentEmail) -> None:
    """Remember on the booking the time and practitioner the email just sent named (as rendered, even if the booking
    has changed since), for the next "moved" email to compare with. An update of its own: no audit entry, no new
    calendar sequence, no diary change."""
    appointment = email.appointment
    Appointment.objects.filter(pk=appointment.pk).update(
        told_start=appointment.start, told_practitioner=appointment.practitioner_id
    )


def nothing_new_to_tell(appointment: Appointment) -> bool:
    """Whether the booking's time and practitioner are what the patient's emails last told them."""
    told = (appointment.told_start, appointment.told_practitioner_id)
    return appointment.told_start is not None and told == (appointment.start, appointment.practitioner_id)


def when_words(start_local: datetime, *, now: datetime) -> str:
    """Say when an appointment is, seen from the day the email goes out: "today", "tomorrow", "on Tuesday 3 March"
    (with its year when that is not this one)."""
    days = (start_local.date() - now.astimezone(start_local.tzinfo).date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return "on " + day_in_words(start_local, "l j F", today=now.astimezone(start_local.tzinfo).date())


def day_in_words(moment: datetime | date, day_format: str, *, today: date | None = None) -> str:
    """`moment`'s day written with `day_format` ("j F"), and its year unless it is this year's (the clinic's): staff
    book up to two years ahead, and "1 December" read on 30 November means tomorrow."""
    today = today or timezone.localdate()
    written = format_date(moment, day_format)
    return written if moment.year == today.year else f"{written} {moment.year}"


MOST_SECONDS_BETWEEN_TRIES = 3600


def retry_at(*, attempts: int, now: datetime) -> datetime | None:
    """Return when to try again after `attempts` failed attempts, or None once the limit is reached.

    Exponential backoff (base, 2x, 4x ...), at most an hour between tries, plus up to half as much random jitter, so
    a crowd of rows that failed together (an SMTP outage) does not retry in lockstep. The defaults keep trying for
    about four hours: a mail server down for an afternoon loses nothing.
    """
    if attempts >= settings.EMAIL_MAX_ATTEMPTS:
        return None
    backoff = min(settings.EMAIL_RETRY_BASE_SECONDS * 2 ** (attempts - 1), MOST_SECONDS_BETWEEN_TRIES)
    return now + timedelta(seconds=backoff + random.uniform(0, backoff / 2))


def attempt_send(row, *, send: Callable[[], None], now: datetime, due_field: str) -> str:
    """Make one attempt at a claimed outbox row (locked by the caller) and record the outcome on it.

    The row needs `attempts`, `last_error`, `state`, `sent_at` and the due time in `due_field`; its model's State
    has SENT and FAILED. Any exception from `send` (SMTP, socket, template) counts as a failed attempt.
    """
    row.attempts += 1
    try:
        # A savepoint: a database error while rendering must not spoil the transaction holding the claim.
        with transaction.atomic():
            send()
    except Exception as error:  # noqa: BLE001 - every failure is recorded, backed off and retried
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        next_try = retry_at(attempts=row.attempts, now=now)
        if next_try is None:
            row.state = type(row).State.FAILED
        else:
            setattr(row, due_field, next_try)
        row.save(update_fields=["attempts", "last_error", "state", due_field])
        # The error text can name the recipient (SMTPRecipientsRefused): it stays on the row, the log gets its kind.
        logger.warning("%s %s failed (attempt %s): %s", type(row).__name__, row.pk, row.attempts, type(error).__name__)
        return RETRYING if next_try else FAILED
    row.state = type(row).State.SENT
    row.sent_at = now
    row.save(update_fields=["attempts", "state", "sent_at"])
    return SENT


def dispatch_pass(
    *, claim_next: Callable[[], object], attempt: Callable[[object], str], limit: int | None = None
) -> Counter:
    """Claim and attempt due rows one at a time until none is left, `limit` were tried or the time budget is spent.

    `claim_next()` must select the next due row with `select_for_update(skip_locked=True)`; each claim and its send
    is one short transaction, so a second dispatcher running at the same time skips the row this one holds and, once
    it commits, no longer sees it as due. An attempt always moves its row out of the due set (sent, skipped, failed,
    or due again later), so the loop cannot meet the same row twice.
    """
    counts = Counter({SENT: 0, RETRYING: 0, FAILED: 0, SKIPPED: 0})
    tried = 0
    # Stop well inside the task's time limit; the next beat carries on where this pass stopped.
    give_up_at = time.monotonic() + settings.EMAIL_DISPATCH_SECONDS
    while (limit is None or tried < limit) and time.monotonic() < give_up_at:
        with transaction.atomic():
            _commit_without_waiting_for_disk()
            row = claim_next()
            if row is None:
                break
            tried += 1
            counts[attempt(row)] += 1
    return counts


def start_sibling_passes(task, siblings: int | None) -> None:
    """From the pass beat started, start EMAIL_DISPATCH_PARALLEL - 1 more so every worker process sends.

    Passes running side by side are safe: each claims rows with SKIP LOCKED. Siblings start none themselves.
    """
    if siblings is not None:
        return
    for _ in range(settings.EMAIL_DISPATCH_PARALLEL - 1):
        task.apply_async(kwargs={"siblings": 0}, expires=settings.EMAIL_DISPATCH_SECONDS)


# After a publish failed, how long bookings leave their emails to beat's dispatch (every two minutes) instead of
# each waiting on the broker's timeout.
BROKER_DOWN_PAUSE_SECONDS = 15.0


class DispatchKick:
    """Ask a worker for a dispatch pass after new emails are due: at once for the first email in a window, once
    more when the window is over for any that came after it, and no more than that.

    A message per email cost every booking a publish (a tenth of its CPU); under a burst of bookings, one pass
    sends what a whole window of them queued. Emails are never lost to it: each row is in the database before the
    kick, the pass sends every due row, and beat's dispatch finds anything a lost message left. When bookings are
    far apart, each kick is the first of its window, so the email goes at once, as before.
    """

    def __init__(self, publish: Callable[[float], None], *, window: Callable[[], float], clock=time.monotonic):
        self.publish = publish  # publish(countdown_seconds)
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._quiet_until = float("-inf")
        self._trailing = False

    def __call__(self) -> None:
        window = self.window()
        with self._lock:
            now = self.clock()
            if now >= self._quiet_until:
                self._quiet_until, self._trailing, countdown = now + window, False, 0.0
            elif not self._trailing:
                # Half a window after this one ends: a worker whose clock runs a little ahead of ours, or a message
                # slow to arrive, still finds every row committed before the window closed.
                self._trailing, countdown = True, self._quiet_until - now + window / 2
            else:
                return  # the pass already asked for will find this email too
        try:
            self.publish(countdown)
        except Exception:
            with self._lock:
                # Not asked after all. A broker that is down or hanging would cost every booking its timeout, so
                # none asks for a while: beat's dispatch sends what they queue, and after that the next one asks.
                self._quiet_until, self._trailing = self.clock() + BROKER_DOWN_PAUSE_SECONDS, True
            raise


def _commit_without_waiting_for_disk() -> None:
    """Let this transaction's commit return before PostgreSQL has flushed it to disk.

    One durable commit per email bounds a process to about a hundred emails a second. The row lock, not the fsync,
    is what keeps two dispatchers from sending the same row; what this gives up is only that a crash of PostgreSQL
    itself may forget the last fraction of a second of "sent" marks, and those few emails would go again.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@contextmanager
def commits_without_waiting_for_disk():
    """Within the block, let this connection's commits return before PostgreSQL has flushed them to disk.

    The session-wide form of `_commit_without_waiting_for_disk`, for a pass that commits once per email: it saves
    a round trip per transaction. The setting is put back on the way out.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        # A connection that broke on the way (or an aborted test transaction) refuses this; Django discards the
        # former, setting and all, and the latter rolls the setting back with it.
        with suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


# The emails of a visit the patient is to come to: each carries the treatment's "before the visit" advice.
PREPARED_FOR = {
    AppointmentEmail.Kind.CONFIRMED,
    AppointmentEmail.Kind.APPROVED,
    AppointmentEmail.Kind.RESCHEDULED,
    AppointmentEmail.Kind.REMINDER,
}


def send_appointment_email(email: AppointmentEmail, *, now: datetime) -> None:
    appointment = email.appointment
    tz = clinic_tz()
    start_local = appointment.start.astimezone(tz)
    context = {
        "appointment": appointment,
        "kind": email.kind,
        "start_local": start_local,
        "when": when_words(start_local, now=now),
        "end_local": appointment.end.astimezone(tz),
        "manage_url": manage_url(appointment),
        "book_url": settings.SITE_URL + reverse("booking:treatments"),
        # Until when the patient can still change it online (none for a booking already too close, e.g. same day).
        "change_until": appointment.changeable_online_until.astimezone(tz)
        if appointment.changeable_online_until > now
        else None,
    }
    if email.kind in PREPARED_FOR and appointment.status == Appointment.Status.CONFIRMED:
        context["before_your_visit"] = appointment.treatment.before_your_visit
    if email.kind == AppointmentEmail.Kind.RESCHEDULED:
        # Compared with what the patient was last told (`still_relevant` has made sure something differs); nothing
        # told yet (every earlier email failed, or an address corrected since) leaves both unset: the plain wording.
        told = appointment.told_start
        context["same_time"] = told == appointment.start  # only who they will see has changed
        context["moved_from"] = told.astimezone(tz) if told is not None and told != appointment.start else None
        # Held for review: for the patient's answers, or (a phone booking, which has none) for a clinician to confirm;
        # or put back on hold after it was confirmed (by the move itself: under 18 on the new day), news, not "still".
        context["with_answers"] = appointment.status == Appointment.Status.PENDING_REVIEW and hasattr(
            appointment, "screening"
        )
        context["held_again"] = appointment.status_reason.startswith(HELD_AGAIN)
    if email.kind == AppointmentEmail.Kind.RECEIVED:
        context["review_is_close"] = appointment.review_is_close(now)
        # Booked by phone, it has no answers: the clinician asks them by phone before deciding (the review page).
        context["by_phone"] = appointment.treatment.requires_screening and not hasattr(appointment, "screening")
    context["sent_again"] = email.sent_again
    if email.kind == AppointmentEmail.Kind.HELD:
        # Why, in the patient's words: only answers given again may not be theirs (anyone can type an email).
        context["answered_again"] = appointment.status_reason.startswith(HELD_FOR_ANSWERS_AGAIN)
        context["new_rules"] = appointment.status_reason.startswith(HELD_FOR_NEW_RULES)
        context["earlier_day"] = appointment.status_reason.startswith(HELD_FOR_EARLIER_TIME)
        # Held for a peel or a date of birth, it can still be moved online; answers that block it, only cancelled.
        from screening.services import screened_booking_allows  # screening builds on booking: imported when used

        context["can_move"] = not screened_booking_allows(appointment).blocked
    if email.kind in (AppointmentEmail.Kind.RESCHEDULED, AppointmentEmail.Kind.HELD):
        # Held for a peel or laser booked shortly before it: both emails say so in the patient's words.
        context["resurfacing"] = appointment.status_reason.startswith(HELD_FOR_RESURFACING)
    if email.kind == AppointmentEmail.Kind.DECLINED:
        # Only treatments safe for why the patient was stopped; with none, the email asks them to call.
        context["alternatives"] = safe_alternatives_after_decline(appointment)
        # As the result page says it: a peel or laser while waiting only after a dermatologist's advice.
        context["alternatives_resurfacing"] = any(each.resurfacing for each in context["alternatives"])
    if email.kind in (AppointmentEmail.Kind.DECLINED, AppointmentEmail.Kind.HELD):
        # Confirmed once, then held again: it was a booking, not a request, and the patient was told so. (A
        # confirmation overtaken by the hold before it went was never sent: the hold is then the first word.)
        context["was_confirmed"] = appointment.emails.filter(
            kind__in=[AppointmentEmail.Kind.CONFIRMED, AppointmentEmail.Kind.APPROVED],
            state=AppointmentEmail.State.SENT,
        ).exists()
    attachments = []
    if email.kind in WITH_CALENDAR and _calendar_file_wanted(email):
        attachments.append(("appointment.ics", appointment_ics(appointment), "text/calendar"))
    to = appointment.patient_email
    if email.kind == AppointmentEmail.Kind.REVIEW_DUE:
        to = settings.CLINIC_REVIEW_EMAIL
        context["review_url"] = settings.SITE_URL + reverse(
            "admin:screening_flaggedbooking_review", args=[appointment.pk]
        )
    send_templated_email(name=f"appointment_{email.kind}", context=context, to=to, attachments=attachments)
