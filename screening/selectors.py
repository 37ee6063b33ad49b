"""Reads shared by screening views, services and admin."""

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q

from booking.models import Appointment, Treatment

from . import rules
from .models import Contraindication, Screening, ScreeningPolicy


def screening_policy(treatment: Treatment) -> ScreeningPolicy:
    """Return the treatment's policy, or an unsaved one with the defaults when staff have not set one yet."""
    try:
        return treatment.screening_policy
    except ScreeningPolicy.DoesNotExist:
        return ScreeningPolicy(treatment=treatment)


def active_contraindications() -> list[Contraindication]:
    return list(Contraindication.objects.filter(active=True))


def policy_values(policy: ScreeningPolicy, questions: list[Contraindication]) -> rules.Policy:
    """Turn the rows staff edit into the plain values the pure rules take."""
    return rules.Policy(
        isotretinoin_wait_months=policy.isotretinoin_wait_months,
        recent_dose_window_months=policy.recent_dose_window_months,
        questions=tuple(
            rules.QuestionRule(key=q.key, action=rules.Action(q.action), wait_days=q.wait_days, reason=q.patient_reason)
            for q in questions
        ),
    )


# The reasons given for isotretinoin, what the clinic's safe alternatives are for (ScreeningPolicy decides).
ISOTRETINOIN_REASON_CODES = frozenset({"isotretinoin_current", "isotretinoin_recent", "isotretinoin_date_unsure"})
# Reasons that say nothing about the skin: they neither offer the alternatives nor rule them out. (A stranger who
# types a patient's email must not be able to tell them apart from the answers' own reasons by what is offered.)
NEUTRAL_REASON_CODES = frozenset({"changed_answers", "declined_recently"})


def safe_alternatives(*, treatment: Treatment, reasons) -> list[Treatment]:
    """Return the treatments to offer a patient stopped for `reasons` (stored `{"code", "text"}` dicts).

    None unless the clinic marked every reason as one the alternatives suit: the isotretinoin wait by default,
    never pregnancy, an infection or wound, sunburn or a recent peel unless staff turn it on; a reason the clinic
    has not marked (or no reason at all) asks the patient to call instead.
    """
    codes = {reason.get("code") for reason in reasons or []} - NEUTRAL_REASON_CODES
    if not codes:
        return []
    suited = set(Contraindication.objects.filter(key__in=codes, safe_alternatives=True).values_list("key", flat=True))
    if screening_policy(treatment).isotretinoin_safe_alternatives:
        suited |= ISOTRETINOIN_REASON_CODES
    if not codes <= suited:
        return []
    # Only what someone gives: a treatment no active practitioner offers has no times to book.
    offered = Treatment.objects.filter(active=True, safe_alternative=True, requires_screening=False)
    return list(offered.filter(practitioners__active=True).distinct().order_by("name"))


def safe_alternatives_after_decline(appointment) -> list[Treatment]:
    """Return the treatments a declined patient may be offered: those every reason behind the booking suits.

    The reasons are the booking's own screening's and those of any given since under the booking's email as it is now
    (a later "pregnant" rules out a peel the first answers allowed), as `answers_since` reads them for an approval. A
    booking made by staff has no screening, so nothing is offered.
    """
    own = Screening.objects.filter(appointment_id=appointment.pk).first()
    if own is None:
        return []
    reasons = [*own.reasons, *(reason for later in _answered_after(appointment, own) for reason in later.reasons)]
    return safe_alternatives(treatment=appointment.treatment, reasons=reasons)


def screening_by_public_id(public_id, *, treatment: Treatment | None = None) -> Screening | None:
    screenings = Screening.objects.select_related("treatment")
    if treatment is not None:
        screenings = screenings.filter(treatment=treatment)
    return screenings.filter(public_id=public_id).first()


