"""System checks for booking settings that would let patients down without failing anything."""

from datetime import timedelta

from django.conf import settings
from django.core import checks


@checks.register()
def reminder_before_the_cutoff(app_configs, **kwargs):
    """Warn when the appointment reminder would come too late to change the booking online."""
    from .services import REMINDER_BEFORE_CUTOFF

    margin = timedelta(hours=settings.APPOINTMENT_REMINDER_HOURS - settings.BOOKING_CANCEL_CUTOFF_HOURS)
    if margin >= REMINDER_BEFORE_CUTOFF:
        return []
    hours = settings.BOOKING_CANCEL_CUTOFF_HOURS + REMINDER_BEFORE_CUTOFF // timedelta(hours=1)
    return [
        checks.Warning(
            f"APPOINTMENT_REMINDER_HOURS ({settings.APPOINTMENT_REMINDER_HOURS}) would send the reminder when, or "
            f"just before, patients can no longer change their booking online (BOOKING_CANCEL_CUTOFF_HOURS, "
            f"{settings.BOOKING_CANCEL_CUTOFF_HOURS}).",
            hint=f"Reminders go {hours} hours before instead. Set APPOINTMENT_REMINDER_HOURS to {hours} or more.",
            id="booking.W001",
        )
    ]
