"""Reads shared by views, services and admin."""

import copy
import hashlib
import logging
import math
import pickle
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .availability import (
    PractitionerSchedule,
    Slot,
    days_between,
    free_starts,
    instant,
    local_day_bounds,
    merge_intervals,
)
from .memo import RecentResults
from .models import HOLDING_TIME, Appointment, Practitioner, TimeOff, Treatment, WorkingHours

logger = logging.getLogger(__name__)


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def booking_window(now: datetime, not_before: datetime | None = None) -> tuple[datetime, datetime]:
    """Return the earliest and latest start a patient may book at `now` (minimum notice, horizon); `not_before` can
    push the earliest later (e.g. a screening's eligibility date)."""
    earliest = now + timedelta(minutes=settings.BOOKING_MIN_NOTICE_MINUTES)
    if not_before is not None:
        earliest = max(earliest, not_before)
    return earliest, now + timedelta(days=settings.BOOKING_HORIZON_DAYS)


# How far ahead staff may book. No online horizon binds them; this bound only catches a mistyped year.
STAFF_HORIZON_DAYS = 2 * 366


def staff_booking_window(now: datetime) -> tuple[datetime, datetime]:
    """Return the earliest and latest start staff may book at `now`: any time not yet passed (no minimum notice),
    up to STAFF_HORIZON_DAYS ahead."""
    return now, now + timedelta(days=STAFF_HORIZON_DAYS)


def bookable_days(now: datetime) -> tuple[date, date]:
    """Return the first and last local day on which any start can be offered."""
    not_before, not_after = booking_window(now)
    tz = clinic_tz()
    return not_before.astimezone(tz).date(), not_after.astimezone(tz).date()


def active_treatments():
    return Treatment.objects.filter(active=True)


def offered_treatments():
    """The active treatments an active practitioner gives: what the patients' list offers. One nobody gives would
    lead to a month of empty days (staff are told on the admin's home page, "Set-up to check")."""
    given = Practitioner.treatments.through.objects.filter(treatment_id=OuterRef("pk"), practitioner__active=True)
    return active_treatments().filter(Exists(given))


def bookable_treatment(slug: str) -> Treatment | None:
    """The active treatment with this slug, or None.

    With the availability cache on, each process keeps the treatments it has read under the current diary version
    (saving a treatment starts a new one), so a patient's pages cost no query for it. Callers get their own copy.
    """
    version = diary_version()
    if version is None:
        return active_treatments().filter(slug=slug).first()
    treatment = _recent.get_or_make(
        ("treatment", slug, version), lambda: active_treatments().filter(slug=slug).first(), weigh=lambda found: 1
    )
    return copy.copy(treatment)


class _ThisRequest(threading.local):
    """What one request has already read of the diary's version: a booking request asks for it twice (the
    treatment, then its practitioners), and one round trip is enough. Only between request_started and
    request_finished, so a worker, a command or a test outside a request always reads afresh."""

    open = False
    diary_version = None


_this_request = _ThisRequest()


def request_started(**kwargs) -> None:
    _this_request.open, _this_request.diary_version = True, None


def request_finished(**kwargs) -> None:
    _this_request.open, _this_request.diary_version = False, None


def diary_version() -> str | None:
    """The diary's current version (one cache round trip per request), or None when the cache is off or
    unreachable. Everything a patient page shows of a treatment and its practitioners is covered by it."""
    if _cache_seconds() <= 0:
        return None
    if _this_request.open and _this_request.diary_version is not None:
        return _this_request.diary_version
    try:
        version = _stamp([DIARY_VERSION_KEY], {DIARY_VERSION_KEY: cache.get(DIARY_VERSION_KEY)})[0]
    except Exception:  # noqa: BLE001 - a cache outage must never stop patients booking
        logger.warning("Availability cache unavailable; reading the diary from the database", exc_info=True)
        return None
    if _this_request.open:
        _this_request.diary_version = version
    return version


def free_slot_at(
    *,
    treatment: Treatment,
    start: datetime,
    now: datetime,
    not_before: datetime | None = None,
    exclude_appointment: Appointment | None = None,
) -> Slot | None:
    """The one start a patient chose, with the practitioners free to give `treatment` then, or None when it is not
    bookable (outside the booking window, off the times grid, outside everyone's hours, or taken)."""
    free = free_practitioners_at(
        treatment=treatment, start=start, now=now, not_before=not_before, exclude_appointment=exclude_appointment
    )
    return Slot(start, tuple(practitioner.pk for practitioner in free)) if free else None


