"""Names are stored as staff will read them in the diary and patients in their emails."""

import pytest
from django import forms

from booking.forms import check_name


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("  Alex   Morgan\n", "Alex Morgan"),
        ("Anna\tMaria\r\nSmith", "Anna Maria Smith"),  # pasted from a spreadsheet: the breaks are spaces
        ("\u202eAlex Morgan", "Alex Morgan"),  # a right-to-left override would show it reversed in the diary
        ("Alex\u200b Morgan", "Alex Morgan"),
        ("Ali\x1b[31m Rezaei", "Ali[31m Rezaei"),  # a terminal escape loses its control code
        ("\u0645\u06cc\u200c\u0631\u0632\u0627", "\u0645\u06cc\u200c\u0631\u0632\u0627"),  # Persian keeps its joiner
        ("Zoë Ó Briain-Łukasz", "Zoë Ó Briain-Łukasz"),
    ],
)
def test_a_name_loses_invisible_characters_and_keeps_what_is_written(typed, stored):
    assert check_name(typed) == stored


@pytest.mark.parametrize("typed", ["", "   ", "\u200b\u200b", "\u202e", "\x7f\x08", "-- . ''"])
def test_a_name_without_a_letter_is_refused(typed):
    with pytest.raises(forms.ValidationError, match="Please enter your name"):
        check_name(typed)
