from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "screening"
    verbose_name = "Screening"

    def ready(self):
        from auditlog.registry import auditlog

        from .admin import attach_patient_data_actions
        from .models import Contraindication, PatientDataRequest, Screening, ScreeningPolicy

        # Admin autodiscovery (django.contrib.admin is first in INSTALLED_APPS) has registered booking's admin by now.
        attach_patient_data_actions()

        # Changes to the rules, and to screenings, are on the audit record. The answers themselves never go into the
        # log (it is searchable by every staff member allowed to read it); views of them are logged as accesses.
        auditlog.register(ScreeningPolicy)
        auditlog.register(Contraindication)
        auditlog.register(Screening, exclude_fields=["answers", "reasons"])
        # Eligibility reminders are not audited: they carry no health answer, a send is recorded on the row itself
        # (`sent_at`, an opt-out in `unsubscribed_at`), and an audit entry per email would halve the dispatch rate.
        auditlog.register(PatientDataRequest)
