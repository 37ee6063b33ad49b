"""Clinicians decide on held bookings in the real admin; reception runs the diary without seeing health answers."""

from datetime import date, datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.core import mail

from booking import services
from booking.models import Appointment, AppointmentEmail
from screening.models import Screening

from ..factories import patient, signed_in
from .screening_helpers import (
    LONDON,
    QUEUE,
    book,
    book_held_for_review,
    latest_screening,
    local,
    make_clinic,
    screen,
    token_of,
)

pytestmark = pytest.mark.django_db
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def held(client, clock, commits):
    """A microneedling booking held because the patient was unsure of their last isotretinoin dose."""
    return book_held_for_review(client, commits, TUESDAY)


def review_url(appointment):
    return f"{QUEUE}{appointment.pk}/review/"


def test_the_queue_lists_held_bookings_with_a_non_clinical_reason_and_time_left(client, held):
    page = signed_in(client, "Reception").get(QUEUE).content.decode()
    assert "Microneedling" in page and "Alex Morgan" in page and "Nurse Ben" in page
    assert "Held for a clinician" in page and "Unsure" not in page
    assert "1\xa0day" in page  # Tuesday 10:00 seen from Monday 08:00
    assert "isotretinoin" not in page.lower() and "accutane" not in page.lower()


def test_the_admin_index_counts_bookings_awaiting_review(client, held):
    page = signed_in(client, "Reception").get("/admin/").content.decode()
    assert "1 booking awaits a clinician" in page


def test_reception_sees_the_booking_but_not_the_answers_and_cannot_decide(client, held):
    reception = signed_in(client, "Reception")
    page = reception.get(review_url(held)).content.decode()
    assert "Alex Morgan" in page and "visible to clinicians only" in page
    assert "Last dose" not in page and "Not sure of the date of the last dose" not in page
    assert 'name="approve"' not in page
    assert reception.post(review_url(held), {"approve": "1"}).status_code == 403
    assert reception.get(f"/admin/screening/screening/{held.screening.pk}/change/").status_code == 403
    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_clinician_sees_the_answers_and_the_view_is_on_the_audit_record(client, held):
    page = signed_in(client, "Clinician").get(review_url(held), REMOTE_ADDR="10.1.2.3").content.decode()
    assert "Not sure of the date of the last dose" in page and "Yes" in page
    [entry] = LogEntry.objects.filter(action=LogEntry.Action.ACCESS)
    assert entry.object_pk == str(held.screening.pk) and entry.actor.username == "clinician-user"
    assert entry.remote_addr == "10.1.2.3"


def test_clinician_approves_and_the_patient_gets_a_confirmation_with_calendar(client, held, commits):
    clinician = signed_in(client, "Clinician")
    with commits(execute=True):
        response = clinician.post(review_url(held), {"approve": "1"}, follow=True)
    assert "Approved" in response.content.decode()
    held.refresh_from_db()
    assert held.status == Appointment.Status.CONFIRMED
    [message] = mail.outbox
    assert message.to == ["alex@example.com"] and "confirmed" in message.subject
    assert message.attachments[0][0] == "appointment.ics"
    decision = LogEntry.objects.get_for_object(held).filter(action=LogEntry.Action.UPDATE).latest("timestamp")
    assert decision.actor.username == "clinician-user" and "confirmed" in str(decision.changes)


def test_clinician_declines_with_a_reason_the_time_frees_and_the_email_is_kind(client, held, commits):
    clinician = signed_in(client, "Clinician")
    assert clinician.post(review_url(held), {"decline": "1", "reason": " "}).status_code == 200  # reason required
    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW
    with commits(execute=True):
        clinician.post(review_url(held), {"decline": "1", "reason": "Dose date unclear; call patient"})
    held.refresh_from_db()
    assert held.status == Appointment.Status.DECLINED and held.status_reason == "Dose date unclear; call patient"
    [message] = mail.outbox
    text = (message.subject + message.body + message.alternatives[0][0]).lower()
    assert "hydrating facial" in text
    assert "isotretinoin" not in text and "dose" not in text
    # The time is bookable again by someone else.
    other = services.appointment_book(
        treatment=held.treatment,
        start=held.start,
        patient=patient(email="b@x.com"),
        now=datetime.now(LONDON),
        status=Appointment.Status.PENDING_REVIEW,
    )
    assert other.start == held.start


