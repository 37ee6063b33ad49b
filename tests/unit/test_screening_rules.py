"""The screening rules as a table: answers + policy + today -> outcome, eligible date, review flags."""

from datetime import date, timedelta

import pytest

from screening.rules import (
    Action,
    Answers,
    Decision,
    EarlierDecision,
    Outcome,
    Policy,
    QuestionRule,
    add_months,
    decide,
    under_age_on,
)

CLEAR, WAIT, BLOCKED, REVIEW = Outcome.CLEAR, Outcome.WAIT, Outcome.BLOCKED, Outcome.REVIEW
TODAY = date(2026, 3, 2)


def _default_questions():
    """The questions the data migration seeds, as rules."""
    import importlib

    seeded = importlib.import_module("screening.migrations.0002_default_contraindications").DEFAULT_CONTRAINDICATIONS
    return tuple(
        QuestionRule(key, Action(action), wait_days, reason) for key, _, _, reason, action, wait_days in seeded
    )


POLICY = Policy(isotretinoin_wait_months=6, recent_dose_window_months=12, questions=_default_questions())


def stopped(last_dose=None, *, unsure=False, recently=True, yes=()):
    return Answers(
        taking_isotretinoin=False,
        isotretinoin_recently=recently,
        last_dose=last_dose,
        last_dose_unsure=unsure,
        yes_to=frozenset(yes),
    )


def taking(course_end=None, *, yes=()):
    return Answers(taking_isotretinoin=True, course_end=course_end, yes_to=frozenset(yes))


def never(*, yes=()):
    return Answers(taking_isotretinoin=False, isotretinoin_recently=False, yes_to=frozenset(yes))


