"""System checks for a deployment that still shows the demo clinic: nothing fails, but patients are let down."""

from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.http.request import validate_host

# Hosts only this machine reaches: links built on them do not open in a patient's inbox.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].lower()


def demo_details_in_production(app_configs=None, **kwargs):
    """Warn, with DEBUG off, of each detail patients see that is still the demo clinic's (settings.DEMO_CLINIC)."""
    demo = getattr(settings, "DEMO_CLINIC", None)
    if settings.DEBUG or not demo:
        return []
    warnings = []
    if urlsplit(settings.SITE_URL).hostname in LOCAL_HOSTS:
        warnings.append(
            checks.Warning(
                f"SITE_URL is {settings.SITE_URL}, an address on this machine: the manage, unsubscribe and "
                "book-again links in patients' emails will not open for them.",
                hint="Set SITE_URL to the address patients open, such as https://book.yourclinic.com.",
                id="clinic.W001",
            )
        )
    demo_domain = _domain(demo["CLINIC_REVIEW_EMAIL"])
    if _domain(settings.CLINIC_REVIEW_EMAIL) == demo_domain:
        warnings.append(
            checks.Warning(
                f"CLINIC_REVIEW_EMAIL is the demo clinic's {settings.CLINIC_REVIEW_EMAIL}: nobody is told of "
                "bookings still awaiting a clinician.",
                hint="Set CLINIC_REVIEW_EMAIL to your clinicians' inbox.",
                id="clinic.W002",
            )
        )
    if _domain(settings.DEFAULT_FROM_EMAIL) == demo_domain:
        warnings.append(
            checks.Warning(
                f"Patients' emails are sent from the demo clinic's {parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}: mail "
                "servers refuse or junk them, and replies go nowhere.",
                hint="Set DEFAULT_FROM_EMAIL to an address of your clinic's domain, such as \"Your Clinic "
                '<bookings@yourclinic.com>".',
                id="clinic.W003",
            )
        )
    for code, name, what in [
        ("clinic.W004", "CLINIC_NAME", "name"),
        ("clinic.W005", "CLINIC_PHONE", "phone number"),
        ("clinic.W006", "CLINIC_ADDRESS", "address"),
    ]:
        if getattr(settings, name) == demo[name]:
            warnings.append(
                checks.Warning(
                    f"{name} is the demo clinic's {what} ({demo[name]}): patients see it on every page and email.",
                    hint=f"Set {name} to your clinic's {what}.",
                    id=code,
                )
            )
    return warnings


def public_compose_keys_in_production(app_configs=None, **kwargs):
    """Warn, with DEBUG off, of docker-compose.yml's public fallback keys: anyone can read that file."""
    public = getattr(settings, "PUBLIC_COMPOSE_KEYS", {})
    if settings.DEBUG or not public:
        return []
    in_use = {
        "SECRET_KEY": settings.SECRET_KEY == public["SECRET_KEY"],
        "SCREENING_ENCRYPTION_KEYS": public["SCREENING_ENCRYPTION_KEYS"] in settings.SCREENING_ENCRYPTION_KEYS,
    }
    return [
        checks.Warning(
            f"{name} is docker-compose.yml's public fallback, for a local stack only: "
            + (
                "anyone can forge manage links and sessions."
                if name == "SECRET_KEY"
                else "anyone can read the health answers encrypted with it."
            ),
            hint=f"Set {name} in .env to a key of your own (README, Configuration).",
            id="clinic.W007",
        )
        for name, used in in_use.items()
        if used
    ]


def production_site_settings(app_configs=None, **kwargs):
    """Warn, with DEBUG off, of settings that pass Django's own deploy checks yet break or weaken a real site: a
    SITE_URL patients' links cannot open (no https scheme, or a host ALLOWED_HOSTS refuses with a 400), and staff
    sign-in without two-factor in front of health data."""
    if settings.DEBUG:
        return []
    warnings = []
    site = urlsplit(settings.SITE_URL)
    if site.hostname not in LOCAL_HOSTS and (
        site.scheme != "https" or not site.hostname or not validate_host(site.hostname, settings.ALLOWED_HOSTS)
    ):
        warnings.append(
            checks.Warning(
                f"SITE_URL is {settings.SITE_URL!r}: the links in patients' emails need an https address whose host "
                f"ALLOWED_HOSTS ({', '.join(settings.ALLOWED_HOSTS)}) lets in, or they get an error page.",
                hint="Set SITE_URL to https://<the host patients open>, and put that host in ALLOWED_HOSTS.",
                id="clinic.W008",
            )
        )
    if not settings.STAFF_2FA_REQUIRED:
        warnings.append(
            checks.Warning(
                "STAFF_2FA_REQUIRED is false: staff sign in to the health answers with a password alone.",
                hint="Set STAFF_2FA_REQUIRED=true and give each staff member a device (manage.py add_totp_device).",
                id="clinic.W009",
            )
        )
    return warnings
