"""The waiting period is the clinic's policy, edited in admin: patients already waiting follow a change of it, in
their reminder's date and in how their answers given again are judged."""

from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone

from booking import services as booking_services
from booking.models import Appointment
from screening import reminders
from screening.models import Contraindication, Screening, ScreeningPolicy
from screening.services import screened_booking_approve, screening_policy_ensure

from ..factories import booked_by_phone, signed_in
from .screening_helpers import LONDON, SLUG, book, latest_screening, local, make_clinic, screen, token_of

pytestmark = pytest.mark.django_db
LAST_DOSE = "2025-12-01"  # six months: eligible 1 June 2026


@pytest.fixture
def microneedling(db):
    return make_clinic()


def opt_in():
    client = Client()
    screen(client, isotretinoin_recently="yes", last_dose=LAST_DOSE)
    client.post(f"/book/{SLUG}/screening/{token_of(latest_screening())}/reminder/", {"consent": "on"})


def set_wait_in_admin(treatment, months, *, follow=False):
    policy = ScreeningPolicy.objects.get(treatment=treatment)
    response = signed_in(Client(), "Clinician").post(
        f"/admin/screening/screeningpolicy/{policy.pk}/change/",
        {
            "treatment": treatment.pk,
            "isotretinoin_wait_months": months,
            "recent_dose_window_months": 12,
            "screening_valid_minutes": 120,
        },
        follow=follow,
    )
    assert response.status_code == 200 if follow else response.status_code == 302
    return response


def dispatch_on(clock, day: date):
    clock.move_to(datetime.combine(day, time(9), tzinfo=LONDON))
    return reminders.eligibility_reminders_dispatch(now=timezone.now())


def wait_over_emails():
    return [m for m in mail.outbox if m.subject.startswith("Your wait is over")]


def test_a_shorter_wait_brings_the_email_forward_to_the_new_day(clock, microneedling):
    opt_in()
    set_wait_in_admin(microneedling, 4)  # last dose 1 December: eligible 1 April

    dispatch_on(clock, date(2026, 4, 1))
    [email] = wait_over_emails()
    assert "from Wednesday 1 April 2026, you can book microneedling" in email.body
    dispatch_on(clock, date(2026, 6, 1))
    assert len(wait_over_emails()) == 1


def test_a_wait_shortened_to_one_already_over_sends_the_email_at_the_next_pass(clock, microneedling):
    opt_in()
    clock.move_to(datetime(2026, 3, 2, 10, tzinfo=LONDON))
    set_wait_in_admin(microneedling, 2)  # eligible since 1 February
    assert reminders.eligibility_reminders_dispatch(now=timezone.now())["sent"] == 1
    [email] = wait_over_emails()
    assert "from Monday 2 March 2026, you can book microneedling" in email.body


def test_a_longer_wait_sends_no_email_before_the_patient_can_book(clock, microneedling):
    opt_in()
    set_wait_in_admin(microneedling, 9)  # eligible 1 September

    assert dispatch_on(clock, date(2026, 6, 1))["sent"] == 0
    dispatch_on(clock, date(2026, 9, 1))
    [email] = wait_over_emails()
    assert "from Tuesday 1 September 2026, you can book microneedling" in email.body


def test_the_same_answers_after_a_change_of_policy_are_not_held_as_different(clock, microneedling):
    screen(Client(), isotretinoin_recently="yes", last_dose=LAST_DOSE)  # told to wait until 1 June
    set_wait_in_admin(microneedling, 5)
    clock.move_to(datetime(2026, 3, 9, 10, tzinfo=LONDON))

    again = Client()
    page = again.get(screen(again, isotretinoin_recently="yes", last_dose=LAST_DOSE)["Location"]).content.decode()
    assert "Your answers are different" not in page
    assert "Friday 1 May 2026" in page
    assert not latest_screening().needs_review


