"""Tags that read settings only: safe on the 500 page, which renders without a database or context processors."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def clinic_details() -> dict:
    """Return the clinic's public name, contact details and the site's address (SITE_URL, no trailing slash)."""
    return {
        "name": settings.CLINIC_NAME,
        "site_url": settings.SITE_URL,
        "phone": settings.CLINIC_PHONE,
        "phone_link": "tel:" + settings.CLINIC_PHONE.replace(" ", ""),
        "address": settings.CLINIC_ADDRESS,
    }
