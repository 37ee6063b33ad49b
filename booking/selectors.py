"""Reads shared by views, services and admin."""

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from .availability import PractitionerSchedule, Slot, free_starts, local_day_bounds
from .models import Appointment, TimeOff, Treatment, WorkingHours


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def booking_window(now: datetime) -> tuple[datetime, datetime]:
    """Return the earliest and latest start a patient may book at `now` (minimum notice, horizon)."""
    return (
        now + timedelta(minutes=settings.BOOKING_MIN_NOTICE_MINUTES),
        now + timedelta(days=settings.BOOKING_HORIZON_DAYS),
    )


def bookable_days(now: datetime) -> tuple[date, date]:
    """Return the first and last local day on which any start can be offered."""
    not_before, not_after = booking_window(now)
    tz = clinic_tz()
    return not_before.astimezone(tz).date(), not_after.astimezone(tz).date()


def active_treatments():
    return Treatment.objects.filter(active=True)


def availability(
    *,
    treatment: Treatment,
    first_day: date,
    last_day: date,
    now: datetime,
    not_before: datetime | None = None,
    exclude_appointment: Appointment | None = None,
) -> dict[date, list[Slot]]:
    """Return the free start times for `treatment` on each local day in the range, in four queries.

    `not_before` can push the earliest start later than the minimum notice (e.g. a screening's eligibility date).
    `exclude_appointment` lets a patient who is rescheduling see the times their own booking now holds.
    """
    tz = clinic_tz()
    earliest, latest = booking_window(now)
    if not_before is not None:
        earliest = max(earliest, not_before)
    range_start, range_end = local_day_bounds(first_day, last_day, tz)

    practitioners = list(
        treatment.practitioners.filter(active=True).prefetch_related(
            Prefetch("working_hours", queryset=WorkingHours.objects.order_by("weekday", "start_time"))
        )
    )
    ids = [p.pk for p in practitioners]
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    appointments = (
        Appointment.objects.holding_time().filter(practitioner_id__in=ids).overlapping(range_start, range_end)
    )
    if exclude_appointment is not None:
        appointments = appointments.exclude(pk=exclude_appointment.pk)
    for practitioner_id, start, busy_until in appointments.values_list("practitioner_id", "start", "busy_until"):
        busy[practitioner_id].append((start, busy_until))
    away = TimeOff.objects.filter(practitioner_id__in=ids, start__lt=range_end, end__gt=range_start)
    for practitioner_id, start, end in away.values_list("practitioner_id", "start", "end"):
        busy[practitioner_id].append((start, end))

    schedules = []
    for practitioner in practitioners:
        weekly: dict[int, list] = defaultdict(list)
        for hours in practitioner.working_hours.all():
            weekly[hours.weekday].append((hours.start_time, hours.end_time))
        schedules.append(PractitionerSchedule(practitioner.pk, dict(weekly), busy[practitioner.pk]))

    return free_starts(
        schedules=schedules,
        first_day=first_day,
        last_day=last_day,
        tz=tz,
        duration=treatment.duration,
        buffer_after=treatment.buffer_after,
        step=timedelta(minutes=settings.BOOKING_SLOT_STEP_MINUTES),
        not_before=earliest,
        not_after=latest,
    )


def slots_on(*, treatment: Treatment, day: date, now: datetime, **kwargs) -> list[Slot]:
    return availability(treatment=treatment, first_day=day, last_day=day, now=now, **kwargs)[day]


# Searching ahead in chunks keeps the common case (times within a fortnight) to one round of queries.
NEXT_DAY_CHUNK_DAYS = 14


def next_day_with_times(*, treatment: Treatment, after: date, now: datetime, **kwargs) -> date | None:
    """Return the first local day after `after` with at least one free start, or None within the horizon."""
    first_bookable, last_bookable = bookable_days(now)
    first_day = max(after + timedelta(days=1), first_bookable)
    while first_day <= last_bookable:
        last_day = min(first_day + timedelta(days=NEXT_DAY_CHUNK_DAYS - 1), last_bookable)
        days = availability(treatment=treatment, first_day=first_day, last_day=last_day, now=now, **kwargs)
        for day in sorted(days):
            if days[day]:
                return day
        first_day = last_day + timedelta(days=1)
    return None


def appointment_for_manage(public_id) -> Appointment | None:
    return Appointment.objects.select_related("treatment", "practitioner").filter(public_id=public_id).first()


def today_local(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), clinic_tz()).date()
