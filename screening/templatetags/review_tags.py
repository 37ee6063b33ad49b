from django import template
from django.utils import timezone

from booking.services import appointment_emails_undelivered

from ..models import EligibilityReminder
from ..review import awaiting_review

register = template.Library()


@register.simple_tag(takes_context=True)
def undelivered_email_counts(context):
    """Emails to patients given up on, for the admin index: about visits still ahead, and the eligibility reminders
    for those who may see them. Each count reads a partial index of the failed rows alone."""
    user = context["request"].user
    return {
        "appointment": appointment_emails_undelivered(timezone.now()).count(),
        "eligibility": EligibilityReminder.objects.filter(state=EligibilityReminder.State.FAILED).count()
        if user.has_perm("screening.view_eligibilityreminder")
        else 0,
    }


@register.simple_tag
def awaiting_review_count():
    """How many bookings wait for a clinician, for the admin index."""
    return awaiting_review().count()
