"""The admin's date navigation (date_hierarchy) answers any year, month or day in a link with a list, never a 500."""

from datetime import UTC, date, datetime, time

import pytest
from django.contrib import admin
from django.contrib.auth.models import User

from booking.models import TimeOff

from ..factories import make_practitioner

pytestmark = pytest.mark.django_db

# Every list with date navigation on the project's admin site, the audit log's included.
DATED_LISTS = sorted(
    f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    for model, model_admin in admin.site._registry.items()
    if model_admin.date_hierarchy
)

BAD_DATES = {
    "the last year": {"__year": "9999"},
    "the last month": {"__year": "9999", "__month": "12"},
    "the last day": {"__year": "9999", "__month": "12", "__day": "31"},
    "the first year": {"__year": "1"},
    "year zero": {"__year": "0"},
    "a year too long for the calendar": {"__year": "10000"},
    "a year too long for a machine integer": {"__year": "99999999999999999999"},
    "a negative year": {"__year": "-5"},
    "a year in words": {"__year": "next"},
    "month thirteen": {"__year": "2026", "__month": "13"},
    "a huge month": {"__year": "2026", "__month": "99999999999999999999"},
    "30 February": {"__year": "2026", "__month": "2", "__day": "30"},
    "a huge day": {"__year": "2026", "__month": "3", "__day": "99999999999999999999"},
}


@pytest.fixture
def superuser(client):
    client.force_login(User.objects.create_superuser("lead", password="x"))
    return client


def query(date_field, parts):
    return "&".join(f"{date_field}{suffix}={value}" for suffix, value in parts.items())


def test_every_list_with_date_navigation_is_checked():
    assert {
        "/admin/auditlog/logentry/",
        "/admin/booking/appointment/",
        "/admin/booking/appointmentemail/",
        "/admin/booking/timeoff/",
        "/admin/screening/eligibilityreminder/",
        "/admin/screening/flaggedbooking/",
        "/admin/screening/patientdatarequest/",
        "/admin/screening/screening/",
    } <= set(DATED_LISTS)


@pytest.mark.parametrize("url", DATED_LISTS)
@pytest.mark.parametrize("case", BAD_DATES, ids=list(BAD_DATES))
def test_a_date_the_list_cannot_navigate_to_shows_the_whole_list(superuser, url, case):
    model_admin = next(each for each in admin.site._registry.values() if url.endswith(f"/{each.opts.model_name}/"))
    response = superuser.get(f"{url}?{query(model_admin.date_hierarchy, BAD_DATES[case])}")
    # As the admin answers any filter it cannot apply: back to the whole list, flagged.
    assert response.status_code == 302
    assert response["Location"] == f"{url}?e=1"
    assert superuser.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "parts",
    [
        {"__year": "2026"},
        {"__year": "2026", "__month": "3"},
        {"__year": "2", "__month": "1", "__day": "1"},
        {"__year": "9998", "__month": "12", "__day": "31"},
    ],
)
def test_a_real_date_still_narrows_the_list(superuser, parts):
    nurse = make_practitioner("Nurse Ben")
    TimeOff.objects.create(
        practitioner=nurse, start=datetime(2026, 3, 3, 9, tzinfo=UTC), end=datetime(2026, 3, 3, 13, tzinfo=UTC)
    )
    response = superuser.get(f"/admin/booking/timeoff/?{query('start', parts)}")
    assert response.status_code == 200
    expected = 1 if parts["__year"] == "2026" else 0
    assert response.context["cl"].result_count == expected


def test_time_off_already_recorded_at_the_calendars_ends_leaves_the_list_working(superuser):
    """Rows saved before dates were checked: the list, and each date link it offers, still answer."""
    nurse = make_practitioner("Nurse Ben")
    for day in (date(1, 1, 2), date(9999, 12, 30)):
        TimeOff.objects.create(
            practitioner=nurse,
            start=datetime.combine(day, time(9), tzinfo=UTC),
            end=datetime.combine(day, time(13), tzinfo=UTC),
        )
    response = superuser.get("/admin/booking/timeoff/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "?start__year=9999" in page and "?start__year=1" in page
    for link in ("?start__year=9999", "?start__year=1"):
        followed = superuser.get(f"/admin/booking/timeoff/{link}", follow=True)
        assert followed.status_code == 200


# Filters on a part of a date that are not the list's date navigation, as staff might type or paste them.
BAD_DATE_FILTERS = [
    "/admin/booking/appointment/?created_at__year=0",
    "/admin/booking/appointment/?updated_at__year=10000",
    "/admin/booking/appointment/?patient_date_of_birth__year=0",
    "/admin/booking/appointment/?start__iso_year=0",
    "/admin/booking/appointment/?start__iso_year=10000",
    "/admin/booking/appointment/?start__year__gte=0",
    "/admin/booking/appointment/?start__year__in=2026,0",
    "/admin/booking/appointment/?start__date__year=0",
    "/admin/booking/appointment/?start__week=99999999999999999999",
    "/admin/booking/appointment/?start__month=next",
    "/admin/booking/appointment/?start__year=2026&start__year=0",
    "/admin/booking/appointmentemail/?sent_at__year=0",
    "/admin/booking/appointmentemail/?created_at__iso_year=10000",
    "/admin/booking/timeoff/?end__year=0",
    "/admin/screening/eligibilityreminder/?due_on__year=0",
    "/admin/screening/eligibilityreminder/?sent_at__iso_year=0",
    "/admin/screening/flaggedbooking/?created_at__year=0",
    "/admin/screening/flaggedbooking/?patient_date_of_birth__iso_year=10000",
    "/admin/screening/screening/?eligible_from__year=0",
    "/admin/auth/user/?date_joined__year=0",
    "/admin/auth/user/?last_login__iso_year=10000",
    "/admin/axes/accessattempt/?attempt_time__year=0",
    "/admin/axes/accessfailurelog/?attempt_time__iso_year=0",
    "/admin/otp_totp/totpdevice/?created_at__year=0",
    "/admin/auditlog/logentry/?timestamp__iso_year=0",
    "/admin/auditlog/logentry/?timestamp__year=99999999999999999999",
]


@pytest.mark.parametrize("url", BAD_DATE_FILTERS)
def test_a_date_filter_no_date_can_match_shows_the_whole_list(superuser, url):
    response = superuser.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{url.split('?')[0]}?e=1"
    assert superuser.get(response["Location"]).status_code == 200


def test_a_real_date_filter_still_narrows_the_list(superuser):
    nurse = make_practitioner("Nurse Ben")
    TimeOff.objects.create(
        practitioner=nurse, start=datetime(2026, 3, 3, 9, tzinfo=UTC), end=datetime(2026, 3, 4, 13, tzinfo=UTC)
    )
    for query, expected in [
        ("end__year=2026", 1),
        ("end__iso_year=2026&end__week=10", 1),
        ("end__year__in=2025,2026", 1),
        ("end__month=4", 0),
        ("end__day=4&end__week_day=4", 1),
        ("end__year__isnull=False", 1),
    ]:
        response = superuser.get(f"/admin/booking/timeoff/?{query}")
        assert response.status_code == 200, query
        assert response.context["cl"].result_count == expected, query


@pytest.mark.parametrize("query", ["id__range=1", "id__range=", "start__range=2026-03-03", "start__year__range=1"])
def test_a_range_in_a_link_shows_the_whole_list(superuser, query):
    response = superuser.get(f"/admin/booking/appointment/?{query}")
    assert response.status_code == 302 and response["Location"] == "/admin/booking/appointment/?e=1"
