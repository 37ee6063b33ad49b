"""An unhandled error is emailed to the addresses in ADMINS, as a deployment configures them."""

import email
import os
import subprocess
import sys
from pathlib import Path

from django.urls import path

ROOT = Path(__file__).resolve().parents[2]


def fall_over(request):
    raise RuntimeError("the diary fell over")


urlpatterns = [path("fall-over", fall_over)]

REQUEST_IN_PRODUCTION = """
import django; django.setup()
from django.test import Client, override_settings
with override_settings(ROOT_URLCONF="tests.unit.test_error_emails"):
    response = Client(raise_request_exception=False).get("/fall-over", headers={"X-Forwarded-Proto": "https"})
print(response.status_code)
"""


def test_an_unhandled_error_in_production_is_emailed_to_the_admins_from_the_clinics_address(tmp_path):
    mail_folder = tmp_path / "mail"
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DEBUG": "false",
        "SECRET_KEY": "an-operators-own-secret-key-0123456789-abcdefghijklmnop",
        "SCREENING_ENCRYPTION_KEYS": "qZ2f1cQ2gTfP1Vd0mV6Yq8w3w2l7mT3n5Q0cX9vJ2kE=",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "EMAIL_URL": f"filemail://{mail_folder}",
        "DEFAULT_FROM_EMAIL": "Quayside Skin <bookings@quayside.example>",
        "ADMINS": "Ops Team <ops@quayside.example>, dev@quayside.example",
    }
    result = subprocess.run(
        [sys.executable, "-c", REQUEST_IN_PRODUCTION], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.stdout.strip() == "500", result.stderr
    [written] = mail_folder.iterdir()
    report = email.message_from_bytes(written.read_bytes())
    assert report["To"] == "ops@quayside.example, dev@quayside.example"
    assert report["From"] == "bookings@quayside.example"
    assert "Internal Server Error: /fall-over" in report["Subject"]
    body = report.get_payload(decode=True).decode()
    assert "RuntimeError at /fall-over\nthe diary fell over" in body
