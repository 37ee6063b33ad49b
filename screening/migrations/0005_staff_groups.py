"""Create the staff groups: Reception runs the diary; Clinician also sees health answers and decides on reviews."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

RECEPTION = [
    ("booking", "view_appointment"),
    ("booking", "add_appointment"),
    ("booking", "change_appointment"),
    ("booking", "view_appointmentemail"),
    ("booking", "view_practitioner"),
    ("booking", "add_practitioner"),
    ("booking", "change_practitioner"),
    ("booking", "view_workinghours"),
    ("booking", "add_workinghours"),
    ("booking", "change_workinghours"),
    ("booking", "delete_workinghours"),
    ("booking", "view_timeoff"),
    ("booking", "add_timeoff"),
    ("booking", "change_timeoff"),
    ("booking", "delete_timeoff"),
    ("booking", "view_treatment"),
    ("screening", "view_flaggedbooking"),
    ("screening", "view_eligibilityreminder"),
]
CLINICIAN_EXTRA = [
    ("screening", "view_screening"),
    ("screening", "view_health_answers"),
    ("screening", "review_booking"),
    ("screening", "view_screeningpolicy"),
    ("screening", "change_screeningpolicy"),
    ("screening", "view_contraindication"),
    ("screening", "add_contraindication"),
    ("screening", "change_contraindication"),
    ("screening", "view_patientdatarequest"),
    ("screening", "export_patient_data"),
    ("screening", "erase_patient_data"),
    ("auditlog", "view_logentry"),
]


def _permissions(apps, table):
    Permission = apps.get_model("auth", "Permission")
    wanted = set(table)
    return [
        permission
        for permission in Permission.objects.select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]


def create_groups(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    reception, _ = Group.objects.get_or_create(name="Reception")
    reception.permissions.set(_permissions(apps, RECEPTION))
    clinician, _ = Group.objects.get_or_create(name="Clinician")
    clinician.permissions.set(_permissions(apps, RECEPTION) + _permissions(apps, CLINICIAN_EXTRA))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Reception", "Clinician"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0004_review_queue_and_answers_permission"),
        ("booking", "0002_appointment_holding_busy_until_index"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auditlog", "__latest__"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
