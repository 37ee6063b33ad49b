"""Seed the clinic's default microneedling questions and a policy for every screened treatment.

Staff change any of this in admin; the defaults only fill an empty table and never overwrite an edited row.
"""

from django.db import migrations

# key, question, help text, reason shown to the patient, action, wait days
DEFAULT_CONTRAINDICATIONS = [
    (
        "pregnancy",
        "Are you pregnant, trying to get pregnant, or breastfeeding?",
        "",
        "We do not do this treatment during pregnancy or while breastfeeding.",
        "block",
        0,
    ),
    (
        "active_infection",
        "Do you have a skin infection, cold sore or open wound where you want the treatment?",
        "",
        "The skin needs to be fully healed first, so an infection is not spread.",
        "wait",
        14,
    ),
    (
        "keloid",
        "Have you ever had raised, thick scars (keloid or hypertrophic scars)?",
        "",
        "A clinician will check whether the treatment is safe for you, as it can cause raised scars.",
        "flag",
        0,
    ),
    (
        "blood_thinners",
        "Do you take blood thinners (e.g. warfarin, apixaban, daily aspirin) or have a bleeding disorder?",
        "",
        "A clinician will check whether the treatment is safe for you, as you may bleed or bruise more.",
        "flag",
        0,
    ),
    (
        "recent_resurfacing",
        "Have you had a chemical peel, laser or other resurfacing treatment in the last 2 weeks?",
        "",
        "The skin needs about two weeks to recover from a peel, laser or resurfacing treatment.",
        "wait",
        14,
    ),
    (
        "sunburn",
        "Do you have sunburn, or have you had sunburn in the last 2 weeks?",
        "",
        "Sunburnt skin is damaged and needs time to heal first.",
        "wait",
        14,
    ),
    (
        "skin_flare",
        "Do you have an eczema, psoriasis or rosacea flare where you want the treatment?",
        "",
        "A clinician will check your skin first, as the treatment can make a flare worse.",
        "flag",
        0,
    ),
    (
        "radiation",
        "Have you had radiotherapy to the area you want treated?",
        "",
        "A clinician will check whether the treated skin can heal well.",
        "flag",
        0,
    ),
    (
        "healing_condition",
        "Do you have diabetes that is not well controlled, or another condition that slows healing?",
        "",
        "A clinician will check whether your skin can heal well after the treatment.",
        "flag",
        0,
    ),
]


def seed(apps, schema_editor):
    Contraindication = apps.get_model("screening", "Contraindication")
    ScreeningPolicy = apps.get_model("screening", "ScreeningPolicy")
    Treatment = apps.get_model("booking", "Treatment")
    for order, (key, question, help_text, reason, action, wait_days) in enumerate(DEFAULT_CONTRAINDICATIONS):
        Contraindication.objects.get_or_create(
            key=key,
            defaults=dict(
                question=question,
                help_text=help_text,
                patient_reason=reason,
                action=action,
                wait_days=wait_days,
                display_order=order,
            ),
        )
    for treatment in Treatment.objects.filter(requires_screening=True):
        ScreeningPolicy.objects.get_or_create(treatment=treatment)


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0001_initial"),
        ("booking", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
