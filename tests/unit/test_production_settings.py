"""Production settings: `check --deploy` is clean, and the settings a deployment relies on are really set."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "book.clinic.example",
    "CSRF_TRUSTED_ORIGINS": "https://book.clinic.example",
    "SCREENING_ENCRYPTION_KEYS": "qZ2f1cQ2gTfP1Vd0mV6Yq8w3w2l7mT3n5Q0cX9vJ2kE=",
    # The clinic's own details, not the demo's (each left at the demo's is warned of: clinic.W001-W006).
    "SITE_URL": "https://book.clinic.example",
    "CLINIC_NAME": "Quayside Skin",
    "CLINIC_PHONE": "020 7000 1234",
    "CLINIC_ADDRESS": "3 Quay Lane, Bristol BS1 4AA",
    "CLINIC_REVIEW_EMAIL": "clinicians@clinic.example",
    "DEFAULT_FROM_EMAIL": "Quayside Skin <bookings@clinic.example>",
}


def run_django(args, **env):
    """Run manage.py in a fresh interpreter, with the production environment plus `env` (None removes a key)."""
    environment = {**os.environ, **PRODUCTION}
    for key, value in env.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def production_settings(**env):
    script = (
        "from django.conf import settings as s; import json; print(json.dumps({name: getattr(s, name) for name in "
        "['DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_PROXY_SSL_HEADER', "
        "'SECURE_HSTS_SECONDS', 'X_FRAME_OPTIONS', 'SECURE_REFERRER_POLICY', 'STAFF_SESSION_MINUTES', "
        "'SESSION_COOKIE_AGE', 'STAFF_2FA_REQUIRED', 'THROTTLE_ENABLED']}))"
    )
    result = run_django(["shell", "-c", script], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_django(["check"], SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_a_screening_encryption_key():
    result = run_django(["check"], SCREENING_ENCRYPTION_KEYS=None)
    assert result.returncode != 0
    assert "SCREENING_ENCRYPTION_KEYS" in result.stderr


def test_a_malformed_screening_encryption_key_fails_the_checks():
    result = run_django(["check"], SCREENING_ENCRYPTION_KEYS="not-a-key")
    assert result.returncode != 0
    assert "clinic.E002" in result.stderr


# The development key is in clinic/settings.py for anyone to read.
DEV_ONLY_KEY = "ZGV2LW9ubHktc2NyZWVuaW5nLWtleS1ub3Qtc2FmZSE="


def test_production_refuses_the_public_development_encryption_key():
    result = run_django(["check", "--deploy"], SCREENING_ENCRYPTION_KEYS=DEV_ONLY_KEY)
    assert result.returncode != 0
    assert "clinic.E004" in result.stderr and "development key" in result.stderr
    assert "rotate_screening_key --new-key" in result.stderr


def test_production_refuses_the_development_key_as_an_older_key_too():
    keys = f"{PRODUCTION['SCREENING_ENCRYPTION_KEYS']},{DEV_ONLY_KEY}"
    result = run_django(["check"], SCREENING_ENCRYPTION_KEYS=keys)
    assert result.returncode != 0
    assert "clinic.E004" in result.stderr


def test_production_refuses_the_public_development_secret_key():
    result = run_django(["check", "--deploy"], SECRET_KEY="dev-only-insecure-key-change-me")
    assert result.returncode != 0
    assert "clinic.E005" in result.stderr and "public in the source" in result.stderr


def test_the_hint_to_move_off_the_development_key_works_while_it_is_refused():
    result = run_django(["rotate_screening_key", "--new-key", "--skip-checks"], SCREENING_ENCRYPTION_KEYS=DEV_ONLY_KEY)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 44  # a Fernet key


def test_development_keeps_its_zero_setup_key(settings):
    from clinic import encryption

    settings.DEBUG = True
    settings.SCREENING_ENCRYPTION_KEYS = [DEV_ONLY_KEY]
    assert encryption.check_keys() == []
    settings.SECRET_KEY = PRODUCTION["SECRET_KEY"]  # only the encryption key is in question here
    settings.DEBUG = False
    assert [error.id for error in encryption.check_keys()] == ["clinic.E004"]


def test_production_cookies_are_secure_and_https_is_enforced_behind_the_proxy():
    values = production_settings()
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert values["STAFF_SESSION_MINUTES"] <= 2 * 60
    assert values["STAFF_2FA_REQUIRED"] is True
    assert values["THROTTLE_ENABLED"] is True


def test_a_short_staff_session_leaves_patients_long_enough_to_book_after_the_questions():
    # The two used to be one setting: STAFF_SESSION_MINUTES=5 ended patients' sessions, and their answers, at 5 minutes.
    values = production_settings(STAFF_SESSION_MINUTES="5")
    assert values["STAFF_SESSION_MINUTES"] == 5
    assert values["SESSION_COOKIE_AGE"] >= 2 * 60 * 60  # a screening's default time to book


def test_ssl_redirect_can_be_switched_off_for_a_local_compose_stack():
    assert production_settings(SECURE_SSL_REDIRECT="false")["SECURE_SSL_REDIRECT"] is False


def test_development_defaults_keep_the_demo_simple():
    values = production_settings(DEBUG="true", SECRET_KEY=None)
    assert values["DEBUG"] is True
    assert values["SECURE_SSL_REDIRECT"] is False and values["SESSION_COOKIE_SECURE"] is False
    assert values["STAFF_2FA_REQUIRED"] is False


# --- The demo clinic's details left in a production deployment ------------------------------------------------------

DEMO_DETAIL_WARNINGS = {
    "SITE_URL": "clinic.W001",
    "CLINIC_REVIEW_EMAIL": "clinic.W002",
    "DEFAULT_FROM_EMAIL": "clinic.W003",
    "CLINIC_NAME": "clinic.W004",
    "CLINIC_PHONE": "clinic.W005",
    "CLINIC_ADDRESS": "clinic.W006",
}


def test_a_production_left_with_the_demo_clinics_details_is_warned_to_set_each_one():
    result = run_django(["check", "--deploy"], **dict.fromkeys(DEMO_DETAIL_WARNINGS))
    assert result.returncode == 0, result.stderr  # warnings: the site still starts
    output = result.stdout + result.stderr
    for name, code in DEMO_DETAIL_WARNINGS.items():
        assert re.search(rf"\({re.escape(code)}\) .*\n\tHINT: Set {name} ", output), (code, output)
    assert "security.W" not in output


@pytest.fixture
def clinics_own_details(settings):
    """A production whose details are all the clinic's own, as PRODUCTION sets them."""
    settings.DEBUG = False
    for name in DEMO_DETAIL_WARNINGS:
        setattr(settings, name, PRODUCTION[name])
    return settings


