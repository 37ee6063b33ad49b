"""Encryption at rest for health data: Fernet keys from SCREENING_ENCRYPTION_KEYS and a JSON field that uses them.

The first key encrypts and every key decrypts (MultiFernet), so keys rotate without downtime: put a new key first,
re-encrypt (`manage.py rotate_screening_key`), then drop the old one. The keys are not SECRET_KEY.
"""

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


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
    """System check: at least one key, every key a Fernet key, none of them SECRET_KEY, nor (with DEBUG off) the
    development key, which anyone can read in the source; nor, with DEBUG off, the development SECRET_KEY."""
    keys = getattr(settings, "SCREENING_ENCRYPTION_KEYS", None) or []
    if not keys:
        return [checks.Error("SCREENING_ENCRYPTION_KEYS is empty.", id="clinic.E001")]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            errors.append(
                checks.Error(
                    f"SCREENING_ENCRYPTION_KEYS entry {position} is not a Fernet key (32 url-safe base64 bytes).",
                    hint="Make one with `python manage.py rotate_screening_key --new-key`.",
                    id="clinic.E002",
                )
            )
    if settings.SECRET_KEY in keys:
        errors.append(checks.Error("SCREENING_ENCRYPTION_KEYS must not reuse SECRET_KEY.", id="clinic.E003"))
    if not settings.DEBUG and getattr(settings, "DEV_ONLY_SCREENING_ENCRYPTION_KEY", None) in keys:
        errors.append(
            checks.Error(
                "SCREENING_ENCRYPTION_KEYS holds the development key, which is public in the source: health answers "
                "encrypted with it are not protected.",
                hint="Make a key with `python manage.py rotate_screening_key --new-key --skip-checks` and put it "
                "first. If answers were already written with the development key, keep it second until `python "
                "manage.py rotate_screening_key --skip-checks` has re-encrypted them, then remove it.",
                id="clinic.E004",
            )
        )
    if not settings.DEBUG and settings.SECRET_KEY == getattr(settings, "DEV_ONLY_SECRET_KEY", None):
        errors.append(
            checks.Error(
                "SECRET_KEY is the development key, which is public in the source: anyone could sign session "
                "cookies, manage links and reminder links.",
                hint='Make one with `python -c "import secrets; print(secrets.token_urlsafe(50))"`.',
                id="clinic.E005",
            )
        )
    return errors


class EncryptedJSONField(models.Field):
    """JSON in Python, a Fernet token in a text column. It cannot be searched or filtered on, only read and written.

    Serialisation (dumpdata) writes the token, not the plain answers; loading decrypts it again.
    """

    description = "JSON, encrypted at rest"
    empty_strings_allowed = False

    def get_internal_type(self):
        return "TextField"

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt(json.dumps(value, cls=DjangoJSONEncoder))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(decrypt(value))
            except UndecryptableError as error:
                raise ValidationError("This value is not encrypted with a configured key.") from error
        return value

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.JSONField, "encoder": DjangoJSONEncoder, **kwargs})
