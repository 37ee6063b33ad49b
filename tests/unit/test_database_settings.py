"""DATABASE_URL decides the database; unset or empty (as `DATABASE_URL= make run` leaves it) means SQLite."""

import pytest

from ..settings_probe import settings_in_fresh_process


def database_engine(**environment) -> str:
    return settings_in_fresh_process("settings.DATABASES['default']['ENGINE']", **environment)


@pytest.mark.parametrize("environment", [{}, {"DATABASE_URL": ""}], ids=["unset", "empty"])
def test_without_a_database_url_the_project_runs_on_sqlite(environment):
    assert database_engine(**environment) == "django.db.backends.sqlite3"


def test_a_postgres_url_selects_postgresql():
    engine = database_engine(DATABASE_URL="postgres://clinic@db.internal:5432/clinic")
    assert engine == "clinic.db.postgresql"  # Django's backend with the cheaper health check


def test_server_options_in_the_database_url_are_kept_beside_the_projects_own():
    url = "postgres://clinic@db.internal:5432/clinic?options=-c%20statement_timeout%3D5000&keepalives_idle=60"
    options = settings_in_fresh_process("settings.DATABASES['default']['OPTIONS']", DATABASE_URL=url)
    assert "'options': '-c statement_timeout=5000 -c idle_in_transaction_session_timeout=120s'" in options
    assert "'keepalives_idle': 60" in options
