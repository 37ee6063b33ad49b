"""Plain builders for test rows: explicit arguments, sensible defaults, no magic."""

from datetime import date, time
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.utils import timezone

from booking import services
from booking.models import Practitioner, Treatment, WorkingHours
from booking.services import PatientDetails


def make_treatment(slug="hydrating-facial", *, minutes=45, buffer=0, requires_screening=False, **fields):
    defaults = dict(
        name=slug.replace("-", " ").capitalize(),
        duration_minutes=minutes,
        buffer_after_minutes=buffer,
        price=Decimal("80.00"),
        requires_screening=requires_screening,
    )
    defaults.update(fields)
    return Treatment.objects.create(slug=slug, **defaults)


def make_practitioner(name="Nurse Ben", *, treatments=(), weekdays=range(7), opens=time(9), closes=time(17)):
    practitioner = Practitioner.objects.create(name=name)
    practitioner.treatments.set(treatments)
    WorkingHours.objects.bulk_create(
        WorkingHours(practitioner=practitioner, weekday=day, start_time=opens, end_time=closes) for day in weekdays
    )
    return practitioner


def patient(name="Alex Morgan", email="alex@example.com", date_of_birth=date(1990, 5, 17)):
    return PatientDetails(name=name, email=email, phone="07700 900123", date_of_birth=date_of_birth)


def booked_by_phone(treatment, start, *, practitioner=None, **details):
    """`treatment` at `start`, booked by reception for `patient(**details)` (`appointment_staff_book`), with the
    clinic's only practitioner unless one is named."""
    return services.appointment_staff_book(
        treatment=treatment,
        practitioner=practitioner or Practitioner.objects.get(),
        start=start,
        patient=patient(**details),
        now=timezone.now(),
    )


def booking_post(start_value, **overrides):
    data = {
        "start": start_value,
        "name": "Alex Morgan",
        "email": "alex@example.com",
        "phone": "07700 900123",
        "date_of_birth": "1990-05-17",
    }
    data.update(overrides)
    return data


def signed_in(client, group):
    """`client`, signed in as the staff member of `group` (Reception or Clinician)."""
    user = User.objects.filter(username=f"{group.lower()}-user").first()
    user = user or User.objects.create_user(f"{group.lower()}-user", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client
