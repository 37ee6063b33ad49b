"""Eligibility reminders: send them when they fall due, each once, and let the patient unsubscribe.

A reminder is a row (`EligibilityReminder`) made when the patient opts in; months may pass before it is due, so
the broker never holds it. A periodic task calls `eligibility_reminders_dispatch`, which works through the due rows
in batches of BATCH_SIZE, in (send_at, id) order:

- one query reads the batch with its treatments, one finds who in it has booked the treatment meanwhile, one who has
  answered its health questions again since (a reminder goes only while its screening is still the patient's
  latest), and one update marks those (and reminders for a treatment no longer offered, or an advance one past the
  wait) skipped; answers given after the batch is read have skipped their reminders already (`screening_submit`),
  and a claim takes only pending rows;
- each (kind, treatment, day) is rendered once, and its MIME bytes written once; each patient's email is that with
  their own address and two links (exactly the bytes Django would write: clinic.mail.EmailTemplate);
- the batch is sent over one email connection, each email in its own short transaction: an UPDATE claims the first
  row of the batch no other dispatcher holds (`FOR UPDATE SKIP LOCKED`) and marks it sent, the email goes, and the
  commit (without waiting for the disk) makes the mark final. On PostgreSQL the UPDATE is a prepared statement sent
  with its BEGIN (_Claims). A failed email records its error and backoff on its
  own row; a broken connection is reopened for the next, so one refused address costs only its own email.

Exactly once: two dispatchers sharing a batch skip each other's rows and never see a committed one as due again. A
crash (worker killed, database connection lost) between an email leaving and its commit rolls back that one mark,
so at most the one email in flight goes twice; batching the reads costs nothing there, because the marks are not
batched. (Committing a whole batch at once would be cheaper still, but a crash would then re-send up to a batch.)
A crash of PostgreSQL itself may also forget the last fraction of a second of marks (`synchronous_commit` is off
for the pass), and those few emails would go again.
The email says the wait is over and links to a fresh screening: it names no drug and no answer. The link carries
no personal data either, only a signed reminder id that the screening page turns back into the email it fills in
(`email_from_link`): a URL ends up in access logs, and one with ?email= put a patient next to the treatment.
"""

import logging
import re
import secrets
import time
import uuid
from collections import Counter
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.html import escape

from booking import emails as outbox
from booking.models import Appointment
from booking.selectors import clinic_tz, today_local
from clinic.mail import EmailTemplate, TemplatedEmail, render_email, templated_email

from .models import EligibilityReminder, Screening
from .services import ADVANCE_REMINDER_DAYS

logger = logging.getLogger(__name__)

State = EligibilityReminder.State
# Due rows read (not locked) at a time: one query for them and their treatments, one for "already booked", one for
# "answered again".
BATCH_SIZE = 200
# The booking link's parameter: a signed reminder id. A neutral name, as the access log need not say where a visit
# came from.
LINK_PARAM = "r"
# A link fills the email in for this long after the reminder went, then opens the empty form, like any other.
LINK_FILLS_EMAIL_DAYS = 30


def eligible_on(reminder: EligibilityReminder):
    """Return the day the patient's wait ends, which an advance reminder is due two weeks before."""
    if reminder.kind == EligibilityReminder.Kind.ADVANCE:
        return reminder.due_on + timedelta(days=ADVANCE_REMINDER_DAYS)
    return reminder.due_on


def unsubscribe_url(reminder: EligibilityReminder) -> str:
    return settings.SITE_URL + reverse("screening:unsubscribe", args=[reminder.unsubscribe_token])


def _link_signer() -> signing.Signer:
    return signing.Signer(salt="screening.reminders.link")


def screening_url(reminder: EligibilityReminder) -> str:
    """A fresh screening for the treatment, whose link fills in the patient's email without carrying it."""
    url = settings.SITE_URL + reverse("screening:start", args=[reminder.treatment.slug])
    return f"{url}?{LINK_PARAM}={_link_signer().sign(str(reminder.pk))}"


def email_from_link(value: str | None, *, treatment, now: datetime) -> str:
    """Return the email a reminder's link (`screening_url`) fills in on this treatment's screening page, or "" for a
    link that is forged, for another treatment, of a reminder erased or not sent, or older than
    LINK_FILLS_EMAIL_DAYS."""
    if not value:
        return ""
    try:
        pk = int(_link_signer().unsign(value))
    except (signing.BadSignature, ValueError):
        return ""
    sent = EligibilityReminder.objects.filter(
        pk=pk, treatment=treatment, sent_at__gte=now - timedelta(days=LINK_FILLS_EMAIL_DAYS)
    )
    return sent.values_list("email", flat=True).first() or ""


