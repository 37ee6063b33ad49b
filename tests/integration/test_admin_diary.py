"""Reception runs the diary in the admin: phone bookings and moves follow the patients' rules and send their emails."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from booking import services
from booking.admin import AppointmentAdmin, AppointmentAdminForm
from booking.models import Appointment, AppointmentEmail, TimeOff, WorkingHours

from ..factories import make_practitioner, make_treatment, patient

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)  # the clock fixture stands at Monday 2 March 2026, 08:00
THURSDAY = date(2026, 3, 5)  # far enough ahead for a reminder (two days before) while it can be changed online
ADD = "/admin/booking/appointment/add/"
LIST = "/admin/booking/appointment/"
Kind = AppointmentEmail.Kind


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def phone_booking(treatment, practitioner, start, **overrides):
    data = {
        "treatment": treatment.pk,
        "practitioner": practitioner.pk,
        "start_0": f"{start:%Y-%m-%d}",
        "start_1": f"{start:%H:%M:%S}",
        "patient_name": "Sam Carter",
        "patient_email": "sam@example.com",
        "patient_phone": "07700 900456",
        "patient_date_of_birth": "1985-07-01",
        "emails-TOTAL_FORMS": "0",
        "emails-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def edit_form(appointment, **overrides):
    start = appointment.start.astimezone(LONDON)
    data = {
        "practitioner": appointment.practitioner_id,
        "start_0": f"{start:%Y-%m-%d}",
        "start_1": f"{start:%H:%M:%S}",
        "status_reason": appointment.status_reason,
        "patient_name": appointment.patient_name,
        "patient_email": appointment.patient_email,
        "patient_phone": appointment.patient_phone,
        "patient_date_of_birth": f"{appointment.patient_date_of_birth:%Y-%m-%d}",
        "emails-TOTAL_FORMS": "0",
        "emails-INITIAL_FORMS": "0",
        "seen": appointment.updated_at.isoformat(),  # the page was opened on the booking as it is now
    }
    data.update(overrides)
    return data


def change_url(appointment):
    return f"/admin/booking/appointment/{appointment.pk}/change/"


def field_errors(response):
    form = response.context["adminform"].form
    return {field: " ".join(errors) for field, errors in form.errors.items()}


def email_kinds(appointment):
    return sorted(appointment.emails.filter(state="pending").values_list("kind", flat=True))


def booked_online(treatment, start, email="alex@example.com"):
    appointment = services.appointment_book(
        treatment=treatment, start=start, patient=patient(email=email), now=timezone.now()
    )
    services.appointment_emails_dispatch(now=timezone.now())  # the confirmation goes
    mail.outbox.clear()
    return appointment


# --- Adding a phone booking -----------------------------------------------------------------------------------------


def test_a_phone_booking_is_confirmed_and_the_patient_gets_the_online_emails(reception, clock, commits, facial, nurse):
    with commits(execute=True):
        response = reception.post(ADD, phone_booking(facial, nurse, at(THURSDAY, 10)))
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.CONFIRMED and appointment.practitioner == nurse
    [message] = mail.outbox
    assert message.to == ["sam@example.com"]
    assert message.subject == "Your appointment is confirmed: Hydrating facial, 5 March at 10:00"
    reminder = appointment.emails.get(kind=Kind.REMINDER)
    assert reminder.state == "pending" and reminder.due_at == at(TUESDAY, 10)

    clock.move_to(at(TUESDAY, 10))
    services.appointment_emails_dispatch(now=timezone.now())
    assert mail.outbox[-1].subject == "Reminder: Hydrating facial on Thursday 5 March at 10:00"


def test_staff_may_book_sooner_than_patients_and_beyond_the_online_horizon(reception, clock, facial, nurse):
    # Online, 09:00 today is inside the two hours' notice and 100 days ahead is past the 90-day horizon.
    for start in (at(date(2026, 3, 2), 9), at(date(2026, 3, 2), 9) + timedelta(days=100)):
        response = reception.post(ADD, phone_booking(facial, nurse, start))
        assert response.status_code == 302, field_errors(response)
    assert Appointment.objects.count() == 2
    assert AppointmentEmail.objects.filter(kind=Kind.CONFIRMED).count() == 2


def test_a_phone_booking_is_added_as_confirmed_whatever_status_is_posted(reception, clock, facial, nurse):
    page = reception.get(ADD).content.decode()
    assert 'name="status"' not in page
    response = reception.post(ADD, phone_booking(facial, nurse, at(THURSDAY, 10), status="completed"))
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.CONFIRMED
    assert email_kinds(appointment) == [Kind.CONFIRMED, Kind.REMINDER]


def test_the_add_page_asks_only_for_what_staff_type_and_the_saved_booking_shows_the_rest(
    reception, clock, facial, nurse
):
    page = reception.get(ADD).content.decode()
    for worked_out in ("public_id", "end", "busy_until", "created_at", "updated_at"):
        assert f"field-{worked_out}" not in page  # nothing yet: no empty boxes
    reception.post(ADD, phone_booking(facial, nurse, at(TUESDAY, 10)))
    appointment = Appointment.objects.get()
    page = reception.get(change_url(appointment)).content.decode()
    assert "field-public_id" in page and str(appointment.public_id) in page


def test_a_screened_treatment_booked_by_phone_is_held_for_a_clinician(reception, clock, commits):
    microneedling = make_treatment("microneedling", minutes=60, buffer=15, requires_screening=True)
    nurse = make_practitioner("Nurse Ben", treatments=[microneedling])
    with commits(execute=True):
        response = reception.post(ADD, phone_booking(microneedling, nurse, at(TUESDAY, 10)), follow=True)
    assert "this booking is held for a clinician&#x27;s review" in response.content.decode()
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    [message] = mail.outbox
    assert message.subject == "We have received your booking request: Microneedling, 3 March"
    queue = reception.get("/admin/screening/flaggedbooking/").content.decode()
    assert "Sam Carter" in queue and "Booked by staff, no health answers yet" in queue


@pytest.fixture
def diary(db):
    """A facial and a peel; Nurse Ben gives the facial on weekdays 09:00-17:00, the peel is given by someone else."""
    facial = make_treatment("hydrating-facial", minutes=45, buffer=15)
    peel = make_treatment("chemical-peel", minutes=30)
    ben = make_practitioner("Nurse Ben", treatments=[facial], weekdays=range(5))
    make_practitioner("Nurse Ada", treatments=[facial, peel])
    return facial, peel, ben


def _inactive(row):
    row.active = False
    row.save()


REFUSALS = {
    "a day off": (lambda f, p, b: (f, b, at(date(2026, 3, 7), 10)), "start", "Nurse Ben does not work on Saturdays."),
    "the past": (lambda f, p, b: (f, b, at(date(2026, 3, 2), 7)), "start", "That time has already passed."),
    "the night": (
        lambda f, p, b: (f, b, at(TUESDAY, 3)),
        "start",
        "Nurse Ben works 09:00-17:00 on Tuesdays: Hydrating facial (45 minutes) at 03:00 is outside those hours.",
    ),
    "past closing": (lambda f, p, b: (f, b, at(TUESDAY, 16, 30)), "start", "at 16:30 is outside those hours"),
    "off the grid": (
        lambda f, p, b: (f, b, at(TUESDAY, 14, 7)),
        "start",
        "Appointments start every 15 minutes from 09:00: please choose 14:00 or 14:15.",
    ),
    "a mistyped year": (lambda f, p, b: (f, b, at(date(9999, 12, 31), 23, 59)), "start", "Please check the year."),
    "another treatment": (lambda f, p, b: (p, b, at(TUESDAY, 10)), "practitioner", "Nurse Ben does not give Chemical"),
    "an inactive treatment": (
        lambda f, p, b: (_inactive(f) or f, b, at(TUESDAY, 10)),
        "treatment",
        "Hydrating facial is not active.",
    ),
    "an inactive practitioner": (
        lambda f, p, b: (f, _inactive(b) or b, at(TUESDAY, 10)),
        "practitioner",
        "Nurse Ben is not active.",
    ),
    "time off": (
        lambda f, p, b: (
            TimeOff.objects.create(practitioner=b, start=at(TUESDAY, 9), end=at(TUESDAY, 13), reason="Training")
            and (f, b, at(TUESDAY, 12, 30))
        ),
        "start",
        "Nurse Ben is away from 03 Mar 09:00 to 03 Mar 13:00 (Training).",
    ),
    "another booking": (
        lambda f, p, b: (f, b, at(TUESDAY, 10, 30)),
        "start",
        "Nurse Ben already has Hydrating facial from 10:00 to 11:00 (including the buffer) that day.",
    ),
    "a lunch break under another booking": (  # the hours are the reason that stays once the booking moves
        lambda f, p, b: (
            (
                WorkingHours.objects.filter(practitioner=b, weekday=1).update(end_time=time(10)),
                WorkingHours.objects.create(practitioner=b, weekday=1, start_time=time(11), end_time=time(17)),
            )
            and (f, b, at(TUESDAY, 10, 30))
        ),
        "start",
        "Nurse Ben works 09:00-10:00, 11:00-17:00 on Tuesdays: Hydrating facial (45 minutes) at 10:30 is outside",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_a_phone_booking_the_diary_cannot_take_is_a_form_error_on_its_field(reception, clock, diary, case):
    facial, peel, ben = diary
    Appointment.objects.create(
        treatment=facial,
        practitioner=ben,
        start=at(TUESDAY, 10),
        patient_name="Alex Morgan",
        patient_email="alex@example.com",
        patient_phone="07700 900123",
        patient_date_of_birth=date(1990, 5, 17),
    )
    make, field, message = REFUSALS[case]
    treatment, practitioner, start = make(facial, peel, ben)
    response = reception.post(ADD, phone_booking(treatment, practitioner, start))

    assert response.status_code == 200
    assert message in field_errors(response).get(field, ""), field_errors(response)
    assert Appointment.objects.count() == 1 and not AppointmentEmail.objects.exists()


@pytest.mark.parametrize(
    "born, message", [("2030-01-01", "The date of birth must be in the past."), ("1800-01-01", "check the year")]
)
def test_a_date_of_birth_must_be_a_real_past_date(reception, clock, facial, nurse, born, message):
    response = reception.post(ADD, phone_booking(facial, nurse, at(TUESDAY, 10), patient_date_of_birth=born))
    assert response.status_code == 200
    assert message in field_errors(response)["patient_date_of_birth"]
    assert not Appointment.objects.exists() and not AppointmentEmail.objects.exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("patient_phone", "-------", "Please enter a phone number of digits"),
        ("patient_phone", "call after 6", "Please enter a phone number of digits"),
        ("patient_name", "   ", "This field is required."),
    ],
)
def test_a_phone_booking_needs_a_number_to_call_back_and_a_name(reception, clock, facial, nurse, field, value, message):
    response = reception.post(ADD, phone_booking(facial, nurse, at(TUESDAY, 10), **{field: value}))
    assert response.status_code == 200
    assert message in field_errors(response)[field]
    assert not Appointment.objects.exists() and not AppointmentEmail.objects.exists()


def test_a_phone_booking_writes_the_name_as_the_online_form_does(reception, clock, facial, nurse):
    reception.post(
        ADD,
        phone_booking(
            facial, nurse, at(TUESDAY, 10), patient_name="  Alex \n  Morgan ", patient_phone=" 07700 900456 "
        ),
    )
    appointment = Appointment.objects.get()
    assert (appointment.patient_name, appointment.patient_phone) == ("Alex Morgan", "07700 900456")


def test_a_time_taken_between_the_check_and_the_save_saves_nothing(reception, clock, facial, nurse, monkeypatch):
    save_form = AppointmentAdmin.save_form

    def lose_the_time_then_save(self, request, form, change):
        # The form was valid; a patient books the same time online before reception's save reaches the diary.
        services.appointment_book(treatment=facial, start=at(TUESDAY, 10), patient=patient(), now=timezone.now())
        return save_form(self, request, form, change)

    monkeypatch.setattr(AppointmentAdmin, "save_form", lose_the_time_then_save)
    response = reception.post(ADD, phone_booking(facial, nurse, at(TUESDAY, 10)), follow=True)
    assert response.status_code == 200
    assert "Nothing was saved: Nurse Ben already has Hydrating facial" in response.content.decode()
    assert not Appointment.objects.filter(patient_email="sam@example.com").exists()
    assert not AppointmentEmail.objects.filter(appointment__patient_email="sam@example.com").exists()


def test_a_time_taken_after_the_check_shows_the_form_again_with_what_was_typed(
    reception, clock, facial, nurse, monkeypatch
):
    # A patient's online booking commits after reception's form was checked (as if before it), before its save
    # reached the diary: the first check does not see it, the write does.
    services.appointment_book(treatment=facial, start=at(TUESDAY, 10), patient=patient(), now=timezone.now())
    checked = []
    form_check, row_check = AppointmentAdminForm.clean, Appointment.clean

    def form_checked_before_the_patient_booked(form):
        checked.append(form)
        return super(AppointmentAdminForm, form).clean() if len(checked) == 1 else form_check(form)

    def row_checked_before_the_patient_booked(appointment):
        return None if appointment is checked[0].instance else row_check(appointment)

    monkeypatch.setattr(AppointmentAdminForm, "clean", form_checked_before_the_patient_booked)
    monkeypatch.setattr(Appointment, "clean", row_checked_before_the_patient_booked)
    response = reception.post(ADD, phone_booking(facial, nurse, at(TUESDAY, 10), patient_name="Robin Hale"))
    assert response.status_code == 200 and len(checked) == 2
    assert "Nurse Ben already has Hydrating facial" in " ".join(field_errors(response).values())
    form = response.context["adminform"].form
    assert form["patient_name"].value() == "Robin Hale" and form["patient_email"].value() == "sam@example.com"
    assert list(Appointment.objects.values_list("patient_name", flat=True)) == ["Alex Morgan"]
    assert not AppointmentEmail.objects.filter(appointment__patient_name="Robin Hale").exists()


# --- Changing a booking ---------------------------------------------------------------------------------------------


def test_only_a_change_of_time_emails_the_patient(reception, clock, commits, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 10))

    with commits(execute=True):
        response = reception.post(change_url(appointment), edit_form(appointment, patient_phone="07700 900999"))
    assert response.status_code == 302, field_errors(response)
    appointment.refresh_from_db()
    assert appointment.patient_phone == "07700 900999"
    assert mail.outbox == [] and email_kinds(appointment) == [Kind.REMINDER]

    with commits(execute=True):
        response = reception.post(
            change_url(appointment),
            edit_form(appointment, start_0="2026-03-06", start_1="11:00:00", patient_name="Alex Morgan-Reed"),
        )
    assert response.status_code == 302, field_errors(response)
    appointment.refresh_from_db()
    assert appointment.start == at(date(2026, 3, 6), 11) and appointment.patient_name == "Alex Morgan-Reed"
    [message] = mail.outbox
    assert message.subject == "Your appointment has moved: Hydrating facial, 6 March at 11:00"
    old, new = appointment.emails.filter(kind=Kind.REMINDER).order_by("appointment_start")
    assert old.state == "skipped" and new.state == "pending" and new.due_at == at(date(2026, 3, 4), 11)

    clock.move_to(at(date(2026, 3, 4), 11))
    services.appointment_emails_dispatch(now=timezone.now())
    assert mail.outbox[-1].subject == "Reminder: Hydrating facial on Friday 6 March at 11:00"


def test_giving_a_booking_to_another_practitioner_tells_the_patient(reception, clock, commits, facial, nurse):
    ada = make_practitioner("Nurse Ada", treatments=[facial])
    appointment = booked_online(facial, at(THURSDAY, 10))
    other = ada if appointment.practitioner == nurse else nurse
    clock.shift(timedelta(minutes=10))
    with commits(execute=True):
        response = reception.post(change_url(appointment), edit_form(appointment, practitioner=other.pk))
    assert response.status_code == 302, field_errors(response)
    appointment.refresh_from_db()
    assert appointment.practitioner == other
    [message] = mail.outbox
    assert message.subject == f"Your appointment is now with {other.name}: Hydrating facial, 5 March at 10:00"
    assert f"at the same time, Thursday 5 March at 10:00, but you will now see {other.name}" in message.body
    assert appointment.emails.get(kind=Kind.REMINDER).state == "pending"


def test_a_move_the_diary_cannot_take_is_refused_and_changes_nothing(reception, clock, facial, nurse):
    appointment = booked_online(facial, at(THURSDAY, 10))
    response = reception.post(
        change_url(appointment), edit_form(appointment, start_1="20:00:00", patient_phone="07700 900999")
    )
    assert response.status_code == 200
    assert "Nurse Ben works 09:00-17:00 on Thursdays" in field_errors(response)["start"]
    appointment.refresh_from_db()
    assert appointment.start == at(THURSDAY, 10) and appointment.patient_phone == "07700 900123"
    assert email_kinds(appointment) == [Kind.REMINDER]


def test_a_cancelled_booking_cannot_be_given_a_new_time(reception, clock, facial, nurse):
    appointment = booked_online(facial, at(TUESDAY, 10))
    services.appointment_change_status(
        appointment=appointment, status="cancelled", now=timezone.now(), cancelled_by="clinic"
    )
    appointment.refresh_from_db()
    response = reception.post(change_url(appointment), edit_form(appointment, start_1="11:00:00"))
    assert response.status_code == 200
    assert "This booking is cancelled: its time can no longer be changed." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.start == at(TUESDAY, 10)


def test_the_treatment_of_a_booking_is_not_edited_in_place(reception, clock, facial, nurse):
    peel = make_treatment("chemical-peel", minutes=30)
    nurse.treatments.add(peel)
    appointment = booked_online(facial, at(TUESDAY, 10))
    response = reception.post(change_url(appointment), edit_form(appointment, treatment=peel.pk))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.treatment == facial


# --- Recording how a visit went -------------------------------------------------------------------------------------


@pytest.mark.parametrize("action, label", [("mark_completed", "completed"), ("mark_no_show", "as a no-show")])
def test_a_visit_ahead_cannot_be_marked_completed_or_no_show(reception, clock, facial, nurse, action, label):
    appointment = booked_online(facial, at(TUESDAY, 10))
    response = reception.post(
        LIST, {"action": action, "_selected_action": [appointment.pk], "post": "yes"}, follow=True
    )
    page = response.content.decode()
    assert f"starts on 03 Mar at 10:00: it can be marked {label} only once it has started" in page
    assert "No appointment was changed." in page and "0 appointment(s) marked" not in page
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED

    clock.move_to(at(TUESDAY, 10))
    response = reception.post(
        LIST, {"action": action, "_selected_action": [appointment.pk], "post": "yes"}, follow=True
    )
    assert f"1 appointment(s) marked {label}" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == action.removeprefix("mark_")


# --- Found by the second QA round ------------------------------------------------------------------------------------


def test_booking_a_patient_into_a_time_they_already_hold_is_a_form_error_that_keeps_the_form(
    reception, clock, facial, nurse
):
    other = make_practitioner("Nurse Sofia", treatments=[facial])
    reception.post(ADD, phone_booking(facial, nurse, at(TUESDAY, 10)))
    response = reception.post(ADD, phone_booking(facial, other, at(TUESDAY, 10), patient_email="SAM@example.com"))
    assert response.status_code == 200  # the form comes back, with what staff typed
    page = response.content.decode()
    assert "Sam Carter already has Hydrating facial booked at this time." in page and "07700 900456" in page
    assert Appointment.objects.count() == 1


def test_the_same_phone_booking_saved_twice_says_the_patient_already_has_it(reception, clock, facial, nurse):
    reception.post(ADD, phone_booking(facial, nurse, at(TUESDAY, 10)))
    response = reception.post(ADD, phone_booking(facial, nurse, at(TUESDAY, 10)))  # Back, then Save again
    assert response.status_code == 200
    errors = field_errors(response)
    assert "Sam Carter already has Hydrating facial booked at this time." in " ".join(errors.values())
    assert Appointment.objects.count() == 1


def test_cancelling_a_visit_already_past_emails_nobody(reception, clock, facial, nurse):
    appointment = booked_online(facial, at(TUESDAY, 10))
    clock.move_to(at(TUESDAY, 15))
    mail.outbox.clear()
    reception.post(LIST, {"action": "cancel_for_patient", "_selected_action": [appointment.pk], "post": "yes"})
    services.appointment_emails_dispatch(now=timezone.now())
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED and mail.outbox == []


def test_no_email_goes_to_a_patient_whose_details_were_erased(clock, facial, nurse):
    from screening import patient_data

    appointment = booked_online(facial, at(TUESDAY, 10))
    clock.move_to(at(TUESDAY, 15))
    patient_data.patient_data_erase(email="alex@example.com", now=timezone.now())
    # Something queued for them afterwards (here by hand) is skipped, not sent to the placeholder address.
    services.appointment_email_queue(appointment=Appointment.objects.get(), kind=Kind.CANCELLED, now=timezone.now())
    mail.outbox.clear()
    services.appointment_emails_dispatch(now=timezone.now())
    assert mail.outbox == [] and appointment.emails.get(kind=Kind.CANCELLED).state == "skipped"


def test_staff_see_the_clinic_time_in_summer_not_utc(reception, clock, facial, nurse):
    summer = at(date(2026, 6, 16), 10)  # British Summer Time: 09:00 UTC
    response = reception.post(ADD, phone_booking(facial, nurse, summer), follow=True)
    assert "at 2026-06-16 10:00" in response.content.decode()
    assert str(Appointment.objects.get()).endswith("at 2026-06-16 10:00")


def test_reception_sees_that_a_clinician_declined_but_not_the_clinical_reason(reception, client, clock, facial, nurse):
    from ..factories import signed_in

    held = services.appointment_book(
        treatment=facial, start=at(TUESDAY, 10), patient=patient(), now=timezone.now(), status="pending_review"
    )
    services.appointment_decline(appointment=held, reason="Restarted isotretinoin last month", now=timezone.now())
    page = reception.get(change_url(held)).content.decode()
    assert "Restarted isotretinoin" not in page and "Declined by a clinician" in page
    reception.logout()
    clinician_page = signed_in(client, "Clinician").get(change_url(held)).content.decode()
    assert "Restarted isotretinoin last month" in clinician_page


def test_a_save_from_a_page_opened_before_the_patient_cancelled_changes_nothing_and_says_why(
    reception, clock, facial, nurse
):
    appointment = booked_online(facial, at(THURSDAY, 10))
    page_opened = edit_form(appointment, patient_phone="07700 900999")  # reception opens the page...
    clock.shift(timedelta(minutes=1))
    services.appointment_cancel(appointment=appointment, now=timezone.now())  # ...the patient cancels online...
    response = reception.post(change_url(appointment), page_opened)  # ...reception saves the phone fix
    assert response.status_code == 200 and "This booking was changed since you opened this page" in (
        response.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED and appointment.patient_phone == "07700 900123"


def test_booking_a_patient_into_a_second_visit_at_the_same_time_warns_reception(reception, clock, facial, nurse):
    peel = make_treatment("mild-peel", minutes=30)
    colleague = make_practitioner("Nurse Sofia", treatments=[peel])
    reception.post(ADD, phone_booking(facial, nurse, at(date(2026, 3, 10), 12)))
    response = reception.post(ADD, phone_booking(peel, colleague, at(date(2026, 3, 10), 12, 15)), follow=True)
    page = response.content.decode()
    assert "Sam Carter also has Hydrating facial with Nurse Ben from 12:00 to 12:45 that day" in page
    assert Appointment.objects.count() == 2  # allowed: two treatments back to back may be meant
    family = reception.post(  # another person under the same email is a family booking: no warning
        ADD, phone_booking(peel, colleague, at(date(2026, 3, 10), 13), patient_name="Kim Carter"), follow=True
    )
    assert "also has" not in family.content.decode()


def test_the_diary_opens_on_today_and_ahead_and_the_past_is_one_click_away(reception, clock, facial, nurse):
    past = booked_online(facial, at(THURSDAY, 10))
    clock.move_to(at(date(2026, 3, 9), 8))  # the Monday after
    today = booked_online(facial, at(date(2026, 3, 9), 14))
    ahead = booked_online(facial, at(date(2026, 3, 12), 10))
    listed = reception.get(LIST).content.decode()
    assert change_url(today) in listed and change_url(ahead) in listed and change_url(past) not in listed
    earlier = reception.get(LIST, {"when": "past"}).content.decode()
    assert change_url(past) in earlier and change_url(today) not in earlier
    found = reception.get(LIST, {"q": past.patient_email}).content.decode()  # a search looks through everything
    assert change_url(past) in found


def test_the_past_reads_back_from_yesterday(reception, clock, facial, nurse):
    older = booked_online(facial, at(THURSDAY, 10))
    later = booked_online(facial, at(date(2026, 3, 6), 10))
    clock.move_to(at(date(2026, 3, 9), 8))
    earlier = reception.get(LIST, {"when": "past"}).content.decode()
    assert earlier.index(change_url(later)) < earlier.index(change_url(older))


def test_select_all_acts_on_the_list_as_shown_not_on_the_visits_it_left_out(reception, clock, facial, nurse):
    """Ticking "Select all N" on the diary's default view must not reach the past the view hides."""
    done = booked_online(facial, at(THURSDAY, 10))
    clock.move_to(at(date(2026, 3, 9), 8))
    services.appointment_change_status(appointment=done, status=Appointment.Status.COMPLETED, now=timezone.now())
    ahead = booked_online(facial, at(date(2026, 3, 10), 10))
    listed = reception.get(LIST).content.decode()
    assert change_url(ahead) in listed and change_url(done) not in listed
    reception.post(LIST, {"action": "mark_no_show", "select_across": "1", "_selected_action": [ahead.pk]})
    done.refresh_from_db()
    assert done.status == Appointment.Status.COMPLETED  # a visit months ago is not turned into a no-show


def test_a_cancellation_too_large_to_confirm_is_refused_with_how_to_narrow_it(
    reception, clock, facial, nurse, monkeypatch
):
    monkeypatch.setattr("booking.admin.MOST_IN_ONE_CONFIRMATION", 2)
    booked = [booked_online(facial, at(THURSDAY, hh)) for hh in (10, 11, 12)]
    response = reception.post(
        LIST, {"action": "cancel_by_clinic", "_selected_action": [b.pk for b in booked]}, follow=True
    )
    assert "Cancel at most 2 appointments at a time" in response.content.decode()
    assert set(Appointment.objects.values_list("status", flat=True)) == {Appointment.Status.CONFIRMED}


def test_reception_finds_a_booking_by_the_phone_number_as_the_patient_dictates_it(reception, clock, facial, nurse):
    booked = booked_online(facial, at(THURSDAY, 10))  # stored as "07700 900123"
    other = services.appointment_book(
        treatment=facial, start=at(THURSDAY, 11), patient=patient(email="sam@example.com"), now=timezone.now()
    )
    Appointment.objects.filter(pk=other.pk).update(patient_phone="07700 900456")
    found = reception.get(LIST, {"q": "07700900123"}).content.decode()
    assert change_url(booked) in found and change_url(other) not in found
