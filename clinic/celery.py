"""The Celery application: configured from the CELERY_* Django settings, under Celery's own lower-case names."""

import os
from collections.abc import Mapping
from functools import cached_property

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")


class CelerySettings(Mapping):
    """The CELERY_* Django settings, read once, when Celery first needs its configuration, each under the name Celery
    gives it (CELERY_TASK_SERIALIZER is `task_serializer`).

    Celery looks several names up on every message it publishes, most of them ones we leave at their defaults;
    asked of Django's settings object, each miss costs an AttributeError through its lazy wrapper (a fifth of a
    publish: 0.40 ms down to 0.33, bench/NOTES.md). From a dict a miss is one dictionary lookup. Like Celery's own
    configuration, it is read at start-up: change `app.conf`, not Django's settings, at run time.

    The keys are the lower-case names, not CELERY_* under a namespace: CELERY_TIMEZONE, CELERY_ACCEPT_CONTENT and
    CELERY_TASK_SERIALIZER / CELERY_RESULT_SERIALIZER are also Celery 3's names for those settings, and a worker
    logs a deprecation warning for each of them it is given.
    """

    @cached_property
    def _names(self) -> dict:
        from django.conf import settings

        return {
            name.removeprefix("CELERY_").lower(): getattr(settings, name)
            for name in dir(settings)
            if name.startswith("CELERY_")
        }

    def __getitem__(self, key):
        return self._names[key]

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


app = Celery("clinic")
app.config_from_object(CelerySettings())
app.autodiscover_tasks()
