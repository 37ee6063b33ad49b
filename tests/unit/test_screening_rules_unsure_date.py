"""An unsure last dose inside the wait: the decision says both that the patient waits and that a clinician checks."""

from datetime import date

from screening.rules import Answers, Outcome, Policy, decide


def test_an_unsure_date_inside_the_wait_gives_the_patient_both_reasons():
    answers = Answers(
        taking_isotretinoin=False, isotretinoin_recently=True, last_dose=date(2025, 10, 15), last_dose_unsure=True
    )
    decision = decide(answers, Policy(), date(2026, 3, 2))
    assert decision.outcome == Outcome.WAIT and decision.eligible_from == date(2026, 4, 15)
    assert [reason.code for reason in decision.reasons] == ["isotretinoin_recent", "isotretinoin_date_unsure"]
    assert "not sure" in decision.reasons[1].text and decision.needs_review
