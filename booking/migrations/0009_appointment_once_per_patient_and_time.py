import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count, Min
from django.db.models.functions import Upper

HOLDING_TIME = ["pending_review", "confirmed", "completed", "no_show"]


def cancel_repeats_of_one_booking(apps, schema_editor):
    """Before this constraint, a form sent twice booked the same patient twice (with another practitioner). Keep the
    first of each and cancel the repeats, saying why; their pending emails (reminders) are not sent."""
    Appointment = apps.get_model("booking", "Appointment")
    AppointmentEmail = apps.get_model("booking", "AppointmentEmail")
    repeated = (
        Appointment.objects.filter(status__in=HOLDING_TIME)
        .values("treatment_id", "start", email=Upper("patient_email"), name=Upper("patient_name"))
        .annotate(first=Min("id"), count=Count("id"))
        .filter(count__gt=1)
    )
    for group in repeated:
        repeats = Appointment.objects.filter(
            status__in=HOLDING_TIME,
            treatment_id=group["treatment_id"],
            start=group["start"],
            patient_email__iexact=group["email"],
            patient_name__iexact=group["name"],
        ).exclude(id=group["first"])
        ids = list(repeats.values_list("id", flat=True))
        Appointment.objects.filter(id__in=ids).update(
            status="cancelled", status_reason=f"A repeat of booking {group['first']} (the form was sent twice)."
        )
        AppointmentEmail.objects.filter(appointment_id__in=ids, state="pending").update(state="skipped")


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0008_appointment_patient_email_case_insensitive_index"),
    ]

    operations = [
        migrations.RunPython(cancel_repeats_of_one_booking, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.UniqueConstraint(
                models.F("treatment"),
                models.F("start"),
                django.db.models.functions.text.Upper("patient_email"),
                django.db.models.functions.text.Upper("patient_name"),
                condition=models.Q(("status__in", HOLDING_TIME)),
                name="appointment_once_per_patient_and_time",
                violation_error_message="This patient already has this treatment booked at this time.",
            ),
        ),
    ]