def why_not_bookable(
    *, treatment: Treatment, start: datetime, now: datetime, not_before: datetime | None = None
) -> str:
    """Say why a patient cannot book `treatment` at `start`, asked once `free_slot_at` has refused it: "passed",
    "too_soon" (within the minimum notice, or before `not_before`), "too_far" (beyond the horizon), "closed" (no one
    who gives it works then, or the whole clinic is closed), "off_grid" (not one of the times offered that day) or
    "taken"."""
    earliest, latest = booking_window(now, not_before)
    if start < now:
        return "passed"
    if start < earliest:
        return "too_soon"
    if start > latest:
        return "too_far"
    practitioners, weekly = _hours_under(treatment, diary_version())
    tz = clinic_tz()
    day = start.astimezone(tz).date()
    windows = [
        (datetime.combine(day, opens, tzinfo=tz), datetime.combine(day, closes, tzinfo=tz))
        for pk in practitioners
        for opens, closes in weekly[pk].get(day.weekday(), ())
    ]
    if not any(opens <= start < closes for opens, closes in windows):
        return "closed"
    if _closures_meeting(start, start + treatment.duration + treatment.buffer_after).exists():
        return "closed"  # the whole clinic is, then
    # The same sweep as the day's times with nobody busy: a start it offers was refused for a booking or time off.
    schedules = [PractitionerSchedule(pk, weekly[pk]) for pk in practitioners]
    offered = _treatment_free_starts(
        treatment, schedules, first_day=day, last_day=day, not_before=start, not_after=start
    )
    return "taken" if offered[day] else "off_grid"


