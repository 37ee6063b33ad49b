"""The availability API answers its errors in JSON, keyed by the parameter the client sent."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("start", ["2020-01-01", "2026-13-01", "soon"])
def test_a_bad_start_is_an_error_keyed_start(client, clock, nurse, start):
    response = client.get("/api/availability/hydrating-facial/", {"start": start, "days": 3})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert list(errors) == ["start"] and errors["start"]


def test_a_past_start_says_which_days_can_be_asked_for(client, clock, nurse):
    errors = client.get("/api/availability/hydrating-facial/", {"start": "2020-01-01"}).json()["errors"]
    assert errors == {"start": ["Please choose a day between 2 March 2026 and 31 May 2026."]}


def test_a_bad_start_and_days_are_both_named(client, clock, nurse):
    errors = client.get("/api/availability/hydrating-facial/", {"start": "2020-01-01", "days": "x"}).json()["errors"]
    assert set(errors) == {"start", "days"}


def test_an_unknown_treatment_is_a_json_404(client, clock, nurse):
    response = client.get("/api/availability/botox/", {"start": "2026-03-03"})
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"error": "No such treatment is bookable online."}
