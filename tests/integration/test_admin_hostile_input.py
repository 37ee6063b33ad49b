"""Staff are users too: a link or a post the admin was not made for (a hand-edited URL, a stale tab, a correction
that makes two bookings one patient's) gets a plain message, never an error page, and nothing is half-written."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail

from booking.models import Appointment
from screening.models import PatientDataRequest

from ..factories import booked_by_phone, make_practitioner

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)  # the clock fixture stands at Monday 2 March 2026, 08:00


def at(hh: int, mm: int = 0) -> datetime:
    return datetime.combine(TUESDAY, time(hh, mm), tzinfo=LONDON)


def change_form(appointment, **overrides):
    """The change page's form as the browser posts it back, with `overrides` typed in."""
    data = {
        "practitioner": appointment.practitioner_id,
        "start_0": f"{appointment.start.astimezone(LONDON):%Y-%m-%d}",
        "start_1": f"{appointment.start.astimezone(LONDON):%H:%M}",
        "status": appointment.status,
        "status_reason": appointment.status_reason,
        "patient_name": appointment.patient_name,
        "patient_email": appointment.patient_email,
        "patient_phone": appointment.patient_phone,
        "patient_date_of_birth": appointment.patient_date_of_birth.isoformat(),
        "seen": appointment.updated_at.isoformat(),
        "emails-TOTAL_FORMS": "0",
        "emails-INITIAL_FORMS": "0",
        "emails-MIN_NUM_FORMS": "0",
        "emails-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


@pytest.fixture
def family(clock, facial, nurse):
    """Two of a family, one email, booked into the same time with two practitioners."""
    colleague = make_practitioner("Dr Ada", treatments=[facial])
    sam = booked_by_phone(facial, at(11), practitioner=nurse, name="Sam Family", email="family@example.com")
    alex = booked_by_phone(facial, at(11), practitioner=colleague, name="Alex Family", email="family@example.com")
    return sam, alex


@pytest.mark.parametrize("typed", ["Sam Family", "SAM FAMILY"])
def test_renaming_a_patient_into_one_already_booked_then_is_a_form_error(reception, family, typed):
    sam, alex = family
    url = f"/admin/booking/appointment/{alex.pk}/change/"
    inline = {key: value for key, value in _inline_management(reception, url).items()}
    response = reception.post(url, {**change_form(alex, patient_name=typed), **inline})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "already has Hydrating facial booked at this time, in another booking" in " ".join(errors["patient_name"])
    alex.refresh_from_db()
    assert alex.patient_name == "Alex Family"


def test_a_correction_that_clashes_with_nobody_is_saved(reception, family):
    _sam, alex = family
    url = f"/admin/booking/appointment/{alex.pk}/change/"
    inline = _inline_management(reception, url)
    response = reception.post(url, {**change_form(alex, patient_name="Alex Familia"), **inline})
    assert response.status_code == 302
    alex.refresh_from_db()
    assert alex.patient_name == "Alex Familia"


def _inline_management(client, url) -> dict:
    """The emails inline's management form and rows as the change page renders them."""
    form = client.get(url).context["inline_admin_formsets"][0].formset
    data = {f"{form.prefix}-{key}": value for key, value in form.management_form.initial.items()}
    for each in form.forms:
        for name, field in each.fields.items():
            value = each.initial.get(name, field.initial)
            if value is not None:
                data[each.add_prefix(name)] = getattr(value, "pk", value)
    return data


@pytest.mark.parametrize("selected", ["abc", "1.5", "1e3", "9" * 22, "a\x00b"])
@pytest.mark.parametrize("action", ["resend_confirmation", "cancel_by_clinic"])
def test_an_action_posted_for_ids_that_are_not_ids_selects_nothing(reception, family, selected, action):
    mail.outbox.clear()
    response = reception.post(
        "/admin/booking/appointment/", {"action": action, "_selected_action": [selected]}, follow=True
    )
    assert response.status_code == 200
    assert "Items must be selected in order to perform actions on them." in response.content.decode()
    assert set(Appointment.objects.values_list("status", flat=True)) == {"confirmed"}
    assert mail.outbox == []


def test_an_action_posted_for_a_mix_acts_on_the_real_ones_only(reception, family):
    sam, _alex = family
    response = reception.post(
        "/admin/booking/appointment/",
        {"action": "cancel_by_clinic", "_selected_action": [str(sam.pk), "abc"], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert list(Appointment.objects.filter(status="cancelled")) == [sam]


@pytest.mark.parametrize(
    "start", ["foo", "2026-02-30T10:00", "9999-99-99", "\x00", "0001-01-01T00:00+05:00", "9999-12-31T23:59-05:00"]
)
def test_an_add_page_opened_with_a_start_that_is_no_time_opens_empty(reception, clock, facial, nurse, start):
    response = reception.get("/admin/booking/appointment/add/", {"start": start, "treatment": facial.pk})
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form["start"].value() is None and str(form["treatment"].value()) == str(facial.pk)
    away = reception.get("/admin/booking/timeoff/add/", {"start": start, "end": start})
    assert away.status_code == 200


def test_an_add_page_opened_with_a_time_fills_it_in_in_clinic_time(reception, clock, facial, nurse):
    response = reception.get(
        "/admin/booking/appointment/add/",
        {"start": "2026-06-02T09:15Z", "treatment": facial.pk, "practitioner": nurse.pk},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="02/06/2026"' in page and 'value="10:15"' in page  # British Summer Time, as the 24-hour clock


def test_a_patients_data_requests_are_found_by_their_email_in_any_case(client, clock, facial, nurse):
    booked_by_phone(facial, at(10), email="mover@example.com")
    clinician = User.objects.create_user("clinician", password="x", is_staff=True)
    clinician.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_appointment", "change_appointment", "export_patient_data", "view_patientdatarequest"]
        )
    )
    client.force_login(clinician)
    client.post(
        "/admin/booking/appointment/",
        {"action": "export_patient_data", "_selected_action": [Appointment.objects.get().pk]},
    )
    assert PatientDataRequest.objects.count() == 1
    for typed in ["mover@example.com", " Mover@Example.com "]:
        found = client.get("/admin/screening/patientdatarequest/", {"q": typed})
        assert list(found.context["cl"].result_list) == [PatientDataRequest.objects.get()], typed
    for typed in ["mover", "someone@example.com"]:
        assert list(client.get("/admin/screening/patientdatarequest/", {"q": typed}).context["cl"].result_list) == []


@pytest.mark.parametrize(
    "query", [{"start": "foo"}, {"start": "2026-02-30T10:00Z", "practitioner": "abc"}, {"practitioner": "9"}]
)
def test_a_change_page_opened_with_a_time_that_is_no_time_shows_the_booking_as_it_is(reception, family, query):
    sam, _alex = family
    response = reception.get(f"/admin/booking/appointment/{sam.pk}/change/", query)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form["start"].value() == sam.start and form["practitioner"].value() == sam.practitioner_id
