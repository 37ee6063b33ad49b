"""Staff screens for the screening policy, its questions, stored decisions, eligibility reminders and the record of
patient data requests; and the patient data export and erasure actions on the appointments, screenings and
eligibility reminders lists.

Health answers never appear in a list or a search: only on a single screening's page, in one read-only block.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from booking.admin import bookings_linked
from booking.models import Appointment, Treatment
from clinic.admin_site import InputsNamedTabularInline
from clinic.throttle import client_ip

from . import patient_data, reminders, review_admin, selectors, services  # noqa: F401 - importing review_admin registers the review queue
from .exceptions import PatientDataError
from .models import Contraindication, EligibilityReminder, PatientDataRequest, Screening, ScreeningPolicy, email_digest
from .review import answers_in_words, record_answers_viewed
from .review_admin import ANSWERS_PERMISSION

EXPORT_PERMISSION = "screening.export_patient_data"
ERASE_PERMISSION = "screening.erase_patient_data"

HEALTH_FIELDS = ("answers_table", "reason_list", "rules")


@admin.register(ScreeningPolicy)
class ScreeningPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "treatment",
        "isotretinoin_wait_months",
        "recent_dose_window_months",
        "screening_valid_minutes",
        "isotretinoin_safe_alternatives",
        "rules_version",
        "chosen_at",
    ]
    list_select_related = ["treatment"]
    search_fields = ["treatment__name"]
    readonly_fields = ["rules_version", "updated_at", "chosen_at"]

    def get_readonly_fields(self, request, obj=None):
        return (
            [*self.readonly_fields, "treatment"] if obj is not None else self.readonly_fields
        )  # a policy stays its own

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "treatment":
            # A policy is for a screened treatment, one each: the add form offers those without one yet.
            kwargs["queryset"] = Treatment.objects.filter(requires_screening=True, screening_policy__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # A treatment's policy is its rules: deleted on its own, it would come back with the defaults (a 6-month wait
        # whatever the clinic had set) and its rules version from 1 again, matching screenings decided under other
        # rules. It still goes with its treatment, whose delete page asks this too.
        own_pages = (getattr(request.resolver_match, "url_name", "") or "").startswith("screening_screeningpolicy_")
        return not own_pages and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        version, now = obj.rules_version, timezone.now()
        refused_before = (
            services.held_bookings_the_answers_refuse(treatment=obj.treatment, now=now) if change else set()
        )
        obj.chosen_at = now
        super().save_model(request, obj, form, change)
        if change and obj.rules_version != version:
            follow_the_rules(self, request, [obj.treatment])
            # A shorter wait frees held bookings the old rules refused: say so, as a longer one says which it holds.
            freed = refused_before - services.held_bookings_the_answers_refuse(treatment=obj.treatment, now=now)
            if freed:
                self.message_user(
                    request,
                    f"{len(freed)} held booking(s) the old rules ruled out can now be approved under the new ones. "
                    "See Bookings awaiting review.",
                )


def follow_the_rules(model_admin, request, treatments) -> None:
    """After staff change screening rules: patients waiting get their reminders on the new day, and confirmed
    bookings the rules now rule out go back on hold for a clinician; staff are told how many of each."""
    now, moved, held, by_phone = timezone.now(), 0, 0, []
    for treatment in treatments:
        moved += services.eligibility_reminders_follow_policy(treatment=treatment, now=now)
        held += services.screened_bookings_follow_policy(treatment=treatment, now=now)
        by_phone += selectors.confirmed_on_phone_answers(treatment=treatment, now=now).select_related("treatment")
    if moved:
        model_admin.message_user(request, f"Reminders moved to follow the new rules: {moved} patient(s).")
    if held:
        model_admin.message_user(
            request,
            f"{held} confirmed booking(s) are held for a clinician: under the new rules the patients' answers rule "
            "them out, and each patient is emailed that their booking awaits a clinician. See Bookings awaiting "
            "review.",
            messages.WARNING,
        )
    if by_phone:
        model_admin.message_user(
            request,
            format_html(
                "{} confirmed booking(s) ahead were confirmed after a clinician asked the health questions by phone, "
                "under the rules as they were; with no answers on record, the new rules cannot weigh them. Call the "
                "patients if the change matters to them: {}.",
                len(by_phone),
                bookings_linked(by_phone, with_treatment=False),
            ),
            messages.WARNING,
        )


@admin.register(Contraindication)
class ContraindicationAdmin(admin.ModelAdmin):
    list_display = ["question", "key", "action", "wait_days", "safe_alternatives", "active", "display_order"]
    list_filter = ["action", "safe_alternatives", "active"]
    search_fields = ["key", "question"]
    list_editable = ["display_order"]

    def get_readonly_fields(self, request, obj=None):
        # The key is stored with every answer; renaming it would orphan past screenings.
        return ["key"] if obj else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A question is every screened treatment's policy: patients follow it as they follow the months.
        if obj.rules_changed:
            follow_the_rules(self, request, Treatment.objects.filter(requires_screening=True))
        if obj.active and (not change or "active" in form.changed_data):
            # Bookings ahead were screened without it: no answer to weigh, so nothing above holds them.
            ahead = Appointment.objects.still_to_come(timezone.now()).filter(treatment__requires_screening=True).count()
            if ahead:
                self.message_user(
                    request,
                    f"{ahead} screened booking(s) ahead were made before this question was asked, and stay as they "
                    "are. A clinician may want to ask those patients (Appointments, filtered by treatment).",
                    messages.WARNING,
                )

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        follow_the_rules(self, request, Treatment.objects.filter(requires_screening=True))

    def delete_queryset(self, request, queryset):
        for question in queryset:
            question.delete()  # each through the model, which moves the rules on (a queryset delete would not)
        follow_the_rules(self, request, Treatment.objects.filter(requires_screening=True))


class LaterScreeningInline(InputsNamedTabularInline):
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


# A patient's data export (JSON) and erasure, as actions on the appointments, screenings and eligibility reminders
# lists. Staff find the patient's rows (search by email), select one, and choose the action; every appointment,
# screening and reminder under the same email is included (screening.patient_data does the work). The actions are
# added to booking's AppointmentAdmin from here, so the booking app knows nothing about them, and only staff holding
# the permission see them.


def _emails(modeladmin, queryset) -> list[str]:
    field = getattr(modeladmin, "patient_email_field", "patient_email")
    emails = {email.strip().lower() for email in queryset.values_list(field, flat=True)}
    # A row already erased carries a made-up address: there is no patient behind it to export or erase.
    return sorted(email for email in emails if not email.endswith(f"@{patient_data.ERASED_EMAIL_DOMAIN}"))


@admin.action(description="Export the selected patients' data (JSON)", permissions=["export_patient_data"])
def export_patient_data(modeladmin, request, queryset):
    now = timezone.now()
    patients = [
        patient_data.patient_data_export(email=email, now=now, done_by=request.user, done_from=client_ip(request))
        for email in _emails(modeladmin, queryset)
    ]
    response = HttpResponse(
        json.dumps({"patients": patients}, cls=DjangoJSONEncoder, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="patient-data-{now:%Y%m%d-%H%M}.json"'
    response["Cache-Control"] = "no-store"
    return response


@admin.action(description="Erase the selected patients' data", permissions=["erase_patient_data"])
def erase_patient_data(modeladmin, request, queryset):
    emails = _emails(modeladmin, queryset)
    if not emails:
        modeladmin.message_user(request, "The selected patients' data has already been erased.", messages.INFO)
        return None
    if request.POST.get("confirm") != "yes":
        # Say before asking to confirm who cannot be erased yet, not after.
        now = timezone.now()
        waiting = [email for email in emails if patient_data.erasure_refusal(email=email, now=now)]
        if len(waiting) == len(emails):
            modeladmin.message_user(
                request,
                "Nothing to erase yet: every selected patient has an upcoming appointment. Cancel it first, then "
                "erase their data.",
                messages.ERROR,
            )
            return None
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Erase patient data?",
            "patient_count": len(emails) - len(waiting),
            "waiting_count": len(waiting),
            "rows": modeladmin.model._meta.verbose_name_plural,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        }
        return TemplateResponse(request, "admin/screening/patient_data_erase_confirm.html", context)
    now, erased, refused = timezone.now(), 0, []
    for email in emails:
        try:
            patient_data.patient_data_erase(email=email, now=now, done_by=request.user, done_from=client_ip(request))
        except PatientDataError as error:
            refused.append(error.message)
        else:
            erased += 1
    if erased:
        modeladmin.message_user(request, f"Erased the data of {erased} patient(s).", messages.SUCCESS)
    for message in dict.fromkeys(refused):
        modeladmin.message_user(request, message, messages.ERROR)
    return None


class PatientDataActions:
    """Export and erase the data of the patients behind the selected rows (see `export_patient_data`).

    A patient who screened but never booked has no appointment to start from, so the lists of screenings and
    eligibility reminders carry the same actions as the appointments list.
    """

    actions = [export_patient_data, erase_patient_data]
    patient_email_field = "email"

    def has_export_patient_data_permission(self, request):
        return request.user.has_perm(EXPORT_PERMISSION)

    def has_erase_patient_data_permission(self, request):
        return request.user.has_perm(ERASE_PERMISSION)


@admin.register(Screening)
class ScreeningAdmin(PatientDataActions, admin.ModelAdmin):
    list_display = ["created_at", "treatment", "email", "outcome", "needs_review", "eligible_from", "appointment"]
    list_filter = ["outcome", "needs_review", "treatment", "rules_version"]
    search_fields = ["email", "=public_id"]
    date_hierarchy = "created_at"
    # The appointment's name shows its treatment and practitioner.
    list_select_related = ["treatment", "appointment__treatment", "appointment__practitioner"]
    show_full_result_count = False
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
class EligibilityReminderAdmin(PatientDataActions, admin.ModelAdmin):
    list_display = [
        "send_at",
        "kind",
        "treatment",
        "email",
        "state",
        "attempts",
        "sent_at",
        "unsubscribed_at",
        "last_error",
    ]
    list_filter = ["state", "kind", "treatment"]
    search_fields = ["email"]
    date_hierarchy = "send_at"
    list_select_related = ["treatment"]
    show_full_result_count = False
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
        "unsubscribed_at",
        "opted_in_at",
        "created_at",
    ]  # never the unsubscribe token: it is the patient's own link, and anyone holding it can opt them out

    actions = [*PatientDataActions.actions, "try_again"]

    # Whoever may see the reminders: what the patient asked for, sent late, and nothing new decided.
    @admin.action(description="Try the selected reminders again (those that failed)", permissions=["view"])
    def try_again(self, request, queryset):
        retried = reminders.eligibility_reminders_retry(reminders=queryset, now=timezone.now())
        if retried:
            self.message_user(request, f"{retried} reminder(s) will be tried again in the next pass.")
        else:
            self.message_user(request, "None of the selected reminders had failed: nothing to try again.")

    def has_add_permission(self, request):
        return False


@admin.register(PatientDataRequest)
class PatientDataRequestAdmin(admin.ModelAdmin):
    """The record of exports and erasures: read-only, nobody edits or deletes it here."""

    list_display = ["done_at", "kind", "done_by", "done_from", "counts"]
    list_filter = ["kind"]
    search_fields = ["email_digest"]
    search_help_text = (
        "The patient's email address, in full: only a fingerprint of it is kept, so part of one finds nothing."
    )
    date_hierarchy = "done_at"
    list_select_related = ["done_by"]

    def get_search_results(self, request, queryset, search_term):
        """Find the requests for the email typed, whatever its case, by its fingerprint: the address is not kept."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(email_digest__in=[email_digest(term), term.lower()]), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def attach_patient_data_actions():
    """Add the actions to the appointments admin, with the permission checks Django's admin asks for."""
    from booking.models import Appointment

    model_admin = admin.site._registry.get(Appointment)
    if model_admin is None or export_patient_data in (model_admin.actions or []):
        return
    model_admin.actions = [*(model_admin.actions or []), export_patient_data, erase_patient_data]
    model_admin.patient_email_field = "patient_email"
    model_admin.has_export_patient_data_permission = lambda request: request.user.has_perm(EXPORT_PERMISSION)
    model_admin.has_erase_patient_data_permission = lambda request: request.user.has_perm(ERASE_PERMISSION)
