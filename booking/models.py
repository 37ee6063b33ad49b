import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models
from django.db.models import Exists, F, Func, OuterRef, Q, Value
from django.db.models.functions import ExtractIsoWeekDay, Replace, TruncDate, TruncTime, Upper
from django.utils.timezone import localtime
from psycopg2.extras import DateTimeTZRange

from .exceptions import InvalidTransition


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


# The time an appointment holds its practitioner, as PostgreSQL's exclusion constraint (and its index) sees it.
BUSY_SPAN = TsTzRange("start", "busy_until", RangeBoundary())


class PostgresOnlyExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint that SQLite, the zero-setup database, simply does without.

    PostgreSQL enforces it; on SQLite the booking service's own overlap check (run inside a serialised write)
    is the guard. Skipping `validate` there keeps admin forms working, as SQLite has no range operators.
    """

    def constraint_sql(self, model, schema_editor):
        return super().constraint_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    @staticmethod
    def _on_postgres(schema_editor) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def validate(self, model, instance, exclude=None, using="default"):
        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)


# The marks a phone number is written with; without them, a number dictated as digits finds the stored one.
PHONE_MARKS = " -().+"


def phone_digits():
    """A booking's phone number as digits alone (the staff search; migration booking/0017 indexes this expression,
    with the marks in this order)."""
    digits = F("patient_phone")
    for mark in PHONE_MARKS:
        digits = Replace(digits, Value(mark), Value(""))
    return digits


DURATION_TOO_SHORT = "A treatment lasts at least one minute."
# Longer than a day's opening, a length or a buffer is a typing slip (a buffer of 10,000 minutes would block the
# practitioner for a week after each booking), and the database's own limit differs between SQLite and PostgreSQL.
LONGEST_TREATMENT_MINUTES, LONGEST_BUFFER_MINUTES = 12 * 60, 4 * 60
DURATION_TOO_LONG = f"A treatment lasts at most {LONGEST_TREATMENT_MINUTES} minutes (12 hours)."
BUFFER_TOO_LONG = f"The time kept free after it is at most {LONGEST_BUFFER_MINUTES} minutes (4 hours)."
NEGATIVE_PRICE = "The price cannot be negative."
END_NOT_AFTER_START = "The end must be after the start."


class Treatment(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[
            MinValueValidator(1, DURATION_TOO_SHORT),
            MaxValueValidator(LONGEST_TREATMENT_MINUTES, DURATION_TOO_LONG),
        ]
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        default=0,
        help_text="Time kept free after the treatment for cleaning and notes.",
        validators=[MaxValueValidator(LONGEST_BUFFER_MINUTES, BUFFER_TOO_LONG)],
    )
    price = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(0, NEGATIVE_PRICE)])
    requires_screening = models.BooleanField(
        default=False, help_text="Patients answer the pre-treatment screening before they see times."
    )
    safe_alternative = models.BooleanField(
        default=False, help_text="Offered to patients who must wait before a screened treatment."
    )
    resurfacing = models.BooleanField(
        default=False,
        help_text="A peel, laser or other resurfacing: the same patient's screened treatment booked within the "
        "resurfacing question's wait after it is held for a clinician.",
    )
    before_your_visit = models.TextField(
        "before the visit",
        blank=True,
        max_length=1000,
        help_text="What a patient should do before coming (no retinoids for three days, no make-up on the day...): "
        "sent with the confirmation and the reminder, and shown once they have booked.",
    )
    active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "name"]
        # The validators above put these messages beside the field in a form; the constraints guard every other write.
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0),
                name="treatment_duration_positive",
                violation_error_message=DURATION_TOO_SHORT,
                violation_error_code="duration_too_short",
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="treatment_price_not_negative",
                violation_error_message=NEGATIVE_PRICE,
                violation_error_code="negative_price",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def name_in_a_sentence(self) -> str:
        """The name as it reads inside a sentence ("You can book microneedling"): each word lower-cased, except one
        with a capital after its first letter, an acronym or a brand ("IPL", "HydraFacial"), which keeps its own. A
        brand with one capital ("Botox") reads lower-case like any word: nothing in the name tells them apart."""
        return " ".join(word if word[1:] != word[1:].lower() else word.lower() for word in self.name.split(" "))

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer_after(self) -> timedelta:
        return timedelta(minutes=self.buffer_after_minutes)


class Practitioner(models.Model):
    name = models.CharField(max_length=100)
    title = models.CharField(max_length=100, blank=True, help_text="e.g. Aesthetic nurse practitioner")
    email = models.EmailField(blank=True)
    treatments = models.ManyToManyField(Treatment, related_name="practitioners", blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class WorkingHours(models.Model):
    """One weekly working window, in the clinic's local time; a split day has two rows."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["practitioner", "weekday", "start_time"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lt=models.F("end_time")),
                name="working_hours_start_before_end",
                violation_error_message="The end time must be after the start time.",
                violation_error_code="end_not_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.practitioner}: {self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


