"""EMAIL_URL decides where emails go; a mail folder is where the URL says, or var/mail."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def file_path(email_url):
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"DJANGO_SETTINGS_MODULE": "clinic.settings", "DEBUG": "true", "EMAIL_URL": email_url, "PATH": ""},
    )
    backend, path = result.stdout.split()
    assert backend.endswith("filebased.EmailBackend")
    return path


def test_an_absolute_mail_folder_stays_absolute():
    assert file_path("filemail:///srv/clinic/mail") == "/srv/clinic/mail"


def test_no_folder_means_the_projects_var_mail():
    assert file_path("filemail://") == str(ROOT / "var" / "mail")
