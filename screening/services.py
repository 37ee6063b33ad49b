"""Screening use cases. Views, admin actions, commands and tasks call these; none re-implements them."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils.formats import date_format

from booking.exceptions import DecisionRefused
from booking.models import (
    HELD_AGAIN,
    HELD_FOR_ANSWERS_AGAIN,
    HELD_FOR_EARLIER_TIME,
    HELD_FOR_NEW_RULES,
    HELD_FOR_RESURFACING,
    STILL_EXPECTED,
    Appointment,
    Treatment,
)
from booking.selectors import clinic_tz, today_local
from booking.services import (
    PatientDetails,
    appointment_approve,
    appointment_book,
    appointment_decline,
    appointment_hold_for_review,
    appointment_reschedule,
)

from . import rules, selectors
from .exceptions import EmailMismatch, NoReminderDate, NotEligible, ScreeningInvalid
from .models import Contraindication, EligibilityReminder, Screening, ScreeningPolicy

ADVANCE_REMINDER_DAYS = 14
REMINDER_SEND_TIME = time(9)
RULES_CHANGED_MESSAGE = "The clinic has changed its health questions since you answered. Please answer them again."
SUPERSEDED_MESSAGE = (
    "You answered the health questions again after these answers, so only your latest answers can be used. "
    "Please answer them again."
)


def local_start_of(day: date) -> datetime:
    """Return 00:00 clinic time on `day`, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=clinic_tz())


def _send_at(day: date) -> datetime:
    return datetime.combine(day, REMINDER_SEND_TIME, tzinfo=clinic_tz())


def eligibility_reminder_subscribe(*, screening: Screening, now: datetime) -> list[EligibilityReminder]:
    """Opt the screening's email in to an email when the wait ends, and one 14 days before when that is ahead.

    Safe to call twice. Ticking the box is fresh consent: a reminder about the same day that the patient had
    unsubscribed from, or that earlier answers had stopped, is pending again (`opted_in_at` says when; an earlier
    `unsubscribed_at` stays on record). Pending reminders for the same email and treatment about another day are
    skipped: the latest screening knows the date best.
    """
    if screening.previous_id is not None:
        raise NoReminderDate()  # changed answers: the day is a clinician's to confirm, not ours to promise
    eligible_from = screening.eligible_from
    policy_row = ScreeningPolicy.objects.filter(treatment_id=screening.treatment_id).first()
    if policy_row is not None and policy_row.rules_version != screening.rules_version:
        eligible_from = _eligible_from_now(screening, policy_row, _policy_values(policy_row))
    if eligible_from is None:
        raise NoReminderDate()
    today = today_local(now)
    if eligible_from <= today:
        return []
    return _reminders_schedule(screening=screening, eligible_from=eligible_from, today=today, opted_in_at=now)


def eligibility_reminders_follow_policy(*, treatment: Treatment, now: datetime) -> int:
    """Move the pending reminders for `treatment` to the day each patient's wait ends under its current policy (after
    staff change it), or skip them when their answers now give no date. Return how many patients' reminders moved.

    Each date is counted again from the patient's own answers (`_eligible_from_now`); a reminder without a screening
    keeps its date.
    """
    policy_row, policy = _rules_now(treatment)
    today = today_local(now)
    pending = (
        EligibilityReminder.objects.filter(treatment=treatment, state=EligibilityReminder.State.PENDING)
        .exclude(screening__isnull=True)
        .exclude(screening__rules_version=policy_row.rules_version)
        .select_related("screening")
        .order_by("screening_id", "kind")
    )
    by_screening: dict[int, list[EligibilityReminder]] = {}
    for reminder in pending:
        by_screening.setdefault(reminder.screening_id, []).append(reminder)
    moved = 0
    for rows in by_screening.values():
        screening, before = rows[0].screening, {(r.kind, r.due_on) for r in rows}
        eligible_from = _eligible_from_now(screening, policy_row, policy)
        if eligible_from is None:
            EligibilityReminder.objects.filter(pk__in=[r.pk for r in rows]).update(
                state=EligibilityReminder.State.SKIPPED
            )
            moved += 1
            continue
        opted_in_at = max((r.opted_in_at for r in rows if r.opted_in_at), default=None)
        after = _reminders_schedule(
            screening=screening, eligible_from=eligible_from, today=today, opted_in_at=opted_in_at
        )
        moved += {(r.kind, r.due_on) for r in after} != before
    return moved


