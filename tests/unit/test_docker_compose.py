"""There is no Docker engine here: read docker-compose.yml and the Dockerfile, check the stack is wired as the README
says, and run the image's own build steps natively."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DOCKERIGNORE = (ROOT / ".dockerignore").read_text()
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "web", "worker", "beat"]
INTERPOLATION = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def app_environment(service: str, dotenv: dict | None = None) -> dict[str, str]:
    """Return a service's environment as Compose resolves it, `dotenv` being the operator's .env (no shell)."""
    dotenv = dotenv or {}

    def resolve(match):  # ${NAME:-default}: the default when NAME is unset or empty
        return dotenv.get(match[1]) or match[2] or ""

    return {name: INTERPOLATION.sub(resolve, str(value)) for name, value in SERVICES[service]["environment"].items()}


def test_stack_has_every_service():
    assert {"postgres", "redis", "web", "worker", "beat", "mailpit"} <= set(SERVICES)


def test_app_services_share_one_image_and_environment():
    images = {SERVICES[name]["image"] for name in APP_SERVICES}
    assert images == {"clinic-booking:latest"}
    assert all(SERVICES[name]["build"] == "." for name in APP_SERVICES)
    assert (ROOT / "Dockerfile").exists()
    for name in APP_SERVICES:
        env = app_environment(name)
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["EMAIL_URL"] == "smtp://mailpit:1025"
        assert env["DEBUG"] == "false" and env["SECRET_KEY"]


def test_commands_run_gunicorn_celery_worker_and_beat():
    assert SERVICES["web"]["command"][0] == "gunicorn" and "clinic.wsgi:application" in SERVICES["web"]["command"]
    assert SERVICES["worker"]["command"][:4] == ["celery", "-A", "clinic", "worker"]
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "clinic", "beat"]
    assert "migrate" in " ".join(SERVICES["migrate"]["command"])


@pytest.mark.parametrize("seed_demo, seeded", [("true", True), ("false", False)])
def test_the_demo_clinic_is_loaded_only_while_seed_demo_is_true(seed_demo, seeded):
    """A real clinic's stack sets SEED_DEMO=false: no demo treatments, and no staff login printed to the log."""
    assert app_environment("migrate")["SEED_DEMO"] == "true"  # the local stack's default
    shell, flag, script = SERVICES["migrate"]["command"]
    script = script.replace("$$", "$").replace("python manage.py", "echo")  # as Compose hands it to the shell
    ran = subprocess.run([shell, flag, script], env={"SEED_DEMO": seed_demo}, capture_output=True, text=True)
    assert ran.returncode == 0 and "migrate --noinput" in ran.stdout
    assert ("seed_demo" in ran.stdout) == seeded


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


def dockerfile_runs() -> list[str]:
    """Return the Dockerfile's RUN commands, continuation lines joined."""
    lines = DOCKERFILE.replace("\\\n", " ").splitlines()
    return [line.removeprefix("RUN ").strip() for line in lines if line.startswith("RUN ")]


def collectstatic_as_built() -> tuple[dict, list[str]]:
    """Return the environment and the command the image's collectstatic step runs with."""
    words = shlex.split(next(run for run in dockerfile_runs() if "collectstatic" in run))
    environment = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        environment[name] = value
    return environment, words