# (case, answers, today, expected outcome, expected eligible_from, expected to need review)
CASES = [
    ("no isotretinoin and no other answer is clear", never(), TODAY, CLEAR, None, False),
    ("on isotretinoin without an end date is blocked with no date", taking(), TODAY, BLOCKED, None, False),
    (
        "on isotretinoin with a course end is blocked until six months after it",
        taking(date(2026, 6, 30)),
        TODAY,
        BLOCKED,
        date(2026, 12, 30),
        False,
    ),
    (
        "a course ending 31 August gives 28 February",
        taking(date(2026, 8, 31)),
        TODAY,
        BLOCKED,
        date(2027, 2, 28),
        False,
    ),
    (
        "a course ending 31 August before a leap year gives 29 February",
        taking(date(2027, 8, 31)),
        TODAY,
        BLOCKED,
        date(2028, 2, 29),
        False,
    ),
    (
        "last dose 31 Aug: the day before 28 Feb still waits",
        stopped(date(2025, 8, 31)),
        date(2026, 2, 27),
        WAIT,
        date(2026, 2, 28),
        False,
    ),
    (
        "last dose 31 Aug: on 28 Feb itself it is clear",
        stopped(date(2025, 8, 31)),
        date(2026, 2, 28),
        CLEAR,
        None,
        False,
    ),
    (
        "last dose 31 Aug in a leap year: 28 Feb still waits for the 29th",
        stopped(date(2023, 8, 31)),
        date(2024, 2, 28),
        WAIT,
        date(2024, 2, 29),
        False,
    ),
    (
        "last dose 31 Aug in a leap year: 29 Feb is clear",
        stopped(date(2023, 8, 31)),
        date(2024, 2, 29),
        CLEAR,
        None,
        False,
    ),
    (
        "last dose 15 Jan: the day before 15 Jul waits",
        stopped(date(2026, 1, 15)),
        date(2026, 7, 14),
        WAIT,
        date(2026, 7, 15),
        False,
    ),
    ("last dose 15 Jan: 15 Jul exactly is clear", stopped(date(2026, 1, 15)), date(2026, 7, 15), CLEAR, None, False),
    ("last dose 30 Sep gives 30 Mar", stopped(date(2025, 9, 30)), TODAY, WAIT, date(2026, 3, 30), False),
    ("last dose 31 Dec gives 30 Jun", stopped(date(2025, 12, 31)), TODAY, WAIT, date(2026, 6, 30), False),
    ("last dose yesterday waits six months", stopped(TODAY - timedelta(days=1)), TODAY, WAIT, date(2026, 9, 1), False),
    ("last dose seven months ago is clear", stopped(date(2025, 8, 2)), TODAY, CLEAR, None, False),
    ("not sure of the date is held for review", stopped(unsure=True), TODAY, REVIEW, None, True),
    (
        "not sure, with a rough date inside the wait: waits, then a clinician checks",
        stopped(date(2026, 1, 1), unsure=True),
        TODAY,
        WAIT,
        date(2026, 7, 1),
        True,
    ),
    (
        "not sure, with a rough date long ago, is held for review",
        stopped(date(2025, 6, 1), unsure=True),
        TODAY,
        REVIEW,
        None,
        True,
    ),
    ("taken recently with no date at all is held for review", stopped(), TODAY, REVIEW, None, True),
    ("pregnancy or breastfeeding is blocked with no date", never(yes={"pregnancy"}), TODAY, BLOCKED, None, False),
    (
        "an active infection or cold sore waits 14 days",
        never(yes={"active_infection"}),
        TODAY,
        WAIT,
        date(2026, 3, 16),
        False,
    ),
    ("keloid scarring is held for review", never(yes={"keloid"}), TODAY, REVIEW, None, True),
    ("blood thinners are held for review", never(yes={"blood_thinners"}), TODAY, REVIEW, None, True),
    ("a recent peel or laser waits 14 days", never(yes={"recent_resurfacing"}), TODAY, WAIT, date(2026, 3, 16), False),
    ("recent sunburn waits 14 days", never(yes={"sunburn"}), TODAY, WAIT, date(2026, 3, 16), False),
    ("an eczema, psoriasis or rosacea flare is held for review", never(yes={"skin_flare"}), TODAY, REVIEW, None, True),
    ("radiotherapy to the area is held for review", never(yes={"radiation"}), TODAY, REVIEW, None, True),
    ("a condition that slows healing is held for review", never(yes={"healing_condition"}), TODAY, REVIEW, None, True),
    (
        "a recent dose and keloid: wait wins, the booking after it is still reviewed",
        stopped(date(2026, 1, 15), yes={"keloid"}),
        TODAY,
        WAIT,
        date(2026, 7, 15),
        True,
    ),
    (
        "unsure of the date and sunburn: wait 14 days, then review",
        stopped(unsure=True, yes={"sunburn"}),
        TODAY,
        WAIT,
        date(2026, 3, 16),
        True,
    ),
    (
        "a recent dose and sunburn: the later date wins",
        stopped(date(2026, 1, 15), yes={"sunburn"}),
        TODAY,
        WAIT,
        date(2026, 7, 15),
        False,
    ),
    (
        "on isotretinoin with an end date and sunburn: blocked until the later date",
        taking(date(2026, 4, 30), yes={"sunburn"}),
        TODAY,
        BLOCKED,
        date(2026, 10, 30),
        False,
    ),
    (
        "on isotretinoin and pregnant: blocked with no date",
        taking(date(2026, 4, 30), yes={"pregnancy"}),
        TODAY,
        BLOCKED,
        None,
        False,
    ),
    (
        "pregnant with a recent dose: blocked beats wait",
        stopped(date(2026, 1, 15), yes={"pregnancy"}),
        TODAY,
        BLOCKED,
        None,
        False,
    ),
    (
        "a course end already past while still taking counts from today",
        taking(date(2026, 1, 1)),
        TODAY,
        BLOCKED,
        date(2026, 9, 2),
        False,
    ),
    (
        "a last dose in the future (never from the form) still waits",
        stopped(date(2026, 4, 1)),
        TODAY,
        WAIT,
        date(2026, 10, 1),
        False,
    ),
    (
        "a last dose given with 'not taken recently' is still counted",
        stopped(date(2026, 2, 1), recently=False),
        TODAY,
        WAIT,
        date(2026, 8, 1),
        False,
    ),
    ("a question the clinic no longer asks is ignored", never(yes={"retired_question"}), TODAY, CLEAR, None, False),
]


