"""Bounded load against 127.0.0.1 only: concurrent async clients, each stopping at a deadline or a request cap."""

import asyncio
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REQUEST_TIMEOUT = 10.0
# gunicorn stands where it would in production, behind a TLS proxy: the proxy says "https" (so no redirect) and
# appends the patient's address (TRUSTED_PROXY_COUNT=1), so throttling counts each simulated patient separately.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
# What every browser sends; the app gzips only its JSON (nothing the floor or the booking pages answer).
BROWSER_HEADERS = {"Accept-Encoding": "gzip, deflate, br"}


def local_only(base_url: str) -> str:
    if urlsplit(base_url).hostname != "127.0.0.1":
        raise ValueError(f"Load is only ever sent to 127.0.0.1, not {base_url}")
    return base_url


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values; 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Sample:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    # Per round: this slice's rate over the floor's rate in the same round.
    ratios: list[float] = field(default_factory=list)

    def merge(self, other: "Sample") -> None:
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.statuses += other.statuses
        self.errors += other.errors

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios: robust to a neighbour's burst of load in one round."""
        return statistics.median(self.ratios) if self.ratios else 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


class LocalHttp:
    """A minimal HTTP/1.1 client for the load: one connection per request (gunicorn's sync workers close it anyway).

    httpx costs the client several times more CPU per request; on a two-core machine that left gunicorn workers
    waiting in close_graceful for the loaded client to read their FIN (py-spy: a fifth of worker time). Reading to
    EOF and closing at once keeps the load generator out of the figures as far as it can be.
    """

    def __init__(self, base_url: str, headers: dict | None = None):
        parts = urlsplit(local_only(base_url))
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Host": f"{self.host}:{self.port}", **PROXY_HEADERS, **BROWSER_HEADERS, **(headers or {})}

    async def request(self, method: str, path: str, *, headers=None, form=None) -> tuple[int, list, bytes]:
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in {**self.headers, **(headers or {})}.items())]
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        lines += ["Connection: close", "", ""]
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), REQUEST_TIMEOUT)
        try:
            writer.write("\r\n".join(lines).encode() + body)
            raw = await asyncio.wait_for(reader.read(-1), REQUEST_TIMEOUT)
        finally:
            writer.close()
        head, _, content = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        if not status_line.startswith("HTTP/1."):
            raise ConnectionError("no HTTP response")
        response_headers = [tuple(part.strip() for part in line.split(":", 1)) for line in header_lines]
        return int(status_line.split()[1]), response_headers, content


def cookie_from(headers: list, name: str) -> str | None:
    for key, value in headers:
        value = value.strip()  # Django's WSGI handler, called directly, leaves a space before the cookie
        if key.lower() == "set-cookie" and value.startswith(f"{name}="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


def booking_fields(*, token: str, start: str, patient: str) -> dict:
    """What a patient types into the details form (`patient`: a name unique to this journey)."""
    return {
        "csrfmiddlewaretoken": token,
        "start": start,
        "name": patient,
        "email": f"{patient.lower().replace(' ', '.')}@example.com",
        "phone": "07700 900123",
        "date_of_birth": "1990-05-17",
    }


def patient_address(n: int) -> str:
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


async def _get_load(base_url: str, name: str, paths: list[str], clients: int, seconds: float, cap: int) -> Sample:
    sample = Sample(name)
    issued = 0
    loop = asyncio.get_running_loop()
    client = LocalHttp(base_url)
    started = loop.time()
    deadline = started + seconds

    async def one_client(offset: int) -> None:
        nonlocal issued
        n = offset
        while loop.time() < deadline and issued < cap:
            issued += 1
            path = paths[n % len(paths)]
            n += clients
            t0 = time.perf_counter()
            try:
                status, _, _ = await client.request("GET", path)
            except (OSError, TimeoutError, ConnectionError) as error:
                sample.errors[type(error).__name__] += 1
                continue
            sample.latencies.append(time.perf_counter() - t0)
            sample.statuses[status] += 1

    await asyncio.gather(*(one_client(i) for i in range(clients)))
    sample.seconds = loop.time() - started
    return sample


def get_load(base_url: str, name: str, paths: list[str], *, clients: int, seconds: float, cap: int) -> Sample:
    """GET the paths round-robin from `clients` concurrent clients until `seconds` pass or `cap` requests go."""
    return asyncio.run(_get_load(base_url, name, paths, clients, seconds, cap))


@dataclass
class BookingResult:
    journeys: Sample
    form: Sample
    post: Sample
    booked: int = 0
    taken: int = 0
    failed: Counter = field(default_factory=Counter)

    def merge(self, other: "BookingResult") -> None:
        self.journeys.merge(other.journeys)
        self.form.merge(other.form)
        self.post.merge(other.post)
        self.booked += other.booked
        self.taken += other.taken
        self.failed += other.failed


async def _booking_load(base_url, slug, starts, clients, seconds, cap) -> BookingResult:
    result = BookingResult(Sample("journey"), Sample("GET form"), Sample("POST booking"))
    queue = starts  # shared with the caller: each start is taken once across rounds
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + seconds
    details = f"/book/{slug}/details/"

    async def one_client(n: int) -> None:
        client = LocalHttp(base_url, headers={"Origin": base_url.replace("http://", "https://")})
        while queue and loop.time() < deadline and result.booked + result.taken < cap:
            start = queue.pop()
            patient = len(queue)  # a new patient, from their own address, for every journey
            address = {"X-Forwarded-For": patient_address(patient)}
            t0 = time.perf_counter()
            try:
                status, headers, content = await client.request(
                    "GET", f"{details}?{urlencode({'start': start})}", headers=address
                )
                t1 = time.perf_counter()
                result.form.latencies.append(t1 - t0)
                result.form.statuses[status] += 1
                token = CSRF_FIELD.search(content.decode())
                cookie = cookie_from(headers, "csrftoken")
                if status != 200 or token is None or cookie is None:
                    result.failed[f"form {status}"] += 1
                    continue
                # The CSRF cookie, sent back as a browser would (it is Secure: the page came "over TLS").
                posted, _, _ = await client.request(
                    "POST",
                    details,
                    headers={**address, "Cookie": f"csrftoken={cookie}"},
                    form=booking_fields(token=token.group(1), start=start, patient=f"Bench Patient {patient}"),
                )
                t2 = time.perf_counter()
            except (OSError, TimeoutError, ConnectionError) as error:
                result.failed[type(error).__name__] += 1
                continue
            result.post.latencies.append(t2 - t1)
            result.post.statuses[posted] += 1
            if posted == 302:
                result.booked += 1
                result.journeys.latencies.append(t2 - t0)
            elif posted == 409:
                result.taken += 1  # the right answer when a racer got there first
            else:
                result.failed[f"post {posted}"] += 1

    await asyncio.gather(*(one_client(i) for i in range(clients)))
    elapsed = loop.time() - started
    for sample in (result.journeys, result.form, result.post):
        sample.seconds = elapsed
    return result


def booking_load(base_url: str, slug: str, starts: list[str], *, clients: int, seconds: float, cap: int):
    """Each client: GET the details form (CSRF cookie + hidden field), POST a booking for the next free start.

    `starts` is a stack: each client pops the next start from its end, so consecutive calls never reuse one."""
    return asyncio.run(_booking_load(base_url, slug, starts, clients, seconds, cap))
