"""HEAD through the WSGI handler, as gunicorn calls it: GET's status and headers, and no body for the server to drop
(gunicorn logs a warning for every body it has to drop). No database: /healthz touches none."""


def test_head_through_the_wsgi_handler_sends_no_body_and_says_how_long_get_would_be():
    """The server need not drop a body (gunicorn logs a warning each time it has to)."""
    import io

    from django.core.wsgi import get_wsgi_application

    sent = {}

    def start_response(status, headers, exc_info=None):
        sent["status"], sent["headers"] = status, dict(headers)

    def call(method):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": "/healthz",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
        }
        return b"".join(get_wsgi_application()(environ, start_response))

    # As Django's test client does: the request's signals must not touch the test run's database connections.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        assert call("GET") == b"ok"
        head = call("HEAD")
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
    assert head == b"" and sent["status"].startswith("200") and sent["headers"]["Content-Length"] == "2"
