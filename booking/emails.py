"""The patient's emails about an appointment, and its calendar file."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from clinic.mail import send_templated_email

from .models import HOLDING_TIME, Appointment, AppointmentEmail, Treatment
from .selectors import clinic_tz
from .tokens import manage_token

# Which emails carry the calendar file: the ones that leave the patient with a firm time.
WITH_CALENDAR = {
    AppointmentEmail.Kind.CONFIRMED,
    AppointmentEmail.Kind.RESCHEDULED,
    AppointmentEmail.Kind.APPROVED,
    AppointmentEmail.Kind.REMINDER,
}


def manage_url(appointment: Appointment) -> str:
    return settings.SITE_URL + reverse("booking:manage", args=[manage_token(appointment.public_id)])


def appointment_ics(appointment: Appointment) -> bytes:
    """Return an iCalendar file for the appointment, in the clinic's time zone."""
    tz = clinic_tz()
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Online booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{appointment.public_id}@{settings.SITE_URL.split('://')[-1]}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start.astimezone(tz))
    event.add("dtend", appointment.end.astimezone(tz))
    event.add("summary", f"{appointment.treatment.name} at {settings.CLINIC_NAME}")
    event.add("location", settings.CLINIC_ADDRESS)
    event.add("description", f"Change or cancel: {manage_url(appointment)}")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def still_relevant(email: AppointmentEmail) -> bool:
    """A reminder goes only for the time it was queued for, and only while the booking still holds it."""
    if email.kind != AppointmentEmail.Kind.REMINDER:
        return True
    appointment = email.appointment
    return appointment.status in HOLDING_TIME and appointment.start == email.appointment_start


def send_appointment_email(email: AppointmentEmail) -> None:
    appointment = email.appointment
    tz = clinic_tz()
    context = {
        "appointment": appointment,
        "kind": email.kind,
        "start_local": appointment.start.astimezone(tz),
        "end_local": appointment.end.astimezone(tz),
        "manage_url": manage_url(appointment),
        "book_url": settings.SITE_URL + reverse("booking:treatments"),
    }
    if email.kind == AppointmentEmail.Kind.DECLINED:
        context["alternatives"] = list(Treatment.objects.filter(active=True, safe_alternative=True))
    attachments = []
    if email.kind in WITH_CALENDAR:
        attachments.append(("appointment.ics", appointment_ics(appointment), "text/calendar"))
    send_templated_email(
        name=f"appointment_{email.kind}", context=context, to=appointment.patient_email, attachments=attachments
    )