def screened_bookings_follow_policy(*, treatment: Treatment, now: datetime) -> int:
    """After staff change the treatment's rules, weigh each booking ahead again, phone bookings included: one the
    patient's answers, decided again under the new rules, now rule out (a block, a wait past its day, an answer a
    clinician must now check) goes back on hold for a clinician (one held already takes the reason). Return how many
    confirmed ones were held."""
    rules_now = _rules_now(treatment)
    policy_row, policy = rules_now
    # Held ones too: one a clinician is approving this moment is held again, through its row lock, once approved.
    booked = Appointment.objects.filter(treatment=treatment, status__in=STILL_EXPECTED, start__gt=now).select_related(
        "treatment"
    )
    reason = f"{HELD_FOR_NEW_RULES} on {_in_staff_words(today_local(now))}."
    held = 0
    for appointment in booked:
        ruled_out = screened_booking_allows(appointment, rules_now=rules_now).refusal(appointment.start) is not None
        own = selectors.screening_for_appointment(appointment)
        if not ruled_out and own is not None and own.answers and own.rules_version != policy_row.rules_version:
            ruled_out = _decided_again(own, policy).needs_review and not own.needs_review  # a clinician must look now
            ruled_out = ruled_out or _asked_about_too_few_months(own, policy)
        if ruled_out and appointment_hold_for_review(appointment=appointment, reason=reason, now=now):
            held += appointment.status == Appointment.Status.CONFIRMED  # the count staff read: newly held
    return held


def _local_day(moment: datetime) -> date:
    return moment.astimezone(clinic_tz()).date()


def _asked_about_too_few_months(screening: Screening, policy: rules.Policy) -> bool:
    """Whether `screening` answered "no isotretinoin" to a question about fewer months than the wait now is: "none in
    the last 6 months" says nothing of the seventh to the ninth of a 9-month wait."""
    answers = rules.Answers.from_json(screening.answers)
    asked_months = (screening.rules or {}).get("recent_dose_window_months")
    return (
        not answers.taking_isotretinoin
        and not answers.isotretinoin_recently
        and asked_months is not None
        and asked_months < policy.isotretinoin_wait_months
    )


def _in_staff_words(day: date) -> str:
    """A date as the admin shows dates ("2 Mar 2026"), for a reason staff read in the queue."""
    return date_format(day, "j M Y")


def _policy_values(policy_row: ScreeningPolicy) -> rules.Policy:
    return selectors.policy_values(policy_row, selectors.active_contraindications())


def _rules_now(treatment: Treatment) -> tuple[ScreeningPolicy, rules.Policy]:
    """The treatment's policy row and the plain values the rules take from it, as they are now."""
    policy_row = screening_policy_ensure(treatment=treatment)
    return policy_row, _policy_values(policy_row)


def _eligible_from_now(screening: Screening, policy_row: ScreeningPolicy, policy: rules.Policy) -> date | None:
    """Return the day `screening`'s wait ends under the treatment's current policy: the date it gave when decided
    under that policy, else the patient's answers, the dates they gave, counted again (`rules.eligible_from_under`)."""
    if screening.rules_version == policy_row.rules_version:
        return screening.eligible_from
    return rules.eligible_from_under(
        policy,
        answered_on=today_local(screening.created_at),
        answers=rules.Answers.from_json(screening.answers) if screening.answers else None,
        eligible_from=screening.eligible_from,
        decided_under=screening.rules or {},
    )


