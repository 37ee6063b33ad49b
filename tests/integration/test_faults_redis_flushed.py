"""Redis flushed (FLUSHALL): nothing is lost. Emails and reminders live in the database, so the next dispatch pass
sends each once; the availability cache never offers a time that is taken; throttling keeps counting.

Each test flushes a redis-server of its own (tests/redis_server.py), never the shared one.
"""

import time
from collections import Counter
from datetime import date, datetime
from datetime import time as clock_time
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from booking import tasks
from booking.forms import slot_value
from booking.models import AppointmentEmail
from screening import tasks as screening_tasks
from screening.models import EligibilityReminder

from ..factories import booking_post, make_treatment
from ..redis_server import celery_on, redis_server, worker

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
LONDON = ZoneInfo("Europe/London")
SUNDAY, TUESDAY, WEDNESDAY = date(2026, 3, 1), date(2026, 3, 3), date(2026, 3, 4)
DETAILS = "/book/hydrating-facial/details/"
API = "/api/availability/hydrating-facial/"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hh, mm), tzinfo=LONDON)


@pytest.fixture
def own_redis(tmp_path, settings):
    """A redis-server of this test's own, as production uses it: the cache and the broker."""
    with redis_server(tmp_path) as server:
        redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url}
        settings.CACHES = {"default": redis_cache}
        yield server


def wait_for(condition, *, seconds=20.0, what):
    """Poll for something the worker thread does, for a bounded time."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {seconds}s waiting for {what}")
        time.sleep(0.05)


def sent_counts(counts_text: str) -> list[str]:
    return [line.split(",")[0] for line in counts_text.strip().splitlines()]


@pytest.mark.parametrize("next_pass", ["beat", "send_due_reminders"])
def test_redis_flushed_with_emails_queued_the_next_pass_sends_each_from_the_database_once(
    own_redis, client, facial, nurse, next_pass
):
    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    # Booked on the Sunday: each reminder (due on Monday) is more than REMINDER_MIN_GAP after its confirmation.
    with celery_on(own_redis.url), time_machine.travel(at(SUNDAY, 8), tick=True) as traveller:
        for n, hour in enumerate((10, 11, 12)):
            response = client.post(DETAILS, booking_post(slot_value(at(WEDNESDAY, hour)), email=f"p{n}@example.com"))
            assert response.status_code == 302
        EligibilityReminder.objects.bulk_create(
            EligibilityReminder(
                email=f"w{n}@example.com",
                treatment=needling,
                kind=EligibilityReminder.Kind.ELIGIBLE,
                due_on=TUESDAY,
                send_at=at(TUESDAY, 9),
            )
            for n in range(5)
        )
        broker = own_redis.client()
        assert broker.llen("celery") == 3, "each confirmation waits in Redis for a worker"

        traveller.move_to(at(TUESDAY, 12, 30))  # every reminder for Wednesday is due, and the eligibility emails
        tasks.dispatch_due_appointment_emails.delay()  # what beat sends every two minutes
        screening_tasks.dispatch_due_eligibility_reminders.delay()
        assert broker.llen("celery") == 5
        assert mail.outbox == []

        broker.flushall()
        assert broker.dbsize() == 0

        if next_pass == "beat":
            with worker():
                tasks.dispatch_due_appointment_emails.delay()
                screening_tasks.dispatch_due_eligibility_reminders.delay()
                wait_for(lambda: len(mail.outbox) == 11, what="every email after the flush")
        else:
            out = StringIO()
            call_command("send_due_reminders", stdout=out)
            assert sent_counts(out.getvalue()) == ["Appointment emails: 6 sent", "Eligibility reminders: 5 sent"]

        again = StringIO()
        call_command("send_due_reminders", stdout=again)  # an operator runs a pass too: nothing goes twice
        assert sent_counts(again.getvalue()) == ["Appointment emails: 0 sent", "Eligibility reminders: 0 sent"]

    sent = Counter((message.to[0], message.subject.split(":")[0].split(" ")[0]) for message in mail.outbox)
    assert sent == Counter(
        [(f"p{n}@example.com", "Your") for n in range(3)]  # "Your appointment is confirmed ..."
        + [(f"p{n}@example.com", "Reminder") for n in range(3)]
        + [(f"w{n}@example.com", "Your") for n in range(5)]  # "Your wait is over ..."
    )
    assert set(AppointmentEmail.objects.values_list("state", flat=True)) == {"sent"}
    assert set(EligibilityReminder.objects.values_list("state", flat=True)) == {"sent"}


@pytest.fixture
def availability_cache(own_redis, settings):
    settings.AVAILABILITY_CACHE_SECONDS = 60
    return own_redis


def free_times(client, day=TUESDAY) -> list[str]:
    response = client.get(API, {"start": day.isoformat(), "days": 1})
    assert response.status_code == 200
    return response.json()["days"][day.isoformat()]


def availability_keys(server) -> list[bytes]:
    return list(server.client().scan_iter(match="*availability*"))


TEN = slot_value(at(TUESDAY, 10))


def test_a_booked_time_is_still_not_offered_after_the_cache_is_flushed(availability_cache, client, clock, nurse):
    assert TEN in free_times(client)
    assert availability_keys(availability_cache), "the times came through the Redis cache"
    assert client.post(DETAILS, booking_post(slot_value(at(TUESDAY, 10)))).status_code == 302
    assert TEN not in free_times(client)

    availability_cache.client().flushall()

    times = free_times(client)
    assert TEN not in times and slot_value(at(TUESDAY, 9)) in times
    assert availability_keys(availability_cache), "the cache fills again"
    assert TEN not in free_times(client)  # and from the refilled cache


def test_an_entry_cached_before_a_booking_is_not_served_when_redis_evicts_only_the_versions(
    availability_cache, client, clock, nurse
):
    """Under memory pressure Redis may drop the version stamps and keep an older entry: it must not come back."""
    availability_cache.client().flushall()  # the first read after a flush creates the versions it is stamped with
    assert TEN in free_times(client)  # cached with 10:00 free
    assert client.post(DETAILS, booking_post(slot_value(at(TUESDAY, 10)))).status_code == 302
    versions = list(availability_cache.client().scan_iter(match="*availability:version*"))
    assert versions
    availability_cache.client().delete(*versions)
    assert TEN not in free_times(client)


def test_throttling_keeps_counting_after_the_cache_is_flushed(own_redis, client, clock, nurse, throttle):
    throttle.THROTTLE_RULES = {"booking:details": {"methods": ["POST"], "limits": {"ip": "2/10m"}}}

    def attempt(n):
        # A bad phone number: refused with 400, so nothing is booked whatever the throttle does.
        post = booking_post(slot_value(at(TUESDAY, 10)), email=f"p{n}@example.com", phone="call me")
        return client.post(DETAILS, post, REMOTE_ADDR="203.0.113.7").status_code

    assert [attempt(n) for n in range(3)] == [400, 400, 429]
    own_redis.client().flushall()
    # The flush forgets the count (a fresh window), and the limit holds again straight away.
    assert [attempt(n) for n in range(3, 6)] == [400, 400, 429]
    assert not AppointmentEmail.objects.exists()
