"""A worker whose host vanishes mid-send must not hold its claim on an email for hours."""

import select

import psycopg2
import pytest
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_frees_a_session_left_idle_inside_a_transaction():
    with connection.cursor() as cursor:
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "2min"
    assert connection.get_connection_params()["keepalives"] == 1


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _start_of_next_request() -> None:
    """What Django does to a persistent connection when a request starts, and then on its first query."""
    connection.close_if_unusable_or_obsolete()
    connection.close_if_health_check_failed()


def _last_statement_of(pid: int) -> str:
    with psycopg2.connect(**connection.get_connection_params()) as other, other.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_quiet_persistent_connection_is_reused_without_a_select_1_round_trip():
    pid = _backend_pid()
    _start_of_next_request()
    assert _last_statement_of(pid) == "SELECT pg_backend_pid()"  # Django's own check would have sent SELECT 1
    assert _backend_pid() == pid


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_between_requests_is_replaced_before_the_next_query():
    pid = _backend_pid()
    with psycopg2.connect(**connection.get_connection_params()) as other, other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    for _ in range(50):  # the server's goodbye reaches our socket a moment later
        if select.select([connection.connection.fileno()], [], [], 0.1)[0]:
            break
    _start_of_next_request()
    assert _backend_pid() != pid