def _reminders_schedule(
    *, screening: Screening, eligible_from: date, today: date, opted_in_at: datetime | None
) -> list[EligibilityReminder]:
    """Make the screening's email's reminders for this treatment the ones about `eligible_from` (on the day, not
    before today, and 14 days before when that is still ahead), pending on `screening`; skip any other pending."""
    email = screening.email.lower()
    eligible_on = max(eligible_from, today)
    wanted = [(EligibilityReminder.Kind.ELIGIBLE, eligible_on)]
    if eligible_on - today > timedelta(days=ADVANCE_REMINDER_DAYS):
        wanted.append((EligibilityReminder.Kind.ADVANCE, eligible_on - timedelta(days=ADVANCE_REMINDER_DAYS)))
    reminders = []
    with transaction.atomic():
        for kind, due_on in wanted:
            reminder, created = EligibilityReminder.objects.select_for_update().get_or_create(
                email=email,
                treatment_id=screening.treatment_id,
                kind=kind,
                due_on=due_on,
                defaults={"screening": screening, "send_at": _send_at(due_on), "opted_in_at": opted_in_at},
            )
            if not created and reminder.sent_at is None:  # one already sent stays as it is
                if reminder.state != EligibilityReminder.State.PENDING:
                    reminder.opted_in_at, reminder.attempts, reminder.last_error = opted_in_at, 0, ""
                reminder.state, reminder.screening, reminder.send_at = (
                    EligibilityReminder.State.PENDING,
                    screening,
                    _send_at(due_on),
                )
                reminder.save()
            reminders.append(reminder)
        EligibilityReminder.objects.filter(
            email=email, treatment_id=screening.treatment_id, state=EligibilityReminder.State.PENDING
        ).exclude(pk__in=[r.pk for r in reminders]).update(state=EligibilityReminder.State.SKIPPED)
    return reminders


def screening_policy_ensure(*, treatment: Treatment) -> ScreeningPolicy:
    """Return the treatment's policy row, creating it with the defaults the first time it is needed."""
    policy, _ = ScreeningPolicy.objects.get_or_create(treatment=treatment)
    return policy


def screening_submit(
    *, treatment: Treatment, email: str, answers: rules.Answers, now: datetime, earlier_ids=()
) -> Screening:
    """Decide on the patient's answers under the treatment's current policy and store the decision.

    `earlier_ids` are public ids of screenings this browser made before: with the email they find a recent
    "wait" the patient may be trying to answer their way around.
    """
    policy_row = screening_policy_ensure(treatment=treatment)
    policy = selectors.policy_values(policy_row, selectors.active_contraindications())
    today = today_local(now)
    standing = _earlier_answers_standing(
        treatment=treatment, email=email, now=now, earlier_ids=earlier_ids, policy_row=policy_row, policy=policy
    )
    declined = selectors.declined_recently(treatment=treatment, email=email, now=now)
    decision, earlier_row = _decided_against(answers, standing, policy=policy, today=today, declined=declined)
    with transaction.atomic():
        # A booking being made with earlier answers holds this row (`screening_book`): wait for it, so the hold below
        # sees it; a booking after this commit sees these answers as later ones.
        Treatment.objects.select_for_update(no_key=True).filter(pk=treatment.pk).exists()
        screening = Screening.objects.create(
            treatment=treatment,
            email=email.strip().lower(),
            answers=answers.to_json(),
            outcome=decision.outcome.value,
            reasons=[reason.to_json() for reason in decision.reasons],
            needs_review=decision.needs_review,
            eligible_from=decision.eligible_from,
            rules_version=policy_row.rules_version,
            rules=policy.to_json(),
            previous=earlier_row,  # the answers these contradict, when held as changed
            created_at=now,
            expires_at=now + timedelta(minutes=policy_row.screening_valid_minutes),
        )
        if screening.previous_id is None:
            # Answers held as changed (sooner than earlier ones) move no reminder: a clinician has yet to weigh them,
            # and the earlier answers' day still stands.
            _reminders_follow_the_latest_answers(screening, now=now)
        _hold_bookings_the_answers_rule_out(screening, now=now, flags=decision.flags)
    return screening


def _earlier_answers_standing(
    *, treatment: Treatment, email: str, now: datetime, earlier_ids, policy_row: ScreeningPolicy, policy: rules.Policy
) -> list[tuple[Screening, rules.EarlierDecision]]:
    """The same patient's earlier answers that still stand against new ones (`rules.still_weighs`), newest first."""
    today = today_local(now)
    blocking, for_a_clinician = rules.blocking_questions(policy), rules.codes_for_a_clinician(policy)
    standing = []
    for row in selectors.earlier_to_weigh(treatment=treatment, email=email, now=now, also_ids=earlier_ids):
        codes = {reason.get("code") for reason in row.reasons or []}
        blocked_for = frozenset(codes & blocking) if row.outcome == Screening.Outcome.BLOCKED else frozenset()
        decided = rules.EarlierDecision(
            outcome=rules.Outcome(row.outcome),
            # Under the policy these answers are decided by: a change of policy is not a change of answers.
            eligible_from=_eligible_from_now(row, policy_row, policy),
            days_ago=(today - today_local(row.created_at)).days,
            # Only what the answers raised: a hold added at booking (a peel before it, the age on the day) is not.
            needs_review=bool(codes & for_a_clinician),
            isotretinoin_block="isotretinoin_current" in codes and not blocked_for,
            blocked_for=blocked_for,
        )
        if rules.still_weighs(decided, today, policy):
            standing.append((row, decided))
    return standing


