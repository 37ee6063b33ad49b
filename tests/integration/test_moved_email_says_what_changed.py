"""The "moved" email says what changed: another time (from when to when), or the same time with someone else."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from booking import services

from ..factories import make_practitioner, patient
from .test_admin_diary import THURSDAY, at, booked_online

pytestmark = pytest.mark.django_db


def dispatch():
    services.appointment_emails_dispatch(now=timezone.now())


def test_a_new_practitioner_at_the_same_time_is_what_subject_and_body_say(clock, facial, nurse):
    ada = make_practitioner("Nurse Ada", treatments=[facial])
    appointment = booked_online(facial, at(THURSDAY, 11))
    other = ada if appointment.practitioner == nurse else nurse
    mail.outbox.clear()
    clock.shift(timedelta(minutes=10))  # reception call the patient back
    services.appointment_staff_move(
        appointment=appointment, start=appointment.start, practitioner=other, now=timezone.now()
    )
    dispatch()
    [message] = mail.outbox
    assert message.subject == f"Your appointment is now with {other.name}: Hydrating facial, 5 March at 11:00"
    assert "has moved" not in message.subject
    assert f"same time, Thursday 5 March at 11:00, but you will now see {other.name}." in message.body
    html = message.alternatives[0][0]
    assert f"but you will now see <strong>{other.name}</strong>" in html


def test_a_new_time_says_from_when_to_when(clock, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 11))
    mail.outbox.clear()
    clock.shift(timedelta(minutes=10))
    services.appointment_reschedule(appointment=appointment, new_start=at(date(2026, 3, 6), 14), now=timezone.now())
    dispatch()
    [message] = mail.outbox
    assert message.subject == "Your appointment has moved: Hydrating facial, 6 March at 14:00"
    assert "moved from Thursday 5 March at 11:00 to Friday 6 March at 14:00, with Nurse Ben." in message.body
    # Moved again: from the time in the last email, not the first.
    clock.shift(timedelta(minutes=5))
    services.appointment_reschedule(appointment=appointment, new_start=at(date(2026, 3, 9), 9), now=timezone.now())
    dispatch()
    assert "moved from Friday 6 March at 14:00 to Monday 9 March at 09:00" in mail.outbox[-1].body


def test_a_move_away_and_back_before_any_email_went_does_not_claim_a_new_practitioner(clock, facial, nurse):
    ada = make_practitioner("Nurse Ada", treatments=[facial])
    appointment = services.appointment_book(
        treatment=facial, start=at(THURSDAY, 11), patient=patient(), now=timezone.now()
    )
    same = appointment.practitioner
    other = ada if same == nurse else nurse
    services.appointment_staff_move(
        appointment=appointment, start=at(THURSDAY, 11), practitioner=other, now=timezone.now()
    )
    services.appointment_staff_move(
        appointment=appointment, start=at(THURSDAY, 11), practitioner=same, now=timezone.now()
    )
    clock.shift(timedelta(minutes=1))
    dispatch()  # the confirmation, then the "moved" email: neither says "now with"
    assert not any("now with" in message.subject for message in mail.outbox)


FRIDAY = date(2026, 3, 6)


def told(clock, then):
    """Do `then` a little later, as reception would, and send what is due; return the emails that went."""
    clock.shift(timedelta(minutes=5))
    then()
    clock.shift(timedelta(minutes=1))
    mail.outbox.clear()
    dispatch()
    return list(mail.outbox)


def give_to(appointment, practitioner):
    appointment.refresh_from_db()
    services.appointment_staff_move(
        appointment=appointment, start=appointment.start, practitioner=practitioner, now=timezone.now()
    )


def move(appointment, start):
    appointment.refresh_from_db()
    services.appointment_reschedule(appointment=appointment, new_start=start, now=timezone.now())


def test_a_new_practitioner_after_the_patient_moved_says_same_time_not_the_old_move_again(clock, facial, nurse):
    ada = make_practitioner("Nurse Ada", treatments=[facial])
    appointment = booked_online(facial, at(THURSDAY, 11))
    first = appointment.practitioner
    other = ada if first == nurse else nurse
    [moved] = told(clock, lambda: move(appointment, at(FRIDAY, 14)))
    assert "moved from Thursday 5 March at 11:00 to Friday 6 March at 14:00" in moved.body

    [now_with] = told(clock, lambda: give_to(appointment, other))
    assert now_with.subject == f"Your appointment is now with {other.name}: Hydrating facial, 6 March at 14:00"
    assert f"same time, Friday 6 March at 14:00, but you will now see {other.name}." in now_with.body
    assert "moved from" not in now_with.body

    [back] = told(clock, lambda: give_to(appointment, first))  # and back again, later on
    assert back.subject == f"Your appointment is now with {first.name}: Hydrating facial, 6 March at 14:00"
    assert "moved from" not in back.body


def test_a_new_practitioner_after_a_move_away_and_back_says_same_time(clock, facial, nurse):
    ada = make_practitioner("Nurse Ada", treatments=[facial])
    appointment = booked_online(facial, at(THURSDAY, 11))
    other = ada if appointment.practitioner == nurse else nurse
    told(clock, lambda: move(appointment, at(FRIDAY, 14)))
    [back] = told(clock, lambda: move(appointment, at(THURSDAY, 11)))
    assert "moved from Friday 6 March at 14:00 to Thursday 5 March at 11:00" in back.body

    [now_with] = told(clock, lambda: give_to(appointment, other))
    assert f"same time, Thursday 5 March at 11:00, but you will now see {other.name}." in now_with.body
    assert "moved from" not in now_with.body


def test_a_move_away_and_back_before_the_next_email_tells_the_patient_nothing(clock, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 11))

    def away_and_back():
        move(appointment, at(FRIDAY, 14))
        clock.shift(timedelta(seconds=40))
        move(appointment, at(THURSDAY, 11))

    # Nothing differs from what the patient was last told (Thursday at 11:00 with the same practitioner).
    assert told(clock, away_and_back) == []


def test_a_move_the_clinic_makes_apologises_and_one_the_patient_asked_for_does_not(clock, commits):
    from django.test import Client

    from ..factories import make_treatment, signed_in
    from .test_admin_diary import change_url, edit_form

    facial = make_treatment(minutes=45)
    ann = make_practitioner("Nurse Ann", treatments=[facial])
    ben = make_practitioner("Nurse Ben", treatments=[facial])
    booked = booked_online(facial, at(THURSDAY, 10))
    reception = signed_in(Client(), "Reception")
    other = ben if booked.practitioner == ann else ann
    reception.post(change_url(booked), edit_form(booked, practitioner=other.pk, clinic_moves_it="on"))
    services.appointment_emails_dispatch(now=timezone.now())
    [sorry] = mail.outbox
    assert sorry.body.split("\n\n")[1].startswith(
        "We are sorry: we have had to change who you will see. Your appointment is at the same time"
    )  # not "moved" as well: it has not
    clock.shift(600)
    booked.refresh_from_db()
    mail.outbox.clear()
    reception.post(change_url(booked), edit_form(booked, start_0="2026-03-05", start_1="11:00:00"))  # by phone
    services.appointment_emails_dispatch(now=timezone.now())
    [plain] = mail.outbox
    assert "We are sorry" not in plain.body


def the_clinic_moves_it_to_eleven(booked) -> str:
    """Reception moves `booked` to 11:00 on Thursday 5 March as the clinic's doing; return the email's message."""
    from django.test import Client

    from ..factories import signed_in
    from .test_admin_diary import change_url, edit_form

    signed_in(Client(), "Reception").post(
        change_url(booked), edit_form(booked, start_0="2026-03-05", start_1="11:00:00", clinic_moves_it="on")
    )
    services.appointment_emails_dispatch(now=timezone.now())
    [sorry] = mail.outbox
    return sorry.body.split("\n\n")[1]


def test_the_clinics_move_to_another_time_apologises_in_the_same_sentence_that_names_both_times(clock, commits):
    from ..factories import make_treatment

    facial = make_treatment(minutes=45)
    make_practitioner("Nurse Ann", treatments=[facial])
    booked = booked_online(facial, at(THURSDAY, 10))
    services.appointment_emails_dispatch(now=timezone.now())  # the confirmation: 10:00 is what the patient knows
    mail.outbox.clear()
    assert the_clinic_moves_it_to_eleven(booked).startswith(
        "We are sorry: we have had to move your appointment from Thursday 5 March at 10:00 to Thursday 5 March at "
        "11:00, with Nurse Ann."
    )


def test_the_clinics_move_before_any_email_went_apologises_once_without_saying_moved_twice(clock, commits):
    from ..factories import make_treatment

    facial = make_treatment(minutes=45)
    make_practitioner("Nurse Ann", treatments=[facial])
    booked = booked_online(facial, at(THURSDAY, 10))
    booked.emails.update(state="skipped")  # its confirmation never went (as the demo's): nothing told yet
    type(booked).objects.filter(pk=booked.pk).update(told_start=None, told_practitioner=None)
    booked.refresh_from_db()
    message = the_clinic_moves_it_to_eleven(booked)
    assert message.startswith("We are sorry: we have had to move your appointment. The new time and who you will")
    assert "has been moved" not in message
