from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClinicConfig(AppConfig):
    """The project package as an app: its management commands and templates."""

    default = True
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.core import checks

        from . import admin_site, encryption
        from . import checks as clinic_checks

        checks.register(encryption.check_keys, checks.Tags.security)
        checks.register(clinic_checks.demo_details_in_production)
        checks.register(clinic_checks.public_compose_keys_in_production, checks.Tags.security)
        checks.register(clinic_checks.production_site_settings, checks.Tags.security)
        user_logged_in.connect(admin_site.remember_when_staff_signed_in, dispatch_uid="staff_signed_in_at")


class ClinicAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with ClinicAdminSite as `admin.site` so every app's @admin.register lands on it."""

    default = False
    default_site = "clinic.admin_site.ClinicAdminSite"
