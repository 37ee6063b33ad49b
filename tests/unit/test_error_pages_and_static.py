"""Production static files and the error pages: what a patient sees when something is wrong must itself not fail."""

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string

from clinic.context_processors import clinic

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]\s*%}""")
PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_the_500_page_names_the_clinic_without_a_database_or_context_processors(rf, settings):
    from clinic.errors import server_error

    settings.CLINIC_NAME = "Quayside Skin"
    settings.CLINIC_PHONE = "020 7000 1234"
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        # No django_db mark: any query here would raise, so rendering proves the page needs no database.
        response = server_error(rf.get("/book/microneedling/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in page
    assert "Quayside Skin" in page and 'href="tel:02070001234"' in page
    assert 'href="/static/css/clinic.css"' in page


def test_a_host_the_site_does_not_serve_gets_the_clinics_own_400_page_linking_to_the_site(client, settings):
    settings.DEBUG = False
    settings.CLINIC_NAME = "Quayside Skin"
    settings.CLINIC_PHONE = "020 7000 1234"
    settings.SITE_URL = "https://book.quayside.example"
    # No django_db mark: the page is made before any view, with no database.
    response = client.get("/book/microneedling/", headers={"Host": "evil.example"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Sorry, we couldn't open that page" in page and "Nothing has been booked or changed." in page
    assert "Quayside Skin" in page and 'href="tel:02070001234"' in page
    assert 'href="/static/css/clinic.css"' in page  # the site's layout
    assert 'href="https://book.quayside.example/">Back to the start</a>' in page  # not back to the wrong host
    assert "Bad Request" not in page and "evil.example" not in page


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """Run collectstatic once with the production storage (hashed, compressed names) into a temporary folder."""
    from django.test.utils import override_settings

    root = tmp_path_factory.mktemp("staticfiles")
    with override_settings(STATIC_ROOT=str(root), STORAGES=PRODUCTION_STORAGES):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


def test_collectstatic_with_the_production_storage_covers_every_file_the_templates_name(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    named = {name for template in TEMPLATES.rglob("*.html") for name in STATIC_TAG.findall(template.read_text())}
    assert {"css/clinic.css", "js/clinic.js", "vendor/bootstrap/bootstrap.min.css"} <= named
    assert named <= set(manifest), f"missing from collectstatic: {sorted(named - set(manifest))}"
    assert (collected / manifest["css/clinic.css"]).with_suffix(".css.gz").exists()


def test_pages_link_the_hashed_files_in_production_and_the_500_page_the_plain_ones(collected, rf):
    from django.test.utils import override_settings

    with override_settings(STATIC_ROOT=str(collected), STORAGES=PRODUCTION_STORAGES):
        not_found = render_to_string("404.html", clinic(rf.get("/")))
        server_error = render_to_string("500.html")
        bad_request = render_to_string("400.html")
    assert re.search(r'href="/static/css/clinic\.[0-9a-f]{12}\.css"', not_found)
    assert 'href="/static/css/clinic.css"' in server_error and (collected / "css" / "clinic.css").exists()
    assert 'href="/static/css/clinic.css"' in bad_request