def _held_by_working_hours() -> Q:
    """True of a booking (aliased by `AppointmentQuerySet._with_local_times`) that its practitioner's working hours
    on that weekday hold from start to end, as availability offers times: within one window, or across windows that
    touch (09:00-13:00 and 13:00-17:00 are one stretch of work). Across windows, held means the start is inside a
    window and no window stops between start and end without another going on from that moment. A visit past
    midnight never is. One window is asked first: it holds nearly every visit, and is a third of the cost of the
    whole reading (the admin's home page counts every visit ahead)."""
    that_day = WorkingHours.objects.filter(practitioner=OuterRef("practitioner"), weekday=OuterRef("local_weekday"))
    one_window = that_day.filter(start_time__lte=OuterRef("local_start"), end_time__gte=OuterRef("local_end"))
    open_at_start = that_day.filter(start_time__lte=OuterRef("local_start"), end_time__gt=OuterRef("local_start"))
    going_on = WorkingHours.objects.filter(
        practitioner=OuterRef("practitioner"),
        weekday=OuterRef("weekday"),
        start_time__lte=OuterRef("end_time"),
        end_time__gt=OuterRef("end_time"),
    )
    stops_before_the_end = that_day.filter(
        end_time__gt=OuterRef("local_start"), end_time__lt=OuterRef("local_end")
    ).exclude(Exists(going_on))
    across_windows = Exists(open_at_start) & ~Exists(stops_before_the_end)
    return Q(local_end_day=F("local_day")) & (Exists(one_window) | across_windows)


# How far from today staff record time off, either way: further is a mistyped year, never a real absence (and the
# diary takes no booking further ahead than two years either).
TIME_OFF_REACH = timedelta(days=2 * 366)