@pytest.mark.parametrize("name", DEMO_DETAIL_WARNINGS)
def test_each_demo_detail_left_in_production_is_its_own_warning(clinics_own_details, name):
    from clinic.checks import demo_details_in_production

    assert demo_details_in_production() == []
    demo = clinics_own_details.DEMO_CLINIC[name]
    setattr(clinics_own_details, name, demo)
    [warning] = demo_details_in_production()
    assert warning.id == DEMO_DETAIL_WARNINGS[name] and warning.level == checks.WARNING
    assert f"Set {name} " in warning.hint


@pytest.mark.parametrize(
    "site_url",
    ["https://www.clinic.example", "book.clinic.example", "http://book.clinic.example"],
    ids=["a host ALLOWED_HOSTS refuses", "no scheme", "plain http"],
)
def test_a_site_url_patients_links_cannot_open_is_warned_of(clinics_own_details, site_url):
    from clinic.checks import production_site_settings

    clinics_own_details.ALLOWED_HOSTS = ["book.clinic.example"]
    clinics_own_details.STAFF_2FA_REQUIRED = True
    assert production_site_settings() == []
    clinics_own_details.SITE_URL = site_url
    [warning] = production_site_settings()
    assert warning.id == "clinic.W008" and "ALLOWED_HOSTS" in warning.hint


def test_staff_sign_in_without_two_factor_in_production_is_warned_of(clinics_own_details):
    from clinic.checks import production_site_settings

    clinics_own_details.ALLOWED_HOSTS = ["book.clinic.example"]
    clinics_own_details.STAFF_2FA_REQUIRED = False
    assert [warning.id for warning in production_site_settings()] == ["clinic.W009"]


def test_the_compose_stacks_local_site_url_and_a_sender_on_the_demo_domain_are_warned_of(clinics_own_details):
    from clinic.checks import demo_details_in_production

    clinics_own_details.SITE_URL = "http://localhost:8000"
    clinics_own_details.DEFAULT_FROM_EMAIL = "Quayside Skin <bookings@harbourskin.example>"  # CLINIC_NAME set alone
    assert [warning.id for warning in demo_details_in_production()] == ["clinic.W001", "clinic.W003"]


def test_development_is_not_warned_of_the_demo_clinic(settings):
    from clinic.checks import demo_details_in_production

    settings.DEBUG = True
    for name in DEMO_DETAIL_WARNINGS:
        setattr(settings, name, settings.DEMO_CLINIC[name])
    assert demo_details_in_production() == []
