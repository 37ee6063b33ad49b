"""The screening rules: answers + the treatment's policy + today -> a decision.

Pure on purpose: no ORM, no clock, no I/O. Everything the rules need arrives as plain values, so every rule can be
tested as a row in a table and a decision can be recomputed from a stored screening.
"""

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

# A patient younger than this on the day of a screened treatment is held for a clinician: a child's date of birth is
# more often a typo than a patient, and a clinician, not the form, should turn either away.
REVIEW_UNDER_AGE_YEARS = 18


class Outcome(StrEnum):
    CLEAR = "clear"
    WAIT = "wait"
    BLOCKED = "blocked"
    REVIEW = "review"


class Action(StrEnum):
    BLOCK = "block"
    FLAG = "flag"
    WAIT = "wait"


# From the most to the least strict; see `decide` for why the order is this one.
PRECEDENCE = (Outcome.BLOCKED, Outcome.WAIT, Outcome.REVIEW, Outcome.CLEAR)

# A patient told to wait who answers again within this many days, with answers that would let them book sooner,
# is held for a clinician. A wait that has not ended yet, or a block without a date given within the recent-dose
# window, weighs for as long as that lasts (`still_weighs`): "taking isotretinoin" two months ago and "none in the
# last twelve months" today cannot both be true.
REANSWER_DAYS = 30

# The flag of answers held for being less strict than the same patient's earlier ones.
CHANGED_ANSWERS = "changed_answers"

# What the patient is told when earlier answers or a recent decline hold new ones. It says nothing of them: anyone
# can type any email, and "you told us something else recently" would tell a stranger that this address was
# screened (the reason's code tells the clinician which it was).
HELD_FOR_EARLIER_ANSWERS = "A clinician will check your answers before confirming your booking."

BRAND_NAMES = ("Accutane", "Roaccutane", "Absorica", "Claravis", "Amnesteem", "Myorisan", "Zenatane", "Epuris")


def add_months(day: date, months: int) -> date:
    """Add calendar months, keeping the day of the month or the month's last day (31 Aug + 6 -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def under_age_on(born: date, day: date) -> bool:
    """Whether someone born on `born` is younger than REVIEW_UNDER_AGE_YEARS on `day`. A birthday on 29 February
    comes round on 1 March in other years, as UK law counts it: a day later than calendar months would have it,
    so the doubtful day is a clinician's to check."""
    years = REVIEW_UNDER_AGE_YEARS
    try:
        comes_of_age = born.replace(year=born.year + years)
    except ValueError:  # 29 February, and no such day that year
        comes_of_age = date(born.year + years, 3, 1)
    return day < comes_of_age


