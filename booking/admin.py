import re
import uuid
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin import widgets as admin_widgets
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models.lookups import Contains
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from clinic.admin_site import InputsNamedTabularInline
from screening.services import (
    screened_booking_allows,
    screened_booking_weigh_again,
    screened_bookings_after_resurfacing,
)

from . import selectors, services
from .exceptions import BookingError
from .forms import (
    FEWEST_PHONE_DIGITS,
    StaffFreeTimesForm,
    check_date_of_birth,
    check_name,
    check_phone,
    parse_slot_value,
    slot_value,
)
from .models import (
    HELD_FOR_ANSWERS_AGAIN,
    HELD_FOR_EARLIER_TIME,
    HELD_FOR_RESURFACING,
    STILL_EXPECTED,
    Appointment,
    AppointmentEmail,
    Practitioner,
    TimeOff,
    Treatment,
    WorkingHours,
    phone_digits,
    status_in_words,
)
from .selectors import STAFF_HORIZON_DAYS, clinic_tz, today_local

# How many stranded bookings a warning names; the rest are counted, and found in the practitioner's list.
MOST_NAMED = 20
# How many bookings one cancel or decline may take: its confirmation page lists each and posts a field for each, and
# Django refuses a form of more than 1,000 fields.
MOST_IN_ONE_CONFIRMATION = 500
# How many of a phone number's last digits a search compares: past the country code and trunk prefix of most plans.
SUBSCRIBER_DIGITS = 9
# A booking's public id, as it stands in its manage link ("/booking/<32 hex>:<signature>/") or written as a UUID.
BOOKING_REFERENCE = re.compile(
    r"(?<![0-9a-f])[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?![0-9a-f])", re.I
)


# Why a save put a confirmed booking of a screened treatment back on hold, by how its reason begins
# (`screened_booking_weigh_again`); the last is every other reason.
_WHY_HELD_AGAIN = [
    (
        HELD_FOR_ANSWERS_AGAIN,
        "Answers to the health questions given under the booking's email need a clinician's check",
    ),
    (HELD_FOR_EARLIER_TIME, "A clinician confirmed this booking for a later day"),
    (HELD_FOR_RESURFACING, "The patient has a peel or laser booked shortly before the new time"),
    (
        "",
        "The patient's date of birth needs a clinician's check (their age on the day, or the dates in their answers)",
    ),
]


def bookings_linked(appointments, *, site: str = "admin", with_treatment: bool = True):
    """The first MOST_NAMED bookings, each linked to its page as "patient, day and time (treatment)", for a message
    that names the patients staff are to call."""

    def named(each):
        when = f"{timezone.localtime(each.start):%a %d %b %Y %H:%M}"
        url = reverse("admin:booking_appointment_change", args=[each.pk], current_app=site)
        return (url, each.patient_name, when, each.treatment) if with_treatment else (url, each.patient_name, when)

    link = '<a href="{}">{}, {} ({})</a>' if with_treatment else '<a href="{}">{}, {}</a>'
    return format_html_join("; ", link, (named(each) for each in appointments[:MOST_NAMED]))


def warn_of_stranded_bookings(
    modeladmin, request, appointments: list[Appointment], *, practitioner: Practitioner | None, where: str
):
    """Tell staff which booked patients a change just left outside the diary (`where`: "in this time off"), each
    linked, so reception can call them and move them. The change itself stands: staff may mean it. Without a
    practitioner (the whole clinic closed), every practitioner's patients."""
    if not appointments:
        return
    site = modeladmin.admin_site.name
    named = bookings_linked(appointments, site=site)
    more = ""
    if len(appointments) > MOST_NAMED:
        listed = reverse("admin:booking_appointment_changelist", current_app=site)
        if practitioner is not None:
            query, whose = f"practitioner__id__exact={practitioner.pk}", format_html("{}'s appointments", practitioner)
        else:
            days = sorted(timezone.localdate(each.start) for each in appointments)
            first, after = (datetime.combine(day, time(0), tzinfo=clinic_tz()) for day in (days[0], days[-1]))
            query = urlencode({"start__gte": first.isoformat(), "start__lt": (after + timedelta(days=1)).isoformat()})
            whose = "the appointments on those days"
        more = format_html(
            '; and {} more (<a href="{}?{}">{}</a>)', len(appointments) - MOST_NAMED, listed, query, whose
        )
    count = f"{len(appointments)} upcoming appointment{'s' if len(appointments) > 1 else ''}"
    modeladmin.message_user(
        request,
        format_html(
            "{}{} {} still booked {}: {}{}. Please call the patients to move them.",
            count,
            f" with {practitioner}" if practitioner is not None else "",
            "are" if len(appointments) > 1 else "is",
            where,
            named,
            more,
        ),
        messages.WARNING,
    )


