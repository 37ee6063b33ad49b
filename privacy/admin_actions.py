"""A patient's data export (JSON) and erasure, as actions on the appointments list in the admin.

Staff find the patient's appointments (search by email), select one, and choose the action; every appointment and
screening under the same email is included. The actions are added to booking's AppointmentAdmin from here, so the
booking app knows nothing about them, and only staff holding the permission see them.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from clinic.throttle import client_ip

from . import services
from .exceptions import PrivacyError

EXPORT_PERMISSION = "privacy.export_patient_data"
ERASE_PERMISSION = "privacy.erase_patient_data"


def _emails(queryset) -> list[str]:
    return sorted({email.strip().lower() for email in queryset.values_list("patient_email", flat=True)})


@admin.action(description="Export the selected patients' data (JSON)", permissions=["export_patient_data"])
def export_patient_data(modeladmin, request, queryset):
    now = timezone.now()
    patients = [
        services.patient_data_export(email=email, now=now, done_by=request.user, done_from=client_ip(request))
        for email in _emails(queryset)
    ]
    response = HttpResponse(
        json.dumps({"patients": patients}, cls=DjangoJSONEncoder, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="patient-data-{now:%Y%m%d-%H%M}.json"'
    response["Cache-Control"] = "no-store"
    return response


@admin.action(description="Erase the selected patients' data", permissions=["erase_patient_data"])
def erase_patient_data(modeladmin, request, queryset):
    emails = _emails(queryset)
    if request.POST.get("confirm") != "yes":
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Erase patient data?",
            "patient_count": len(emails),
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        }
        return TemplateResponse(request, "admin/privacy/erase_confirm.html", context)
    now, erased, refused = timezone.now(), 0, []
    for email in emails:
        try:
            services.patient_data_erase(email=email, now=now, done_by=request.user, done_from=client_ip(request))
        except PrivacyError as error:
            refused.append(error.message)
        else:
            erased += 1
    if erased:
        modeladmin.message_user(request, f"Erased the data of {erased} patient(s).", messages.SUCCESS)
    for message in dict.fromkeys(refused):
        modeladmin.message_user(request, message, messages.ERROR)
    return None


def attach():
    """Add the actions to the appointments admin, with the permission checks Django's admin asks for."""
    from booking.models import Appointment

    model_admin = admin.site._registry.get(Appointment)
    if model_admin is None or export_patient_data in (model_admin.actions or []):
        return
    model_admin.actions = [*(model_admin.actions or []), export_patient_data, erase_patient_data]
    model_admin.has_export_patient_data_permission = lambda request: request.user.has_perm(EXPORT_PERMISSION)
    model_admin.has_erase_patient_data_permission = lambda request: request.user.has_perm(ERASE_PERMISSION)
