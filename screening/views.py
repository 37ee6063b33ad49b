"""Patient pages for the screening: the questions, the outcome, and the reminder opt-in."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking.selectors import active_treatments, bookable_days, next_day_with_times, today_local
from clinic import throttle

from . import gate, reminders, selectors, services
from .exceptions import ScreeningError
from .forms import ReminderForm, ScreeningForm
from .models import EligibilityReminder, Screening

# Reasons after which the page explains what isotretinoin does to the skin.
ISOTRETINOIN_WAIT_CODES = ("isotretinoin_current", "isotretinoin_recent")


def _screened_treatment(slug):
    return get_object_or_404(active_treatments(), slug=slug, requires_screening=True)


def _times_url(treatment, token, day=None) -> str:
    url = f"{reverse('booking:times', args=[treatment.slug])}?{gate.TOKEN_PARAM}={token}"
    return f"{url}&date={day.isoformat()}" if day else url


def _email_to_fill_in(request, treatment, now) -> str:
    if kept := gate.session_kept_choice(request, treatment):
        return kept["email"]
    return reminders.email_from_link(request.GET.get(reminders.LINK_PARAM), treatment=treatment, now=now)


@never_cache  # it may show the answers just typed, or the email of a booking being confirmed (shared devices)
@sensitive_post_parameters()  # health answers never go into an error report
@require_http_methods(["GET", "HEAD", "POST"])
def screening_start(request, slug):
    treatment = get_object_or_404(active_treatments(), slug=slug)
    if not treatment.requires_screening:
        return redirect("booking:times", slug)
    now = timezone.now()
    form = ScreeningForm(
        request.POST or None,
        questions=selectors.active_contraindications(),
        policy=selectors.screening_policy(treatment),
        today=today_local(now),
        # A reminder email's link fills the email in, without carrying it (screening/reminders.py); so does the
        # booking the patient was confirming when their answers lapsed (`gate.session_keep_choice`).
        initial={"email": "" if request.method == "POST" else _email_to_fill_in(request, treatment, now)},
    )
    if request.method == "POST" and form.is_valid():
        throttle.count_email(request, form.cleaned_data["email"])  # a valid form only (clinic/throttle.py)
        screening = services.screening_submit(
            treatment=treatment,
            email=form.cleaned_data["email"],
            answers=form.answers,
            now=now,
            earlier_ids=gate.session_screening_ids(request),
        )
        gate.session_remember(request, screening)
        token = gate.screening_token(screening)
        kept = gate.session_kept_choice(request, treatment, take=True)
        if screening.outcome in (Screening.Outcome.CLEAR, Screening.Outcome.REVIEW):
            if kept is not None:  # back to the time they were confirming; its page says if it is gone
                details = reverse("booking:details", args=[slug])
                return redirect(f"{details}?{urlencode({'start': kept['start'], gate.TOKEN_PARAM: token})}")
            return redirect(_times_url(treatment, token))
        return redirect("screening:result", slug, token)
    status = 400 if request.method == "POST" else 200
    return render(request, "screening/form.html", {"treatment": treatment, "form": form}, status=status)


def _result_context(request, treatment, screening, token, now, reminder_form=None):
    today = today_local(now)
    first_day, last_day = bookable_days(now)
    eligible_from = screening.eligible_from
    times_url = first_free_day = None
    diary_open = (
        screening.outcome == Screening.Outcome.WAIT
        and screening.is_usable(now)
        and eligible_from is not None
        and eligible_from <= last_day
    )
    if diary_open:
        # Promise only times that exist: the diary may be open that far but full, or closed on that day.
        first_free_day = next_day_with_times(
            treatment=treatment,
            after=max(eligible_from, first_day) - timedelta(days=1),
            now=now,
            not_before=services.screening_not_before(screening),
        )
        if first_free_day is not None:
            times_url = _times_url(treatment, token, first_free_day)
    # Not for changed answers: their day is a clinician's to confirm (`eligibility_reminder_subscribe`).
    can_remind = eligible_from is not None and eligible_from > today and screening.previous_id is None
    pending = set(
        EligibilityReminder.objects.filter(screening=screening, state=EligibilityReminder.State.PENDING).values_list(
            "kind", flat=True
        )
    )
    reminders = EligibilityReminder.Kind.ELIGIBLE in pending
    alternatives = selectors.safe_alternatives(treatment=treatment, reasons=screening.reasons)
    return {
        "treatment": treatment,
        "screening": screening,
        "token": token,
        "blocked": screening.outcome == Screening.Outcome.BLOCKED,
        "eligible_from": eligible_from,
        "times_url": times_url,
        "first_free_day": first_free_day,
        "no_free_times_yet": diary_open and first_free_day is None,
        "alternatives": alternatives,
        "alternatives_resurfacing": any(alternative.resurfacing for alternative in alternatives),
        "reminder_form": (reminder_form or ReminderForm()) if can_remind and not reminders else None,
        "reminded": reminders,
        # Said on the page as the flash said it on subscribing, for as long as the earlier email is still to go.
        "advance_pending": reminders and EligibilityReminder.Kind.ADVANCE in pending,
        "advance_too": can_remind and (eligible_from - today).days > services.ADVANCE_REMINDER_DAYS,
        "isotretinoin": any(r.get("code") in ISOTRETINOIN_WAIT_CODES for r in screening.reasons),
    }


def _own_screening(request, treatment, token) -> Screening:
    screening = gate.screening_from_request(request, treatment, token)
    if screening is None:
        raise Http404("This link is not valid.")
    return screening


def _superseded(request, treatment, screening):
    """Where to send the patient instead when later answers replaced `screening`, or the clinic changed its rules
    since it was decided; else None."""
    later = selectors.later_screening(screening, also_ids=gate.session_screening_ids(request))
    if later is not None:
        return gate.superseded(request, treatment, later).response
    turned_away = gate.rules_changed_since(request, treatment, screening)
    return turned_away.response if turned_away is not None else None


@never_cache
@require_safe
def screening_result(request, slug, token):
    """Why the patient must wait or cannot book, from when they can, and what they can book meanwhile."""
    treatment = _screened_treatment(slug)
    screening = _own_screening(request, treatment, token)
    if response := _superseded(request, treatment, screening):
        return response
    now = timezone.now()
    if screening.outcome in (Screening.Outcome.CLEAR, Screening.Outcome.REVIEW):
        return redirect(_times_url(treatment, token))
    return render(request, "screening/result.html", _result_context(request, treatment, screening, token, now))


@never_cache
@require_POST
def screening_reminder(request, slug, token):
    """Opt in to an email when the wait ends; only ever with the box ticked."""
    treatment = _screened_treatment(slug)
    screening = _own_screening(request, treatment, token)
    if response := _superseded(request, treatment, screening):
        return response  # a reminder about an old date would skip the latest one's
    now = timezone.now()
    form = ReminderForm(request.POST)
    if form.is_valid():
        try:
            reminders = services.eligibility_reminder_subscribe(screening=screening, now=now)
        except ScreeningError as error:
            messages.error(request, error.message)
        else:
            if reminders:
                day = next(r.due_on for r in reminders if r.kind == EligibilityReminder.Kind.ELIGIBLE)
                advance = any(r.kind == EligibilityReminder.Kind.ADVANCE for r in reminders)
                also = ", and two weeks before" if advance else ""
                day_words = date_format(day, "l j F Y")
                messages.success(
                    request, f"Thank you. We will email {screening.email} on {day_words}, when you can book{also}."
                )
            else:
                messages.info(request, "Your wait is already over: you can book now.")
        return redirect("screening:result", slug, token)
    context = _result_context(request, treatment, screening, token, now, reminder_form=form)
    return render(request, "screening/result.html", context, status=400)
