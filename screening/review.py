"""Reads for the clinicians' review of flagged bookings, and the record of who looked at health answers."""

from auditlog.signals import accessed
from django.utils.html import format_html, format_html_join

from booking.models import Appointment

from .models import Contraindication, Screening

# What a flag means, in a few words, for staff allowed to see health data (why a booking is held is drawn from
# the answers). Everyone else is told only that a clinician must look.
FLAG_LABELS = {
    "isotretinoin_date_unsure": "Unsure of a date",
    "changed_answers": "Answers changed since an earlier screening",
}
DEFAULT_FLAG_LABEL = "An answer needs a clinician"
NEUTRAL_LABEL = "Held for a clinician"


def flag_label(screening: Screening | None, *, detailed: bool = True) -> str:
    """A short label for why a booking is held; without `detailed`, one that says nothing about the answers."""
    if screening is None:
        return "Held by staff"
    if not detailed:
        return NEUTRAL_LABEL
    codes = [reason.get("code") for reason in screening.reasons or []]
    labels = [FLAG_LABELS.get(code, DEFAULT_FLAG_LABEL) for code in codes if code]
    return "; ".join(dict.fromkeys(labels)) or DEFAULT_FLAG_LABEL


def earlier_screenings(screening: Screening) -> list[Screening]:
    """Other screenings by the same email for the same treatment, newest first."""
    return list(
        Screening.objects.filter(email__iexact=screening.email, treatment_id=screening.treatment_id)
        .exclude(pk=screening.pk)
        .select_related("treatment", "appointment")
        .order_by("-created_at")[:20]
    )


def awaiting_review():
    return Appointment.objects.filter(status=Appointment.Status.PENDING_REVIEW)


def record_answers_viewed(screening: Screening) -> None:
    """Put a view of the health answers on the audit record (who, when and from where come from the request)."""
    accessed.send(sender=Screening, instance=screening)


def _yes_no(value) -> str:
    return "Yes" if value else "No"


def answers_in_words(screening: Screening):
    """The patient's answers as an HTML table of questions and replies: the one place health answers are rendered."""
    if screening.answers is None:
        return "Erased"
    answers = screening.answers
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