def _decided_against(
    answers: rules.Answers, standing, *, policy: rules.Policy, today: date, declined: bool
) -> tuple[rules.Decision, Screening | None]:
    """Decide `answers` against each earlier answer still standing: less strict than any, they are changed answers,
    linked to those (two newer answers must not hide a wait still running behind them). Else as against the newest,
    linked to none."""
    for row, earlier in standing:
        decision = rules.decide(answers, policy, today, earlier=earlier, declined_recently=declined)
        if rules.CHANGED_ANSWERS in decision.flags:
            return decision, row
    newest = standing[0][1] if standing else None
    return rules.decide(answers, policy, today, earlier=newest, declined_recently=declined), None


def _reminders_follow_the_latest_answers(screening: Screening, *, now: datetime) -> None:
    """Reminders the patient asked for on earlier answers to this treatment's questions: one about the day these
    answers allow is still true and now goes on them; any other (blocked now, another date, no wait) is skipped."""
    pending = EligibilityReminder.objects.filter(
        email=screening.email, treatment_id=screening.treatment_id, state=EligibilityReminder.State.PENDING
    )
    eligible_from = screening.eligible_from
    if eligible_from is not None and eligible_from > today_local(now):
        still_true = Q(kind=EligibilityReminder.Kind.ELIGIBLE, due_on=eligible_from) | Q(
            kind=EligibilityReminder.Kind.ADVANCE, due_on=eligible_from - timedelta(days=ADVANCE_REMINDER_DAYS)
        )
        pending.filter(still_true).update(screening=screening)
        pending = pending.exclude(still_true)
    pending.update(state=EligibilityReminder.State.SKIPPED)


def _hold_bookings_the_answers_rule_out(screening: Screening, *, now: datetime, flags=()) -> None:
    """A patient told to wait or not to book, or whose answers a clinician must check, may already hold a booking of
    this treatment made on earlier answers. A confirmed one goes back on hold for a clinician when these answers rule
    it out: a block without a date; a day before the one they allow; or anything a clinician must check in them
    (`flags`), unless a clinician confirmed that booking on answers that raised the same. Answers held only for
    being less strict than earlier ones (changed answers) leave it alone otherwise: it was weighed under the stricter
    ones. One already held is left held, its reason saying the patient answered again (the clinician's approval
    weighs these answers: `screened_booking_approve`)."""
    if screening.outcome not in (Screening.Outcome.WAIT, Screening.Outcome.BLOCKED) and not screening.needs_review:
        return
    booked = Appointment.objects.filter(
        treatment=screening.treatment,
        patient_email__iexact=screening.email,
        status__in=[Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW],
        start__gt=now,
    ).select_related("screening")
    not_before = screening_not_before(screening)
    to_check = set(flags) - {rules.CHANGED_ANSWERS, "declined_recently"}  # a recent decline binds new bookings
    # Neutral words: reception reads this reason too, and health answers are for clinicians.
    reason = f"{HELD_FOR_ANSWERS_AGAIN} on {_in_staff_words(today_local(now))}."
    # Changed answers with no date of their own give a clinician's approval nothing it weighed to stand on.
    dateless_change = rules.CHANGED_ANSWERS in flags and screening.eligible_from is None
    for appointment in booked:
        if appointment.status == Appointment.Status.CONFIRMED and not _ruled_out_by(
            appointment, screening, not_before=not_before, to_check=to_check, approval_stands=not dateless_change
        ):
            continue
        appointment_hold_for_review(appointment=appointment, reason=reason, now=now)


def _ruled_out_by(
    booked: Appointment, screening: Screening, *, not_before: datetime | None, to_check: set, approval_stands: bool
) -> bool:
    """Whether new answers (`screening`, with what a clinician must check in them) rule out a confirmed booking."""
    if screening.outcome == Screening.Outcome.BLOCKED:
        return True  # as a new booking on these answers is refused, whatever date they give
    if not_before is not None and booked.start < not_before:
        return True
    if not to_check:
        return False
    # A clinician confirmed it knowing the same (the next session of a course, answered the same way).
    own = getattr(booked, "screening", None)
    weighed = {reason.get("code") for reason in own.reasons or []} if own is not None else set()
    return booked.approved_for is None or not approval_stands or not to_check <= weighed


