"""A treatment's name inside a sentence ("You can book microneedling now"): lower case, except an acronym or a
brand, which the old `|lower` turned into "ipl" and "hydrafacial"."""

import pytest

from booking.models import Treatment


@pytest.mark.parametrize(
    "name, in_a_sentence",
    [
        ("Microneedling", "microneedling"),
        ("Mild Chemical Peel", "mild chemical peel"),
        ("Dermatology consultation", "dermatology consultation"),
        ("IPL photofacial", "IPL photofacial"),
        ("HydraFacial", "HydraFacial"),
        ("RF Microneedling", "RF microneedling"),
    ],
)
def test_a_treatments_name_in_a_sentence_keeps_acronyms_and_brands(name, in_a_sentence):
    assert Treatment(name=name).name_in_a_sentence == in_a_sentence
