"""Reads for the clinicians' review of flagged bookings, and the record of who looked at health answers."""

from datetime import date
from typing import NamedTuple

from auditlog.signals import accessed
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from booking.models import Appointment
from booking.selectors import clinic_tz

from .models import Contraindication, Screening
from .rules import REVIEW_UNDER_AGE_YEARS, add_months, under_age_on
from .selectors import screening_policy

# What a flag means, in a few words, for staff allowed to see health data (why a booking is held is drawn from
# the answers). Everyone else is told only that a clinician must look.
FLAG_LABELS = {
    "isotretinoin_date_unsure": "Unsure of a date",
    "changed_answers": "Answers changed since an earlier screening",
    "declined_recently": "A clinician declined a recent booking",
    "resurfacing_booked": "A peel or laser booked shortly before",
    # Added at booking, from the date of birth the patient gave (screening.services._date_of_birth_reasons).
    "date_of_birth_conflict": "Date of birth after the isotretinoin dates",
    "under_age": f"Under {REVIEW_UNDER_AGE_YEARS} on the day",
}
DEFAULT_FLAG_LABEL = "An answer needs a clinician"
NEUTRAL_LABEL = "Held for a clinician"
# A booking staff made of a screened treatment: held because it has no answers, not by anyone's decision.
PHONE_BOOKING_LABEL = "Booked by staff, no health answers yet"


def flag_label(screening: Screening | None, *, detailed: bool = True) -> str:
    """A short label for why a booking is held; without `detailed`, one that says nothing about the answers."""
    if screening is None:
        return PHONE_BOOKING_LABEL
    if not detailed:
        return NEUTRAL_LABEL
    labels = [FLAG_LABELS.get(code, DEFAULT_FLAG_LABEL) for code in _held_because(screening)]
    return "; ".join(dict.fromkeys(labels)) or DEFAULT_FLAG_LABEL


def under_age_on_the_day(appointment: Appointment) -> bool:
    """Whether the patient is younger than REVIEW_UNDER_AGE_YEARS on the booking's (clinic-local) day."""
    born = appointment.patient_date_of_birth
    day = appointment.start.astimezone(clinic_tz()).date()
    return born is not None and under_age_on(born, day)


def why_held(appointment: Appointment, screening: Screening | None, *, detailed: bool = True) -> str:
    """Why a booking is in the queue. One put back on hold after it was booked (later answers, a move to a day the
    patient is under 18) carries why in its status reason, in words reception may read too; that comes first, with
    what held it at booking when something did. Clinicians also see when the patient is under 18 on the day, which a
    phone booking has no screening to say."""
    label = flag_label(screening, detailed=detailed)
    if detailed and under_age_on_the_day(appointment) and FLAG_LABELS["under_age"] not in label:
        label = f"{label}; {FLAG_LABELS['under_age']}"
    note = appointment.status_reason
    if not note:
        return label
    held_at_booking = screening is not None and (screening.needs_review or screening.outcome == "review")
    return f"{note} (booked as: {label})" if detailed and held_at_booking else note


# Reasons that only ever stop a booking or make it wait: never why one is held.
_WAIT_OR_BLOCK_CODES = {"isotretinoin_current", "isotretinoin_recent"}


def _held_because(screening: Screening) -> list[str]:
    """The codes of the stored reasons that hold a booking for a clinician."""
    questions = (screening.rules or {}).get("questions") or {}
    codes = [reason.get("code") for reason in screening.reasons or [] if reason.get("code")]
    held = [
        code
        for code in codes
        if code not in _WAIT_OR_BLOCK_CODES and questions.get(code, {}).get("action", "flag") == "flag"
    ]
    if not held and screening.needs_review and "isotretinoin_recent" in codes:
        # Stored before an unsure date inside the wait got a reason of its own: that was its only possible flag.
        held = ["isotretinoin_date_unsure"]
    return held


def unsure_dose_note(screening: Screening) -> str | None:
    """Say plainly that the patient is unsure of their last isotretinoin dose, and what date they gave (health data)."""
    answers = screening.answers or {}
    if not answers.get("last_dose_unsure"):
        return None
    if not answers.get("last_dose"):
        return "The patient is not sure when they last took isotretinoin and gave no date."
    given = date.fromisoformat(answers["last_dose"])
    note = f"The patient is not sure when they last took isotretinoin; {date_format(given, 'j M Y')} is their guess."
    # Counted under the rules as they are now, as the approval weighs the answers (`screened_booking_allows`).
    months = screening_policy(screening.treatment).isotretinoin_wait_months
    ends = add_months(given, months)
    note += f" Counted from that date, the {months}-month wait ends on {date_format(ends, 'j M Y')}"
    then = (screening.rules or {}).get("isotretinoin_wait_months")
    if isinstance(then, int) and then != months:
        note += f" (the clinic's wait is {months} months now; it was {then} when they answered)"
    return note + "."


