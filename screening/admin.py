"""Staff screens for the screening policy, its questions, stored decisions and eligibility reminders.

Health answers never appear in a list or a search: only on a single screening's page, in one read-only block.
"""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .models import Contraindication, EligibilityReminder, Screening, ScreeningPolicy


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
    readonly_fields = fields
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
    readonly_fields = fields
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
        answers = obj.answers or {}
        questions = dict(Contraindication.objects.values_list("key", "question"))
        rows = [
            ("Taking isotretinoin now", _yes_no(answers.get("taking_isotretinoin"))),
            ("Expected end of course", answers.get("course_end") or "-"),
            ("Isotretinoin in the asked period", _yes_no(answers.get("isotretinoin_recently"))),
            ("Last dose", answers.get("last_dose") or "-"),
            ("Not sure of the last dose", _yes_no(answers.get("last_dose_unsure"))),
        ]
        other = answers.get("contraindications") or {}
        rows += [(questions.get(key, key), _yes_no(yes)) for key, yes in other.items()]
        body = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows)
        return format_html("<table>{}</table>", body)


def _yes_no(value) -> str:
    return "Yes" if value else "No"


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
