"""Reception no longer sees eligibility reminders; clinicians keep them.

A reminder says who waits for a screened treatment and until when, which is drawn from the health answers, and
reception needs none of it to run the diary. 0005 gave the Reception group view_eligibilityreminder (and the
Clinician group only through its copy of the reception list), so existing installs are corrected here; new installs
run 0005 and then this.
"""

from django.db import migrations

PERMISSION = ("screening", "view_eligibilityreminder")


def _permission(apps):
    app_label, codename = PERMISSION
    return (
        apps.get_model("auth", "Permission")
        .objects.filter(content_type__app_label=app_label, codename=codename)
        .first()
    )


def _group(apps, name):
    return apps.get_model("auth", "Group").objects.filter(name=name).first()


def reception_without_reminders(apps, schema_editor):
    permission = _permission(apps)
    if permission is None:  # 0005 makes it; a database without it has nothing to correct
        return
    clinician, reception = _group(apps, "Clinician"), _group(apps, "Reception")
    if clinician is not None:
        clinician.permissions.add(permission)
    if reception is not None:
        reception.permissions.remove(permission)


def reception_with_reminders(apps, schema_editor):
    permission, reception = _permission(apps), _group(apps, "Reception")
    if permission is not None and reception is not None:
        reception.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0008_screening_email_case_insensitive_index"),
    ]

    operations = [migrations.RunPython(reception_without_reminders, reception_with_reminders)]
