"""The zero-setup broker (`make run` without Redis) never lets a worker read half a message: kombu's own wrote the
file, then filled it, and a worker that read it in between stopped, taking the development stack down with it."""

import os

import pytest
from kombu import Connection
from kombu.transport.virtual import Empty

from clinic.broker import FilesystemTransport


@pytest.fixture
def channel(tmp_path):
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "store_processed": False}
    with Connection("filesystem://", transport=FilesystemTransport, transport_options=options) as connection:
        yield connection.default_channel, tmp_path


def test_a_message_is_written_whole_under_its_final_name(channel):
    chosen, folder = channel
    chosen._put("celery", {"task": "booking.tasks.dispatch_due_appointment_emails", "id": 1})
    [name] = os.listdir(folder)
    assert name.endswith(".celery.msg")
    assert chosen._get("celery") == {"task": "booking.tasks.dispatch_due_appointment_emails", "id": 1}
    assert os.listdir(folder) == []


def test_a_message_still_being_written_is_not_read(channel):
    chosen, folder = channel
    (folder / "123_abc.celery.msg.part").write_bytes(b"")  # as a writer leaves it mid-write
    with pytest.raises(Empty):
        chosen._get("celery")
    assert os.listdir(folder) == ["123_abc.celery.msg.part"]


def test_the_development_settings_use_it_without_redis(tmp_path):
    """Read in a fresh process without REDIS_URL, as `make run` reads them (CI itself runs on Redis)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "clinic").mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "clinic" / "settings.py", tmp_path / "clinic" / "settings.py")
    code = "import runpy; s = runpy.run_path('clinic/settings.py'); print(s['CELERY_BROKER_TRANSPORT'])"
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={"PATH": "", "DEBUG": "true"}, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "clinic.broker:FilesystemTransport"


def test_the_development_broker_url_names_a_host_so_kombu_does_not_warn_on_every_publish(tmp_path):
    """`make run` printed "No hostname was supplied" beside the staff login, and again for each booking. Run as
    `make run` runs it: without REDIS_URL, whatever this test run has."""
    import subprocess
    import sys

    publish = (
        "import logging, django; logging.basicConfig(); django.setup()\n"
        "from django.conf import settings\n"
        "from kombu import Connection\n"
        "from clinic.broker import FilesystemTransport\n"
        f"options = {{'data_folder_in': {str(tmp_path)!r}, 'data_folder_out': {str(tmp_path)!r}}}\n"
        "with Connection(settings.CELERY_BROKER_URL, transport=FilesystemTransport, transport_options=options) as c:\n"
        "    c.default_channel._put('celery', {'id': 1})\n"
        "    c.clone().release()  # as the publisher pool does: where kombu reads the host\n"
        "print(settings.CELERY_BROKER_URL)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
    ran = subprocess.run([sys.executable, "-c", publish], env=env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().startswith("filesystem://")
    assert "No hostname was supplied" not in ran.stderr
