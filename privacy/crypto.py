"""Encrypt health data with the keys in SCREENING_ENCRYPTION_KEYS (Fernet; the first key encrypts, all decrypt)."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks


class UndecryptableError(Exception):
    """A value none of the configured keys opens: a key was dropped before rotation finished, or data was altered."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SCREENING_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise UndecryptableError(
            "Screening data could not be decrypted: is the key that wrote it still in SCREENING_ENCRYPTION_KEYS?"
        ) from error


def rotate(token: str) -> str:
    """Re-encrypt a token under the first (current) key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise UndecryptableError("Screening data could not be decrypted for rotation.") from error


def new_key() -> str:
    return Fernet.generate_key().decode()


def check_keys(app_configs=None, **kwargs):
    keys = getattr(settings, "SCREENING_ENCRYPTION_KEYS", None) or []
    if not keys:
        return [checks.Error("SCREENING_ENCRYPTION_KEYS is empty.", id="privacy.E001")]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            errors.append(
                checks.Error(
                    f"SCREENING_ENCRYPTION_KEYS entry {position} is not a Fernet key (32 url-safe base64 bytes).",
                    hint="Make one with `python manage.py rotate_screening_key --new-key`.",
                    id="privacy.E002",
                )
            )
    if settings.SECRET_KEY in keys:
        errors.append(checks.Error("SCREENING_ENCRYPTION_KEYS must not reuse SECRET_KEY.", id="privacy.E003"))
    return errors
