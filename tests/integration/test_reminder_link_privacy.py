"""The "your wait is over" email's link fills in the patient's email without carrying it: URLs end up in access logs.

Found by QA: the link was /book/microneedling/screening/?email=zq%40example.com, so gunicorn's and the proxies' logs
put the patient's email next to microneedling, after a wait.
"""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from screening import reminders
from screening.models import EligibilityReminder

from ..factories import make_treatment

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 3, 10)
LINK = re.compile(r"http://testserver(/book/microneedling/screening/\S*)")


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def needling(db):
    return make_treatment("microneedling", minutes=60, requires_screening=True)


def due(treatment, *emails, kind=EligibilityReminder.Kind.ELIGIBLE):
    return EligibilityReminder.objects.bulk_create(
        EligibilityReminder(
            email=email,
            treatment=treatment,
            kind=kind,
            due_on=DAY,
            send_at=datetime.combine(DAY, time(9), tzinfo=LONDON),
        )
        for email in emails
    )


def send_due(clock):
    clock.move_to(datetime.combine(DAY, time(9), tzinfo=LONDON))
    return reminders.eligibility_reminders_dispatch(now=timezone.now())


def link_in(message) -> str:
    html = message.alternatives[0][0]
    [path] = set(LINK.findall(message.body))
    assert f"http://testserver{path}" in html
    return path


def email_filled_in(client, path) -> str:
    """The email the screening page opened from `path` fills in ("" for none), asserting it opened cleanly."""
    response = client.get(path)
    page = response.content.decode()
    assert response.status_code == 200 and "errorlist" not in page and "error-summary" not in page, path
    found = re.search(r'<input[^>]*name="email"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


def test_the_wait_is_over_link_names_nobody_yet_opens_the_questions_with_the_email_filled_in(clock, needling, client):
    due(needling, "zq@example.com")
    send_due(clock)
    [message] = mail.outbox
    path = link_in(message)
    for trace in ("zq", "%40", "@", "example"):
        assert trace not in path
    assert email_filled_in(client, path) == "zq@example.com"


def test_every_patient_of_a_batch_rendered_once_gets_a_link_to_their_own_email(clock, needling, client):
    patients = [f"p{n}@example.com" for n in range(5)]
    due(needling, *patients)
    due(needling, "advance@example.com", kind=EligibilityReminder.Kind.ADVANCE)
    send_due(clock)
    assert len(mail.outbox) == 6
    for message in mail.outbox:
        path = link_in(message)
        assert "example" not in path
        assert email_filled_in(client, path) == message.to[0]


def test_the_batch_keeps_rendering_each_group_once(clock, needling):
    """The bulk path (clinic.mail.EmailTemplate): a link that differed from the full rendering would fall back to
    rendering every email in full, and the 1,000-a-second benchmark would miss."""
    sent = due(needling, "ann@example.com", "o'neil+clinic@example.com", "sam@example.com")
    mailing = reminders._Mailing(connection=None)
    for reminder in EligibilityReminder.objects.select_related("treatment").filter(pk__in=[r.pk for r in sent]):
        filled = mailing.message(reminder)
        assert reminders.screening_url(reminder) in filled.body
    assert list(mailing.groups.values()) != [None]


def test_a_forged_old_or_foreign_link_just_opens_the_empty_questions(clock, needling, client):
    [reminder] = due(needling, "zq@example.com")
    send_due(clock)
    path = link_in(mail.outbox[0])
    assert email_filled_in(client, path) == "zq@example.com"

    forged = re.sub(r":[^:&]+$", ":forged", path)
    for odd in (forged, f"{path}x", "/book/microneedling/screening/?r=", "/book/microneedling/screening/?r=1:x:y"):
        assert email_filled_in(client, odd) == "", odd

    laser = make_treatment("laser-resurfacing", minutes=30, requires_screening=True)
    assert email_filled_in(client, path.replace("microneedling", laser.slug)) == ""

    clock.shift(timedelta(days=reminders.LINK_FILLS_EMAIL_DAYS + 1))
    assert email_filled_in(client, path) == ""

    reminder.delete()  # erased on the patient's request
    clock.shift(-timedelta(days=reminders.LINK_FILLS_EMAIL_DAYS + 1))
    assert email_filled_in(client, path) == ""


def test_the_page_no_longer_echoes_an_email_put_in_the_url(clock, needling, client):
    assert email_filled_in(client, "/book/microneedling/screening/?email=zq%40example.com") == ""