@dataclass(frozen=True)
class AnswersAllow:
    """What a patient's answers allow for one booking: nothing (`blocked`), or starts from `not_before` (any when
    None). The booking's own screening, and any answers the same email gave since the booking was made, weigh."""

    treatment_name: str
    blocked: bool = False
    not_before: datetime | None = None

    def refusal(self, start: datetime) -> str | None:
        """Why `start` is ruled out, in words reception may read (no answers, only what they mean for the diary)."""
        if self.blocked:
            return (
                f"The patient's answers to the health questions mean {self.treatment_name} cannot be booked for them "
                "now."
            )
        if self.not_before is not None and start < self.not_before:
            return (
                f"The patient's answers to the health questions allow {self.treatment_name} from "
                f"{date_format(self.not_before, 'l j F Y')}, not before."
            )
        return None


def _decided_again(screening: Screening, policy: rules.Policy) -> rules.Decision:
    """The decision `screening`'s answers would have had, on the day they were given, under `policy`."""
    return rules.decide(rules.Answers.from_json(screening.answers), policy, today_local(screening.created_at))


def _what_answers_allow_now(screening: Screening, rules_now) -> tuple[bool, date | None]:
    """Whether `screening`'s answers rule the treatment out altogether under the treatment's rules as they are now
    (not as they were when it was decided), and from which day they allow it."""
    policy_row, policy = rules_now
    if screening.rules_version != policy_row.rules_version and screening.answers:
        decision = _decided_again(screening, policy)
        return not decision.can_book and decision.eligible_from is None, decision.eligible_from
    eligible_from = _eligible_from_now(screening, policy_row, policy)
    return screening.outcome == Screening.Outcome.BLOCKED and eligible_from is None, eligible_from


def held_bookings_the_answers_refuse(*, treatment: Treatment, now: datetime) -> set[int]:
    """The held bookings of `treatment` ahead that a clinician cannot approve under the rules as they are now, for
    staff to be told which a change of the rules frees."""
    rules_now = _rules_now(treatment)
    held = Appointment.objects.filter(
        treatment=treatment, status=Appointment.Status.PENDING_REVIEW, start__gt=now
    ).select_related("treatment")
    return {
        booked.pk
        for booked in held
        if screened_booking_allows(booked, rules_now=rules_now, by_a_clinician=True).refusal(booked.start) is not None
    }


def screened_booking_allows(appointment: Appointment, *, rules_now=None, by_a_clinician: bool = False) -> AnswersAllow:
    """What the answers behind `appointment` allow now, under the treatment's rules as they are now: its own
    screening's, the latest answers its email gave for the treatment since it was booked (any, for a booking staff
    made), and, when those were held as changed answers, the latest that were not: only a clinician weighs changed
    answers against what they contradict (`by_a_clinician`, deciding a held booking). A block, or the latest day any
    allows. Nothing limits an unscreened booking."""
    own = selectors.screening_for_appointment(appointment)
    since = selectors.answers_since(appointment, own)
    # A clinician who confirmed the booking since those changed answers were given has weighed them already.
    weighed_since = (
        appointment.approved_at is not None and since is not None and appointment.approved_at >= since.created_at
    )
    weighs_changes = since is not None and since.previous_id is not None and not by_a_clinician and not weighed_since
    standing = selectors.standing_answers_since(appointment, own) if weighs_changes else None
    limits = [s for s in (own, since, standing) if s is not None]
    if not limits:
        return AnswersAllow(treatment_name=appointment.treatment.name)
    rules_now = rules_now or _rules_now(appointment.treatment)
    allowed = [_what_answers_allow_now(s, rules_now) for s in limits]
    return AnswersAllow(
        treatment_name=appointment.treatment.name,
        blocked=any(blocked for blocked, _ in allowed),
        not_before=max((local_start_of(day) for _, day in allowed if day is not None), default=None),
    )


