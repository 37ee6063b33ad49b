"""Failures shown kindly: the database away is a 503 page, and error reports carry no health data."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.views.debug import SafeExceptionReporterFilter
from django.views.defaults import server_error as default_server_error

from .context_processors import clinic

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def service_unavailable(request) -> HttpResponse:
    """Render the 503 page without the request context: no session, user or messages, so no database."""
    response = HttpResponse(loader.render_to_string("503.html", clinic(request)), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection in a view into a 503 page; Django reconnects on the next request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        # The class and first line only: a driver message is about the connection, but keep logs free of data.
        first_line = str(exception).strip().splitlines()[0] if str(exception).strip() else ""
        logger.error("Database unavailable (%s): %s", type(exception).__name__, first_line[:200])
        return service_unavailable(request)


def server_error(request, template_name="500.html"):
    """handler500: a database outage raised outside a view (say, in a middleware) is a 503 too."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return service_unavailable(request)
    return default_server_error(request, template_name)


class HealthDataReporterFilter(SafeExceptionReporterFilter):
    """Outside DEBUG, hide every POST value and every local variable in error reports: any could be health data."""

    def get_post_parameters(self, request):
        if request is None or not self.is_active(request):
            return super().get_post_parameters(request)
        return {name: self.cleansed_substitute for name in request.POST}

    def get_traceback_frame_variables(self, request, tb_frame):
        if not self.is_active(request):
            return super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
