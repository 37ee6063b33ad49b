"""The worker is configured from the CELERY_* settings and starts without deprecation warnings in its log."""

import warnings

from celery.app.defaults import DEFAULTS
from django.conf import settings

from clinic.celery import app

CELERY_SETTINGS = [name for name in dir(settings) if name.startswith("CELERY_")]


def test_a_starting_worker_warns_of_no_deprecated_setting_name():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        deprecated = app.conf.maybe_warn_deprecated_settings()  # what `celery worker` calls as it starts
    assert [str(warning.message) for warning in caught] == []
    assert not deprecated


def test_every_celery_setting_reaches_celery_under_its_own_name():
    assert {"CELERY_TIMEZONE", "CELERY_ACCEPT_CONTENT", "CELERY_TASK_SERIALIZER"} <= set(CELERY_SETTINGS)
    for name in CELERY_SETTINGS:
        key = name.removeprefix("CELERY_").lower()
        assert key in DEFAULTS, f"{name} is no Celery setting: Celery ignores it"
        if key != "task_always_eager":  # the tests switch it on (tests/conftest.py)
            assert app.conf[key] == getattr(settings, name), name
    assert app.conf.timezone == settings.TIME_ZONE and app.conf.accept_content == ["json"]