def screened_booking_approve(
    *, appointment: Appointment, now: datetime, decided_by: str = "", asked_by_phone: bool = False
) -> Appointment:
    """A clinician confirms a held booking (`appointment_approve`), unless answers the patient gave since it was
    booked rule its time out: those answers, not the earlier ones, are the patient's own word now. A booking of a
    screened treatment with no answers of its own (booked by staff) is confirmed only once the clinician says they
    asked the patient the health questions by phone (`asked_by_phone`, recorded in the approval's reason)."""
    with transaction.atomic():
        # The row first: answers submitted meanwhile hold this booking through the same lock
        # (`_hold_bookings_the_answers_rule_out`), so they are either seen below or put it back on hold after.
        appointment = Appointment.objects.select_for_update().select_related("treatment").get(pk=appointment.pk)
        unscreened = (
            appointment.treatment.requires_screening and selectors.screening_for_appointment(appointment) is None
        )
        if unscreened and not asked_by_phone:
            raise DecisionRefused(
                "This booking has no health answers of its own (staff booked it): on its review page, confirm you "
                "asked the patient the health questions by phone; no decision was recorded."
            )
        if unscreened:
            decided_by = f"{decided_by}, after asking the health questions by phone".lstrip(", ")
        if refusal := screened_booking_allows(appointment, by_a_clinician=True).refusal(appointment.start):
            # No override: if the newer answers are not the patient's (anyone can type an email), the patient answers
            # again, and those answers, held for a clinician as changed answers, are what the approval weighs.
            raise DecisionRefused(
                f"{refusal} Decline it, or ask the patient to answer the health questions again if those answers are "
                "not theirs; no decision was recorded."
            )
        return appointment_approve(appointment=appointment, now=now, decided_by=decided_by)


def screened_booking_decline(
    *, appointment: Appointment, reason: str, now: datetime, decided_by: str = ""
) -> Appointment:
    """A clinician declines a held booking (`appointment_decline`). The "your wait is over" emails the patient asked
    for on their answers to this treatment's questions are skipped with it: a clinician has now decided otherwise
    (often a later date than the answers gave), and "you can book now" would contradict them."""
    with transaction.atomic():
        declined = appointment_decline(appointment=appointment, reason=reason, now=now, decided_by=decided_by)
        EligibilityReminder.objects.filter(
            email__iexact=declined.patient_email,
            treatment_id=declined.treatment_id,
            state=EligibilityReminder.State.PENDING,
        ).update(state=EligibilityReminder.State.SKIPPED)
    return declined


def screening_not_before(screening: Screening | None) -> datetime | None:
    """Return the earliest start a booking backed by `screening` may have: 00:00 clinic time on eligible_from."""
    if screening is None or screening.eligible_from is None:
        return None
    return local_start_of(screening.eligible_from)


def _date_of_birth_reasons(screening: Screening | None, patient: PatientDetails, start: datetime) -> list[rules.Reason]:
    """Say why the patient's date of birth needs a clinician: isotretinoin dates before it, or a young patient."""
    born = patient.date_of_birth
    reasons = []
    answers = rules.Answers.from_json(screening.answers) if screening is not None and screening.answers else None
    if answers is not None and any(day < born for day in (answers.last_dose, answers.course_end) if day):
        reasons.append(
            rules.Reason(
                "date_of_birth_conflict",
                "The date of birth you gave is after the isotretinoin dates in your answers, so a clinician will "
                "check them before confirming.",
            )
        )
    if rules.under_age_on(born, start.astimezone(clinic_tz()).date()):
        reasons.append(
            rules.Reason(
                "under_age",
                f"You will be under {rules.REVIEW_UNDER_AGE_YEARS} on the day, so a clinician will check before "
                "confirming.",
            )
        )
    return reasons


