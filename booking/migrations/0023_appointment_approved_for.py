from django.db import migrations, models


def approved_ones_are_approved_for_their_time(apps, schema_editor):
    """Bookings a clinician confirmed before this field: their approval is on record as the status reason. Their
    time now stands in for the one approved (moved since, it is the later of the two, so a move earlier is still
    caught)."""
    Appointment = apps.get_model("booking", "Appointment")
    Appointment.objects.filter(status="confirmed", status_reason__startswith="Approved by").update(
        approved_for=models.F("start")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0022_appointment_email_sent_again"),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="approved_for",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(approved_ones_are_approved_for_their_time, migrations.RunPython.noop),
    ]
