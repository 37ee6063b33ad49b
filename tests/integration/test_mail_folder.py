"""`make run` writes emails into var/mail/ (EMAIL_URL=filemail://): what a developer finds there, as the README says.

Django's file backend writes one file per mail connection: each appointment email opens its own, and a pass of
eligibility reminders sends its whole batch over one.
"""

import email
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from booking.forms import slot_value
from screening import reminders
from screening.models import EligibilityReminder

from ..factories import booking_post, make_treatment

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)


def local(hh: int) -> datetime:
    return datetime.combine(TUESDAY, time(hh), tzinfo=LONDON)


@pytest.fixture
def mail_folder(settings, tmp_path):
    settings.EMAIL_BACKEND = "clinic.mail.FolderBackend"  # as EMAIL_URL=filemail:// sets it
    settings.EMAIL_FILE_PATH = str(tmp_path)
    settings.SITE_URL = "http://testserver"
    return tmp_path


def recipients_by_file(folder) -> list[list[str]]:
    """The recipients of the messages in each file, a file's messages being separated by a line of 79 dashes."""
    files = []
    for path in folder.iterdir():
        messages = [part for part in path.read_text().split("-" * 79 + "\n") if part.strip()]
        files.append(sorted(email.message_from_string(message)["To"] for message in messages))
    return sorted(files)


def test_each_booking_email_is_a_file_of_its_own(client, clock, nurse, commits, mail_folder):
    for hour, address in [(10, "ann@example.com"), (14, "cy@example.com")]:
        with commits(execute=True):
            response = client.post(
                "/book/hydrating-facial/details/", booking_post(slot_value(local(hour)), email=address)
            )
        assert response.status_code == 302
    assert recipients_by_file(mail_folder) == [["ann@example.com"], ["cy@example.com"]]


def test_a_pass_of_eligibility_reminders_writes_its_batch_into_one_file(clock, mail_folder):
    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    send_at = datetime(2026, 3, 10, 9, tzinfo=LONDON)
    EligibilityReminder.objects.bulk_create(
        EligibilityReminder(
            email=address,
            treatment=needling,
            kind=EligibilityReminder.Kind.ELIGIBLE,
            due_on=send_at.date(),
            send_at=send_at,
        )
        for address in ["ann@example.com", "cy@example.com"]
    )
    clock.move_to(send_at)
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 2
    assert recipients_by_file(mail_folder) == [["ann@example.com", "cy@example.com"]]