def _why_not_send(
    reminder: EligibilityReminder, now: datetime, booked: set[tuple[str, int]], answered_again: set[int]
) -> str | None:
    """Return why a due reminder should no longer go out, or None when it should."""
    if not reminder.treatment.active:
        return "the treatment is no longer offered online"
    if reminder.kind == EligibilityReminder.Kind.ADVANCE and today_local(now) >= eligible_on(reminder):
        return "the wait has already ended"
    if (reminder.email.upper(), reminder.treatment_id) in booked:
        return "the patient has booked it already"
    if reminder.pk in answered_again:
        return "the patient has answered the health questions again since"
    return None


def _answered_again(batch: list[EligibilityReminder]) -> set[int]:
    """Return the ids of the reminders in the batch whose patient has answered the treatment's questions again since
    (by email, in any case), in one query: the latest answers win, so a reminder goes only while its screening is
    still the patient's latest, or the latest answers allow the same day (answers given again with the same dates
    keep the reminder, even while this batch, read before they came, still names the earlier screening). A reminder
    without a screening counts from when it was asked for."""
    latest: dict[tuple[str, int], tuple[datetime, int, date | None]] = {}
    screenings = (
        Screening.objects.annotate(upper_email=Upper("email"))
        .filter(
            upper_email__in={reminder.email.upper() for reminder in batch},
            treatment_id__in={reminder.treatment_id for reminder in batch},
        )
        .values_list("upper_email", "treatment_id", "created_at", "pk", "eligible_from")
    )
    for email, treatment_id, created_at, pk, eligible_from in screenings:
        key = (email, treatment_id)
        if key not in latest or (created_at, pk) > latest[key][:2]:
            latest[key] = (created_at, pk, eligible_from)
    stale = set()
    for reminder in batch:
        found = latest.get((reminder.email.upper(), reminder.treatment_id))
        if found is None:
            continue
        last_at, last_pk, last_day = found
        if reminder.screening_id is not None:
            answered_since = last_pk != reminder.screening_id and last_day != _eligible_day_of(reminder)
        else:
            answered_since = last_at > reminder.created_at
        if answered_since:
            stale.add(reminder.pk)
    return stale


def _eligible_day_of(reminder: EligibilityReminder) -> date:
    """The day the reminder's wait ends (an advance reminder goes ADVANCE_REMINDER_DAYS before it)."""
    if reminder.kind == EligibilityReminder.Kind.ADVANCE:
        return reminder.due_on + timedelta(days=ADVANCE_REMINDER_DAYS)
    return reminder.due_on


def _booked(batch: list[EligibilityReminder], now: datetime) -> set[tuple[str, int]]:
    """Return (EMAIL, treatment id) for the patients in the batch who have booked its treatment ahead, in one query."""
    return set(
        Appointment.objects.annotate(email=Upper("patient_email"))
        .filter(
            email__in={reminder.email.upper() for reminder in batch},
            treatment_id__in={reminder.treatment_id for reminder in batch},
            status__in=[Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW],
            start__gte=now,
        )
        .values_list("email", "treatment_id")
    )


def _eligibility_email(reminder: EligibilityReminder, *, connection=None) -> TemplatedEmail:
    """Render one eligibility email in full."""
    unsubscribe = unsubscribe_url(reminder)
    return templated_email(
        name=f"eligibility_{reminder.kind}",
        context={
            "treatment": reminder.treatment,
            "eligible_on": eligible_on(reminder),
            "book_url": screening_url(reminder),
            "unsubscribe_url": unsubscribe,
        },
        to=reminder.email,
        headers=_unsubscribe_headers(unsubscribe),
        connection=connection,
    )


def _unsubscribe_headers(url: str) -> dict[str, str]:
    # RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to the URL.
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


