from django.apps import AppConfig
from django.core import checks


class PrivacyConfig(AppConfig):
    """Health data at rest and over time: encryption, retention, a patient's export and erasure."""

    name = "privacy"
    verbose_name = "Patient data"

    def ready(self):
        from . import admin_actions, crypto

        checks.register(crypto.check_keys, checks.Tags.security)
        admin_actions.attach()
        if self.apps.is_installed("auditlog"):
            from auditlog.registry import auditlog

            from .models import PatientDataRequest

            auditlog.register(PatientDataRequest)
