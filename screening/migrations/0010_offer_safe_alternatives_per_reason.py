"""Whether the clinic's safe alternatives are offered, per reason a patient was stopped.

On for the isotretinoin wait (what the alternatives are for) and off for every question, the seeded ones included:
pregnancy, an infection or wound, sunburn or a recent peel are no time for a peel either. Staff turn a question on
in admin where the alternatives are safe.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0009_reception_without_eligibility_reminders"),
    ]

    operations = [
        migrations.AddField(
            model_name="contraindication",
            name="safe_alternatives",
            field=models.BooleanField(
                default=False,
                help_text="Show a patient stopped by a 'yes' here the treatments marked as safe alternatives. Leave it off where they could harm (pregnancy, an infection or wound, sunburn, a recent peel or laser): the patient is asked to call the clinic instead.",
                verbose_name="offer the safe alternatives",
            ),
        ),
        migrations.AddField(
            model_name="screeningpolicy",
            name="isotretinoin_safe_alternatives",
            field=models.BooleanField(
                default=True,
                help_text="Show a patient on isotretinoin, or within the wait after it, the treatments marked as safe alternatives. They are not offered if any other answer rules them out.",
                verbose_name="offer the safe alternatives while waiting out isotretinoin",
            ),
        ),
    ]
