"""The gate in front of screened treatments: which screening, if any, this browser may see times and book with.

A screening travels as a signed token (in the times URL and a hidden field of the details form) and must also
be one this browser's session made: a token copied from someone else, altered, expired or already used opens
nothing. Without a token the session's latest screening for the treatment is used, so plain day links work.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core import signing
from django.shortcuts import redirect
from django.utils.formats import date_format

from booking.models import Treatment
from booking.selectors import bookable_days

from . import selectors
from .exceptions import NotEligible
from .models import Screening
from .services import screening_not_before

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
    """What the booking pages may do: `response` set means send the patient there instead."""

    screening: Screening | None = None
    token: str = ""
    not_before: datetime | None = None
    response: object | None = None

    def refusal_for(self, start: datetime) -> NotEligible | None:
        """Say why `start` cannot be booked when it is before the screening's eligible day."""
        if self.screening is None or self.not_before is None or start >= self.not_before:
            return None
        return NotEligible(
            f"You can book {self.screening.treatment.name.lower()} from "
            f"{date_format(self.screening.eligible_from, 'l j F Y')}. Please choose a time from that day."
        )


def booking_gate(request, treatment: Treatment, now: datetime, *, announce: bool = True) -> Gate:
    """Let a screened treatment's times be seen and booked only with a usable screening of this browser.

    `announce` adds a message saying why the patient was sent to the questions (pages, not the JSON API).
    """
    if not treatment.requires_screening:
        return Gate()
    token = request.POST.get(TOKEN_PARAM) if request.method == "POST" else request.GET.get(TOKEN_PARAM)
    screening = screening_from_request(request, treatment, token)
    if screening is None:
        if announce:
            messages.info(request, "Please answer a few short health questions first.")
        return Gate(response=redirect("screening:start", treatment.slug))
    if not screening.is_usable(now):
        if announce:
            messages.info(request, "Your answers have expired or were already used. Please answer them again.")
        return Gate(response=redirect("screening:start", treatment.slug))
    token = screening_token(screening)
    if screening.outcome == Screening.Outcome.BLOCKED:
        return Gate(response=redirect("screening:result", treatment.slug, token))
    if screening.eligible_from is not None and screening.eligible_from > bookable_days(now)[1]:
        return Gate(response=redirect("screening:result", treatment.slug, token))
    return Gate(screening=screening, token=token, not_before=screening_not_before(screening))
