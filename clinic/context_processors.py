from django.conf import settings


def clinic(request):
    """Expose the clinic's public details to every page."""
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_address": settings.CLINIC_ADDRESS,
    }
