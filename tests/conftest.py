import os
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from clinic.celery import app as celery_app

from .factories import make_practitioner, make_treatment

LONDON = ZoneInfo("Europe/London")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests skip on SQLite for a newcomer; CI, which must run them, stops instead."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    needing = [item for item in items if "postgres" in item.keywords]
    if needing and IN_CI:
        raise pytest.UsageError(f"CI=true but DATABASE_URL is not PostgreSQL: {len(needing)} tests need it.")
    for item in needing:
        item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))


def pytest_terminal_summary(terminalreporter):
    """Say how many fuzz cases ran (tests/fuzzing.py counts them)."""
    from .fuzzing import summary_lines

    for line in summary_lines():
        terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _fresh_dispatch_kick(monkeypatch):
    """Each test starts with a web process that has not yet failed to reach the broker (a failure pauses it)."""
    from django.conf import settings

    from booking import emails, services

    fresh = emails.DispatchKick(services._publish_dispatch, window=lambda: settings.EMAIL_KICK_SECONDS)
    monkeypatch.setattr(services, "_kick_dispatch", fresh)


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BOOKING_MIN_NOTICE_MINUTES = 120
    settings.BOOKING_HORIZON_DAYS = 90
    settings.BOOKING_CANCEL_CUTOFF_HOURS = 24
    settings.BOOKING_SLOT_STEP_MINUTES = 15
    settings.TIME_ZONE = "Europe/London"
    settings.EMAIL_KICK_SECONDS = 0  # each booking's emails go as it commits; DispatchKick has tests of its own
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _hardening_off(settings):
    """Throttling, sign-in lockout and staff two-factor stay out of the way unless a test turns them on."""
    settings.THROTTLE_ENABLED = False
    settings.AXES_ENABLED = False
    settings.STAFF_2FA_REQUIRED = False


@pytest.fixture
def throttle(settings):
    """Throttling on, counted under a cache prefix of this test's own; set settings.THROTTLE_RULES to taste."""
    settings.THROTTLE_ENABLED = True
    settings.THROTTLE_KEY_PREFIX = f"rl:test-{uuid.uuid4().hex}:"
    return settings


@pytest.fixture
def clock():
    """A travelling clock, fixed at Monday 2 March 2026, 08:00 in London, unless a test moves it."""
    with time_machine.travel(datetime(2026, 3, 2, 8, 0, tzinfo=LONDON), tick=False) as traveller:
        yield traveller


@pytest.fixture
def facial(db):
    return make_treatment("hydrating-facial", minutes=45, buffer=15)


@pytest.fixture
def nurse(facial):
    return make_practitioner("Nurse Ben", treatments=[facial])


def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """`with commits(execute=True):` runs after-commit work (emails) as production does."""
    return django_capture_on_commit_callbacks
