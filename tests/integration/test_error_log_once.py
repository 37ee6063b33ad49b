"""A server error is written to the web process's log once, with its traceback, whether DEBUG is on or off."""

import io
import sys

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path
from django.utils.log import configure_logging


def fall_over(request):
    raise RuntimeError("the diary fell over")


urlpatterns = [path("fall-over", fall_over)]


@pytest.fixture
def web_log(monkeypatch):
    """The console log as the web process sets it up from settings.LOGGING (Django's defaults first), read back."""
    stream = io.StringIO()
    with monkeypatch.context() as patched:
        patched.setattr(sys, "stderr", stream)  # the console handlers write where stderr is when they are made
        configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)
    yield stream
    configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)


# runserver (the Procfile's web process) runs with DEBUG on unless it is set off.
@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
@pytest.mark.urls(__name__)
def test_a_500_is_logged_once(settings, web_log, debug):
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get("/fall-over")
    assert response.status_code == 500
    log = web_log.getvalue()
    assert log.count("Internal Server Error: /fall-over") == 1, log
    assert log.count("RuntimeError: the diary fell over") == 1