def test_an_earlier_last_dose_after_a_change_of_policy_is_still_held_for_a_clinician(clock, microneedling):
    screen(Client(), isotretinoin_recently="yes", last_dose=LAST_DOSE)
    set_wait_in_admin(microneedling, 4)  # the earlier answers now wait until 1 April
    clock.move_to(datetime(2026, 3, 9, 10, tzinfo=LONDON))

    screen(Client(), isotretinoin_recently="yes", last_dose="2025-11-01")  # 1 March under four months
    later = latest_screening()
    assert later.needs_review and "changed_answers" in [r["code"] for r in later.reasons]


def test_the_reminder_follows_the_policy_also_once_the_answers_are_erased(clock, microneedling):
    opt_in()
    Screening.objects.update(answers=None, reasons=[], answers_erased_at=timezone.now())  # past keeping
    set_wait_in_admin(microneedling, 5)  # counted again from the date the answers gave: 1 May

    assert dispatch_on(clock, date(2026, 5, 1))["sent"] == 1
    [email] = wait_over_emails()
    assert "from Friday 1 May 2026, you can book microneedling" in email.body


def test_a_question_given_a_longer_wait_moves_the_email_too(clock, microneedling):
    client = Client()
    screen(client, q_sunburn="yes")  # a wait from today, 2 March, of the days the question sets
    client.post(f"/book/{SLUG}/screening/{token_of(latest_screening())}/reminder/", {"consent": "on"})
    first_day = latest_screening().eligible_from
    sunburn = Contraindication.objects.get(key="sunburn")
    response = signed_in(Client(), "Clinician").post(
        f"/admin/screening/contraindication/{sunburn.pk}/change/",
        {
            "question": sunburn.question,
            "help_text": sunburn.help_text,
            "patient_reason": sunburn.patient_reason,
            "action": "wait",
            "wait_days": sunburn.wait_days + 14,
            "display_order": sunburn.display_order,
            "active": "on",
        },
    )
    assert response.status_code == 302
    dispatch_on(clock, first_day)
    assert not wait_over_emails()  # the patient cannot book yet
    dispatch_on(clock, first_day + timedelta(days=14))
    [email] = wait_over_emails()
    assert "you can book microneedling" in email.body


def test_answers_given_before_the_rules_changed_must_be_given_again_to_book(client, clock, microneedling, commits):
    clock.move_to(datetime(2026, 5, 20, 9, tzinfo=LONDON))
    screen(client, isotretinoin_recently="yes", last_dose=LAST_DOSE)  # eligible 1 June under six months
    token = token_of(latest_screening())
    set_wait_in_admin(microneedling, 7)  # now 1 July
    page = client.get(f"/book/{SLUG}/screening/{token}/", follow=True).content.decode()
    assert "The clinic has changed its health questions since you answered" in page
    book(client, commits, local(date(2026, 6, 2)), token)
    assert not Appointment.objects.exists()
    screen(client, isotretinoin_recently="yes", last_dose=LAST_DOSE)  # the same answers, under the new rules
    assert latest_screening().eligible_from == date(2026, 7, 1)


def test_a_confirmed_booking_a_longer_wait_now_rules_out_is_held_for_a_clinician(client, clock, microneedling, commits):
    clock.move_to(datetime(2026, 5, 20, 9, tzinfo=LONDON))
    early = book_and_get(client, commits, date(2026, 6, 2))  # eligible from 1 June under six months
    later = book_and_get(client, commits, date(2026, 7, 2))
    assert early.status == later.status == Appointment.Status.CONFIRMED
    response = set_wait_in_admin(microneedling, 7, follow=True)  # now from 1 July
    assert "1 confirmed booking(s) are held for a clinician" in response.content.decode()
    early.refresh_from_db()
    later.refresh_from_db()
    assert early.status == Appointment.Status.PENDING_REVIEW
    assert later.status == Appointment.Status.CONFIRMED
    assert "each patient is emailed that their booking awaits a clinician" in response.content.decode()
    booking_services.appointment_emails_dispatch(now=timezone.now())
    [held] = [m for m in mail.outbox if "on hold" in m.subject]
    assert "2 June at 10:00" in held.subject


