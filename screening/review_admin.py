"""The clinicians' review queue: bookings the screening held, their answers (for those allowed), and decisions."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from booking.admin import MOST_IN_ONE_CONFIRMATION
from booking.exceptions import BookingError
from booking.selectors import closed_over, why_the_practitioner_cannot_keep

from .models import FlaggedBooking, Screening
from .review import (
    answers_in_words,
    booking_not_held,
    patient_screenings,
    phone_questions,
    record_answers_viewed,
    unsure_dose_note,
    why_held,
)
from .selectors import screening_policy
from .services import screened_booking_allows, screened_booking_approve, screened_booking_decline

REVIEW_PERMISSION = "screening.review_booking"
ANSWERS_PERMISSION = "screening.view_health_answers"
NOT_REVIEWED_IN_TIME = "Not reviewed before the appointment time."


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label="Reason for declining (kept on the record; the patient is not shown it)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Please give a reason for declining.")
        return reason


def _decide(request, appointments, decide):
    """Run one decision per booking, and tell the clinician what happened to each."""
    done = 0
    for appointment in appointments:
        try:
            decide(appointment)
            done += 1
        except BookingError as error:
            when = timezone.localtime(appointment.start)
            messages.warning(request, f"{appointment.patient_name}, {when:%d %b %H:%M}: {error.message}")
    return done


@admin.register(FlaggedBooking)
class FlaggedBookingAdmin(admin.ModelAdmin):
    list_display = ["start", "treatment", "practitioner", "patient_name", "flagged_because", "time_until"]
    # What reception sees instead of `flagged_because`: why a booking is held is drawn from its health answers.
    neutral_list_display = ["start", "treatment", "practitioner", "patient_name", "held_for", "time_until"]
    list_filter = ["treatment", "practitioner"]
    search_fields = ["patient_name", "patient_email"]
    date_hierarchy = "start"
    ordering = ["start"]
    list_select_related = ["treatment", "practitioner", "screening"]
    actions = ["approve_selected", "decline_selected"]
    list_display_links = ["start"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).filter(status=FlaggedBooking.Status.PENDING_REVIEW)
        # The changelist adds list_select_related only to a queryset without any, so the review page's are the same.
        return queryset.select_related(*self.list_select_related)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # decisions go through the review page, never by editing the row

    def has_review_permission(self, request):
        return request.user.has_perm(REVIEW_PERMISSION)

    def get_list_display(self, request):
        return self.list_display if request.user.has_perm(ANSWERS_PERMISSION) else self.neutral_list_display

    @admin.display(description="Why it is held")
    def flagged_because(self, obj):
        return why_held(obj, getattr(obj, "screening", None))

    @admin.display(description="Why it is held")
    def held_for(self, obj):
        return why_held(obj, getattr(obj, "screening", None), detailed=False)

    @admin.display(description="Starts in", ordering="start")
    def time_until(self, obj):
        return "Time passed: can only be declined" if obj.start <= timezone.now() else timeuntil(obj.start)

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="screening_flaggedbooking_review",
            ),
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect("admin:screening_flaggedbooking_review", object_id)

    def review_view(self, request, object_id):
        """Show a held booking with its screening and the patient's others, and take the clinician's decision."""
        can_review = self.has_review_permission(request)
        if not self.has_view_permission(request) or (request.method == "POST" and not can_review):
            raise PermissionDenied
        appointment = self.get_object(request, unquote(object_id))  # None for an id that is not in the queue
        if appointment is None:
            return self._nothing_to_review(request, object_id)
        screening = Screening.objects.filter(appointment_id=appointment.pk).select_related("treatment").first()
        now = timezone.now()
        time_passed = appointment.start <= now
        decline_form = DeclineForm(
            request.POST if "decline" in request.POST else None,
            initial={"reason": NOT_REVIEWED_IN_TIME} if time_passed else None,
        )
        if request.method == "POST":
            who = request.user.get_username()
            if "approve" in request.POST:
                asked = "asked_by_phone" in request.POST  # the phone check a booking without answers needs
                approve = partial(screened_booking_approve, now=now, decided_by=who, asked_by_phone=asked)
                if _decide(request, [appointment], lambda a: approve(appointment=a)):
                    messages.success(request, f"Approved: {appointment.patient_name} will be emailed the confirmation.")
                return redirect("admin:screening_flaggedbooking_changelist")
            if "decline" in request.POST and decline_form.is_valid():
                decline = partial(
                    screened_booking_decline,
                    reason=decline_form.cleaned_data["reason"],
                    now=now,
                    decided_by=who,
                )
                if _decide(request, [appointment], lambda a: decline(appointment=a)):
                    messages.success(
                        request,
                        f"Declined: the time had passed, so {appointment.patient_name} is not emailed; "
                        "call them if they are still waiting for an answer."
                        if time_passed
                        else f"Declined: the time is free again and {appointment.patient_name} "
                        "will be emailed: other treatments to book where they suit, else a request to call.",
                    )
                return redirect("admin:screening_flaggedbooking_changelist")
        can_see_answers = request.user.has_perm(ANSWERS_PERMISSION)
        # The patient's other screenings, outcomes and eligibility dates are health data too: clinicians only.
        others = patient_screenings(appointment, screening) if can_see_answers else None
        if can_see_answers:
            for shown in (screening, others.latest):  # the reasons of both are on the page
                if shown is not None:
                    record_answers_viewed(shown)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review: {appointment.treatment} for {appointment.patient_name}",
            "appointment": appointment,
            "screening": screening,
            "flag": why_held(appointment, screening, detailed=can_see_answers),
            "answers": answers_in_words(screening) if screening and can_see_answers else None,
            "unsure_note": unsure_dose_note(screening) if screening and can_see_answers else None,
            # Each said once: a date of birth's reason may repeat an answer's ("A clinician will check...").
            "reasons_given": list(dict.fromkeys(reason.get("text", "") for reason in screening.reasons or []))
            if screening and can_see_answers
            else [],
            "rules_version_now": screening_policy(appointment.treatment).rules_version,
            "can_see_answers": can_see_answers,
            "others": others,
            "can_review": can_review,
            "time_passed": time_passed,
            # Answers the patient gave since booking may rule its time out: say so instead of offering Approve.
            "approve_refusal": can_review
            and screened_booking_allows(appointment, by_a_clinician=True).refusal(appointment.start),
            # The diary may have changed under it since: the practitioner away, gone, or no longer working then.
            "diary_refusal": can_review and why_the_practitioner_cannot_keep(appointment),
            "closed_then": can_review and closed_over(appointment),  # no other practitioner can help that day
            "decline_form": decline_form,
            "changelist_url": reverse("admin:screening_flaggedbooking_changelist"),
            # A booking staff made has no answers: the questions the clinician asks by phone before ticking so.
            "phone_questions": phone_questions(appointment.treatment)
            if can_review and screening is None and appointment.treatment.requires_screening
            else None,
        }
        return TemplateResponse(request, "admin/screening/flaggedbooking/review.html", context)

    def _nothing_to_review(self, request, object_id):
        """Send a link to a booking that is not held back to the queue, saying why; a link to no booking is a 404."""
        appointment = booking_not_held(unquote(object_id))
        if appointment is None:
            raise Http404("No booking awaiting review has this id.")
        status = appointment.get_status_display().lower()
        if request.method == "POST":
            messages.warning(request, f"This booking is already {status}; no decision was recorded.")
        else:
            messages.info(request, f"This booking is {status}: there is nothing to review.")
        return redirect("admin:screening_flaggedbooking_changelist")

    @admin.action(description="Approve selected bookings (patients are emailed)", permissions=["review"])
    def approve_selected(self, request, queryset):
        now, who = timezone.now(), request.user.get_username()
        done = _decide(request, queryset, lambda a: screened_booking_approve(appointment=a, now=now, decided_by=who))
        if done:
            self.message_user(request, f"{done} booking(s) approved; the patients will be emailed.")
        else:
            self.message_user(request, "No booking was approved.", messages.WARNING)

    @admin.action(description="Decline selected bookings (asks for a reason)", permissions=["review"])
    def decline_selected(self, request, queryset):
        form = DeclineForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            now, who, reason = timezone.now(), request.user.get_username(), form.cleaned_data["reason"]
            done = _decide(
                request,
                queryset,
                lambda a: screened_booking_decline(appointment=a, reason=reason, now=now, decided_by=who),
            )
            if done:
                self.message_user(
                    request,
                    f"{done} booking(s) declined. Those still ahead are free again and the patients will be emailed; "
                    "patients whose time had passed are not emailed.",
                )
            else:
                self.message_user(request, "No booking was declined.", messages.WARNING)
            return None
        if queryset.count() > MOST_IN_ONE_CONFIRMATION:
            self.message_user(
                request,
                f"Decline at most {MOST_IN_ONE_CONFIRMATION} bookings at a time: narrow the queue first. Nothing was "
                "declined.",
                messages.ERROR,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Decline bookings awaiting review",
            "appointments": queryset.select_related("treatment"),
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/screening/flaggedbooking/decline_selected.html", context)
