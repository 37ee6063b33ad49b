"""Who waits for a treatment until when is health data: reception does not see eligibility reminders, clinicians do,
and nobody sees a reminder's unsubscribe token in the admin."""

import importlib
from datetime import date, datetime

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission

from screening.models import EligibilityReminder

from ..factories import signed_in
from .screening_helpers import LONDON, make_microneedling

pytestmark = pytest.mark.django_db
REMINDERS = "/admin/screening/eligibilityreminder/"


@pytest.fixture
def reminder(clock):
    return EligibilityReminder.objects.create(
        email="alex@example.com",
        treatment=make_microneedling(),
        kind=EligibilityReminder.Kind.ELIGIBLE,
        due_on=date(2026, 7, 15),
        send_at=datetime(2026, 7, 15, 9, tzinfo=LONDON),
    )


def test_reception_gets_403_for_eligibility_reminders_and_no_link_to_them(client, reminder):
    reception = signed_in(client, "Reception")
    assert reception.get(REMINDERS).status_code == 403
    assert reception.get(f"{REMINDERS}{reminder.pk}/change/").status_code == 403
    assert REMINDERS not in reception.get("/admin/").content.decode()


def test_clinicians_see_who_waits_until_when_but_never_the_unsubscribe_token(client, reminder):
    clinician = signed_in(client, "Clinician")
    listing = clinician.get(REMINDERS).content.decode()
    assert "alex@example.com" in listing
    page = clinician.get(f"{REMINDERS}{reminder.pk}/change/").content.decode()
    assert "15 Jul 2026" in page
    assert str(reminder.unsubscribe_token) not in page and "Unsubscribe token" not in page


def test_an_install_whose_reception_group_already_had_the_reminders_loses_them_and_clinicians_keep_them():
    reception, clinician = Group.objects.get(name="Reception"), Group.objects.get(name="Clinician")
    view_reminders = Permission.objects.get(content_type__app_label="screening", codename="view_eligibilityreminder")
    reception.permissions.add(view_reminders)  # as migration 0005 left every install until now
    clinician.permissions.remove(view_reminders)

    migration = importlib.import_module("screening.migrations.0009_reception_without_eligibility_reminders")
    migration.reception_without_reminders(django_apps, None)

    assert not reception.permissions.filter(pk=view_reminders.pk).exists()
    assert clinician.permissions.filter(pk=view_reminders.pk).exists()
    assert reception.permissions.filter(codename="view_flaggedbooking").exists()  # the rest of the diary stays
