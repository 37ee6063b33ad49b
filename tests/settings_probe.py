"""Read the project's settings as a fresh process would, from a given environment and nothing else."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def settings_in_fresh_process(expression: str, **environment) -> str:
    """Print `expression` (over `settings`) in a new Python with clinic.settings, DEBUG on, and `environment`."""
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"DJANGO_SETTINGS_MODULE": "clinic.settings", "DEBUG": "true", "PATH": "", **environment},
    )
    return result.stdout.strip()
