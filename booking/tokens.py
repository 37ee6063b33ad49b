"""Signed manage links: they name the booking without a guessable id, and stop working a while after the visit."""

import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing

_signer = signing.TimestampSigner(salt="booking.manage-link")


def manage_token(public_id: uuid.UUID) -> str:
    return _signer.sign(public_id.hex)


def read_manage_token(token: str) -> tuple[uuid.UUID, datetime] | None:
    """Return the booking's public id and when the link was issued, or None for a tampered or malformed token.

    Its age is not checked here: how long a link lasts depends on the booking it names (`manage_link_expires_at`).
    """
    try:
        value = _signer.unsign(token)
        issued = signing.b62_decode(token.rsplit(_signer.sep, 2)[1])
        return uuid.UUID(hex=value), datetime.fromtimestamp(issued, tz=UTC)
    except (signing.BadSignature, ValueError, IndexError, TypeError):
        return None


def manage_link_expires_at(*, issued_at: datetime, appointment_start: datetime) -> datetime:
    """When a manage link stops working: MANAGE_LINK_MAX_AGE_DAYS after it was issued or after the visit, whichever
    is later.

    The age limit keeps a forwarded or leaked email from opening the booking for ever; it must never take the link
    away before the visit, which staff may book up to two years ahead (the email promises online changes until the
    day before). It follows the booking's current time, so a moved booking keeps its link as long as it needs it.
    """
    return max(issued_at, appointment_start) + timedelta(days=settings.MANAGE_LINK_MAX_AGE_DAYS)
