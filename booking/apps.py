from django.apps import AppConfig


class BookingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "booking"
    verbose_name = "Booking"

    def ready(self):
        from auditlog.registry import auditlog
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import m2m_changed, post_delete, post_init, post_save

        from . import checks, selectors  # noqa: F401 - checks registers itself
        from .models import Appointment, Practitioner, TimeOff, Treatment, WorkingHours
        from .selectors import invalidate_availability, remember_diary_times

        request_started.connect(selectors.request_started, dispatch_uid="diary-version-request-started")
        request_finished.connect(selectors.request_finished, dispatch_uid="diary-version-request-finished")

        # Anything availability reads starts new versions of what it changed, so no cached free time outlives it.
        for model in (Appointment, TimeOff):
            post_init.connect(remember_diary_times, sender=model, dispatch_uid=f"availability-init-{model.__name__}")
        for model in (Appointment, Practitioner, TimeOff, Treatment, WorkingHours):
            post_save.connect(invalidate_availability, sender=model, dispatch_uid=f"availability-{model.__name__}")
            post_delete.connect(
                invalidate_availability, sender=model, dispatch_uid=f"availability-del-{model.__name__}"
            )
        m2m_changed.connect(
            invalidate_availability, sender=Practitioner.treatments.through, dispatch_uid="availability-treatments"
        )

        # Every change to the diary is on the audit record, with who made it and from where. The rows' own columns:
        # reverse relations (an appointment's emails, its screening) describe other rows, and reading them for
        # every booking cost a query and most of the entry's time.
        for model in (Appointment, Practitioner, TimeOff, Treatment, WorkingHours):
            auditlog.register(model, include_fields=[field.name for field in model._meta.concrete_fields])
