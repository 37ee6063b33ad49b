"""A Celery worker killed with SIGKILL in the middle of a reminder batch: after a restart every due reminder has gone
exactly once, the one that was being sent at the kill included.

A real `celery -A clinic worker` (prefork) runs in its own process group against this test's database and a Redis
of the test's own, with a deliberately slow email backend that writes one file per delivered message
(tests/slow_mail.py). Once some reminders are out, the backend holds one send of each dispatch half-way (it has
talked to the mail server, nothing is delivered yet) and the test kills the whole worker there. The claim on those
rows was a row lock held by the dead worker's database connection: it goes with the connection, the rows are still
pending, and a fresh worker sends them.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from celery import Celery
from django.db import connection, transaction
from django.utils import timezone

from booking import services as booking_services
from booking.models import AppointmentEmail
from screening.models import EligibilityReminder

from ..factories import make_practitioner, make_treatment, patient
from ..redis_server import redis_server
from ..slow_mail import delivered, recipient_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
LONDON = ZoneInfo("Europe/London")
ROOT = Path(__file__).resolve().parents[2]
ELIGIBILITY_DISPATCH = "screening.tasks.dispatch_due_eligibility_reminders"
APPOINTMENT_DISPATCH = "booking.tasks.dispatch_due_appointment_emails"
ELIGIBLE_DUE = 200
APPOINTMENTS_DUE = 32  # 8 a day for 4 days
HOLD_AFTER = 25  # per kind: the kill comes after this many of each were delivered


def wait_until(condition, *, seconds: float, what: str, log: Path | None = None):
    """Poll for something another process does, for a bounded time."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            pytest.fail(f"Timed out after {seconds}s waiting for {what}\n{tail}")
        time.sleep(0.05)