def warn_of_bookings_outside_hours(modeladmin, request, practitioner):
    stranded = Appointment.objects.still_to_come(timezone.now()).outside_hours(practitioner.pk)
    warn_of_stranded_bookings(
        modeladmin, request, stranded, practitioner=practitioner, where="outside their working hours"
    )


class LineBreaksCountedOnceField(forms.CharField):
    """Text whose line breaks count as one character each, as the browser counts them against the box's maxlength:
    a form posts each as CR LF, and a text the box let through was refused as too long."""

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n")


@admin.register(Treatment)
class TreatmentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "duration_minutes",
        "buffer_after_minutes",
        "price",
        "requires_screening",
        "safe_alternative",
        "resurfacing",
        "active",
        "display_order",
    ]
    list_editable = ["active", "display_order"]
    list_filter = ["active", "requires_screening", "safe_alternative"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    formfield_overrides = {
        models.TextField: {"form_class": LineBreaksCountedOnceField, "widget": admin_widgets.AdminTextareaWidget}
    }

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            tell_what_a_treatment_change_does_to_its_bookings(self, request, obj, form.changed_data)


def tell_what_a_treatment_change_does_to_its_bookings(modeladmin, request, treatment, changed: list[str]) -> None:
    """Staff who change a treatment with bookings ahead are told what happens to those bookings: they stand as made."""
    ahead = Appointment.objects.still_to_come(timezone.now()).filter(treatment=treatment).count()
    if not ahead:
        return
    if {"duration_minutes", "buffer_after_minutes"} & set(changed):
        modeladmin.message_user(
            request,
            f"{ahead} booking(s) of {treatment} ahead keep the length they were booked with; new bookings, and "
            "bookings moved from now on, take the new length.",
            messages.WARNING,
        )
    if "requires_screening" in changed and treatment.requires_screening:
        modeladmin.message_user(
            request,
            f"{ahead} booking(s) of {treatment} ahead were made without the health questions and stay as they are. "
            "A clinician may want to call those patients (Appointments, filtered by this treatment).",
            messages.WARNING,
        )
    if "active" in changed and not treatment.active:
        modeladmin.message_user(
            request,
            f"{treatment} is no longer offered for new bookings. Its {ahead} booking(s) ahead stand, and can still "
            "be moved or cancelled; cancel any that will not go ahead.",
            messages.WARNING,
        )


class WorkingHoursInline(InputsNamedTabularInline):
    model = WorkingHours
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("practitioner")  # each row's name reads it


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "active"]
    list_filter = ["active", "treatments"]
    search_fields = ["name", "title", "email"]
    filter_horizontal = ["treatments"]
    inlines = [WorkingHoursInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            warn_of_bookings_outside_hours(self, request, form.instance)
            practitioner = form.instance
            stranded = list(
                Appointment.objects.still_to_come(timezone.now()).not_given_by(practitioner).select_related("treatment")
            )
            where = "now that they are inactive" if not practitioner.active else "for treatments they no longer give"
            warn_of_stranded_bookings(self, request, stranded, practitioner=practitioner, where=where)


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "weekday", "start_time", "end_time"]
    list_filter = ["weekday", "practitioner"]
    search_fields = ["practitioner__name"]
    list_select_related = ["practitioner"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        moved_from = form.initial.get("practitioner") if change else None
        for practitioner in Practitioner.objects.filter(pk__in={obj.practitioner_id, moved_from} - {None}):
            warn_of_bookings_outside_hours(self, request, practitioner)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        warn_of_bookings_outside_hours(self, request, obj.practitioner)

    def delete_queryset(self, request, queryset):
        practitioners = list(Practitioner.objects.filter(working_hours__in=queryset).distinct())
        super().delete_queryset(request, queryset)
        for practitioner in practitioners:
            warn_of_bookings_outside_hours(self, request, practitioner)


class TimeOffAdminForm(forms.ModelForm):
    """Time off as staff enter it: a start or end typed with a wrong year is refused beside it. A row recorded long
    ago can still be edited: only a start or end being changed is checked. Closing the whole clinic is a box ticked
    on purpose, never a practitioner left out by mistake."""

    whole_clinic = forms.BooleanField(
        required=False,
        label="Close the whole clinic",
        help_text="No one can be booked then (a bank holiday, a refit), practitioners who join later included.",
    )

    class Meta:
        model = TimeOff
        fields = ["practitioner", "whole_clinic", "start", "end", "reason"]
        help_texts = {"practitioner": "Who is away. Leave it empty only when closing the whole clinic."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["whole_clinic"].initial = self.instance.pk is not None and self.instance.whole_clinic

    def _within_reach(self, name):
        moment = self.cleaned_data[name]
        refusal = name in self.changed_data and TimeOff.out_of_reach(moment, now=timezone.now())
        if refusal:
            raise forms.ValidationError(refusal, code="out_of_reach")
        return moment

    def clean_start(self):
        return self._within_reach("start")

    def clean_end(self):
        return self._within_reach("end")

    def clean(self):
        cleaned = super().clean()
        practitioner, whole_clinic = cleaned.get("practitioner"), cleaned.get("whole_clinic")
        if "practitioner" in self.errors:
            return cleaned
        if practitioner is None and not whole_clinic:
            self.add_error(
                "practitioner", "Choose who is away, or tick “Close the whole clinic” to close it for everyone."
            )
        elif practitioner is not None and whole_clinic:
            self.add_error(
                "practitioner",
                "A closure of the whole clinic names no practitioner: clear this, or untick “Close the whole clinic”.",
            )
        return cleaned


@admin.register(TimeOff)
class TimeOffAdmin(admin.ModelAdmin):
    form = TimeOffAdminForm
    list_display = ["who", "start", "end", "reason"]
    list_filter = ["practitioner"]
    search_fields = ["practitioner__name", "reason"]
    date_hierarchy = "start"
    list_select_related = ["practitioner"]

    @admin.display(description="Who", ordering="practitioner__name")
    def who(self, time_off):
        return time_off.practitioner or "Whole clinic closed"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        stranded = list(Appointment.objects.still_to_come(timezone.now()).in_time_off(obj).select_related("treatment"))
        where = "while the clinic is closed" if obj.whole_clinic else "in this time off"
        warn_of_stranded_bookings(self, request, stranded, practitioner=obj.practitioner, where=where)


def _status_action(status, description, *, cancelled_by=None, name=None, done=None):
    def action(modeladmin, request, queryset):
        if cancelled_by is not None and request.POST.get("post") != "yes":
            # A cancellation cannot be undone and emails each patient: staff see whom first, as before a delete.
            return _confirm_cancelling(modeladmin, request, queryset, action=action.__name__, description=description)
        now, changed = timezone.now(), 0
        for appointment in queryset:
            try:
                services.appointment_change_status(
                    appointment=appointment,
                    status=status,
                    now=now,
                    reason=f"Set by {request.user.get_username()}",
                    cancelled_by=cancelled_by,
                )
                changed += 1
            except BookingError as error:
                modeladmin.message_user(request, f"{appointment}: {error.message}", messages.WARNING)
        if changed:
            modeladmin.message_user(request, f"{changed} appointment(s) {done or status_in_words(status)}.")
        else:
            modeladmin.message_user(request, "No appointment was changed.", messages.WARNING)

    action.__name__ = name or f"mark_{status}"
    action.short_description = description
    action.allowed_permissions = ("change",)
    return action


def _confirm_cancelling(modeladmin, request, queryset, *, action: str, description: str):
    """Ask first, naming exactly what will happen: whom each cancellation emails, which visits (already past) are
    cancelled without an email, and which selected rows cannot be cancelled at all and are left as they are."""
    order = "-start" if request.GET.get(WhenFilter.parameter_name) == "past" else "start"
    cancellable = queryset.filter(status__in=STILL_EXPECTED).select_related("treatment", "practitioner").order_by(order)
    appointments = list(cancellable[: MOST_IN_ONE_CONFIRMATION + 1])
    if not appointments:
        modeladmin.message_user(
            request, "None of the selected appointments can be cancelled (they are not booked).", messages.WARNING
        )
        return None
    if len(appointments) > MOST_IN_ONE_CONFIRMATION:
        modeladmin.message_user(
            request,
            f"Cancel at most {MOST_IN_ONE_CONFIRMATION} appointments at a time: narrow the list by day, practitioner "
            "or treatment first. Nothing was cancelled.",
            messages.ERROR,
        )
        return None
    now = timezone.now()
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": f"Cancel {len(appointments)} appointment(s)?",
        "description": description,
        "appointments": appointments,
        "emailed": [appointment for appointment in appointments if appointment.start > now],
        "past": [appointment for appointment in appointments if appointment.start <= now],
        "left_alone": queryset.exclude(status__in=STILL_EXPECTED).count(),
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/booking/appointment/confirm_cancel.html", context)


class AppointmentEmailInline(InputsNamedTabularInline):
    model = AppointmentEmail
    extra = 0
    can_delete = False
    fields = ["kind", "due_at", "state", "attempts", "sent_at", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


APPOINTMENT_FIELDS = [
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
APPOINTMENT_READONLY = ["public_id", "end", "busy_until", "created_at", "updated_at"]


class AppointmentAdminForm(forms.ModelForm):
    """A phone booking, or an edit of one in the diary. A new booking, or a new time or practitioner, is checked by
    the booking service's own rules; each refusal is shown beside the input at fault."""

    class Meta:
        model = Appointment
        fields = [name for name in APPOINTMENT_FIELDS if name not in APPOINTMENT_READONLY]

    # When the booking was last changed as this page saw it: a save from a page opened before someone else's change
    # (a patient's cancel or move, a colleague's edit) would write back what they changed, so it is refused.
    seen = forms.CharField(widget=forms.HiddenInput, required=False)
    # Who a move comes from decides what the patient reads, as with the two cancel actions.
    clinic_moves_it = forms.BooleanField(
        required=False,
        label="The clinic is moving it",
        help_text="Tick when the move is the clinic's doing (a practitioner off sick, a room out of use), not the "
        "patient's request: their email then apologises.",
    )

    # A time (and practitioner) picked for this booking in the free-time finder, filled in when the page opens.
    moved_to: dict | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.booked_time = (self.instance.start, self.instance.practitioner_id) if self.instance.pk else None
        if self.moved_to and not self.is_bound:
            self.initial.update(self.moved_to)
        if self.instance.pk:
            self.fields["seen"].initial = self.instance.updated_at.isoformat()

    def changed_since_opened(self) -> bool:
        return self.instance.pk is not None and self.cleaned_data.get("seen") != self.instance.updated_at.isoformat()

    # The same checks as the patient's own form, so a phone booking is written as an online one would be.
    def clean_patient_name(self):
        return check_name(self.cleaned_data["patient_name"], whose="the patient's")

    def clean_patient_phone(self):
        return check_phone(self.cleaned_data["patient_phone"])

    def clean_patient_date_of_birth(self):
        born = self.cleaned_data["patient_date_of_birth"]
        return born and check_date_of_birth(born, whose="The")

    def moves_the_booking(self) -> bool:
        """Whether this edit gives an existing booking another start or practitioner."""
        wanted = (self.cleaned_data.get("start"), getattr(self.cleaned_data.get("practitioner"), "pk", None))
        return self.booked_time is not None and wanted != self.booked_time

    def clean(self):
        cleaned = super().clean()
        if self.changed_since_opened():
            self.add_error(
                None,
                "This booking was changed since you opened this page (by the patient or a colleague). Nothing was "
                "saved: open it again to see the change, then make yours.",
            )
            return cleaned
        treatment = cleaned.get("treatment") if "treatment" in self.fields else self.instance.treatment
        practitioner, start = cleaned.get("practitioner"), cleaned.get("start")
        if treatment is None or practitioner is None or start is None:
            return cleaned  # the missing input already has its error
        name, email = (cleaned.get(f, getattr(self.instance, f)) for f in ("patient_name", "patient_email"))
        if self.booked_time is not None and not self.moves_the_booking():
            # The time stays as it is: nothing to check, nobody to email, unless the patient is now someone who
            # holds this time already.
            if name and email and {"patient_name", "patient_email"} & set(self.changed_data):
                patient = services.PatientDetails(name=name, email=email, phone="", date_of_birth=None)
                try:
                    services.appointment_staff_check_patient(
                        appointment=self.instance, patient=patient, status=cleaned.get("status", self.instance.status)
                    )
                except BookingError as error:
                    self.add_error("patient_name", error.message)
            return cleaned
        try:
            services.appointment_staff_check(
                treatment=treatment,
                practitioner=practitioner,
                start=start,
                now=timezone.now(),
                appointment=self.instance if self.booked_time else None,
                patient=services.PatientDetails(name=name, email=email, phone="", date_of_birth=None)
                if name and email
                else None,
            )
        except BookingError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
            return cleaned
        # A screened booking moves no earlier than the patient's answers allow, as when they move it themselves.
        if self.booked_time is not None and (refusal := screened_booking_allows(self.instance).refusal(start)):
            self.add_error("start", refusal)
        return cleaned


def _another_address(before: str | None, after: str) -> bool:
    """Whether staff changed the address to another one (not just its case, which reaches the same inbox)."""
    return (before or "").casefold() != after.casefold()


class WhenFilter(admin.SimpleListFilter):
    """The diary opens on today and what is ahead, not on its oldest page; the past is a click away. A search, or a
    day or month picked in the date navigation, looks through everything unless a choice here is made too."""

    title = "when"
    parameter_name = "when"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        # An action acts on the rows ticked, whatever the default hid; a search or a picked date looks everywhere.
        # "Select all N" (`select_across`) acts on the list as it was shown and counted, so it keeps the default.
        ticked = request.method == "POST" and request.POST.get("select_across") != "1"
        narrowed = ticked or any(name == "q" or name.startswith("start__") for name in request.GET)
        self.chosen = self.value() or ("all" if narrowed else "ahead")

    def lookups(self, request, model_admin):
        return [("ahead", "Today and ahead"), ("today", "Today"), ("past", "Before today"), ("all", "All")]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.chosen == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        today = datetime.combine(today_local(), time(0), tzinfo=clinic_tz())
        tomorrow = datetime.combine(today_local() + timedelta(days=1), time(0), tzinfo=clinic_tz())
        return {
            "ahead": queryset.filter(start__gte=today),
            "today": queryset.filter(start__gte=today, start__lt=tomorrow),
            "past": queryset.filter(start__lt=today),
        }.get(self.chosen, queryset)


class NoRoomFilter(admin.SimpleListFilter):
    """Visits ahead the diary no longer has room for (time off or a closure over them, working hours cut short under
    them, a practitioner made inactive or no longer giving the treatment): reception's list of patients to call and
    move, for as long as it lasts, not only in the warning shown once when the change was saved. Their reminders wait
    meanwhile."""

    title = "needs moving"
    parameter_name = "room"
    NO_ROOM = "none"

    def lookups(self, request, model_admin):
        return [(self.NO_ROOM, "Away, closed, out of hours or no longer given")]

    def queryset(self, request, queryset):
        if self.value() == self.NO_ROOM:
            return queryset.still_to_come(timezone.now()).without_room()
        return queryset


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    form = AppointmentAdminForm
    list_display = ["start", "treatment", "practitioner", "patient_name", "status"]
    list_filter = [WhenFilter, NoRoomFilter, "status", "treatment", "practitioner"]
    # Through one trigram index on PostgreSQL (migration booking/0017), with the phone's digits below.
    search_fields = ["patient_name", "patient_email", "patient_phone"]
    show_full_result_count = False  # a count of every visit ever, beside the filtered one, on every load

    def get_ordering(self, request):
        # "Before today" reads back from yesterday, and a search from the patient's latest visit: the one reception
        # looks up is rarely the clinic's first.
        newest_first = request.GET.get(WhenFilter.parameter_name) == "past" or request.GET.get("q")
        return ["-start"] if newest_first else super().get_ordering(request)

    def get_search_results(self, request, queryset, search_term):
        """As Django searches, and a number typed as the patient dictates it ("07700900456") also finds one stored
        with its spacing ("07700 900456"): digits are compared with digits. A booking's reference (its public id,
        as in the emails' links) finds that booking."""
        if reference := BOOKING_REFERENCE.search(search_term):  # alone, or in a manage link pasted whole
            return queryset.filter(public_id=uuid.UUID(reference[0])), False
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        digits = re.sub(r"\D", "", search_term)
        if len(digits) >= FEWEST_PHONE_DIGITS:
            # The last nine digits: a number dictated with its country code ("+44 7700…") finds one stored with
            # the trunk 0 ("07700…", "+44 (0)7700…"), and the other way round.
            results = results | queryset.filter(Contains(phone_digits(), digits[-SUBSCRIBER_DIGITS:]))
        return results, may_have_duplicates

    date_hierarchy = "start"
    list_select_related = ["treatment", "practitioner"]
    readonly_fields = APPOINTMENT_READONLY
    fields = APPOINTMENT_FIELDS
    inlines = [AppointmentEmailInline]
    actions = [
        _status_action(Appointment.Status.COMPLETED, "Mark selected as completed"),
        _status_action(Appointment.Status.NO_SHOW, "Mark selected as no-show"),
        _status_action(
            Appointment.Status.CANCELLED,
            "Cancel selected at the patient's request (patients are emailed that it is cancelled)",
            cancelled_by=services.CancelledBy.PATIENT,
            name="cancel_for_patient",
            done="cancelled at the patient's request",
        ),
        _status_action(
            Appointment.Status.CANCELLED,
            "Cancel selected: the clinic cancels (patients are emailed an apology)",
            cancelled_by=services.CancelledBy.CLINIC,
            name="cancel_by_clinic",
            done="cancelled by the clinic",
        ),
        "resend_confirmation",
    ]

    def get_fields(self, request, obj=None):
        if obj is None:
            # A new booking is confirmed, or held for review when its treatment needs the screening: the booking
            # service decides, never the form (a visit ahead cannot already be completed). What the save works out
            # (its reference, end, timestamps) is shown once there is something to show.
            return [name for name in self.fields if name not in ("status", "status_reason", *APPOINTMENT_READONLY)]
        fields = [*self.fields, "clinic_moves_it", "seen"]  # "seen": the stamp of the booking as the page saw it
        if self._reason_is_clinical(request, obj):
            return [("status_reason_shown" if name == "status_reason" else name) for name in fields]
        return fields

    @staticmethod
    def _reason_is_clinical(request, obj) -> bool:
        """A clinician's decline reason may name health answers: for clinicians' eyes only, as the answers are."""
        declined = obj.status == Appointment.Status.DECLINED
        return declined and not request.user.has_perm("screening.view_health_answers")

    @admin.display(description="Status reason")
    def status_reason_shown(self, obj):
        return "Declined by a clinician. The reason is on the record for clinicians."

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # Status changes go through the actions, which follow the transition table and email the patient. Another
        # treatment is another booking (its own length, its own screening): cancel this one and add that. Erased
        # details stay erased: nobody is asked to type a date of birth back in to save another change.
        erased = [name for name in self.fields if name.startswith("patient_")] if obj.details_erased else []
        shown = ["status_reason_shown"] if self._reason_is_clinical(request, obj) else []
        return [*self.readonly_fields, "treatment", "status", *erased, *shown]

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        if not change:
            booked = services.appointment_staff_book(
                treatment=obj.treatment,
                practitioner=obj.practitioner,
                start=obj.start,
                patient=services.PatientDetails(
                    name=obj.patient_name,
                    email=obj.patient_email,
                    phone=obj.patient_phone,
                    date_of_birth=obj.patient_date_of_birth,
                ),
                now=now,
            )
            obj.pk = booked.pk  # the admin goes on with its own instance (history, the redirect)
            obj.refresh_from_db()
            self._warn_of_the_patients_other_visit_then(request, obj)
            self._hold_screened_bookings_after(request, booked, now=now)
            if booked.status == Appointment.Status.PENDING_REVIEW:
                self.message_user(
                    request,
                    f"{booked.treatment} needs the health screening, so this booking is held for a clinician's "
                    "review. The patient is told it is received; a clinician confirms or declines it.",
                    messages.WARNING,
                )
            return
        before = form.initial.get("patient_email")
        address_corrected = "patient_email" in form.changed_data and _another_address(before, obj.patient_email)
        held, saved, moved = Appointment.Status.PENDING_REVIEW, obj, form.moves_the_booking()
        was_held = obj.status == held
        if moved:
            edited = [
                name
                for name in form.changed_data
                if name in APPOINTMENT_FIELDS and name not in ("start", "practitioner")
            ]
            if edited:
                obj.save(update_fields=[*edited, "updated_at"])
            stored_end, stored_start = Appointment.objects.values_list("end", "start").get(pk=obj.pk)
            booked_for = stored_end - stored_start  # as stored (validating the form re-timed `obj` already)
            saved = services.appointment_staff_move(
                appointment=obj,
                start=obj.start,
                practitioner=obj.practitioner,
                now=now,
                by_clinic=form.cleaned_data.get("clinic_moves_it", False),
            )
            self._warn_of_the_patients_other_visit_then(request, saved)
            self._hold_screened_bookings_after(request, saved, now=now)
            if saved.end - saved.start != booked_for:
                # A move takes the treatment's length as it is now (Appointment.fill_times_if_new_or_moved).
                self.message_user(
                    request,
                    f"This booking now takes {saved.treatment}'s current length, {saved.treatment.duration_minutes} "
                    f"minutes, to {timezone.localtime(saved.end):%H:%M}; it was booked for "
                    f"{int(booked_for.total_seconds() // 60)}. The patient's email gives the new end.",
                    messages.WARNING,
                )
        else:
            # Only what this page changed: the rest of the row may have moved on since it was read (a patient's
            # cancellation, a hold), and writing it back would undo that.
            edited = [name for name in form.changed_data if name in APPOINTMENT_FIELDS]
            if edited:
                obj.save(update_fields=[*edited, "updated_at"])
        # A screened booking at a new time, or with a corrected date of birth or email, is weighed again (under 18
        # that day; answers the corrected address gave).
        if not was_held and (moved or address_corrected or "patient_date_of_birth" in form.changed_data):
            if moved:
                why = "at the new time"
            elif "patient_date_of_birth" in form.changed_data:
                why = "with the date of birth corrected,"
            else:
                why = "with the email corrected,"
            weighed = screened_booking_weigh_again(
                saved,
                now=now,
                why=why,
                new_time=moved,
                moved_from=stored_start if moved else None,
                email_corrected=address_corrected,
            )
            if weighed.status == held:
                if address_corrected:
                    told = "The patient is emailed at the new address that it awaits a clinician."
                elif moved:
                    told = "The patient's 'moved' email says it awaits a clinician."
                else:
                    told = "The patient is emailed that it awaits a clinician."
                because = next(words for start, words in _WHY_HELD_AGAIN if weighed.status_reason.startswith(start))
                self.message_user(request, f"{because}, so this booking is held for review. {told}", messages.WARNING)
        obj.refresh_from_db()
        if address_corrected:
            # The emails so far went to the wrong address: send the booking as it stands now, with its manage link,
            # to the new one (after a move in the same save, the new time, and no "moved" email).
            try:
                services.appointment_address_corrected(appointment=obj, now=now)
            except BookingError:
                pass  # a booking closed or past: nothing to tell the patient
            else:
                self.message_user(request, f"The booking will be emailed again, to {obj.patient_email}.")

    def _hold_screened_bookings_after(self, request, appointment, *, now) -> None:
        if held := screened_bookings_after_resurfacing(appointment, now=now):
            self.message_user(
                request,
                f"{appointment.patient_name} has {held} screened booking(s) shortly after this "
                f"{appointment.treatment}: held for a clinician (the patient is emailed).",
                messages.WARNING,
            )

    def _warn_of_the_patients_other_visit_then(self, request, appointment) -> None:
        """The same patient (name and email: a family shares an email) in another visit that overlaps this one is
        allowed, as two treatments back to back may be meant, but staff are asked to check it."""
        other = (
            Appointment.objects.holding_time()
            .filter(
                patient_email__iexact=appointment.patient_email,
                patient_name__iexact=appointment.patient_name,
                start__lt=appointment.end,
                end__gt=appointment.start,
            )
            .exclude(pk=appointment.pk)
            .select_related("treatment", "practitioner")
            .first()
        )
        if other is not None:
            self.message_user(
                request,
                f"{appointment.patient_name} also has {other.treatment} with {other.practitioner} from "
                f"{timezone.localtime(other.start):%H:%M} to {timezone.localtime(other.end):%H:%M} that day, at the "
                "same time as this booking. Check that both are meant.",
                messages.WARNING,
            )

    @admin.action(description="Email the booking again to the patient (confirmation and manage link)")
    def resend_confirmation(self, request, queryset):
        now, sent = timezone.now(), 0
        for appointment in queryset:
            try:
                services.appointment_confirmation_resend(appointment=appointment, now=now)
                sent += 1
            except BookingError as error:
                self.message_user(request, f"{appointment}: {error.message}", messages.WARNING)
        if sent:
            self.message_user(request, f"{sent} patient(s) will be emailed their booking again.")

    resend_confirmation.allowed_permissions = ("change",)

    def get_urls(self):
        finder = path(
            "free-times/", self.admin_site.admin_view(self.free_times_view), name="booking_appointment_free_times"
        )
        return [finder, *super().get_urls()]

    def free_times_view(self, request):
        """Find a free time for a patient on the phone: a treatment's free starts on a day, each with the
        practitioners free then, each a link to the phone booking form filled in with them. With `?move=<id>`, for a
        booking to move (its own time counting as free): each a link to its change form filled in with the time."""
        moving = self._booking_to_move(request)
        if not (self.has_change_permission(request, moving) if moving else self.has_add_permission(request)):
            raise PermissionDenied
        now = timezone.now()
        today = today_local(now)
        last_day = (now + timedelta(days=STAFF_HORIZON_DAYS)).astimezone(clinic_tz()).date()
        data = request.GET.copy() if request.GET else None
        if moving is not None:
            data["treatment"] = moving.treatment_id
            data.setdefault("day", max(today, timezone.localdate(moving.start)).isoformat())
        form = StaffFreeTimesForm(data, first_day=today, last_day=last_day, initial={"day": today}, moving=moving)
        context = {
            **self.admin_site.each_context(request),
            "title": "Find a time to move this booking to" if moving else "Find a free time",
            "opts": self.opts,
            "form": form,
            "moving": moving,
            "why_move": moving and selectors.why_the_practitioner_cannot_keep(moving),
            "also": f"&move={moving.pk}" if moving else "",
        }
        if form.is_valid():
            treatment, day = form.cleaned_data["treatment"], form.cleaned_data["day"]
            site = self.admin_site.name
            if moving:
                base = f"{reverse('admin:booking_appointment_change', args=[moving.pk], current_app=site)}?"
            else:
                base = f"{reverse('admin:booking_appointment_add', current_app=site)}?treatment={treatment.pk}&"

            def book_with(who, start):  # ids and a slot value: nothing to escape, as in the patients' links
                return f"{base}practitioner={who.pk}&start={slot_value(start)}"

            times = selectors.staff_free_times(treatment=treatment, day=day, now=now, exclude_appointment=moving)
            if not times:
                context.update(
                    closure=selectors.closure_on(day),
                    next_day_with_times=selectors.staff_next_day_with_times(treatment=treatment, after=day, now=now),
                )
            context.update(
                treatment=treatment,
                day=day,
                times=[(start, [(who, book_with(who, start)) for who in free]) for start, free in times],
                previous_day=day - timedelta(days=1) if day > today else None,
                next_day=day + timedelta(days=1) if day < last_day else None,
            )
        status = 400 if form.is_bound and not form.is_valid() else 200
        return TemplateResponse(request, "admin/booking/appointment/free_times.html", context, status=status)

    def _booking_to_move(self, request) -> Appointment | None:
        """The booking `?move=` names, if any: one still expected and ahead (404 otherwise, as for a page)."""
        if "move" not in request.GET:
            return None
        moving = (
            Appointment.objects.still_to_come(timezone.now())
            .select_related("treatment", "practitioner")
            .filter(pk=request.GET["move"] if request.GET["move"].isdigit() else None)
            .first()
        )
        if moving is None:
            raise Http404("No booking to move: it is not one still ahead (cancelled, declined, passed or unknown).")
        return moving

    def change_view(self, request, object_id, form_url="", extra_context=None):
        booking = self.get_object(request, unquote(object_id))
        movable = booking is not None and booking.status in STILL_EXPECTED and booking.start > timezone.now()
        if movable and request.method == "GET" and parse_slot_value(request.GET.get("start", "")):
            filled_in = "The new time from the finder is filled in below: nothing changes until you save."
            self.message_user(request, filled_in, messages.INFO)
        elif movable and request.method == "GET" and (why := selectors.why_the_practitioner_cannot_keep(booking)):
            # On the list of bookings to move: say why here, where staff move it from.
            self.message_user(request, f"This booking needs moving: {why}", messages.WARNING)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "movable": movable})

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and request.method == "GET" and "start" in request.GET:
            # A time picked in the finder for this booking: the change form opens with it (and the practitioner)
            # filled in; nothing is saved until staff save it. A booking the diary has no room for any more (time
            # off, a closure) is the clinic's to move: its email then apologises, unless staff untick it.
            moved_to = {"start": parse_slot_value(request.GET["start"])}
            if request.GET.get("practitioner", "").isdigit():
                moved_to["practitioner"] = int(request.GET["practitioner"])
            if Appointment.objects.filter(pk=obj.pk).without_room().exists():
                moved_to["clinic_moves_it"] = True
            form = type(form.__name__, (form,), {"moved_to": {k: v for k, v in moved_to.items() if v is not None}})
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except BookingError:
            # The form's check passed, the write was refused: a colleague or a patient took the time in between.
            # The admin's transaction is rolled back (no row, no email). Checked again, the form now says why beside
            # the input at fault and keeps what was typed: reception is on the phone with the patient.
            pass
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except BookingError as error:  # refused again though the check passed: say so, and start again
            self.message_user(request, f"Nothing was saved: {error.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class VisitFilter(admin.SimpleListFilter):
    """Emails by whether the visit they are about is still ahead: those are the ones worth trying again."""

    title = "visit"
    parameter_name = "visit"

    def lookups(self, request, model_admin):
        return [("ahead", "Still ahead"), ("past", "Past")]

    def queryset(self, request, queryset):
        now = timezone.now()
        return {
            "ahead": queryset.filter(appointment__start__gt=now),
            "past": queryset.filter(appointment__start__lte=now),
        }.get(self.value(), queryset)


@admin.register(AppointmentEmail)
class AppointmentEmailAdmin(admin.ModelAdmin):
    # Whom to call when an email went to nobody.
    list_display = [
        "appointment",
        "appointment__patient_name",
        "appointment__patient_phone",
        "kind",
        "due_at",
        "state",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = ["state", "kind", VisitFilter]
    search_fields = ["appointment__patient_email"]
    date_hierarchy = "due_at"
    # An appointment's name shows its treatment and practitioner.
    list_select_related = ["appointment__treatment", "appointment__practitioner"]
    # Newest first, through the primary key: ordered by when they are due, every load sorted the whole outbox.
    ordering = ["-id"]
    show_full_result_count = False  # the unfiltered count of the whole outbox, on every load
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

    actions = ["try_again"]

    @admin.action(description="Try the selected emails again (those that failed, about visits still ahead)")
    def try_again(self, request, queryset):
        failed = queryset.filter(state=AppointmentEmail.State.FAILED).count()
        retried = services.appointment_emails_retry(emails=queryset, now=timezone.now())
        if retried:
            self.message_user(request, f"{retried} email(s) will be tried again now.")
        if failed > retried:
            self.message_user(
                request, f"{failed - retried} failed email(s) about visits already past were left as they are."
            )
        if not failed:
            self.message_user(
                request, "None of the selected emails had failed: nothing to try again.", messages.WARNING
            )

    try_again.allowed_permissions = ("resend",)

    def has_resend_permission(self, request):
        # Reception, who run the diary and may email a booking again, but never edit the outbox's rows.
        return request.user.has_perm("booking.change_appointment")

    def has_add_permission(self, request):
        return False