@pytest.mark.parametrize(
    "answers, today, outcome, eligible_from, needs_review", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule_table(answers, today, outcome, eligible_from, needs_review):
    decision = decide(answers, POLICY, today)
    assert (decision.outcome, decision.eligible_from, decision.needs_review) == (outcome, eligible_from, needs_review)


def test_the_table_covers_every_outcome_and_every_default_question():
    assert len(CASES) >= 25
    assert {c[3] for c in CASES} == set(Outcome)
    asked = set().union(*(c[1].yes_to for c in CASES))
    assert {q.key for q in POLICY.questions} <= asked


def test_a_shorter_waiting_period_is_policy_not_code():
    policy = Policy(isotretinoin_wait_months=3, recent_dose_window_months=12)
    decision = decide(stopped(date(2025, 11, 30)), policy, date(2026, 2, 27))
    assert decision.outcome == WAIT and decision.eligible_from == date(2026, 2, 28)
    assert decide(stopped(date(2025, 11, 30)), policy, date(2026, 2, 28)).outcome == CLEAR


def test_a_question_the_clinic_sets_to_block_blocks():
    policy = Policy(questions=(QuestionRule("active_infection", Action.BLOCK, 0, "Not with an infection."),))
    decision = decide(never(yes={"active_infection"}), policy, TODAY)
    assert decision.outcome == BLOCKED and decision.eligible_from is None
    assert decision.reasons[0].text == "Not with an infection."


def earlier_wait(days_ago=10, eligible_from=date(2026, 7, 15), outcome=WAIT):
    return EarlierDecision(outcome=outcome, eligible_from=eligible_from, days_ago=days_ago)


def test_told_to_wait_then_answering_clear_within_30_days_is_held_for_review():
    decision = decide(never(), POLICY, TODAY, earlier=earlier_wait(days_ago=30))
    assert decision.outcome == REVIEW and "changed_answers" in decision.flags
    assert "changed_answers" in [r.code for r in decision.reasons]


def test_a_wait_still_running_holds_clear_answers_however_long_ago_it_was_given():
    """Told in January to wait until July, "no isotretinoin in the last twelve months" in June cannot be true."""
    decision = decide(never(), POLICY, TODAY, earlier=earlier_wait(days_ago=120))
    assert decision.outcome == REVIEW and "changed_answers" in decision.flags


def test_a_block_without_a_date_holds_clear_answers_within_the_months_asked_about_and_not_after():
    taking = earlier_wait(outcome=BLOCKED, eligible_from=None, days_ago=200)
    assert decide(never(), POLICY, TODAY, earlier=taking).outcome == REVIEW
    long_ago = earlier_wait(outcome=BLOCKED, eligible_from=None, days_ago=400)  # the window is 12 months
    assert decide(never(), POLICY, TODAY, earlier=long_ago).outcome == CLEAR


def test_held_for_a_clinician_more_than_30_days_ago_no_longer_weighs():
    earlier = EarlierDecision(outcome=REVIEW, eligible_from=None, days_ago=31, needs_review=True)
    assert decide(never(), POLICY, TODAY, earlier=earlier).outcome == CLEAR


def test_a_wait_that_is_already_over_does_not_hold_new_answers():
    assert decide(never(), POLICY, TODAY, earlier=earlier_wait(eligible_from=TODAY)).outcome == CLEAR


def test_blocked_then_a_sooner_wait_keeps_the_wait_but_flags_review():
    decision = decide(
        stopped(date(2026, 1, 1)), POLICY, TODAY, earlier=earlier_wait(outcome=BLOCKED, eligible_from=None)
    )
    assert decision.outcome == WAIT and decision.needs_review


def test_a_later_wait_than_before_needs_no_review():
    decision = decide(stopped(date(2026, 2, 1)), POLICY, TODAY, earlier=earlier_wait(eligible_from=date(2026, 7, 15)))
    assert decision.outcome == WAIT and not decision.needs_review


def test_held_for_a_clinician_then_answering_clear_within_30_days_is_held_again():
    earlier = EarlierDecision(outcome=REVIEW, eligible_from=None, days_ago=5, needs_review=True)
    decision = decide(never(), POLICY, TODAY, earlier=earlier)
    assert decision.outcome == REVIEW and "changed_answers" in decision.flags


def test_held_for_a_clinician_then_answering_with_a_flag_again_is_held_for_that_flag_alone():
    earlier = EarlierDecision(outcome=REVIEW, eligible_from=None, days_ago=5, needs_review=True)
    decision = decide(never(yes={"keloid"}), POLICY, TODAY, earlier=earlier)
    assert decision.outcome == REVIEW and decision.flags == ("keloid",)


def test_held_for_a_clinician_then_answering_with_only_a_wait_is_held_after_the_wait():
    earlier = EarlierDecision(outcome=REVIEW, eligible_from=None, days_ago=5, needs_review=True)
    decision = decide(never(yes={"sunburn"}), POLICY, TODAY, earlier=earlier)
    assert decision.outcome == WAIT and "changed_answers" in decision.flags and decision.needs_review


def test_an_unsure_date_inside_the_wait_then_the_same_date_sure_is_still_held_after_the_wait():
    earlier = EarlierDecision(outcome=WAIT, eligible_from=date(2026, 4, 1), days_ago=1, needs_review=True)
    decision = decide(stopped(date(2025, 10, 1)), POLICY, TODAY, earlier=earlier)
    assert decision.outcome == WAIT and decision.needs_review


def test_held_for_a_clinician_then_blocked_needs_no_flag():
    earlier = EarlierDecision(outcome=REVIEW, eligible_from=None, days_ago=5, needs_review=True)
    assert decide(taking(), POLICY, TODAY, earlier=earlier).flags == ()


def test_a_recent_decline_holds_any_new_booking_and_says_why():
    assert decide(never(), POLICY, TODAY, declined_recently=True).outcome == REVIEW
    decision = decide(stopped(date(2026, 1, 1)), POLICY, TODAY, declined_recently=True)
    assert decision.outcome == WAIT and decision.needs_review  # still a wait first: then a clinician looks
    assert decision.reasons[-1].code == "declined_recently"


def test_every_reason_is_plain_words_with_a_short_code():
    decision = decide(taking(yes={"keloid", "sunburn", "pregnancy"}), POLICY, TODAY)
    assert [r.code for r in decision.reasons] == ["isotretinoin_current", "pregnancy", "keloid", "sunburn"]
    assert all(r.text and len(r.text) < 200 for r in decision.reasons)


@pytest.mark.parametrize(
    "day, months, expected",
    [
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 2), -12, date(2025, 3, 2)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months_keeps_calendar_months(day, months, expected):
    assert add_months(day, months) == expected


def test_a_decision_allows_the_eligible_day_and_not_the_day_before():
    decision = Decision(outcome=WAIT, eligible_from=date(2026, 7, 15))
    assert decision.allows_day(date(2026, 7, 15)) and not decision.allows_day(date(2026, 7, 14))
    assert not Decision(outcome=BLOCKED, eligible_from=date(2026, 7, 15)).allows_day(date(2026, 8, 1))


def test_answers_survive_a_round_trip_through_json():
    answers = Answers(
        taking_isotretinoin=False,
        isotretinoin_recently=True,
        last_dose=date(2026, 1, 2),
        yes_to=frozenset({"keloid"}),
        answered=frozenset({"keloid", "pregnancy"}),
    )
    assert Answers.from_json(answers.to_json()) == answers
    assert answers.to_json()["contraindications"] == {"keloid": True, "pregnancy": False}


def test_the_reason_for_a_patient_on_isotretinoin_names_no_treatment_it_may_not_be():
    # Any treatment the clinic puts behind the screening uses these rules; a peel's patient was told "Microneedling".
    [reason] = decide(taking(course_end=date(2026, 5, 1)), POLICY, TODAY).reasons
    assert (
        reason.text == "You are taking isotretinoin now. This treatment can be booked 6 months after your course ends."
    )


@pytest.mark.parametrize(
    "born, day, under_age",
    [
        (date(2008, 5, 17), date(2026, 5, 16), True),
        (date(2008, 5, 17), date(2026, 5, 17), False),  # eighteen on the birthday itself
        # Born on 29 February: eighteen on 1 March in a year without one (UK law), not on 28 February.
        (date(2008, 2, 29), date(2026, 2, 28), True),
        (date(2008, 2, 29), date(2026, 3, 1), False),
        (date(2010, 2, 28), date(2028, 2, 28), False),  # 28 February is a birthday of its own, leap year or not
        (date(2012, 2, 29), date(2030, 2, 28), True),
        (date(2012, 2, 29), date(2030, 3, 1), False),
        (date(1996, 2, 29), date(2014, 2, 28), True),
    ],
)
def test_under_eighteen_counts_a_29_february_birthday_from_1_march(born, day, under_age):
    assert under_age_on(born, day) is under_age