class _Mailing:
    """The eligibility emails of one pass, rendered once per (kind, treatment, day) and filled in per patient.

    Those emails differ only in the recipient and the two links: the booking link carries the reminder's signed id,
    the unsubscribe link its token. Each group is rendered once with stand-ins for them, as an EmailTemplate
    (clinic/mail.py), which also writes the group's MIME bytes once; each patient's email is that with their own
    address and links (HTML-escaped in the HTML part). The first email of every group is also rendered in full and
    must come out the same; if a template ever transforms a link (a filter), that group is simply rendered in full
    for everyone.
    """

    def __init__(self, connection):
        self.connection = connection
        self.groups: dict[tuple, EmailTemplate | None] = {}
        self.book_urls: dict[int, str] = {}
        self.signer = _link_signer()
        # reverse() once: every unsubscribe URL is this one with the patient's token in place of the stand-in.
        self.stand_in = str(uuid.UUID(int=0))
        self.unsubscribe = settings.SITE_URL + reverse("screening:unsubscribe", args=[self.stand_in])
        # Printable, so the MIME bytes can be written with them, and random, so no template holds one by chance.
        self.to, self.book, self.book_html, self.unsub, self.unsub_html = (
            f"x{secrets.token_hex(8)}x" for _ in range(5)
        )

    def message(self, reminder: EligibilityReminder) -> TemplatedEmail:
        key = (reminder.kind, reminder.treatment_id, reminder.treatment.slug, reminder.treatment.name, reminder.due_on)
        if key not in self.groups:
            return self._first_of_group(key, reminder)
        template = self.groups[key]
        if template is None:
            return _eligibility_email(reminder, connection=self.connection)
        return template.email(self._values(reminder), connection=self.connection)

    def _first_of_group(self, key, reminder: EligibilityReminder) -> TemplatedEmail:
        full = _eligibility_email(reminder, connection=self.connection)
        subject, text, html = render_email(
            f"eligibility_{reminder.kind}",
            {
                "treatment": reminder.treatment,
                "eligible_on": eligible_on(reminder),
                "book_url": self.book,
                "unsubscribe_url": self.unsub,
            },
        )
        prototype = TemplatedEmail(subject=subject, body=text, to=[self.to], headers=_unsubscribe_headers(self.unsub))
        prototype.attach_alternative(
            html.replace(self.book, self.book_html).replace(self.unsub, self.unsub_html), "text/html"
        )
        template = EmailTemplate(prototype, [self.to, self.book, self.book_html, self.unsub, self.unsub_html])
        filled = template.email(self._values(reminder), connection=self.connection)
        fields = ("subject", "body", "alternatives", "extra_headers", "to", "from_email")
        same = all(getattr(filled, field) == getattr(full, field) for field in fields)
        self.groups[key] = template if same else None
        return filled if same else full

    def _values(self, reminder: EligibilityReminder) -> dict[str, str]:
        if reminder.treatment_id not in self.book_urls:
            self.book_urls[reminder.treatment_id] = settings.SITE_URL + reverse(
                "screening:start", args=[reminder.treatment.slug]
            )
        # As screening_url() writes it, without reverse() for each email.
        book = f"{self.book_urls[reminder.treatment_id]}?{LINK_PARAM}={self.signer.sign(str(reminder.pk))}"
        unsubscribe = self.unsubscribe.replace(self.stand_in, str(reminder.unsubscribe_token))
        return {
            self.to: reminder.email,
            self.book: book,
            self.book_html: escape(book),
            self.unsub: unsubscribe,
            self.unsub_html: escape(unsubscribe),
        }


def _due_batch(now: datetime, after: tuple[datetime, int] | None, size: int) -> list[EligibilityReminder]:
    """Read (without locking) the next `size` due reminders in claim order, past `after` = (send_at, id)."""
    due = EligibilityReminder.objects.select_related("treatment").filter(state=State.PENDING, send_at__lte=now)
    if after is not None:
        # A row comparison walks the (send_at, id) index from where the last batch ended, even when thousands
        # share one send_at; rows this pass could not claim (another dispatcher holds them) are not read again.
        table = connection.ops.quote_name(EligibilityReminder._meta.db_table)
        # Raw SQL takes values as the database stores them (on SQLite, a naive UTC text the driver would not write).
        send_at, pk = connection.ops.adapt_datetimefield_value(after[0]), after[1]
        after_last = RawSQL(f"({table}.send_at, {table}.id) > (%s, %s)", (send_at, pk), output_field=BooleanField())  # noqa: S611
        due = due.filter(after_last)
    return list(due.order_by("send_at", "pk")[:size])


