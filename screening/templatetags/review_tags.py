from django import template
from django.utils import timezone

from booking.services import appointment_emails_undelivered

from ..models import EligibilityReminder
from ..review import awaiting_review

register = template.Library()


@register.simple_tag
def undelivered_email_counts():
    """Emails given up on, for the admin index: about visits still ahead, and eligibility reminders."""
    return {
        "appointment": appointment_emails_undelivered(timezone.now()).count(),
        "eligibility": EligibilityReminder.objects.filter(state=EligibilityReminder.State.FAILED).count(),
    }


@register.simple_tag
def awaiting_review_count():
    """How many bookings wait for a clinician, for the admin index."""
    return awaiting_review().count()