def test_the_image_collects_static_files_that_pages_can_be_served_with_in_production(tmp_path):
    """The containers run with DEBUG off, where every {% static %} needs the manifest collectstatic writes."""
    build_environment, command = collectstatic_as_built()
    assert command[:3] == ["python", "manage.py", "collectstatic"]
    static_root = tmp_path / "static"
    bare = {"PATH": os.environ["PATH"], "STATIC_ROOT": str(static_root)}
    built = subprocess.run(
        [sys.executable, *command[1:]], cwd=ROOT, env={**bare, **build_environment}, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    assert (static_root / "staticfiles.json").exists()

    # A container over those files: DEBUG off, an operator's own keys. A missing page touches no database.
    page = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client(raise_request_exception=False).get('/no-such-page', headers={'X-Forwarded-Proto': 'https'}); "
        "print(r.status_code); print(r.content.decode())"
    )
    running = {
        **bare,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DEBUG": "false",
        "SECRET_KEY": "an-operators-own-secret-key-0123456789-abcdefghijklmnop",
        "SCREENING_ENCRYPTION_KEYS": "qZ2f1cQ2gTfP1Vd0mV6Yq8w3w2l7mT3n5Q0cX9vJ2kE=",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    served = subprocess.run([sys.executable, "-c", page], cwd=ROOT, env=running, capture_output=True, text=True)
    assert served.returncode == 0, served.stderr
    status, _, body = served.stdout.partition("\n")
    assert status == "404", served.stderr[-2000:]
    assert "We couldn't find that page" in body
    assert re.search(r'href="/static/css/clinic\.[0-9a-f]{12}\.css"', body)


def test_the_build_only_keys_are_not_in_the_images_environment():
    """The placeholders live for the collectstatic step only: a container gets the operator's keys or none."""
    image_environment = " ".join(line for line in DOCKERFILE.splitlines() if line.startswith(("ENV ", "ARG ")))
    build_environment, _ = collectstatic_as_built()
    assert {"SECRET_KEY", "SCREENING_ENCRYPTION_KEYS"} <= set(build_environment)
    assert "SECRET_KEY" not in image_environment and "SCREENING_ENCRYPTION_KEYS" not in image_environment


@pytest.mark.parametrize("name", sorted(SERVICES["web"]["environment"]))
def test_an_operators_dotenv_sets_each_value_the_stack_gives(name):
    """The environment block beats env_file, so each of its values must come through interpolation from .env."""
    for service in APP_SERVICES:
        assert app_environment(service, {name: "set in .env"})[name] == "set in .env"
        assert app_environment(service, {name: ""})[name] != "", "an empty value falls back to the local default"


def test_with_no_dotenv_the_stack_keeps_its_local_defaults():
    environment = app_environment("web")
    assert environment["DEBUG"] == "false" and environment["SECURE_SSL_REDIRECT"] == "false"
    assert environment["ALLOWED_HOSTS"] == "localhost,127.0.0.1,web"
    assert environment["DATABASE_URL"] == "postgres://clinic:clinic@postgres:5432/clinic"
    assert environment["SITE_URL"] == "http://localhost:8000"
    assert environment["CLINIC_TIME_ZONE"] == "Europe/London"
    assert SERVICES["web"]["env_file"] == [{"path": ".env", "required": False}]


def dockerignored(path: str) -> bool:
    """Whether `docker build` leaves `path` out of the context (`COPY . .`), reading .dockerignore as Docker does:
    `*` within one folder, `**` across folders, a folder's match covers what is in it, and the last match wins."""
    ignored = False
    parents = ["/".join(path.split("/")[:depth]) for depth in range(1, path.count("/") + 2)]
    for line in DOCKERIGNORE.splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        keep = pattern.startswith("!")
        parts = re.split(r"(\*\*|\*|\?)", pattern.removeprefix("!").strip("/"))
        wildcards = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
        regex = "".join(wildcards.get(part, re.escape(part)) for part in parts)
        if any(re.fullmatch(regex, candidate) for candidate in parents):
            ignored = not keep
    return ignored


@pytest.mark.parametrize("path", [".env", ".env.production", ".env.local"])
def test_the_operators_dotenv_never_lands_in_an_image_layer(path):
    assert dockerignored(path)


def test_the_image_still_gets_the_app_and_leaves_out_local_state():
    for path in ["manage.py", "requirements.txt", "clinic/settings.py", "static/css/clinic.css", "templates/base.html"]:
        assert not dockerignored(path), path
    assert not dockerignored(".env.example")  # a template with no secrets, if the project ships one
    for path in ["db.sqlite3", ".git/config", "var/mail/20260302-080000.log", ".venv/bin/python"]:
        assert dockerignored(path), path


def test_check_deploy_with_the_stacks_defaults_finds_its_secret_key_long_enough():
    environment = {"PATH": os.environ["PATH"], **app_environment("web")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "security.W009" not in result.stdout + result.stderr


def test_the_stacks_public_fallback_keys_are_the_ones_a_production_check_warns_of(settings):
    from clinic.checks import public_compose_keys_in_production

    stack = app_environment("web")
    assert {name: stack[name] for name in settings.PUBLIC_COMPOSE_KEYS} == settings.PUBLIC_COMPOSE_KEYS
    settings.DEBUG = False
    settings.SECRET_KEY = stack["SECRET_KEY"]
    settings.SCREENING_ENCRYPTION_KEYS = [stack["SCREENING_ENCRYPTION_KEYS"]]
    warned = public_compose_keys_in_production()
    assert [(w.id, w.hint.split()[1]) for w in warned] == [
        ("clinic.W007", "SECRET_KEY"),
        ("clinic.W007", "SCREENING_ENCRYPTION_KEYS"),
    ]
    settings.SECRET_KEY, settings.SCREENING_ENCRYPTION_KEYS = "x" * 60, ["an-own-key"]
    assert public_compose_keys_in_production() == []
