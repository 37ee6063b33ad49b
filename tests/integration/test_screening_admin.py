"""Staff screens for screening: policy and questions editable, decisions readable, answers kept off lists."""

from datetime import date

import pytest

from screening.models import Contraindication, Screening, ScreeningPolicy

from .screening_helpers import latest_screening, make_clinic, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def microneedling(db):
    return make_clinic()


def test_the_screening_list_shows_outcomes_but_no_health_answers(admin_client, client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15", q_keloid="yes")
    page = admin_client.get("/admin/screening/screening/").content.decode()
    assert "alex@example.com" in page and "Wait" in page
    assert "2026-01-15" not in page and "keloid" not in page.lower()


def test_searching_screenings_never_searches_the_answers(admin_client, client, clock, microneedling):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    assert (
        "alex@example.com" not in admin_client.get("/admin/screening/screening/", {"q": "2026-01-15"}).content.decode()
    )
    assert "alex@example.com" in admin_client.get("/admin/screening/screening/", {"q": "alex@"}).content.decode()


def test_a_screening_page_shows_the_answers_in_words_and_the_earlier_submission(
    admin_client, client, clock, microneedling
):
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-15")
    earlier = latest_screening()
    screen(client)
    later = latest_screening()
    page = admin_client.get(f"/admin/screening/screening/{later.pk}/change/").content.decode()
    assert "Taking isotretinoin now" in page and "Have you ever had raised, thick scars" in page
    assert f"/admin/screening/screening/{earlier.pk}/change/" in page
    earlier_page = admin_client.get(f"/admin/screening/screening/{earlier.pk}/change/").content.decode()
    assert "15 Jan 2026" in earlier_page and "later screenings with changed answers" in earlier_page.lower()


def answer_rows(admin_client, screening) -> dict[str, str]:
    import re

    page = admin_client.get(f"/admin/screening/screening/{screening.pk}/change/").content.decode()
    return dict(re.findall(r"<tr><th scope='row'>([^<]*)</th><td>([^<]*)</td></tr>", page))


def test_the_answers_show_only_the_questions_the_patient_was_asked_with_the_months_they_were_asked_about(
    admin_client, client, clock, microneedling
):
    screen(client, taking_isotretinoin="yes", isotretinoin_recently=None)
    taking = answer_rows(admin_client, latest_screening())
    assert taking["Taking isotretinoin now"] == "Yes" and taking["Expected end of course"] == "Not given"
    assert not [question for question in taking if "last dose" in question.lower() or "months" in question]

    screen(client, email="sam@example.com", isotretinoin_recently="yes", last_dose="2026-01-15")
    stopped = answer_rows(admin_client, latest_screening())
    assert stopped["Isotretinoin in the last 12 months"] == "Yes" and stopped["Last dose"] == "15 Jan 2026"
    assert stopped["Not sure of the date of the last dose"] == "No" and "Expected end of course" not in stopped


def test_the_screening_list_loads_in_a_fixed_number_of_queries(
    admin_client, client, clock, microneedling, django_assert_max_num_queries
):
    for n in range(5):
        screen(client, email=f"p{n}@example.com")
    admin_client.get("/admin/screening/screening/")
    with django_assert_max_num_queries(12):
        assert admin_client.get("/admin/screening/screening/").status_code == 200


def save_policy(admin_client, policy, *, wait=6, window=12, minutes=120):
    """Save `policy` from its admin page with these numbers, as a clinician would."""
    return admin_client.post(
        f"/admin/screening/screeningpolicy/{policy.pk}/change/",
        {
            "treatment": policy.treatment_id,
            "isotretinoin_wait_months": wait,
            "recent_dose_window_months": window,
            "screening_valid_minutes": minutes,
        },
    )


def test_staff_change_the_waiting_period_and_the_rules_version_moves(admin_client, clock, microneedling):
    policy = ScreeningPolicy.objects.create(treatment=microneedling)
    response = save_policy(admin_client, policy, wait=4)
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.isotretinoin_wait_months == 4 and policy.rules_version == 2


def test_a_waiting_period_longer_than_the_asked_window_is_refused(admin_client, clock, microneedling):
    response = admin_client.post(
        "/admin/screening/screeningpolicy/add/",
        {
            "treatment": microneedling.pk,
            "isotretinoin_wait_months": 13,
            "recent_dose_window_months": 12,
            "screening_valid_minutes": 120,
        },
    )
    assert response.status_code == 200 and "at least the waiting period" in response.content.decode()
    assert not ScreeningPolicy.objects.exists()


def test_staff_change_what_an_answer_does(admin_client, client, clock, microneedling):
    question = Contraindication.objects.get(key="active_infection")
    question.action, question.wait_days = "block", 0
    question.save()
    screen(client, q_active_infection="yes")
    assert latest_screening().outcome == Screening.Outcome.BLOCKED


def test_the_defaults_cover_every_question_the_clinic_must_ask(db):
    actions = dict(Contraindication.objects.values_list("key", "action"))
    assert actions["pregnancy"] == "block" and actions["keloid"] == "flag" and actions["blood_thinners"] == "flag"
    assert actions["recent_resurfacing"] == "wait" and actions["sunburn"] == "wait"
    assert actions["active_infection"] in ("wait", "block") and actions["skin_flare"] in ("flag", "wait")


def add_question(admin_client, *, action, wait_days):
    """Add a "New tattoo?" question from the admin, as staff would."""
    return admin_client.post(
        "/admin/screening/contraindication/add/",
        {
            "key": "tattoo",
            "question": "New tattoo?",
            "patient_reason": "Please call us.",
            "action": action,
            "wait_days": wait_days,
            "display_order": 0,
            "active": "on",
        },
    )


def test_a_wait_question_without_days_is_refused(admin_client, db):
    response = add_question(admin_client, action="wait", wait_days=0)
    assert response.status_code == 200 and "needs a number of days" in response.content.decode()
    assert not Contraindication.objects.filter(key="tattoo").exists()


@pytest.mark.parametrize(
    "wait, window, message",
    [(61, 120, "less than or equal to 60"), (6, 32767, "less than or equal to 120")],
)
def test_a_mistyped_number_of_months_is_refused_and_patients_keep_screening(
    admin_client, client, clock, microneedling, wait, window, message
):
    policy = ScreeningPolicy.objects.create(treatment=microneedling)
    response = save_policy(admin_client, policy, wait=wait, window=window)
    assert response.status_code == 200 and message in response.content.decode()
    policy.refresh_from_db()
    assert (policy.isotretinoin_wait_months, policy.recent_dose_window_months) == (6, 12)
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-01")  # a date in it: counted as before
    assert latest_screening().outcome == Screening.Outcome.WAIT


def test_a_wait_of_more_than_two_years_for_an_answer_is_refused(admin_client, db):
    question = Contraindication.objects.get(key="sunburn")
    response = admin_client.post(
        f"/admin/screening/contraindication/{question.pk}/change/",
        {
            "key": question.key,
            "question": question.question,
            "patient_reason": question.patient_reason,
            "action": "wait",
            "wait_days": 30000,
            "display_order": question.display_order,
            "active": "on",
        },
    )
    assert response.status_code == 200 and "less than or equal to 730" in response.content.decode()


def test_a_screening_valid_for_no_time_is_refused_in_plain_words(admin_client, clock, microneedling):
    policy = ScreeningPolicy.objects.create(treatment=microneedling)
    response = save_policy(admin_client, policy, minutes=0)
    page = response.content.decode()
    assert response.status_code == 200 and "A screening must stay usable for at least a minute." in page
    assert "is violated" not in page


def test_a_treatments_screening_policy_cannot_be_deleted_only_edited(admin_client, client, clock, microneedling):
    screen(client)  # the policy row exists once a patient has answered
    policy = ScreeningPolicy.objects.get(treatment=microneedling)
    assert (
        admin_client.post(f"/admin/screening/screeningpolicy/{policy.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    listing = admin_client.post(
        "/admin/screening/screeningpolicy/",
        {"action": "delete_selected", "_selected_action": [policy.pk], "post": "yes"},
    )
    assert listing.status_code in (200, 302)
    assert ScreeningPolicy.objects.filter(pk=policy.pk).exists()


def test_a_new_question_tells_staff_how_many_screened_bookings_ahead_never_answered_it(
    admin_client, client, clock, microneedling, commits
):
    from .screening_helpers import book, local, token_of

    screen(client)
    book(client, commits, local(date(2026, 3, 10)), token_of(latest_screening()))
    response = admin_client.post(
        "/admin/screening/contraindication/add/",
        {
            "key": "gold_threads",
            "question": "Have you had gold thread implants in the face?",
            "patient_reason": "A clinician will check first.",
            "action": "flag",
            "wait_days": 0,
            "display_order": 0,
            "active": "on",
        },
        follow=True,
    )
    assert "1 screened booking(s) ahead were made before this question was asked" in response.content.decode()


def test_an_answer_to_a_question_deleted_since_reads_as_such(admin_client, client, clock, microneedling):
    screen(client, q_keloid="yes")
    Contraindication.objects.get(key="keloid").delete()
    page = admin_client.get(f"/admin/screening/screening/{latest_screening().pk}/change/").content.decode()
    assert "Keloid (a question since deleted)" in page


def test_a_treatment_with_a_policy_and_no_bookings_can_still_be_deleted(admin_client, client, clock, db):
    from booking.models import Treatment

    from ..factories import make_treatment

    peel = make_treatment("trial-peel", requires_screening=True)
    ScreeningPolicy.objects.create(treatment=peel)
    response = admin_client.post(f"/admin/booking/treatment/{peel.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Treatment.objects.filter(pk=peel.pk).exists()


def test_a_screening_cannot_be_made_usable_for_longer_than_a_patients_session_lasts(
    admin_client, clock, microneedling, settings
):
    from screening.models import MOST_VALID_MINUTES

    assert settings.SESSION_COOKIE_AGE >= MOST_VALID_MINUTES * 60  # the session carries the screening
    policy = ScreeningPolicy.objects.create(treatment=microneedling)
    response = save_policy(admin_client, policy, minutes=MOST_VALID_MINUTES + 1)
    assert response.status_code == 200 and "less than or equal to 1440" in response.content.decode()
    assert save_policy(admin_client, policy, minutes=MOST_VALID_MINUTES).status_code == 302


def test_the_answers_read_in_the_order_the_form_asks_them(admin_client, client, clock, microneedling):
    screen(client, q_keloid="yes")
    page = admin_client.get(f"/admin/screening/screening/{latest_screening().pk}/change/").content.decode()
    asked = list(Contraindication.objects.order_by("display_order", "pk").values_list("question", flat=True))
    shown = sorted(asked, key=page.index)
    assert shown == asked


def test_a_policy_asking_about_no_months_is_refused(admin_client, clock, microneedling):
    policy = ScreeningPolicy.objects.create(treatment=microneedling)
    response = save_policy(admin_client, policy, wait=0, window=0)
    assert response.status_code == 200 and "at least the last month" in response.content.decode()


def test_days_on_a_block_or_flag_answer_are_refused_as_doing_nothing(admin_client, db):
    response = add_question(admin_client, action="block", wait_days=30)
    assert response.status_code == 200 and "Days apply only to a" in response.content.decode()
    assert not Contraindication.objects.filter(key="tattoo").exists()


def test_a_clinician_sets_a_new_screened_treatments_policy_before_go_live(client, db):
    from django.test import Client

    from ..factories import make_treatment, signed_in

    new = make_treatment("rf-microneedling", minutes=60, requires_screening=True)
    make_treatment("hydrating-facial", minutes=45)
    clinician = signed_in(Client(), "Clinician")
    page = clinician.get("/admin/screening/screeningpolicy/add/")
    assert page.status_code == 200
    choices = page.content.decode()
    assert f'value="{new.pk}"' in choices and "Hydrating facial" not in choices  # screened ones, without a policy
    response = clinician.post(
        "/admin/screening/screeningpolicy/add/",
        {
            "treatment": new.pk,
            "isotretinoin_wait_months": 8,
            "recent_dose_window_months": 12,
            "screening_valid_minutes": 120,
        },
    )
    assert response.status_code == 302
    assert ScreeningPolicy.objects.get(treatment=new).isotretinoin_wait_months == 8
