"""A Redis that stops answering (a paused or overloaded server, a half-dead network path) rather than refusing:
each cache call gives up within a quarter of a second, so pages go on without the cache instead of stalling for
seconds per call (10-33 s a booking before, and a gunicorn worker timeout past 30)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..redis_server import redis_server

ROOT = Path(__file__).resolve().parents[2]
CALLS = """
import time, django
django.setup()
from django.core.cache import cache
for call in (lambda: cache.get("x"), lambda: cache.set("x", 1), lambda: cache.incr_many([("n", 60)])):
    began = time.monotonic()
    try:
        call()
        print("answered")
    except Exception as error:
        print(type(error).__name__, round(time.monotonic() - began, 2))
"""


def test_each_cache_call_gives_up_within_a_quarter_second_on_a_redis_that_stopped_answering(tmp_path):
    with redis_server(tmp_path) as server:
        os.kill(server.process.pid, signal.SIGSTOP)  # the socket still accepts; nothing answers
        try:
            environment = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "clinic.settings"}
            environment.update(DEBUG="true", REDIS_URL=server.url)
            began = time.monotonic()
            ran = subprocess.run(
                [sys.executable, "-c", CALLS], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=20
            )
            took = time.monotonic() - began
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
    lines = ran.stdout.split()
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert lines[0::2] == ["TimeoutError"] * 3, ran.stdout
    assert all(float(seconds) < 0.5 for seconds in lines[1::2]), ran.stdout
    assert took < 20  # the process as a whole (Django's start-up included)
