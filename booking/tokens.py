"""Signed manage links: they name the booking without a guessable id, and stop working after a while."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing

_signer = signing.TimestampSigner(salt="booking.manage-link")


def manage_token(public_id: uuid.UUID) -> str:
    return _signer.sign(public_id.hex)


def public_id_from_token(token: str) -> uuid.UUID | None:
    """Return the booking's public id, or None for a tampered, malformed or expired token."""
    try:
        value = _signer.unsign(token, max_age=timedelta(days=settings.MANAGE_LINK_MAX_AGE_DAYS))
        return uuid.UUID(hex=value)
    except (signing.BadSignature, ValueError):
        return None