class _Claims:
    """Claim each reminder of a pass and commit it, one short transaction each, on the pass's database connection.

    The claim is one statement: an UPDATE that marks the first row of the batch no other dispatcher holds sent and
    keeps it locked until the commit (`FOR UPDATE SKIP LOCKED`). On PostgreSQL, in a pass that is not inside a
    transaction of its caller (a worker's, a command's), it is prepared once per database session and sent together
    with its BEGIN, and the commit is a bare COMMIT, both on the driver's cursor: Django's transaction and cursor
    wrappers and psycopg2's separate BEGIN cost as much CPU as the rest of the claim. Elsewhere (SQLite, a caller's
    transaction as in most tests) each claim is a `transaction.atomic()` block with the same statement.
    """

    NAME = "eligibility_reminder_claim"

    def __init__(self, now: datetime):
        table = connection.ops.quote_name(EligibilityReminder._meta.db_table)
        lock = connection.ops.for_update_sql(skip_locked=True) if connection.features.has_select_for_update else ""
        # Parameters: sent, now (sent_at), now (due), then the batch's first and last (send_at, id). The table name
        # comes from the model; every value is a parameter.
        self.sql = (
            f"UPDATE {table} SET state = %s, sent_at = %s, attempts = attempts + 1 WHERE id = ("  # noqa: S608
            f"SELECT id FROM {table} WHERE state = 'pending' AND send_at <= %s"
            " AND (send_at, id) >= (%s, %s) AND (send_at, id) <= (%s, %s)"
            f" ORDER BY send_at, id LIMIT 1 {lock}) RETURNING id, attempts"
        )
        self.now = now
        self.prepared = connection.vendor == "postgresql" and not connection.in_atomic_block
        if self.prepared:
            connection.ensure_connection()
            with connection.wrap_database_errors:
                self.cursor = connection.connection.cursor()
                self.cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [self.NAME])
                if self.cursor.fetchone() is None:
                    numbered = iter(range(1, 8))
                    sql = re.sub("%s", lambda _: f"${next(numbered)}", self.sql)
                    self.cursor.execute(f"PREPARE {self.NAME} AS {sql}")
                # The pass's own values written into the statement once; the bounds are sent with each claim.
                fixed = self.cursor.mogrify(f"EXECUTE {self.NAME}(%s, %s, %s, ", [State.SENT, now, now]).decode()
            self.claim_sql = "BEGIN; " + fixed.replace("%", "%%") + "%s, %s, %s, %s)"

    def claim(self, bounds: list) -> tuple[int, int] | None:
        """Claim the first due row of the batch within `bounds` that no other dispatcher holds, in a new transaction.
        Return (id, attempts), or None once every row of the batch is sent or held by another dispatcher."""
        if self.prepared:
            with connection.wrap_database_errors:
                self.cursor.execute(self.claim_sql, bounds)
                return self.cursor.fetchone()
        stored = connection.ops.adapt_datetimefield_value  # see _due_batch
        first_at, first, last_at, last = bounds
        now = stored(self.now)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [State.SENT, now, now, stored(first_at), first, stored(last_at), last])
            return cursor.fetchone()

    @contextmanager
    def transaction(self):
        """The transaction a claim opens: committed on leaving, rolled back on an error."""
        if not self.prepared:
            with transaction.atomic():
                yield
            return
        try:
            yield
        except BaseException:
            with suppress(Exception), connection.wrap_database_errors:  # a broken connection has nothing to undo
                self.cursor.execute("ROLLBACK")
            raise
        with connection.wrap_database_errors:
            self.cursor.execute("COMMIT")


def _send_next(batch: dict[int, EligibilityReminder], bounds: list, *, now, claims: _Claims, mailing) -> str | None:
    """Claim, send and record the next reminder of the batch in one short transaction. Return the outcome, or None
    when the batch has nothing left to claim.

    The claim marks the row sent and holds its lock while the email goes; the commit right after the send makes it
    final. A crash in between rolls the mark back, so at most the one email in flight can go twice.
    """
    with claims.transaction():
        claimed = claims.claim(bounds)
        if claimed is None:
            return None
        reminder, attempts = batch[claimed[0]], claimed[1]
        # The next claim starts here: rows before it are sent, or held by another dispatcher, and their entries in
        # the pending index stay until vacuum, so starting from the batch's first row would step over every one.
        bounds[0], bounds[1] = reminder.send_at, reminder.pk
        try:
            mailing.message(reminder).send(fail_silently=False)
        except Exception as error:  # noqa: BLE001 - every failure is recorded, backed off and retried
            # A broken SMTP connection must not fail the rest of the batch: the next message opens a fresh one. Closing
            # can fail the same way (the file backend flushes on close, to a disk that is full): nothing to undo.
            with suppress(Exception):
                mailing.connection.close()
            next_try = outbox.retry_at(attempts=attempts, now=now)
            EligibilityReminder.objects.filter(pk=reminder.pk).update(
                state=State.FAILED if next_try is None else State.PENDING,
                sent_at=None,
                send_at=next_try or reminder.send_at,
                last_error=f"{type(error).__name__}: {error}"[:2000],
            )
            # The error text can name the recipient (SMTPRecipientsRefused): it stays on the row, the log its kind.
            logger.warning(
                "EligibilityReminder %s failed (attempt %s): %s", reminder.pk, attempts, type(error).__name__
            )
            return outbox.RETRYING if next_try else outbox.FAILED
    return outbox.SENT


