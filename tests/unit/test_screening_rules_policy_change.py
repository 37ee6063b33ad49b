"""A wait decided under one waiting period, counted again under another: from the patient's answers while they are
kept, from the date decided once they are erased, never earlier than the answers would give."""

from datetime import date

import pytest

from screening.rules import Answers, Policy, eligible_from_under

SIX = Policy(isotretinoin_wait_months=6).to_json()
SIX_WITH_SUNBURN = {**SIX, "questions": {"sunburn": {"action": "wait", "wait_days": 14}}}
ANSWERED = date(2026, 3, 2)


def recent(last_dose: date) -> Answers:
    return Answers(taking_isotretinoin=False, isotretinoin_recently=True, last_dose=last_dose)


@pytest.mark.parametrize(
    ("answers", "months", "expected"),
    [
        (recent(date(2025, 12, 1)), 3, ANSWERED),  # no longer waits: from the day of answering
        (recent(date(2025, 12, 1)), 5, date(2026, 5, 1)),
        (recent(date(2025, 12, 1)), 9, date(2026, 9, 1)),
        (recent(date(2025, 12, 31)), 4, date(2026, 4, 30)),
        (Answers(taking_isotretinoin=True, course_end=date(2026, 5, 31)), 3, date(2026, 8, 31)),
        (Answers(taking_isotretinoin=True), 3, None),  # a block without a date stays without one
    ],
)
def test_with_the_answers_the_dates_given_are_counted_again(answers, months, expected):
    policy = Policy(isotretinoin_wait_months=months)
    found = eligible_from_under(policy, answered_on=ANSWERED, answers=answers, eligible_from=None, decided_under=SIX)
    assert found == expected


@pytest.mark.parametrize(
    ("eligible_from", "months", "decided_under", "expected"),
    [
        (date(2026, 6, 1), 5, SIX, date(2026, 5, 1)),
        (date(2026, 6, 1), 9, SIX, date(2026, 9, 1)),
        # 28 February is six months after 28, 29, 30 or 31 August: counted from the 31st, never too early.
        (date(2027, 2, 28), 3, SIX, date(2026, 11, 30)),
        (date(2026, 3, 16), 3, SIX_WITH_SUNBURN, date(2026, 3, 16)),  # a question's wait may have set it: it stands
        (date(2026, 6, 1), 3, {}, date(2026, 6, 1)),  # nothing on record to count from
    ],
)
def test_once_the_answers_are_erased_the_isotretinoin_wait_is_counted_again_from_the_date(
    eligible_from, months, decided_under, expected
):
    policy = Policy(isotretinoin_wait_months=months)
    found = eligible_from_under(
        policy, answered_on=ANSWERED, answers=None, eligible_from=eligible_from, decided_under=decided_under
    )
    assert found == expected
