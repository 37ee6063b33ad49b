from django.contrib import admin, messages
from django.utils import timezone

from . import services
from .exceptions import BookingError
from .models import Appointment, AppointmentEmail, Practitioner, TimeOff, Treatment, WorkingHours


@admin.register(Treatment)
class TreatmentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "duration_minutes",
        "buffer_after_minutes",
        "price",
        "requires_screening",
        "safe_alternative",
        "active",
        "display_order",
    ]
    list_editable = ["active", "display_order"]
    list_filter = ["active", "requires_screening", "safe_alternative"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "active"]
    list_filter = ["active", "treatments"]
    search_fields = ["name", "title", "email"]
    filter_horizontal = ["treatments"]
    inlines = [WorkingHoursInline]


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "weekday", "start_time", "end_time"]
    list_filter = ["weekday", "practitioner"]
    search_fields = ["practitioner__name"]
    list_select_related = ["practitioner"]


@admin.register(TimeOff)
class TimeOffAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "start", "end", "reason"]
    list_filter = ["practitioner"]
    search_fields = ["practitioner__name", "reason"]
    date_hierarchy = "start"
    list_select_related = ["practitioner"]


def _status_action(status, description):
    def action(modeladmin, request, queryset):
        now, changed = timezone.now(), 0
        for appointment in queryset:
            try:
                services.appointment_change_status(
                    appointment=appointment, status=status, now=now, reason=f"Set by {request.user.get_username()}"
                )
                changed += 1
            except BookingError as error:
                modeladmin.message_user(request, f"{appointment}: {error.message}", messages.WARNING)
        modeladmin.message_user(request, f"{changed} appointment(s) marked {Appointment.Status(status).label.lower()}.")

    action.__name__ = f"mark_{status}"
    action.short_description = description
    action.allowed_permissions = ("change",)
    return action


class AppointmentEmailInline(admin.TabularInline):
    model = AppointmentEmail
    extra = 0
    can_delete = False
    fields = ["kind", "due_at", "state", "attempts", "sent_at", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["start", "treatment", "practitioner", "patient_name", "status"]
    list_filter = ["status", "treatment", "practitioner"]
    search_fields = ["patient_name", "patient_email", "patient_phone", "=public_id"]
    date_hierarchy = "start"
    list_select_related = ["treatment", "practitioner"]
    readonly_fields = ["public_id", "end", "busy_until", "created_at", "updated_at"]
    fields = [
        "treatment",
        "practitioner",
        "start",
        "end",
        "busy_until",
        "status",
        "status_reason",
        "patient_name",
        "patient_email",
        "patient_phone",
        "patient_date_of_birth",
        "public_id",
        "created_at",
        "updated_at",
    ]
    inlines = [AppointmentEmailInline]
    actions = [
        _status_action(Appointment.Status.COMPLETED, "Mark selected as completed"),
        _status_action(Appointment.Status.NO_SHOW, "Mark selected as no-show"),
        _status_action(Appointment.Status.CANCELLED, "Cancel selected (the clinic cancels; patients are emailed)"),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # Status changes go through the actions, which follow the transition table and email the patient. Erased
        # details stay erased: nobody is asked to type a date of birth back in to save another change.
        erased = [name for name in self.fields if name.startswith("patient_")] if obj.details_erased else []
        return [*self.readonly_fields, "status", *erased]


@admin.register(AppointmentEmail)
class AppointmentEmailAdmin(admin.ModelAdmin):
    list_display = ["appointment", "kind", "due_at", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["state", "kind"]
    search_fields = ["appointment__patient_email"]
    date_hierarchy = "due_at"
    # An appointment's name shows its treatment and practitioner.
    list_select_related = ["appointment__treatment", "appointment__practitioner"]
    readonly_fields = [
        "appointment",
        "kind",
        "appointment_start",
        "due_at",
        "state",
        "attempts",
        "last_error",
        "sent_at",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False
