"""Fuzz the screening questionnaire, its result and reminder pages, and the unsubscribe link with hostile input.

Never a 5xx, and a refused request writes nothing (see tests/fuzzing.py; the case count prints at the end).
"""

from datetime import date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from screening.gate import screening_token
from screening.models import Contraindication, EligibilityReminder, Screening

from ..fuzzing import FUZZ, ODD_METHODS, checked, content_types, count_case, form, nasty_text, raw_body
from .screening_helpers import SLUG, latest_screening, make_clinic, screen

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
yes_no = st.sampled_from(["yes", "no"])
some_date = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)).map(str)


@pytest.fixture
def world(clock, client, throttle):
    """Microneedling behind the screening, a patient told to wait (with a reminder), and limits fuzzing cannot reach."""
    throttle.THROTTLE_RULES = {
        name: {**rule, "limits": dict.fromkeys(rule["limits"], "1000000/h")}
        for name, rule in throttle.THROTTLE_RULES.items()
    }
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    waiting = latest_screening()
    reminder = EligibilityReminder.objects.create(
        email=waiting.email,
        treatment=waiting.treatment,
        screening=waiting,
        kind="eligible",
        due_on=waiting.eligible_from,
        send_at=datetime.now(LONDON) + timedelta(days=100),
    )
    return {"client": client, "token": screening_token(waiting), "unsubscribe": str(reminder.unsubscribe_token)}


def questionnaire():
    fields = {
        "email": st.emails(),
        "taking_isotretinoin": yes_no,
        "course_end": some_date,
        "isotretinoin_recently": yes_no,
        "last_dose": some_date,
        "last_dose_unsure": st.sampled_from(["on", ""]),
    }
    fields.update({f"q_{key}": yes_no for key in Contraindication.objects.values_list("key", flat=True)})
    return form(fields)


def rows():
    return (
        Screening.objects.count(),
        tuple(EligibilityReminder.objects.order_by("pk").values_list("state", flat=True)),
    )


def fuzz_request(client, method, path, data=None, **extra):
    before = rows()
    if data is None:
        response = client.generic(method, path, **extra)
    else:
        response = getattr(client, method.lower())(path, data, **extra)
    return checked(response, rows_before=before, rows_after=rows())


def restore():
    EligibilityReminder.objects.update(state=EligibilityReminder.State.PENDING)


@FUZZ
@given(data=st.data())
def test_fuzzed_screening_answers_are_refused_cleanly_or_decided(world, data):
    count_case()
    answers = data.draw(questionnaire())
    fuzz_request(world["client"], "POST", f"/book/{SLUG}/screening/", answers)


@FUZZ
@given(email=nasty_text, slug=st.one_of(st.just(SLUG), nasty_text))
def test_fuzzed_queries_on_the_screening_page_never_fail(world, email, slug):
    count_case()
    fuzz_request(world["client"], "GET", f"/book/{quote(slug, safe='') or 'x'}/screening/", {"email": email})


@FUZZ
@given(
    token=st.one_of(st.just("VALID"), nasty_text),
    page=st.sampled_from(["", "reminder/"]),
    method=st.sampled_from(["GET", "POST"]),
    data=form({"consent": st.sampled_from(["on", "true"])}),
)
def test_fuzzed_result_and_reminder_pages_never_fail(world, token, page, method, data):
    count_case()
    token = world["token"] if token == "VALID" else quote(token, safe="") or "x"
    response = fuzz_request(world["client"], method, f"/book/{SLUG}/screening/{token}/{page}", data)
    if response.status_code < 400:
        EligibilityReminder.objects.exclude(unsubscribe_token=world["unsubscribe"]).delete()


@FUZZ
@given(token=st.one_of(st.just("VALID"), st.uuids().map(str), nasty_text), method=st.sampled_from(["GET", "POST"]))
def test_fuzzed_unsubscribe_links_never_fail(world, token, method):
    count_case()
    token = world["unsubscribe"] if token == "VALID" else quote(token, safe="") or "x"
    fuzz_request(Client(), method, f"/reminders/unsubscribe/{token}/", {})
    restore()


@FUZZ
@given(
    path=st.sampled_from(["start", "reminder", "unsubscribe"]),
    body=raw_body,
    content_type=content_types,
)
def test_raw_garbage_bodies_to_screening_never_fail(world, path, body, content_type):
    count_case()
    url = {
        "start": f"/book/{SLUG}/screening/",
        "reminder": f"/book/{SLUG}/screening/{world['token']}/reminder/",
        "unsubscribe": f"/reminders/unsubscribe/{world['unsubscribe']}/",
    }[path]
    before = rows()
    response = world["client"].generic("POST", url, body, content_type=content_type)
    checked(response, rows_before=before, rows_after=rows())
    restore()


@FUZZ
@given(data=st.data())
def test_screening_posts_without_a_csrf_token_are_refused_and_write_nothing(world, data):
    count_case()
    answers = data.draw(questionnaire())
    response = fuzz_request(Client(enforce_csrf_checks=True), "POST", f"/book/{SLUG}/screening/", answers)
    assert response.status_code == 403


@pytest.mark.parametrize("method", ODD_METHODS)
def test_unexpected_methods_on_screening_pages_never_fail(world, method):
    for path in [
        f"/book/{SLUG}/screening/",
        f"/book/{SLUG}/screening/{world['token']}/",
        f"/book/{SLUG}/screening/{world['token']}/reminder/",
        f"/reminders/unsubscribe/{world['unsubscribe']}/",
    ]:
        count_case()
        response = fuzz_request(world["client"], method, path)
        assert response.status_code in (200, 302, 405), (path, response.status_code)
