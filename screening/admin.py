"""Staff screens for the screening policy, its questions, stored decisions and eligibility reminders.

Health answers never appear in a list or a search: only on a single screening's page, in one read-only block.
"""

from django.contrib import admin
from django.utils.html import format_html_join

from . import review_admin  # noqa: F401 - registers the review queue
from .models import Contraindication, EligibilityReminder, Screening, ScreeningPolicy
from .review import answers_in_words, record_answers_viewed
from .review_admin import ANSWERS_PERMISSION

HEALTH_FIELDS = ("answers_table", "reason_list", "rules")


@admin.register(ScreeningPolicy)
class ScreeningPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "treatment",
        "isotretinoin_wait_months",
        "recent_dose_window_months",
        "screening_valid_minutes",
        "rules_version",
        "updated_at",
    ]
    list_select_related = ["treatment"]
    search_fields = ["treatment__name"]
    readonly_fields = ["rules_version", "updated_at"]


@admin.register(Contraindication)
class ContraindicationAdmin(admin.ModelAdmin):
    list_display = ["question", "key", "action", "wait_days", "active", "display_order"]
    list_filter = ["action", "active"]
    search_fields = ["key", "question"]
    list_editable = ["display_order"]

    def get_readonly_fields(self, request, obj=None):
        # The key is stored with every answer; renaming it would orphan past screenings.
        return ["key"] if obj else []


class LaterScreeningInline(admin.TabularInline):
    model = Screening
    fk_name = "previous"
    verbose_name = "later screening with changed answers"
    verbose_name_plural = "later screenings with changed answers"
    extra = 0
    can_delete = False
    fields = ["created_at", "outcome", "eligible_from", "appointment"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Screening)
class ScreeningAdmin(admin.ModelAdmin):
    list_display = ["created_at", "treatment", "email", "outcome", "needs_review", "eligible_from", "appointment"]
    list_filter = ["outcome", "needs_review", "treatment", "rules_version"]
    search_fields = ["email", "=public_id"]
    date_hierarchy = "created_at"
    list_select_related = ["treatment", "appointment"]
    fields = [
        "public_id",
        "treatment",
        "email",
        "outcome",
        "needs_review",
        "eligible_from",
        "reason_list",
        "answers_table",
        "previous",
        "appointment",
        "rules_version",
        "rules",
        "created_at",
        "expires_at",
        "used_at",
    ]
    inlines = [LaterScreeningInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A decision is a record: it is read, never edited.
        return False

    @admin.display(description="Reasons")
    def reason_list(self, obj):
        return format_html_join("", "<li>{}</li>", ((r.get("text", ""),) for r in obj.reasons or [])) or "-"

    @admin.display(description="Answers")
    def answers_table(self, obj):
        """The patient's answers, in words (the health data; shown only on this page)."""
        return answers_in_words(obj)

    def get_fields(self, request, obj=None):
        # Health answers and the reasons drawn from them are for staff holding their own permission.
        fields = super().get_fields(request, obj)
        if request.user.has_perm(ANSWERS_PERMISSION):
            return fields
        return [name for name in fields if name not in HEALTH_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        screening = getattr(response, "context_data", {}).get("original")
        if screening is not None and request.user.has_perm(ANSWERS_PERMISSION):
            record_answers_viewed(screening)
        return response


@admin.register(EligibilityReminder)
class EligibilityReminderAdmin(admin.ModelAdmin):
    list_display = ["send_at", "kind", "treatment", "email", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["state", "kind", "treatment"]
    search_fields = ["email"]
    date_hierarchy = "send_at"
    list_select_related = ["treatment"]
    readonly_fields = [
        "email",
        "treatment",
        "screening",
        "kind",
        "due_on",
        "send_at",
        "state",
        "attempts",
        "last_error",
        "sent_at",
        "unsubscribe_token",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False