@dataclass(frozen=True)
class Answers:
    """What the patient said. `yes_to` holds the keys of the other questions answered "yes"."""

    taking_isotretinoin: bool
    isotretinoin_recently: bool = False
    last_dose: date | None = None
    last_dose_unsure: bool = False
    course_end: date | None = None
    yes_to: frozenset[str] = field(default_factory=frozenset)
    # Every question key answered (yes or no), so a stored screening shows the full picture.
    answered: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> dict[str, Any]:
        return {
            "taking_isotretinoin": self.taking_isotretinoin,
            "isotretinoin_recently": self.isotretinoin_recently,
            "last_dose": self.last_dose.isoformat() if self.last_dose else None,
            "last_dose_unsure": self.last_dose_unsure,
            "course_end": self.course_end.isoformat() if self.course_end else None,
            "contraindications": {key: key in self.yes_to for key in sorted(self.answered | self.yes_to)},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Answers":
        questions = data.get("contraindications") or {}
        return cls(
            taking_isotretinoin=bool(data["taking_isotretinoin"]),
            isotretinoin_recently=bool(data.get("isotretinoin_recently")),
            last_dose=date.fromisoformat(data["last_dose"]) if data.get("last_dose") else None,
            last_dose_unsure=bool(data.get("last_dose_unsure")),
            course_end=date.fromisoformat(data["course_end"]) if data.get("course_end") else None,
            yes_to=frozenset(key for key, yes in questions.items() if yes),
            answered=frozenset(questions),
        )


@dataclass(frozen=True)
class QuestionRule:
    """What a "yes" to one of the clinic's other questions means."""

    key: str
    action: Action
    wait_days: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Policy:
    isotretinoin_wait_months: int = 6
    recent_dose_window_months: int = 12
    questions: tuple[QuestionRule, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "isotretinoin_wait_months": self.isotretinoin_wait_months,
            "recent_dose_window_months": self.recent_dose_window_months,
            "questions": {q.key: {"action": str(q.action), "wait_days": q.wait_days} for q in self.questions},
        }


@dataclass(frozen=True)
class Reason:
    """A patient-safe short code and the plain words shown for it."""

    code: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class EarlierDecision:
    """The latest recent screening by the same patient that told them to wait, stopped them, or needed a clinician."""

    outcome: Outcome
    eligible_from: date | None
    days_ago: int
    needs_review: bool = False
    # Blocked for taking isotretinoin and no question of the clinic's: a last dose given since is the course ending.
    isotretinoin_block: bool = False
    # The clinic's questions whose "yes" blocked it (pregnancy): new answers without them are changed answers.
    blocked_for: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()
    eligible_from: date | None = None
    # Why a clinician must look before a booking made with this decision is confirmed.
    flags: tuple[str, ...] = ()

    @property
    def needs_review(self) -> bool:
        return self.outcome == Outcome.REVIEW or bool(self.flags)

    @property
    def can_book(self) -> bool:
        """Whether any booking (from `eligible_from` when set) may be made with this decision."""
        return self.outcome != Outcome.BLOCKED

    def allows_day(self, day: date) -> bool:
        """Whether an appointment on the clinic-local `day` may be booked with this decision."""
        if not self.can_book:
            return False
        return self.eligible_from is None or day >= self.eligible_from


@dataclass(frozen=True)
class _Finding:
    outcome: Outcome
    reason: Reason
    # For WAIT and BLOCKED: the first day this finding allows; None on a block means "no date we can give".
    until: date | None = None
    flag: str | None = None


def _months(n: int) -> str:
    return "1 month" if n == 1 else f"{n} months"


def _isotretinoin_findings(answers: Answers, policy: Policy, today: date) -> list[_Finding]:
    wait = policy.isotretinoin_wait_months
    if answers.taking_isotretinoin:
        until = add_months(max(answers.course_end, today), wait) if answers.course_end else None
        text = "You are taking isotretinoin now."
        text += (
            f" This treatment can be booked {_months(wait)} after your course ends."
            if until
            else f" This treatment can be booked {_months(wait)} after your last dose."
        )
        return [_Finding(Outcome.BLOCKED, Reason("isotretinoin_current", text), until)]
    unsure_text = "You are not sure when you last took isotretinoin, so a clinician will check before confirming."
    if answers.last_dose is not None:
        until = add_months(answers.last_dose, wait)
        if today < until:
            # Even a rough date inside the wait is taken at its word: wait, and a clinician still looks after. The
            # review is a finding of its own, so the stored reasons say why a booking after the wait is held.
            text = f"Your last isotretinoin dose was less than {_months(wait)} ago."
            findings = [_Finding(Outcome.WAIT, Reason("isotretinoin_recent", text), until)]
            if answers.last_dose_unsure:
                findings.append(
                    _Finding(
                        Outcome.REVIEW,
                        Reason("isotretinoin_date_unsure", unsure_text),
                        flag="isotretinoin_date_unsure",
                    )
                )
            return findings
        if answers.last_dose_unsure:
            return [
                _Finding(
                    Outcome.REVIEW, Reason("isotretinoin_date_unsure", unsure_text), flag="isotretinoin_date_unsure"
                )
            ]
        return []
    if answers.last_dose_unsure and answers.isotretinoin_recently:
        return [
            _Finding(Outcome.REVIEW, Reason("isotretinoin_date_unsure", unsure_text), flag="isotretinoin_date_unsure")
        ]
    if answers.isotretinoin_recently:
        # "Yes, recently" without a date: nothing to count from, so a clinician decides.
        text = "You took isotretinoin recently but gave no date, so a clinician will check before confirming."
        return [_Finding(Outcome.REVIEW, Reason("isotretinoin_date_unsure", text), flag="isotretinoin_date_unsure")]
    return []


def _question_findings(answers: Answers, policy: Policy, today: date) -> list[_Finding]:
    findings = []
    for rule in policy.questions:
        if rule.key not in answers.yes_to:
            continue
        reason = Reason(rule.key, rule.reason or "A clinician needs to check one of your answers.")
        if rule.action == Action.BLOCK:
            findings.append(_Finding(Outcome.BLOCKED, reason, None))
        elif rule.action == Action.WAIT:
            findings.append(_Finding(Outcome.WAIT, reason, today + timedelta(days=max(rule.wait_days, 1))))
        else:
            findings.append(_Finding(Outcome.REVIEW, reason, flag=rule.key))
    return findings


def _combine(findings: list[_Finding]) -> tuple[Outcome, date | None]:
    outcomes = {f.outcome for f in findings}
    outcome = next((o for o in PRECEDENCE if o in outcomes), Outcome.CLEAR)
    if outcome == Outcome.BLOCKED:
        blocks = [f for f in findings if f.outcome == Outcome.BLOCKED]
        if any(f.until is None for f in blocks):
            return outcome, None
        dated = [f.until for f in findings if f.outcome in (Outcome.BLOCKED, Outcome.WAIT)]
        return outcome, max(dated)
    if outcome == Outcome.WAIT:
        return outcome, max(f.until for f in findings if f.outcome == Outcome.WAIT)
    return outcome, None


def still_weighs(earlier: EarlierDecision, today: date, policy: Policy) -> bool:
    """Whether the earlier decision still stands against new answers: given in the last REANSWER_DAYS, a wait or
    block whose date is still ahead, or a block without a date given within the recent-dose window."""
    if earlier.days_ago <= REANSWER_DAYS:
        return True
    if earlier.outcome not in (Outcome.WAIT, Outcome.BLOCKED):
        return False
    if earlier.eligible_from is not None:
        return earlier.eligible_from > today
    answered_on = today - timedelta(days=earlier.days_ago)
    return earlier.outcome == Outcome.BLOCKED and answered_on > add_months(today, -policy.recent_dose_window_months)


def blocking_questions(policy: Policy) -> set[str]:
    """The clinic's questions whose "yes" blocks booking (pregnancy)."""
    return {rule.key for rule in policy.questions if rule.action == Action.BLOCK}


def codes_for_a_clinician(policy: Policy) -> set[str]:
    """Reason codes of answers a clinician must look at (not those added at booking: a peel shortly before, the
    patient's age on the day)."""
    flagged = {rule.key for rule in policy.questions if rule.action == Action.FLAG}
    return flagged | {"isotretinoin_date_unsure", CHANGED_ANSWERS, "declined_recently"}


def _less_strict(
    outcome: Outcome,
    eligible_from: date | None,
    earlier: EarlierDecision,
    today: date,
    policy: Policy,
    *,
    needs_review: bool,
    codes: set[str],
) -> bool:
    """Whether a new decision (its reasons' `codes`) lets the patient book sooner, or with less care, than the
    earlier one still would."""
    if earlier.blocked_for - codes:
        return True  # "pregnant" then, not now: whatever else the new answers say, a clinician looks
    if earlier.needs_review and not needs_review and outcome != Outcome.BLOCKED:
        # A clinician was to look at the earlier answers (a flag, an unsure date): new ones that would book without a
        # clinician, now or after a wait, are no reason not to.
        return True
    if earlier.outcome not in (Outcome.WAIT, Outcome.BLOCKED):
        return False
    if earlier.eligible_from is not None and earlier.eligible_from <= today:
        return False  # the earlier wait is over: nothing to compare
    if outcome in (Outcome.CLEAR, Outcome.REVIEW):
        return True
    if outcome == Outcome.WAIT and earlier.isotretinoin_block:
        # "Taking it" then, a last dose now: the course ended since (sooner than expected, perhaps), unless the dose
        # given is from before they said they were taking it (counted the same way as the wait it sets).
        answered_on = today - timedelta(days=earlier.days_ago)
        return eligible_from is None or eligible_from < add_months(answered_on, policy.isotretinoin_wait_months)
    if outcome == Outcome.WAIT:
        return earlier.eligible_from is None or (eligible_from is not None and eligible_from < earlier.eligible_from)
    return False


def decide(
    answers: Answers,
    policy: Policy,
    today: date,
    *,
    earlier: EarlierDecision | None = None,
    declined_recently: bool = False,
) -> Decision:
    """Decide whether, and from when, the treatment may be booked.

    Each answer that matters gives a finding (blocked, wait until a date, or review); the strictest wins:
    BLOCKED > WAIT > REVIEW > CLEAR.

    - BLOCKED beats everything: nothing can be booked online. Its date is the latest of all dated findings, or
      none when any block has no date (e.g. pregnancy, or isotretinoin with no expected course end).
    - WAIT beats REVIEW because it is the only one of the two that is certain to be true: no clinician can
      approve a booking before the wait ends, so offering a review now would only promise something we must
      refuse. The review does not disappear: its flags stay on the decision (`needs_review`), so a booking made
      from the eligible date is still held for a clinician.
    - REVIEW beats CLEAR: the patient may pick a time, and it is held until a clinician confirms.

    The day of eligibility itself is allowed; the day before is not. `earlier` is the same patient's recent
    "wait", "blocked" or held-for-review decision: new answers that would let them book sooner, or without a
    clinician, are held for review ("changed answers") instead of being silently accepted. `declined_recently`
    (a clinician declined this patient's booking of the treatment within REANSWER_DAYS) holds any new booking too.
    """
    findings = _isotretinoin_findings(answers, policy, today) + _question_findings(answers, policy, today)
    outcome, eligible_from = _combine(findings)
    reasons = [f.reason for f in findings]
    flags = [f.flag for f in findings if f.flag]
    if (
        earlier is not None
        and still_weighs(earlier, today, policy)
        and _less_strict(
            outcome,
            eligible_from,
            earlier,
            today,
            policy,
            needs_review=outcome == Outcome.REVIEW or bool(flags),
            codes={reason.code for reason in reasons},
        )
    ):
        flags.append(CHANGED_ANSWERS)
        reasons.append(Reason(CHANGED_ANSWERS, HELD_FOR_EARLIER_ANSWERS))
        if outcome == Outcome.CLEAR:
            outcome = Outcome.REVIEW
    if declined_recently:
        flags.append("declined_recently")
        reasons.append(Reason("declined_recently", HELD_FOR_EARLIER_ANSWERS))
        if outcome == Outcome.CLEAR:
            outcome = Outcome.REVIEW
    return Decision(outcome=outcome, reasons=tuple(reasons), eligible_from=eligible_from, flags=tuple(flags))


def eligible_from_under(
    policy: Policy,
    *,
    answered_on: date,
    answers: Answers | None,
    eligible_from: date | None,
    decided_under: Mapping[str, Any],
) -> date | None:
    """Return the day a wait decided on `answered_on` ends under `policy` instead of the rules it was decided under
    (`decided_under`, as `Policy.to_json` stored them): the same answers, the dates the patient gave, counted again.
    None when they give no date under `policy` (a block without one); `answered_on` when they no longer wait.

    Without the answers (erased once past keeping) only the isotretinoin wait is counted again: a date further off
    than any question's wait was the last dose (or the course's end) plus the months of `decided_under`. A month's
    last day is counted from the latest day that gives it (31 August for 28 February), so the new date is never
    too early. A date a question's wait may have set stands.
    """
    if answers is not None:
        decision = decide(answers, policy, answered_on)
        if decision.outcome == Outcome.BLOCKED or decision.eligible_from is not None:
            return decision.eligible_from
        return answered_on
    months = decided_under.get("isotretinoin_wait_months")
    question_waits = [
        rule.get("wait_days", 0)
        for rule in (decided_under.get("questions") or {}).values()
        if rule.get("action") == Action.WAIT
    ]
    if eligible_from is None or months is None or (eligible_from - answered_on).days <= max(question_waits, default=0):
        return eligible_from
    counted_from = add_months(eligible_from, -months)
    if (eligible_from + timedelta(days=1)).day == 1:
        last_day = calendar.monthrange(counted_from.year, counted_from.month)[1]
        counted_from = counted_from.replace(day=last_day)
    return add_months(counted_from, policy.isotretinoin_wait_months)
