"""Input the screening form must answer with a clear message on every database, never a server error."""

import pytest

from screening.models import Screening

from .screening_helpers import make_clinic, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def microneedling(db):
    return make_clinic()


def test_an_email_longer_than_254_characters_is_a_form_error_and_254_is_taken(client, clock, microneedling):
    response = screen(client, email="a" * 250 + "@example.com")
    assert response.status_code == 400
    assert "Please enter an email address of at most 254 characters." in response.content.decode()
    assert not Screening.objects.exists()

    email = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
    assert len(email) == 254
    assert screen(client, email=email).status_code == 302
    assert Screening.objects.get().email == email


def test_a_last_dose_that_is_no_real_date_gets_one_message_saying_so(client, clock, microneedling):
    response = screen(client, isotretinoin_recently="yes", last_dose="2026-02-30")
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count("Please enter a real date, as day, month and year.") == 2  # the summary, then the field
    assert "Please give the date of your last dose" not in page
    assert not Screening.objects.exists()