class TimeOff(models.Model):
    """A period a practitioner is away (holiday, training, a closed afternoon), or, without a practitioner, the whole
    clinic is closed (a bank holiday, a refit): no one is offered and no one can be booked then."""

    # No index of its own: the (practitioner, start, end) index below leads with it. Empty means everyone: a closure
    # is one row that availability reads with the practitioners' own time off (no query more), and it covers a
    # practitioner who joins later as well.
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.CASCADE,
        related_name="time_off",
        db_index=False,
        null=True,
        blank=True,
        help_text="Empty when the whole clinic is closed.",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        verbose_name_plural = "time off"
        indexes = [models.Index(fields=["practitioner", "start", "end"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")),
                name="time_off_start_before_end",
                violation_error_message=END_NOT_AFTER_START,
                violation_error_code="end_not_after_start",
            )
        ]

    def __str__(self):
        who = f"{self.practitioner} away" if self.practitioner_id else "Clinic closed"
        return f"{who} {localtime(self.start):%Y-%m-%d %H:%M} to {localtime(self.end):%Y-%m-%d %H:%M}"

    @property
    def whole_clinic(self) -> bool:
        return self.practitioner_id is None

    @staticmethod
    def out_of_reach(moment: datetime, *, now: datetime) -> str | None:
        """Say why `moment` is no start or end of time off staff mean to record at `now` (None if it may be)."""
        if moment > now + TIME_OFF_REACH:
            return "That is more than two years ahead. Please check the year."
        if moment < now - TIME_OFF_REACH:
            return "That is more than two years ago. Please check the year."
        return None


class AppointmentQuerySet(models.QuerySet):
    def holding_time(self):
        return self.filter(status__in=HOLDING_TIME)

    def overlapping(self, start, end):
        """Bookings whose [start, busy_until) meets [start, end)."""
        if connections[self.db].vendor == "postgresql":
            # The exclusion constraint's own GiST expression, so its index finds just the rows that meet the range
            # (a day's thirty, not the thousands still ahead of a btree on busy_until).
            return self.alias(busy_span=BUSY_SPAN).filter(busy_span__overlap=DateTimeTZRange(start, end, "[)"))
        return self.filter(start__lt=end, busy_until__gt=start)

    def still_to_come(self, now: datetime):
        """Bookings starting from `now` on that the patient still expects to keep: confirmed, or held for review."""
        return self.filter(status__in=STILL_EXPECTED, start__gte=now)

    def not_given_by(self, practitioner: "Practitioner"):
        """Bookings of `practitioner` they can no longer give: all of them once they are inactive, else those of a
        treatment they no longer offer."""
        mine = self.filter(practitioner=practitioner)
        return mine if not practitioner.active else mine.exclude(treatment__in=practitioner.treatments.all())

    def in_time_off(self, time_off: "TimeOff"):
        """Bookings of the practitioner (every one's, for a closure of the whole clinic) whose time (the buffer
        included, as availability counts it) meets `time_off`: ones the diary would no longer take."""
        mine = self if time_off.whole_clinic else self.filter(practitioner_id=time_off.practitioner_id)
        return mine.overlapping(time_off.start, time_off.end)

    def without_room(self):
        """Bookings the diary no longer has room for at their time: their practitioner away or the whole clinic
        closed over it, no longer working then, made inactive, or no longer giving the treatment."""
        theirs_or_everyones = Q(practitioner=OuterRef("practitioner")) | Q(practitioner__isnull=True)
        away = TimeOff.objects.filter(theirs_or_everyones, start__lt=OuterRef("busy_until"), end__gt=OuterRef("start"))
        gives = Practitioner.treatments.through.objects.filter(
            practitioner_id=OuterRef("practitioner_id"), treatment_id=OuterRef("treatment_id")
        )
        return self._with_local_times().filter(
            Exists(away) | ~_held_by_working_hours() | Q(practitioner__active=False) | ~Exists(gives)
        )

    def outside_hours(self, practitioner_id: int) -> list["Appointment"]:
        """The practitioner's bookings among these that no stretch of their working hours holds from start to end,
        in time order."""
        theirs = self.filter(practitioner_id=practitioner_id)._with_local_times().exclude(_held_by_working_hours())
        return list(theirs.select_related("treatment").order_by("start"))

    def _with_local_times(self):
        """The weekday, day and times of each booking's start and end on the clinic's clock, as working hours are
        kept (the database converts: the right offset either side of a clock change)."""
        return self.alias(
            local_weekday=ExtractIsoWeekDay("start") - 1,  # Weekday counts Monday as 0, ISO as 1
            local_day=TruncDate("start"),
            local_start=TruncTime("start"),
            local_end_day=TruncDate("end"),
            local_end=TruncTime("end"),
        )

    def clashing_with(self, appointment: "Appointment"):
        """Other bookings that hold time the practitioner would need for `appointment` (its buffer included)."""
        return (
            self.holding_time()
            .filter(practitioner_id=appointment.practitioner_id)
            .exclude(pk=appointment.pk)
            .overlapping(appointment.start, appointment.busy_until)
        )


class AppointmentStatus(models.TextChoices):
    PENDING_REVIEW = "pending_review", "Awaiting clinician review"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    DECLINED = "declined", "Declined"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"


# Statuses whose appointment keeps its time in the diary; cancelled and declined ones free it.
HOLDING_TIME = [
    AppointmentStatus.PENDING_REVIEW,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
]

# How a status reads in a sentence, where its label does not ("This booking is marked as a no-show").
_STATUS_IN_WORDS = {
    AppointmentStatus.PENDING_REVIEW: "awaiting a clinician's review",
    AppointmentStatus.NO_SHOW: "marked as a no-show",
    AppointmentStatus.COMPLETED: "marked completed",
}


def status_in_words(status: str) -> str:
    """The status as it reads after "is" or "be": "cancelled", "marked as a no-show"."""
    return _STATUS_IN_WORDS.get(status) or AppointmentStatus(status).label.lower()


# How the reason of a booking put back on hold after it was confirmed begins (`appointment_hold_for_review`):
# reception reads it too, so what follows says why in neutral words.
HELD_AGAIN = "Held for a clinician: "
# The reasons' beginnings for each cause, as the "held" email tells the patient why (`screening.services`); any
# other reason is the date of birth.
HELD_FOR_ANSWERS_AGAIN = f"{HELD_AGAIN}the patient answered the health questions again"
HELD_FOR_NEW_RULES = f"{HELD_AGAIN}the clinic changed its screening rules"
HELD_FOR_RESURFACING = f"{HELD_AGAIN}the patient booked "  # a peel or laser shortly before it
HELD_FOR_EARLIER_TIME = f"{HELD_AGAIN}a clinician confirmed it for a later day"
# Statuses of a visit still ahead that the patient expects to keep.
STILL_EXPECTED = [AppointmentStatus.PENDING_REVIEW, AppointmentStatus.CONFIRMED]

ONCE_PER_PATIENT_AND_TIME = "appointment_once_per_patient_and_time"

# What an appointment says in place of the patient's name once their details were erased on request.
ERASED_PATIENT_NAME = "(erased on request)"


class Appointment(models.Model):
    Status = AppointmentStatus

    # The only status changes there are; anything else is a bug or a forged request.
    TRANSITIONS = {
        Status.PENDING_REVIEW: {Status.CONFIRMED, Status.DECLINED, Status.CANCELLED},
        # Back on hold when later screening answers rule it out (screening_submit): a clinician decides again.
        Status.CONFIRMED: {Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW, Status.PENDING_REVIEW},
        Status.CANCELLED: set(),
        Status.DECLINED: set(),
        # A visit's outcome, recorded once it started, may be corrected (a mis-click on the wrong row).
        Status.COMPLETED: {Status.NO_SHOW},
        Status.NO_SHOW: {Status.COMPLETED},
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    treatment = models.ForeignKey(Treatment, on_delete=models.PROTECT, related_name="appointments")
    # No index of its own: the (practitioner, start) index leads with it, and every booking writes one index fewer.
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    # End of the treatment plus its buffer: the time the practitioner is actually occupied.
    busy_until = models.DateTimeField(editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    patient_name = models.CharField(max_length=120)
    patient_email = models.EmailField()
    patient_phone = models.CharField(max_length=32)
    # Empty only once the patient's details were erased on request (the constraint below): no made-up date a
    # clinician could read as real.
    patient_date_of_birth = models.DateField(null=True)
    status_reason = models.TextField(blank=True, help_text="Why it was declined or cancelled, when known.")
    # What the patient's emails last told them of the time and practitioner (None: nothing has gone yet, or staff
    # corrected the address since): a "moved" email says what changed since then, and goes only if something did.
    told_start = models.DateTimeField(null=True, editable=False)
    told_practitioner = models.ForeignKey(
        Practitioner, null=True, on_delete=models.SET_NULL, related_name="+", editable=False, db_index=False
    )
    # Whether its last move was the clinic's doing (staff say so when they move it): the "moved" email apologises.
    # A database default too: rows written around the ORM (seed_scale's COPY, raw SQL) need not name it.
    moved_by_clinic = models.BooleanField(default=False, db_default=False, editable=False)
    # The start a clinician confirmed it for (`appointment_approve`): moved to an earlier day, their decision no
    # longer covers it (`screened_booking_weigh_again`).
    approved_for = models.DateTimeField(null=True, blank=True, editable=False)
    # When: answers given before it were weighed by the clinician, changed ones included (`screened_booking_allows`).
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["practitioner", "start"]),
            models.Index(fields=["status", "start"]),
            # The diary in the admin: today and ahead, or any day, across every practitioner and status.
            models.Index(fields=["start"], name="appointment_start"),
            # Patients are found by email regardless of case (`patient_email__iexact`, which is UPPER(...) = UPPER(...)
            # on PostgreSQL): export, erasure, and the reminders' "already booked" check.
            models.Index(Upper("patient_email"), name="appointment_patient_email_ci"),
            # Availability's range query uses the exclusion constraint's GiST index (see `overlapping`).
        ]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="appointment_start_before_end"),
            models.CheckConstraint(condition=Q(end__lte=models.F("busy_until")), name="appointment_end_within_busy"),
            models.CheckConstraint(
                condition=Q(patient_date_of_birth__isnull=False) | Q(patient_name=ERASED_PATIENT_NAME),
                name="appointment_date_of_birth_unless_erased",
            ),
            PostgresOnlyExclusionConstraint(
                name="appointment_no_overlap_per_practitioner",
                expressions=[
                    (TsTzRange("start", "busy_until", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("practitioner", RangeOperators.EQUAL),
                ],
                condition=Q(status__in=HOLDING_TIME),
            ),
            # A form sent twice (Back, then Confirm again) must not book the same patient twice, with another
            # practitioner; a family booking two people into one time under one email still can.
            models.UniqueConstraint(
                "treatment",
                "start",
                Upper("patient_email"),
                Upper("patient_name"),
                condition=Q(status__in=HOLDING_TIME),
                name=ONCE_PER_PATIENT_AND_TIME,
                violation_error_message="This patient already has this treatment booked at this time.",
            ),
        ]

    def __str__(self):
        return f"{self.treatment} with {self.practitioner} at {localtime(self.start):%Y-%m-%d %H:%M}"  # clinic time

    def save(self, *args, **kwargs):
        self.fill_times_if_new_or_moved()
        super().save(*args, **kwargs)
        self._timed_for = self._what_times_it()

    @classmethod
    def from_db(cls, db, field_names, values):
        appointment = super().from_db(db, field_names, values)
        appointment._timed_for = appointment._what_times_it()
        return appointment

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._timed_for = self._what_times_it()  # what the row says now, as if just read

    def _what_times_it(self) -> tuple:
        # A move to a colleague at the same start is a move too: checked, and timed, for the treatment as it is now.
        return self.__dict__.get("start"), self.__dict__.get("treatment_id"), self.__dict__.get("practitioner_id")

    def fill_times_if_new_or_moved(self) -> None:
        """A booking keeps the length it was booked with: a clinic that lengthens a treatment must not stretch the
        bookings already in the diary over the next ones on their next save (an approval, a hold, a cancellation).
        Only a new booking, or one given another start, practitioner or treatment (a move, checked as a new time is),
        takes the treatment's length as it is now."""
        if self._state.adding or self.end is None or getattr(self, "_timed_for", None) != self._what_times_it():
            self.fill_times()

    @property
    def changeable_online_until(self) -> datetime:
        """The last moment the patient may move or cancel it themselves (BOOKING_CANCEL_CUTOFF_HOURS before)."""
        return self.start - timedelta(hours=settings.BOOKING_CANCEL_CUTOFF_HOURS)

    def review_is_close(self, now: datetime) -> bool:
        """Whether a held booking is so close (REVIEW_NUDGE_HOURS) that "usually within a working day" would come
        after it: the patient is told a clinician looks before the visit, and to call if they have heard nothing."""
        return self.start - now <= timedelta(hours=settings.REVIEW_NUDGE_HOURS)

    @property
    def details_erased(self) -> bool:
        return self.patient_name == ERASED_PATIENT_NAME

    def clean(self):
        """Refuse an overlap with a clear message; the exclusion constraint still referees races on PostgreSQL."""
        if not (self.start and self.treatment_id and self.practitioner_id) or self.status not in HOLDING_TIME:
            return
        self.fill_times_if_new_or_moved()
        clash = Appointment.objects.clashing_with(self).first()
        if clash:
            raise ValidationError(clash.clash_message())

    def clash_message(self) -> str:
        """Tell staff that this booking holds the time they asked its practitioner for."""
        return (
            f"{self.practitioner} already has {self.treatment} from {localtime(self.start):%H:%M} "
            f"to {localtime(self.busy_until):%H:%M} (including the buffer) that day."
        )

    def fill_times(self) -> None:
        """Derive the end and the busy-until time from the start and the treatment, in elapsed time: in UTC, as an
        aware datetime in the clinic's zone adds on the wall clock (00:30 + 90 minutes on the night the clocks go
        forward would end at 02:00, thirty real minutes later)."""
        self.end = self.start.astimezone(UTC) + self.treatment.duration
        self.busy_until = self.end + self.treatment.buffer_after

    def can_transition_to(self, status) -> bool:
        return status in self.TRANSITIONS[self.status]

    def transition_to(self, status, *, reason: str = "") -> None:
        """Move to `status`, refusing any change the transition table does not allow. The caller saves."""
        if not self.can_transition_to(status):
            never = self.status == self.Status.PENDING_REVIEW  # it could not before either: a clinician decides first
            raise InvalidTransition(
                f"This booking is {status_in_words(self.status)} and {'cannot' if never else 'can no longer'} be "
                f"{status_in_words(status)}."
            )
        self.status = status
        if reason:
            self.status_reason = reason


class AppointmentEmail(models.Model):
    """One email about an appointment, due at a time; the row, not the broker, remembers it must go out.

    A task sends it right after the booking commits; the periodic dispatch sends any the broker missed and every
    reminder when it falls due. `sent_at` makes sending safe to attempt twice.
    """

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", "Booking confirmed"
        RECEIVED = "received", "Booking received, awaiting review"
        RESCHEDULED = "rescheduled", "Booking moved"
        CANCELLED = "cancelled", "Booking cancelled"
        CLINIC_CANCELLED = "clinic_cancelled", "Booking cancelled by the clinic"
        APPROVED = "approved", "Booking approved after review"
        # A confirmed booking put back on hold for a clinician (`appointment_hold_for_review`).
        HELD = "held", "Booking on hold again for a clinician"
        DECLINED = "declined", "Booking declined after review"
        REMINDER = "reminder", "Appointment reminder"
        # To the clinic, not the patient: a held booking is close and no clinician has decided yet.
        REVIEW_DUE = "review_due", "Review still pending (to the clinic)"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (no longer relevant)"

    # No index of its own: the one-email-per-kind-and-start constraint's index leads with it.
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="emails", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The appointment's start when the email was queued: a reminder belongs to one start time only.
    appointment_start = models.DateTimeField()
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Staff sent the booking again (a corrected address, a lost email): it says so, not "booked" as if anew.
    sent_again = models.BooleanField(default=False, db_default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # The dispatcher claims in (due_at, id) order; the id keeps ties from forcing a sort.
            models.Index(fields=["due_at", "id"], condition=Q(state="pending"), name="appointment_email_due"),
            # The admin's home page counts the failed ones on every load; they are few, the outbox only grows.
            models.Index(fields=["appointment"], condition=Q(state="failed"), name="appointment_email_failed"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "appointment_start"], name="one_email_per_kind_and_start"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.appointment.patient_email}"