def _skip(reminders: list[tuple[EligibilityReminder, str]]) -> int:
    """Mark reminders that should no longer go out skipped, in one update; those no longer pending stay as they are."""
    if not reminders:
        return 0
    skipped = EligibilityReminder.objects.filter(
        pk__in=[reminder.pk for reminder, _ in reminders], state=State.PENDING
    ).update(state=State.SKIPPED)
    for reminder, reason in reminders:
        logger.info("Eligibility reminder %s skipped: %s", reminder.pk, reason)
    return skipped


def eligibility_reminders_dispatch(*, now: datetime, limit: int | None = None) -> Counter:
    """Send every due eligibility reminder once, retrying failures with backoff. Return the counts.

    Stops when none is due, after `limit` reminders were tried, or when the time budget (EMAIL_DISPATCH_SECONDS)
    is spent; the next beat carries on.
    """
    counts = Counter({outbox.SENT: 0, outbox.RETRYING: 0, outbox.FAILED: 0, outbox.SKIPPED: 0})
    give_up_at = time.monotonic() + settings.EMAIL_DISPATCH_SECONDS
    mailing = _Mailing(get_connection())
    after = None
    with outbox.commits_without_waiting_for_disk():
        claims = _Claims(now)
        try:
            while (limit is None or counts.total() < limit) and time.monotonic() < give_up_at:
                size = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - counts.total())
                batch = _due_batch(now, after, size)
                if not batch:
                    break
                first, last = batch[0], batch[-1]
                after = (last.send_at, last.pk)
                booked, answered_again = _booked(batch, now), _answered_again(batch)
                stale = [(r, reason) for r in batch if (reason := _why_not_send(r, now, booked, answered_again))]
                counts[outbox.SKIPPED] += _skip(stale)
                by_id = {reminder.pk: reminder for reminder in batch}
                bounds = [first.send_at, first.pk, last.send_at, last.pk]
                while time.monotonic() < give_up_at:
                    outcome = _send_next(by_id, bounds, now=now, claims=claims, mailing=mailing)
                    if outcome is None:
                        break
                    counts[outcome] += 1
        finally:
            try:
                mailing.connection.close()
            except Exception:  # noqa: BLE001 - every outcome is committed already; say so, and keep the counts
                logger.warning("Closing the mail connection after a reminder pass failed", exc_info=True)
    return counts


def eligibility_reminders_retry(*, reminders, now: datetime) -> int:
    """Try failed eligibility reminders again from now, with a fresh count of attempts; the next pass sends those
    still worth sending. Return how many."""
    return reminders.filter(state=State.FAILED).update(state=State.PENDING, send_at=now, attempts=0)


def eligibility_reminder_by_token(token) -> EligibilityReminder | None:
    return EligibilityReminder.objects.select_related("treatment").filter(unsubscribe_token=token).first()


def eligibility_reminder_unsubscribe(*, reminder: EligibilityReminder, now: datetime) -> int:
    """Stop this reminder and every other one not sent for the same email and treatment (pending, or failed, which
    staff may try again). Return how many.

    The row whose link was used is marked unsubscribed even when it was already sent (its `sent_at` stays), so
    the opt-out is on record; a later beat never sends a row that is not pending. Each row stopped records
    `unsubscribed_at`; a second click keeps the time of the first.
    """
    with transaction.atomic():
        stopped = EligibilityReminder.objects.filter(
            email=reminder.email, treatment_id=reminder.treatment_id, state__in=[State.PENDING, State.FAILED]
        ).update(state=State.UNSUBSCRIBED, unsubscribed_at=now)
        marked = (
            EligibilityReminder.objects.filter(pk=reminder.pk)
            .exclude(state=State.UNSUBSCRIBED)
            .update(state=State.UNSUBSCRIBED, unsubscribed_at=now)
        )
    logger.info(
        "Eligibility reminder %s unsubscribed at %s (%s pending stopped)",
        reminder.pk,
        now.astimezone(clinic_tz()).isoformat(timespec="seconds"),
        stopped,
    )
    return stopped + marked
