"""The pure availability function, as a clinic would check its diary."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.availability import PractitionerSchedule, free_starts, merge_intervals

LONDON = ZoneInfo("Europe/London")
MIN = timedelta(minutes=1)


def at(day, hh, mm=0):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def starts(schedules, day, *, minutes=60, buffer=0, step=15, not_before=None, not_after=None, last_day=None):
    result = free_starts(
        schedules=schedules,
        first_day=day,
        last_day=last_day or day,
        tz=LONDON,
        duration=timedelta(minutes=minutes),
        buffer_after=timedelta(minutes=buffer),
        step=timedelta(minutes=step),
        not_before=not_before or datetime(2000, 1, 1, tzinfo=UTC),
        not_after=not_after or datetime(2100, 1, 1, tzinfo=UTC),
    )
    return [slot.start.astimezone(LONDON).strftime("%H:%M") for slot in result[day]]


def nine_to_five(day, busy=(), practitioner_id=1, opens=time(9), closes=time(17)):
    return PractitionerSchedule(practitioner_id, {day.weekday(): [(opens, closes)]}, list(busy))


MONDAY = date(2026, 3, 2)


def test_last_start_of_the_day_is_the_one_that_exactly_fits():
    times = starts([nine_to_five(MONDAY)], MONDAY, minutes=60)
    assert times[0] == "09:00"
    assert times[-1] == "16:00"
    assert len(times) == 29  # 09:00 to 16:00 every quarter hour


def test_treatment_longer_than_the_day_has_no_times():
    assert starts([nine_to_five(MONDAY, closes=time(9, 45))], MONDAY, minutes=60) == []


def test_an_appointment_blocks_its_time_and_its_buffer():
    booked = (at(MONDAY, 10), at(MONDAY, 11, 15))  # a 60 minute treatment with a 15 minute buffer
    times = starts([nine_to_five(MONDAY, [booked])], MONDAY, minutes=60)
    assert "09:00" in times
    assert "09:15" not in times  # would run into the 10:00 booking
    assert "11:00" not in times  # inside the earlier booking's buffer
    assert "11:15" in times


def test_the_new_treatments_own_buffer_must_fit_before_the_next_booking():
    booked = (at(MONDAY, 11), at(MONDAY, 12))
    times = starts([nine_to_five(MONDAY, [booked])], MONDAY, minutes=45, buffer=15)
    assert "10:00" in times  # 10:00-10:45, buffer to 11:00
    assert "10:15" not in times  # buffer would run to 11:15


def test_time_off_removes_the_afternoon():
    away = (at(MONDAY, 13), at(MONDAY, 17))
    times = starts([nine_to_five(MONDAY, [away])], MONDAY, minutes=30)
    assert times[-1] == "12:30"


def test_minimum_notice_hides_times_too_soon():
    times = starts([nine_to_five(MONDAY)], MONDAY, minutes=60, not_before=at(MONDAY, 10, 5))
    assert times[0] == "10:15"


def test_horizon_hides_times_too_far_ahead():
    times = starts([nine_to_five(MONDAY)], MONDAY, minutes=60, not_after=at(MONDAY, 12))
    assert times[-1] == "12:00"


def test_practitioner_with_no_hours_offers_nothing():
    assert starts([PractitionerSchedule(1, {}, [])], MONDAY) == []


def test_a_time_is_offered_when_any_practitioner_is_free():
    busy_one = nine_to_five(MONDAY, [(at(MONDAY, 9), at(MONDAY, 17))], practitioner_id=1)
    free_two = nine_to_five(MONDAY, practitioner_id=2)
    result = free_starts(
        schedules=[busy_one, free_two],
        first_day=MONDAY,
        last_day=MONDAY,
        tz=LONDON,
        duration=timedelta(minutes=60),
        buffer_after=timedelta(0),
        step=timedelta(minutes=15),
        not_before=datetime(2000, 1, 1, tzinfo=UTC),
        not_after=datetime(2100, 1, 1, tzinfo=UTC),
    )
    assert result[MONDAY][0].practitioner_ids == (2,)


def test_clocks_going_forward_keep_local_opening_hours():
    spring = date(2026, 3, 29)  # UK clocks go forward at 01:00 GMT
    times = starts([nine_to_five(spring)], spring, minutes=60)
    assert times[0] == "09:00" and times[-1] == "16:00" and len(times) == 29


def test_clocks_going_back_keep_local_opening_hours():
    autumn = date(2026, 10, 25)  # UK clocks go back at 02:00 BST
    times = starts([nine_to_five(autumn)], autumn, minutes=60)
    assert times[0] == "09:00" and times[-1] == "16:00" and len(times) == 29


def test_early_hours_across_the_change_step_in_real_time():
    spring = date(2026, 3, 29)
    schedule = nine_to_five(spring, opens=time(0, 0), closes=time(3, 0))
    times = starts([schedule], spring, minutes=60, step=60)
    # 00:00 GMT, then 01:00 GMT is 02:00 BST: only two real hours fit between local midnight and 03:00 BST.
    assert times == ["00:00", "02:00"]


def test_range_of_days_returns_every_day_even_empty_ones():
    result = free_starts(
        schedules=[nine_to_five(MONDAY)],
        first_day=MONDAY,
        last_day=MONDAY + timedelta(days=6),
        tz=LONDON,
        duration=timedelta(minutes=60),
        buffer_after=timedelta(0),
        step=timedelta(minutes=15),
        not_before=datetime(2000, 1, 1, tzinfo=UTC),
        not_after=datetime(2100, 1, 1, tzinfo=UTC),
    )
    assert len(result) == 7
    assert [day for day, slots in result.items() if slots] == [MONDAY]


def test_merge_intervals_joins_overlaps_and_keeps_gaps():
    a, b, c = at(MONDAY, 9), at(MONDAY, 10), at(MONDAY, 11)
    assert merge_intervals([(b, c), (a, b + MIN), (c + MIN, c + 2 * MIN)]) == [(a, c), (c + MIN, c + 2 * MIN)]
