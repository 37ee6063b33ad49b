"""HEAD works wherever GET does: uptime monitors and link checkers ask with HEAD and must not see the site as down."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import caches

from booking import services, views
from booking.forms import slot_value
from booking.models import Treatment
from booking.tokens import manage_token
from screening.gate import screening_token
from screening.models import EligibilityReminder

from ..factories import patient
from .screening_helpers import latest_screening, make_clinic, screen

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def pages(clock, client):
    """Every public page a patient or a monitor opens with GET, with the rows behind the ones that need them."""
    microneedling = make_clinic()
    facial = Treatment.objects.get(slug="hydrating-facial")
    appointment = services.appointment_book(
        treatment=facial,
        start=datetime.combine(TUESDAY, time(11), tzinfo=LONDON),
        patient=patient(),
        now=datetime.now(LONDON),
    )
    token = manage_token(appointment.public_id)
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    waiting = latest_screening()
    reminder = EligibilityReminder.objects.create(
        email=waiting.email,
        treatment=microneedling,
        screening=waiting,
        kind="eligible",
        due_on=waiting.eligible_from,
        send_at=datetime.now(LONDON) + timedelta(days=100),
    )
    start = slot_value(datetime.combine(TUESDAY, time(14), tzinfo=LONDON))
    return [
        "/healthz",
        "/",
        "/book/hydrating-facial/",
        "/book/hydrating-facial/?date=2026-03-03",
        f"/api/availability/hydrating-facial/?start={TUESDAY}&days=7",
        f"/book/hydrating-facial/details/?start={start}",
        f"/booking/{token}/",
        f"/booking/{token}/confirmed/",
        f"/booking/{token}/cancel/",
        f"/booking/{token}/reschedule/",
        "/book/microneedling/screening/",
        f"/book/microneedling/screening/{screening_token(waiting)}/",
        f"/reminders/unsubscribe/{reminder.unsubscribe_token}/",
    ]


def test_a_monitor_asking_with_head_gets_what_get_would_say_without_the_page(client, pages):
    for path in pages:
        got = client.get(path)
        assert got.status_code == 200, path
        head = client.head(path)
        assert head.status_code == 200, path
        assert head["Content-Type"] == got["Content-Type"], path
        assert head.content == b"", path


def test_head_on_the_health_check_says_the_site_is_up(client):
    response = client.head("/healthz")
    assert response.status_code == 200 and response.content == b""


def test_head_on_a_manage_link_counts_against_the_limit_as_get_does(client, clock, nurse, throttle):
    """A manage link's 200 or 404 tells whether a guessed token is real: HEAD must not be a way round the limit."""
    throttle.THROTTLE_RULES = {"booking:manage": {"methods": ["GET"], "limits": {"ip": "2/10m"}}}
    assert client.head("/booking/not-a-token/").status_code == 404
    assert client.head("/booking/another-guess/").status_code == 404
    assert client.head("/booking/a-third-guess/").status_code == 429
    assert client.get("/booking/a-fourth-guess/").status_code == 429


def test_with_the_cache_on_a_head_first_keeps_the_whole_page_for_the_next_get(client, clock, nurse, settings):
    """A monitor's HEAD may be the first look at a day: the page and answer it makes are kept whole for patients."""
    settings.AVAILABILITY_CACHE_SECONDS = 60
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "head"}}
    views._made.clear()
    for path in ["/book/hydrating-facial/?date=2026-03-03", f"/api/availability/hydrating-facial/?start={TUESDAY}"]:
        assert client.head(path).status_code == 200
        kept = client.get(path)
        views._made.clear()
        caches["default"].clear()
        fresh = client.get(path)
        assert kept.status_code == 200 and kept.content == fresh.content and b"10:00" in kept.content
        assert client.head(path).content == b""
