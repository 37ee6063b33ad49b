class PrivacyError(Exception):
    """A patient data request that cannot be carried out; `message` is safe to show staff."""

    message = "This request cannot be carried out."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message


class ErasureRefused(PrivacyError):
    message = "This patient's data cannot be erased yet."
