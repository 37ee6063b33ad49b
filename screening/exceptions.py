"""Screening's domain errors. Each message is safe to show a patient as it is."""


class ScreeningError(Exception):
    """Base for every refusal the screening rules make."""

    default_message = "Your health questions could not be used. Please answer them again."

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)


class ScreeningInvalid(ScreeningError):
    """The screening is unknown, expired, used already, from another browser or for another treatment."""

    default_message = "Your answers have expired or were already used. Please answer the health questions again."


class NotEligible(ScreeningError):
    default_message = "Your answers do not allow this treatment to be booked for that date."


class EmailMismatch(ScreeningError):
    default_message = "Please use the same email address you gave with your health questions."


class NoReminderDate(ScreeningError):
    default_message = "There is no date to remind you about yet. Please call the clinic."


class PatientDataError(ScreeningError):
    """A patient data request (export or erasure) that cannot be carried out; the message is for staff."""

    default_message = "This request cannot be carried out."


class ErasureRefused(PatientDataError):
    default_message = "This patient's data cannot be erased yet."
