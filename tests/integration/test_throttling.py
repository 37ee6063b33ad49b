"""Patient endpoints are throttled per address, per email and per manage link, with a kind 429 page."""

import os
import re
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import caches

from booking import services
from booking.forms import slot_value
from booking.models import Appointment
from booking.tokens import manage_token

from ..factories import booking_post, patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)
ROOT = Path(__file__).resolve().parents[2]
DETAILS = "/book/hydrating-facial/details/"


def start_value(hour=10):
    return slot_value(datetime.combine(TUESDAY, time(hour), tzinfo=LONDON))


def bad_post(client, email="alex@example.com", address="203.0.113.7"):
    """A booking attempt with a bad phone number: refused (400), so nothing is written whatever happens."""
    return client.post(DETAILS, booking_post(start_value(), email=email, phone="call me"), REMOTE_ADDR=address)


def limits(throttle, name, methods=("POST",), **rates):
    throttle.THROTTLE_RULES = {**throttle.THROTTLE_RULES, name: {"methods": list(methods), "limits": rates}}


def minutes_in(page):
    found = re.search(r"try again in (\d+) minutes?", page)
    assert found, "the page says when to try again"
    return int(found.group(1))


def test_too_many_booking_attempts_from_one_address_get_a_429_page_saying_when_to_retry(client, clock, nurse, throttle):
    limits(throttle, "booking:details", ip="3/10m")
    assert [bad_post(client, email=f"p{n}@example.com").status_code for n in range(3)] == [400, 400, 400]
    response = bad_post(client, email="p4@example.com")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many attempts" in page and 1 <= minutes_in(page) <= 10
    assert 0 < int(response["Retry-After"]) <= 600
    assert not Appointment.objects.exists()


def test_another_address_is_not_held_back_by_one_that_was_throttled(client, clock, nurse, throttle):
    limits(throttle, "booking:details", ip="2/10m")
    for n in range(3):
        bad_post(client, email=f"p{n}@example.com")
    assert bad_post(client, email="x@example.com", address="198.51.100.20").status_code == 400


def good_post(client, hour, email="alex@example.com", address="203.0.113.7"):
    """A booking a valid form asks for: counted against its email whatever the diary then says."""
    return client.post(DETAILS, booking_post(start_value(hour), email=email), REMOTE_ADDR=address)


def test_one_email_is_throttled_across_addresses_and_letter_case(client, clock, nurse, throttle, commits):
    limits(throttle, "booking:details", ip="100/10m", email="2/h")
    with commits(execute=True):
        assert good_post(client, 10, email="alex@example.com", address="203.0.113.1").status_code == 302
        good_post(client, 11, email="ALEX@example.com ", address="203.0.113.2")
        refused = good_post(client, 12, email="alex@example.com", address="203.0.113.3")
        assert refused.status_code == 429 and "try again in" in refused.content.decode()
        assert good_post(client, 12, email="sam@example.com", address="203.0.113.3").status_code == 302
    assert not Appointment.objects.filter(start__hour=12, patient_email__iexact="alex@example.com").exists()


def test_junk_sent_with_a_patients_email_does_not_lock_them_out_of_booking(client, clock, nurse, throttle, commits):
    """Found by QA: ten bad forms from a stranger's address used up the patient's hour, so their booking got 429."""
    for _ in range(10):
        assert bad_post(client, email="locked.out@example.com", address="203.0.113.9").status_code == 400
        client.post(DETAILS, {"email": "locked.out@example.com", "start": "x"}, REMOTE_ADDR="203.0.113.9")
    with commits(execute=True):
        response = good_post(client, 10, email="locked.out@example.com", address="198.51.100.7")
    assert response.status_code == 302 and "/confirmed/" in response["Location"]
    assert Appointment.objects.filter(patient_email="locked.out@example.com").count() == 1


def test_the_throttle_lifts_when_the_window_has_passed(client, clock, nurse, throttle):
    limits(throttle, "booking:details", ip="1/10m")
    bad_post(client)
    response = bad_post(client)
    assert response.status_code == 429
    clock.shift(timedelta(seconds=int(response["Retry-After"]) + 1))
    assert bad_post(client).status_code == 400


def test_a_patient_within_the_limits_books_normally(client, clock, nurse, throttle, commits):
    with commits(execute=True):
        response = client.post(DETAILS, booking_post(start_value()))
    assert response.status_code == 302 and Appointment.objects.count() == 1


def test_looking_at_times_is_not_throttled_only_submitting_is(client, clock, nurse, throttle):
    limits(throttle, "booking:details", ip="1/10m")
    for _ in range(3):
        assert client.get(DETAILS, {"start": start_value()}).status_code == 200


