"""Real Celery workers on real Redis: emails arrive, and a Redis outage costs the patient nothing.

These start an embedded worker (celery.contrib.testing) in a thread of this process, so the locmem outbox and the
test database are shared with it. They need Redis: skipped when it is unreachable, except with CI=true.
"""

import socket
import time
from datetime import date, datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail

from booking import tasks
from booking.forms import slot_value
from booking.models import Appointment, AppointmentEmail
from clinic.celery import app as celery_app
from screening import tasks as screening_tasks

from ..factories import booking_post
from ..redis_server import celery_on, given_redis_url, redis_server, worker
from .screening_helpers import SLUG, latest_screening, make_clinic, screen, token_of

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
LONDON = ZoneInfo("Europe/London")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hh, mm), tzinfo=LONDON)


def wait_for(condition, *, seconds=20.0, what="the worker"):
    """Poll for something another thread does (not a wait for time to pass)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {seconds}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def main_redis():
    """The Redis this run was given (REDIS_URL), emptied of any stale messages."""
    url = given_redis_url()
    with celery_on(url):
        celery_app.control.purge()
        yield url


@pytest.fixture
def own_redis(tmp_path):
    with redis_server(tmp_path, ports=range(6390, 6400)) as server:
        yield server


def book_through_the_site(client, start):
    return client.post("/book/hydrating-facial/details/", booking_post(slot_value(start)))


def test_real_worker_on_redis_sends_the_confirmation_and_then_the_reminder(main_redis, client, facial, nurse):
    start = at(date(2026, 3, 5), 10)  # the reminder 48 hours before is a day after the booking
    with time_machine.travel(at(date(2026, 3, 2), 8), tick=True) as traveller, worker():
        response = book_through_the_site(client, start)
        assert response.status_code == 302
        wait_for(lambda: len(mail.outbox) == 1, what="the confirmation")
        assert mail.outbox[0].subject.startswith("Your appointment is confirmed")

        traveller.move_to(at(date(2026, 3, 3), 10))
        tasks.dispatch_due_appointment_emails.delay()  # what beat sends every two minutes
        wait_for(lambda: len(mail.outbox) == 2, what="the reminder")
    assert mail.outbox[1].subject == "Reminder: Hydrating facial on Thursday 5 March at 10:00"
    assert set(AppointmentEmail.objects.values_list("state", flat=True)) == {"sent"}


def test_a_burst_of_bookings_shares_two_dispatch_passes_and_every_patient_gets_their_confirmation(
    main_redis, client, facial, nurse, settings
):
    from celery.signals import before_task_publish

    settings.EMAIL_KICK_SECONDS = 5.0  # as production's 1 s, but wide enough for a slow machine's three bookings
    published = []

    def count(sender=None, **kwargs):
        published.append(sender)

    before_task_publish.connect(count)
    try:
        with time_machine.travel(at(date(2026, 3, 2), 8), tick=True), worker():
            for hour in (10, 11, 12):
                assert book_through_the_site(client, at(date(2026, 3, 4), hour)).status_code == 302
            wait_for(lambda: len(mail.outbox) == 3, what="three confirmations")
    finally:
        before_task_publish.disconnect(count)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(Appointment.objects.values_list("patient_email", flat=True))
    assert published == ["booking.tasks.dispatch_due_appointment_emails"] * 2
    assert set(AppointmentEmail.objects.filter(kind="confirmed").values_list("state", flat=True)) == {"sent"}


def test_redis_down_booking_still_succeeds_at_once_and_its_emails_go_when_redis_is_back(
    own_redis, client, facial, nurse, settings
):
    start = at(date(2026, 3, 5), 10)  # its reminder (Tuesday 10:00) well after the confirmation
    # Production shares one Redis between the broker and the cache: take both down.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url}}
    with celery_on(own_redis.url), time_machine.travel(at(date(2026, 3, 2), 8), tick=True) as traveller:
        own_redis.stop()

        began = time.perf_counter()
        response = book_through_the_site(client, start)
        took = time.perf_counter() - began
        assert response.status_code == 302, response.content.decode()[:500]
        assert took < 2.0, f"booking took {took:.2f}s with Redis down"
        assert "re booked" in client.get(response["Location"]).content.decode()
        appointment = Appointment.objects.get()
        assert appointment.status == Appointment.Status.CONFIRMED
        assert set(appointment.emails.values_list("kind", "state")) == {
            ("confirmed", "pending"),
            ("reminder", "pending"),
        }
        assert mail.outbox == []

        own_redis.start()
        with worker():
            # Nobody re-sends the lost task: beat's next dispatch finds the row in the database.
            tasks.dispatch_due_appointment_emails.delay()
            wait_for(lambda: len(mail.outbox) == 1, what="the confirmation after Redis came back")

            traveller.move_to(at(date(2026, 3, 3), 10))
            tasks.dispatch_due_appointment_emails.delay()
            wait_for(lambda: len(mail.outbox) == 2, what="the reminder after Redis came back")
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Your appointment is confirmed", "Reminder"]
    assert set(appointment.emails.values_list("state", flat=True)) == {"sent"}


def test_enqueue_after_commit_gives_up_fast_when_redis_refuses_or_never_answers(own_redis, facial, nurse):
    """The publish a request makes after commit is bounded: refused in well under a second, hung in ~5 s."""
    from booking.services import send_due_emails_soon

    with celery_on(own_redis.url):
        own_redis.stop()
        began = time.perf_counter()
        send_due_emails_soon()  # outside a transaction: runs now, logs, and returns
        assert time.perf_counter() - began < 1.0

    # A server that accepts the connection and never answers (a hung or overloaded Redis).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        with celery_on(f"redis://127.0.0.1:{silent.getsockname()[1]}/0"):
            began = time.perf_counter()
            send_due_emails_soon()
            took = time.perf_counter() - began
    socket_timeout = django_settings.REDIS_BROKER_TRANSPORT_OPTIONS["socket_timeout"]
    assert took < socket_timeout + 1.5, f"enqueue took {took:.2f}s against a silent Redis"


def test_redis_down_opt_in_is_saved_and_the_eligibility_email_goes_on_the_day_once_redis_is_back(
    own_redis, client, settings
):
    make_clinic()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url}}
    with celery_on(own_redis.url), time_machine.travel(at(date(2026, 3, 2), 8), tick=True) as traveller:
        own_redis.stop()
        screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
        began = time.perf_counter()
        response = client.post(
            f"/book/{SLUG}/screening/{token_of(latest_screening())}/reminder/", {"consent": "on"}, follow=True
        )
        assert time.perf_counter() - began < 2.0
        assert "We will email alex@example.com on Wednesday 15 July 2026" in response.content.decode()

        own_redis.start()
        with worker():
            traveller.move_to(at(date(2026, 7, 15), 9))
            screening_tasks.dispatch_due_eligibility_reminders.delay()  # what beat sends every two minutes
            wait_for(lambda: len(mail.outbox) == 1, what="the eligibility email")
    assert mail.outbox[0].subject == "Your wait is over: you can book microneedling now"
    assert mail.outbox[0].to == ["alex@example.com"]


def test_the_broker_keeps_delivering_when_kombu_replaces_its_connection_pool(own_redis):
    """clinic.broker keeps one Redis client per pool for publishing; kombu makes a new pool in a forked worker."""
    import kombu

    with kombu.Connection(own_redis.url, transport="clinic.broker:Transport") as connection:
        queue = connection.SimpleQueue("clinic-broker-test")
        queue.put({"n": 1})
        queue.put({"n": 2})
        queue.channel._after_fork()  # what kombu runs in a child process: the old pool is dropped
        queue.put({"n": 3})
        assert [queue.get(timeout=2).payload for _ in range(3)] == [{"n": 1}, {"n": 2}, {"n": 3}]
        queue.close()
