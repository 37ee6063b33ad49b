from django import template

from ..review import awaiting_review

register = template.Library()


@register.simple_tag
def awaiting_review_count():
    """How many bookings wait for a clinician, for the admin index."""
    return awaiting_review().count()
