"""Patient pages: HTTP in, service call, HTTP out."""

import hashlib
import json
import logging
import re
import time
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.middleware.gzip import re_accepts_gzip
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.dateformat import format as date_format
from django.utils.dateformat import time_format
from django.utils.html import escape
from django.utils.text import compress_string
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_safe

from clinic import throttle
from screening import services as screening_services
from screening.exceptions import EmailMismatch, ScreeningError, ScreeningInvalid
from screening.gate import KEPT_CHOICE_MESSAGE, booking_gate, keep_choice_being_confirmed

from . import selectors, services
from .availability import Slot
from .exceptions import AlreadyBooked, BookingError, SameTime, SlotTaken, SlotUnavailable
from .forms import BookingForm, CancelForm, DayForm, SlotChoiceForm, parse_slot_value, slot_value
from .memo import RecentResults
from .models import STILL_EXPECTED, Appointment, AppointmentEmail
from .tokens import manage_link_expires_at, manage_token, read_manage_token

MAX_API_DAYS = 31

logger = logging.getLogger(__name__)


def _bookable_treatment(slug):
    treatment = selectors.bookable_treatment(slug)
    if treatment is None:
        raise Http404("No such treatment is bookable online.")
    return treatment


# Pages and JSON made from free times, kept per process under the availability version they were made from (see
# selectors.availability_version): the next patient asking for the same day gets the same bytes without rendering.
_made = RecentResults(most_weight=8 * 1024 * 1024, max_age=lambda: settings.AVAILABILITY_CACHE_SECONDS)


def _kept_answer(key) -> bytes | None:
    """This worker's copy of a page or answer made under `key`, else the one another worker made.

    Every worker keeps its own copy, so without the shared one each of them would make every page again when its
    copy ages out: for a 30-day answer, 10-18 ms of rendering per worker where fetching the bytes costs one Redis
    round trip. A copy lives here no longer than the shared one; shortly before that expires, one reader, picked
    as for the availability cache (`selectors.refresh_early`), makes it afresh while the others keep using it.
    """
    kept = _made.get(key)
    if kept is not None:
        return kept
    try:
        shared = cache.get(_shared_made_key(key))
    except Exception:  # noqa: BLE001 - a cache outage only means making the page here
        logger.warning("Availability cache unavailable; making the page here", exc_info=True)
        return None
    if shared is None or selectors.refresh_early(shared[0], shared[1]):
        return None
    expires_at, _took, content = shared
    # The copy goes at random within the last fifth of what is left (RecentResults), not in step with the others.
    return _made.put(key, content, weight=len(content), life=expires_at - time.time())


