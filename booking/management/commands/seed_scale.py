"""Load a clinic chain's diary at scale for benchmarks: practitioners, a year of working hours, appointments and
due eligibility reminders, written in batches.

Appointments are laid out per practitioner and day along a 15-minute grid, one after the other with gaps, so no
two of them overlap (the exclusion constraint would refuse the batch if they did). The diary ends on the last
bookable day; days before today are denser (history), days ahead are about half full, so patients still find times.
"""

import io
import random
import time as clock
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from booking import selectors
from booking.management.commands.seed_demo import ensure_demo_treatments
from booking.models import Appointment, Practitioner, TimeOff, Treatment, WorkingHours

GRID_MINUTES = 15
BATCH_SIZE = 5_000
# (weekday -> working window): a chain open every day, shorter at weekends.
OPENING = {day: (time(8), time(20)) for day in range(5)} | {5: (time(9), time(17)), 6: (time(9), time(17))}
DAYS_OFF_PER_PRACTITIONER = 10
# The treatments seeded appointments use (none needs screening), with how often each is booked.
SEEDED_MIX = {"dermatology-consultation": 4, "mild-chemical-peel": 3, "hydrating-facial": 3}
FIRST_NAMES = ["Alex", "Priya", "Tom", "Chloe", "Sam", "Jordan", "Mia", "Noah", "Aisha", "Leo", "Zara", "Owen"]
LAST_NAMES = ["Morgan", "Shah", "Becker", "Evans", "Lee", "Reid", "Novak", "Khan", "Price", "Doyle", "Hughes"]
SCALE_PREFIX = "Scale practitioner"


@dataclass(frozen=True)
class DiaryDay:
    practitioner_id: int
    day: date
    opens: datetime
    minutes: int
    past: bool


