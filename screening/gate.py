"""The gate in front of screened treatments: which screening, if any, this browser may see times and book with.

A screening travels as a signed token (in the times URL and a hidden field of the details form) and must also
be one this browser's session made: a token copied from someone else, altered, expired or already used opens
nothing. Without a token the session's latest screening for the treatment is used, so plain day links work. The
latest answers win: a screening followed by another for the same treatment, by the same email or this browser,
opens nothing either; the patient is sent to the later one.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core import signing
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.formats import date_format

from booking.models import Treatment
from booking.selectors import bookable_days, clinic_tz

from . import selectors
from .exceptions import NotEligible
from .models import Screening
from .services import RULES_CHANGED_MESSAGE, screening_not_before

TOKEN_PARAM = "screening"  # noqa: S105 - a query parameter name, not a secret
SESSION_IDS = "screening_ids"
SESSION_LATEST = "screening_latest"
# Enough for a patient who answers several times; older ids simply drop off.
SESSION_MAX_IDS = 20

_signer = signing.Signer(salt="screening.gate")


def screening_token(screening: Screening) -> str:
    return _signer.sign(screening.public_id.hex)


def public_id_from_token(token: str) -> uuid.UUID | None:
    """Return the screening's public id, or None for a tampered or malformed token."""
    try:
        return uuid.UUID(hex=_signer.unsign(token))
    except (signing.BadSignature, ValueError, TypeError):
        return None


def session_remember(request, screening: Screening) -> None:
    """Bind a screening to this browser: only this session may use its token."""
    ids = [i for i in request.session.get(SESSION_IDS, []) if i != screening.public_id.hex]
    ids.append(screening.public_id.hex)
    request.session[SESSION_IDS] = ids[-SESSION_MAX_IDS:]
    latest = dict(request.session.get(SESSION_LATEST, {}))
    latest[str(screening.treatment_id)] = screening.public_id.hex
    request.session[SESSION_LATEST] = latest


# The time and email of a booking the patient was confirming when their answers lapsed: answered again, they come
# back to that time with their email filled in, instead of starting over. Only until those next answers.
SESSION_KEPT_CHOICE = "screening_kept_choice"
KEPT_CHOICE_MESSAGE = "Once you have, we take you back to the time you chose if it is still free."


def keep_choice_being_confirmed(request, treatment: Treatment) -> bool:
    """When the details form was sent with answers that can no longer be used, keep its time and email for after
    the next answers; whether it was such a form. Both are checked again where they are used."""
    start, email = request.POST.get("start", "")[:40], request.POST.get("email", "").strip()[:254]
    if request.method != "POST" or not start or not email:
        return False
    kept = dict(request.session.get(SESSION_KEPT_CHOICE, {}))
    kept[str(treatment.pk)] = {"start": start, "email": email}
    request.session[SESSION_KEPT_CHOICE] = kept
    return True


def session_kept_choice(request, treatment: Treatment, *, take: bool = False) -> dict | None:
    """The kept {"start", "email"} for `treatment`, if any; `take` also forgets it."""
    kept = dict(request.session.get(SESSION_KEPT_CHOICE, {}))
    choice = kept.pop(str(treatment.pk), None)
    if take and choice is not None:
        request.session[SESSION_KEPT_CHOICE] = kept
    return choice


def session_screening_ids(request) -> list[str]:
    return list(request.session.get(SESSION_IDS, []))


def screening_from_request(request, treatment: Treatment, token: str | None) -> Screening | None:
    """Return the screening for `treatment` named by `token` (or the session's latest), if this session made it."""
    if token:
        public_id = public_id_from_token(token)
        if public_id is None or public_id.hex not in session_screening_ids(request):
            return None
    else:
        latest = request.session.get(SESSION_LATEST, {}).get(str(treatment.pk))
        if latest is None or latest not in session_screening_ids(request):
            return None
        public_id = uuid.UUID(hex=latest)
    return selectors.screening_by_public_id(public_id, treatment=treatment)


@dataclass(frozen=True)
class Gate:
    """What the booking pages may do: `response` set means send the patient there instead, for `refusal`."""

    screening: Screening | None = None
    token: str = ""
    not_before: datetime | None = None
    response: object | None = None
    # Why the patient was turned away and where to go, in a sentence (for the JSON API, which cannot redirect).
    refusal: str = ""

    def refusal_for(self, start: datetime) -> NotEligible | None:
        """Say why `start` cannot be booked when it is before the screening's eligible day."""
        if self.screening is None or self.not_before is None or start >= self.not_before:
            return None
        return NotEligible(
            f"You can book {self.screening.treatment.name_in_a_sentence} from "
            f"{date_format(self.screening.eligible_from, 'l j F Y')}. Please choose a time from that day."
        )

    def too_early(self, request, start: datetime, now: datetime):
        """Send a patient who opened a time before the eligible day to the times from that day, saying why once.

        The times page already names the eligible day, so the message only says what was wrong with the time.
        """
        if self.refusal_for(start) is None:
            return None
        chosen = date_format(start.astimezone(clinic_tz()), "l j F, H:i")
        messages.info(request, f"{chosen} is before the day you can book from, so here are the times from then.")
        day = max(self.screening.eligible_from, bookable_days(now)[0])
        url = reverse("booking:times", args=[self.screening.treatment.slug])
        return redirect(f"{url}?{TOKEN_PARAM}={self.token}&date={day.isoformat()}")


