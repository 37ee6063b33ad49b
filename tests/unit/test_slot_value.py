"""A start time is written for a URL or form field exactly as SLOT_FORMAT reads, whatever zone it comes in."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from booking.forms import SLOT_FORMAT, parse_slot_value, slot_value

ZONES = [UTC, ZoneInfo("Europe/London"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
MOMENTS = st.datetimes(datetime(2000, 1, 2), datetime(8999, 12, 30), timezones=st.sampled_from(ZONES))


@given(moment=MOMENTS)
def test_slot_value_is_the_utc_minute_as_slot_format_writes_it_and_reads_back(moment):
    assert slot_value(moment) == moment.astimezone(UTC).strftime(SLOT_FORMAT)
    assert parse_slot_value(slot_value(moment)) == moment.astimezone(UTC).replace(second=0, microsecond=0)


def test_the_hour_the_clocks_go_back_is_told_apart():
    london = ZoneInfo("Europe/London")
    first, second = (datetime(2026, 10, 25, 1, 30, tzinfo=london, fold=fold) for fold in (0, 1))
    assert (slot_value(first), slot_value(second)) == ("2026-10-25T00:30Z", "2026-10-25T01:30Z")
