"""A worker whose host vanishes mid-send must not hold its claim on an email for hours."""

import pytest
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_frees_a_session_left_idle_inside_a_transaction():
    with connection.cursor() as cursor:
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "2min"
    assert connection.get_connection_params()["keepalives"] == 1