def _turn_away(request, url: str, reason: str, *, announce: bool, message: str | None = None) -> Gate:
    """Send the patient to `url`; `message` (default `reason`) is shown there when the page does not say why."""
    if announce and message != "":
        messages.info(request, message or f"{reason}.")
    return Gate(response=redirect(url), refusal=f"{reason}: {url}")


def superseded(request, treatment: Treatment, later: Screening, *, announce: bool = True) -> Gate:
    """Turn away a screening that `later` replaced: to the later result when this browser made it, else to the
    questions (the later answers were given elsewhere with the same email, so this browser cannot open them)."""
    if later.public_id.hex in session_screening_ids(request):
        url = reverse("screening:result", args=[treatment.slug, screening_token(later)])
        reason = "You answered the health questions again, so only your latest answers can be used"
    else:
        url = reverse("screening:start", args=[treatment.slug])
        reason = (
            "You answered the health questions again with the same email since, so these answers can no longer be "
            "used. Please answer them again here"
        )
    return _turn_away(request, url, reason, announce=announce)


def rules_changed_since(request, treatment: Treatment, screening: Screening, *, announce: bool = True) -> Gate | None:
    """Turn away answers decided under rules the clinic has changed since (a longer wait, a question that now blocks):
    back to the questions, as the answers may mean something else now. None when the rules are the same."""
    if screening.rules_version == selectors.screening_policy(treatment).rules_version:
        return None
    start_url = reverse("screening:start", args=[treatment.slug])
    message = RULES_CHANGED_MESSAGE
    if keep_choice_being_confirmed(request, treatment):
        message = f"{message} {KEPT_CHOICE_MESSAGE}"
    return _turn_away(request, start_url, RULES_CHANGED_MESSAGE.removesuffix("."), announce=announce, message=message)


def booking_gate(request, treatment: Treatment, now: datetime, *, announce: bool = True) -> Gate:
    """Let a screened treatment's times be seen and booked only with the latest usable screening of this browser.

    `announce` adds a message saying why the patient was sent elsewhere (pages, not the JSON API).
    """
    if not treatment.requires_screening:
        return Gate()
    token = request.POST.get(TOKEN_PARAM) if request.method == "POST" else request.GET.get(TOKEN_PARAM)
    screening = screening_from_request(request, treatment, token)
    start_url = reverse("screening:start", args=[treatment.slug])
    if screening is None:
        return _turn_away(
            request,
            start_url,
            "Answer the health questions first",
            announce=announce,
            message="Please answer a few short health questions first.",
        )
    # The latest answers win: an old token (an earlier URL, the Back button) is no way round a later "blocked".
    later = selectors.later_screening(screening, also_ids=session_screening_ids(request))
    if later is not None:
        return superseded(request, treatment, later, announce=announce)
    if screening.used_at is not None and screening.appointment_id is not None:
        # Most often the booking form sent again (Back, then Confirm): say the booking exists, not "expired".
        return _turn_away(
            request,
            start_url,
            "These answers were used for a booking already",
            announce=announce,
            message=f"You have already booked {treatment.name_in_a_sentence} with these answers: your confirmation "
            "email has the details and a link to change or cancel it. To book another time, please answer the "
            "questions again.",
        )
    if not screening.is_usable(now):
        kept = keep_choice_being_confirmed(request, treatment)
        return _turn_away(
            request,
            start_url,
            "Your answers have expired or were already used. Please answer the health questions again",
            announce=announce,
            message="Your answers have expired or were already used. Please answer them again."
            + (f" {KEPT_CHOICE_MESSAGE}" if kept else ""),
        )
    if (turned_away := rules_changed_since(request, treatment, screening, announce=announce)) is not None:
        return turned_away
    token = screening_token(screening)
    result_url = reverse("screening:result", args=[treatment.slug, token])
    name = treatment.name_in_a_sentence
    # The result page says why, so it needs no message of its own.
    if screening.outcome == Screening.Outcome.BLOCKED:
        reason = f"Your answers mean {name} cannot be booked online at the moment. See why"
        return _turn_away(request, result_url, reason, announce=announce, message="")
    if screening.eligible_from is not None and screening.eligible_from > bookable_days(now)[1]:
        reason = (
            f"You can book {name} from {date_format(screening.eligible_from, 'j F Y')}, "
            "after the last day our diary is open for. See why"
        )
        return _turn_away(request, result_url, reason, announce=announce, message="")
    return Gate(screening=screening, token=token, not_before=screening_not_before(screening))