def book_and_get(client, commits, day):
    screen(client, isotretinoin_recently="yes", last_dose=LAST_DOSE)
    book(client, commits, local(day), token_of(latest_screening()))
    return Appointment.objects.get(start=local(day))


def test_rewording_or_reordering_a_question_leaves_patients_mid_booking_alone(client, clock, microneedling, commits):
    screen(client)
    token = token_of(latest_screening())
    keloid = Contraindication.objects.get(key="keloid")
    keloid.help_text, keloid.display_order = "Raised, thick scars.", 99
    keloid.save()
    book(client, commits, local(date(2026, 3, 10)), token)
    assert Appointment.objects.get().status == Appointment.Status.CONFIRMED


def test_deleting_a_question_from_the_list_moves_the_reminders_it_set(client, clock, microneedling):
    screen(client, q_sunburn="yes")
    client.post(f"/book/{SLUG}/screening/{token_of(latest_screening())}/reminder/", {"consent": "on"})
    sunburn = Contraindication.objects.get(key="sunburn")
    admin = Client()
    admin.force_login(User.objects.create_superuser("boss", "boss@example.com", "x"))
    admin.post(
        "/admin/screening/contraindication/",
        {"action": "delete_selected", "_selected_action": [sunburn.pk], "post": "yes"},
    )
    assert not Contraindication.objects.filter(key="sunburn").exists()
    dispatch_on(clock, date(2026, 3, 2))  # nothing to wait for any more: the email goes at the next pass
    assert len(wait_over_emails()) == 1


def test_a_shorter_wait_tells_staff_which_held_bookings_it_frees_for_approval(client, clock, microneedling, commits):
    clock.move_to(datetime(2026, 5, 20, 9, tzinfo=LONDON))
    early = book_and_get(client, commits, date(2026, 6, 2))  # from 1 June under six months
    set_wait_in_admin(microneedling, 7)  # from 1 July: held, and a clinician cannot approve it
    early.refresh_from_db()
    assert early.status == Appointment.Status.PENDING_REVIEW
    response = set_wait_in_admin(microneedling, 6, follow=True)
    assert "1 held booking(s) the old rules ruled out can now be approved under the new ones." in (
        response.content.decode()
    )


def test_a_waiting_period_of_no_months_is_refused_and_changes_nothing(microneedling):
    """Nought would let a patient who stopped yesterday book today: a slip of the keyboard, never a policy."""
    policy = screening_policy_ensure(treatment=microneedling)
    response = signed_in(Client(), "Clinician").post(
        f"/admin/screening/screeningpolicy/{policy.pk}/change/",
        {
            "treatment": microneedling.pk,
            "isotretinoin_wait_months": 0,
            "recent_dose_window_months": 12,
            "screening_valid_minutes": 120,
        },
    )
    assert response.status_code == 200
    assert "The waiting period must be at least 1 month." in response.content.decode()
    assert ScreeningPolicy.objects.get(treatment=microneedling).isotretinoin_wait_months == 6


def test_a_longer_wait_names_the_bookings_confirmed_on_answers_given_by_phone_which_it_cannot_weigh(
    clock, microneedling
):
    booked = booked_by_phone(microneedling, datetime(2026, 3, 20, 10, tzinfo=LONDON), name="Pat Phone")
    screened_booking_approve(appointment=booked, now=timezone.now(), asked_by_phone=True)
    screening_policy_ensure(treatment=microneedling)
    page = set_wait_in_admin(microneedling, 9, follow=True).content.decode()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED  # nothing to weigh: a clinician asked by phone
    assert "1 confirmed booking(s) ahead were confirmed after a clinician asked the health questions by phone" in page
    assert f'href="/admin/booking/appointment/{booked.pk}/change/"' in page and "Pat Phone" in page
