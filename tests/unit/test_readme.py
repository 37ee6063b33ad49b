"""The README's configuration table is where an operator looks first: it names every variable the settings read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = (ROOT / "clinic" / "settings.py").read_text()
README = (ROOT / "README.md").read_text()


def variables_read() -> set[str]:
    """Every environment variable clinic/settings.py reads: env("NAME"), env.int("NAME"), env.bool("NAME") ..."""
    return set(re.findall(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS))


def variables_documented() -> set[str]:
    """The names in the first column of the README's configuration table."""
    section = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}


def test_the_configuration_table_names_every_variable_the_settings_read():
    read = variables_read()
    assert {"DATABASE_URL", "SECRET_KEY", "CONN_MAX_AGE", "LOG_LEVEL", "ADMINS"} <= read  # the parser finds them
    assert read - variables_documented() == set(), "add a row to the table in README.md"


def test_the_configuration_table_names_no_variable_the_settings_ignore():
    assert variables_documented() - variables_read() == set()


def test_the_dotenv_example_sets_only_variables_the_settings_or_the_stack_read():
    """`.env.example` is the operator's template: a name nothing reads there would be silently ignored."""
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.M))
    compose_reads = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    assert {"SECRET_KEY", "SCREENING_ENCRYPTION_KEYS", "SITE_URL", "SEED_DEMO"} <= names
    assert names - variables_read() - compose_reads == set()
