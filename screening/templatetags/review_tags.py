from django import template
from django.db.models import Q
from django.utils import timezone

from booking import selectors
from booking.models import Appointment, Practitioner, Treatment
from booking.services import appointment_emails_undelivered

from ..models import EligibilityReminder, ScreeningPolicy
from ..review import awaiting_review

register = template.Library()


@register.simple_tag
def setup_gaps() -> list[str]:
    """What a clinic's set-up leaves patients unable to book, or booking under rules nobody chose, for the admin
    index: each an easy mistake in a first week that nothing else warns of."""
    gaps = []
    unoffered = selectors.active_treatments().exclude(pk__in=selectors.offered_treatments().values("pk"))
    for treatment in unoffered.order_by("name"):
        gaps.append(f"{treatment} is active, but no active practitioner gives it: patients are not offered it online.")
    for practitioner in Practitioner.objects.filter(active=True, working_hours__isnull=True).order_by("name"):
        gaps.append(f"{practitioner} has no working hours: no times are offered with them.")
    default_wait = ScreeningPolicy._meta.get_field("isotretinoin_wait_months").default
    # No row yet, or one a patient's answers made with the defaults that no clinician has saved since.
    unchosen = Q(screening_policy__isnull=True) | Q(screening_policy__chosen_at__isnull=True)
    screened = Treatment.objects.filter(unchosen, active=True, requires_screening=True).select_related(
        "screening_policy"
    )
    for treatment in screened.order_by("name"):
        policy = getattr(treatment, "screening_policy", None)
        wait = policy.isotretinoin_wait_months if policy else default_wait
        gaps.append(
            f"{treatment}: its screening policy (a {wait}-month wait after isotretinoin) has not been checked and "
            "saved by a clinician yet."
        )
    return gaps


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


@register.simple_tag(takes_context=True)
def bookings_without_room_count(context):
    """Visits ahead the diary no longer has room for, for the admin index (booking.admin.NoRoomFilter), to staff
    who see the diary."""
    if not context["request"].user.has_perm("booking.view_appointment"):
        return 0
    return Appointment.objects.still_to_come(timezone.now()).without_room().count()


@register.simple_tag
def awaiting_review_count():
    """How many bookings wait for a clinician, for the admin index."""
    return awaiting_review().count()
