"""Screening rows: the clinic's policy (data staff edit), every decision made, eligibility reminders, and the record
of each export or erasure of a patient's data.

Health data lives in `Screening.answers` only (one JSON field), so access control and audit can be put around a
single field. Nothing here logs answers.
"""

import hashlib
import hmac
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from booking.models import Appointment, Treatment
from clinic.encryption import EncryptedJSONField

# Far beyond any clinical wait, and far inside what a date can be counted to (a window of 30,000 months broke every
# screening with a date in it): a mistyped number is refused where staff type it.
MOST_WAIT_MONTHS = 60
MOST_WINDOW_MONTHS = 120
# A patient's session, which carries their screening, lasts a day (SESSION_COOKIE_AGE): no longer to book after it.
MOST_VALID_MINUTES = 24 * 60
MOST_WAIT_DAYS = 730


class ScreeningPolicy(models.Model):
    """How a screened treatment treats isotretinoin, and how long a screening stays usable."""

    treatment = models.OneToOneField(Treatment, on_delete=models.CASCADE, related_name="screening_policy")
    isotretinoin_wait_months = models.PositiveSmallIntegerField(
        default=6,
        # None would let a patient who stopped yesterday book today: a slip of the keyboard, never a policy (a clinic
        # that means it turns screening off for the treatment).
        validators=[
            MinValueValidator(1, "The waiting period must be at least 1 month."),
            MaxValueValidator(MOST_WAIT_MONTHS),
        ],
        help_text="Calendar months after the last isotretinoin dose before the treatment can be booked.",
    )
    recent_dose_window_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MaxValueValidator(MOST_WINDOW_MONTHS)],
        help_text="The screening asks about isotretinoin taken within this many months. "
        "It must be at least the waiting period.",
    )
    screening_valid_minutes = models.PositiveSmallIntegerField(
        default=120,
        validators=[MaxValueValidator(MOST_VALID_MINUTES)],
        help_text=f"How long a patient has, after answering, to finish booking (at most {MOST_VALID_MINUTES}).",
    )
    isotretinoin_safe_alternatives = models.BooleanField(
        "offer the safe alternatives while waiting out isotretinoin",
        default=True,
        help_text="Show a patient on isotretinoin, or within the wait after it, the treatments marked as safe "
        "alternatives. They are not offered if any other answer rules them out.",
    )
    # Raised by save() whenever the rules change; each screening records the version it was decided under.
    rules_version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # A patient's first answers make the row with the defaults (screening_policy_ensure): until a clinician saves it,
    # those are rules nobody at the clinic chose, and the admin's home page says so.
    chosen_at = models.DateTimeField(
        "chosen by a clinician", null=True, blank=True, editable=False, help_text="When staff last saved it."
    )

    RULE_FIELDS = ("isotretinoin_wait_months", "recent_dose_window_months")

    class Meta:
        verbose_name = "screening policy"
        verbose_name_plural = "screening policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(recent_dose_window_months__gte=F("isotretinoin_wait_months")),
                name="screening_policy_window_covers_wait",
                violation_error_message="The months asked about must be at least the waiting period.",
            ),
            models.CheckConstraint(
                condition=Q(screening_valid_minutes__gt=0),
                name="screening_policy_valid_minutes_positive",
                violation_error_message="A screening must stay usable for at least a minute.",
            ),
            models.CheckConstraint(
                condition=Q(screening_valid_minutes__lte=MOST_VALID_MINUTES),
                name="screening_policy_valid_minutes_in_range",
                violation_error_message=f"A screening can stay usable for at most {MOST_VALID_MINUTES} minutes "
                "(a day).",
            ),
            models.CheckConstraint(
                condition=Q(isotretinoin_wait_months__lte=MOST_WAIT_MONTHS)
                & Q(recent_dose_window_months__lte=MOST_WINDOW_MONTHS),
                name="screening_policy_months_in_range",
                violation_error_message=f"The waiting period can be at most {MOST_WAIT_MONTHS} months, and the "
                f"months asked about at most {MOST_WINDOW_MONTHS}.",
            ),
        ]

    def __str__(self):
        return f"Screening policy for {self.treatment}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            before = ScreeningPolicy.objects.filter(pk=self.pk).values(*self.RULE_FIELDS).first()
            if before and any(before[name] != getattr(self, name) for name in self.RULE_FIELDS):
                self.rules_version += 1
                if kwargs.get("update_fields") is not None:
                    kwargs["update_fields"] = {*kwargs["update_fields"], "rules_version"}
        super().save(*args, **kwargs)

    def clean(self):
        # "Have you taken isotretinoin in the last 0 months?" asks nothing.
        if self.recent_dose_window_months is not None and self.recent_dose_window_months < 1:
            raise ValidationError(
                {"recent_dose_window_months": "The questions must ask about at least the last month."}
            )


