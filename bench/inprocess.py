"""CPU per request in one process: booking journeys and /healthz through Django's WSGI handler, no network.

The load phases' ratios move with whatever else the shared machine runs (±30% between runs an hour apart). The CPU
this process spends on each request, read side by side with /healthz in the same loop, moves far less: it is the
figure to compare two versions by. Run after the load phases, on the same database, for times still free.
"""

import io
import statistics
import sys
import time
from urllib.parse import urlencode

from bench.load import CSRF_FIELD, PROXY_HEADERS, booking_fields, cookie_from, patient_address


class InProcess:
    """Call the project's WSGI application directly, as gunicorn would, and time each call in CPU seconds."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler

        self.app = WSGIHandler()

    def call(self, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[int, list, bytes, float]:
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": "127.0.0.1:8000",
            **({"CONTENT_TYPE": "application/x-www-form-urlencoded"} if body else {}),
            **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in {**PROXY_HEADERS, **headers}.items()},
        }
        answer = {}

        def start_response(status, response_headers, exc_info=None):
            answer["status"], answer["headers"] = int(status.split()[0]), response_headers

        began = time.process_time()
        content = b"".join(self.app(environ, start_response))
        return answer["status"], answer["headers"], content, time.process_time() - began


def journeys(slug: str, starts: list[str], *, warm: int) -> dict:
    """GET the details form, POST a booking, GET /healthz, once per start; medians after `warm` journeys, in ms."""
    client = InProcess()
    origin = {"Origin": "https://127.0.0.1:8000"}
    form, booking, floor = [], [], []
    for n, start in enumerate(starts):
        address = {"X-Forwarded-For": patient_address(1_000_000 + n), **origin}  # not an address the load used
        details = f"/book/{slug}/details/"
        status, headers, page, form_cpu = client.call("GET", f"{details}?{urlencode({'start': start})}", address)
        token = CSRF_FIELD.search(page.decode())
        cookie = cookie_from(headers, "csrftoken")
        if status != 200 or token is None or cookie is None:
            raise RuntimeError(f"details form for {start}: {status}")
        fields = booking_fields(token=token.group(1), start=start, patient=f"In-process Patient {n}")
        status, _, _, post_cpu = client.call(
            "POST", details, {**address, "Cookie": f"csrftoken={cookie}"}, urlencode(fields).encode()
        )
        if status != 302:
            raise RuntimeError(f"booking {start}: {status}")
        _, _, _, floor_cpu = client.call("GET", "/healthz", {})
        if n >= warm:
            form.append(form_cpu)
            booking.append(post_cpu)
            floor.append(floor_cpu)
    return {
        "journeys": len(form),
        "floor_ms": statistics.median(floor) * 1000,
        "form_ms": statistics.median(form) * 1000,
        "booking_ms": statistics.median(booking) * 1000,
    }


def render(result: dict, *, under_load: float | None = None) -> list[str]:
    """`under_load`: what a journey cost the whole machine in the load phase, in /healthz requests."""
    floor = result["floor_ms"]
    journey = (result["form_ms"] + result["booking_ms"]) / floor
    machine = f" Under load it cost the whole machine {under_load:.1f}." if under_load else ""
    return [
        "### CPU per request in one process",
        "",
        f"Django's WSGI handler called directly in the benchmark's own process, {result['journeys']} journeys after "
        "the load phases (median CPU time of each request; `/healthz` in the same loop). Steadier than the ratios on "
        "a shared machine: compare versions by these.",
        "",
        "| request | ms of CPU | `/healthz` requests |",
        "| --- | --- | --- |",
        f"| `/healthz` | {floor:.2f} | 1 |",
        f"| GET details form | {result['form_ms']:.2f} | {result['form_ms'] / floor:.1f} |",
        f"| POST booking | {result['booking_ms']:.2f} | {result['booking_ms'] / floor:.1f} |",
        "",
        f"- A journey costs {journey:.1f} `/healthz` requests of CPU in one process.{machine} Booking requests at "
        "40% of the floor's requests/s need a journey to cost the machine 5.",
        "",
    ]
