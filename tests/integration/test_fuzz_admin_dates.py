"""Fuzz every list on the admin site with filters on a part of a date: any date or time column, any part, any
lookup, any value. Never a 5xx (see tests/fuzzing.py; the case count prints at the end)."""

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models
from hypothesis import given
from hypothesis import strategies as st

from ..fuzzing import FUZZ, checked, count_case, nasty_text

pytestmark = pytest.mark.django_db
# Django's date and time transforms.
PARTS = ["year", "iso_year", "quarter", "month", "week", "day", "week_day", "iso_week_day", "hour", "minute", "second"]


def date_paths(model):
    """The filter paths to each date or time column of `model`, and of the models its foreign keys point to."""
    paths = []
    for field in model._meta.get_fields():
        if isinstance(field, models.DateField | models.TimeField):
            paths.append(field.name)
        elif field.many_to_one and field.concrete:
            paths += [
                f"{field.name}__{related.name}"
                for related in field.related_model._meta.concrete_fields
                if isinstance(related, models.DateField | models.TimeField)
            ]
    return paths


LISTS = sorted(
    (f"/admin/{model._meta.app_label}/{model._meta.model_name}/", path)
    for model, model_admin in admin.site._registry.items()
    for path in date_paths(model)
)

date_filters = st.builds(
    lambda target, via_date, part, lookup: (target[0], f"{target[1]}{via_date}__{part}{lookup}"),
    st.sampled_from(LISTS),
    st.sampled_from(["", "__date"]),
    st.sampled_from(PARTS),
    st.sampled_from(["", "__exact", "__gt", "__gte", "__lt", "__lte", "__in", "__range", "__isnull", "__contains"]),
)
values = st.one_of(
    st.sampled_from(["0", "1", "-1", "9999", "10000", "2026", "53", "54", str(2**63), str(2**64), "1,2", "0,10000"]),
    st.integers().map(str),
    nasty_text.filter(lambda text: "\x00" not in text),
)


def test_every_list_has_date_columns_to_fuzz():
    assert {url for url, _ in LISTS} >= {
        "/admin/auditlog/logentry/",
        "/admin/booking/appointment/",
        "/admin/booking/appointmentemail/",
        "/admin/booking/timeoff/",
        "/admin/screening/eligibilityreminder/",
        "/admin/screening/flaggedbooking/",
        "/admin/auth/user/",
    }


@FUZZ
@given(filters=st.lists(st.tuples(date_filters, st.lists(values, min_size=1, max_size=2)), min_size=1, max_size=2))
def test_a_filter_on_any_part_of_any_date_never_gives_a_server_error(client, filters):
    count_case()
    if not User.objects.filter(username="lead").exists():
        User.objects.create_superuser("lead", password="x")
    client.force_login(User.objects.get(username="lead"))
    url = filters[0][0][0]
    query = urlencode([(lookup, value) for (_, lookup), chosen in filters for value in chosen])
    response = checked(client.get(f"{url}?{query}"))
    if response.status_code == 302:
        assert response["Location"] == f"{url}?e=1"


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["treatment", "day", "move", "start", "practitioner", "end"]),
        st.one_of(values, st.sampled_from(["1", "2", "2026-03-03", "2026-03-03T10:00Z", "2028-03-03", "0001-01-01"])),
        max_size=4,
    ),
    page=st.sampled_from(
        [
            "/admin/booking/appointment/free-times/",
            "/admin/booking/appointment/add/",
            "/admin/booking/appointment/1/change/",
            "/admin/booking/timeoff/add/",
        ]
    ),
)
def test_the_free_time_finder_and_pages_filled_in_from_a_link_never_give_a_server_error(client, clock, query, page):
    """Reception's finder and the forms its links fill in take their values from the address: any value."""
    count_case()
    if not User.objects.filter(username="lead").exists():
        from ..factories import booked_by_phone, make_practitioner, make_treatment

        User.objects.create_superuser("lead", password="x")
        facial = make_treatment("hydrating-facial")
        make_practitioner("Nurse Ben", treatments=[facial])
        booked_by_phone(facial, datetime(2026, 3, 3, 10, tzinfo=UTC))  # the clock stands at 2 March 2026
    client.force_login(User.objects.get(username="lead"))
    checked(client.get(f"{page}?{urlencode(query)}"))