class PatientScreenings(NamedTuple):
    """A patient's screenings for a booking's treatment, besides the booking's own, each list newest first."""

    email: str
    since: list[Screening]  # answered after the booking's own screening, or after a phone booking was made
    earlier: list[Screening]
    # What the patient said last, when the booking's own screening is not it: a clinician sees it first.
    latest: Screening | None

    @property
    def earlier_from_another_email(self) -> bool:
        """Whether an earlier screening was given in the same browser under another email (weighed, not the
        patient's own for certain: a parent and a child may share a phone)."""
        return any(earlier.email.lower() != self.email.lower() for earlier in self.earlier)


def patient_screenings(appointment: Appointment, screening: Screening | None) -> PatientScreenings:
    """The patient's other screenings for the booking's treatment, found by email whatever its case.

    A booking made by staff has no screening of its own: the patient's online screenings are found by the booking's
    email, and the newest of them, whenever it was answered, is the latest word.
    """
    email = appointment.patient_email  # as the booking has it now (staff may have corrected it), as the holds do
    others = Screening.objects.filter(email__iexact=email, treatment_id=appointment.treatment_id)
    if screening is not None:
        others = others.exclude(pk=screening.pk)
    others = list(others.select_related("treatment", "appointment").order_by("-created_at", "-pk")[:20])
    if screening is None:
        since = [s for s in others if s.created_at > appointment.created_at]
    else:
        since = [s for s in others if (s.created_at, s.pk) > (screening.created_at, screening.pk)]
    latest = others[0] if others and (since or screening is None) else None
    earlier = others[len(since) :]
    if screening is not None and screening.previous_id and all(s.pk != screening.previous_id for s in others):
        # The earlier answers its "changed answers" flag weighed, given in the same browser under another email.
        earlier.append(Screening.objects.select_related("treatment", "appointment").get(pk=screening.previous_id))
    return PatientScreenings(email=email, since=since, earlier=earlier, latest=latest)


def awaiting_review():
    return Appointment.objects.filter(status=Appointment.Status.PENDING_REVIEW)


def booking_not_held(object_id: str) -> Appointment | None:
    """The booking a review link names when it is not in the review queue; None when it names no booking at all."""
    try:
        return Appointment.objects.exclude(status=Appointment.Status.PENDING_REVIEW).filter(pk=object_id).first()
    except (ValueError, TypeError, ValidationError):
        return None


def record_answers_viewed(screening: Screening) -> None:
    """Put a view of the health answers on the audit record (who, when and from where come from the request)."""
    accessed.send(sender=Screening, instance=screening)


def _yes_no(value) -> str:
    return "Yes" if value else "No"


def _day_in_words(stored: str | None) -> str | None:
    """A date the answers keep as ISO text, as the review page writes dates ("15 Oct 2025")."""
    return date_format(date.fromisoformat(stored), "j M Y") if stored else None


def _deleted_question(key: str) -> str:
    """A question staff deleted since: its stored key in words, and why its wording is gone."""
    return f"{key.replace('_', ' ').capitalize()} (a question since deleted)"


def answers_in_words(screening: Screening):
    """The patient's answers as an HTML table of questions and replies: the one place health answers are rendered."""
    if screening.answers is None:
        return "Erased"
    answers = screening.answers
    questions = dict(Contraindication.objects.order_by("display_order", "pk").values_list("key", "question"))
    # Only what the patient was asked: after "taking it now" the recent-dose questions were never put to them, and a
    # "No" shown there would read as a denial.
    rows = [("Taking isotretinoin now", _yes_no(answers.get("taking_isotretinoin")))]
    if answers.get("taking_isotretinoin"):
        rows.append(("Expected end of course", _day_in_words(answers.get("course_end")) or "Not given"))
    else:
        months = (screening.rules or {}).get("recent_dose_window_months")
        asked = f"Isotretinoin in the last {months} months" if months else "Isotretinoin in the months asked about"
        rows.append((asked, _yes_no(answers.get("isotretinoin_recently"))))
        if answers.get("isotretinoin_recently"):
            rows.append(("Last dose", _day_in_words(answers.get("last_dose")) or "Not given"))
            rows.append(("Not sure of the date of the last dose", _yes_no(answers.get("last_dose_unsure"))))
    other = answers.get("contraindications") or {}
    # In the order the form asks them (the stored answers keep no order), then any question deleted since.
    ordered = [key for key in questions if key in other] + [key for key in other if key not in questions]
    rows += [(questions.get(key) or _deleted_question(key), _yes_no(other[key])) for key in ordered]
    body = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows)
    return format_html("<table>{}</table>", body)


def phone_questions(treatment) -> list[str]:
    """The health questions a clinician asks by phone before approving a booking staff made, as the online form asks
    them under the treatment's rules now: isotretinoin first, then each question the clinic has on."""
    policy = screening_policy(treatment)
    months = policy.recent_dose_window_months
    questions = Contraindication.objects.filter(active=True).order_by("display_order", "pk")
    return [
        "Are you taking isotretinoin (Roaccutane, Accutane) now? If so, when is your course expected to end?",
        f"Have you taken it in the last {months} months? If so, the date of your last dose. A last dose less than "
        f"{policy.isotretinoin_wait_months} months before the visit rules it out.",
        *questions.values_list("question", flat=True),
    ]
