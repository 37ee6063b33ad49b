"""DATABASE_URL decides the database; unset or empty (as `DATABASE_URL= make run` leaves it) means SQLite."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def database_engine(**environment) -> str:
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"DJANGO_SETTINGS_MODULE": "clinic.settings", "DEBUG": "true", "PATH": "", **environment},
    )
    return result.stdout.strip()


@pytest.mark.parametrize("environment", [{}, {"DATABASE_URL": ""}], ids=["unset", "empty"])
def test_without_a_database_url_the_project_runs_on_sqlite(environment):
    assert database_engine(**environment) == "django.db.backends.sqlite3"


def test_a_postgres_url_selects_postgresql():
    engine = database_engine(DATABASE_URL="postgres://clinic@db.internal:5432/clinic")
    assert engine == "clinic.db.postgresql"  # Django's backend with the cheaper health check