def cells(minutes: int) -> int:
    """Grid cells (15 minutes) a treatment plus its buffer occupies."""
    return -(-minutes // GRID_MINUTES)


class Command(BaseCommand):
    help = "Seed a large diary for benchmarks into an empty database (see --size)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--size", type=float, default=1.0, help="Multiplier for appointments and reminders (1.0 = 100,000 each)."
        )
        parser.add_argument("--practitioners", type=int, default=20)
        parser.add_argument("--days", type=int, default=365, help="Days of diary, ending on the last bookable day.")
        parser.add_argument("--appointments", type=int, default=100_000, help="At --size 1.0.")
        parser.add_argument("--reminders", type=int, default=100_000, help="Due eligibility reminders at --size 1.0.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, so runs are repeatable.")

    def handle(self, *args, size, practitioners, days, appointments, reminders, seed, **options):
        if Practitioner.objects.filter(name__startswith=SCALE_PREFIX).exists():
            raise CommandError("This database already holds scale data; seed an empty one.")
        if practitioners < 1 or days < 1 or size < 0:
            raise CommandError("--practitioners and --days must be at least 1 and --size not negative.")
        rng = random.Random(seed)
        now = timezone.now()
        n_appointments = round(appointments * size)
        n_reminders = round(reminders * size)
        started = clock.perf_counter()
        with transaction.atomic():
            treatments = ensure_demo_treatments()
            staff = self._practitioners(practitioners, treatments)
            diary = self._diary(staff, days, now, rng)
            written = self._appointments(diary, n_appointments, treatments, now, rng)
        took = clock.perf_counter() - started
        self.stdout.write(
            f"Seeded {len(staff)} practitioners, {len(diary)} working days, {written:,} appointments "
            f"in {took:.1f}s ({written / max(took, 1e-9):,.0f} rows/s)."
        )
        self._reminders(n_reminders, now, rng)
        # COPY and bulk_create send no model signals: start a new diary version for the availability cache.
        selectors.invalidate_availability()

    def _practitioners(self, count: int, treatments: dict[str, Treatment]) -> list[Practitioner]:
        staff = Practitioner.objects.bulk_create(
            Practitioner(name=f"{SCALE_PREFIX} {n:02d}", title="Aesthetic practitioner") for n in range(1, count + 1)
        )
        links = []
        for n, practitioner in enumerate(staff):
            # Every practitioner gives the non-screened treatments; half of them also do microneedling.
            slugs = [slug for slug in treatments if slug != "microneedling" or n % 2 == 0]
            links += [
                Practitioner.treatments.through(practitioner_id=practitioner.pk, treatment_id=treatments[slug].pk)
                for slug in slugs
            ]
        Practitioner.treatments.through.objects.bulk_create(links)
        WorkingHours.objects.bulk_create(
            WorkingHours(practitioner=practitioner, weekday=day, start_time=opens, end_time=closes)
            for practitioner in staff
            for day, (opens, closes) in OPENING.items()
        )
        return staff

    def _diary(self, staff, days: int, now: datetime, rng: random.Random) -> list[DiaryDay]:
        """Return every practitioner-day in the diary, minus a few whole days off per practitioner (as TimeOff)."""
        tz = selectors.clinic_tz()
        today = selectors.today_local(now)
        last_day = today + timedelta(days=settings.BOOKING_HORIZON_DAYS - 1)
        first_day = last_day - timedelta(days=days - 1)
        all_days = [first_day + timedelta(days=n) for n in range(days)]
        diary, time_off = [], []
        for practitioner in staff:
            away = set(rng.sample(all_days, min(DAYS_OFF_PER_PRACTITIONER, len(all_days) // 10)))
            for day in all_days:
                opens, closes = OPENING[day.weekday()]
                start = datetime.combine(day, opens, tzinfo=tz)
                if day in away:
                    end = datetime.combine(day, closes, tzinfo=tz)
                    time_off.append(TimeOff(practitioner=practitioner, start=start, end=end, reason="Annual leave"))
                    continue
                minutes = (closes.hour - opens.hour) * 60 + closes.minute - opens.minute
                diary.append(DiaryDay(practitioner.pk, day, start, minutes, past=day < today))
        TimeOff.objects.bulk_create(time_off)
        return diary

    def _appointments(self, diary, total: int, treatments, now: datetime, rng: random.Random) -> int:
        """Share `total` appointments over the diary (past days twice as dense) and write them in batches."""
        weights = [d.minutes * (2 if d.past else 1) for d in diary]
        weight_sum = sum(weights) or 1
        shares = [total * w / weight_sum for w in weights]
        counts = [int(s) for s in shares]
        # Largest remainders first, so the counts add up to exactly `total`.
        for i in sorted(range(len(diary)), key=lambda i: shares[i] - counts[i], reverse=True)[: total - sum(counts)]:
            counts[i] += 1
        mix = [treatments[slug] for slug, weight in SEEDED_MIX.items() for _ in range(weight)]
        rows = (
            self._appointment_row(diary_day, treatment, start, now, rng)
            for diary_day, count in zip(diary, counts, strict=True)
            for treatment, start in self._lay_out(diary_day, count, mix, rng)
        )
        return write_rows(Appointment, APPOINTMENT_COLUMNS, rows)

    def _lay_out(self, diary_day: DiaryDay, count: int, mix, rng: random.Random):
        """Place `count` appointments one after another on the day's grid, with random gaps between them."""
        if count == 0:
            return []
        capacity = diary_day.minutes // GRID_MINUTES
        chosen = [rng.choice(mix) for _ in range(count)]
        used = sum(cells(t.duration_minutes + t.buffer_after_minutes) for t in chosen)
        if used > capacity:
            shortest = min(mix, key=lambda t: t.duration_minutes + t.buffer_after_minutes)
            chosen = [shortest] * count
            used = count * cells(shortest.duration_minutes + shortest.buffer_after_minutes)
            if used > capacity:
                raise CommandError(f"{count} appointments do not fit in one day; use fewer appointments or more days.")
        # Split the spare cells into gaps before each appointment (the rest is left at the end of the day).
        spare = capacity - used
        cuts = sorted(rng.randint(0, spare) for _ in range(count))
        gaps = [b - a for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]
        cursor, placed = 0, []
        for treatment, gap in zip(chosen, gaps, strict=True):
            cursor += gap
            placed.append((treatment, diary_day.opens + timedelta(minutes=cursor * GRID_MINUTES)))
            cursor += cells(treatment.duration_minutes + treatment.buffer_after_minutes)
        return placed

    @staticmethod
    def _appointment_row(diary_day: DiaryDay, treatment, start, now: datetime, rng: random.Random) -> tuple:
        roll = rng.random()
        if diary_day.past:
            status = "completed" if roll < 0.85 else "no_show" if roll < 0.9 else "cancelled"
        else:
            status = "confirmed" if roll < 0.92 else "cancelled"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        end = start + timedelta(minutes=treatment.duration_minutes)
        busy_until = end + timedelta(minutes=treatment.buffer_after_minutes)
        return (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            treatment.pk,
            diary_day.practitioner_id,
            start,
            end,
            busy_until,
            status,
            f"{first} {last}",
            f"{first}.{last}.{rng.randrange(10**6)}@example.com".lower(),
            f"07700 {rng.randrange(900000, 999999)}",
            date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)),
            "",
            now,
            now,
        )

    def _reminders(self, count: int, now: datetime, rng: random.Random) -> None:
        """Write `count` eligibility reminders that are due now (sent at 09:00 on one of the last 30 days)."""
        try:
            reminder_model = apps.get_model("screening", "EligibilityReminder")
        except LookupError:
            self.stdout.write(
                f"Eligibility reminders: pending (no screening.EligibilityReminder yet); {count:,} not seeded."
            )
            return
        tz = selectors.clinic_tz()
        treatment = Treatment.objects.get(slug="microneedling")
        today = selectors.today_local(now)
        started = clock.perf_counter()

        def rows():
            for n in range(count):
                due_on = today - timedelta(days=1 + n % 30)
                yield (
                    f"waiting.patient.{n}@example.com",
                    treatment.pk,
                    None,
                    "eligible",
                    due_on,
                    datetime.combine(due_on, time(9), tzinfo=tz),
                    "pending",
                    0,
                    "",
                    None,
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    now,
                )

        with transaction.atomic():
            written = write_rows(reminder_model, REMINDER_COLUMNS, rows())
        took = clock.perf_counter() - started
        self.stdout.write(f"Seeded {written:,} due eligibility reminders in {took:.1f}s.")


APPOINTMENT_COLUMNS = (
    "public_id",
    "treatment_id",
    "practitioner_id",
    "start",
    "end",
    "busy_until",
    "status",
    "patient_name",
    "patient_email",
    "patient_phone",
    "patient_date_of_birth",
    "status_reason",
    "created_at",
    "updated_at",
)
REMINDER_COLUMNS = (
    "email",
    "treatment_id",
    "screening_id",
    "kind",
    "due_on",
    "send_at",
    "state",
    "attempts",
    "last_error",
    "sent_at",
    "unsubscribe_token",
    "created_at",
)


def batched(rows: Iterable[tuple], size: int):
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def copy_text(value) -> str:
    """Encode one value for COPY's text format: \\N for NULL, with backslashes, tabs and newlines escaped."""
    if value is None:
        return "\\N"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_rows(model, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    """Insert rows (tuples in `columns` order) in batches: COPY on PostgreSQL, bulk_create elsewhere."""
    written = 0
    for batch in batched(rows, BATCH_SIZE):
        if connection.vendor == "postgresql":
            buffer = io.StringIO("".join("\t".join(map(copy_text, row)) + "\n" for row in batch))
            names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
            with connection.cursor() as cursor:
                cursor.copy_expert(f"COPY {model._meta.db_table} ({names}) FROM STDIN", buffer)
        else:
            model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in batch])
        written += len(batch)
    return written
