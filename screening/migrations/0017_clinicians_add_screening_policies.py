"""Clinicians may add a screened treatment's policy (its wait, its window), not only change one.

A new screened treatment has no policy until the first patient's answers make one with the defaults (a 6-month
wait), so a clinic that wants another wait had to ask a superuser before going live.
"""

from django.db import migrations

PERMISSION = ("screening", "add_screeningpolicy")


def _permission_and_group(apps):
    app_label, codename = PERMISSION
    permission = (
        apps.get_model("auth", "Permission")
        .objects.filter(content_type__app_label=app_label, codename=codename)
        .first()
    )
    return permission, apps.get_model("auth", "Group").objects.filter(name="Clinician").first()


def grant(apps, schema_editor):
    permission, clinician = _permission_and_group(apps)
    if permission is not None and clinician is not None:  # 0005 makes both
        clinician.permissions.add(permission)


def revoke(apps, schema_editor):
    permission, clinician = _permission_and_group(apps)
    if permission is not None and clinician is not None:
        clinician.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [("screening", "0016_eligibility_reminder_failed_index")]

    operations = [migrations.RunPython(grant, revoke)]
