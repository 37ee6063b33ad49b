"""A redis-server of a test's own (which it may stop, flush or kill), and the project's Celery app pointed at it.

Tests that do something destructive to Redis never touch the shared one (REDIS_URL): they start their own on a
free port in a temporary folder. Without redis-server installed they skip, except with CI=true, where they fail.
"""

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager

import kombu.pools
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings

from clinic.celery import app as celery_app

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str):
    """Skip for a newcomer without the service; CI, which must run the test, fails instead."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def given_redis_url() -> str:
    """The shared Redis this run was given (REDIS_URL), once it answers; else skip (fail in CI)."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        unavailable("REDIS_URL is not set")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        unavailable(f"Redis at {url} is unreachable: {error}")
    return url


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    """A port nobody listens on now: the one the kernel hands out for port 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of our own on a free port, which a test may stop and start again (on the same port)."""

    def __init__(self, directory, ports=None):
        self.directory = directory
        self.ports = ports  # None: any free port the kernel offers
        self.process = None
        self.port = None

    def start(self):
        if self.port:
            candidates = [self.port]
        elif self.ports is not None:
            candidates = list(self.ports)
        else:
            candidates = [free_port() for _ in range(5)]
        for port in candidates:
            if not port_free(port):
                continue
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
                + ["--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.port = port
            if self._answers():
                return
            self.process.kill()
            self.process.wait()
        pytest.fail(f"Could not start redis-server on a free port in {candidates}")

    def stop(self):
        """Shut down the way an outage looks to clients: connections refused from now on."""
        self.client().shutdown(nosave=True)
        self.process.wait(timeout=10)

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)

    def _answers(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                return self.client().ping()
            except redis.ConnectionError:
                time.sleep(0.02)
        return False


@contextmanager
def redis_server(directory, ports=None):
    """Start a RedisServer in `directory` and kill it afterwards, whatever happened."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed")
    server = RedisServer(directory, ports=ports)
    try:
        server.start()
        yield server
    finally:
        server.kill()


def reset_broker_pools():
    """Forget pooled broker connections: the next publish connects to whatever the app is now configured for."""
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def celery_on(url: str):
    """Point the project's Celery app at a Redis broker, as production configures it, and run tasks for real."""
    conf = celery_app.conf
    saved = {
        name: conf[name]
        for name in (
            "broker_url",
            "broker_transport",
            "broker_transport_options",
            "task_always_eager",
            "worker_hijack_root_logger",
        )
    }
    conf.broker_url = url
    # The transport settings.py names for a redis:// URL: without REDIS_URL it names the filesystem one, which an
    # explicit transport would keep whatever the URL says.
    conf.broker_transport = "clinic.broker:Transport"
    conf.broker_transport_options = dict(django_settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    conf.task_always_eager = False
    conf.worker_hijack_root_logger = False  # leave pytest's logging alone
    reset_broker_pools()
    try:
        yield
    finally:
        reset_broker_pools()
        conf.update(saved)


@contextmanager
def worker():
    """A Celery worker in a thread of this process (solo pool): it shares the test database and the mail outbox."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as running:
        yield running