def earlier_to_weigh(*, treatment: Treatment, email: str, now: datetime, also_ids=()) -> list[Screening]:
    """Return the earlier screenings, by this email or this browser, that new answers may be weighed against
    (`rules.decide`'s `earlier`; `rules.still_weighs` says which still do), newest first:
    - the latest in the last 30 days whose answers said wait or blocked, or that a clinician must look;
    - the latest that said wait or blocked, however old: a wait still running binds until it ends. Only the latest:
      a wait or block answered since (a later last dose, a course now ended) is the patient's word instead;
    - and the latest such that was not itself held as changed answers: answers a clinician has yet to weigh do not
      replace the ones they contradicted (a sooner wait, then a third "no" once it ended, would launder a long one).
    A clear screening held only for the date of birth given at booking is none of them: its answers raised nothing."""
    theirs = Screening.objects.filter(
        Q(email__iexact=email) | Q(public_id__in=list(also_ids)), treatment=treatment
    ).order_by("-created_at")
    recent = theirs.filter(
        outcome__in=[Screening.Outcome.WAIT, Screening.Outcome.BLOCKED, Screening.Outcome.REVIEW],
        created_at__gte=now - timedelta(days=rules.REANSWER_DAYS),
    ).first()
    waits_and_blocks = theirs.filter(outcome__in=[Screening.Outcome.WAIT, Screening.Outcome.BLOCKED])
    last_wait_or_block = waits_and_blocks.first()
    last_unchallenged = waits_and_blocks.filter(previous__isnull=True).first()
    found = {row.pk: row for row in (recent, last_wait_or_block, last_unchallenged) if row is not None}
    return sorted(found.values(), key=lambda row: row.created_at, reverse=True)


def declined_recently(*, treatment: Treatment, email: str, now: datetime) -> bool:
    """Whether a clinician declined this email's booking of `treatment` in the last 30 days."""
    return Appointment.objects.filter(
        patient_email__iexact=email,
        treatment=treatment,
        status=Appointment.Status.DECLINED,
        updated_at__gte=now - timedelta(days=rules.REANSWER_DAYS),
    ).exists()


def answers_since(appointment: Appointment, own: Screening | None) -> Screening | None:
    """Return the latest screening for the booking's treatment from the booking's email (as it is now: staff may
    have corrected it) given after the booking's own screening `own`; for a booking made without one (by staff), or
    whose email staff corrected, the latest whenever it was given: the patient's latest word binds it too."""
    return _answered_after(appointment, own).order_by("-created_at", "-pk").first()


def standing_answers_since(appointment: Appointment, own: Screening | None) -> Screening | None:
    """As `answers_since`, the latest not held as changed answers: what those contradicted still binds the booking
    until a clinician weighs them (a sooner date, then a "no", must not open the wait between)."""
    return _answered_after(appointment, own).filter(previous__isnull=True).order_by("-created_at", "-pk").first()


def _answered_after(appointment: Appointment, own: Screening | None):
    """Screenings for the booking's treatment under its email as it is now, given after `own`: all of them without
    one, or when staff corrected the email since (answers under the right address, whenever given, are the
    patient's; `own` was under another)."""
    answers = Screening.objects.filter(email__iexact=appointment.patient_email, treatment_id=appointment.treatment_id)
    if own is None or own.email.casefold() != appointment.patient_email.casefold():
        return answers
    return answers.filter(_after(own))


def _after(screening: Screening) -> Q:
    """Screenings made after `screening`; those made in the same instant are ordered by id."""
    return Q(created_at__gt=screening.created_at) | Q(created_at=screening.created_at, pk__gt=screening.pk)


def later_screening(screening: Screening, *, also_ids=()) -> Screening | None:
    """Return the latest screening for the same treatment made after `screening`, by its email or this browser.

    The latest answers win: a screening with a later one after it can no longer book by itself. `also_ids` are
    the public ids of screenings this browser made. Screenings made in the same instant are ordered by id.
    """
    return (
        Screening.objects.filter(
            Q(email__iexact=screening.email) | Q(public_id__in=list(also_ids)),
            _after(screening),
            treatment_id=screening.treatment_id,
        )
        .select_related("treatment")
        .order_by("-created_at", "-pk")
        .first()
    )


def screening_for_appointment(appointment) -> Screening | None:
    return Screening.objects.filter(appointment=appointment).first()


def confirmed_on_phone_answers(*, treatment: Treatment, now: datetime):
    """Confirmed bookings of `treatment` ahead with no answers on record: booked by staff and confirmed by a clinician
    who asked the health questions by phone, with no screening under the patient's email since. A change of the rules
    cannot weigh them again; only a call can."""
    answered = Screening.objects.filter(email__iexact=OuterRef("patient_email"), treatment_id=OuterRef("treatment_id"))
    return Appointment.objects.filter(
        treatment=treatment,
        status=Appointment.Status.CONFIRMED,
        start__gt=now,
        screening__isnull=True,
        approved_for__isnull=False,  # a clinician confirmed it (one booked before screening was asked, nobody did)
    ).exclude(Exists(answered))
