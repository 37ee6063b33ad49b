from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate

# Staff in this group (created by the staff-review work, issue 4) export and erase patient data.
CLINICIAN_GROUP = "Clinician"
CLINICIAN_PERMISSIONS = ("export_patient_data", "erase_patient_data", "view_patientdatarequest")


def grant_clinicians(sender=None, using="default", **kwargs):
    """Give the Clinician group, when there is one, the patient data permissions. Safe to run after every migrate."""
    from django.contrib.auth.models import Group, Permission
    from django.db import connections

    if not {"auth_group", "auth_permission"} <= set(connections[using].introspection.table_names()):
        return  # a partial migrate (one app only): nothing to grant to yet
    group = Group.objects.using(using).filter(name=CLINICIAN_GROUP).first()
    if group is not None:
        permissions = Permission.objects.using(using).filter(
            content_type__app_label="privacy", codename__in=CLINICIAN_PERMISSIONS
        )
        group.permissions.add(*permissions)


class PrivacyConfig(AppConfig):
    """Health data at rest and over time: encryption, retention, a patient's export and erasure."""

    name = "privacy"
    verbose_name = "Patient data"

    def ready(self):
        from . import admin_actions, crypto

        checks.register(crypto.check_keys, checks.Tags.security)
        post_migrate.connect(grant_clinicians, sender=self, dispatch_uid="privacy.grant_clinicians")
        admin_actions.attach()
        if self.apps.is_installed("auditlog"):
            from auditlog.registry import auditlog

            from .models import PatientDataRequest

            auditlog.register(PatientDataRequest)
