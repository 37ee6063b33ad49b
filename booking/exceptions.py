"""Booking's domain errors. Each message is safe to show a patient as it is."""


class BookingError(Exception):
    """Base for every refusal the booking rules make."""

    default_message = "That booking could not be made."
    # The input at fault ("treatment", "practitioner", "start"), for a form that shows the message beside it.
    field: str | None = None

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)


class SlotTaken(BookingError):
    field = "start"
    default_message = "Sorry, that time has just been taken or is no longer free. Please choose another time."


class AlreadyBooked(BookingError):
    default_message = (
        "You have already booked this treatment at this time. Your confirmation email has a link to change or "
        "cancel it."
    )


class SameTime(BookingError):
    default_message = "That is the time you already have. Please choose another time, or keep this one."


class SlotUnavailable(BookingError):
    field = "start"
    default_message = "That time is not available. Please choose one of the times shown."


class TreatmentUnavailable(BookingError):
    field = "treatment"
    default_message = "That treatment cannot be booked at the moment."


class PractitionerUnavailable(BookingError):
    field = "practitioner"
    default_message = "That practitioner cannot take this booking."


class TooLateToChange(BookingError):
    default_message = "This appointment is too close to change online. Please call the clinic."


class InvalidTransition(BookingError):
    default_message = "This booking can no longer be changed that way."


class DecisionRefused(BookingError):
    default_message = "This booking is no longer awaiting review, so no decision can be recorded."
