"""EMAIL_URL decides where emails go; a mail folder is where the URL says, or var/mail."""

from django.core.mail.backends import filebased
from django.utils.module_loading import import_string

from ..settings_probe import ROOT, settings_in_fresh_process


def file_path(email_url):
    printed = settings_in_fresh_process("settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH", EMAIL_URL=email_url)
    backend, path = printed.split()
    assert issubclass(import_string(backend), filebased.EmailBackend)  # Django's, naming a file per email
    return path


def test_an_absolute_mail_folder_stays_absolute():
    assert file_path("filemail:///srv/clinic/mail") == "/srv/clinic/mail"


def test_no_folder_means_the_projects_var_mail():
    assert file_path("filemail://") == str(ROOT / "var" / "mail")


def test_the_sender_is_the_clinics_own_name():
    sender = settings_in_fresh_process("settings.DEFAULT_FROM_EMAIL", CLINIC_NAME="Northside Skin, Ltd.")
    assert sender == '"Northside Skin, Ltd." <bookings@harbourskin.example>'
    assert (
        settings_in_fresh_process("settings.DEFAULT_FROM_EMAIL") == "Harbour Skin Clinic <bookings@harbourskin.example>"
    )


def test_an_explicit_sender_wins_over_the_clinics_name():
    sender = settings_in_fresh_process(
        "settings.DEFAULT_FROM_EMAIL",
        CLINIC_NAME="Northside Skin",
        DEFAULT_FROM_EMAIL="Front desk <desk@north.example>",
    )
    assert sender == "Front desk <desk@north.example>"
