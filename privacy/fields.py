"""A JSON model field stored encrypted: the database (and its backups) hold only Fernet tokens."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from . import crypto


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
        return crypto.encrypt(json.dumps(value, cls=DjangoJSONEncoder))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return json.loads(crypto.decrypt(value))

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(crypto.decrypt(value))
            except crypto.UndecryptableError as error:
                raise ValidationError("This value is not encrypted with a configured key.") from error
        return value

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.JSONField, "encoder": DjangoJSONEncoder, **kwargs})