class Contraindication(models.Model):
    """One yes/no question asked before every screened treatment, and what a "yes" means."""

    class Action(models.TextChoices):
        BLOCK = "block", "Block: cannot book online"
        FLAG = "flag", "Flag: book, held for clinician review"
        WAIT = "wait", "Wait: bookable after a number of days"

    key = models.SlugField(max_length=50, unique=True, help_text="Stable code stored with each answer.")
    question = models.CharField(max_length=300, help_text="Asked as a yes/no question, in plain words.")
    help_text = models.CharField(max_length=300, blank=True, help_text="Optional hint shown under the question.")
    patient_reason = models.CharField(
        max_length=300, help_text="Shown to the patient when a 'yes' stops or delays the booking."
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    wait_days = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(MOST_WAIT_DAYS)],
        help_text="Days to wait from the day of answering.",
    )
    safe_alternatives = models.BooleanField(
        "offer the safe alternatives",
        default=False,
        help_text="Show a patient stopped by a 'yes' here the treatments marked as safe alternatives. Leave it off "
        "where they could harm (pregnancy, an infection or wound, sunburn, a recent peel or laser): the patient is "
        "asked to call the clinic instead.",
    )
    active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_order", "key"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(action="wait") | Q(wait_days__gt=0),
                name="contraindication_wait_has_days",
                violation_error_message="A 'wait' answer needs a number of days.",
            ),
            models.CheckConstraint(
                condition=Q(wait_days__lte=MOST_WAIT_DAYS),
                name="contraindication_wait_days_in_range",
                violation_error_message=f"A wait can be at most {MOST_WAIT_DAYS} days.",
            ),
        ]

    def __str__(self):
        return self.key

    # What a "yes" decides: a change of any of these is a change of every screened treatment's rules. The wording,
    # the order and the alternatives offer are not (patients mid-booking keep their answers).
    RULE_FIELDS = ("action", "wait_days", "active")
    rules_changed = False  # set by save(): whether that save changed the rules

    def save(self, *args, **kwargs):
        before = None if self._state.adding else type(self).objects.filter(pk=self.pk).values(*self.RULE_FIELDS).first()
        super().save(*args, **kwargs)
        self.rules_changed = before is None or any(before[name] != getattr(self, name) for name in self.RULE_FIELDS)
        if self.rules_changed:
            _bump_rules_versions()

    def clean(self):
        # Only a "wait" answer waits: days on a block or a flag would do nothing, and read as if they did.
        if self.action != self.Action.WAIT and self.wait_days:
            raise ValidationError({"wait_days": "Days apply only to a 'Wait' answer: leave them at 0 for this one."})

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _bump_rules_versions()
        return result


def _bump_rules_versions() -> None:
    ScreeningPolicy.objects.update(rules_version=F("rules_version") + 1)


class ScreeningOutcome(models.TextChoices):
    CLEAR = "clear", "Clear"
    WAIT = "wait", "Wait"
    BLOCKED = "blocked", "Blocked"
    REVIEW = "review", "Clinician review"


