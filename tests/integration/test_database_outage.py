"""PostgreSQL going away: patients see a calm 503 page, and the app recovers by itself when it is back."""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.urls import get_resolver

from booking import selectors

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_lost_database_connection_is_a_503_page_not_a_traceback(client, error):
    # Import every view first, so none binds the patched function by `from ... import` while the patch is on.
    get_resolver().url_patterns  # noqa: B018
    with mock.patch.object(selectors, "active_treatments", side_effect=error("server closed the connection")):
        response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 503
    assert "back in a moment" in page and "Nothing has been booked or changed" in page
    assert "Traceback" not in page and "server closed the connection" not in page
    assert int(response["Retry-After"]) > 0


def test_a_database_error_outside_any_view_is_a_503_too(rf):
    from clinic.errors import server_error

    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(rf.get("/"))
    assert response.status_code == 503


def test_any_other_error_is_still_the_plain_500_page(rf):
    from clinic.errors import server_error

    try:
        raise RuntimeError("bug")
    except RuntimeError:
        response = server_error(rf.get("/"))
    assert response.status_code == 500


# --- The real thing: our own PostgreSQL, stopped and started under a running gunicorn -----------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(*command, check=True):
    return subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True, check=check)


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own server on loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def own_postgres():
    """A throwaway PostgreSQL cluster of this test's own, on a free port; yields (pg_ctl command, database URL)."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not binaries or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL server binaries and runuser")
    bin_dir = Path(binaries[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="clinic-pg-outage-"))
    postgres = pwd.getpwnam("postgres")
    os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    data, port = folder / "data", free_port()
    as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w"]
    as_postgres(*pg_ctl, "start")
    as_postgres(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "clinic")
    try:
        yield pg_ctl, f"postgres://postgres@127.0.0.1:{port}/clinic"
    finally:
        as_postgres(*pg_ctl, "-m", "immediate", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def app_on(database_url):
    """gunicorn with one worker on `database_url`, migrated; yields the home page URL once it answers."""
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "CONN_MAX_AGE": "600"}
    env.pop("REDIS_URL", None)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "booking", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "clinic.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    home = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                if fetch(f"{home}healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield home
        assert server.poll() is None, "the same gunicorn process served throughout"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.postgres
def test_postgres_restarted_under_a_running_app_gives_503s_then_recovers_without_a_restart(own_postgres):
    pg_ctl, database_url = own_postgres
    with app_on(database_url) as home:
        assert fetch(home)[0] == 200

        as_postgres(*pg_ctl, "-m", "fast", "stop")
        for _ in range(3):
            status, page = fetch(home)
            assert status == 503
            assert "back in a moment" in page and "Traceback" not in page

        as_postgres(*pg_ctl, "start")
        status, page = fetch(home)
        assert status == 200, page[:500]


@pytest.mark.postgres
def test_a_connection_postgres_closed_while_the_app_was_idle_is_replaced_before_a_patient_sees_an_error(own_postgres):
    """A restart between two requests leaves each worker holding a connection the server has closed. The first
    request after it must be served on a new connection, not fail on the old one."""
    pg_ctl, database_url = own_postgres
    with app_on(database_url) as home:
        assert fetch(home)[0] == 200
        assert fetch(home)[0] == 200  # the worker now holds a persistent connection

        as_postgres(*pg_ctl, "-m", "fast", "restart")
        for _ in range(3):
            status, page = fetch(home)
            assert status == 200, page[:500]
