"""A clinic's first week: the admin's home page names what the set-up leaves patients unable to book, or booking
under rules nobody chose, instead of patients finding out (health questions answered, then no times)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from booking.models import WorkingHours
from screening.models import ScreeningPolicy
from screening.services import screening_policy_ensure

from ..factories import make_practitioner, make_treatment, signed_in

pytestmark = pytest.mark.django_db


def home():
    return signed_in(Client(), "Reception").get("/admin/").content.decode()


def test_a_treatment_nobody_gives_a_practitioner_without_hours_and_a_policy_not_set_are_named(db):
    make_treatment("rf-microneedling", minutes=60, requires_screening=True)
    facial = make_treatment("hydrating-facial", minutes=45)
    nurse = make_practitioner("Nurse Ben", treatments=[facial])
    WorkingHours.objects.filter(practitioner=nurse).delete()
    page = home()
    assert "Set-up to check" in page
    unoffered = "Rf microneedling is active, but no active practitioner gives it: patients are not offered it online."
    assert unoffered in page
    assert "Nurse Ben has no working hours" in page
    assert (
        "Rf microneedling: its screening policy (a 6-month wait after isotretinoin) has not been checked and saved by "
        "a clinician yet." in page
    )


def test_a_clinic_set_up_in_full_has_nothing_to_check(db):
    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    make_practitioner("Nurse Ben", treatments=[needling])  # with hours, as the factory gives
    ScreeningPolicy.objects.create(treatment=needling, chosen_at=timezone.now())
    assert "Set-up to check" not in home()


def test_the_defaults_a_patients_first_answers_made_are_named_until_a_clinician_saves_the_policy(db):
    needling = make_treatment("microneedling", minutes=60, requires_screening=True)
    make_practitioner("Nurse Ben", treatments=[needling])
    policy = screening_policy_ensure(treatment=needling)  # as the first patient's answers make it
    assert "Microneedling: its screening policy (a 6-month wait after isotretinoin) has not been checked" in home()

    lead = Client()
    lead.force_login(User.objects.create_superuser("lead", password="x"))
    response = lead.post(
        f"/admin/screening/screeningpolicy/{policy.pk}/change/",
        {
            "isotretinoin_wait_months": "6",
            "recent_dose_window_months": "12",
            "screening_valid_minutes": "120",
            "isotretinoin_safe_alternatives": "on",
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.chosen_at is not None and policy.rules_version == 1  # the same rules, now chosen
    assert "Set-up to check" not in home()
