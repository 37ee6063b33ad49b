"""There is no Docker engine here: read docker-compose.yml and check the stack is wired as the README says."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "web", "worker", "beat"]


def test_stack_has_every_service():
    assert {"postgres", "redis", "web", "worker", "beat", "mailpit"} <= set(SERVICES)


def test_app_services_share_one_image_and_environment():
    images = {SERVICES[name]["image"] for name in APP_SERVICES}
    assert images == {"clinic-booking:latest"}
    assert all(SERVICES[name]["build"] == "." for name in APP_SERVICES)
    assert (ROOT / "Dockerfile").exists()
    for name in APP_SERVICES:
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["EMAIL_URL"] == "smtp://mailpit:1025"
        assert env["DEBUG"] == "false" and env["SECRET_KEY"]


def test_commands_run_gunicorn_celery_worker_and_beat():
    assert SERVICES["web"]["command"][0] == "gunicorn" and "clinic.wsgi:application" in SERVICES["web"]["command"]
    assert SERVICES["worker"]["command"][:4] == ["celery", "-A", "clinic", "worker"]
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "clinic", "beat"]
    assert "migrate" in " ".join(SERVICES["migrate"]["command"])


def test_databases_are_healthchecked_and_apps_wait_for_them():
    for name in ("postgres", "redis", "mailpit", "web"):
        assert SERVICES[name]["healthcheck"]["test"]
    for name in APP_SERVICES:
        depends = SERVICES[name]["depends_on"]
        if name == "migrate":
            assert depends["postgres"]["condition"] == "service_healthy"
            assert depends["redis"]["condition"] == "service_healthy"
        else:
            assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_ports_for_the_site_and_the_mail_reader():
    assert "8000:8000" in SERVICES["web"]["ports"]
    assert "8025:8025" in SERVICES["mailpit"]["ports"]