def screening_book(*, screening: Screening, start: datetime, patient: PatientDetails, now: datetime) -> Appointment:
    """Book the screened treatment at `start` with this screening, which is then used up.

    Everything is read again from the stored, locked row: its outcome, its date and its email, never from the
    request. A flagged decision books the time held for review, as does a date of birth after the isotretinoin
    dates given or one making the patient younger than rules.REVIEW_UNDER_AGE_YEARS on the day (its reason is added to
    the screening's, for the clinician). A blocked screening, a time before the eligible date, an expired or used
    screening, one the same email answered again after, or another email books nothing.
    """
    with transaction.atomic():
        # Locks the screening and its treatment's row: answers submitted meanwhile wait for this booking to commit
        # and then hold it if they rule it out (`screening_submit` takes the same treatment lock first).
        screening = Screening.objects.select_for_update().select_related("treatment").get(pk=screening.pk)
        # And the policy's row: a change of the rules waits for this booking (then holds it if it must), or this
        # booking waits for the change and sees the new rules version below.
        ScreeningPolicy.objects.select_for_update(no_key=True).filter(treatment_id=screening.treatment_id).exists()
        if not screening.is_usable(now):
            raise ScreeningInvalid()
        if selectors.later_screening(screening) is not None:
            # The latest answers win; they already weigh these ones (`rules.decide`'s earlier decision).
            raise ScreeningInvalid(SUPERSEDED_MESSAGE)
        if screening.rules_version != selectors.screening_policy(screening.treatment).rules_version:
            raise ScreeningInvalid(RULES_CHANGED_MESSAGE)  # decided under rules the clinic has changed since
        if screening.outcome == Screening.Outcome.BLOCKED:
            raise NotEligible("Your answers mean this treatment cannot be booked online yet.")
        if patient.email.strip().lower() != screening.email.lower():
            raise EmailMismatch()
        not_before = screening_not_before(screening)
        if not_before is not None and start < not_before:
            raise NotEligible(
                f"You can book {screening.treatment.name_in_a_sentence} from "
                f"{date_format(screening.eligible_from, 'j F Y')}. Please choose a time from that day."
            )
        born_reasons = _date_of_birth_reasons(screening, patient, start)
        if born_reasons:
            screening.reasons = [*screening.reasons, *(reason.to_json() for reason in born_reasons)]
            screening.needs_review = True
        if _resurfacing_booked_before(patient.email, start):
            # A peel booked before it, which the answers ("no peel in the last two weeks") could not know of.
            screening.reasons = [
                *screening.reasons,
                rules.Reason(RESURFACING_BOOKED, rules.HELD_FOR_EARLIER_ANSWERS).to_json(),
            ]
            screening.needs_review = True
        needs_review = screening.needs_review or screening.outcome == Screening.Outcome.REVIEW
        appointment = appointment_book(
            treatment=screening.treatment,
            start=start,
            patient=patient,
            now=now,
            status=Appointment.Status.PENDING_REVIEW if needs_review else Appointment.Status.CONFIRMED,
            not_before=not_before,
        )
        screening.appointment = appointment
        screening.used_at = now
        screening.save(update_fields=["appointment", "used_at", "reasons", "needs_review"])
    return appointment


# The question whose wait a resurfacing treatment (a peel, a laser) sets; its days when active, else these. A screened
# booking after such a booking is held with this reason code.
RESURFACING_QUESTION, RESURFACING_DAYS, RESURFACING_BOOKED = "recent_resurfacing", 14, "resurfacing_booked"


def _resurfacing_wait() -> timedelta:
    days = (
        Contraindication.objects.filter(key=RESURFACING_QUESTION, active=True)
        .values_list("wait_days", flat=True)
        .first()
    )
    return timedelta(days=days or RESURFACING_DAYS)


def _resurfacing_booked_before(email: str, start: datetime) -> Appointment | None:
    """Return the patient's latest resurfacing booking (a peel) that ends within its wait before `start`, if any."""
    return (
        Appointment.objects.filter(
            patient_email__iexact=email,
            treatment__resurfacing=True,
            status__in=STILL_EXPECTED,
            end__lte=start,
            end__gt=start - _resurfacing_wait(),
        )
        .select_related("treatment")
        .order_by("-end")
        .first()
    )


def _resurfacing_in_staff_words(resurfacing: Appointment) -> str:
    return f"{resurfacing.treatment} on {_in_staff_words(resurfacing.start.astimezone(clinic_tz()).date())}"


def screened_bookings_after_resurfacing(appointment: Appointment, *, now: datetime) -> int:
    """After a resurfacing treatment is booked or moved: the same patient's screened bookings that start within its
    wait after it go on hold for a clinician. Their answers said no peel in the last two weeks; there will be one.
    Return how many were confirmed and are now held."""
    if not appointment.treatment.resurfacing or appointment.status not in STILL_EXPECTED:
        return 0
    near = Appointment.objects.filter(
        patient_email__iexact=appointment.patient_email,
        treatment__requires_screening=True,
        status__in=STILL_EXPECTED,
        start__gte=appointment.end,
        start__lt=appointment.end + _resurfacing_wait(),
    )
    reason = f"{HELD_FOR_RESURFACING}{_resurfacing_in_staff_words(appointment)}, shortly before it."
    held = 0
    for booked in near:
        was_confirmed = booked.status == Appointment.Status.CONFIRMED
        held += bool(appointment_hold_for_review(appointment=booked, reason=reason, now=now)) and was_confirmed
    return held