def test_manage_links_are_throttled_per_address_and_per_link(client, clock, nurse, throttle):
    appointment = services.appointment_book(
        treatment=nurse.treatments.get(),
        start=datetime.combine(TUESDAY, time(10), tzinfo=LONDON),
        patient=patient(),
        now=datetime.now(LONDON),
    )
    token = manage_token(appointment.public_id)
    limits(throttle, "booking:manage", methods=["GET"], ip="2/10m")
    limits(throttle, "booking:cancel", ip="100/10m", link="2/h")
    assert client.get(f"/booking/{token}/").status_code == 200
    assert client.get("/booking/not-a-token/").status_code == 404
    assert client.get(f"/booking/{token}/").status_code == 429
    for n in range(2):
        client.post(f"/booking/{token}/cancel/", {}, REMOTE_ADDR=f"203.0.113.{n + 10}")
    assert client.post(f"/booking/{token}/cancel/", {"confirm": "on"}, REMOTE_ADDR="203.0.113.99").status_code == 429
    appointment.refresh_from_db()
    assert appointment.status != Appointment.Status.CANCELLED


def test_a_whole_namespace_can_share_one_rule(throttle):
    from clinic.throttle import rule_for

    limits(throttle, "screening:*", ip="5/10m")
    limits(throttle, "screening:unsubscribe", ip="9/10m")
    assert rule_for("screening:questions")[0] == "screening:*"
    assert rule_for("screening:unsubscribe")[0] == "screening:unsubscribe"
    assert rule_for("booking:treatments") is None


def test_the_client_address_comes_from_our_own_proxy_not_from_the_client(rf, settings):
    from clinic.throttle import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # the client can forge 1.2.3.4, not what our proxy appended
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="junk")) == "10.0.0.5"


def test_an_operator_behind_a_proxy_left_uncounted_is_told_once_in_the_log(rf, caplog, monkeypatch):
    from clinic import throttle

    monkeypatch.setattr(throttle, "_told_of_unused_forwarding", False)
    throttle.client_ip(rf.get("/", REMOTE_ADDR="10.0.0.5"))
    assert "TRUSTED_PROXY_COUNT" not in caplog.text  # no proxy, nothing to say
    for _ in range(3):
        throttle.client_ip(rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9"))
    assert caplog.text.count("set TRUSTED_PROXY_COUNT to the number of proxies") == 1


def test_a_cache_outage_lets_patients_through_instead_of_failing(client, clock, nurse, throttle, settings, commits):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    limits(throttle, "booking:details", ip="1/10m")
    bad_post(client)
    assert bad_post(client).status_code == 400
    with commits(execute=True):
        assert client.post(DETAILS, booking_post(start_value())).status_code == 302


@pytest.mark.redis
def test_the_count_is_shared_between_worker_processes(client, throttle, settings):
    """Two processes, like two gunicorn workers, see one count in Redis (real time in both: no clock here)."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs REDIS_URL")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    limits(throttle, "booking:details", ip="2/10m")
    assert all(bad_post(client).status_code != 429 for _ in range(2))
    other_worker = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'clinic.settings'; django.setup()\n"
        "from django.test import Client, override_settings\n"
        f"rules = {{'booking:details': {{'methods': ['POST'], 'limits': {{'ip': '2/10m'}}}}}}\n"
        f"with override_settings(THROTTLE_RULES=rules, THROTTLE_KEY_PREFIX={settings.THROTTLE_KEY_PREFIX!r}):\n"
        f"    print(Client().post({DETAILS!r}, {{'email': 'a@example.com'}}, REMOTE_ADDR='203.0.113.7').status_code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", other_worker],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REDIS_URL": redis_url, "DEBUG": "true"},
    )
    assert result.stdout.strip().splitlines()[-1] == "429", result.stderr
    caches["default"].close()


def test_screening_answers_are_throttled_per_email(client, clock, throttle):
    from .screening_helpers import SLUG, answers_post, make_clinic

    make_clinic()
    limits(throttle, "screening:*", ip="100/10m", email="2/h")
    for n in range(2):
        assert client.post(f"/book/{SLUG}/screening/", answers_post(), REMOTE_ADDR=f"203.0.113.{n}").status_code == 302
    response = client.post(f"/book/{SLUG}/screening/", answers_post(), REMOTE_ADDR="203.0.113.50")
    assert response.status_code == 429 and "try again in" in response.content.decode()


def test_junk_sent_with_a_patients_email_does_not_lock_them_out_of_the_screening(client, clock, throttle):
    """Found by QA: ten posts of an email alone from a stranger's address held the patient's answers back with 429."""
    from .screening_helpers import SLUG, answers_post, make_clinic

    make_clinic()
    for _ in range(10):
        junk = client.post(f"/book/{SLUG}/screening/", {"email": "locked.out@example.com"}, REMOTE_ADDR="203.0.113.9")
        assert junk.status_code == 400
    response = client.post(
        f"/book/{SLUG}/screening/", answers_post(email="locked.out@example.com"), REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 302 and f"/book/{SLUG}/" in response["Location"]


def test_unsubscribe_links_are_throttled_per_address(client, clock, throttle):
    limits(throttle, "screening:unsubscribe", methods=["GET", "POST"], ip="2/10m")
    for _ in range(2):
        assert client.get("/reminders/unsubscribe/0b5e4e2c-9c8c-4c55-9d55-6a3f4f1f7a10/").status_code == 404
    assert client.get("/reminders/unsubscribe/0b5e4e2c-9c8c-4c55-9d55-6a3f4f1f7a10/").status_code == 429
