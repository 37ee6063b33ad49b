"""Bad screening answers get clear form errors and write nothing."""

import pytest

from screening.models import Screening

from .screening_helpers import SLUG, make_clinic, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def microneedling(db):
    return make_clinic()


@pytest.mark.parametrize(
    "answers, message",
    [
        ({"isotretinoin_recently": "yes", "last_dose": "2026-03-03"}, "cannot be in the future"),
        ({"isotretinoin_recently": "yes", "last_dose": "1926-03-01"}, "more than 12 months ago"),
        ({"isotretinoin_recently": "yes"}, "Please give the date of your last dose, or tick"),
        ({"isotretinoin_recently": "yes", "last_dose": "not a date"}, "day, month and year"),
        ({"isotretinoin_recently": "no", "last_dose": "2026-01-10"}, "but gave a date for your last dose"),
        ({"isotretinoin_recently": "no", "last_dose_unsure": "on"}, "but ticked that you are not sure of the date"),
        ({"taking_isotretinoin": "yes", "course_end": "2026-02-01"}, "cannot be in the past"),
        ({"taking_isotretinoin": "yes", "course_end": "2099-01-01"}, "check the year"),
        (
            {"taking_isotretinoin": "yes", "last_dose": "2026-03-02", "course_end": "2026-03-02"},
            None,  # ending today is fine
        ),
        ({"taking_isotretinoin": None}, "Please say whether you are taking isotretinoin now"),
        ({"taking_isotretinoin": "perhaps"}, "Please answer Yes or No"),
        ({"isotretinoin_recently": None}, "in the last 12 months"),
        ({"q_pregnancy": None}, "Please answer Yes or No"),
        ({"email": "not-an-email"}, "valid email"),
    ],
    ids=[
        "a last dose in the future",
        "an absurdly old last dose",
        "yes without a date",
        "a date that is not a date",
        "a date after saying no",
        "not sure of the date after saying no",
        "a course end in the past while taking it",
        "a course end absurdly far ahead",
        "a course ending today",
        "the isotretinoin question skipped",
        "an answer that is not yes or no",
        "the recent-dose question skipped",
        "another question skipped",
        "a bad email",
    ],
)
def test_bad_answers_get_a_clear_message_and_write_nothing(client, clock, microneedling, answers, message):
    response = screen(client, **answers)
    if message is None:
        assert response.status_code == 302
        return
    page = response.content.decode()
    assert response.status_code == 400 and message in page
    assert 'id="error-summary"' in page
    assert "?:" not in page  # a question's label is not followed by a colon in the summary
    assert not Screening.objects.exists()


def test_a_course_end_before_the_last_dose_is_refused(client, clock, microneedling):
    response = screen(client, taking_isotretinoin="yes", last_dose="2026-03-01", course_end="2026-02-20")
    assert response.status_code == 400
    assert "The end of your course cannot be before your last dose." in response.content.decode()
    assert not Screening.objects.exists()


def test_the_page_works_without_javascript_every_question_is_in_the_html(client, clock, microneedling):
    page = client.get(f"/book/{SLUG}/screening/").content.decode()
    for name in ["taking_isotretinoin", "course_end", "isotretinoin_recently", "last_dose", "last_dose_unsure"]:
        assert f'name="{name}"' in page
    assert 'data-show-when="isotretinoin_recently=yes"' in page and "screening.js" in page
