"""Race tests: real threads, each with its own database connection, released at the same instant."""

import threading
from collections.abc import Callable, Iterable

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