def held_at_two(held):
    """Another booking of the same treatment held for review, that afternoon."""
    return services.appointment_book(
        treatment=held.treatment,
        start=local(TUESDAY, 14),
        patient=patient(),
        now=datetime.now(LONDON),
        status=Appointment.Status.PENDING_REVIEW,
    )


def test_bulk_actions_approve_and_decline_through_the_same_services(client, held, commits):
    second = held_at_two(held)
    services.appointment_emails_dispatch(now=datetime.now(LONDON))  # the two "we have received" emails
    mail.outbox.clear()
    clinician = signed_in(client, "Clinician")
    with commits(execute=True):
        clinician.post(QUEUE, {"action": "approve_selected", "_selected_action": [held.pk]})
        page = clinician.post(QUEUE, {"action": "decline_selected", "_selected_action": [second.pk]})
        assert "Reason for declining" in page.content.decode()  # asks first
        clinician.post(QUEUE, {"action": "decline_selected", "_selected_action": [second.pk], "reason": "Not today"})
    held.refresh_from_db()
    second.refresh_from_db()
    assert (held.status, second.status) == ("confirmed", "declined")
    assert sorted(m.subject.split(":")[0] for m in mail.outbox) == [
        "About your booking request",
        "Your appointment is confirmed",
    ]


def test_reception_has_no_bulk_decision_actions(client, held):
    page = signed_in(client, "Reception").get(QUEUE).content.decode()
    assert "approve_selected" not in page and "decline_selected" not in page


def test_a_decision_on_a_booking_cancelled_meanwhile_is_refused_with_a_message(client, held):
    services.appointment_cancel(appointment=held, now=datetime.now(LONDON))
    response = signed_in(client, "Clinician").post(
        QUEUE, {"action": "approve_selected", "_selected_action": [held.pk]}, follow=True
    )
    held.refresh_from_db()
    assert held.status == Appointment.Status.CANCELLED
    # A cancelled booking has left the queue, so the action finds nothing to approve.
    assert "No booking was approved." in response.content.decode() or "No action selected" in response.content.decode()
    response = signed_in(client, "Clinician").post(review_url(held), {"approve": "1"}, follow=True)
    assert "already cancelled; no decision was recorded" in response.content.decode()
    held.refresh_from_db()
    assert held.status == Appointment.Status.CANCELLED


def test_review_page_shows_earlier_screenings_from_the_same_email(client, clock, commits):
    make_clinic()
    screen(client, isotretinoin_recently="yes", last_dose="2026-01-10")  # told to wait
    screen(client)  # answers again, now clear: held for review
    later = latest_screening()
    assert later.outcome == "review" and later.previous is not None
    book(client, commits, local(TUESDAY), token=token_of(later))
    appointment = Appointment.objects.get()
    page = signed_in(client, "Clinician").get(review_url(appointment)).content.decode()
    assert "Answers changed since an earlier screening" in page
    assert "Earlier screenings from alex@example.com" in page and "Wait" in page


def test_changes_to_the_rules_are_on_the_audit_record(admin_client, held):
    policy = Screening.objects.get().treatment.screening_policy
    admin_client.post(
        f"/admin/screening/screeningpolicy/{policy.pk}/change/",
        {
            "treatment": policy.treatment_id,
            "isotretinoin_wait_months": 4,
            "recent_dose_window_months": 12,
            "screening_valid_minutes": 120,
        },
    )
    [entry] = LogEntry.objects.get_for_object(policy).filter(action=LogEntry.Action.UPDATE)
    assert "isotretinoin_wait_months" in str(entry.changes) and entry.actor.username == "admin"