def database_url() -> str:
    """The test database (pytest-django's test_<name>), as a DATABASE_URL for another process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """`celery -A clinic worker` in a process group of its own, so one signal reaches the worker and its pool."""

    def __init__(self, name: str, env: dict, log: Path):
        self.log = log
        command = [str(Path(sys.executable).parent / "celery"), "-A", "clinic", "worker", "--pool=prefork"]
        command += ["--concurrency=2", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += [f"--hostname={name}@%h"]
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self):
        wait_until(
            lambda: self.process.poll() is not None or "ready." in self.log.read_text(),
            seconds=40,
            what="the Celery worker to be ready",
            log=self.log,
        )
        assert self.process.poll() is None, f"the worker exited at start:\n{self.log.read_text()[-3000:]}"

    def kill(self):
        """SIGKILL the worker and its pool processes at once: no shutdown, no cleanup, no acknowledgements."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        """Warm shutdown (SIGTERM); SIGKILL if it does not go within the time limit."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        else:
            self._reap_group()

    def _reap_group(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def seed_due_reminders(now):
    """ELIGIBLE_DUE eligibility reminders and APPOINTMENTS_DUE appointment reminders, all due now."""
    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    facial = make_treatment("hydrating-facial", minutes=45, buffer=15)
    make_practitioner("Nurse Ben", treatments=[facial])
    today = now.astimezone(LONDON).date()
    EligibilityReminder.objects.bulk_create(
        EligibilityReminder(
            email=f"w{n}@eligible.example",
            treatment=needling,
            kind=EligibilityReminder.Kind.ELIGIBLE,
            due_on=today,
            send_at=now - timedelta(minutes=5),
        )
        for n in range(ELIGIBLE_DUE)
    )
    n = 0
    for days in range(3, 7):  # far enough ahead that each gets its reminder (not within REMINDER_MIN_GAP)
        day = today + timedelta(days=days)
        for hour in range(9, 17):
            booking_services.appointment_book(
                treatment=facial,
                start=datetime.combine(day, clock_time(hour), tzinfo=LONDON),
                patient=patient(email=f"p{n}@appointment.example"),
                now=now,
            )
            n += 1
    # Only the reminders are in play: the confirmations went out (eagerly) at booking.
    AppointmentEmail.objects.exclude(kind=AppointmentEmail.Kind.REMINDER).delete()
    AppointmentEmail.objects.update(due_at=now - timedelta(minutes=5))
    assert AppointmentEmail.objects.filter(state="pending").count() == APPOINTMENTS_DUE


def pending_count() -> int:
    return (
        EligibilityReminder.objects.filter(state=EligibilityReminder.State.PENDING).count()
        + AppointmentEmail.objects.filter(state=AppointmentEmail.State.PENDING).count()
    )


def row_of(recipient: str):
    if recipient.endswith("@eligible.example"):
        return EligibilityReminder.objects.get(email=recipient)
    return AppointmentEmail.objects.get(appointment__patient_email=recipient)


def claimable(row) -> bool:
    """Would a dispatcher get this row now (pending, and no live transaction holds its lock)?"""
    with transaction.atomic():
        return (
            type(row)
            .objects.select_for_update(skip_locked=True)
            .filter(pk=row.pk, state=type(row).State.PENDING)
            .exists()
        )


def test_worker_killed_mid_batch_then_restarted_sends_every_due_reminder_exactly_once(tmp_path):
    seed_due_reminders(timezone.now())
    expected = set(EligibilityReminder.objects.values_list("email", flat=True)) | set(
        AppointmentEmail.objects.values_list("appointment__patient_email", flat=True)
    )
    assert len(expected) == ELIGIBLE_DUE + APPOINTMENTS_DUE
    outbox = tmp_path / "mail"
    outbox.mkdir()

    with redis_server(tmp_path) as broker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.fault_settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "FAULT_MAIL_DIR": str(outbox),
            "FAULT_MAIL_DELAY_SECONDS": "0.02",
            "LOG_LEVEL": "INFO",
        }
        beat = Celery("faults-beat", broker=broker.url, set_as_current=False)
        first = second = None
        try:
            first = WorkerProcess("first", {**env, "FAULT_MAIL_HOLD_AFTER": str(HOLD_AFTER)}, tmp_path / "first.log")
            first.wait_ready()
            beat.send_task(ELIGIBILITY_DISPATCH)  # what beat sends every two minutes
            beat.send_task(APPOINTMENT_DISPATCH)
            inflight_markers = lambda: sorted(outbox.glob("inflight-*.txt"))  # noqa: E731
            wait_until(
                lambda: len(inflight_markers()) == 2, seconds=30, what="a send of each kind in flight", log=first.log
            )
            first.kill()
            inflight = [marker.read_text() for marker in inflight_markers()]
            before_kill = Counter(recipient_of(path) for path in delivered(outbox))

            assert sorted(r.rpartition("@")[2] for r in inflight) == ["appointment.example", "eligible.example"]
            assert not set(inflight) & set(before_kill), "the messages in flight were not delivered before the kill"
            assert 0 < sum(before_kill.values()) < len(expected), "the kill came in the middle of the batch"
            for recipient in inflight:
                row = row_of(recipient)
                assert (row.state, row.sent_at, row.attempts) == ("pending", None, 0)
                # The claim was the dead connection's row lock: PostgreSQL drops it with the connection.
                wait_until(lambda row=row: claimable(row), seconds=10, what=f"the lock on {recipient} to go")

            second = WorkerProcess("second", env, tmp_path / "second.log")
            second.wait_ready()
            queue = broker.client()
            deadline = time.monotonic() + 40
            while pending_count() and time.monotonic() < deadline:
                if queue.llen("celery") == 0:  # keep a pass of each kind queued until nothing is due
                    beat.send_task(ELIGIBILITY_DISPATCH)
                    beat.send_task(APPOINTMENT_DISPATCH)
                time.sleep(0.2)
            assert pending_count() == 0, f"still pending after the restart:\n{second.log.read_text()[-3000:]}"
        finally:
            beat.close()
            for worker in (first, second):
                if worker is not None:
                    worker.stop()

    sent = Counter(recipient_of(path) for path in delivered(outbox))
    duplicates = {recipient: n for recipient, n in sent.items() if n > 1}
    after_restart = sum(sent.values()) - sum(before_kill.values())
    print(  # the figures, for `pytest -s`
        f"\nworker killed: {sum(before_kill.values())} sent before the kill ({len(inflight)} in flight), "
        f"{after_restart} after the restart, {len(duplicates)} duplicates, {len(expected - set(sent))} lost"
    )
    assert duplicates == {}
    assert expected - set(sent) == set(), "lost"
    assert set(sent) - expected == set(), "unexpected"
    assert all(sent[recipient] == 1 for recipient in inflight)
    assert set(EligibilityReminder.objects.values_list("state", "attempts")) == {("sent", 1)}
    assert set(AppointmentEmail.objects.values_list("state", "attempts")) == {("sent", 1)}
    assert not EligibilityReminder.objects.filter(sent_at=None).exists()
