"""Encrypt screening answers and reasons at rest (clinic.encryption.EncryptedJSONField); note when they are erased.

Three steps so that no value is ever read with the wrong field: add encrypted copies, copy every row across
(the JSON read as JSON, written encrypted under SCREENING_ENCRYPTION_KEYS), then drop the plain columns and take
over their names.
"""

from django.db import migrations, models

import clinic.encryption


def encrypt_existing(apps, schema_editor):
    Screening = apps.get_model("screening", "Screening")
    for row in Screening.objects.only("pk", "answers", "reasons").iterator(chunk_size=500):
        Screening.objects.filter(pk=row.pk).update(answers_sealed=row.answers, reasons_sealed=row.reasons or [])


def decrypt_back(apps, schema_editor):
    Screening = apps.get_model("screening", "Screening")
    for row in Screening.objects.only("pk", "answers_sealed", "reasons_sealed").iterator(chunk_size=500):
        Screening.objects.filter(pk=row.pk).update(answers=row.answers_sealed or {}, reasons=row.reasons_sealed or [])


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0002_default_contraindications"),
    ]

    operations = [
        migrations.AddField(
            model_name="screening",
            name="answers_sealed",
            field=clinic.encryption.EncryptedJSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="screening",
            name="reasons_sealed",
            field=clinic.encryption.EncryptedJSONField(blank=True, default=list),
        ),
        # Nullable for the way back, when the plain column is re-added empty before the answers are copied into it.
        migrations.AlterField(model_name="screening", name="answers", field=models.JSONField(null=True)),
        migrations.RunPython(encrypt_existing, decrypt_back, elidable=False),
        migrations.RemoveField(model_name="screening", name="answers"),
        migrations.RemoveField(model_name="screening", name="reasons"),
        migrations.RenameField(model_name="screening", old_name="answers_sealed", new_name="answers"),
        migrations.RenameField(model_name="screening", old_name="reasons_sealed", new_name="reasons"),
        migrations.AddField(
            model_name="screening",
            name="answers_erased_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the answers were erased (retention period over, or on request).",
                null=True,
            ),
        ),
    ]
