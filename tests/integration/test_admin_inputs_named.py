"""Every input on the diary's admin forms has an accessible name (axe's critical "label" rule): Django ties no
label to the date and time halves of a split date/time, nor to a tabular inline's cells and delete boxes."""

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from booking.models import Practitioner, TimeOff

from ..factories import make_practitioner, make_treatment, signed_in

pytestmark = pytest.mark.django_db


class Inputs(HTMLParser):
    """The visible inputs of a page without a name: no <label for>, no aria-label, no aria-labelledby."""

    def __init__(self):
        super().__init__()
        self.inputs, self.labelled = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label" and attrs.get("for"):
            self.labelled.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit", "button"):
            self.inputs.append(attrs)

    def unnamed(self) -> list[str]:
        return [
            attrs.get("name", "?")
            for attrs in self.inputs
            if "__prefix__" not in attrs.get("name", "")  # the empty form Django clones for "Add another"
            and attrs.get("id") not in self.labelled
            and not attrs.get("aria-label")
            and not attrs.get("aria-labelledby")
        ]


def unnamed_inputs(client, url):
    page = client.get(url)
    assert page.status_code == 200
    inputs = Inputs()
    inputs.feed(page.content.decode())
    return inputs.unnamed()


@pytest.fixture
def diary(db, clock):
    facial = make_treatment()
    nurse = make_practitioner(treatments=[facial])
    start = datetime(2026, 3, 10, 9, tzinfo=UTC)
    TimeOff.objects.create(practitioner=nurse, start=start, end=start + timedelta(hours=3), reason="Course")
    return nurse


@pytest.mark.parametrize(
    "url",
    [
        "/admin/booking/appointment/add/",
        "/admin/booking/timeoff/add/",
        "/admin/booking/timeoff/{time_off}/change/",
        "/admin/booking/practitioner/{practitioner}/change/",
    ],
)
def test_every_input_on_the_diarys_forms_has_a_name(client, diary, url):
    reception = signed_in(client, "Reception")
    url = url.format(time_off=TimeOff.objects.get().pk, practitioner=Practitioner.objects.get().pk)
    assert unnamed_inputs(reception, url) == []
