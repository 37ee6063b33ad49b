"""Race tests: real threads, each with its own database connection, released at the same instant."""

import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from unittest import mock

from django.db import connection


def at_once(work: Callable, args: Iterable, *, refused: tuple[type[Exception], ...] = ()) -> list:
    """Call `work(arg)` for every arg, each on its own thread (named after its arg), all starting together; return
    what each call returned, or the exception it was refused with (one of `refused`), in the order of `args`.

    Any other exception fails the test (a thread's exception would otherwise be lost). Each thread closes its own
    database connection, so PostgreSQL sees separate sessions, as it would from separate gunicorn workers.
    """
    args = list(args)
    start = threading.Barrier(len(args))
    results, errors = {}, []

    def run(index, arg):
        try:
            start.wait(timeout=10)
            results[index] = work(arg)
        except refused as refusal:
            results[index] = refusal
        except Exception as error:  # noqa: BLE001 - surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, arg), name=str(arg)) for i, arg in enumerate(args)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], errors
    assert len(results) == len(args), "a racer did not finish within 60 s"
    return [results[i] for i in range(len(args))]


@contextmanager
def interleaved(module, name: str, other: Callable[[], object], *, wait_seconds: float = 5.0):
    """Within the block, the first call of `module.name` runs, then `other()` runs on its own thread (its own
    database connection) while this thread, mid-transaction, waits until `other` has finished or, on PostgreSQL, is
    waiting on a lock (at most `wait_seconds`), then carries on.

    `other` has finished, and any exception it raised is re-raised, once the block ends. For a test that each side
    sees what the other wrote: without the lock, `other` commits inside the pause and misses this thread's
    uncommitted rows; with it, `other` waits and goes on once this thread commits.
    """
    real = getattr(module, name)
    errors: list[Exception] = []

    def run_other():
        try:
            other()
        except Exception as error:  # noqa: BLE001 - surfaced below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run_other, name=f"while {name}")

    def then_the_other(*args, **kwargs):
        result = real(*args, **kwargs)
        if thread.ident is None:
            thread.start()
            _until_done_or_waiting_on_a_lock(thread, wait_seconds)
        return result

    try:
        with mock.patch.object(module, name, then_the_other):
            yield
    finally:
        if thread.ident is not None:
            thread.join(60)  # also when the block failed: no thread left holding locks into teardown
    assert not thread.is_alive(), "the other side did not finish within 60 s"
    assert errors == [], errors


def _until_done_or_waiting_on_a_lock(thread: threading.Thread, most_seconds: float) -> None:
    """Return once `thread` has finished or another session of this database waits on a lock (PostgreSQL only;
    elsewhere, once it finishes or `most_seconds` pass)."""
    deadline = time.monotonic() + most_seconds
    while thread.is_alive() and time.monotonic() < deadline:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid())"
                )
                if cursor.fetchone()[0]:
                    return
        thread.join(0.02)