def test_nobody_can_edit_or_delete_the_audit_log_in_admin(admin_client, held):
    services.appointment_approve(appointment=held, now=datetime.now(LONDON))
    entry = LogEntry.objects.first()
    assert admin_client.get("/admin/auditlog/logentry/").status_code == 200
    assert admin_client.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_clinic_is_told_when_a_held_booking_is_a_day_away_and_still_undecided(held, clock, commits):
    from booking.tasks import dispatch_due_appointment_emails

    row = AppointmentEmail.objects.get(appointment=held, kind=AppointmentEmail.Kind.REVIEW_DUE)
    assert row.due_at == held.start - timedelta(hours=24)
    clock.move_to(row.due_at - timedelta(minutes=1))
    dispatch_due_appointment_emails()
    assert not [m for m in mail.outbox if "Review needed" in m.subject]
    clock.move_to(row.due_at)
    dispatch_due_appointment_emails()
    [nudge] = [m for m in mail.outbox if "Review needed" in m.subject]
    assert nudge.to == ["clinicians@harbourskin.example"]
    assert nudge.subject.endswith("awaits a decision")  # not "still", nor "nobody has decided": it may be minutes old
    assert "nobody has decided" not in nudge.body
    assert f"/admin/screening/flaggedbooking/{held.pk}/review/" in nudge.body
    assert "isotretinoin" not in (nudge.subject + nudge.body).lower()
    dispatch_due_appointment_emails()
    assert len([m for m in mail.outbox if "Review needed" in m.subject]) == 1


def test_no_nudge_once_a_clinician_has_decided(held, clock):
    from booking.tasks import dispatch_due_appointment_emails

    services.appointment_approve(appointment=held, now=datetime.now(LONDON))
    mail.outbox.clear()
    clock.move_to(held.start - timedelta(hours=23))
    dispatch_due_appointment_emails()
    assert not [m for m in mail.outbox if "Review needed" in m.subject]


STARTS = [local(TUESDAY + timedelta(days=d), hour) for d in range(60) for hour in (9, 11, 13, 15)]


def _pending_bookings(starts, treatment):
    for start in starts:
        services.appointment_book(
            treatment=treatment,
            start=start,
            patient=patient(),
            now=datetime.now(LONDON),
            status=Appointment.Status.PENDING_REVIEW,
        )


@pytest.mark.parametrize("url", [QUEUE, "/admin/booking/appointment/"])
def test_changelists_run_a_fixed_number_of_queries_for_1_and_200_rows(client, clock, url, django_assert_num_queries):
    treatment = make_clinic()
    clinician = signed_in(client, "Clinician")
    _pending_bookings(STARTS[:1], treatment)
    clinician.get(url)  # warm caches (content types, session)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert clinician.get(url).status_code == 200
    _pending_bookings(STARTS[1:200], treatment)
    with CaptureQueriesContext(connection) as many:
        page = clinician.get(url + "?all=").content.decode()
    assert Appointment.objects.count() == 200 and page.count('class="action-select"') == 200
    assert len(many) == len(one)


def test_declining_more_than_one_confirmation_can_post_is_refused_with_how_to_narrow_it(
    client, held, commits, monkeypatch
):
    monkeypatch.setattr("screening.review_admin.MOST_IN_ONE_CONFIRMATION", 1)
    second = held_at_two(held)
    clinician = signed_in(client, "Clinician")
    response = clinician.post(
        QUEUE, {"action": "decline_selected", "_selected_action": [held.pk, second.pk]}, follow=True
    )
    assert "Decline at most 1 bookings at a time" in response.content.decode()
    assert set(Appointment.objects.values_list("status", flat=True)) == {Appointment.Status.PENDING_REVIEW}