def screened_booking_reschedule(
    *, appointment: Appointment, new_start: datetime, now: datetime, not_before: datetime | None = None
) -> Appointment:
    """Move a booking (`appointment_reschedule`); one made with a screening is weighed again at its new time, as a
    booking made then would be: a date of birth that now needs a clinician (e.g. under 18 on the new day) holds it."""
    moved_from = appointment.start
    with transaction.atomic():
        moved = appointment_reschedule(appointment=appointment, new_start=new_start, now=now, not_before=not_before)
        screened_bookings_after_resurfacing(moved, now=now)  # a peel moved to just before a screened booking
        return screened_booking_weigh_again(moved, now=now, moved_from=moved_from)


def _weighed_with(resurfacing: Appointment, moved: Appointment, moved_from: datetime | None) -> bool:
    """Whether `moved`, confirmed, already stood after `resurfacing` before it moved, and moved no closer to it."""
    if moved_from is None or moved.start < moved_from:
        return False
    before = _resurfacing_booked_before(moved.patient_email, moved_from)
    return before is not None and before.pk == resurfacing.pk


def screened_booking_weigh_again(
    moved: Appointment,
    *,
    now: datetime,
    why: str = "at the new time",
    new_time: bool = True,
    moved_from: datetime | None = None,
    email_corrected: bool = False,
) -> Appointment:
    """Weigh a booking of a screened treatment again after it moved (by the patient or by staff) or staff corrected
    its email or date of birth, as a booking made then would be, phone bookings included. It goes on hold if:
    - answers given under its email since it was booked rule its time out (the address corrected to one that
      answered "taking isotretinoin"), or, with the email corrected, need a clinician (as they would have held it
      had it carried that address when they were given);
    - its date of birth now needs a clinician (under 18 on the day, born after the isotretinoin dates);
    - at a `new_time` on a day before the one a clinician confirmed it for (`approved_for`): they weighed it, its
      answers and the patient's age, for that day;
    - at a `new_time`, a peel is booked shortly before it. Not the same peel it already stood after at `moved_from`,
      moved further from it: a confirmed booking there was weighed with that peel already (held for it, approved)."""
    if moved.status != Appointment.Status.CONFIRMED or moved.details_erased or not moved.treatment.requires_screening:
        return moved
    screening = selectors.screening_for_appointment(moved)  # None for a phone booking: its date of birth still counts
    patient = PatientDetails(
        name=moved.patient_name,
        email=moved.patient_email,
        phone=moved.patient_phone,
        date_of_birth=moved.patient_date_of_birth,
    )
    since = selectors.answers_since(moved, screening) if email_corrected else None
    if screened_booking_allows(moved).refusal(moved.start) or (since is not None and since.needs_review):
        reason = f"{HELD_FOR_ANSWERS_AGAIN} under the booking's email; a clinician must weigh them."
        moved = appointment_hold_for_review(appointment=moved, reason=reason, now=now) or moved
    elif _date_of_birth_reasons(screening, patient, moved.start):
        reason = f"{HELD_AGAIN}{why} the patient's date of birth needs a check."
        moved = appointment_hold_for_review(appointment=moved, reason=reason, now=now) or moved
    elif new_time and moved.approved_for is not None and _local_day(moved.start) < _local_day(moved.approved_for):
        reason = f"{HELD_FOR_EARLIER_TIME} ({_in_staff_words(_local_day(moved.approved_for))}), not this one."
        moved = appointment_hold_for_review(appointment=moved, reason=reason, now=now) or moved
    elif (
        new_time
        and (resurfacing := _resurfacing_booked_before(moved.patient_email, moved.start))
        and not _weighed_with(resurfacing, moved, moved_from)
    ):
        # Its answers ("no peel in the last two weeks") were given for the old time.
        reason = f"{HELD_FOR_RESURFACING}{_resurfacing_in_staff_words(resurfacing)}, shortly before its new time."
        moved = appointment_hold_for_review(appointment=moved, reason=reason, now=now) or moved
    return moved