def free_practitioners_at(
    *,
    treatment: Treatment,
    start: datetime,
    now: datetime,
    not_before: datetime | None = None,
    exclude_appointment: Appointment | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> list[Practitioner]:
    """The practitioners (in name order) free to give `treatment` at `start`; none when it is not bookable.

    The start must lie in the patient's booking window at `now`, or in `window` (earliest, latest) when given: staff
    book with `staff_booking_window`.

    The same rule as `availability` (`free_starts`), asked of one start and read fresh from the database: the
    bookings and time off that meet this one appointment's time, in one query. Booking never needs the rest of the
    day, which every booking on it changes (under booking load, re-reading the day was a third of the work). The
    practitioners are those read with their hours (once per diary version): read-only, so a caller that keeps one
    copies it.
    """
    earliest, latest = window or booking_window(now, not_before)
    if not earliest <= start <= latest:
        return []
    practitioners, weekly = _hours_under(treatment, diary_version())
    start = start.astimezone(UTC)  # elapsed time, not the wall clock, across a change of the clocks
    busy_until = start + treatment.duration + treatment.buffer_after
    busy = _busy_practitioner_ids(start, busy_until, exclude_appointment.pk if exclude_appointment else None)
    if None in busy:  # the whole clinic is closed then
        return []
    day = start.astimezone(clinic_tz()).date()
    schedules = [PractitionerSchedule(pk, weekly[pk]) for pk in practitioners if pk not in busy]
    free = _treatment_free_starts(treatment, schedules, first_day=day, last_day=day, not_before=start, not_after=start)
    return [practitioners[pk] for pk in free[day][0].practitioner_ids] if free[day] else []


def _time_off_over(practitioner: Practitioner, start: datetime, until: datetime) -> TimeOff | None:
    """The practitioner's first time off, or closure of the whole clinic, that meets [start, until), the buffer
    included as availability counts it."""
    theirs_or_everyones = Q(practitioner=practitioner) | Q(practitioner__isnull=True)
    return TimeOff.objects.filter(theirs_or_everyones, start__lt=until, end__gt=start).first()


def _away_in_words(practitioner: Practitioner, away: TimeOff) -> str:
    """Say, for staff, who is away when: the practitioner, or the whole clinic closed, with the reason given."""
    tz = clinic_tz()
    who = "The clinic is closed" if away.whole_clinic else f"{practitioner} is away"
    why = f" ({away.reason})" if away.reason else ""
    return f"{who} from {away.start.astimezone(tz):%d %b %H:%M} to {away.end.astimezone(tz):%d %b %H:%M}{why}."


def why_the_practitioner_cannot_keep(appointment: Appointment) -> str | None:
    """Say, for staff, why the booking's practitioner can no longer give it at its time as booked, after the diary
    changed under it: inactive, no longer giving the treatment, away, or no longer working then. None if they can."""
    practitioner, treatment = appointment.practitioner, appointment.treatment
    if not practitioner.active:
        return f"{practitioner} is no longer active."
    if not practitioner.treatments.filter(pk=treatment.pk).exists():
        return f"{practitioner} no longer gives {treatment}."
    away = _time_off_over(practitioner, appointment.start, appointment.busy_until)
    if away is not None:
        return _away_in_words(practitioner, away)
    if Appointment.objects.filter(pk=appointment.pk).outside_hours(practitioner.pk):
        return f"{practitioner} no longer works at that time."
    return None


def why_not_free(
    *, practitioner: Practitioner, treatment: Treatment, start: datetime, exclude_appointment: Appointment | None = None
) -> str | None:
    """Say, for staff, why `practitioner` cannot give `treatment` at `start`: time off, another booking, outside
    their hours or off the times grid. Asked once `free_practitioners_at` has left them out (None if none applies)."""
    tz = clinic_tz()
    start = start.astimezone(UTC)
    end = start + treatment.duration
    busy_until = end + treatment.buffer_after
    away = _time_off_over(practitioner, start, busy_until)
    if away is not None:
        return _away_in_words(practitioner, away)
    # Hours before bookings: "not working then" is the reason that stays once a clashing booking moves.
    local = start.astimezone(tz)
    day_name = local.strftime("%A")
    hours = list(
        WorkingHours.objects.filter(practitioner=practitioner, weekday=local.weekday()).values_list(
            "start_time", "end_time"
        )
    )
    if not hours:
        return f"{practitioner} does not work on {day_name}s."
    windows = merge_intervals(  # touching windows are one stretch of work, as availability offers them
        [
            (datetime.combine(local.date(), opens, tzinfo=tz), datetime.combine(local.date(), closes, tzinfo=tz))
            for opens, closes in hours
        ]
    )
    within = [(opens, closes) for opens, closes in windows if opens <= start and end <= closes]
    if not within:
        worked = ", ".join(f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in windows)
        return (
            f"{practitioner} works {worked} on {day_name}s: {treatment} ({treatment.duration_minutes} minutes) "
            f"at {local:%H:%M} is outside those hours."
        )
    clash = (
        Appointment.objects.holding_time()
        .filter(practitioner=practitioner)
        .exclude(pk=exclude_appointment.pk if exclude_appointment else None)
        .overlapping(start, busy_until)
        .select_related("treatment", "practitioner")
        .first()
    )
    if clash is not None:
        return clash.clash_message()
    step = timedelta(minutes=settings.BOOKING_SLOT_STEP_MINUTES)
    opens, closes = within[0]
    before = opens + (start - opens) // step * step
    if before == start:
        return None
    fitting = [each for each in (before, before + step) if each + treatment.duration <= closes]
    nearest = [f"{each.astimezone(tz):%H:%M}" for each in fitting]
    return (
        f"Appointments start every {settings.BOOKING_SLOT_STEP_MINUTES} minutes from {opens:%H:%M}: "
        f"please choose {' or '.join(nearest)}."
    )


def _treatment_free_starts(treatment, schedules, *, first_day, last_day, not_before, not_after):
    """`free_starts` for this treatment's length and buffer, on the clinic's times grid."""
    return free_starts(
        schedules=schedules,
        first_day=first_day,
        last_day=last_day,
        tz=clinic_tz(),
        duration=treatment.duration,
        buffer_after=treatment.buffer_after,
        step=timedelta(minutes=settings.BOOKING_SLOT_STEP_MINUTES),
        not_before=not_before,
        not_after=not_after,
    )


def _holding_time_in(start: datetime, end: datetime, exclude_appointment_id: int | None) -> tuple[str, list]:
    """SQL (over `booking_appointment a`) for the bookings other than the one excluded that hold time in [start, end),
    and its parameters. On PostgreSQL the overlap is the exclusion constraint's own GiST expression, so its index
    (partial, on the same statuses) finds just the bookings at that time."""
    if connection.vendor == "postgresql":
        meets, params = "tstzrange(a.start, a.busy_until, '[)') && tstzrange(%s, %s, '[)')", [start, end]
    else:
        adapt = connection.ops.adapt_datetimefield_value
        meets, params = "a.start < %s AND a.busy_until > %s", [adapt(end), adapt(start)]
    statuses = ", ".join(["%s"] * len(HOLDING_TIME))
    return f"a.status IN ({statuses}) AND {meets} AND a.id <> %s", [*HOLDING_TIME, *params, exclude_appointment_id or 0]


def _busy_practitioner_ids(start: datetime, end: datetime, exclude_appointment_id: int | None) -> set[int]:
    """The practitioners with a booking (other than the one excluded) or time off that meets [start, end), and None
    among them if the whole clinic is closed then.

    Plain SQL, as every booking step runs it: building it through the ORM took longer (0.7 ms) than PostgreSQL took
    to plan and answer it.
    """
    adapt = connection.ops.adapt_datetimefield_value
    holding, params = _holding_time_in(start, end, exclude_appointment_id)
    # Only table names and placeholders are formatted in; every value is a parameter.
    sql = (
        f"SELECT a.practitioner_id FROM {Appointment._meta.db_table} a WHERE {holding}"  # noqa: S608
        f' UNION SELECT t.practitioner_id FROM {TimeOff._meta.db_table} t WHERE t.start < %s AND t."end" > %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, adapt(end), adapt(start)])
        return {practitioner_id for (practitioner_id,) in cursor.fetchall()}


def _booked_spans_us(start: datetime, end: datetime, exclude_appointment_id: int | None) -> list[tuple[int, int, int]]:
    """(practitioner, start, busy until) of every booking holding time in [start, end), the times as whole
    microseconds since the epoch.

    On PostgreSQL the database turns them into microseconds: psycopg2 parsing a 30-day range's 8,600 timestamps
    into datetimes cost three times the whole query done so (13 against 4 ms of CPU in one process, bench/NOTES.md),
    and the sweep works in microseconds anyway.
    """
    if connection.vendor == "postgresql":
        holding, params = _holding_time_in(start, end, exclude_appointment_id)
        # EXTRACT(EPOCH ...) is exact (numeric) on PostgreSQL 14 and later; before, a double that rounds back to it.
        # Only the table name and placeholders are formatted in; every value is a parameter.
        sql = (
            "SELECT a.practitioner_id, (EXTRACT(EPOCH FROM a.start) * 1000000)::bigint,"  # noqa: S608
            " (EXTRACT(EPOCH FROM a.busy_until) * 1000000)::bigint"
            f" FROM {Appointment._meta.db_table} a WHERE {holding}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    booked = Appointment.objects.holding_time().overlapping(start, end).order_by()
    if exclude_appointment_id is not None:
        booked = booked.exclude(pk=exclude_appointment_id)
    return [
        (pk, instant(begins), instant(ends))
        for pk, begins, ends in booked.values_list("practitioner_id", "start", "busy_until")
    ]


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
    The diary's free times for the whole range are computed (or read from the availability cache), then cut to the
    booking window at `now`: the same times either way, as the window only ever removes starts.
    """
    earliest, latest = booking_window(now, not_before)
    if exclude_appointment is None:
        by_day = cached_free_starts(treatment=treatment, first_day=first_day, last_day=last_day)
    else:
        by_day = _free_starts(treatment, first_day, last_day, exclude_appointment)
    return {day: _within(slots, earliest, latest) for day, slots in by_day.items()}


def staff_free_times(
    *, treatment: Treatment, day: date, now: datetime, exclude_appointment: Appointment | None = None
) -> list[tuple[datetime, list[Practitioner]]]:
    """Return each free start of `treatment` on the local `day` that staff may book at `now` (no minimum notice, past
    the online horizon), with the practitioners free then, in name order: the diary reception reads on the phone.
    `exclude_appointment`: a booking being moved, whose own time counts as free."""
    earliest, latest = staff_booking_window(now)
    if exclude_appointment is None:
        by_day = cached_free_starts(treatment=treatment, first_day=day, last_day=day)
    else:
        by_day = _free_starts(treatment, day, day, exclude_appointment)
    slots = _within(by_day[day], earliest, latest)
    practitioners, _weekly = _hours_under(treatment, diary_version())
    return [(slot.start, [practitioners[pk] for pk in practitioners if pk in slot.practitioner_ids]) for slot in slots]


def staff_next_day_with_times(*, treatment: Treatment, after: date, now: datetime) -> date | None:
    """Return the first local day after `after` on which staff could book `treatment` at `now`, or None up to their
    horizon: past a closure or a fully booked week without paging through it a day at a time."""
    if not _hours_under(treatment, diary_version())[0]:
        return None  # nobody gives it: two years of empty days, read two weeks at a time, would say so slowly
    earliest, latest = staff_booking_window(now)
    last_bookable = latest.astimezone(clinic_tz()).date()
    first_day = after + timedelta(days=1)
    while first_day <= last_bookable:
        last_day = min(first_day + timedelta(days=NEXT_DAY_CHUNK_DAYS - 1), last_bookable)
        by_day = cached_free_starts(treatment=treatment, first_day=first_day, last_day=last_day)
        for day in sorted(by_day):
            if _within(by_day[day], earliest, latest):
                return day
        first_day = last_day + timedelta(days=1)
    return None


def _closures_meeting(start: datetime, until: datetime):
    """Closures of the whole clinic (time off without a practitioner) that meet [start, until)."""
    return TimeOff.objects.filter(practitioner__isnull=True, start__lt=until, end__gt=start)


def closed_over(appointment: Appointment) -> bool:
    """Whether the whole clinic is closed over any of the booking's time (its buffer included)."""
    return _closures_meeting(appointment.start, appointment.busy_until).exists()


def closure_on(day: date) -> TimeOff | None:
    """The closure of the whole clinic that covers part of the local `day`, if any (the first)."""
    return _closures_meeting(*local_day_bounds(day, day, clinic_tz())).first()


def _within(slots: list[Slot], earliest: datetime, latest: datetime) -> list[Slot]:
    """The slots (in time order) from `earliest` to `latest`; most days lie wholly inside and are only copied."""
    if not slots or (earliest <= slots[0].start and slots[-1].start <= latest):
        return list(slots)
    return [slot for slot in slots if earliest <= slot.start <= latest]


def _weekly_hours(treatment) -> tuple[dict[int, Practitioner], dict[int, dict[int, list]]]:
    """The treatment's active practitioners by id, in name order, and each one's opening hours by weekday (two
    queries). The hours are plain tuples, not model instances: they are only read."""
    practitioners = {practitioner.pk: practitioner for practitioner in treatment.practitioners.filter(active=True)}
    weekly: dict[int, dict[int, list]] = {pk: defaultdict(list) for pk in practitioners}
    hours = WorkingHours.objects.filter(practitioner_id__in=list(practitioners)).order_by("weekday", "start_time")
    for practitioner_id, weekday, opens, closes in hours.values_list(
        "practitioner_id", "weekday", "start_time", "end_time"
    ):
        weekly[practitioner_id][weekday].append((opens, closes))
    return practitioners, {pk: dict(days) for pk, days in weekly.items()}


def _hours_under(treatment, diary_version) -> tuple[dict[int, Practitioner], dict[int, dict[int, list]]]:
    """`_weekly_hours`, read once per diary version by this process (they change only with it), or now without one."""
    if diary_version is None:
        return _weekly_hours(treatment)
    return _recent.get_or_make(
        ("hours", treatment.pk, diary_version), lambda: _weekly_hours(treatment), weigh=lambda found: 1
    )


def _free_starts(treatment, first_day, last_day, exclude_appointment=None, diary_version=None):
    """Load practitioners, their hours, appointments and time off (four queries) and return every free start.

    Under a diary version (the availability cache), practitioners and hours change only with it, so this process
    reads them once per version: two queries.
    """
    rows = _diary_rows(treatment, first_day, last_day, exclude_appointment, diary_version)
    return _sweep(treatment, first_day, last_day, rows)


def _diary_rows(treatment, first_day, last_day, exclude_appointment=None, diary_version=None) -> tuple:
    """What the free times of a range are made from, as plain data: (practitioner ids, their weekly hours, the spans
    each one is busy, in whole microseconds since the epoch)."""
    tz = clinic_tz()
    range_start, range_end = local_day_bounds(first_day, last_day, tz)
    practitioners, weekly = _hours_under(treatment, diary_version)
    ids = list(practitioners)
    busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
    # Every practitioner's bookings in the range; those of practitioners who do not give this treatment are simply
    # not used. Asked for by practitioner as well, PostgreSQL may put `practitioner_id = ANY(...)` into the GiST
    # index condition, which it runs as one index scan per practitioner: 11 ms instead of 4 for 30 days at bench
    # scale (bench/NOTES.md). Unsorted: free_starts sorts them itself.
    exclude_id = exclude_appointment.pk if exclude_appointment is not None else None
    for practitioner_id, start, busy_until in _booked_spans_us(range_start, range_end, exclude_id):
        busy[practitioner_id].append((start, busy_until))
    theirs_or_everyones = Q(practitioner_id__in=ids) | Q(practitioner__isnull=True)
    away = TimeOff.objects.filter(theirs_or_everyones, start__lt=range_end, end__gt=range_start).order_by()
    for practitioner_id, start, end in away.values_list("practitioner_id", "start", "end"):
        for each in ids if practitioner_id is None else [practitioner_id]:
            busy[each].append((instant(start), instant(end)))
    return ids, weekly, busy


def _sweep(treatment, first_day, last_day, rows) -> dict[date, list[Slot]]:
    ids, weekly, busy = rows
    range_start, range_end = local_day_bounds(first_day, last_day, clinic_tz())
    schedules = [PractitionerSchedule(pk, weekly[pk], busy_us=busy.get(pk, [])) for pk in ids]
    return _treatment_free_starts(
        treatment, schedules, first_day=first_day, last_day=last_day, not_before=range_start, not_after=range_end
    )


def _digest(rows) -> str:
    """A fingerprint of `_diary_rows`, the same whatever order the database returned them in.

    Busy spans are whole microseconds since the epoch: pickling a 30-day range's 3,000 spans as aware datetimes cost
    as much as the sweep the digest lets a check skip (13 ms of 15 in one process, bench/NOTES.md)."""
    ids, weekly, busy = rows
    canonical = (
        ids,
        sorted((pk, sorted(days.items())) for pk, days in weekly.items()),
        sorted((pk, sorted(spans)) for pk, spans in busy.items() if pk in weekly),
    )
    return hashlib.blake2b(pickle.dumps(canonical), digest_size=16).hexdigest()


# --- The availability cache -----------------------------------------------------------------------------------------
# Free times for a (treatment, range) are kept in the shared cache, stamped with the versions they were computed
# under: one for the whole diary, and one per local day (a range of up to a week) or per ISO week (a longer range, so a
# month is stamped by five or six keys, not thirty), each a random token. Saving or deleting an appointment or a time
# off replaces the tokens of the days and weeks it touches (before and after the change); anything else availability
# reads (working hours, practitioners, treatments) replaces the diary's. An entry whose stamp no longer matches is
# never read. Writes that bypass model signals (queryset.update, raw SQL) are caught by the expiry,
# AVAILABILITY_CACHE_SECONDS, and a stale time can never be double booked: the booking service's write is refereed
# by the database. 0 seconds turns the cache off.
DIARY_VERSION_KEY = "availability:version"
MOST_DAYS_BUMPED = 62  # a longer change (a long leave) starts a new diary version instead


def _cache_seconds() -> int:
    return getattr(settings, "AVAILABILITY_CACHE_SECONDS", 0)


WEEK_STAMPS_FROM_DAYS = 8  # a range this long or longer is stamped by the versions of its weeks


def _day_version_key(day: date) -> str:
    return f"availability:version:{day.isoformat()}"


def _week_version_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"availability:version:{year}-W{week:02d}"


def _stamp_keys(days: list[date]) -> list[str]:
    """The version keys a range is stamped with: the diary's, then its days' or, for a longer range, its weeks'."""
    if len(days) < WEEK_STAMPS_FROM_DAYS:
        return [DIARY_VERSION_KEY, *(_day_version_key(day) for day in days)]
    return [DIARY_VERSION_KEY, *dict.fromkeys(_week_version_key(day) for day in days)]


def _stamp(keys: list[str], found: dict) -> tuple:
    """Return the current versions under `keys`, creating any that are missing (first use, eviction)."""
    missing = [key for key in keys if found.get(key) is None]
    for key in missing:
        cache.add(key, uuid.uuid4().hex, timeout=None)
    if missing:
        found = {**found, **cache.get_many(missing)}
    return tuple(found[key] for key in keys)


def cached_free_starts(*, treatment: Treatment, first_day: date, last_day: date) -> dict[date, list[Slot]]:
    """The range's free times from the shared cache, or made and kept there.

    An entry is (stamp, packed times, when it expires, seconds it took, digest of what it was made from). Once it is
    due (see `refresh_early`), one reader reads what it was made from again, hours included: if that is unchanged
    (no write that bypassed the versions), the entry's times are kept for another life (`entry_life`) without the
    sweep, the costly part of a long range. Redis keeps an entry twice AVAILABILITY_CACHE_SECONDS, for that check.
    """
    seconds = _cache_seconds()
    if seconds <= 0:
        return _free_starts(treatment, first_day, last_day)
    days = days_between(first_day, last_day)
    key = _entry_key(treatment, first_day, last_day)
    try:
        stamp = _read_stamp(days)
        # This process's own copy, made under the same shared stamp: no payload to fetch and unpickle.
        local = _recent.get((key, stamp))
        if local is not None:
            return local
        entry = cache.get(key)
        if entry is not None and (len(entry) != 5 or entry[0] != stamp):
            entry = None  # made under other versions (or by an older release)
        if entry is not None and not refresh_early(entry[2], entry[3]):
            return _remember(key, stamp, _unpack(entry[1]), life=entry[2] - time.time())
    except Exception:  # noqa: BLE001 - a cache outage must never stop patients seeing times
        logger.warning("Availability cache unavailable; computing from the database", exc_info=True)
        return _free_starts(treatment, first_day, last_day)
    began = time.perf_counter()
    # A due entry is checked against hours read afresh too: they are otherwise kept per diary version.
    rows = _diary_rows(treatment, first_day, last_day, diary_version=None if entry is not None else stamp[0])
    digest = _digest(rows)
    if entry is not None and entry[4] == digest:
        packed, by_day = entry[1], _unpack(entry[1])
    else:
        by_day = _sweep(treatment, first_day, last_day, rows)
        packed = _pack(by_day)
    took, life = time.perf_counter() - began, entry_life()
    try:
        cache.set(key, (stamp, packed, time.time() + life, took, digest), timeout=2 * seconds)
    except Exception:  # noqa: BLE001
        logger.warning("Availability cache unavailable; result not kept", exc_info=True)
        return by_day
    return _remember(key, stamp, by_day, life=life)


def entry_life() -> float:
    """Seconds a shared entry made now stays fresh: a random 80-100% of AVAILABILITY_CACHE_SECONDS.

    Entries made in the same moment (the first looks after a change to the whole diary, or a deploy's first minute)
    would otherwise all come due in the same moment again, and every range would be checked or made afresh at once,
    in step, every AVAILABILITY_CACHE_SECONDS."""
    return _cache_seconds() * random.uniform(0.8, 1.0)  # noqa: S311 - spreading expiries, not a secret


# How much earlier than its expiry an entry may be checked: in multiples of the time it took to make, and at least on
# the scale of this share of its life.
EARLY_REFRESH_BETA = 1.0
EARLY_REFRESH_SHARE = 0.05


def refresh_early(expires_at: float, took: float) -> bool:
    """Whether this reader should check a still-valid entry against the database now, shortly before it expires.

    Without it, every gunicorn worker asking for a popular range in the moment its entry expires would go to the
    database for the same range at once. Each reader instead volunteers with a chance that grows as expiry nears
    and with how long the entry took to make, so usually one of them checks it (and makes it afresh if it must)
    while the others keep reading it (probabilistic early expiration: Vattani, Chierichetti and Lowenstein,
    "Optimal Probabilistic Cache Stampede Prevention", 2015). An entry is never read after it expires without that
    check: the bound on staleness stays AVAILABILITY_CACHE_SECONDS.

    On the time it took alone (tens of milliseconds), a range asked for a few times a second would seldom be asked
    for in its last moments, and would expire with no one having checked it: then every reader in the next moment
    waits for it. The chance therefore also grows over the last few seconds of its life (EARLY_REFRESH_SHARE): with
    60 seconds, about 37% of readers volunteer 3 s before expiry, 4% 10 s before, next to none 30 s before.
    """
    scale = max(took * EARLY_REFRESH_BETA, _cache_seconds() * EARLY_REFRESH_SHARE)
    return time.time() - scale * math.log(1.0 - random.random()) >= expires_at


def _entry_key(treatment: Treatment, first_day: date, last_day: date) -> str:
    return ":".join(
        str(part)
        for part in (
            "availability",
            treatment.pk,
            treatment.duration_minutes,
            treatment.buffer_after_minutes,
            settings.BOOKING_SLOT_STEP_MINUTES,
            settings.TIME_ZONE,
            first_day.isoformat(),
            last_day.isoformat(),
        )
    )


def _read_stamp(days: list[date]) -> tuple:
    keys = _stamp_keys(days)
    return _stamp(keys, cache.get_many(keys))


def availability_version(*, first_day: date, last_day: date, now: datetime) -> tuple | None:
    """A value that changes whenever the free times of any treatment in the range may change (one cache round trip),
    for keeping what is made from them (a page, a JSON body) under the treatment's slug: treatments, practitioners
    and hours are in the diary's version. None when there is no such value: the cache is off or unreachable, or the
    booking window cuts into the range, which moves with every request.
    """
    if _cache_seconds() <= 0:
        return None
    earliest, latest = booking_window(now)
    range_start, range_end = local_day_bounds(first_day, last_day, clinic_tz())
    if earliest > range_start or latest < range_end:
        return None
    try:
        return (first_day, last_day, _read_stamp(days_between(first_day, last_day)))
    except Exception:  # noqa: BLE001 - no version, so nothing is kept; availability itself copes with the outage
        logger.warning("Availability cache unavailable", exc_info=True)
        return None


# The most recent results in this process, bounded by their number of free times (Slots are frozen and
# `availability` copies the lists it returns, so sharing them is safe). Keys carry their stamp.
RECENT_MOST_SLOTS = 50_000
_recent = RecentResults(RECENT_MOST_SLOTS, max_age=_cache_seconds)


def _remember(key: str, stamp: tuple, by_day: dict[date, list[Slot]], life=None) -> dict[date, list[Slot]]:
    """Keep this process's copy; it lives no longer than the shared entry it was read from or made with."""
    weight = max(1, sum(len(slots) for slots in by_day.values()))
    return _recent.put((key, stamp), by_day, weight=weight, life=life)


def remember_diary_times(sender, instance, **kwargs) -> None:
    """Keep the times an appointment or time off was loaded with (post_init), so a move frees its old day too."""
    instance._availability_span = _span(instance)


def _span(instance) -> tuple[datetime, datetime] | None:
    start = instance.__dict__.get("start")
    end = instance.__dict__.get("busy_until") or instance.__dict__.get("end")
    return (start, end) if start and end else None


def _days_of(span: tuple[datetime, datetime]) -> list[date] | None:
    """The local days a span touches, or None when there are too many to bump one by one."""
    tz = clinic_tz()
    first = span[0].astimezone(tz).date()
    last = max(first, (span[1] - timedelta(microseconds=1)).astimezone(tz).date())
    return days_between(first, last) if (last - first).days < MOST_DAYS_BUMPED else None


def invalidate_availability(sender=None, instance=None, created=False, **kwargs) -> None:
    """Start new versions for what changed: the days (and their weeks) an appointment or time off covered before and
    after the change, else the whole diary. Now, and again after the transaction commits (a reader between the two
    may have cached what it read before the commit under the first)."""
    if _cache_seconds() <= 0:
        return
    keys = [DIARY_VERSION_KEY]
    if isinstance(instance, Appointment | TimeOff):
        before, after = getattr(instance, "_availability_span", None), _span(instance)
        instance._availability_span = after
        spans = [span for span in (before, after) if span]
        days = [_days_of(span) for span in spans]
        # Without the times it was loaded with (deferred fields), an existing row's old days are unknown.
        if after and (before or created) and all(d is not None for d in days):
            touched = sorted({day for each in days for day in each})
            keys = [*map(_day_version_key, touched), *dict.fromkeys(map(_week_version_key, touched))]

    def new_versions():
        _this_request.diary_version = None  # this request's own change: read the new version next time
        try:
            cache.set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)
        except Exception:  # noqa: BLE001 - the write stands; entries then expire within AVAILABILITY_CACHE_SECONDS
            logger.warning("Availability cache unavailable; could not start new diary versions", exc_info=True)

    new_versions()
    transaction.on_commit(new_versions)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _pack(by_day: dict[date, list[Slot]]) -> list:
    """Compact, fast to (un)pickle: day ordinals and whole microseconds instead of objects."""
    return [
        (day.toordinal(), [((slot.start - _EPOCH) // _MICROSECOND, slot.practitioner_ids) for slot in slots])
        for day, slots in by_day.items()
    ]


def _unpack(packed: list) -> dict[date, list[Slot]]:
    return {
        date.fromordinal(ordinal): [Slot(_EPOCH + timedelta(microseconds=us), ids) for us, ids in slots]
        for ordinal, slots in packed
    }


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


def last_day_with_times(*, treatment: Treatment, now: datetime, **kwargs) -> date | None:
    """Return the last local day within the horizon with at least one free start, or None."""
    first_bookable, last_day = bookable_days(now)
    while last_day >= first_bookable:
        first_day = max(last_day - timedelta(days=NEXT_DAY_CHUNK_DAYS - 1), first_bookable)
        days = availability(treatment=treatment, first_day=first_day, last_day=last_day, now=now, **kwargs)
        for day in sorted(days, reverse=True):
            if days[day]:
                return day
        last_day = first_day - timedelta(days=1)
    return None


def appointment_for_manage(public_id) -> Appointment | None:
    return Appointment.objects.select_related("treatment", "practitioner").filter(public_id=public_id).first()


def today_local(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), clinic_tz()).date()