def _keep_and_share(key, content: bytes, *, took: float) -> None:
    """Keep a page or answer this worker made under `key`, and share it with the others for `_kept_answer`; this
    worker's copy lives no longer than the shared one."""
    life = selectors.entry_life()
    _made.put(key, content, weight=len(content), life=life)
    try:
        expires_at = time.time() + life
        cache.set(_shared_made_key(key), (expires_at, took, content), timeout=settings.AVAILABILITY_CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("Availability cache unavailable; page not shared", exc_info=True)


def _shared_made_key(key) -> str:
    return "availability:made:" + hashlib.sha256(repr(key).encode()).hexdigest()[:32]


def _same_for_everyone(request) -> bool:
    """No session and no flash message: what this URL shows does not depend on who asks."""
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and CookieStorage.cookie_name not in request.COOKIES


def _requested_day(request, *, now, not_before=None, default_day=None) -> tuple[DayForm, date]:
    """Read the day a patient asked for (?date=), or when they did not, `default_day` if they may book it, else the
    first day they may book."""
    first_day, last_day = selectors.bookable_days(now)
    if not_before is not None:
        first_day = max(first_day, not_before.astimezone(selectors.clinic_tz()).date())
    # Bound only to a day asked for: other parameters (a campaign's ?utm_source=) leave the box on the day shown.
    asked = request.GET if request.GET.get("date") else None
    form = DayForm(asked, first_day=first_day, last_day=last_day, default_day=default_day)
    return form, form.cleaned_data["date"] if form.is_valid() else form.default_day


def _day_context(
    *, request, treatment, now, exclude_appointment=None, not_before=None, default_day=None, name_next_free_day=False
):
    """Read the requested day, and return the page context with its free times (or the form's error).

    A day without times also names the next day that has some; with `name_next_free_day`, every day does (for a
    page with no "next free day" view of its own to jump through).
    """
    form, day = _requested_day(request, now=now, not_before=not_before, default_day=default_day)
    first_day, last_day = form.first_day, form.last_day
    slots = selectors.slots_on(
        treatment=treatment, day=day, now=now, exclude_appointment=exclude_appointment, not_before=not_before
    )
    context = {
        "treatment": treatment,
        "day_form": form,
        "day": day,
        "slots": slots,
        "previous_day": day - timedelta(days=1) if day > first_day else None,
        "next_day": day + timedelta(days=1) if day < last_day else None,
        "last_day": last_day,
    }
    if form.is_bound and not form.is_valid():
        return context, 400
    if not slots or name_next_free_day:
        context["next_day_with_times"] = selectors.next_day_with_times(
            treatment=treatment, after=day, now=now, exclude_appointment=exclude_appointment, not_before=not_before
        )
    return context, 200


@require_safe
def treatment_list(request):
    return render(request, "booking/treatment_list.html", {"treatments": selectors.offered_treatments()})


@require_safe
def treatment_times(request, slug):
    now = timezone.now()
    # The page a visitor without a session sees depends only on the URL and the diary: answer from the kept copy
    # before reading the treatment at all (a kept page means it was bookable, without screening, in this version).
    key = None
    if _same_for_everyone(request):
        form, day = _requested_day(request, now=now)
        version = form.is_valid() and selectors.availability_version(first_day=day, last_day=day, now=now)
        key = version and ("times", slug, version, selectors.bookable_days(now), request.get_full_path())
        page = _kept_answer(key) if key else None
        if page is not None:
            return HttpResponse(page)
    began = time.perf_counter()
    treatment = _bookable_treatment(slug)
    gate = booking_gate(request, treatment, now)
    if gate.response:
        return gate.response
    context, status = _day_context(request=request, treatment=treatment, now=now, not_before=gate.not_before)
    details_url = reverse("booking:details", args=[slug])
    carry = f"&screening={gate.token}" if gate.token else ""
    context["slot_links"] = [
        (slot, f"{details_url}?start={slot_value(slot.start)}{carry}") for slot in context["slots"]
    ]
    context.update(screening=gate.screening, screening_token=gate.token)
    page = render_to_string("booking/times.html", context, request).encode()
    # A day without times also names the next day that has some, which the version does not cover.
    if key and gate.screening is None and status == 200 and context["slots"]:
        _keep_and_share(key, page, took=time.perf_counter() - began)
    return HttpResponse(page, status=status)


@require_safe
def next_day_with_times(request, slug):
    """Jump from a day to the next one that has free times."""
    treatment = _bookable_treatment(slug)
    now = timezone.now()
    gate = booking_gate(request, treatment, now)
    if gate.response:
        return gate.response
    first_day, last_day = selectors.bookable_days(now)
    form = DayForm({"date": request.GET.get("after", "")}, first_day=first_day, last_day=last_day)
    after = form.cleaned_data["date"] if form.is_valid() else first_day - timedelta(days=1)
    day = selectors.next_day_with_times(treatment=treatment, after=after, now=now, not_before=gate.not_before)
    url = reverse("booking:times", args=[slug])
    if day is not None:
        return redirect(f"{url}?date={day.isoformat()}")
    if not form.is_valid():
        messages.info(request, "There are no free times in the diary yet. Please call the clinic.")
        return redirect(url)
    # Nothing free between that day and the horizon's last: stay on it and say where online booking ends.
    last = date_format(last_day, "l j F Y")
    if after < last_day:
        message = f"There are no free times after {date_format(after, 'l j F')}: we take bookings online up to {last}."
    else:
        message = f"We take bookings online up to {last}."
    messages.info(request, f"{message} For a later time, please call the clinic on {settings.CLINIC_PHONE}.")
    return redirect(f"{url}?date={after.isoformat()}")


@sensitive_post_parameters("name", "email", "phone", "date_of_birth")
@require_http_methods(["GET", "HEAD", "POST"])
def booking_details(request, slug):
    treatment = _bookable_treatment(slug)
    now = timezone.now()
    gate = booking_gate(request, treatment, now)
    if gate.response:
        return gate.response
    not_before = gate.not_before
    start = parse_slot_value(request.POST.get("start") if request.method == "POST" else request.GET.get("start"))
    if start is None:
        if request.method == "POST" and (chosen_day := _day_of_the_offered_times(request, now)) is not None:
            # Confirm pressed on a page offering other times, with none chosen: keep what was typed, ask again.
            return _choose_a_time_page(request, gate=gate, treatment=treatment, day=chosen_day)
        return redirect("booking:times", slug)
    day = start.astimezone(selectors.clinic_tz()).date()
    status = 200
    if request.method == "POST":
        # The form only reads the chosen time; the booking service checks it against the diary as it books (a
        # taken time is a SlotTaken below), so the day's other times are read only to offer them after a refusal.
        form = BookingForm(request.POST, slots=[] if gate.refusal_for(start) else [Slot(start, ())])
        if form.is_valid():
            data = form.cleaned_data
            throttle.count_email(request, data["email"])  # a valid form only (clinic/throttle.py)
            patient = services.PatientDetails(
                name=data["name"], email=data["email"], phone=data["phone"], date_of_birth=data["date_of_birth"]
            )
            try:
                if gate.screening is not None:
                    appointment = screening_services.screening_book(
                        screening=gate.screening, start=data["start"], patient=patient, now=now
                    )
                else:
                    appointment = services.appointment_book(
                        treatment=treatment,
                        start=data["start"],
                        patient=patient,
                        now=now,
                        # A peel and the holds it puts on the patient's screened bookings go together, or neither.
                        also=lambda booked: screening_services.screened_bookings_after_resurfacing(booked, now=now),
                    )
            except ScreeningInvalid as error:
                kept = keep_choice_being_confirmed(request, treatment)
                messages.info(request, f"{error.message} {KEPT_CHOICE_MESSAGE}" if kept else error.message)
                return redirect("screening:start", slug)
            except EmailMismatch as error:
                form.add_error("email", error.message)
                status = 400
            except ScreeningError as error:
                form = _with_fresh_times(form, treatment=treatment, day=day, error=error, not_before=not_before)
                status = 400
            except (SlotTaken, SlotUnavailable):
                # Say why, as the form's own page would for that time: passed, too soon, closed... or taken.
                return _refused_details_page(request, gate=gate, treatment=treatment, form=form, start=start, now=now)
            except BookingError as error:
                form = _with_fresh_times(form, treatment=treatment, day=day, error=error, not_before=not_before)
                status = 409 if isinstance(error, AlreadyBooked) else 400
            else:
                token = manage_token(appointment.public_id)
                response = redirect("booking:confirmed", token)
                # Back to this form from "You're booked" finds the time taken, by this very patient: say so.
                response.set_cookie(JUST_BOOKED_COOKIE, token, **JUST_BOOKED_COOKIE_OPTIONS)
                return response
        elif "start" in form.errors:
            # Usually someone else booked it between the two pages: say so, and offer what is still free.
            error = gate.refusal_for(start) or SlotTaken()
            form = _with_fresh_times(form, treatment=treatment, day=day, error=error, not_before=not_before)
            status = 409
        else:
            status = 400
    else:
        if too_early := gate.too_early(request, start, now):
            return too_early
        slot = selectors.free_slot_at(treatment=treatment, start=start, now=now, not_before=not_before)
        if slot is not None and gate.screening is None and _same_for_everyone(request):
            return _empty_details_page(request, treatment=treatment, slot=slot)
        # The email the patient gave with their answers, which the booking must be under.
        email = gate.screening.email if gate.screening is not None else ""
        form = BookingForm(initial={"start": slot_value(start), "email": email}, slots=[slot] if slot else [])
        if slot is None:
            return _refused_details_page(request, gate=gate, treatment=treatment, form=form, start=start, now=now)
    context = {"treatment": treatment, "form": form, **_chosen_time_in_words(start)}
    return _details_page(request, gate, context, status=status)


def _details_page(request, gate, context, *, status) -> HttpResponse:
    """The details form as rendered for this patient: it may carry what they typed, or the email they gave with
    their answers, so a shared device's browser does not keep it (the kept empty form, `_empty_details_page`, may
    be kept)."""
    context.update(screening=gate.screening, screening_token=gate.token)
    response = render(request, "booking/details.html", context, status=status)
    add_never_cache_headers(response)
    return response


# Why a time opened from a link (an old bookmark, a hand-made URL, a time just booked) cannot be booked, in the
# patient's words, with its status: 410 for a time gone for good, 404 for one that is not offered (or not yet), and
# 409 for one another booking holds.
_REFUSALS = {
    "passed": ("That time has passed.", 410),
    "too_soon": ("That time is too soon to book online. Please choose a later time, or call the clinic.", 410),
    # The horizon is a moment (BOOKING_HORIZON_DAYS from now), so a time later on its last day is already too far.
    "too_far": ("That time is further ahead than we take bookings (up to {latest}).", 404),
    "closed": ("We are not open then.", 404),
    "off_grid": ("That time is not one we offer.", 404),
}


# Why a time chosen to move a booking to cannot be had, where it says more than "not available".
_MOVE_REFUSALS = {
    "passed": "That time has passed. Please choose one of the times shown.",
    "too_soon": "That time is too soon to move to online. Please choose a later time, or call the clinic.",
    "closed": "We are not open then.",  # the day's page says which day is next, if it has no times
}


# The manage link of the booking this browser made last, for a day: Back from "You're booked" to the details form
# then finds its own booking there, not "that time has just been taken".
JUST_BOOKED_COOKIE = "just_booked"
JUST_BOOKED_COOKIE_OPTIONS = {
    "max_age": 24 * 60 * 60,
    "path": "/book/",
    "secure": settings.SESSION_COOKIE_SECURE,
    "httponly": True,
    "samesite": "Lax",
}


def _booked_in_this_browser(request, *, treatment, start) -> str | None:
    """The manage token of the booking this browser just made, if it holds `treatment` at `start`."""
    token = request.COOKIES.get(JUST_BOOKED_COOKIE, "")
    link = read_manage_token(token) if token else None
    appointment = selectors.appointment_for_manage(link[0]) if link else None
    if appointment is None or appointment.status not in STILL_EXPECTED:
        return None
    return token if (appointment.treatment_id, appointment.start) == (treatment.pk, start) else None


def _refused_details_page(request, *, gate, treatment, form, start, now) -> HttpResponse:
    """The details form for a time `free_slot_at` refused: say why, and offer free times with what was typed kept, so
    Confirm books one: that day's when it has any, else the nearest day's that has (the next, or beyond the horizon
    the last); with none anywhere, a link to the times page."""
    reason = selectors.why_not_bookable(treatment=treatment, start=start, now=now, not_before=gate.not_before)
    first_day, last_day = selectors.bookable_days(now)
    if gate.not_before is not None:
        first_day = max(first_day, gate.not_before.astimezone(selectors.clinic_tz()).date())
    if reason == "taken":
        # Opened again (Back from "You're booked"), not sent: a second person's details for the same time are refused.
        own = request.method != "POST" and _booked_in_this_browser(request, treatment=treatment, start=start)
        if own:
            messages.info(request, "You have booked this time: here is your booking.")
            return redirect("booking:confirmed", own)
        error, status = SlotTaken(), 409
    else:
        message, status = _REFUSALS[reason]
        latest = selectors.booking_window(now, gate.not_before)[1].astimezone(selectors.clinic_tz())
        error = SlotUnavailable(message.format(latest=date_format(latest, "l j F Y, H:i")))
    words = _chosen_time_in_words(start)
    day = start.astimezone(selectors.clinic_tz()).date()
    in_window = first_day <= day <= last_day
    offered = _with_fresh_times(
        form, treatment=treatment, day=day if in_window else None, error=error, not_before=gate.not_before
    )
    if not offered.fields["start"].choices:
        if day > last_day:
            nearest = selectors.last_day_with_times(treatment=treatment, now=now, not_before=gate.not_before)
        else:  # the next day with times, or near the horizon's end the last one before it
            after = max(day, first_day - timedelta(days=1))
            nearest = selectors.next_day_with_times(
                treatment=treatment, after=after, now=now, not_before=gate.not_before
            ) or selectors.last_day_with_times(treatment=treatment, now=now, not_before=gate.not_before)
        if nearest is not None and nearest != day:  # the page is about another day now: name the one they chose
            chosen = start.astimezone(selectors.clinic_tz())
            error = type(error)(
                f"You chose {date_format(chosen, 'l j F')} at {time_format(chosen, 'H:i')}. {error.message}"
            )
        offered = _with_fresh_times(form, treatment=treatment, day=nearest, error=error, not_before=gate.not_before)
        # The links go to the nearest day that can be booked (the horizon's last day may be one the clinic is closed).
        words["day_param"] = (nearest or min(max(day, first_day), last_day)).isoformat()
        if nearest is not None:
            words["day_label"] = date_format(nearest, "l j F Y")
            words["other_day"] = f"Choose a time on {words['day_label']}"
    times_url = f"{reverse('booking:times', args=[treatment.slug])}?date={words['day_param']}"
    context = {"treatment": treatment, "form": offered, "times_url": times_url, **words}
    return _details_page(request, gate, context, status=status)


def _day_of_the_offered_times(request, now) -> date | None:
    """The day whose times a refused details page offered (its hidden "day"), while it can still be booked."""
    if not request.POST.get("day"):
        return None
    first_day, last_day = selectors.bookable_days(now)
    form = DayForm({"date": request.POST["day"]}, first_day=first_day, last_day=last_day)
    return form.cleaned_data["date"] if form.is_valid() else None


def _choose_a_time_page(request, *, gate, treatment, day) -> HttpResponse:
    form = BookingForm(request.POST, slots=[])
    form = _with_fresh_times(
        form, treatment=treatment, day=day, error=SlotUnavailable("Please choose a time."), not_before=gate.not_before
    )
    words = {
        "start_value": "",
        "day_label": date_format(day, "l j F Y"),
        "time_label": "",
        "day_param": day.isoformat(),
    }
    context = {"treatment": treatment, "form": form, "times_url": None, **words}
    return _details_page(request, gate, context, status=400)


def _chosen_time_in_words(start) -> dict[str, str]:
    """Everything the details page says about the chosen time, as text (a kept page has a hole for each)."""
    local = start.astimezone(selectors.clinic_tz())
    return {
        "start_value": slot_value(start),
        "day_label": date_format(local.date(), "l j F Y"),
        "time_label": time_format(local, "H:i"),
        "day_param": local.date().isoformat(),
    }


# A kept details page is rendered once with a stand-in in each of these places (the view's context outranks the
# context processor's CSRF token), then split there; each visitor's page is the parts with their own values put in.
_HOLES = ("csrf_token", "start_value", "day_label", "time_label", "day_param")
_STAND_INS = {name: f"kept-page-hole-{name.replace('_', '-')}-{'0' * 16}" for name in _HOLES}
_BETWEEN_HOLES = re.compile("(" + "|".join(map(re.escape, _STAND_INS.values())) + ")")
_HOLE_NAMED = {stand_in: name for name, stand_in in _STAND_INS.items()}


def _empty_details_page(request, *, treatment, slot) -> HttpResponse:
    """The empty form for a free time, for a visitor without a session or a screening.

    It looks the same to every such visitor but for the time and their CSRF token, so each process keeps one per
    treatment, under the diary's version (which covers the treatment it shows), and fills in the holes.
    """
    version = selectors.diary_version()
    key = version and ("details", treatment.slug, version)
    parts = _made.get(key) if key else None
    words = _chosen_time_in_words(slot.start)
    if parts is None:
        form = BookingForm(initial={"start": words["start_value"]}, slots=[slot])
        context = {"treatment": treatment, "form": form, **_STAND_INS}
        page = render_to_string("booking/details.html", context, request)
        # Even places are the page's own text, odd ones the names of the holes between them.
        parts = tuple(
            _HOLE_NAMED.get(part, part) if i % 2 else part for i, part in enumerate(_BETWEEN_HOLES.split(page))
        )
        if key:
            _made.put(key, parts, weight=len(page))
    # get_token also has CsrfViewMiddleware set the matching cookie, as the {% csrf_token %} tag would.
    values = {**words, "csrf_token": get_token(request)}
    return HttpResponse("".join(escape(values[part]) if i % 2 else part for i, part in enumerate(parts)))


def _with_fresh_times(form, *, treatment, day, error, not_before=None):
    """Rebuild the form's time choices from fresh availability and say why the chosen one failed (no choices when
    `day` is None: a day outside the booking window)."""
    slots = (
        []
        if day is None
        else selectors.slots_on(treatment=treatment, day=day, now=timezone.now(), not_before=not_before)
    )
    fresh = BookingForm(form.data if form.is_bound else None, slots=slots, initial=form.initial)
    fresh.is_valid()
    # The chosen time is gone from the fresh choices: one clear message instead of "not a valid choice".
    fresh.errors.pop("start", None)
    if not fresh.is_bound:
        fresh.cleaned_data = {}  # opening the form for a time just taken (GET): add_error needs it even so
    fresh.add_error("start", error.message)
    return fresh


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form sent without its security cookie (open too long, or cookies blocked), said plainly
    in the site's layout with a way back. Django's `reason` goes to the log (django.security.csrf), not the page; what
    was typed is not shown back, as the post may have come from another site."""
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}  # resolved before the CSRF check
    back_url, back_text = reverse("booking:treatments"), "See our treatments"
    if request.resolver_match and request.resolver_match.namespace == "booking" and "token" in kwargs:
        back_url, back_text = reverse("booking:manage", args=[kwargs["token"]]), "Back to your booking"
    treatment = selectors.bookable_treatment(kwargs["slug"]) if isinstance(kwargs.get("slug"), str) else None
    if treatment is not None:
        back_url, back_text = reverse("booking:times", args=[treatment.slug]), f"Back to the times for {treatment.name}"
        start = parse_slot_value(request.POST.get("start"))
        first_day, last_day = selectors.bookable_days(timezone.now())
        # The day of the time they chose, while it can still be booked (a form open overnight may be for yesterday).
        if start is not None and first_day <= (day := start.astimezone(selectors.clinic_tz()).date()) <= last_day:
            back_url += f"?date={day.isoformat()}"
    match = request.resolver_match
    if treatment is not None and match.namespace == "screening":
        # From the health questions (or their result page): back to them, not to times the gate would refuse.
        if match.url_name == "start":
            back_url, back_text = reverse("screening:start", args=[treatment.slug]), "Back to the health questions"
        elif isinstance(kwargs.get("token"), str):
            back_url = reverse("screening:result", args=[treatment.slug, kwargs["token"]])
            back_text = "Back to your answers"
    context = {"treatment": treatment, "back_url": back_url, "back_text": back_text}
    return render(request, "403_csrf.html", context, status=403)


def _appointment_from_token(token) -> Appointment:
    link = read_manage_token(token)
    appointment = selectors.appointment_for_manage(link[0]) if link else None
    if appointment is None or timezone.now() > manage_link_expires_at(
        issued_at=link[1], appointment_start=appointment.start
    ):
        raise Http404("This link is not valid.")
    return appointment


# The pages behind a manage link show a patient's booking (and its screening's answers, the screening's result
# page): `never_cache`, so on a shared device (a waiting-room tablet) the next person cannot bring them back from the
# browser's cache or history.
@never_cache
@require_safe
def booking_confirmed(request, token):
    appointment = _appointment_from_token(token)
    if appointment.status not in STILL_EXPECTED:
        return redirect("booking:manage", token)  # cancelled since (Back, a reload): not "You're booked"
    reminders = appointment.emails.filter(kind=AppointmentEmail.Kind.REMINDER, state=AppointmentEmail.State.PENDING)
    now = timezone.now()
    context = {"appointment": appointment, "token": token, "reminder_due": reminders.exists()}
    context["change_refusal"] = services.appointment_change_refusal(appointment=appointment, now=now)
    context["review_is_close"] = appointment.review_is_close(now)
    return render(request, "booking/confirmed.html", context)


@never_cache
@require_safe
def manage(request, token):
    appointment = _appointment_from_token(token)
    refusal = services.appointment_change_refusal(appointment=appointment, now=timezone.now())
    context = {"appointment": appointment, "token": token, "refusal": refusal}
    context["change_until"] = appointment.changeable_online_until.astimezone(selectors.clinic_tz())
    # A screened booking the patient's answers now block cannot be moved online (`manage_reschedule` says so too).
    context["cannot_move"] = not refusal and screening_services.screened_booking_allows(appointment).blocked
    return render(request, "booking/manage.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage_cancel(request, token):
    appointment = _appointment_from_token(token)
    form = CancelForm(request.POST if request.method == "POST" else None)  # a POST without the tick is one too
    if form.is_valid():
        try:
            services.appointment_cancel(appointment=appointment, now=timezone.now())
        except BookingError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Your appointment is cancelled. We are emailing you to confirm it.")
        return redirect("booking:manage", token)
    if services.appointment_change_refusal(appointment=appointment, now=timezone.now()):
        return redirect("booking:manage", token)  # which says why
    context = {"appointment": appointment, "form": form, "token": token}
    return render(request, "booking/cancel.html", context, status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage_reschedule(request, token):
    appointment = _appointment_from_token(token)
    now = timezone.now()
    if services.appointment_change_refusal(appointment=appointment, now=now):
        return redirect("booking:manage", token)  # which says why
    source = request.POST if request.method == "POST" else request.GET
    # A screened booking never moves before the day its screening, or answers given since, allow.
    allows = screening_services.screened_booking_allows(appointment)
    if allows.blocked:
        messages.info(
            request,
            "Your answers to the health questions mean this appointment cannot be moved online. "
            f"A clinician will look at it; you can also call us on {settings.CLINIC_PHONE}.",
        )
        return redirect("booking:manage", token)
    not_before = allows.not_before
    tz = selectors.clinic_tz()
    start = parse_slot_value(source.get("start")) if request.method == "POST" else None
    context, status = _day_context(
        request=request,
        treatment=appointment.treatment,
        now=now,
        exclude_appointment=appointment,
        not_before=not_before,
        # Open on the day now booked (a patient moving a time usually moves it within that day), or, posted, on the
        # day of the time they chose: its times, and the links to the days either side, are that day's.
        default_day=(start or appointment.start).astimezone(tz).date(),
        name_next_free_day=True,
    )
    if request.method == "POST":
        form = SlotChoiceForm(request.POST, slots=context["slots"])
        if not form.is_valid() and start is not None and "start" in form.errors:
            why = selectors.why_not_bookable(
                treatment=appointment.treatment, start=start, now=now, not_before=not_before
            )
            if why in _MOVE_REFUSALS:  # closed, passed...: say so, not only "not available"
                form.errors["start"] = form.error_class([_MOVE_REFUSALS[why]])
        if form.is_valid():
            try:
                moved = screening_services.screened_booking_reschedule(
                    appointment=appointment, new_start=form.cleaned_data["start"], now=now, not_before=not_before
                )
            except BookingError as error:
                form.add_error("start", error.message)
                status = 400 if isinstance(error, SameTime) else 409
            else:
                checked = moved.status == Appointment.Status.PENDING_REVIEW
                also = " A clinician will check it before it is confirmed; we are" if checked else " We are"
                messages.success(request, f"Your appointment has been moved.{also} emailing you the new time.")
                return redirect("booking:manage", token)
        else:
            status = 400
    else:
        form = SlotChoiceForm(slots=context["slots"])
    context.update(appointment=appointment, token=token, form=form)
    if not_before is not None and not_before > now:
        context["earliest_day"] = not_before.astimezone(selectors.clinic_tz()).date()  # why the days start there
    return render(request, "booking/reschedule.html", context, status=status)


@require_safe
def availability_api(request, slug):
    """Free start times as JSON: ?start=YYYY-MM-DD&days=N (1 to 31)."""
    now = timezone.now()
    first_day, last_day = selectors.bookable_days(now)
    form = DayForm({"date": request.GET.get("start", "")}, first_day=first_day, last_day=last_day)
    try:
        days = int(request.GET.get("days", "1"))
    except ValueError:
        days = 0
    valid = form.is_valid() and 1 <= days <= MAX_API_DAYS
    key = None
    if valid and _same_for_everyone(request):
        # As for the times page: a kept answer means the treatment was bookable, without screening, in this version.
        span = (form.cleaned_data["date"], min(form.cleaned_data["date"] + timedelta(days=days - 1), last_day))
        version = selectors.availability_version(first_day=span[0], last_day=span[1], now=now)
        key = version and ("api", slug, version)
        content = _kept_answer(key) if key else None
        if content is not None:
            return _json(request, content, key)
    began = time.perf_counter()
    treatment = selectors.bookable_treatment(slug)
    if treatment is None:
        return JsonResponse({"error": "No such treatment is bookable online."}, status=404)
    gate = booking_gate(request, treatment, now, announce=False)
    if gate.response:
        return JsonResponse({"errors": {"screening": [gate.refusal]}}, status=403)
    if not valid:
        # Keyed by the parameter the client sent (?start=), not the form's field.
        errors = {"start": form.errors["date"]} if "date" in form.errors else {}
        if not 1 <= days <= MAX_API_DAYS:
            errors["days"] = [f"days must be a whole number from 1 to {MAX_API_DAYS}."]
        return JsonResponse({"errors": errors}, status=400)
    first = form.cleaned_data["date"]
    by_day = selectors.availability(
        treatment=treatment,
        first_day=first,
        last_day=min(first + timedelta(days=days - 1), last_day),
        now=now,
        not_before=gate.not_before,
    )
    content = json.dumps(
        {
            "treatment": treatment.slug,
            "time_zone": str(selectors.clinic_tz()),
            # Each time as the booking form takes it (?start=): UTC to the minute, ISO 8601 ("2026-03-03T09:00Z").
            "days": {day.isoformat(): [slot_value(slot.start) for slot in slots] for day, slots in by_day.items()},
        },
        separators=(",", ":"),
    ).encode()
    if key and gate.screening is None:
        _keep_and_share(key, content, took=time.perf_counter() - began)
    else:
        key = None
    return _json(request, content, key)


def _json(request, content: bytes, key=None) -> HttpResponse:
    """JSON, gzipped for a client that accepts it (every browser does): a 30-day answer is 20 KB plain, 3 KB gzipped.
    The gzipped bytes are kept next to the plain ones, so each is compressed once. They are kept under the plain
    bytes' hash as well as their key: made again (once expired), the plain answer may differ under the same key, and
    the gzipped copy must not outlive the plain one it was packed from. (A bytes object computes its hash once.)"""
    if not re_accepts_gzip.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(content, content_type="application/json")
    else:
        pack = partial(compress_string, content)
        packed = _made.get_or_make(("gzip", key, hash(content)), pack) if key else pack()
        response = HttpResponse(packed, content_type="application/json", headers={"Content-Encoding": "gzip"})
    patch_vary_headers(response, ["Accept-Encoding"])
    return response
