"""Throttle patient endpoints: a table of limits per resolved URL name, counted in the shared cache.

The limits live in settings.THROTTLE_RULES, keyed by URL name ("booking:details") or a whole namespace
("screening:*"), so no view needs a decorator. Each limit counts per client address, per email typed into the form
or per manage link, in fixed windows ("20/10m": at most 20 in each ten minutes of the clock). A counter's key is a
hash, so no email is stored in clear. On Redis every limit of a request is counted in one round trip. A cache outage
lets requests through: a booking must never fail because Redis is away.

The address and link limits are counted by the middleware before the view runs. The email limit is counted only
for a form that passed validation: the view calls `count_email` after `is_valid()`, which raises `Throttled` (the
middleware's 429 page) past the limit. Counted before validation, anyone could send a patient's email with junk ten
times and lock that patient out for the rest of the hour. It still counts across addresses, so one person trying
answer after answer from several addresses is held back; a view whose rule has an email limit must call it.
"""

import hashlib
import ipaddress
import logging
import math
import re
import time

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import render

logger = logging.getLogger(__name__)


_told_of_unused_forwarding = False


def client_ip(request) -> str:
    """Return the client's address: the socket's, or the one our own proxies appended to X-Forwarded-For."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops == 0 and "HTTP_X_FORWARDED_FOR" in request.META:
        _tell_of_unused_forwarding()
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= hops and _is_ip(forwarded[-hops]):
            return forwarded[-hops]
    address = request.META.get("REMOTE_ADDR", "")
    return address if _is_ip(address) else "0.0.0.0"  # noqa: S104 - a placeholder value, never bound to


def _tell_of_unused_forwarding() -> None:
    """Once per process: behind a proxy left uncounted, every patient is the proxy's address, so one busy clinic
    shares one booking limit and one stranger's wrong passwords pause a staff member's sign-in for everyone."""
    global _told_of_unused_forwarding
    if not _told_of_unused_forwarding:
        _told_of_unused_forwarding = True
        logger.warning(
            "Requests carry X-Forwarded-For but TRUSTED_PROXY_COUNT is 0, so the socket's address is used. Behind a "
            "proxy, set TRUSTED_PROXY_COUNT to the number of proxies: throttling, sign-in lockout and the audit log "
            "otherwise count every patient as the proxy."
        )


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def rule_for(view_name: str) -> tuple[str, dict] | None:
    """Return (rule name, rule) for a URL name: its own entry, else its namespace's "ns:*" entry."""
    rules = settings.THROTTLE_RULES
    if view_name in rules:
        return view_name, rules[view_name]
    namespace = view_name.rpartition(":")[0]
    wildcard = f"{namespace}:*"
    if namespace and wildcard in rules:
        return wildcard, rules[wildcard]
    return None


def _key_value(request, kind: str) -> str | None:
    if kind == "ip":
        address = ipaddress.ip_address(client_ip(request))
        # One IPv6 customer usually holds a whole /64.
        return str(ipaddress.ip_network(f"{address}/64", strict=False)) if address.version == 6 else str(address)
    if kind == "link":
        kwargs = request.resolver_match.kwargs
        return "&".join(f"{name}={kwargs[name]}" for name in sorted(kwargs)) or None
    raise ImproperlyConfigured(f"Unknown throttle key {kind!r}: use ip, email (see count_email) or link.")


_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'20/10m' -> (20 requests, 600 seconds)."""
    found = _RATE.match(rate)
    if found is None:
        raise ImproperlyConfigured(f"Throttle rate {rate!r} is not like '20/10m'.")
    limit, multiplier, unit = found.groups()
    return int(limit), int(multiplier or 1) * _UNIT_SECONDS[unit]


def count(counters: list[tuple[str, int]]) -> list[int]:
    """Add one to each (key, seconds it lives) counter of the shared cache and return the new counts."""
    cache = caches["default"]
    if hasattr(cache, "incr_many"):  # clinic.cache.ReusingRedisCache: one round trip
        return cache.incr_many(counters)
    counts = []
    for key, seconds in counters:
        cache.add(key, 0, seconds)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between the two calls: a new window
            cache.set(key, 1, seconds)
            counts.append(1)
    return counts


def _seconds_over(name: str, limits: list[tuple[str, str, str]]) -> int | None:
    """Count one request against each (kind, rate, value) limit of rule `name`. Return how long until every limit
    it is over lets it through, or None when it is over none (or the cache is down)."""
    now = int(time.time())
    windows = []  # (counter key, limit, seconds until the window ends)
    for kind, rate, value in limits:
        limit, period = parse_rate(rate)
        ends = (now // period + 1) * period
        digest = hashlib.sha256(f"{name}|{kind}|{rate}|{value}".encode()).hexdigest()[:32]
        windows.append((f"{settings.THROTTLE_KEY_PREFIX}{digest}:{ends}", limit, ends - now))
    if not windows:
        return None
    try:
        counts = count([(key, left + 1) for key, _limit, left in windows])
    except Exception:  # noqa: BLE001 - any cache failure: let the patient through rather than fail the page
        logger.warning("Throttle cache unavailable; request not counted", exc_info=True)
        return None
    waits = [max(left, 1) for (_key, limit, left), n in zip(windows, counts, strict=True) if n > limit]
    return max(waits) if waits else None


class Throttled(Exception):
    """Over a limit counted inside a view (`count_email`): ThrottleMiddleware answers with the 429 page."""

    def __init__(self, seconds: int):
        super().__init__(f"throttled for {seconds} s")
        self.seconds = seconds


def count_email(request, email: str) -> None:
    """Count a submission whose form passed validation against its rule's per-email limit; raise Throttled past it.

    Call it after `is_valid()` and before acting on the form. It does nothing for a URL or method without an email
    limit, or with throttling off.
    """
    found = getattr(request, "_throttle_email_limit", None)
    value = email.strip().lower()
    if found is None or not value:
        return
    name, rate = found
    seconds = _seconds_over(name, [("email", rate, value)])
    if seconds is not None:
        logger.info("Throttled %s (%s, per email)", name, request.method)
        raise Throttled(seconds)


class ThrottleMiddleware:
    """Answer 429 with a "try again in N minutes" page once any limit of the URL's rule is exceeded."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if not settings.THROTTLE_ENABLED or match is None:
            return None
        found = rule_for(match.view_name)
        # HEAD is GET without the body, and tells as much (a manage link's 200 or 404): it counts as GET.
        method = "GET" if request.method == "HEAD" else request.method
        if found is None or method not in found[1]["methods"]:
            return None
        name, rule = found
        limits = []
        for kind, rate in rule["limits"].items():
            if kind == "email":  # counted by the view once the form is valid (count_email)
                request._throttle_email_limit = (name, rate)
                continue
            value = _key_value(request, kind)
            if value is not None:
                limits.append((kind, rate, value))
        seconds = _seconds_over(name, limits)
        if seconds is None:
            return None
        logger.info("Throttled %s (%s)", name, request.method)
        return too_many_requests(request, seconds=seconds)

    def process_exception(self, request, exception):
        if isinstance(exception, Throttled):
            return too_many_requests(request, seconds=exception.seconds)
        return None


def too_many_requests(request, *, seconds: int):
    minutes = max(1, math.ceil(seconds / 60))
    response = render(request, "429.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(seconds)
    return response
