import hashlib
import hmac

from django.conf import settings
from django.db import models


def email_digest(email: str) -> str:
    """A keyed fingerprint of an email: lets staff match a later request without keeping the address itself."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


class PatientDataRequest(models.Model):
    """One export or erasure of a patient's data, carried out by a member of staff: the record that it happened."""

    class Kind(models.TextChoices):
        EXPORT = "export", "Export (JSON)"
        ERASURE = "erasure", "Erasure"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    email_digest = models.CharField(max_length=64, db_index=True, help_text="A keyed fingerprint, not the address.")
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    done_from = models.GenericIPAddressField(null=True, blank=True)
    done_at = models.DateTimeField()
    # How many rows of each kind were exported or erased.
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-done_at"]
        default_permissions = ("view",)
        permissions = [
            ("export_patient_data", "Can export a patient's data"),
            ("erase_patient_data", "Can erase a patient's data"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.done_at:%Y-%m-%d %H:%M}"
