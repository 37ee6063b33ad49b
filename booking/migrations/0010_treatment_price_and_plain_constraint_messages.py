"""A treatment's price is never negative (it was shown to patients as "£-5.00"), and the diary's check constraints
speak plain words in forms ("The end must be after the start.") instead of naming themselves."""

import django.core.validators
from django.db import migrations, models


def refuse_negative_prices(apps, schema_editor):
    """Stop, naming them, if a treatment already has a negative price: which price was meant is for the clinic to
    say (a stray minus or a mistyped number), not for a migration to guess. Correct them in the admin, then migrate
    again; the constraint is then added over prices that keep it."""
    Treatment = apps.get_model("booking", "Treatment")
    negative = [f"{name} ({price})" for name, price in Treatment.objects.filter(price__lt=0).values_list("name", "price")]
    if negative:
        raise RuntimeError(
            "These treatments have a negative price; correct them in the admin, then migrate again: "
            + ", ".join(negative)
        )


class Migration(migrations.Migration):

    dependencies = [
        ("booking", "0009_appointment_once_per_patient_and_time"),
    ]

    operations = [
        migrations.AlterField(
            model_name='treatment',
            name='duration_minutes',
            field=models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1, 'A treatment lasts at least one minute.')]),
        ),
        migrations.AlterField(
            model_name='treatment',
            name='price',
            field=models.DecimalField(decimal_places=2, max_digits=8, validators=[django.core.validators.MinValueValidator(0, 'The price cannot be negative.')]),
        ),
        migrations.RunPython(refuse_negative_prices, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='treatment',
            constraint=models.CheckConstraint(condition=models.Q(('price__gte', 0)), name='treatment_price_not_negative', violation_error_code='negative_price', violation_error_message='The price cannot be negative.'),
        ),
        migrations.AlterConstraint(
            model_name='timeoff',
            name='time_off_start_before_end',
            constraint=models.CheckConstraint(condition=models.Q(('start__lt', models.F('end'))), name='time_off_start_before_end', violation_error_code='end_not_after_start', violation_error_message='The end must be after the start.'),
        ),
        migrations.AlterConstraint(
            model_name='treatment',
            name='treatment_duration_positive',
            constraint=models.CheckConstraint(condition=models.Q(('duration_minutes__gt', 0)), name='treatment_duration_positive', violation_error_code='duration_too_short', violation_error_message='A treatment lasts at least one minute.'),
        ),
        migrations.AlterConstraint(
            model_name='workinghours',
            name='working_hours_start_before_end',
            constraint=models.CheckConstraint(condition=models.Q(('start_time__lt', models.F('end_time'))), name='working_hours_start_before_end', violation_error_code='end_not_after_start', violation_error_message='The end time must be after the start time.'),
        ),
    ]
