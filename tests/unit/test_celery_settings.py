"""The worker is configured from the CELERY_* settings and starts without deprecation warnings in its log."""

import warnings

from celery.app.defaults import DEFAULTS
from django.conf import settings

from clinic.celery import app

CELERY_SETTINGS = [name for name in dir(settings) if name.startswith("CELERY_")]


def test_a_starting_worker_warns_of_no_deprecated_setting_name():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        deprecated = app.conf.maybe_warn_deprecated_settings()  # what `celery worker` calls as it starts
    assert [str(warning.message) for warning in caught] == []
    assert not deprecated


def test_every_celery_setting_reaches_celery_under_its_own_name():
    assert {"CELERY_TIMEZONE", "CELERY_ACCEPT_CONTENT", "CELERY_TASK_SERIALIZER"} <= set(CELERY_SETTINGS)
    for name in CELERY_SETTINGS:
        key = name.removeprefix("CELERY_").lower()
        assert key in DEFAULTS, f"{name} is no Celery setting: Celery ignores it"
        if key != "task_always_eager":  # the tests switch it on (tests/conftest.py)
            assert app.conf[key] == getattr(settings, name), name
    assert app.conf.timezone == settings.TIME_ZONE and app.conf.accept_content == ["json"]


def test_on_redis_a_fresh_checkout_has_the_folder_beat_keeps_its_schedule_in(tmp_path):
    """Without it, beat stopped at start on any new checkout with REDIS_URL set (and honcho took the rest down)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "clinic").mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "clinic" / "settings.py", tmp_path / "clinic" / "settings.py")
    code = "import runpy; s = runpy.run_path('clinic/settings.py'); print(s['CELERY_BEAT_SCHEDULE_FILENAME'])"
    environment = {"PATH": "", "DEBUG": "true", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    ran = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert Path(ran.stdout.strip()).parent == tmp_path / "var" and (tmp_path / "var").is_dir()
