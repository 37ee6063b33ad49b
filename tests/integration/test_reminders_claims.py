"""A worker's pass claims each reminder with a prepared statement in a transaction of its own (screening/reminders.py,
_Claims): what it commits, what it leaves behind on the connection, and what a failure in the middle undoes."""

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from screening import reminders
from screening.models import EligibilityReminder

from ..factories import make_treatment
from .test_reminders_batches import RefusesOneAddress, at, due

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
State = EligibilityReminder.State


class StopsOnSecond(LocmemBackend):
    """The worker is stopped (an error no pass catches) while the second email is going."""

    def send_messages(self, messages):
        if len(mail.outbox) == 1:
            raise KeyboardInterrupt
        return super().send_messages(messages)


@pytest.fixture
def needling():
    return make_treatment("microneedling", minutes=60, requires_screening=True)


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "http://testserver"


def idle() -> bool:
    """The connection is open and in no transaction."""
    return (
        connection.connection is not None and connection.connection.info.transaction_status == TRANSACTION_STATUS_IDLE
    )


def prepared() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [reminders._Claims.NAME])
        return cursor.fetchone()[0]


def test_each_claim_commits_and_the_connection_is_left_in_no_transaction(clock, needling):
    due(needling, [f"p{n}@example.com" for n in range(5)])
    clock.move_to(at(9))
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 5
    assert idle() and not connection.in_atomic_block and connection.get_autocommit()
    assert set(EligibilityReminder.objects.values_list("state", "attempts")) == {("sent", 1)}
    assert sorted(m.to[0] for m in mail.outbox) == [f"p{n}@example.com" for n in range(5)]


def test_the_claim_is_prepared_once_per_database_session(clock, needling):
    due(needling, ["ann@example.com", "cy@example.com"])
    clock.move_to(at(9))
    assert reminders.eligibility_reminders_dispatch(now=timezone.now(), limit=1)["sent"] == 1
    assert prepared() == 1
    assert reminders.eligibility_reminders_dispatch(now=timezone.now(), limit=1)["sent"] == 1  # prepared already
    connection.close()  # a new session (CONN_MAX_AGE, a lost connection) prepares it again
    due(needling, ["di@example.com"])
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 1
    assert prepared() == 1
    assert len(mail.outbox) == 3


def test_a_refused_address_is_recorded_on_its_own_row_and_the_rest_are_sent(clock, needling, settings):
    settings.EMAIL_BACKEND = f"{RefusesOneAddress.__module__}.RefusesOneAddress"
    due(needling, ["ann@example.com", "bounce@example.com", "cy@example.com"])
    clock.move_to(at(9))
    counts = reminders.eligibility_reminders_dispatch(now=timezone.now())
    assert (counts["sent"], counts["retrying"]) == (2, 1)
    bounce = EligibilityReminder.objects.get(email="bounce@example.com")
    assert (bounce.state, bounce.attempts, bounce.sent_at) == (State.PENDING, 1, None)
    assert bounce.last_error.startswith("SMTPRecipientsRefused")
    assert idle()


def test_a_pass_stopped_mid_email_rolls_back_only_that_claim(clock, needling, settings):
    settings.EMAIL_BACKEND = f"{__name__}.StopsOnSecond"
    due(needling, ["ann@example.com", "bob@example.com", "cy@example.com"])
    clock.move_to(at(9))
    with pytest.raises(KeyboardInterrupt):
        reminders.eligibility_reminders_dispatch(now=timezone.now())
    assert idle()
    states = dict(EligibilityReminder.objects.values_list("email", "state"))
    assert states == {"ann@example.com": State.SENT, "bob@example.com": State.PENDING, "cy@example.com": State.PENDING}

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 2
    assert [m.to[0] for m in mail.outbox] == ["ann@example.com", "bob@example.com", "cy@example.com"]


def test_a_pass_inside_a_callers_transaction_claims_with_savepoints_and_commits_with_it(clock, needling):
    due(needling, ["ann@example.com", "cy@example.com"])
    clock.move_to(at(9))
    with transaction.atomic():
        assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 2
        assert prepared() == 0
    assert set(EligibilityReminder.objects.values_list("state", flat=True)) == {State.SENT}


class DiskFull(RefusesOneAddress):
    """The file backend on a full disk: the write fails, and so does the flush on close."""

    def send_messages(self, messages):
        if any(message.to == ["bounce@example.com"] for message in messages):
            raise OSError(28, "No space left on device")
        return super().send_messages(messages)

    def close(self):
        raise OSError(28, "No space left on device")


def test_a_mail_backend_that_fails_on_close_too_records_the_failure_and_the_rest_are_sent(clock, needling, settings):
    settings.EMAIL_BACKEND = f"{DiskFull.__module__}.DiskFull"
    due(needling, ["bounce@example.com", "cy@example.com"])
    clock.move_to(at(9))
    counts = reminders.eligibility_reminders_dispatch(now=timezone.now())
    assert (counts["sent"], counts["retrying"]) == (1, 1)
    failed = EligibilityReminder.objects.get(email="bounce@example.com")
    assert (failed.state, failed.attempts) == (State.PENDING, 1) and "No space left" in failed.last_error
