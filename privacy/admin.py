from django.contrib import admin

from .models import PatientDataRequest


@admin.register(PatientDataRequest)
class PatientDataRequestAdmin(admin.ModelAdmin):
    """The record of exports and erasures: read-only, nobody edits or deletes it here."""

    list_display = ["done_at", "kind", "done_by", "done_from", "counts"]
    list_filter = ["kind"]
    search_fields = ["email_digest"]
    date_hierarchy = "done_at"
    list_select_related = ["done_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