class Screening(models.Model):
    """One submitted screening and the decision made on it; it can back one booking only."""

    Outcome = ScreeningOutcome

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    treatment = models.ForeignKey(Treatment, on_delete=models.PROTECT, related_name="screenings")
    email = models.EmailField()
    # Health data: the patient's answers exactly as decided on. Only ever read back from here, never from a form.
    # Encrypted at rest (SCREENING_ENCRYPTION_KEYS); None once erased by retention or on the patient's request.
    answers = EncryptedJSONField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    # Patient-safe codes and plain words: [{"code": ..., "text": ...}]. Drawn from the answers, so encrypted too.
    reasons = EncryptedJSONField(default=list, blank=True)
    # A booking made with this screening is held for a clinician (flags, unsure dates, changed answers).
    needs_review = models.BooleanField(default=False)
    eligible_from = models.DateField(null=True, blank=True, help_text="The clinic-local day from which to book.")
    rules_version = models.PositiveIntegerField()
    # The policy values and question actions the decision used, so a later policy change cannot rewrite history.
    rules = models.JSONField(default=dict, blank=True)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="later_screenings",
        help_text="An earlier screening by the same patient that said to wait, when these answers differ.",
    )
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="screening"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    answers_erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When the answers were erased (retention period over, or on request)."
    )

    class Meta:
        permissions = [("view_health_answers", "Can see screening health answers")]
        ordering = ["-created_at"]
        indexes = [
            # Matched by email regardless of case (`email__iexact`): the earlier wait on every screening, a reviewer's
            # earlier screenings, export and erasure.
            models.Index(Upper("email"), "treatment", "created_at", name="screening_email_ci_treatment"),
            models.Index(fields=["outcome", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="wait") | Q(eligible_from__isnull=False), name="screening_wait_has_date"
            ),
            models.CheckConstraint(
                condition=Q(appointment__isnull=True) | Q(used_at__isnull=False), name="screening_used_when_booked"
            ),
        ]

    def __str__(self):
        return f"Screening {self.public_id.hex[:8]} for {self.treatment}"

    def is_usable(self, now) -> bool:
        """Still unexpired and not yet behind a booking."""
        return self.used_at is None and now < self.expires_at


class EligibilityReminder(models.Model):
    """An email the patient opted into: their wait for a treatment is over (or nearly); see screening.reminders."""

    class Kind(models.TextChoices):
        ELIGIBLE = "eligible", "On the day the wait ends"
        ADVANCE = "advance", "14 days before the wait ends"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        SKIPPED = "skipped", "Skipped"

    email = models.EmailField()
    treatment = models.ForeignKey(Treatment, on_delete=models.PROTECT, related_name="eligibility_reminders")
    screening = models.ForeignKey(
        Screening, null=True, blank=True, on_delete=models.SET_NULL, related_name="eligibility_reminders"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due_on = models.DateField(help_text="The clinic-local day the email is about.")
    send_at = models.DateTimeField(help_text="09:00 clinic time on the due day.")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the patient opted out (the first time): set on this row and on every pending one it stopped.
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # When the patient last ticked "Email me" for it: a tick after an opt-out is fresh consent and makes it pending
    # again, with its earlier `unsubscribed_at` kept on record. Empty on rows from before it was recorded.
    opted_in_at = models.DateTimeField(null=True, blank=True)
    unsubscribe_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["send_at"]
        indexes = [
            # The dispatcher claims in (send_at, id) order; thousands share 09:00, so the id is in the index too.
            models.Index(fields=["send_at", "id"], condition=Q(state="pending"), name="eligibility_reminder_due"),
            # A patient's reminders by email regardless of case: export and erasure (`patient_data`).
            models.Index(Upper("email"), name="eligibility_reminder_email_ci"),
            models.Index(fields=["send_at"], condition=Q(state="failed"), name="eligibility_reminder_failed"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["email", "treatment", "kind", "due_on"], name="one_eligibility_reminder_per_kind_and_day"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} reminder for {self.treatment} on {self.due_on}"


def email_digest(email: str) -> str:
    """A keyed fingerprint of an email: lets staff match a later request without keeping the address itself."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


class PatientDataRequest(models.Model):
    """One export or erasure of a patient's data, carried out by a member of staff: the record that it happened."""

    class Kind(models.TextChoices):
        EXPORT = "export", "Export (JSON)"
        ERASURE = "erasure", "Erasure"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    email_digest = models.CharField(max_length=64, db_index=True, help_text="A keyed fingerprint, not the address.")
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    done_from = models.GenericIPAddressField(null=True, blank=True)
    done_at = models.DateTimeField()
    # How many rows of each kind were exported or erased.
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-done_at"]
        default_permissions = ("view",)
        permissions = [
            ("export_patient_data", "Can export a patient's data"),
            ("erase_patient_data", "Can erase a patient's data"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.done_at:%Y-%m-%d %H:%M}"


class FlaggedBooking(Appointment):
    """The review queue's view of an appointment: bookings the screening held for a clinician."""

    class Meta:
        proxy = True
        verbose_name = "booking awaiting review"
        verbose_name_plural = "bookings awaiting review"
        permissions = [("review_booking", "Can approve or decline bookings awaiting review")]
