"""Every page carries the browser protections; HTTPS is enforced behind the proxy; no template runs inline code."""

import re
from datetime import date
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_pages_forbid_inline_scripts_framing_and_cross_site_referrers(client, facial):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_admin_is_under_the_same_policy(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_plain_http_is_redirected_to_https_unless_the_proxy_says_it_was_https(client, facial, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    redirected = client.get("/")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
    served = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert served.status_code == 200
    assert served["Strict-Transport-Security"].startswith("max-age=31536000")


def test_healthz_answers_a_load_balancers_plain_http_probe_with_the_redirect_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    probe = client.get("/healthz")
    assert probe.status_code == 200 and probe.content == b"ok"
    assert client.head("/healthz").status_code == 200
    assert client.get("/").status_code == 301  # every page is still redirected


def page_templates():
    return [path for path in TEMPLATES.rglob("*.html") if "emails" not in path.relative_to(TEMPLATES).parts]


@pytest.mark.parametrize("path", page_templates(), ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_page_template_has_inline_script_or_style(path):
    """The Content-Security-Policy blocks them in the browser: move code to static/ instead."""
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>: move it to a static .js file"
    assert not re.search(r"<style\b", text), "<style> block: move it to static/css"
    assert not re.search(r"\sstyle=", text), "style= attribute: use a CSS class"
    assert not re.search(r"\son[a-z]+=", text), "on*= event handler: attach it from a static .js file"


def test_pages_with_a_patients_booking_or_answers_are_never_kept_by_the_browser(client, clock, commits):
    """On a shared device (a waiting-room tablet) the next person must not bring them back from the cache."""
    from booking.models import Appointment
    from booking.tokens import manage_token

    from .screening_helpers import SLUG, book, latest_screening, local, make_clinic, screen, token_of

    make_clinic()
    screen(client, taking_isotretinoin="yes")
    result = client.get(f"/book/{SLUG}/screening/{token_of(latest_screening())}/")
    assert "isotretinoin" in result.content.decode() and "no-store" in result["Cache-Control"]
    assert "no-store" in client.get(f"/book/{SLUG}/screening/")["Cache-Control"]  # the answers, when re-shown
    screen(client)
    details = client.get(
        f"/book/{SLUG}/details/", {"start": "2026-03-03T10:00Z", "screening": token_of(latest_screening())}
    )
    assert 'value="alex@example.com"' in details.content.decode() and "no-store" in details["Cache-Control"]
    book(client, commits, local(date(2026, 3, 3), 10), token_of(latest_screening()))
    token = manage_token(Appointment.objects.get().public_id)
    for page in ("confirmed/", "", "cancel/", "reschedule/"):
        response = client.get(f"/booking/{token}/{page}")
        assert response.status_code == 200, page
        assert "no-store" in response["Cache-Control"], page
    assert "no-store" not in client.get("/").get("Cache-Control", "")  # the public pages may be kept
